"""Save Selected Layers to an OME-Zarr store, with its scene, and read it back (issues 19 and 20).

A real napari viewer saves through ``viewer.layers.save(..., plugin="napari-viv")``;
the store is judged by ome-zarr-models and ome-zarr-py's Reader (labels
included), and read back through napari's own ``viewer.open``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers.zarr_judges import judge_models, judge_reference_reader, reference_pixels, write_reference_store

pytestmark = pytest.mark.napari

zarr = pytest.importorskip("zarr", reason="zarr is needed to read the stores back")
reader = pytest.importorskip("ome_zarr.reader", reason="pip install ome-zarr (the test extra)")
ome_zarr_io = pytest.importorskip("ome_zarr.io", reason="pip install ome-zarr (the test extra)")


def _errors(notifications):
    return [text for sev, text in notifications if "error" in sev.lower()]


def _label_ids(shape):
    ids = np.zeros(shape, np.int32)  # napari's labels are often int32/int64
    ids[20:120, 30:200] = 4
    ids[150:280, 220:380] = 60000  # > 255: stored as uint16 (napari reads colours above 65535 only with numba)
    ids[200:240:2, 20:60:2] = 2  # a checkerboard a mean would blur
    return ids


def _scene(viewer, shape=(300, 400), scale=(0.5, 0.5)):
    img = viewer.add_image(reference_pixels(shape), name="tissue", scale=scale, colormap="green")
    labels = viewer.add_labels(_label_ids(shape), name="nuclei", scale=scale, opacity=0.45)
    pts = viewer.add_points(
        np.array([[20.0, 30.0], [150.5, 200.25]]),
        name="spots",
        scale=scale,
        size=np.array([8.0, 12.0]),
        face_color=["red", "blue"],
        features=pd.DataFrame({"cell": [1, 2]}),
    )
    shapes = viewer.add_shapes(
        [np.array([[10, 10], [10, 60], [50, 60], [50, 10]], float)],
        shape_type=["rectangle"],
        name="regions",
        scale=scale,
        edge_color=["yellow"],
        face_color="transparent",
    )
    return img, labels, pts, shapes


@pytest.mark.parametrize("name", ["scene.ome.zarr", "scene.zarr"])
def test_save_selected_layers_writes_a_store_with_its_scene_and_reads_back(
    make_napari_viewer, tmp_path, notifications, name
):
    viewer = make_napari_viewer()
    img, labels, pts, shapes = _scene(viewer)
    viewer.layers.selection = set(viewer.layers)

    written = viewer.layers.save(str(tmp_path / name), selected=True, plugin="napari-viv")

    assert not _errors(notifications)
    store = tmp_path / name
    assert [p for p in written if p.endswith(name)] == [str(store)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "scene.view.json", "scene.features.geojson"])
    # the judges: the image and its labels validate; ome-zarr-py reads both
    judge_models(store)
    judge_reference_reader(store, img.data)
    nodes = list(reader.Reader(ome_zarr_io.parse_url(str(store)))())
    (label_node,) = [n for n in nodes if n.load(reader.Label)]
    assert label_node.zarr.basename() == "nuclei"
    np.testing.assert_array_equal(np.asarray(label_node.data[0]), labels.data)
    assert np.asarray(label_node.data[0]).dtype == np.uint16
    for level in label_node.data[1:]:
        assert set(np.unique(np.asarray(level))) <= {0, 2, 4, 60000}  # nearest, never a mean
    napari_rgba = labels.colormap.map(np.array([4, 60000]))
    for value, rgba in zip((4, 60000), napari_rgba, strict=True):
        np.testing.assert_allclose(label_node.metadata["color"][value], rgba, atol=1 / 255)
    # the view file: the label group, relative to the view file, and napari's look
    (entry,) = json.loads((tmp_path / "scene.view.json").read_text())["labels"]
    assert entry["file"] == f"{name}/labels/nuclei" and (tmp_path / entry["file"] / "0").is_dir()
    assert entry["opacity"] == pytest.approx(0.45) and entry["visible"] is True

    # napari's own open, through our reader: the same layers, equal to what was saved
    viewer2 = make_napari_viewer()
    back = {layer.name: layer for layer in viewer2.open(str(store), plugin="napari-viv")}
    assert set(back) == {"tissue", "nuclei", "spots", "regions"}, set(back)
    lab = back["nuclei"]
    assert type(lab).__name__ == "Labels" and lab.opacity == pytest.approx(0.45)
    level0 = lab.data[0] if lab.multiscale else lab.data
    np.testing.assert_array_equal(np.asarray(level0), labels.data)
    np.testing.assert_allclose(lab.colormap.map(np.array([4, 60000])), napari_rgba, atol=1 / 255)
    np.testing.assert_allclose(lab.scale, labels.scale)
    np.testing.assert_allclose(back["spots"].data, pts.data)
    np.testing.assert_allclose(back["spots"].face_color, pts.face_color, atol=1 / 255)
    assert back["regions"].shape_type == shapes.shape_type
    np.testing.assert_allclose(back["regions"].data[0], shapes.data[0])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_store_labelled_by_ome_zarr_py_opens_with_its_label_colours(make_napari_viewer, tmp_path, version):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_labels

    pixels = reference_pixels((2, 256, 256))
    store = write_reference_store(tmp_path / "ref.ome.zarr", pixels, version=version, levels=2)
    ids = np.zeros((256, 256), np.uint8)
    ids[10:100, 10:100] = 1
    ids[150:250, 120:200] = 2
    colors = [{"label-value": 1, "rgba": [255, 0, 0, 255]}, {"label-value": 2, "rgba": [0, 0, 255, 128]}]
    group = zarr.open_group(str(store), mode="a")
    write_labels(
        ids,
        group,
        name="cells",
        axes="yx",
        fmt=FormatV04() if version == "0.4" else FormatV05(),
        scale_factors=(2,),
        label_metadata={"colors": colors},
    )

    viewer = make_napari_viewer()
    layers = viewer.open(str(store), plugin="napari-viv")
    (lab,) = [layer for layer in layers if type(layer).__name__ == "Labels"]
    assert lab.name == "cells"
    level0 = lab.data[0] if lab.multiscale else lab.data
    np.testing.assert_array_equal(np.asarray(level0), ids)
    np.testing.assert_allclose(lab.colormap.map(np.array([1, 2])), [[1, 0, 0, 1], [0, 0, 1, 128 / 255]], atol=1 / 255)
    assert len([layer for layer in layers if type(layer).__name__ == "Image"]) == 2


@pytest.mark.parametrize("case", ["labels of another shape", "points in another space", "3-D points on 2-D"])
def test_bad_scene_input_for_a_store_is_refused_and_nothing_written(make_napari_viewer, tmp_path, notifications, case):
    from napari_viv._napari.writer import write_zarr_layers

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((100, 120), np.uint16), name="tissue")
    if case == "labels of another shape":
        other = viewer.add_labels(np.zeros((100, 100), np.uint8), name="wrong size")
    elif case == "points in another space":
        other = viewer.add_points([[5, 5]], name="elsewhere", scale=(2, 2))
    else:
        other = viewer.add_points([[1, 5, 5]], name="stack spots")

    written = write_zarr_layers(str(tmp_path / "bad"), [img.as_layer_data_tuple(), other.as_layer_data_tuple()])

    assert written == []
    errors = _errors(notifications)
    assert len(errors) == 1 and errors[0].startswith("Could not save bad.ome.zarr") and other.name in errors[0]
    assert list(tmp_path.iterdir()) == []  # nothing at the path, no temporary folder


def test_the_zarr_writer_is_the_one_napari_picks_for_zarr_names():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    for name in ("a.ome.zarr", "a.zarr"):
        writers = [w for w in pm.iter_compatible_writers(["image", "labels"]) if w.plugin_name == "napari-viv"]
        assert any(name.endswith(tuple(w.filename_extensions)) for w in writers)
        writer, path = pm.get_writer(name, ["image"], plugin_name="napari-viv")
        assert writer is not None and writer.command.endswith("write_zarr_layers") and path == name
        any_writer, _ = pm.get_writer(name, ["image"])  # no plugin named: still ours (no other writes .zarr)
        assert any_writer is not None and any_writer.command == writer.command
    writer, _ = pm.get_writer("a.ome.tif", ["image"], plugin_name="napari-viv")
    assert writer.command.endswith(".write_layers")


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_napari_ome_zarr_reads_our_labels_with_their_colours(make_napari_viewer, tmp_path, ngff):
    """Interoperation: the other OME-Zarr plugin opens the labels napari-viv wrote."""
    from napari_viv.write.writer import export_pyramid
    from napari_viv.write.zarrlabels import LabelImage

    pytest.importorskip("napari_ome_zarr", reason="pip install napari-ome-zarr to judge interoperation")
    ids = _label_ids((200, 300)).astype(np.uint16)
    colors = {4: (255, 0, 0, 255), 60000: (0, 0, 255, 255)}
    store = export_pyramid(
        reference_pixels((2, 200, 300)), tmp_path / "s.ome.zarr", ngff=ngff, labels=[LabelImage("n", ids, "YX", colors)]
    ).image
    viewer = make_napari_viewer()
    (lab,) = [layer for layer in viewer.open(str(store), plugin="napari-ome-zarr") if type(layer).__name__ == "Labels"]
    level0 = lab.data[0] if lab.multiscale else lab.data
    np.testing.assert_array_equal(np.asarray(level0), ids)
    np.testing.assert_allclose(lab.colormap.map(np.array([4, 60000])), [[1, 0, 0, 1], [0, 0, 1, 1]], atol=1 / 255)


def test_the_save_dialog_offers_the_zarr_filter_for_a_scene(make_napari_viewer):
    from napari.plugins._npe2 import file_extensions_string_for_layers

    viewer = make_napari_viewer()
    layers = [viewer.add_image(np.zeros((64, 64), np.uint16)), viewer.add_labels(np.zeros((64, 64), np.uint8))]
    filters, _writers = file_extensions_string_for_layers(layers)
    assert "napari-viv OME-Zarr for Viv (*.ome.zarr *.zarr)" in filters.split(";;")
