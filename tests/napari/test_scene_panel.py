"""The Export to Viv panel's tick boxes for Labels, Points and Shapes (issue 20)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from helpers.napari_panel import make_panel
from helpers.testdata import pyramid_tiles

pytestmark = pytest.mark.napari


def test_ticked_scene_layers_travel_and_unticked_do_not(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((128, 160), np.uint16), name="tissue")
    lab = np.zeros((128, 160), np.uint8)
    lab[10:40, 10:40] = 4
    viewer.add_labels(lab, name="cells")
    viewer.add_points([[20, 30]], name="spots", face_color="red")
    hidden = viewer.add_shapes(
        [np.array([[5, 5], [5, 50], [50, 50]], float)], shape_type="polygon", name="hidden shapes"
    )
    hidden.visible = False
    panel = make_panel(viewer)
    assert [box.text for box in panel.scene_rows.ticks.values()] == [
        "cells (labels)",
        "spots (points)",
        "hidden shapes (shapes)",
    ]
    assert [box.value for box in panel.scene_rows.ticks.values()] == [True, True, False]
    out = tmp_path / "scene.ome.tif"
    panel.output.value = str(out)
    assert panel.start_export()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "scene.labels-0.ome.tif" in names and "scene.features.geojson" in names, names
    doc = json.loads((tmp_path / "scene.features.geojson").read_text())
    assert [layer["name"] for layer in doc["napari_viv"]["layers"]] == ["spots"]
    assert json.loads((tmp_path / "scene.view.json").read_text())["labels"][0]["name"] == "cells"
    assert set(map(str, panel.exported)) >= {str(tmp_path / "scene.features.geojson")}


def test_bad_scene_layer_stops_the_panel_before_writing(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint16), name="tissue")
    viewer.add_labels(np.zeros((32, 64), np.uint8), name="half labels")
    panel = make_panel(viewer)
    panel.output.value = str(tmp_path / "bad.ome.tif")
    assert panel.start_export() is False
    assert "half labels" in panel.status.value
    assert list(tmp_path.iterdir()) == []


def _tissue_with_cells(viewer):
    viewer.add_image(np.full((600, 500), 7, np.uint16), name="tissue")
    cells = np.zeros((600, 500), np.uint16)
    cells[100:300, 50:250] = 12
    return viewer.add_labels(cells, name="cells")


def test_the_label_pyramids_share_the_progress_bar_with_the_image(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    _tissue_with_cells(viewer)
    panel = make_panel(viewer)
    panel.tile_size.value = 256
    panel.output.value = str(tmp_path / "scene.ome.tif")
    values = []
    panel.progress.changed.connect(values.append)
    assert panel.start_export()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)

    assert "Saved" in panel.status.value, panel.status.value
    image = pyramid_tiles(1, 600, 500, 256)
    # the labels' pyramid (in the image's 256-px tiles) after the image's
    assert panel.progress.max == 2 * image
    assert values == sorted(values) and values[-1] == panel.progress.max
    assert any(image < v < panel.progress.max for v in values)  # the labels' tiles move the bar on
    # the label pyramid has the image's tiles and levels
    tiles = {}
    for name in ("scene.ome.tif", "scene.labels-0.ome.tif"):
        with tifffile.TiffFile(tmp_path / name) as tif:
            tiles[name] = [(lv.pages[0].tilelength, lv.pages[0].tilewidth) for lv in tif.series[0].levels]
    assert tiles["scene.labels-0.ome.tif"] == tiles["scene.ome.tif"]
    assert set(tiles["scene.ome.tif"]) == {(256, 256)}


def test_cancelling_once_the_image_is_written_stops_its_label_pyramids_and_leaves_nothing(make_napari_viewer, tmp_path):
    import threading

    from napari_viv._napari.export_run import run_export
    from napari_viv._napari.scene_panel import run_export_with_scene

    viewer = make_napari_viewer()
    cells = _tissue_with_cells(viewer)
    cancel = threading.Event()
    image = pyramid_tiles(1, 600, 500, 256)
    seen = []

    class Relay:  # the panel's relay: here it presses Cancel as the image's last tile is in
        class progressed:  # noqa: N801 - the relay's signal, as the panel's QObject names it
            @staticmethod
            def emit(done, total):
                seen.append((done, total))
                if done >= image:
                    cancel.set()

    status, text = run_export_with_scene(
        run_export,
        viewer.layers["tissue"].data,
        tmp_path / "scene.ome.tif",
        {"tile_size": 256, "axes": "YX"},
        Relay,
        cancel,
        (None, [cells.as_layer_data_tuple()]),
        "YX",
    )
    assert status == "cancelled", text
    assert (image, 2 * image) in seen  # the image was complete; its labels (as many tiles) were not
    assert not any(done > image for done, _ in seen)
    assert list(tmp_path.iterdir()) == []  # the image, its offsets and view went too
