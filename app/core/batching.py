"""Splitting a stream into lists of at most n items (itertools.batched arrived only in Python 3.12)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items of `items` (the last one may be shorter; none is empty)."""
    if size < 1:
        raise ValueError(f"a chunk size must be at least 1, got {size}")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
