"""What a COCO import kept (app.core.formats.provenance), written back by the COCO exporter.

Rules (formats.md 2.1, 2.6):
- ids: an image, category or annotation keeps its imported id when that is an integer >= 1 not
  already given to another one of its kind in this file (first come, first served in export
  order); every other one gets a new id above the largest kept id of its kind (ids need no
  import: a project that never imported COCO is numbered 1, 2, 3, ...). An imported id 0 is not
  kept: COCOeval counts a match to annotation id 0 as a false positive (formats.md 2.6), and
  formats.md 2.7 wants ids >= 1 for all three kinds.
- categories keep ``supercategory`` (written as it came; a category imported without one gets
  none, ours get "") and their unknown keys; images keep ``file_name`` (the consumer's image root
  may not be the JSON's folder) and their other keys (license, coco_url, flickr_url,
  date_captured, unknown ones); the file's ``info`` (when an object), ``licenses`` (when a list)
  and unknown top-level keys come from the project meta (``coco.info``, ``coco.licenses``,
  ``coco.keys``).
- ``iscrowd`` is written as imported when it is the integer 0 or 1; true/false and 0.0/1.0 are
  written as the integers 1/0 (pycocotools wants ints, ISAT's importer drops ints it does not
  expect: formats.md 2.6 chooses ints); anything else becomes 0. Annotations not imported: 0.
- unknown keys are written after ours, never over them; a value that cannot be written as strict
  JSON (NaN or infinity came in) is left out.
Each change is counted in the report (one line per kind, ExportReport.tally).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeGuard

from app.core.formats.common import Tallies, dumps
from app.core.formats.provenance import kept

if TYPE_CHECKING:
    from app.core.project import Project

FORMAT = "coco"
_MAX_ID = 1 << 63


def valid_id(value: object) -> TypeGuard[int]:
    """An id this exporter keeps: an integer (not true/false) >= 1 that SQLite can hold."""
    return type(value) is int and 1 <= value < _MAX_ID


class Ids:
    """COCO ids of one kind (``kind``: "image", "category", "annotation"): kept ids first come,
    first served; new ids count up from just above ``largest_kept``."""

    def __init__(self, kind: str, largest_kept: int | None, report: Tallies) -> None:
        self.kind = kind
        self.next = max(0, largest_kept or 0) + 1
        self.used: set[int] = set()
        self._report = report

    def take(self, kept_id: object) -> int:
        """The id of the next object of this kind, which came in with ``kept_id`` (None: none)."""
        if kept_id is not None:
            if valid_id(kept_id) and kept_id not in self.used:
                self.used.add(kept_id)
                return kept_id
            if valid_id(kept_id):
                self._report.tally(f"{self.kind}(s) whose imported id another {self.kind} already had got a new id")
            else:
                self._report.tally(f"{self.kind}(s) whose imported id was not an integer >= 1 got a new id")
        new = self.next
        self.next += 1
        return new


def keys_text(keys: object, taken: frozenset[str] | set[str], report: Tallies) -> str:
    """``,"key":value`` for each unknown key kept (none of ``taken``), in their order; values that
    are not strict JSON are left out (counted)."""
    if not isinstance(keys, dict) or not keys:
        return ""
    out: list[str] = []
    for key, value in keys.items():
        if not isinstance(key, str) or key in taken:
            continue
        try:
            out.append("," + dumps(key, True) + ":" + dumps(value, True))
        except (TypeError, ValueError):
            report.tally("unknown key(s) whose value was not valid JSON (NaN or infinity) left out")
    return "".join(out)


def iscrowd(kept_coco: dict, report: Tallies) -> int:
    """The iscrowd to write for an annotation whose kept COCO object is ``kept_coco`` ({}: none)."""
    if not kept_coco:
        return 0
    value = kept_coco.get("iscrowd")
    if type(value) is int and value in (0, 1):
        return value
    if isinstance(value, (bool, float)) and value in (0, 1):
        report.tally("iscrowd value(s) true/false (or 0.0/1.0) written as the integers 1/0")
        return int(value)
    report.tally("iscrowd value(s) that were not 0 or 1 written as 0")
    return 0


def meta_json(project: Project, key: str) -> object:
    """The JSON value of a project meta key (None when absent or not JSON)."""
    text = project.get_meta(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def top_level(project: Project, ours: dict, report: Tallies) -> tuple[dict, list, dict]:
    """(info, licenses, unknown top-level keys) to write: the imported ones when the project has
    them (meta coco.info / coco.licenses / coco.keys), else ``ours`` and []."""
    info = meta_json(project, "coco.info")
    if info is not None and not isinstance(info, dict):
        report.tally("imported top-level info that was not an object replaced by ours")
    licenses = meta_json(project, "coco.licenses")
    if licenses is not None and not isinstance(licenses, list):
        report.tally("imported top-level licenses that were not a list replaced by []")
    keys = meta_json(project, "coco.keys")
    return (info if isinstance(info, dict) else ours, licenses if isinstance(licenses, list) else [],
            keys if isinstance(keys, dict) else {})


def of(extra: dict) -> dict:
    """The COCO object an import kept in an image's or label class's ``extra`` ({} when none)."""
    return kept(extra, FORMAT)


SCHEMA_KEY = "attribute_schema"
"""Category key of a label class's flag/attribute schema (app.core.attributes.to_json)."""
DETAIL_KEYS = ("group_id", "description", "flags", "attributes")
"""Annotation keys of what an annotation carries besides its geometry (written when not empty)."""


def details_text(group_id: int | None, description: str | None, flags: str | None, attributes: str | None,
                 report: Tallies) -> tuple[str, frozenset[str]]:
    """(',"group_id":..,"description":..,"flags":{..},"attributes":{..}' for the ones that are set,
    the keys written) of one annotation row (flags/attributes: the store's JSON text)."""
    text = ""
    written: list[str] = []
    if group_id is not None:
        text += f',"group_id":{int(group_id)}'
        written.append("group_id")
    if description:
        text += ',"description":' + dumps(description, True)
        written.append("description")
    for key, raw in (("flags", flags), ("attributes", attributes)):
        if raw is None:
            continue
        try:
            value = json.loads(raw)
            if isinstance(value, dict) and value:
                text += f',"{key}":' + dumps(value, True)
                written.append(key)
        except (TypeError, ValueError):
            report.tally("annotation flags/attributes that were not valid JSON left out")
    return text, frozenset(written)


def category_object(cat_id: int, name: str, extra: dict, report: Tallies, schema: list | None = None) -> str:
    """JSON text of a category: id, name, supercategory (kept, else "" for categories of ours,
    none for imported ones without), the class's attribute schema (SCHEMA_KEY, when it has one),
    then its kept unknown keys."""
    got = kept(extra, FORMAT)
    text = f'{{"id":{cat_id},"name":{dumps(name, True)}'
    if not got:
        text += ',"supercategory":""'
    elif "supercategory" in got:
        try:
            text += ',"supercategory":' + dumps(got["supercategory"], True)
        except (TypeError, ValueError):
            report.tally("unknown key(s) whose value was not valid JSON (NaN or infinity) left out")
    if schema:
        text += f',"{SCHEMA_KEY}":' + dumps(schema, True)
    return text + keys_text(got.get("keys"), _CATEGORY_KEYS | ({SCHEMA_KEY} if schema else set()), report) + "}"


_CATEGORY_KEYS = frozenset({"id", "name", "supercategory"})
IMAGE_KEYS = frozenset({"id", "file_name", "height", "width"})
ANNOTATION_KEYS = frozenset({"id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd"})
TOP_KEYS = frozenset({"info", "licenses", "images", "annotations", "categories"})
