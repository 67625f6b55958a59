"""Halve a band of rows (2x2 block mean or nearest sample) and gather the halves into tile rows.

Odd sizes drop the last row/column (floor), matching Viv's ``size >> 1``.
The mean of integers is rounded half up, computed in a wider integer type
so it never overflows; floats are averaged in float64. RGB bands
(Y, X, S) are reduced per sample.

:func:`halve` works through an integer band a strip of rows at a time,
with two small sums reused from strip to strip, so that its passes stay in
the CPU's cache and it allocates nothing the size of the band; given
``out`` it writes the result straight into the tile row being assembled
(:class:`LevelRows`).
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

#: Bytes of a strip's row sums when halving integers (a CPU cache's worth).
STRIP_BYTES = 128 * 1024


def halve(band: np.ndarray, method: str = "mean", out: np.ndarray | None = None) -> np.ndarray:
    """Return ``band`` (Y, X[, S]) reduced by 2 in Y and X.

    Parameters
    ----------
    band : numpy.ndarray
        Rows of an image, (Y, X) or (Y, X, S).
    method : {"mean", "nearest"}, default "mean"
        The 2 x 2 block's mean (integers rounded half up) or its top-left sample.
    out : numpy.ndarray, optional
        Where to write the result (any strides), of shape ``(Y // 2, X // 2[, S])``
        and ``band``'s dtype; a new array by default.

    Returns
    -------
    numpy.ndarray
        ``out``, or a new array.

    Examples
    --------
    >>> import numpy as np
    >>> halve(np.array([[1, 2, 9], [2, 1, 9]], np.uint8))
    array([[2]], dtype=uint8)
    >>> halve(np.array([[1, 2], [3, 4]], np.uint16), "nearest")
    array([[1]], dtype=uint16)
    """
    h, w = band.shape[0] // 2, band.shape[1] // 2
    if method not in METHODS:
        raise ValueError(f"unknown downsample method {method!r}; use 'mean' or 'nearest'")
    if out is None:
        out = np.empty((h, w) + band.shape[2:], band.dtype)
    if method == "nearest":
        out[...] = band[: 2 * h : 2, : 2 * w : 2]
        return out
    a = band[: 2 * h, : 2 * w]
    dt = band.dtype
    if dt.kind == "f":  # summed in this order: a[0,0] + a[1,0] + a[0,1] + a[1,1]
        acc = a[0::2, 0::2].astype(np.float64)
        acc += a[1::2, 0::2]
        acc += a[0::2, 1::2]
        acc += a[1::2, 1::2]
        acc *= 0.25
        out[...] = acc
        return out
    if h == 0 or w == 0:
        return out
    wide = _WIDER[dt.newbyteorder("=").name]
    extra = band.shape[2:]
    # Output rows per strip: their row sums fill STRIP_BYTES.
    step = max(1, STRIP_BYTES // (2 * w * int(np.prod(extra, dtype=np.int64)) * np.dtype(wide).itemsize))
    step = min(step, h)
    rows = np.empty((step, 2 * w) + extra, wide)  # pairs of rows summed
    acc = np.empty((step, w) + extra, wide)  # then pairs of columns
    for y in range(0, h, step):
        n = min(step, h - y)
        r, s = rows[:n], acc[:n]
        # The sum is exact in the wider type, so the order is free.
        np.add(a[2 * y : 2 * (y + n) : 2], a[2 * y + 1 : 2 * (y + n) : 2], out=r, dtype=wide)
        np.add(r[:, 0::2], r[:, 1::2], out=s)
        s += 2
        # An arithmetic shift is a floor division by 4, rounding toward -inf, so
        # (s + 2) >> 2 is round-half-up for negative sums as well.
        np.right_shift(s, 2, out=out[y : y + n], casting="unsafe")
    return out


class LevelRows:
    """Tile rows of a lower level, assembled in column chunks from halves of the level above.

    Blocks of the level above arrive in passes: each pass brings the next
    rows of the current tile row, left to right across the width, and is
    halved straight into the chunk buffers. A chunk (a multiple of the tile
    wide) is handed back as soon as its last pass has covered it, so the
    whole width is only held for the rows of an unfinished tile row, never
    twice.

    Parameters
    ----------
    shape : tuple of int
        (height, width) of this level.
    tile : int
        The tile size: a tile row is this many rows.
    dtype : numpy.dtype
        The pixels' type.
    chunk : int
        Columns per chunk, rounded down to a multiple of ``tile`` (at least one tile).
    samples : int, optional
        Samples per pixel of an RGB (Y, X, S) level; None for (Y, X).

    Examples
    --------
    >>> import numpy as np
    >>> level = LevelRows((2, 4), tile=2, dtype=np.uint8, chunk=2)
    >>> [(x, c.tolist()) for x, c in level.put(np.full((4, 8), 5, np.uint8), 0, True, "mean")]
    [(0, [[5, 5], [5, 5]]), (2, [[5, 5], [5, 5]])]
    """

    def __init__(self, shape, tile: int, dtype, *, chunk: int, samples: int | None = None):
        self.tile = tile
        self.height, self.width = (int(n) for n in shape)
        self.chunk = max(tile, chunk // tile * tile)
        self.extra = () if samples is None else (samples,)
        self.dtype = np.dtype(dtype)
        self.y = 0  # first row of the current tile row
        self.rows = min(tile, self.height)  # rows in the current tile row
        self.filled = 0  # rows filled by the passes before this one
        self.next = 0  # first chunk of the current tile row not handed back
        self.buffers: dict[int, np.ndarray] = {}

    def _buffer(self, k: int) -> np.ndarray:
        buf = self.buffers.get(k)
        if buf is None:
            cols = min(self.chunk, self.width - k * self.chunk)
            buf = self.buffers[k] = np.empty((self.rows, cols) + self.extra, self.dtype)
        return buf

    def put(self, above: np.ndarray, x0: int, ends_pass: bool, method: str = "mean") -> list:
        """Halve ``above``, rows of the level above whose first column is ``x0`` there, into this level.

        Parameters
        ----------
        above : numpy.ndarray
            The next rows of the level above, (Y, X[, S]), from column ``x0``.
        x0 : int
            Their first column in the level above (even).
        ends_pass : bool
            True if they reach the right edge of the level above.
        method : {"mean", "nearest"}, default "mean"
            As for :func:`halve`.

        Returns
        -------
        list of (int, numpy.ndarray)
            The finished chunks as ``(first column, rows)`` pairs, left to right.
        """
        if self.y >= self.height:
            return []
        h, w = above.shape[0] // 2, above.shape[1] // 2
        x0 //= 2
        if h and w:
            c = self.chunk
            first, last = x0 // c, (x0 + w - 1) // c
            if first == last:  # the usual case: the halves go straight into one chunk
                buf = self._buffer(first)
                halve(above, method, out=buf[self.filled : self.filled + h, x0 - first * c : x0 - first * c + w])
            else:
                piece = halve(above, method)
                for k in range(first, last + 1):
                    buf = self._buffer(k)
                    a, b = max(x0, k * c), min(x0 + w, k * c + buf.shape[1])
                    buf[self.filled : self.filled + h, a - k * c : b - k * c] = piece[:, a - x0 : b - x0]
        done = []
        if h and self.filled + h >= self.rows:  # this pass finishes the tile row
            right = self.width if ends_pass else x0 + w
            while self.next in self.buffers and min((self.next + 1) * self.chunk, self.width) <= right:
                done.append((self.next * self.chunk, self.buffers.pop(self.next)))
                self.next += 1
        if ends_pass:
            self.filled += h
            if self.filled >= self.rows:
                self.y += self.rows
                self.rows = min(self.tile, self.height - self.y)
                self.filled = self.next = 0
        return done
