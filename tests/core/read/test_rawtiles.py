"""Uncompressed tiled TIFFs are read tile by tile from the file (read/rawtiles.py).

Every read is compared with tifffile's own decoding of the same file; files
that are not plain tiles keep tifffile's Zarr store.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from helpers.testdata import rand

from napari_viv.read import open_image
from napari_viv.read.rawtiles import RawTiles
from napari_viv.write.writer import export_pyramid


def _windows(shape, rng, n=25):
    """Random windows (a slice per axis), some at the edges, some a single pixel."""
    out = []
    for i in range(n):
        key = []
        for size in shape:
            a = int(rng.integers(0, size))
            b = size if i % 5 == 0 else int(rng.integers(a + 1, size + 1))
            key.append(slice(a, a + 1) if i % 7 == 3 else slice(a, b))
        out.append(tuple(key))
    return out


@pytest.mark.parametrize(
    "shape, dtype, kwargs",
    [
        ((3, 300, 410), "uint16", {"photometric": "minisblack"}),  # edge tiles in both directions
        ((2, 64, 96), "float32", {}),
        ((2, 3, 100, 130), "int16", {"byteorder": ">", "photometric": "minisblack"}),  # big-endian, 2 leading axes
        ((200, 150, 3), "uint8", {"photometric": "rgb"}),  # interleaved samples
    ],
)
def test_any_window_reads_as_tifffile_decodes_it(tmp_path, shape, dtype, kwargs):
    path = tmp_path / "t.tif"
    data = rand(shape, dtype)
    tifffile.imwrite(path, data, tile=(64, 48), **kwargs)
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        assert RawTiles.takes(tif, series)
        tiles = RawTiles(path, series)
        expected = series.asarray()
    assert tiles.shape == expected.shape and tiles.dtype == expected.dtype.newbyteorder("=")
    assert tiles.dtype.isnative
    for key in _windows(tiles.shape, np.random.default_rng(1)):
        np.testing.assert_array_equal(tiles[key], expected[key])
    tiles.close()


def test_without_positioned_reads_tiles_are_read_after_a_seek(tmp_path, monkeypatch):
    """Where os.preadv is missing (Windows), each tile is read after a seek, under the lock."""
    import os

    monkeypatch.delattr(os, "preadv", raising=False)
    path = tmp_path / "t.tif"
    data = rand((2, 150, 130), "uint16")
    tifffile.imwrite(path, data, tile=(64, 48), photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        tiles = RawTiles(path, tif.series[0])
    for key in _windows(tiles.shape, np.random.default_rng(2)):
        np.testing.assert_array_equal(tiles[key], data[key])
    tiles.close()


def test_files_whose_tiles_differ_in_shape_but_not_in_bytes_read_in_turn(tmp_path):
    """One thread's scratch tile serves every file; 64 x 48 and 48 x 64 tiles must not share it."""
    a, b = rand((150, 130), "uint16", seed=1), rand((150, 130), "uint16", seed=2)
    tifffile.imwrite(tmp_path / "a.tif", a, tile=(64, 48))
    tifffile.imwrite(tmp_path / "b.tif", b, tile=(48, 64))
    with tifffile.TiffFile(tmp_path / "a.tif") as ta, tifffile.TiffFile(tmp_path / "b.tif") as tb:
        first, second = RawTiles(tmp_path / "a.tif", ta.series[0]), RawTiles(tmp_path / "b.tif", tb.series[0])
    for _ in range(2):
        np.testing.assert_array_equal(first[:, :], a)
        np.testing.assert_array_equal(second[:, :], b)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"compression": "zlib"},
        {"predictor": True, "compression": "zlib"},
        {"rowsperstrip": 64},  # strips, not tiles
        {"photometric": "rgb", "planarconfig": "separate"},
    ],
)
def test_other_layouts_keep_tifffiles_store(tmp_path, kwargs):
    path = tmp_path / "t.tif"
    shape = (3, 100, 130) if kwargs.get("planarconfig") else (100, 130)
    data = rand(shape, "uint8")
    extra = {} if "rowsperstrip" in kwargs else {"tile": (32, 32)}
    tifffile.imwrite(path, data, **extra, **kwargs)
    with tifffile.TiffFile(path) as tif:
        assert not RawTiles.takes(tif, tif.series[0])
    expected = np.moveaxis(data, 0, -1) if data.ndim == 3 else data  # RGB planes come out as samples last
    np.testing.assert_array_equal(np.asarray(open_image(path).levels[0]), expected)


def test_a_tiled_pyramid_opens_lazily_and_streams_the_same_pixels(tmp_path, monkeypatch):
    """open_image's dask levels (napari) and streaming levels (export) both read the tiles."""
    path = tmp_path / "pyr.ome.tif"
    data = rand((2, 700, 520), "uint16")
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        tw.write(data, tile=(256, 256), subifds=1, metadata={"axes": "CYX"})
        tw.write(data[:, ::2, ::2], tile=(256, 256), subfiletype=1)
    reads = []  # every read goes through the tiles' reader, not tifffile's store
    read = RawTiles.__getitem__
    monkeypatch.setattr(RawTiles, "__getitem__", lambda self, key: reads.append(key) or read(self, key))
    for streaming in (False, True):
        image = open_image(path, streaming=streaming)
        assert [tuple(lv.shape) for lv in image.levels] == [(2, 700, 520), (2, 350, 260)]
        before = len(reads)
        np.testing.assert_array_equal(np.asarray(image.levels[0][1, 100:613, 7:519]), data[1, 100:613, 7:519])
        np.testing.assert_array_equal(np.asarray(image.levels[1][:, :, :]), data[:, ::2, ::2])
        assert len(reads) > before


def test_export_from_uncompressed_tiles_equals_export_from_the_array(tmp_path):
    data = rand((3, 600, 700), "uint16")
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, data, tile=(128, 128), metadata={"axes": "CYX"})
    image = open_image(src, streaming=True)
    a = export_pyramid(image.levels[0], tmp_path / "a.ome.tif", metadata=image.metadata, tile_size=256)
    b = export_pyramid(data, tmp_path / "b.ome.tif", tile_size=256)
    with tifffile.TiffFile(a.image) as ta, tifffile.TiffFile(b.image) as tb:
        for la, lb in zip(ta.series[0].levels, tb.series[0].levels, strict=True):
            np.testing.assert_array_equal(la.asarray(), lb.asarray())


def test_a_file_cut_inside_a_tile_is_refused_by_name(tmp_path):
    from napari_viv.errors import NapariVivError

    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, rand((256, 256), "uint16"), tile=(128, 128))
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.raises(NapariVivError, match="cut.tif"):
        np.asarray(open_image(path, streaming=True).levels[0][:, :])
