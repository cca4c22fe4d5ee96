"""The built-in automations (plain tuple: each automation module adds its own line)."""
from __future__ import annotations

from app.automation.api import Automation
from app.automation.text_prompt import TEXT_AUTOMATION

BUILTIN_AUTOMATIONS: tuple[Automation, ...] = (
    TEXT_AUTOMATION,
)
