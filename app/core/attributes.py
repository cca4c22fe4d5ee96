"""The flags and attributes that annotations of a label class carry (the class's schema), Qt-free.

A label class may name, in display order, what its annotations carry:

- ``flag``: a yes/no value stored in the annotation's ``flags`` {name: bool} (LabelMe shape ``flags``);
- ``text``: free text, ``number``: a float or int, ``choice``: one of ``options`` (strings) — stored in
  the annotation's ``attributes`` {name: value} (X-AnyLabeling / CVAT ``attributes``).

Each has a default given to new annotations of the class (``with_defaults``); values an annotation
already has are never replaced or dropped, whether the schema names them or not. The schema is stored
in the project as a JSON list (label_class.attributes, schema version 5) and written by the COCO
exporter as the category key ``attribute_schema`` (read back by the COCO import).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal, Union

AttributeKind = Literal["flag", "text", "number", "choice"]
KINDS: tuple[str, ...] = ("flag", "text", "number", "choice")
Value = Union[bool, str, int, float]
MAX_SPECS = 200  # a class with more is refused: a schema is typed by a person
MAX_OPTIONS = 500


@dataclass(frozen=True)
class AttributeSpec:
    """One flag or attribute of a label class's schema.

    name: non-empty, one line, unique within the schema (a flag and an attribute may not share it).
    kind: "flag" | "text" | "number" | "choice".
    default: bool for a flag, str for text and choice (one of ``options``, or "" for none), an int or
        finite float for a number.
    options: the choices of a "choice" (non-empty, unique strings); () for the other kinds.
    """

    name: str
    kind: str
    default: Value
    options: tuple[str, ...] = ()

    @property
    def is_flag(self) -> bool:
        """Stored in the annotation's flags (else in its attributes)."""
        return self.kind == "flag"


def spec(name: str, kind: str, default: Value | None = None, options: tuple[str, ...] | list[str] = ()) -> AttributeSpec:
    """A checked AttributeSpec; ``default`` None means the kind's empty value. ValueError when invalid."""
    if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
        raise ValueError(f"an attribute name must be one non-empty line (got {name!r}).")
    name = name.strip()
    if kind not in KINDS:
        raise ValueError(f"attribute {name!r}: unknown kind {kind!r} (one of {', '.join(KINDS)}).")
    opts = tuple(options)
    if kind != "choice" and opts:
        raise ValueError(f"attribute {name!r}: only a choice has options.")
    if kind == "choice":
        if not opts or len(opts) > MAX_OPTIONS or any(not isinstance(o, str) or not o for o in opts):
            raise ValueError(f"attribute {name!r}: a choice needs 1 to {MAX_OPTIONS} non-empty options.")
        if len(set(opts)) != len(opts):
            raise ValueError(f"attribute {name!r}: its options repeat.")
    value: Value
    if kind == "flag":
        value = False if default is None else default
        if not isinstance(value, bool):
            raise ValueError(f"flag {name!r}: the default must be true or false.")
    elif kind == "number":
        value = 0 if default is None else default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"attribute {name!r}: the default must be a finite number.")
    else:
        value = "" if default is None else default
        if not isinstance(value, str):
            raise ValueError(f"attribute {name!r}: the default must be text.")
        if kind == "choice" and value and value not in opts:
            raise ValueError(f"attribute {name!r}: the default {value!r} is not one of its options.")
    return AttributeSpec(name, kind, value, opts)


def check_schema(specs: tuple[AttributeSpec, ...] | list[AttributeSpec]) -> tuple[AttributeSpec, ...]:
    """The schema as a tuple, each spec checked again; ValueError on a repeated name or too many."""
    out = tuple(spec(s.name, s.kind, s.default, s.options) for s in specs)
    if len(out) > MAX_SPECS:
        raise ValueError(f"a label class may name at most {MAX_SPECS} flags and attributes.")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"the name {dup!r} is used twice in the schema.")
    return out


def to_json(specs: tuple[AttributeSpec, ...]) -> list[dict]:
    """JSON-ready list: [{"name", "kind", "default", ("options")}] in schema order."""
    out: list[dict] = []
    for s in specs:
        obj: dict = {"name": s.name, "kind": s.kind, "default": s.default}
        if s.options:
            obj["options"] = list(s.options)
        out.append(obj)
    return out


def from_json(data: object) -> tuple[AttributeSpec, ...]:
    """The schema of a JSON list written by ``to_json``; ValueError when it is not one."""
    if not isinstance(data, list):
        raise ValueError("an attribute schema must be a list.")
    specs: list[AttributeSpec] = []
    for item in data[:MAX_SPECS + 1]:
        if not isinstance(item, dict):
            raise ValueError("each attribute of a schema must be an object.")
        options = item.get("options", [])
        if not isinstance(options, list):
            raise ValueError(f"attribute {item.get('name')!r}: options must be a list.")
        specs.append(spec(item.get("name"), item.get("kind"), item.get("default"), options))  # type: ignore[arg-type]
    return check_schema(specs)


def schema_text(specs: tuple[AttributeSpec, ...]) -> str | None:
    """Compact JSON text of a schema for the store (None when empty)."""
    if not specs:
        return None
    return json.dumps(to_json(check_schema(specs)), sort_keys=True, separators=(",", ":"), allow_nan=False)


def schema_of_text(text: str | None) -> tuple[AttributeSpec, ...]:
    """The schema stored as ``text`` (() for NULL, and for text that is not a valid schema: a damaged
    value must not stop the project from opening; the editor then starts empty)."""
    if not text:
        return ()
    try:
        return from_json(json.loads(text))
    except (ValueError, TypeError, RecursionError):
        return ()


def with_defaults(flags: dict, attributes: dict, specs: tuple[AttributeSpec, ...]) -> tuple[dict, dict]:
    """(flags, attributes) with the schema's defaults added for the names they lack; present values
    (and names the schema does not know) are kept as they are."""
    f, a = dict(flags), dict(attributes)
    for s in specs:
        if s.is_flag:
            f.setdefault(s.name, bool(s.default))
        else:
            a.setdefault(s.name, s.default)
    return f, a
