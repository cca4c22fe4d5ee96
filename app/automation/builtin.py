"""The built-in automations (plain tuple: each automation module adds its own line)."""
from __future__ import annotations

from app.automation.api import Automation
from app.automation.boxes import BOXES_AUTOMATION
from app.automation.everything import EVERYTHING_AUTOMATION
from app.automation.text_prompt import TEXT_AUTOMATION

BUILTIN_AUTOMATIONS: tuple[Automation, ...] = (
    EVERYTHING_AUTOMATION,
    BOXES_AUTOMATION,
    TEXT_AUTOMATION,
)
