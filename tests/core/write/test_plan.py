"""plan_pyramid: level shapes, level counts, tile sizes, totals, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv.errors import NapariVivError
from napari_viv.write.plan import plan_pyramid


def test_auto_levels_halve_until_one_tile():
    p = plan_pyramid((7, 12480, 17280), "uint16", tile_size=512)
    h, w, expect = 12480, 17280, []
    while True:
        expect.append((h, w))
        if max(h, w) <= 512:
            break
        h, w = h // 2, w // 2
    assert p.level_shapes == expect
    assert p.axes == "CYX" and p.nplanes == 7 and p.dtype == np.uint16


def test_auto_levels_never_make_a_zero_side():
    p = plan_pyramid((3, 5000), "uint8", tile_size=16)
    assert all(min(s) >= 1 for s in p.level_shapes)
    assert p.level_shapes == [(3, 5000), (1, 2500)]  # 1 cannot be halved again


def test_explicit_levels():
    assert len(plan_pyramid((1000, 1000), "uint8", levels=1).level_shapes) == 1
    p = plan_pyramid((1000, 1001), "uint8", levels=4)
    assert p.level_shapes == [(1000, 1001), (500, 500), (250, 250), (125, 125)]
    with pytest.raises(NapariVivError, match="at least 1"):
        plan_pyramid((100, 100), "uint8", levels=0)
    with pytest.raises(NapariVivError, match="side of 0"):
        plan_pyramid((100, 100), "uint8", levels=8)  # 100 -> ... -> 1 -> 0
    assert len(plan_pyramid((100, 100), "uint8", levels=7).level_shapes) == 7
    with pytest.raises(NapariVivError, match="whole number"):
        plan_pyramid((100, 100), "uint8", levels=2.5)


@pytest.mark.parametrize("bad", [0, 8, 100, 384, 513, "x"])
def test_tile_size_validation(bad):
    with pytest.raises(NapariVivError, match="tile size"):
        plan_pyramid((100, 100), "uint8", tile_size=bad)


def test_ntiles_and_rgb():
    p = plan_pyramid((2, 3, 4, 1000, 700), "float32", tile_size=256)
    assert p.axes == "TCZYX" and p.nplanes == 24
    per_plane = 0
    for h, w in ((1000, 700), (500, 350), (250, 175)):
        per_plane += -(-h // 256) * -(-w // 256)
    assert p.ntiles == 24 * per_plane
    rgb = plan_pyramid((600, 800, 3), "uint8", tile_size=256)
    assert rgb.axes == "YXS" and rgb.nplanes == 1 and rgb.sizes["C"] == 3
    assert rgb.estimated_bytes() > 0


def test_estimate_grows_with_data():
    small = plan_pyramid((1, 1000, 1000), "uint16").estimated_bytes()
    big = plan_pyramid((4, 1000, 1000), "uint16").estimated_bytes()
    raw = plan_pyramid((4, 1000, 1000), "uint16", compression="none").estimated_bytes()
    assert small < big < raw
    assert raw >= 4 * 1000 * 1000 * 2  # at least level 0 uncompressed


def test_dtype_conversions_in_plan():
    assert plan_pyramid((10, 10), bool).dtype == np.uint8
    assert plan_pyramid((10, 10), np.float16).dtype == np.float32
    assert plan_pyramid((10, 10), ">i2").dtype == np.dtype("<i2")
    with pytest.raises(NapariVivError, match="int64"):
        plan_pyramid((10, 10), np.int64)


def test_numbers_given_as_text():
    p = plan_pyramid((1000, 1000), "uint8", tile_size="256", levels="3")
    assert p.tile_size == 256 and len(p.level_shapes) == 3
    assert len(plan_pyramid((1000, 1000), "uint8", levels="AUTO").level_shapes) == 2
    for bad in ("three", "2.5", True):
        with pytest.raises(NapariVivError, match="levels"):
            plan_pyramid((100, 100), "uint8", levels=bad)
