"""The view file: written beside exports that carry a look, read back by open_image."""

import json

import numpy as np
import pytest

from napari_viv import ImageMetadata, export_pyramid, open_image
from napari_viv.viewfile import apply_view, view_document


def test_export_with_a_look_writes_a_view_file_that_open_image_reads_back(tmp_path):
    md = ImageMetadata(
        channel_names=["DAPI", "CD8"],
        channel_colors=[(0, 0, 255), (0, 255, 0)],
        contrast_limits=[(10, 900), (5, 2000.5)],
        channel_visible=[True, False],
        channel_gamma=[1.0, 0.8],
        camera={"center": (300, 200), "zoom": -1},
    )
    result = export_pyramid(np.zeros((2, 600, 600), np.uint16), tmp_path / "x", metadata=md)
    assert result.view == tmp_path / "x.view.json" and result.paths[-1] == result.view
    doc = json.loads(result.view.read_text())
    assert doc == {
        "version": 1,
        "channels": [
            {"name": "DAPI", "color": [0, 0, 255], "contrast_limits": [10, 900], "visible": True},
            {"name": "CD8", "color": [0, 255, 0], "contrast_limits": [5, 2000.5], "visible": False, "gamma": 0.8},
        ],
        "camera": {"center": [300, 200], "zoom": -1.0},
    }
    back = open_image(result.image).metadata
    assert back.channel_colors == [(0, 0, 255), (0, 255, 0)]
    assert back.contrast_limits == [(10.0, 900.0), (5.0, 2000.5)]
    assert back.channel_visible == [True, False]
    assert back.channel_gamma == [None, 0.8]
    assert back.camera == {"center": (300.0, 200.0), "zoom": -1.0}


def test_no_look_no_view_file_and_overwrite_removes_a_stale_one(tmp_path):
    a = np.zeros((2, 300, 300), np.uint16)
    first = export_pyramid(a, tmp_path / "x", channel_colors=[(255, 0, 0), (0, 255, 0)])
    assert first.view.is_file()
    again = export_pyramid(a, tmp_path / "x", channel_names=["a", "b"], overwrite=True)
    assert again.view is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.offsets.json", "x.ome.tif"]


def test_a_stale_view_file_blocks_an_export_without_overwrite(tmp_path):
    (tmp_path / "x.view.json").write_text("{}")
    with pytest.raises(Exception, match="x.view.json: already exists"):
        export_pyramid(np.zeros((64, 64), np.uint8), tmp_path / "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.view.json"]


def test_rgb_exports_write_no_channel_look(tmp_path):
    rgb = np.zeros((300, 300, 3), np.uint8)
    assert export_pyramid(rgb, tmp_path / "rgb", channel_colors=[(1, 2, 3)]).view is None


def test_bad_fields_are_dropped_one_by_one():
    md = ImageMetadata(axes="CYX", channel_names=["a", "b"])
    doc = {
        "version": 1,
        "channels": [
            {"color": [255, 0], "contrast_limits": [5, 1], "visible": "yes", "gamma": -1},
            {"color": [0, 255, 0], "contrast_limits": [0, 10], "visible": False, "name": "other"},
        ],
        "camera": {"center": [1], "zoom": 2},
    }
    out = apply_view(md, doc, 2)
    assert out.channel_colors == [None, (0, 255, 0)]
    assert out.contrast_limits is None  # only one channel had valid limits: keep computing them
    assert out.channel_visible == [None, False]
    assert out.channel_gamma is None and out.camera is None
    assert out.channel_names == ["a", "b"]  # the image's own names win
    assert view_document(ImageMetadata(channel_names=["a"]), 1) is None


def test_a_camera_with_a_visible_field_round_trips(tmp_path):
    md = ImageMetadata(channel_colors=[(255, 0, 0)], camera={"center": (100.5, 80), "extent": (300, 200.25)})
    result = export_pyramid(np.zeros((1, 400, 400), np.uint16), tmp_path / "x", metadata=md)
    doc = json.loads(result.view.read_text())
    assert doc["camera"] == {"center": [100.5, 80], "extent": [300, 200.25]}
    assert open_image(result.image).metadata.camera == {"center": (100.5, 80.0), "extent": (300.0, 200.25)}
    # an unusable extent alone is no camera; with a zoom, the zoom stays
    assert apply_view(md, {"version": 1, "camera": {"center": [1, 2], "extent": [0, 5]}}, 1).camera is None
    kept = apply_view(md, {"version": 1, "camera": {"center": [1, 2], "extent": [-1, 5], "zoom": 1}}, 1)
    assert kept.camera == {"center": (1.0, 2.0), "zoom": 1.0}
