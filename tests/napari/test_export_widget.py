"""The "Save as OME-TIFF pyramid…" widget, driven through its controls in a real viewer."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from qtpy.QtCore import Qt

from helpers.vivjs import plane_digest

pytestmark = pytest.mark.napari

LEFT = Qt.MouseButton.LeftButton


def make_widget(viewer):
    """Dock the export widget the way the File menu does (napari builds it)."""
    _dock, widget = viewer.window.add_plugin_dock_widget(
        "napari-viv", "Save as OME-TIFF pyramid…"
    )
    return widget


def expected_levels(height, width, tile):
    """The level shapes Viv wants, computed here: halve (floor) until one tile."""
    shapes = [(height, width)]
    while max(shapes[-1]) > tile:
        h, w = shapes[-1]
        shapes.append((h // 2, w // 2))
    return shapes


def shown_levels(widget):
    """(Y, X) per level as the plan preview shows them ('Level i: X × Y px')."""
    out = []
    for line in widget.plan_label.text().splitlines():
        if line.startswith("Level "):
            dims = line.split(":", 1)[1].replace("px", "").split("×")
            x, y = (int(d) for d in dims)
            out.append((y, x))
    return out


def select_tile(widget, size):
    widget.tile_combo.setCurrentIndex(widget.tile_combo.findText(str(size)))


def wait_done(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


def test_plan_preview_shows_levels_and_follows_tile_size(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((1500, 2300), np.uint16), name="dapi")
    w = make_widget(viewer)

    select_tile(w, 256)
    assert shown_levels(w) == expected_levels(1500, 2300, 256)
    assert "Estimated file size" in w.plan_label.text()

    select_tile(w, 1024)
    assert shown_levels(w) == expected_levels(1500, 2300, 1024)
    assert len(expected_levels(1500, 2300, 1024)) < len(expected_levels(1500, 2300, 256))

    w.levels_spin.setValue(2)
    assert shown_levels(w) == [(1500, 2300), (750, 1150)]


def test_layer_list_follows_the_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="a")
    viewer.add_image(np.zeros((64, 64), np.uint8), name="b")
    viewer.layers.selection = {viewer.layers["b"]}
    w = make_widget(viewer)
    items = [w.layer_list.item(i) for i in range(w.layer_list.count())]
    assert [i.text() for i in items] == ["a", "b"]
    # the layers selected in napari are the ones checked by default
    assert [i.checkState() == Qt.CheckState.Checked for i in items] == [False, True]

    viewer.layers["a"].name = "nuclei"
    viewer.add_image(np.zeros((64, 64), np.uint8), name="c")
    assert [w.layer_list.item(i).text() for i in range(w.layer_list.count())] == [
        "nuclei", "b", "c"
    ]
    del viewer.layers["b"]
    assert [w.layer_list.item(i).text() for i in range(w.layer_list.count())] == ["nuclei", "c"]


@pytest.mark.node
def test_export_two_layers_opens_in_viv_with_exact_pixels(
    make_napari_viewer, qtbot, tmp_path, viv
):
    rng = np.random.default_rng(7)
    dapi = rng.integers(0, 60000, (700, 900), dtype=np.uint16)
    cd3 = rng.integers(0, 60000, (700, 900), dtype=np.uint16)
    viewer = make_napari_viewer()
    viewer.add_image(dapi, name="DAPI", scale=(0.5, 0.5), units="um", colormap="blue")
    viewer.add_image(cd3, name="CD3", scale=(0.5, 0.5), units="um", colormap="green")
    viewer.layers.select_all()
    w = make_widget(viewer)
    assert [w.layer_list.item(i).text() for i in range(w.layer_list.count())] == ["DAPI", "CD3"]
    assert w.pixel_x.value() == pytest.approx(0.5)
    assert w.unit_combo.currentText() == "µm"

    out = tmp_path / "out" / "cells.ome.tif"
    out.parent.mkdir()
    w.path_edit.setText(str(out))
    select_tile(w, 256)
    w.pixel_x.setValue(0.65)  # the user corrects the pixel size
    w.pixel_y.setValue(0.65)
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)

    assert "Saved" in w.status_label.text() and str(out.parent) in w.status_label.text()
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "cells.offsets.json", "cells.ome.tif", "cells.view.json"]
    assert w.serve_button.isVisibleTo(w)

    report = viv(out, offsets=out.with_name("cells.offsets.json"))
    image = report["images"][0]
    assert [c["name"] for c in image["channels"]] == ["DAPI", "CD3"]
    assert image["physical"]["x"] == pytest.approx(0.65)
    assert image["physical"]["y"] == pytest.approx(0.65)
    assert image["physical"]["xUnit"] == "µm"
    assert image["tileSize"] == 256
    levels = image["levels"]
    assert [tuple(lv["shape"][-2:]) for lv in levels] == expected_levels(700, 900, 256)
    planes = {p["c"]: p["sha256"] for p in levels[0]["planes"]}
    assert planes == {0: plane_digest(dapi), 1: plane_digest(cd3)}


def test_progress_advances_to_the_end(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.ones((1200, 1300), np.uint8), name="ones")
    w = make_widget(viewer)
    select_tile(w, 256)
    w.path_edit.setText(str(tmp_path / "ones.ome.tif"))
    values = []
    w.progress_bar.valueChanged.connect(values.append)
    qtbot.mouseClick(w.export_button, LEFT)
    assert not w.export_button.isEnabled() and w.cancel_button.isEnabled()
    wait_done(qtbot, w)
    assert values, "no progress was shown"
    assert values == sorted(values)
    assert len(set(values)) > 2
    assert values[-1] == w.progress_bar.maximum()
    assert w.export_button.isEnabled() and not w.cancel_button.isEnabled()


def slow_layer_data(shape=(4096, 4096), chunk=256, delay=0.02):
    """A lazy image whose chunks are slow to compute off the GUI thread."""
    import dask.array as da

    def fill(block, block_info=None):
        if threading.current_thread() is not threading.main_thread():
            time.sleep(delay)
        return np.full(block.shape, 3, np.uint16)

    base = da.zeros(shape, dtype=np.uint16, chunks=chunk)
    return base.map_blocks(fill, dtype=np.uint16)


def test_cancel_midway_leaves_nothing(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(slow_layer_data(), name="slow", contrast_limits=(0, 10))
    w = make_widget(viewer)
    select_tile(w, 256)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    w.path_edit.setText(str(out_dir / "slow.ome.tif"))

    def cancel_on_first_progress(value):
        if value > 0 and w.cancel_button.isEnabled():
            qtbot.mouseClick(w.cancel_button, LEFT)

    w.progress_bar.valueChanged.connect(cancel_on_first_progress)
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w, timeout=120_000)

    assert "cancelled" in w.status_label.text().lower()
    assert list(out_dir.iterdir()) == []
    assert not w.serve_button.isVisibleTo(w)
    assert not [m for sev, m in notifications if sev == "error"]
    assert w.export_button.isEnabled()


def test_mismatched_shapes_notify_and_write_nothing(
    make_napari_viewer, qtbot, tmp_path, notifications
):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="small")
    viewer.add_image(np.zeros((320, 400), np.uint16), name="taller")
    viewer.layers.select_all()
    w = make_widget(viewer)
    w.path_edit.setText(str(tmp_path / "mixed.ome.tif"))
    assert "Cannot export" in w.plan_label.text()
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1
    assert "small" in errors[0] and "taller" in errors[0]
    assert not [p for p in tmp_path.iterdir() if p.name != "napari-viv-settings.json"]


def test_unwritable_folder_notifies_and_reenables(
    make_napari_viewer, qtbot, tmp_path, notifications
):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="img")
    w = make_widget(viewer)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    w.path_edit.setText(str(blocker / "img.ome.tif"))
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "not-a-folder" in errors[0]
    assert "\n" not in errors[0]
    assert blocker.read_text() == "a file where a folder should be"
    assert w.export_button.isEnabled() and not w.serve_button.isVisibleTo(w)


def test_settings_are_remembered_by_the_next_widget(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((200, 300), np.uint8), name="img")
    first = make_widget(viewer)
    select_tile(first, 1024)
    first.compression_combo.setCurrentText("lzw")
    first.levels_spin.setValue(2)
    first.downsample_combo.setCurrentText("nearest")
    folder = tmp_path / "exports"
    folder.mkdir()
    first.path_edit.setText(str(folder / "img.ome.tif"))
    qtbot.mouseClick(first.export_button, LEFT)
    wait_done(qtbot, first)

    viewer2 = make_napari_viewer()
    viewer2.add_image(np.zeros((200, 300), np.uint8), name="other")
    second = make_widget(viewer2)
    assert second.tile_combo.currentText() == "1024"
    assert second.compression_combo.currentText() == "lzw"
    assert second.levels_spin.value() == 2
    assert second.downsample_combo.currentText() == "nearest"
    assert second.path_edit.text() == str(folder / "other.ome.tif")


def test_serve_button_docks_the_serve_widget_with_the_file(
    make_napari_viewer, qtbot, tmp_path
):
    viewer = make_napari_viewer()
    viewer.add_image(np.arange(300 * 400, dtype=np.uint16).reshape(300, 400), name="ramp")
    w = make_widget(viewer)
    # already docked, empty, then hidden (as in `napari-viv demo --napari`)
    early_dock, early = viewer.window.add_plugin_dock_widget("napari-viv", "Serve to Avivator")
    assert early.file_edit.text() == ""
    early_dock.hide()
    out = tmp_path / "ramp.ome.tif"
    w.path_edit.setText(str(out))
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    assert w.serve_button.isVisibleTo(w)
    qtbot.mouseClick(w.serve_button, LEFT)

    from napari_viv._napari.serve_widget import ServeWidget

    serve = [wd for wd in viewer.window.dock_widgets.values() if isinstance(wd, ServeWidget)]
    assert len(serve) == 1
    assert serve[0].file_edit.text() == str(out)
    assert serve[0] is early and not early_dock.isHidden()


def test_existing_file_needs_replace_ticked(make_napari_viewer, qtbot, tmp_path, notifications):
    import tifffile

    viewer = make_napari_viewer()
    data = np.arange(200 * 300, dtype=np.uint16).reshape(200, 300)
    viewer.add_image(data, name="img")
    w = make_widget(viewer)
    out = tmp_path / "img.ome.tif"
    out.write_bytes(b"old contents")
    w.path_edit.setText(str(out))
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "img.ome.tif" in errors[0]
    assert out.read_bytes() == b"old contents"

    w.overwrite_check.setChecked(True)
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    np.testing.assert_array_equal(tifffile.imread(out), data)


def test_codec_the_data_cannot_use_is_refused(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((200, 300, 3), np.uint8), name="photo", rgb=True)
    w = make_widget(viewer)
    assert "Cannot export" not in w.plan_label.text()
    w.compression_combo.setCurrentText("lzw")  # Viv decodes RGB+LZW wrongly
    assert w.compression_combo.currentText() == "lzw"
    assert "Cannot export" in w.plan_label.text()
    w.path_edit.setText(str(tmp_path / "x.ome.tif"))
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "lzw" in errors[0]
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".json"]


def test_both_widgets_open_from_the_manifest_and_the_file_menu(make_napari_viewer):
    from napari._app_model import get_app_model

    from napari_viv._napari.export_widget import ExportWidget
    from napari_viv._napari.serve_widget import ServeWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((100, 100), np.uint8), name="img")
    _dock, export = viewer.window.add_plugin_dock_widget("napari-viv", "Save as OME-TIFF pyramid…")
    _dock, serve = viewer.window.add_plugin_dock_widget("napari-viv", "Serve to Avivator")
    assert isinstance(export, ExportWidget) and isinstance(serve, ServeWidget)
    assert [export.layer_list.item(0).text()] == ["img"]

    menu = get_app_model().menus.get_menu("napari/file/io_utilities")
    ids = [getattr(item, "command", None) and item.command.id for item in menu]
    assert "napari-viv.export_widget" in ids and "napari-viv.serve_widget" in ids


def test_closing_the_widget_mid_export_cancels_it(make_napari_viewer, qtbot, tmp_path):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer()
    viewer.add_image(slow_layer_data(), name="slow", contrast_limits=(0, 10))
    w = make_widget(viewer)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    w.path_edit.setText(str(out_dir / "slow.ome.tif"))
    started = []
    w.progress_bar.valueChanged.connect(lambda v: started.append(v) if v > 0 else None)
    qtbot.mouseClick(w.export_button, LEFT)
    qtbot.waitUntil(lambda: bool(started), timeout=60_000)

    viewer.window.remove_dock_widget(w)
    w.deleteLater()
    qtbot.wait(50)
    assert QThreadPool.globalInstance().waitForDone(120_000)
    assert list(out_dir.iterdir()) == []


@pytest.mark.node
def test_reexport_of_a_lazily_opened_pyramid(make_napari_viewer, qtbot, tmp_path, viv):
    """Layers read lazily by our reader (multiscale) export from their level 0."""
    import tifffile

    rng = np.random.default_rng(3)
    data = rng.integers(0, 5000, (2, 600, 800), dtype=np.uint16)
    src = tmp_path / "source.ome.tif"
    with tifffile.TiffWriter(src, bigtiff=True) as tif:
        meta = {"axes": "CYX", "Channel": {"Name": ["Hoechst", "CD45"]},
                "PhysicalSizeX": 0.4, "PhysicalSizeY": 0.4}
        tif.write(data, subifds=1, tile=(256, 256), metadata=meta)
        tif.write(data[:, ::2, ::2], subfiletype=1, tile=(256, 256))
    viewer = make_napari_viewer()
    viewer.open(src, plugin="napari-viv")
    assert [layer.name for layer in viewer.layers] == ["Hoechst", "CD45"]
    assert all(layer.multiscale for layer in viewer.layers)
    viewer.layers.select_all()

    w = make_widget(viewer)
    assert w.pixel_x.value() == pytest.approx(0.4)
    select_tile(w, 256)
    out = tmp_path / "again.ome.tif"
    w.path_edit.setText(str(out))
    qtbot.mouseClick(w.export_button, LEFT)
    wait_done(qtbot, w)
    assert out.exists(), w.status_label.text()

    image = viv(out, offsets=out.with_name("again.offsets.json"))["images"][0]
    assert [c["name"] for c in image["channels"]] == ["Hoechst", "CD45"]
    assert image["physical"]["x"] == pytest.approx(0.4)
    assert [tuple(lv["shape"][-2:]) for lv in image["levels"]] == expected_levels(600, 800, 256)
    planes = {p["c"]: p["sha256"] for p in image["levels"][0]["planes"]}
    assert planes == {0: plane_digest(data[0]), 1: plane_digest(data[1])}


@pytest.mark.node
def test_own_pyramid_levels_are_copied_or_recomputed(make_napari_viewer, qtbot, tmp_path, viv):
    rng = np.random.default_rng(5)
    level0 = rng.integers(0, 9000, (600, 800), dtype=np.uint16)
    # a level 1 that is *not* a downsample of level 0, so copies are recognisable
    level1 = np.full((300, 400), 1234, np.uint16)
    viewer = make_napari_viewer()
    viewer.add_image([level0, level1], multiscale=True, name="pyr", contrast_limits=(0, 9000))
    w = make_widget(viewer)
    select_tile(w, 256)
    assert w.reuse_check.isVisibleTo(w) and w.reuse_check.isChecked()
    assert "Level 1: 400 × 300 px (copied from the layer)" in w.plan_label.text()

    def export(name):
        out = tmp_path / f"{name}.ome.tif"
        w.path_edit.setText(str(out))
        qtbot.mouseClick(w.export_button, LEFT)
        wait_done(qtbot, w)
        report = viv(out, offsets=out.with_name(f"{name}.offsets.json"))
        return [lv["planes"][0]["sha256"] for lv in report["images"][0]["levels"]]

    copied = export("copied")
    assert copied[0] == plane_digest(level0)
    assert copied[1] == plane_digest(level1)

    w.reuse_check.setChecked(False)
    w.downsample_combo.setCurrentText("nearest")  # top-left sample of each 2x2 block
    assert "copied" not in w.plan_label.text()
    recomputed = export("recomputed")
    assert recomputed[0] == plane_digest(level0)
    assert recomputed[1] == plane_digest(level0[::2, ::2])


def test_damaged_settings_file_gives_defaults(make_napari_viewer, tmp_path):
    from napari_viv._napari import settings

    settings.settings_path().write_text("{not json")
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    w = make_widget(viewer)
    defaults = settings.ExportSettings()
    assert w.tile_combo.currentData() == defaults.tile_size
    assert w.compression_combo.currentText() == defaults.compression
    assert w.levels_spin.value() == 0 and w.levels_spin.text() == "auto"
