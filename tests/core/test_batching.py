"""app.core.batching.chunked: every item once, in order, in lists of at most n."""
from __future__ import annotations

import pytest

from app.core.batching import chunked


@pytest.mark.parametrize("n_items, size", [(0, 3), (1, 3), (3, 3), (7, 3), (10, 1)])
def test_chunked_keeps_every_item_in_order(n_items: int, size: int) -> None:
    chunks = list(chunked(iter(range(n_items)), size))
    assert [x for c in chunks for x in c] == list(range(n_items))
    assert all(0 < len(c) <= size for c in chunks)
    assert all(len(c) == size for c in chunks[:-1])


def test_chunk_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1, 2], 0))
