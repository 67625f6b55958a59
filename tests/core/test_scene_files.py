"""The scene's files beside an export: named by naming.py, served beside the image."""

from __future__ import annotations

import urllib.request

import numpy as np

from napari_viv import RangeServer, export_pyramid
from napari_viv.naming import features_path, labels_path, sidecar_paths
from napari_viv.scene.features import features_bytes, read_features, shape_geometry, write_features


def test_the_features_sidecar_and_label_pyramids_are_served_beside_the_image(tmp_path):
    image = export_pyramid(np.zeros((64, 64), np.uint16), tmp_path / "x", channel_colors=[(255, 0, 0)]).image
    feature = {"type": "Feature", "geometry": shape_geometry("line", [(1, 2), (3, 4)]), "properties": {"layer": 0}}
    write_features(features_path(image), features_bytes([{"name": "a", "type": "shapes"}], [feature]))
    export_pyramid(np.ones((64, 64), np.uint8), labels_path(image, 0), downsample="nearest")
    assert labels_path(image, 0) in sidecar_paths(image) and features_path(image) in sidecar_paths(image)
    assert read_features(features_path(image))["features"] == [feature]
    with RangeServer([image]) as server:
        for path in (features_path(image), labels_path(image, 0)):
            with urllib.request.urlopen(server.url_for(path), timeout=10) as response:
                assert response.status == 200 and response.read() == path.read_bytes()
