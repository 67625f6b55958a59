"""Halve a band of rows: 2x2 block mean or nearest (top-left) sample.

Odd sizes drop the last row/column (floor), matching Viv's ``size >> 1``.
The mean of integers is rounded half up, computed in a wider integer type
so it never overflows; floats are averaged in float64. RGB bands
(Y, X, S) are reduced per sample.
"""

from __future__ import annotations

import numpy as np

METHODS = ("mean", "nearest")

# Accumulator per integer dtype: wide enough for the sum of 4 values.
_WIDER = {
    "uint8": np.uint16,
    "int8": np.int16,
    "uint16": np.uint32,
    "int16": np.int32,
    "uint32": np.uint64,
    "int32": np.int64,
}


def halve(band: np.ndarray, method: str = "mean") -> np.ndarray:
    """Return ``band`` (Y, X[, S]) reduced by 2 in Y and X."""
    h, w = band.shape[0] // 2, band.shape[1] // 2
    if method == "nearest":
        return np.ascontiguousarray(band[: 2 * h : 2, : 2 * w : 2])
    if method != "mean":
        raise ValueError(f"unknown downsample method {method!r}; use 'mean' or 'nearest'")
    a = band[: 2 * h, : 2 * w]
    dt = band.dtype
    if dt.kind == "f":  # summed in this order: a[0,0] + a[1,0] + a[0,1] + a[1,1]
        acc = a[0::2, 0::2].astype(np.float64)
        acc += a[1::2, 0::2]
        acc += a[0::2, 1::2]
        acc += a[1::2, 1::2]
        acc *= 0.25
        return acc.astype(dt)
    # Integers: pairs of whole rows first (contiguous, fast), then pairs of
    # columns; the sum is exact in the wider type, so the order is free.
    rows = np.add(a[0::2], a[1::2], dtype=_WIDER[dt.newbyteorder("=").name])
    acc = rows[:, 0::2] + rows[:, 1::2]
    acc += 2
    # An arithmetic shift is a floor division by 4, rounding toward -inf, so
    # (s + 2) >> 2 is round-half-up for negative sums as well.
    out = np.empty(acc.shape, dt)
    np.right_shift(acc, 2, out=out, casting="unsafe")
    return out
