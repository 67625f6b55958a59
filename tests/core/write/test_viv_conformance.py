"""Files from export_pyramid, loaded by the real Viv loader (@vivjs/loaders 0.21).

For each export the loader must report the level count, per-level shapes
(``size >> level``), tile size, dtype, channel names and physical sizes we
wrote, and every level/plane raster must hash the same as tifffile's pixels,
with and without offsets.json.
"""

from __future__ import annotations

import pytest
from helpers import testdata
from helpers.vivjs import assert_viv_matches_tifffile, plane_digest

from napari_viv.write.writer import export_pyramid

pytestmark = pytest.mark.node

VIV_DTYPES = {
    "uint8": "Uint8",
    "uint16": "Uint16",
    "uint32": "Uint32",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "float32": "Float32",
    "float64": "Float64",
}


def rand(shape, dtype):
    return testdata.rand(shape, dtype, seed=1, spread=100)


def check(viv, path, offsets, *, names, dtype, physical=None, rgb=False):
    """What the loader shows of ``path`` is the file's (see
    assert_viv_matches_tifffile), with the dtype, names, interleaving and
    physical sizes we wrote."""
    reports = assert_viv_matches_tifffile(viv, path, offsets)
    for rep in reports:
        (img,) = rep["images"]
        assert img["type"] == {"float32": "float", "float64": "double"}.get(dtype, dtype)
        assert [c["name"] for c in img["channels"]] == names
        assert img["interleaved"] is rgb
        if physical:
            assert img["physical"]["x"] == pytest.approx(physical["x"])
            assert img["physical"]["y"] == pytest.approx(physical["y"])
            assert img["physical"]["xUnit"] == "\u00b5m"
        assert all(vlev["dtype"] == VIV_DTYPES[dtype] for vlev in img["levels"])
    return reports[0]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint32", "int32", "float32", "float64"])
def test_dtypes(viv, tmp_path, dtype):
    a = rand((2, 150, 133), dtype)
    tif, js = export_pyramid(a, tmp_path / f"{dtype}.ome.tif", tile_size=64, channel_names=["one", "two"]).paths[:2]
    check(viv, tif, js, names=["one", "two"], dtype=dtype)


def test_uint16_odd_sizes_names_units(viv, tmp_path):
    a = rand((3, 1001, 777), "uint16")
    names = ['a<&"', "b'", "Ki-67 µ"]
    tif, js = export_pyramid(
        a,
        tmp_path / "odd.ome.tif",
        tile_size=256,
        channel_names=names,
        physical_sizes={"x": 0.325, "y": 0.65},
        unit="um",
    ).paths[:2]
    rep = check(viv, tif, js, names=names, dtype="uint16", physical={"x": 0.325, "y": 0.65})
    assert len(rep["images"][0]["levels"]) == 3  # 1001x777 -> 500 -> 250 (<= 256)


@pytest.mark.parametrize("tile,levels", [(128, "auto"), (512, 2), (1024, 1)])
def test_tile_sizes_and_level_counts(viv, tmp_path, tile, levels):
    a = rand((1, 700, 1100), "uint16")
    tif, js = export_pyramid(a, tmp_path / f"t{tile}.ome.tif", axes="CYX", tile_size=tile, levels=levels).paths[:2]
    check(viv, tif, js, names=["Channel 0"], dtype="uint16")


def test_tczyx_non_default_order(viv, tmp_path):
    canon = rand((2, 2, 3, 90, 110), "uint16")
    src = canon.transpose(3, 2, 0, 4, 1)  # Y Z T X C
    tif, js = export_pyramid(
        src, tmp_path / "tczyx.ome.tif", axes="YZTXC", tile_size=32, channel_names=["c0", "c1"]
    ).paths[:2]
    rep = check(viv, tif, js, names=["c0", "c1"], dtype="uint16")
    img = rep["images"][0]
    assert img["sizes"] == {"x": 110, "y": 90, "z": 3, "c": 2, "t": 2}
    # Viv's (t, c, z) selection returns the source plane with those indices
    for vp in img["levels"][0]["planes"]:
        assert vp["sha256"] == plane_digest(canon[vp["t"], vp["c"], vp["z"]])


@pytest.mark.parametrize("compression", ["zlib", "none"])
def test_rgb(viv, tmp_path, compression):
    a = rand((300, 257, 3), "uint8")
    tif, js = export_pyramid(a, tmp_path / f"rgb_{compression}.ome.tif", tile_size=64, compression=compression).paths[
        :2
    ]
    rep = check(viv, tif, js, names=["RGB"], dtype="uint8", rgb=True)
    assert rep["images"][0]["channels"][0]["samplesPerPixel"] == 3


@pytest.mark.parametrize("compression", ["lzw", "none", "zlib:9"])
def test_codecs(viv, tmp_path, compression):
    a = rand((2, 200, 180), "uint16")
    f = rand((1, 200, 180), "float64")
    tif, js = export_pyramid(a, tmp_path / "u.ome.tif", tile_size=64, compression=compression).paths[:2]
    check(viv, tif, js, names=["Channel 0", "Channel 1"], dtype="uint16")
    tif, js = export_pyramid(f, tmp_path / "f.ome.tif", tile_size=64, compression=compression).paths[:2]
    check(viv, tif, js, names=["Channel 0"], dtype="float64")


def test_converted_dtypes(viv, tmp_path):
    b = rand((2, 100, 90), "bool")
    tif, js = export_pyramid(b, tmp_path / "bool.ome.tif", tile_size=32).paths[:2]
    check(viv, tif, js, names=["Channel 0", "Channel 1"], dtype="uint8")
    h = rand((100, 90), "float16")
    tif, js = export_pyramid(h, tmp_path / "half.ome.tif", tile_size=32).paths[:2]
    check(viv, tif, js, names=["Channel 0"], dtype="float32")
