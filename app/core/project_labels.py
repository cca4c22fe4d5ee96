"""Label classes of a project (mixin of app.core.project.Project)."""
from __future__ import annotations

import json
import re

from app.core.attributes import AttributeSpec, schema_of_text, schema_text
from app.core.errors import ProjectError
from app.core.model import LabelClass
from app.core.project_base import NotFoundError, ProjectBase, inserted_id

# A fixed palette of clearly distinct colours, used in order for new label classes.
PALETTE: tuple[str, ...] = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#ffe119", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#ffd8b1",
    "#000075", "#a9a9a9", "#fabed4", "#00a86b",
)

_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def normalize_color(color: str) -> str:
    """'#RRGGBB' (any case) -> '#rrggbb'; ValueError otherwise."""
    if not isinstance(color, str) or not _COLOR_RE.match(color.strip()):
        raise ValueError(f"a colour must be written #rrggbb (got {color!r}).")
    return color.strip().lower()


def normalize_name(name: str) -> str:
    """Strip surrounding whitespace; ValueError when empty or multi-line."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a label class name must not be empty.")
    name = name.strip()
    if "\n" in name or "\r" in name:
        raise ValueError(f"a label class name must be one line (got {name!r}).")
    return name


_LC_COLS = "id, name, color, ord, extra, attributes"


def _row(row: tuple) -> LabelClass:
    return LabelClass(id=int(row[0]), name=str(row[1]), color=str(row[2]), order=int(row[3]),
                      extra={} if row[4] is None else json.loads(row[4]), attributes=schema_of_text(row[5]))


def _extra_text(extra: dict) -> str | None:
    if not extra:
        return None
    if not isinstance(extra, dict):
        raise ValueError("the extra data of a label class must be a JSON object.")
    try:
        return json.dumps(extra, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise ValueError("the extra data of a label class must be JSON-serialisable.") from None


class LabelsMixin(ProjectBase):
    """label_class table: unique names, colours, display order."""

    def label_classes(self) -> list[LabelClass]:
        """All label classes by display order (then id)."""
        rows = self.conn.execute(f"SELECT {_LC_COLS} FROM label_class ORDER BY ord, id").fetchall()
        return [_row(r) for r in rows]

    def label_class(self, label_id: int) -> LabelClass:
        """The label class with this id; NotFoundError otherwise."""
        row = self.conn.execute(f"SELECT {_LC_COLS} FROM label_class WHERE id = ?", (label_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{self.path} has no label class with id {label_id}.")
        return _row(row)

    def label_by_name(self, name: str) -> LabelClass | None:
        """The label class with exactly this name (surrounding spaces ignored), or None."""
        row = self.conn.execute(
            f"SELECT {_LC_COLS} FROM label_class WHERE name = ?", (str(name).strip(),)
        ).fetchone()
        return None if row is None else _row(row)

    def _check_unique(self, name: str, own_id: int | None) -> None:
        other = self.label_by_name(name)
        if other is not None and other.id != own_id:
            raise ValueError(f"a label class named {name!r} already exists.")

    def _default_color(self) -> str:
        used = {lc.color for lc in self.label_classes()}
        for color in PALETTE:
            if color not in used:
                return color
        return PALETTE[len(used) % len(PALETTE)]

    def add_label_class(self, name: str, color: str | None = None, *, id: int | None = None,
                        order: int | None = None, extra: dict | None = None,
                        attributes: tuple[AttributeSpec, ...] = ()) -> LabelClass:
        """Add a class; colour defaults to the first unused palette colour, order to the end.

        ``id`` given: reuse it (redo of an undone add); ValueError if taken. ``attributes``: the
        class's flag/attribute schema (ValueError when invalid). One transaction.
        """
        name = normalize_name(name)
        attrs_text = schema_text(tuple(attributes))
        with self.transaction() as conn:
            self._check_unique(name, None)
            color = self._default_color() if color is None else normalize_color(color)
            if order is None:
                order = int(conn.execute("SELECT COALESCE(MAX(ord) + 1, 0) FROM label_class").fetchone()[0])
            if id is not None:
                if conn.execute("SELECT 1 FROM label_class WHERE id = ?", (id,)).fetchone():
                    raise ValueError(f"label class id {id} is already in use.")
                conn.execute("INSERT INTO label_class(id, name, color, ord, extra, attributes) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (int(id), name, color, int(order), _extra_text(extra or {}), attrs_text))
                new_id = int(id)
            else:
                cur = conn.execute("INSERT INTO label_class(name, color, ord, extra, attributes) VALUES (?, ?, ?, ?, ?)",
                                   (name, color, int(order), _extra_text(extra or {}), attrs_text))
                new_id = inserted_id(cur)
        return LabelClass(id=new_id, name=name, color=color, order=int(order), extra=dict(extra or {}),
                          attributes=schema_of_text(attrs_text))

    def update_label_class(self, lc: LabelClass) -> None:
        """Write name, colour, order, extra and attribute schema of ``lc`` (by its id); names stay
        unique. One transaction."""
        name = normalize_name(lc.name)
        color = normalize_color(lc.color)
        attrs_text = schema_text(tuple(lc.attributes))
        with self.transaction() as conn:
            self.label_class(lc.id)
            self._check_unique(name, lc.id)
            conn.execute("UPDATE label_class SET name = ?, color = ?, ord = ?, extra = ?, attributes = ? WHERE id = ?",
                         (name, color, int(lc.order), _extra_text(lc.extra), attrs_text, lc.id))

    def move_label_class(self, label_id: int, new_order: int) -> None:
        """Move a class to position ``new_order`` (clamped) and renumber all classes 0..n-1."""
        with self.transaction() as conn:
            classes = self.label_classes()
            moving = self.label_class(label_id)
            rest = [lc for lc in classes if lc.id != label_id]
            pos = max(0, min(int(new_order), len(rest)))
            rest.insert(pos, moving)
            conn.executemany("UPDATE label_class SET ord = ? WHERE id = ?",
                             [(i, lc.id) for i, lc in enumerate(rest)])

    def delete_label_class(self, label_id: int) -> None:
        """Delete an unused class; ProjectError while annotations use it (delete those first)."""
        with self.transaction() as conn:
            lc = self.label_class(label_id)
            used = int(conn.execute("SELECT COUNT(*) FROM annotation WHERE label_id = ?", (label_id,)).fetchone()[0])
            if used:
                raise ProjectError(
                    f"label class {lc.name!r} is used by {used} annotation(s); delete or relabel them first."
                )
            conn.execute("DELETE FROM label_class WHERE id = ?", (label_id,))
