"""Settings that a plug-in declares (formats, automations): the dialogs build widgets from them,
the CLI parses ``--option NAME=VALUE``."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Option", "OptionKind", "OptionValue", "parse_assignments", "resolve_options"]

OptionKind = Literal["bool", "choice", "int", "float", "str"]
OptionValue = bool | int | float | str


@dataclass(frozen=True)
class Option:
    """One format-specific setting. The dialogs build a widget from it; the CLI takes
    ``--option NAME=VALUE`` (repeatable). ``choices`` only for kind "choice"."""

    name: str
    title: str
    kind: OptionKind
    default: OptionValue
    choices: tuple[str, ...] = ()
    help: str = ""

    def parse(self, text: str) -> OptionValue:
        """The value of ``text`` for this option; ValueError (one sentence) when it does not fit."""
        if self.kind == "bool":
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"option {self.name} takes true or false (got {text!r}).")
        if self.kind == "choice":
            if text not in self.choices:
                raise ValueError(f"option {self.name} must be one of {', '.join(self.choices)} (got {text!r}).")
            return text
        if self.kind == "int":
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"option {self.name} takes a whole number (got {text!r}).") from None
        if self.kind == "float":
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"option {self.name} takes a number (got {text!r}).") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"option {self.name} takes a finite number (got {text!r}).")
            return value
        return text


def parse_assignments(declared: Sequence[Option], texts: Sequence[str]) -> dict[str, OptionValue]:
    """``["NAME=VALUE", ...]`` (the CLI's ``--option``) -> {name: parsed value}; ValueError (one
    sentence) for a malformed assignment, an unknown name or a value that does not fit."""
    known = {o.name: o for o in declared}
    out: dict[str, OptionValue] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"an option is written NAME=VALUE (got {text!r}).")
        if name not in known:
            names = ", ".join(known) or "none"
            raise ValueError(f"unknown option {name!r} (the options here: {names}).")
        out[name] = known[name].parse(value)
    return out


def resolve_options(declared: Sequence[Option], given: Mapping[str, OptionValue]) -> dict[str, OptionValue]:
    """Defaults of ``declared`` updated with ``given``; ValueError for an unknown name."""
    known = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(known) or "none"
        raise ValueError(f"unknown option {unknown[0]!r} (this format's options: {names}).")
    return {name: given.get(name, o.default) for name, o in known.items()}


