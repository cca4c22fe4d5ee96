"""Settings changed in the dialog take effect at once (prefetch, embedding cache size and disk cache),
or the window says which apply from the next start."""
from __future__ import annotations

from tests.ui.window_support import predictor, window  # noqa: F401


def test_cache_settings_replace_the_workers_cache_at_once(qtbot, window) -> None:
    worker = window.inference._worker
    assert worker._cache.max_bytes == window.settings.memory_cache_mb * 1024 * 1024
    assert window.apply_settings({}, {"memory_cache_mb": 7, "disk_cache": False, "prefetch_count": 1})
    c = window.controller
    window.inference.encode("image-%d" % c.image.id, c.image_path())  # the worker takes a turn
    qtbot.waitUntil(lambda: worker._cache.max_bytes == 7 * 1024 * 1024, timeout=5000)
    assert worker._cache.disk_dir is None and worker._prefetch_count == 1 and c.prefetch_count == 1
    assert "next start" not in window.status.message.text()


def test_settings_that_need_a_restart_say_so(qtbot, window) -> None:  # noqa: ARG001
    reuse = window.settings.reuse_window
    assert window.apply_settings({}, {"reuse_window": not reuse})
    assert "next start" in window.status.message.text()
