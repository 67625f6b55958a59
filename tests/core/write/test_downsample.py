"""downsample.halve and LevelRows against an independent float64 computation."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.testdata import rand

from napari_viv.write.downsample import LevelRows, halve


def reference_mean(a):
    h, w = a.shape[0] // 2, a.shape[1] // 2
    b = a[: 2 * h, : 2 * w].astype(np.float64)
    s = (b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]) / 4
    return np.floor(s + 0.5) if np.issubdtype(a.dtype, np.integer) else s


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32"])
def test_integer_mean_rounds_half_up_without_overflow(dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(0)
    a = rng.integers(info.min, info.max, (37, 51), dtype=dtype, endpoint=True)
    a[:2, :2] = info.max  # a sum that overflows the dtype itself
    a[2:4, :2] = info.min
    got = halve(a)
    assert got.dtype == a.dtype and got.shape == (18, 25)
    np.testing.assert_array_equal(got, reference_mean(a).astype(dtype))
    assert got[0, 0] == info.max and got[1, 0] == info.min


def test_half_cases():
    a = np.array([[1, 2], [2, 1]], np.uint8)  # mean 1.5 -> 2
    assert halve(a)[0, 0] == 2
    b = np.array([[-1, -2], [-2, -1]], np.int8)  # mean -1.5 -> -1 (half up)
    assert halve(b)[0, 0] == -1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_mean(dtype):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((21, 30)) * 1e6).astype(dtype)
    got = halve(a)
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, reference_mean(a).astype(dtype))


def test_nearest_and_rgb():
    a = np.arange(7 * 9 * 3, dtype=np.uint16).reshape(7, 9, 3)
    np.testing.assert_array_equal(halve(a, "nearest"), a[0:6:2, 0:8:2])
    got = halve(a)
    assert got.shape == (3, 4, 3)
    for s in range(3):
        np.testing.assert_array_equal(got[..., s], reference_mean(a[..., s]))
    with pytest.raises(ValueError):
        halve(a, "cubic")


def test_tiny_inputs():
    assert halve(np.zeros((1, 5), np.uint8)).shape == (0, 2)
    assert halve(np.zeros((2, 2), np.float32)).shape == (1, 1)


@pytest.mark.parametrize("shape", [(131, 99), (67, 45, 3)])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32"])
def test_strips_and_out_give_the_same_means(monkeypatch, dtype, shape):
    """Many strips with a short last one, and a strided ``out``, change nothing."""
    import napari_viv.write.downsample as ds

    a = rand(shape, dtype, seed=3)
    expected = np.stack([reference_mean(a[..., s]) for s in range(3)], -1) if len(shape) == 3 else reference_mean(a)
    monkeypatch.setattr(ds, "STRIP_BYTES", 7 * a.shape[1] * 4)  # a few output rows per strip
    np.testing.assert_array_equal(halve(a), expected.astype(dtype))
    wider = np.full((shape[0] // 2 + 3, shape[1] // 2 + 5) + shape[2:], 7, dtype)
    got = halve(a, out=wider[1:-2, 2:-3])
    assert got.base is wider or got.base is wider.base
    np.testing.assert_array_equal(wider[1:-2, 2:-3], expected.astype(dtype))
    assert (wider[0] == 7).all() and (wider[-2:] == 7).all() and (wider[:, :2] == 7).all()
    near = np.zeros_like(wider[1:-2, 2:-3])
    h, w = shape[0] // 2 * 2, shape[1] // 2 * 2
    np.testing.assert_array_equal(halve(a, "nearest", out=near), a[0:h:2, 0:w:2])


def _assemble(level, above, block, tile):
    """Feed ``above`` to ``level`` in passes of ``tile`` rows by ``block`` columns.

    Returns the level as put together from the chunks handed back, and the
    (row, column) of every chunk.
    """
    got = np.zeros((level.height, level.width), above.dtype)
    where = []
    for y in range(0, above.shape[0], tile):
        band = above[y : y + tile]
        for x in range(0, above.shape[1], block):
            y0 = level.y  # the tile row being filled
            for cx, chunk in level.put(band[:, x : x + block], x, x + block >= above.shape[1]):
                got[y0 : y0 + chunk.shape[0], cx : cx + chunk.shape[1]] = chunk
                where.append((y0, cx))
    return got, where


@pytest.mark.parametrize(("block", "chunk"), [(64, 32), (64, 64), (96, 64), (250, 16)])
def test_level_rows_assemble_the_halved_level(block, chunk):
    """Blocks that fill one chunk, half of one, or straddle chunks all give the 2x2 means."""
    tile = 16
    above = rand((75, 250), "uint16", seed=5)
    level = LevelRows((37, 125), tile, np.uint16, chunk=chunk)
    assert level.chunk == max(tile, chunk // tile * tile)
    got, where = _assemble(level, above, block, tile)
    np.testing.assert_array_equal(got, reference_mean(above).astype(np.uint16))
    per_row = -(-125 // level.chunk)
    expected = [(y, k * level.chunk) for y in (0, 16, 32) for k in range(per_row)]
    assert where == expected  # every chunk handed back once, in order, when its tile row was complete
    assert level.buffers == {}
