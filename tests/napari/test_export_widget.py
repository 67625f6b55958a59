"""The *Export to Viv* panel, driven through its magicgui widgets in a real viewer.

Values are set through the magicgui widgets (``.value``) and buttons are
clicked with real mouse clicks on their Qt widgets; the browser launch is
the only thing replaced.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import numpy as np
import pytest
import tifffile
from helpers.napari_files import write_tifffile_pyramid
from helpers.napari_panel import cancel_at_first_progress, click, make_panel, slow_export_panel, wait_done
from helpers.vivjs import plane_digest

pytestmark = pytest.mark.napari

ASSUMED = "assumed µm; set the layer's units to choose another"


def export(qtbot, panel, path, timeout=60_000):
    panel.output.value = path
    click(qtbot, panel.export_button)
    wait_done(qtbot, panel, timeout)


def expected_levels(height, width, tile):
    """The level shapes Viv wants, computed here: halve (floor) until one tile."""
    shapes = [(height, width)]
    while max(shapes[-1]) > tile:
        h, w = shapes[-1]
        shapes.append((h // 2, w // 2))
    return shapes


def shown_levels(panel):
    """(Y, X) per level as the plan shows them ('Level i: X × Y')."""
    out = []
    for line in panel.plan_text.value.splitlines():
        if line.startswith("Level "):
            dims = line.split(":", 1)[1].split("(")[0].split("×")
            x, y = (int(d) for d in dims)
            out.append((y, x))
    return out


def ome_channel_names(path):
    with tifffile.TiffFile(path) as tif:
        return [c.get("Name") for c in _channels(tif.ome_metadata)]


def _channels(xml):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    ns = {"ome": root.tag.split("}")[0].strip("{")}
    return root.findall("ome:Image/ome:Pixels/ome:Channel", ns)


def pixels_attrs(path):
    import xml.etree.ElementTree as ET

    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.ome_metadata)
    ns = {"ome": root.tag.split("}")[0].strip("{")}
    return root.find("ome:Image/ome:Pixels", ns).attrib


# -- defaults -------------------------------------------------------------------


def test_defaults_every_image_layer_ticked_in_layer_order(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    for name in ("DAPI", "CD3", "CD8"):
        viewer.add_image(np.zeros((64, 80), np.uint16), name=name)
    viewer.add_points([[1, 1]], name="spots")  # not an image: not listed
    viewer.layers.selection = {viewer.layers["CD8"]}  # selection does not matter
    panel = make_panel(viewer)

    assert panel.layer_names() == ["DAPI", "CD3", "CD8"]
    assert panel.ticked_names() == ["DAPI", "CD3", "CD8"]
    assert not panel.options_box.native.isVisibleTo(panel.native)
    assert not panel.viewing.native.isVisibleTo(panel.native)
    assert panel.tile_size.value == 512 and panel.compression.value == "zlib"
    assert panel.levels.value == "auto" and panel.downsample.value == "mean"
    assert "3 plane(s)" in panel.plan_text.value
    # a layer added later is listed and ticked too
    viewer.add_image(np.zeros((64, 80), np.uint16), name="Ki67")
    assert panel.ticked_names() == ["DAPI", "CD3", "CD8", "Ki67"]

    click(qtbot, panel.options_toggle)
    assert panel.options_box.native.isVisibleTo(panel.native)
    assert panel.options_toggle.value  # the magicgui button's checked state
    panel.options_toggle.value = False
    assert not panel.options_box.native.isVisibleTo(panel.native)


def test_only_the_visible_layers_are_ticked_when_some_are_hidden(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="a")
    viewer.add_image(np.zeros((64, 64), np.uint8), name="b", visible=False)
    viewer.add_image(np.zeros((64, 64), np.uint8), name="c")
    panel = make_panel(viewer)
    assert panel.ticked_names() == ["a", "c"]
    # untouched rows follow napari's eye; a row the user ticked keeps its tick
    viewer.layers["a"].visible = False
    assert panel.ticked_names() == ["c"]
    panel.row("b").tick.value = True
    viewer.layers["b"].visible = False
    viewer.layers["c"].visible = False  # all hidden: all offered again
    assert panel.ticked_names() == ["a", "b", "c"]


def test_list_follows_renames_and_removals(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="a")
    viewer.add_image(np.zeros((64, 64), np.uint8), name="b")
    panel = make_panel(viewer)
    viewer.layers["a"].name = "nuclei"
    viewer.add_image(np.zeros((64, 64), np.uint8), name="c")
    assert panel.layer_names() == ["nuclei", "b", "c"]
    del viewer.layers["b"]
    assert panel.layer_names() == ["nuclei", "c"]


def test_output_defaults_to_the_folder_the_layers_came_from(make_napari_viewer, tmp_path):
    src_dir = tmp_path / "scans"
    src_dir.mkdir()
    data = np.arange(2 * 300 * 400, dtype=np.uint16).reshape(2, 300, 400)
    src = write_tifffile_pyramid(src_dir / "slide.ome.tif", [data, data[:, ::2, ::2]], "CYX", names=["A", "B"])
    viewer = make_napari_viewer()
    viewer.open(src, plugin="napari-viv")
    panel = make_panel(viewer)
    # beside the source, never over it
    assert panel.output_path() == src_dir / "slide-2.ome.tif"


def test_output_defaults_to_the_last_folder_used(make_napari_viewer, qtbot, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((200, 300), np.uint8), name="img")
    first = make_panel(viewer)
    first.compression.value = "lzw"
    first.levels.value = "2"
    first.downsample.value = "nearest"
    first.tile_size.value = 1024
    export(qtbot, first, folder / "img.ome.tif")
    assert (folder / "img.ome.tif").exists()

    viewer2 = make_napari_viewer()
    viewer2.add_image(np.zeros((200, 300), np.uint8), name="other")
    second = make_panel(viewer2)
    assert second.output_path() == folder / "other.ome.tif"
    assert second.tile_size.value == 1024
    assert second.compression.value == "lzw"
    assert second.levels.value == "2"
    assert second.downsample.value == "nearest"


def test_plan_follows_tile_size_and_levels(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((1500, 2300), np.uint16), name="dapi")
    panel = make_panel(viewer)
    panel.tile_size.value = 256
    assert shown_levels(panel) == expected_levels(1500, 2300, 256)
    assert "About" in panel.plan_text.value
    panel.tile_size.value = 1024
    assert shown_levels(panel) == expected_levels(1500, 2300, 1024)
    panel.levels.value = "2"
    assert shown_levels(panel) == [(1500, 2300), (750, 1150)]


# -- exporting ---------------------------------------------------------------------


def test_first_export_of_the_sample_has_every_channel_and_can_be_viewed(
    make_napari_viewer, qtbot, tmp_path, monkeypatch, notifications
):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    viewer = make_napari_viewer()
    viewer.open_sample("napari-viv", "tissue", size=256, channels=6)
    names = [layer.name for layer in viewer.layers]
    panel = make_panel(viewer)
    out = tmp_path / "tissue.ome.tif"
    values = []
    panel.progress.changed.connect(values.append)
    export(qtbot, panel, out)

    assert ome_channel_names(out) == names  # every channel, in layer order
    assert sorted(p.name for p in tmp_path.iterdir() if "tissue" in p.name) == [
        "tissue.offsets.json",
        "tissue.ome.tif",
        "tissue.view.json",
    ]
    assert values and values == sorted(values) and values[-1] == panel.progress.max
    assert "Saved tissue.ome.tif" in panel.status.value
    assert any("Saved tissue.ome.tif" in m for _s, m in notifications)
    assert panel.viewing.native.isVisibleTo(panel.native)
    assert panel.viewing.server is None  # nothing served until asked

    click(qtbot, panel.viewing.open_viewer_button)
    server = panel.viewing.server
    assert server is not None and server.running
    assert opened == [server.viewer_url_for(out)]
    assert opened[0].startswith(f"http://127.0.0.1:{server.port}/")

    click(qtbot, panel.viewing.avivator_button)
    from napari_viv.serve.links import avivator_link

    assert opened[1] == avivator_link(server.url_for(out))

    # the file answers a ranged GET, and the counters move
    parts = urlsplit(server.url_for(out))
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", parts.path, headers={"Range": "bytes=0-99"})
    resp = conn.getresponse()
    assert resp.status == 206 and len(resp.read()) == 100
    conn.close()
    qtbot.waitUntil(lambda: "1 requests" in panel.viewing.state.value, timeout=5000)

    click(qtbot, panel.viewing.copy_button)
    from qtpy.QtWidgets import QApplication

    assert QApplication.clipboard().text() == server.viewer_url_for(out)

    click(qtbot, panel.viewing.stop_button)
    assert panel.viewing.server is None and not server.running
    assert "Not serving" in panel.viewing.state.value


def test_reorder_with_the_arrows_changes_the_channel_order(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    for name in ("a", "b", "c"):
        viewer.add_image(np.zeros((64, 64), np.uint16), name=name)
    panel = make_panel(viewer)
    click(qtbot, panel.row("a").down)
    click(qtbot, panel.row("c").up)
    assert panel.layer_names() == ["b", "c", "a"]
    panel.row("b").tick.value = False
    out = tmp_path / "order.ome.tif"
    export(qtbot, panel, out)
    assert ome_channel_names(out) == ["c", "a"]


def test_cancel_midway_leaves_nothing(make_napari_viewer, qtbot, tmp_path, notifications):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    panel = slow_export_panel(make_napari_viewer(), out_dir / "slow.ome.tif")
    cancel_at_first_progress(qtbot, panel)
    click(qtbot, panel.export_button)
    assert not panel.export_button.enabled
    wait_done(qtbot, panel, timeout=120_000)

    assert "cancelled" in panel.status.value.lower()
    assert list(out_dir.iterdir()) == []
    assert not panel.viewing.native.isVisibleTo(panel.native)
    assert not [m for sev, m in notifications if sev == "error"]
    assert panel.export_button.enabled


def test_closing_the_panel_mid_export_cancels_it(make_napari_viewer, qtbot, tmp_path):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    panel = slow_export_panel(viewer, out_dir / "slow.ome.tif", tile_size=None)
    started = []
    panel.progress.changed.connect(lambda v: started.append(v) if v > 0 else None)
    click(qtbot, panel.export_button)
    qtbot.waitUntil(lambda: bool(started), timeout=60_000)

    viewer.window.remove_dock_widget(panel.native)
    panel.native.deleteLater()
    qtbot.wait(50)
    assert QThreadPool.globalInstance().waitForDone(120_000)
    assert list(out_dir.iterdir()) == []


# -- the unit rule ---------------------------------------------------------------


def test_scale_without_units_is_written_as_micrometres(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="cells", scale=(0.65, 0.65))
    assert [str(u) for u in viewer.layers["cells"].units] == ["pixel", "pixel"]
    panel = make_panel(viewer)
    assert panel.pixel_x.value == pytest.approx(0.65)
    assert panel.unit.value == "µm"
    out = tmp_path / "cells.ome.tif"
    export(qtbot, panel, out)
    attrs = pixels_attrs(out)
    assert float(attrs["PhysicalSizeX"]) == pytest.approx(0.65)
    assert attrs.get("PhysicalSizeXUnit", "µm") == "µm"
    infos = [m for sev, m in notifications if sev == "info" and "Saved cells" in m]
    assert len(infos) == 1 and ASSUMED in infos[0] and "'cells'" in infos[0]
    assert ASSUMED.split(";")[0] in panel.status.value


def test_scale_with_units_is_kept_and_scale_one_means_none(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="em", scale=(4, 4), units="nm")
    panel = make_panel(viewer)
    assert panel.unit.value == "nm" and panel.pixel_x.value == pytest.approx(4)
    export(qtbot, panel, tmp_path / "em.ome.tif")
    attrs = pixels_attrs(tmp_path / "em.ome.tif")
    assert float(attrs["PhysicalSizeX"]) == pytest.approx(4)
    assert attrs["PhysicalSizeXUnit"] == "nm"

    viewer.layers.clear()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="plain")
    assert panel.pixel_x.value == 0
    export(qtbot, panel, tmp_path / "plain.ome.tif")
    assert "PhysicalSizeX" not in pixels_attrs(tmp_path / "plain.ome.tif")
    assert not [m for _s, m in notifications if "assumed" in m]


def test_file_menu_writer_applies_the_unit_rule_too(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((128, 128), np.uint16), name="tile", scale=(0.25, 0.25))
    written = viewer.layers.save(str(tmp_path / "tile.ome.tif"), plugin="napari-viv")
    assert written
    assert float(pixels_attrs(tmp_path / "tile.ome.tif")["PhysicalSizeX"]) == pytest.approx(0.25)
    assert any(ASSUMED in m for _s, m in notifications)


def test_the_reader_sets_scale_and_units(make_napari_viewer, tmp_path):
    data = np.zeros((2, 256, 256), np.uint16)
    src = write_tifffile_pyramid(tmp_path / "s.ome.tif", [data], "CYX", pixel_size=0.4)
    viewer = make_napari_viewer()
    viewer.open(src, plugin="napari-viv")
    for layer in viewer.layers:
        assert tuple(layer.scale) == pytest.approx((0.4, 0.4))
        assert [format(u, "~") for u in layer.units] == ["µm", "µm"]


# -- problems -----------------------------------------------------------------------


def test_mismatched_shapes_notify_and_write_nothing(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="small")
    viewer.add_image(np.zeros((320, 400), np.uint16), name="taller")
    panel = make_panel(viewer)
    assert "Cannot export" in panel.plan_text.value
    export(qtbot, panel, tmp_path / "mixed.ome.tif")
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "small" in errors[0] and "taller" in errors[0]
    assert not list(tmp_path.glob("mixed*"))
    # unticking the odd one out makes it exportable
    panel.row("taller").tick.value = False
    assert "Cannot export" not in panel.plan_text.value


def test_existing_file_needs_replace_ticked(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    data = np.arange(200 * 300, dtype=np.uint16).reshape(200, 300)
    viewer.add_image(data, name="img")
    panel = make_panel(viewer)
    out = tmp_path / "img.ome.tif"
    out.write_bytes(b"old contents")
    export(qtbot, panel, out)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "img.ome.tif" in errors[0] and "\n" not in errors[0]
    assert out.read_bytes() == b"old contents"

    panel.replace.value = True
    export(qtbot, panel, out)
    np.testing.assert_array_equal(tifffile.imread(out), data)


def test_unwritable_folder_notifies_and_reenables(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="img")
    panel = make_panel(viewer)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    export(qtbot, panel, blocker / "img.ome.tif")
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "not-a-folder" in errors[0] and "\n" not in errors[0]
    assert blocker.read_text() == "a file where a folder should be"
    assert panel.export_button.enabled


def test_damaged_settings_file_gives_defaults(make_napari_viewer):
    from napari_viv._napari import settings

    settings.settings_path().write_text("{not json")
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    panel = make_panel(viewer)
    defaults = settings.ExportSettings()
    assert panel.tile_size.value == defaults.tile_size
    assert panel.compression.value == defaults.compression
    assert panel.levels.value == "auto"


# -- against the real Viv loader -------------------------------------------------------


@pytest.mark.node
def test_export_two_layers_opens_in_viv_with_exact_pixels(make_napari_viewer, qtbot, tmp_path, viv):
    rng = np.random.default_rng(7)
    dapi = rng.integers(0, 60000, (700, 900), dtype=np.uint16)
    cd3 = rng.integers(0, 60000, (700, 900), dtype=np.uint16)
    viewer = make_napari_viewer()
    viewer.add_image(dapi, name="DAPI", scale=(0.5, 0.5), units="um", colormap="blue")
    viewer.add_image(cd3, name="CD3", scale=(0.5, 0.5), units="um", colormap="green")
    panel = make_panel(viewer)
    assert panel.pixel_x.value == pytest.approx(0.5)
    panel.options_toggle.value = True
    panel.tile_size.value = 256
    panel.pixel_x.value = 0.65  # the user corrects the pixel size
    panel.pixel_y.value = 0.65
    out = tmp_path / "cells.ome.tif"
    export(qtbot, panel, out)

    report = viv(out, offsets=out.with_name("cells.offsets.json"))
    image = report["images"][0]
    assert [c["name"] for c in image["channels"]] == ["DAPI", "CD3"]
    assert image["physical"]["x"] == pytest.approx(0.65)
    assert image["physical"]["xUnit"] == "µm"
    assert image["tileSize"] == 256
    levels = image["levels"]
    assert [tuple(lv["shape"][-2:]) for lv in levels] == expected_levels(700, 900, 256)
    planes = {p["c"]: p["sha256"] for p in levels[0]["planes"]}
    assert planes == {0: plane_digest(dapi), 1: plane_digest(cd3)}


@pytest.mark.node
def test_own_pyramid_levels_are_copied_or_recomputed(make_napari_viewer, qtbot, tmp_path, viv):
    rng = np.random.default_rng(5)
    level0 = rng.integers(0, 9000, (600, 800), dtype=np.uint16)
    # a level 1 that is *not* a downsample of level 0, so copies are recognisable
    level1 = np.full((300, 400), 1234, np.uint16)
    viewer = make_napari_viewer()
    viewer.add_image([level0, level1], multiscale=True, name="pyr", contrast_limits=(0, 9000))
    panel = make_panel(viewer)
    panel.tile_size.value = 256
    assert panel.reuse.value
    assert "Level 1: 400 × 300 (copied)" in panel.plan_text.value

    def run(name):
        out = tmp_path / f"{name}.ome.tif"
        export(qtbot, panel, out)
        report = viv(out, offsets=out.with_name(f"{name}.offsets.json"))
        return [lv["planes"][0]["sha256"] for lv in report["images"][0]["levels"]]

    copied = run("copied")
    assert copied[:2] == [plane_digest(level0), plane_digest(level1)]
    panel.reuse.value = False
    panel.downsample.value = "nearest"  # top-left sample of each 2x2 block
    assert "copied" not in panel.plan_text.value
    recomputed = run("recomputed")
    assert recomputed[:2] == [plane_digest(level0), plane_digest(level0[::2, ::2])]


def test_option_examples_run():
    import doctest

    from napari_viv._napari import export_options

    result = doctest.testmod(export_options, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_output_field_shows_the_folder(make_napari_viewer, qtbot, tmp_path):
    """The field shows the name's end; the line under it shows the folder,
    elided in the middle when the dock is narrow, with the full path as tooltip."""
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 80), np.uint16), name="cells")
    panel = make_panel(viewer)
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "exports"
    deep.mkdir(parents=True)
    panel.output.value = deep / "cells.ome.tif"
    label = panel.output_section.folder_label.native

    def fits():
        return 0 < label.fontMetrics().horizontalAdvance(label.text()) <= label.width()

    qtbot.waitUntil(fits, timeout=5000)
    shown = label.text()
    assert label.toolTip() == str(deep / "cells.ome.tif")
    assert label.fontMetrics().horizontalAdvance("in " + str(deep)) > label.width()  # too long to show whole
    assert "…" in shown
    assert shown.startswith("in " + str(deep)[:5])  # where the folder starts
    assert shown.endswith("exports")  # and its own name
