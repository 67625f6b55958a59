"""The core runs on a headless server: importing it pulls in no napari or Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import napari_viv

GUI_MODULES = ("napari", "magicgui", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "superqt")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(napari_viv.__path__, "napari_viv."):
        if not info.name.startswith(("napari_viv._napari", "napari_viv.__main__")):
            names.append(info.name)
    return names


def test_core_modules_are_found():
    names = core_modules()
    for expected in (
        "napari_viv.write.writer",
        "napari_viv.serve.server",
        "napari_viv.cli",
        "napari_viv.cli.convert",
        "napari_viv.read",
    ):
        assert expected in names


def test_importing_every_core_module_loads_no_gui_toolkit():
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
