"""Points and Shapes travel with an export (issue 20): the GeoJSON sidecar, read back equal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_viv._napari.reader import read_paths
from napari_viv._napari.writer import write_layers

pytestmark = pytest.mark.napari


def _errors(notifications):
    return [text for sev, text in notifications if "error" in sev.lower()]


def _scene(viewer, image_shape=(300, 400), scale=(0.5, 0.5)):
    img = viewer.add_image(
        np.random.default_rng(0).integers(0, 999, image_shape).astype(np.uint16), name="tissue", scale=scale
    )
    pts = viewer.add_points(
        np.array([[20.0, 30.0], [150.5, 200.25], [290.0, 10.0]]),
        name="spots",
        scale=scale,
        size=np.array([8.0, 12.0, 20.0]),
        face_color=["red", "lime", "blue"],
        border_color="white",
        border_width=0.1,
        features=pd.DataFrame({"cell": [1, 2, 3], "kind": ["a", "b", "a"]}),
        text={"string": "{kind}-{cell}", "size": 9},
    )
    shapes = viewer.add_shapes(
        [
            np.array([[10, 10], [10, 60], [50, 60], [50, 10]], float),
            np.array([[100, 100], [100, 180], [160, 180], [160, 100]], float),
            np.array([[200, 50], [250, 90], [220, 150]], float),
            np.array([[20, 300], [80, 350], [40, 390]], float),
            np.array([[270, 200], [280, 380]], float),
        ],
        shape_type=["rectangle", "ellipse", "polygon", "path", "line"],
        name="regions",
        scale=scale,
        edge_color=["yellow", "magenta", "cyan", "orange", "white"],
        face_color="transparent",
        edge_width=[1, 2, 3, 4, 5],
        features=pd.DataFrame({"area": [1.5, 2.5, 3.5, 4.5, 5.5]}),
    )
    return img, pts, shapes


def test_points_and_shapes_round_trip(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    img, pts, shapes = _scene(viewer)
    written = write_layers(str(tmp_path / "scene"), [lay.as_layer_data_tuple() for lay in (img, pts, shapes)])
    assert not _errors(notifications)
    side = tmp_path / "scene.features.geojson"
    assert str(side) in written
    doc = json.loads(side.read_text())
    assert doc["type"] == "FeatureCollection"
    geoms = [f["geometry"]["type"] for f in doc["features"]]
    assert geoms == ["Point"] * 3 + ["Polygon", "Polygon", "Polygon", "LineString", "LineString"]
    # GeoJSON is [x, y] in level-0 pixels: napari's (y, x) data coordinates swapped
    assert doc["features"][1]["geometry"]["coordinates"] == [200.25, 150.5]
    assert doc["features"][0]["properties"]["text"] == "a-1"
    assert doc["features"][0]["properties"]["text_color"] == [0, 255, 255, 255]  # napari's default: cyan
    assert "text" not in doc["features"][3]["properties"]  # the shapes show no text
    assert doc["features"][0]["properties"]["fill_color"] == [255, 0, 0, 255]

    back = {meta["name"]: (data, meta, kind) for data, meta, kind in read_paths(str(tmp_path / "scene.ome.tif"))}
    data, meta, kind = back["spots"]
    assert kind == "points"
    np.testing.assert_allclose(data, pts.data)
    np.testing.assert_allclose(meta["face_color"], pts.face_color, atol=1 / 255)
    np.testing.assert_allclose(meta["border_color"], pts.border_color, atol=1 / 255)
    np.testing.assert_allclose(meta["size"], pts.size)
    np.testing.assert_allclose(meta["border_width"], pts.border_width * pts.size)
    pd.testing.assert_frame_equal(meta["features"], pts.features)
    np.testing.assert_allclose(meta["scale"], img.scale)

    data, meta, kind = back["regions"]
    assert kind == "shapes" and meta["shape_type"] == shapes.shape_type
    for mine, theirs in zip(data, shapes.data, strict=True):
        np.testing.assert_allclose(mine, theirs)
    np.testing.assert_allclose(meta["edge_color"], shapes.edge_color, atol=1 / 255)
    np.testing.assert_allclose(meta["edge_width"], shapes.edge_width)
    pd.testing.assert_frame_equal(meta["features"], shapes.features)

    # the layers napari builds from what was read equal the saved ones
    viewer2 = make_napari_viewer()
    for data, meta, kind in back.values():
        getattr(viewer2, f"add_{kind}")(data, **meta)
    np.testing.assert_allclose(viewer2.layers["spots"].data, pts.data)
    read_text = viewer2.layers["spots"].text
    np.testing.assert_array_equal(read_text.string(pts.features), pts.text.string(pts.features))
    np.testing.assert_allclose(read_text.color(pts.features), np.broadcast_to(pts.text.color(pts.features), (3, 4)))
    assert viewer2.layers["regions"].shape_type == shapes.shape_type


@pytest.mark.parametrize("case", ["other scale", "3-D points on 2-D"])
def test_bad_scene_input_is_refused_and_nothing_written(make_napari_viewer, tmp_path, notifications, case):
    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((100, 100), np.uint16), name="tissue")
    if case == "other scale":
        other = viewer.add_points([[5, 5]], name="elsewhere", scale=(2, 2))
    else:
        other = viewer.add_points([[1, 5, 5]], name="stack spots")
    written = write_layers(str(tmp_path / "bad"), [img.as_layer_data_tuple(), other.as_layer_data_tuple()])
    assert written == []
    errors = _errors(notifications)
    assert errors and other.name in errors[-1]
    assert ("scale" in errors[-1]) if case == "other scale" else ("3-D" in errors[-1] and "2-D" in errors[-1])
    assert list(tmp_path.iterdir()) == []


def test_labels_round_trip_as_a_nearest_pyramid_with_their_colours(make_napari_viewer, tmp_path, notifications):
    import tifffile

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((1200, 1100), np.uint16), name="tissue")
    lab = np.zeros((1200, 1100), np.int64)
    lab[100:400, 100:500] = 3
    lab[600:1100, 300:900] = 60000
    lab[::2, ::2][700:710, 700:710] = 5  # a checkerboard a mean would blur into new ids
    lab[1, 1] = 7  # one pixel: it gets its colour too
    labels = viewer.add_labels(lab, name="cells", opacity=0.6)
    labels.contour = 2  # napari leaves it out of the layer's data tuple; the export still finds it
    written = write_layers(str(tmp_path / "seg"), [img.as_layer_data_tuple(), labels.as_layer_data_tuple()])
    assert not _errors(notifications)
    sibling = tmp_path / "seg.labels-0.ome.tif"
    assert str(sibling) in written
    with tifffile.TiffFile(sibling) as tif:
        levels = [lvl.asarray() for lvl in tif.series[0].levels]
    assert len(levels) >= 2 and levels[0].dtype == np.uint16
    np.testing.assert_array_equal(levels[0], lab)
    for lower in levels[1:]:
        assert set(np.unique(lower)) <= {0, 3, 5, 7, 60000}  # nearest: only ids that exist
    view = json.loads((tmp_path / "seg.view.json").read_text())
    entry = view["labels"][0]
    assert entry["file"] == sibling.name and entry["opacity"] == pytest.approx(0.6)
    assert entry["contour"] == 2
    for i in (3, 60000, 7):
        assert entry["colors"][str(i)] == [round(v * 255) for v in labels.colormap.map(np.array([i]))[0]]

    back = [item for item in read_paths(str(tmp_path / "seg.ome.tif")) if item[2] == "labels"]
    assert len(back) == 1
    data, meta, _ = back[0]
    level0 = data[0] if meta.get("multiscale") else data
    np.testing.assert_array_equal(np.asarray(level0), lab)
    viewer2 = make_napari_viewer()
    again = viewer2.add_labels(data, **meta)
    np.testing.assert_allclose(
        again.colormap.map(np.array([3, 60000])), labels.colormap.map(np.array([3, 60000])), atol=1 / 255
    )


def test_labels_whose_shape_differs_are_refused(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((100, 120), np.uint16), name="tissue")
    labels = viewer.add_labels(np.zeros((100, 100), np.uint8), name="wrong size")
    assert write_layers(str(tmp_path / "bad"), [img.as_layer_data_tuple(), labels.as_layer_data_tuple()]) == []
    errors = _errors(notifications)
    assert errors and "wrong size" in errors[-1] and "(100, 100)" in errors[-1]
    assert list(tmp_path.iterdir()) == []
