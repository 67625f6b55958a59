"""The Export to Viv panel's tick boxes for Labels, Points and Shapes (issue 20)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.napari_panel import make_panel

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
