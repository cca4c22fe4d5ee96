"""Text of CLI output lines: file names and messages that cannot break a line or the terminal.

File names may hold any character but "/" and NUL: a newline in a name split a `scan` line in two,
a tab shifted its columns, and an undecodable byte (kept by Python as a lone surrogate) made the
print itself fail. ``quote_name`` leaves ordinary names as they are and writes the others in
double quotes with backslash escapes (\\n, \\t, \\", \\\\, \\xNN for undecodable bytes, \\uNNNN for
other invisible characters); ``one_line`` escapes the same characters in free text.
"""
from __future__ import annotations

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", '"': '\\"'}


def _escape(ch: str, quote: bool) -> str:
    if ch in ("\\", '"') and not quote:
        return ch
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of the undecodable byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if ch.isprintable():
        return ch
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quote_name(name: str) -> str:
    """``name`` as it is when it is plain printable text not starting with a quote, else quoted
    and escaped (see the module doc)."""
    if name.isprintable() and not name.startswith('"'):
        return name
    return '"' + "".join(_escape(ch, True) for ch in name) + '"'


def one_line(text: str) -> str:
    """``text`` with line breaks, tabs, invisible characters and undecodable bytes escaped."""
    if text.isprintable():
        return text
    return "".join(_escape(ch, False) for ch in text)
