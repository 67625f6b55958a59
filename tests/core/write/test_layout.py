"""layout: default axes, canonical order, RGB rule, dtype rule."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv.errors import NapariVivError
from napari_viv.write.layout import convert_band, default_axes, output_dtype, resolve_layout


def test_default_axes():
    assert default_axes((10, 20), "uint16") == "YX"
    assert default_axes((3, 10, 20), "uint16") == "CYX"
    assert default_axes((10, 20, 3), "uint8") == "YXS"
    assert default_axes((10, 20, 3), "uint16") == "CYX"
    assert default_axes((2, 3, 10, 20), "uint8") == "CZYX"
    assert default_axes((1, 2, 3, 10, 20), "uint8") == "TCZYX"
    with pytest.raises(NapariVivError, match="axes"):
        default_axes((1, 1, 1, 1, 1, 1), "uint8")


def test_canonical_order_and_band_transpose():
    lay = resolve_layout((5, 20, 3, 10, 2), "uint16", "ZXCYT")
    assert lay.axes == "TCZYX" and lay.shape == (2, 3, 5, 10, 20)
    src = np.arange(5 * 20 * 3 * 10 * 2).reshape(5, 20, 3, 10, 2)
    band = src[lay.plane_index({"T": 1, "C": 2, "Z": 4}, slice(3, 7))]
    band = band.transpose(lay.band_order())
    canon = src.transpose(4, 2, 0, 3, 1)
    np.testing.assert_array_equal(band, canon[1, 2, 4, 3:7])


@pytest.mark.parametrize(
    "shape,axes,match",
    [
        ((10, 20), "YXC", "do not match"),
        ((10, 20), "YQ", "unknown axis"),
        ((3, 10, 20), "YYX", "repeated"),
        ((3, 10, 20), "CZY", "Y and X"),
        ((0, 10), "YX", "empty"),
        ((2, 10, 20, 3), "CYXS", "both a C axis"),
    ],
)
def test_bad_axes(shape, axes, match):
    with pytest.raises(NapariVivError, match=match):
        resolve_layout(shape, "uint16", axes, what="layer 'x'")


def test_rgb_rule():
    assert resolve_layout((10, 20, 3), "uint8", "YXS").rgb
    assert resolve_layout((1, 10, 20, 3), "uint8", "TYXS").rgb  # size-1 T is dropped
    for shape, dtype, axes in (
        ((10, 20, 4), "uint8", "YXS"),
        ((10, 20, 3), "uint16", "YXS"),
        ((2, 10, 20, 3), "uint8", "TYXS"),
    ):
        lay = resolve_layout(shape, dtype, axes)
        assert not lay.rgb and "C" in lay.axes
        assert lay.shape[lay.axes.index("C")] == shape[-1]
    assert resolve_layout((10, 20, 3), bool, "YXS").rgb  # bool -> uint8 RGB


def test_dtype_rule():
    assert output_dtype(bool) == np.uint8
    assert output_dtype(np.float16) == np.float32
    assert output_dtype(">f8") == np.dtype("<f8")
    for bad in (np.int64, np.uint64, np.complex64, "U3"):
        with pytest.raises(NapariVivError):
            output_dtype(bad)
    b = np.array([[True, False]])
    np.testing.assert_array_equal(convert_band(b, output_dtype(bool)), [[255, 0]])


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_rgb_that_is_not_8_bit_becomes_red_green_blue_channels(tmp_path, dtype):
    import json

    from napari_viv import export_pyramid, open_image

    rgb = np.zeros((96, 128, 3), dtype)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 4095, 100, 7
    result = export_pyramid(rgb, tmp_path / "rgb", axes="YXS")
    md = open_image(result.image).metadata
    assert md.axes == "CYX" and md.channel_names == ["Red", "Green", "Blue"]
    assert md.channel_colors == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    view = json.loads(result.view.read_text())
    assert [c["color"] for c in view["channels"]] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    # colours the caller gives win; 8-bit RGB stays interleaved with no channel look
    own = export_pyramid(rgb, tmp_path / "own", axes="YXS", channel_colors=[(1, 2, 3)] * 3)
    assert open_image(own.image).metadata.channel_colors == [(1, 2, 3)] * 3
    assert export_pyramid(rgb.astype(np.uint8), tmp_path / "u8", axes="YXS").view is None
