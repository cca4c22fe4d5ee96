"""The packaging recipes and resources that cannot be built in the test run (the PyInstaller bundle, the
Windows installer, the macOS app): the files they name exist, the file association is declared, and a
wheel carries resources/ where app.resource_files finds it."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def test_packaging_is_no_python_package_and_its_outputs_are_ignored() -> None:
    assert not list((ROOT / "packaging").rglob("__init__.py"))
    ignored = subprocess.run(["git", "check-ignore", "dist/sam-labeler/x", "build/pyinstaller/x"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.stdout.split() == ["dist/sam-labeler/x", "build/pyinstaller/x"]


def test_icons_exist_in_every_size_and_format() -> None:
    for name in ("sam-labeler", "application-x-sam-labeler-project"):
        assert (ICONS / f"{name}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
        for size in SIZES:
            with Image.open(ICONS / "png" / f"{name}-{size}.png") as im:
                assert im.size == (size, size) and im.mode == "RGBA"
        with Image.open(ICONS / f"{name}.ico") as ico:
            assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
        with Image.open(ICONS / f"{name}.icns") as icns:
            assert icns.size[0] >= 512


def test_the_spec_declares_the_document_type_and_uses_existing_files() -> None:
    spec = (ROOT / "packaging" / "sam-labeler.spec").read_text(encoding="utf-8")
    ast.parse(spec)  # valid Python (PyInstaller executes it)
    assert '"public.filename-extension": ["samlabel"]' in spec and '"CFBundleDocumentTypes"' in spec
    for rel in re.findall(r'ICONS / "([^"]+)"', spec):
        assert (ICONS / rel).is_file(), rel
    assert (ROOT / "packaging" / "launcher.py").is_file()
    assert "freeze_support()" in (ROOT / "packaging" / "launcher.py").read_text(encoding="utf-8")


def test_the_windows_installer_associates_samlabel_and_names_existing_files() -> None:
    iss = (ROOT / "packaging" / "windows" / "sam-labeler.iss").read_text(encoding="utf-8")
    assert 'Subkey: "Software\\Classes\\.samlabel"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"' in iss
    assert '""{app}\\{#AppExe}"" ""%1""' in iss  # open = the app with the double-clicked file
    assert "ChangesAssociations=yes" in iss and "{group}\\{#AppName}" in iss
    assert (ROOT / "resources/icons/sam-labeler.ico").is_file()  # SetupIconFile
    assert "_internal\\resources\\icons\\application-x-sam-labeler-project.ico" in iss
    assert (ICONS / "application-x-sam-labeler-project.ico").is_file()


def test_a_wheel_carries_the_resources_where_the_app_finds_them(tmp_path: Path) -> None:
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, timeout=600)
    wheel = next(out.glob("sam_labeler-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("app/resources/translations/sam_labeler_zh_CN.qm", "app/resources/styles/light.qss",
                "app/resources/desktop/sam-labeler.desktop", "app/resources/desktop/sam-labeler.xml",
                "app/resources/icons/png/sam-labeler-512.png", "app/resources/icons/sam-labeler.svg"):
        assert rel in names, rel
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found = subprocess.run([sys.executable, "-c", "from app.resource_files import resource_dir; print(resource_dir())"],
                           cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == str(site / "app" / "resources")
