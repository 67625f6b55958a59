"""The npe2 manifest: valid, importable, and wired to the right commands."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.napari


def test_npe2_validate_with_imports():
    proc = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", "napari-viv", "--imports"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid" in proc.stdout.lower()


def test_io_utilities_menu_has_both_widgets(make_napari_viewer):
    from napari._app_model import get_app_model

    make_napari_viewer()
    ids = [
        item.command.id
        for item in get_app_model().menus.get_menu("napari/file/io_utilities")
        if hasattr(item, "command")
    ]
    assert "napari-viv.export_widget" in ids
    assert "napari-viv.serve_widget" in ids


def test_reader_patterns():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    for name in ["a.ome.tif", "b.ome.tiff", "C.OME.TIF", "slide.qptiff"]:
        readers = [r.plugin_name for r in pm.iter_compatible_readers([name])]
        assert "napari-viv" in readers, name
    for name in ["a.tif", "a.png", "a.zarr"]:
        readers = [r.plugin_name for r in pm.iter_compatible_readers([name])]
        assert "napari-viv" not in readers, name


def test_writer_offered_for_images_with_their_scene():
    from npe2 import PluginManager

    pm = PluginManager.instance()

    def ours(types):
        return [w for w in pm.iter_compatible_writers(types) if w.plugin_name == "napari-viv"]

    assert ours(["image"]) and ours(["image", "image", "image"])
    # issue 20: labels, points and shapes travel with at least one image
    assert ours(["image", "points"]) and ours(["image", "labels", "shapes", "points"])
    assert not ours(["points"])
    assert not ours(["labels"])
    assert not ours(["image", "vectors"])


def test_layers_save_routes_to_our_writer(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), name="a")

    by_name = viewer.layers.save(str(tmp_path / "named.ome.tif"), plugin="napari-viv")
    # without a plugin name the longest extension match (.ome.tif) wins
    by_ext = viewer.layers.save(str(tmp_path / "auto.ome.tif"))

    for written, stem in [(by_name, "named"), (by_ext, "auto")]:
        assert [p.rsplit("/", 1)[-1] for p in written] == [
            f"{stem}.ome.tif",
            f"{stem}.offsets.json",
            f"{stem}.view.json",
        ]


def test_save_dialog_lists_our_filter(make_napari_viewer):
    from helpers.napari_files import FILTER_TITLE
    from napari.plugins import _npe2

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((32, 32), np.uint8))
    ext_str, _ = _npe2.file_extensions_string_for_layers([img])
    assert FILTER_TITLE in ext_str.split(";;")


def test_widget_titles_have_one_home():
    """napari, the demo and the tests all get the titles from napari.yaml."""
    from npe2 import PluginManager

    from napari_viv._napari.manifest import EXPORT_COMMAND, SERVE_COMMAND, export_title, serve_title

    manifest = PluginManager.instance().get_manifest("napari-viv")
    widgets = {w.command: w.display_name for w in manifest.contributions.widgets}
    commands = {c.id: c.title for c in manifest.contributions.commands}
    assert widgets == {EXPORT_COMMAND: export_title(), SERVE_COMMAND: serve_title()}
    # the command titles (command palette) are the same strings (YAML anchors)
    assert commands[EXPORT_COMMAND] == export_title()
    assert commands[SERVE_COMMAND] == serve_title()


def test_both_widgets_are_magicgui_containers(make_napari_viewer):
    from magicgui.widgets import Container

    from napari_viv._napari.manifest import PLUGIN, export_title, serve_title

    viewer = make_napari_viewer()
    for title in (export_title(), serve_title()):
        _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, title)
        assert isinstance(widget, Container), title
