"""synthetic_tissue(): shape, metadata, determinism, laziness and plausible content."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv.metadata import MICROMETRE
from napari_viv.sample import synthetic_tissue


def test_small_is_numpy_with_metadata():
    arr, meta = synthetic_tissue(512, 6)
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (6, 512, 512) and arr.dtype == np.uint16
    assert meta.axes == "CYX"
    assert meta.channel_names[:4] == ["DAPI", "CD3", "CD8", "PanCK"]
    assert len(set(meta.channel_names)) == 6
    assert len(meta.channel_colors) == 6
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in meta.channel_colors)
    assert meta.physical_sizes["x"] == meta.physical_sizes["y"] > 0
    assert meta.unit == MICROMETRE


def test_same_seed_same_pixels_other_seed_other_pixels():
    a, _ = synthetic_tissue(256, 3, seed=1)
    b, _ = synthetic_tissue(256, 3, seed=1)
    c, _ = synthetic_tissue(256, 3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert np.mean(a != c) > 0.5


def test_lazy_equals_eager_across_block_edges():
    eager, _ = synthetic_tissue(1300, 2, seed=5, lazy=False)
    lazy, _ = synthetic_tissue(1300, 2, seed=5, lazy=True)
    assert not isinstance(lazy, np.ndarray)
    assert lazy.chunksize == (1, 512, 1300)
    np.testing.assert_array_equal(lazy[:, 1000:1100, 990:1060].compute(), eager[:, 1000:1100, 990:1060])
    np.testing.assert_array_equal(lazy.compute(), eager)


def test_big_is_lazy_and_a_block_renders_alone():
    arr, meta = synthetic_tissue(100_000, 7)
    assert arr.shape == (7, 100_000, 100_000)
    assert meta.channel_names[6] == "FoxP3"
    assert arr.numblocks == (7, 196, 49)
    block = arr.blocks[6, 100, 25].compute()
    assert block.shape == (1, 512, 2048)
    assert block.std() > 0


def test_content_is_tissue_like():
    arr, meta = synthetic_tissue(1024, 4, seed=0)
    dapi = arr[0].astype(float)
    # nuclei: a bright minority of pixels well above the background
    background = np.percentile(dapi, 20)
    bright = dapi > background + 800
    assert 0.05 < bright.mean() < 0.6
    # every channel has structure and noise; none saturates
    for c in range(4):
        plane = arr[c]
        assert plane.max() < np.iinfo(np.uint16).max
        assert np.percentile(plane, 99.5) > 2 * np.percentile(plane, 50)
    # markers differ from each other (not the same image repeated)
    corr = np.corrcoef(arr.reshape(4, -1).astype(float))
    assert corr[1, 3] < 0.9 and corr[0, 2] < 0.9
    # shot noise: neighbouring pixels differ
    assert np.mean(np.diff(arr[0], axis=1) != 0) > 0.5


@pytest.mark.parametrize("dtype", ["uint8", "float32", "int16"])
def test_other_dtypes(dtype):
    arr, _ = synthetic_tissue(128, 2, dtype=dtype)
    assert arr.dtype == np.dtype(dtype)
    assert arr.min() >= 0 and arr.max() > 0
    if dtype == "uint8":
        assert arr.max() <= 255


def test_extra_channels_get_names_and_colors():
    arr, meta = synthetic_tissue(64, 12)
    assert arr.shape[0] == 12
    assert meta.channel_names[-1] == "Marker 12"
    assert len(meta.channel_colors) == 12


@pytest.mark.parametrize("kwargs", [dict(size=0), dict(channels=0), dict(dtype="complex64")])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        synthetic_tissue(**{"size": 64, **kwargs})
