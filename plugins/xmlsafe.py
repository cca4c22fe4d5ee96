"""XML reading for the importers (VOC, CVAT) that hostile files cannot abuse.

The standard library's expat does not fetch external entities, and expat >= 2.4 limits entity
expansion, but an annotation file has no business declaring entities at all: any <!ENTITY>
declaration is refused (FormatError), which shuts out "billion laughs" and external-entity tricks
whatever the expat version. Files are read in chunks (``iter_elements``) so that a large CVAT
file never builds one tree of everything; each finished element is handed out and then cleared.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from collections.abc import Iterator
from pathlib import Path

from app.core.errors import FormatError

CHUNK = 1 << 20


class _EntityRefused(Exception):
    """An entity declaration or reference met while parsing (refused)."""


def _refuse_entities(*_args: object) -> None:
    raise _EntityRefused()


class _Reader:
    """expat driving an ElementTree TreeBuilder; every element start/end becomes an event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ET.Element]] = []
        self.tree = ET.TreeBuilder()
        p = expat.ParserCreate()
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.EntityDeclHandler = _refuse_entities
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self.tree.data
        self.expat = p

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.events.append(("start", self.tree.start(tag, attrs)))

    def _end(self, tag: str) -> None:
        self.events.append(("end", self.tree.end(tag)))

    def take(self) -> list[tuple[str, ET.Element]]:
        out, self.events = self.events, []
        return out


def iter_events(path: Path, max_bytes: int) -> Iterator[tuple[str, ET.Element]]:
    """("start" | "end", element) events of an XML file read in chunks; FormatError (naming the
    file) for a file over ``max_bytes``, malformed XML or an entity declaration. An element's
    text and children are complete at its "end" event."""
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise FormatError(f"{path} is larger than {max_bytes // 2**20} MiB, which no annotation file of "
                          "this format needs; it was not read.")
    reader = _Reader()
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                reader.expat.Parse(chunk, not chunk)
                yield from reader.take()
                if not chunk:
                    break
    except _EntityRefused:
        raise FormatError(f"{path} declares XML entities, which annotation files never need; it was not read.") \
            from None
    except expat.ExpatError as exc:
        raise FormatError(f"{path} is not well-formed XML ({expat.ErrorString(exc.code)}, line {exc.lineno}).") \
            from None


def parse(path: Path, max_bytes: int = 16 * 2**20) -> ET.Element:
    """The root element of a small XML file (VOC annotation), with the guards of iter_events."""
    root: ET.Element | None = None
    for event, el in iter_events(path, max_bytes):
        if event == "start" and root is None:
            root = el
    if root is None:
        raise FormatError(f"{path} holds no XML element.")
    return root
