"""Settings: JSON round trip, atomic save, damaged files, bounds."""
from __future__ import annotations

import json
from pathlib import Path

from app.services.settings import MAX_RECENT, Settings, default_path


def test_defaults_when_file_absent() -> None:
    s = Settings.load()
    assert s.load_error is None
    assert s.prefetch_count == 2 and s.disk_cache is True and s.device == "auto"
    assert s.shortcuts == {} and s.recent_projects == []
    assert not default_path().exists()  # loading never writes


def test_round_trip_in_settings_dir(_isolated_home: Path) -> None:
    s = Settings.load()
    s.prefetch_count = 5
    s.model_id = "sam_vit_b"
    s.device = "cpu"
    s.memory_cache_mb = 64
    s.disk_cache = False
    s.last_export_dir = "/tmp/out"
    s.shortcuts = {"undo": ("Ctrl+U",), "redo": ("Ctrl+Shift+U", "Ctrl+R")}
    s.set("window_geometry", [1, 2, 3, 4])
    s.save()
    assert s.path.parent == _isolated_home / "settings"
    t = Settings.load()
    assert (t.prefetch_count, t.model_id, t.device, t.memory_cache_mb, t.disk_cache, t.last_export_dir) == (
        5, "sam_vit_b", "cpu", 64, False, "/tmp/out")
    assert t.shortcuts == {"undo": ("Ctrl+U",), "redo": ("Ctrl+Shift+U", "Ctrl+R")}
    assert t.get("window_geometry") == [1, 2, 3, 4]
    # the save leaves no temporary file behind
    assert sorted(p.name for p in s.path.parent.iterdir()) == ["settings.json"]


def test_recent_projects_dedup_and_cap() -> None:
    s = Settings.load()
    for i in range(15):
        s.add_recent_project(f"/p/{i}.samlabel")
    s.add_recent_project("/p/7.samlabel")
    assert len(s.recent_projects) == MAX_RECENT
    assert s.recent_projects[0] == "/p/7.samlabel"
    assert s.recent_projects.count("/p/7.samlabel") == 1
    assert s.recent_projects[1] == "/p/14.samlabel"


def test_damaged_file_is_kept_aside_and_defaults_used() -> None:
    path = default_path()
    path.write_text("{not json", encoding="utf-8")
    s = Settings.load()
    assert s.prefetch_count == 2
    assert s.load_error is not None and "damaged" in s.load_error
    assert path.with_name("settings.json.corrupt").read_text(encoding="utf-8") == "{not json"
    s.save()
    assert json.loads(path.read_text(encoding="utf-8"))["prefetch_count"] == 2


def test_wrong_types_fall_back_per_field() -> None:
    default_path().write_text(json.dumps({
        "prefetch_count": "three", "disk_cache": "yes", "memory_cache_mb": -5, "device": 7,
        "recent_projects": ["/a", 3, ""], "shortcuts": {"undo": "Ctrl+U", "redo": [1]}, "future_key": {"x": 1},
    }), encoding="utf-8")
    s = Settings.load()
    assert s.prefetch_count == 2 and s.disk_cache is True and s.device == "auto"
    assert s.memory_cache_mb == 0
    assert s.recent_projects == ["/a"]
    assert s.shortcuts == {"undo": ("Ctrl+U",)}
    s.save()
    assert json.loads(default_path().read_text(encoding="utf-8"))["future_key"] == {"x": 1}


def test_set_refuses_typed_keys_and_unserialisable_values() -> None:
    s = Settings.load()
    for bad in (lambda: s.set("prefetch_count", 3), lambda: s.set("thing", object())):
        try:
            bad()
        except (ValueError, TypeError):
            continue
        raise AssertionError("expected a refusal")


def test_the_speed_mode_is_kept_and_an_unknown_one_is_exact() -> None:
    """Issue 16: the model manager's speed mode survives a restart; anything else reads as exact."""
    from app.services.settings import PRECISIONS
    from sam_backend.encoders import PRECISIONS as BACKEND_PRECISIONS

    assert set(PRECISIONS) == set(BACKEND_PRECISIONS)  # the mode list names every precision the encoder takes
    s = Settings.load()
    assert s.precision == "fp32"
    s.precision = "int8"
    s.save()
    assert Settings.load().precision == "int8"
    data = json.loads(s.path.read_text())
    data["precision"] = "fp8-turbo"
    s.path.write_text(json.dumps(data))
    assert Settings.load().precision == "fp32"
