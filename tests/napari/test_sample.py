"""The sample: File > Open Sample > napari-viv > Synthetic multiplexed tissue."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_viv.sample import PANEL, synthetic_tissue

pytestmark = pytest.mark.napari


def test_sample_opens_as_named_coloured_multiscale_channels(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-viv", "tissue")

    layers = list(viewer.layers)
    assert [layer.name for layer in layers] == [name for name, _ in PANEL[:6]]
    for layer, (_, color) in zip(layers, PANEL, strict=False):
        end = np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)
        assert tuple(int(v) for v in end) == color
        assert layer.multiscale
        assert all(isinstance(level, da.Array) for level in layer.data[1:])
        shapes = [tuple(level.shape) for level in layer.data]
        assert shapes[-1][0] <= 512
        assert all(b == (a[0] // 2, a[1] // 2) for a, b in zip(shapes, shapes[1:], strict=False))
        assert [format(u, "~") for u in layer.units] == ["\u00b5m", "\u00b5m"]
        np.testing.assert_allclose(layer.scale, [0.5, 0.5])
        assert layer.blending == "additive"


def test_sample_levels_are_2x2_means_of_the_tissue():
    from napari_viv._napari.sample import make_sample

    ((data, meta, kind),) = make_sample(size=1024, channels=2)
    assert kind == "image" and meta["name"] == ["DAPI", "CD3"]
    tissue, _ = synthetic_tissue(1024, 2)
    np.testing.assert_array_equal(np.asarray(data[0]), tissue)
    window = tissue[:, 64:128, 256:320].astype(np.float64)
    expected = window.reshape(2, 32, 2, 32, 2).mean(axis=(2, 4))
    got = np.asarray(data[1][:, 32:64, 128:160])
    np.testing.assert_array_equal(got, np.round(expected).astype(np.uint16))
