"""The inference worker's batch-encode queue (Tools > Pre-encode all images): items, progress counts,
failures and a generation that `cancel` bumps. Not thread-safe by itself: the worker calls it with
its condition lock held."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

ImageItem = tuple[str, Path]


@dataclass
class BatchProgress:
    """One step's report: `done` of `total`; `finished` with the failures' sentences at the end."""

    done: int
    total: int
    finished: bool = False
    failures: list[str] = field(default_factory=list)


class BatchQueue:
    """Images waiting to be encoded into the cache, one per worker turn."""

    def __init__(self) -> None:
        self._items: deque[ImageItem] = deque()
        self._total = 0
        self._done = 0
        self._failures: list[str] = []
        self.generation = 0  # bumped by cancel: items of an older generation no longer report

    def add(self, items: Sequence[ImageItem]) -> BatchProgress:
        """Queue more images; the progress to report now."""
        self._items.extend((str(k), Path(p)) for k, p in items)
        self._total += len(items)
        return BatchProgress(self._done, self._total)

    def cancel(self) -> int | None:
        """Drop everything; the count done so far when a batch was running (None when none was)."""
        had = bool(self._items) or self._total > 0
        done = self._done
        self._items.clear()
        self.generation += 1
        self._total = self._done = 0
        self._failures = []
        return done if had else None

    def take(self) -> tuple[ImageItem, int] | None:
        """The next image and the generation it belongs to, or None."""
        return (self._items.popleft(), self.generation) if self._items else None

    def put_back(self, item: ImageItem, generation: int) -> None:
        """An interrupted image goes first again (unless the batch was cancelled meanwhile)."""
        if generation == self.generation:
            self._items.appendleft(item)

    def finished_one(self, generation: int, failure: str | None) -> BatchProgress | None:
        """Count one image as done (failure: its sentence); None when it belonged to a cancelled batch."""
        if generation != self.generation:
            return None
        if failure is not None:
            self._failures.append(failure)
        self._done += 1
        report = BatchProgress(self._done, self._total, not self._items, list(self._failures))
        if report.finished:
            self._total = self._done = 0
            self._failures = []
        return report
