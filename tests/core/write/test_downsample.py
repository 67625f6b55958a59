"""downsample.halve against an independent float64 computation."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv.write.downsample import halve


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
