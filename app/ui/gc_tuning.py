"""Short full garbage-collection passes for the GUI process.

CPython's cyclic collector periodically runs a full ("generation 2") pass over every tracked object,
holding the GIL, in whichever thread happens to allocate at that moment. With torch, Qt wrappers and
a project loaded that is hundreds of thousands of objects: measured 40-170 ms per pass, i.e. an
event-loop stall even when the pass runs in a worker thread (e.g. the geometry thread decoding a
9000-part mask). `freeze_long_lived()` moves everything alive now into the collector's permanent
generation (gc.freeze), so later full passes only walk objects created since. It is called at
moments when what exists is long-lived: the window is built and a project is open, a model has
finished loading. Frozen objects are still freed by reference counting; only reference cycles among
them are never collected (a replaced model's, at worst: rare, and bounded).
"""
from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Move every object tracked by the collector now into its permanent generation; returns how
    many objects are frozen in all."""
    gc.freeze()
    return gc.get_freeze_count()
