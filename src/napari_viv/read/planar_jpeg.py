"""Planar one-component JPEG levels (Bio-Formats' ``bfconvert -compression JPEG`` RGB), read per segment."""

from __future__ import annotations

import itertools
import threading

import numpy as np

from ..lazy import CHUNK_COLS, CHUNK_ROWS, grow

_JPEG, _YCBCR, _PLANAR = 7, 6, 2


def is_planar_jpeg(page) -> bool:
    """JPEG tiles or strips, one sample per segment, under a YCbCr tag.

    Bio-Formats' ``bfconvert -compression JPEG`` writes RGB this way: each
    segment is a one-component JPEG of one colour plane, and the planes are
    R, G and B (not Y, Cb, Cr), at full resolution. tifffile refuses it (it
    assumes chroma subsampling, the TIFF default for YCbCr), so
    :class:`PlanarJpegLevel` decodes the segments with imagecodecs.
    """
    return (
        int(page.compression) == _JPEG
        and int(page.planarconfig) == _PLANAR
        and int(page.photometric) == _YCBCR
        and int(page.samplesperpixel) > 1
    )


class PlanarJpegLevel:
    """A level of planar one-component JPEG segments, decoded per segment.

    Located through tifffile's structures (each page's segment offsets,
    byte counts, tile or strip geometry, JPEG tables); decoded with
    ``imagecodecs.jpeg8_decode``. Shape and axes are the tifffile level's
    (``...SYX``). The most recently decoded segments are cached, so bands
    that share a tile row decode it once.
    """

    def __init__(self, lvl):
        self._pages = list(lvl.pages)
        key = lvl.keyframe
        self.shape = tuple(int(n) for n in lvl.shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(lvl.dtype)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.nbytes = self.size * self.dtype.itemsize
        self._h, self._w, self._s = int(key.imagelength), int(key.imagewidth), int(key.samplesperpixel)
        if key.is_tiled:
            self._th, self._tw = int(key.tilelength), int(key.tilewidth)
        else:
            self._th, self._tw = int(key.rowsperstrip or self._h), self._w
        self._ny = -(-self._h // self._th)
        self._nx = -(-self._w // self._tw)
        self.chunks = (1,) * (self.ndim - 3) + (1, self._th, self._tw)
        self._lock = threading.Lock()
        self._cache: dict = {}

    def dask_chunks(self):
        """Return dask chunks of whole segments, grown towards 512 rows by 2048 columns."""
        rows = grow(self._th, self._h, CHUNK_ROWS)
        cols = grow(self._tw, self._w, CHUNK_COLS)
        return (1,) * (self.ndim - 3) + (self._s, rows, cols)

    def __getitem__(self, key):
        """Decode the segments under ``key`` (integers and contiguous slices)."""
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        drop = tuple(i for i, k in enumerate(key) if isinstance(k, (int, np.integer)))
        spans = [
            range(*(slice(int(k), int(k) + 1) if isinstance(k, (int, np.integer)) else k).indices(n))
            for k, n in zip(key, self.shape, strict=False)
        ]
        if any(r.step != 1 for r in spans[-3:]):
            raise IndexError("PlanarJpegLevel reads contiguous samples, rows and columns only")
        outer, (ss, ys, xs) = spans[:-3], spans[-3:]
        out = np.empty(tuple(len(r) for r in spans), self.dtype)
        nouter = self.shape[:-3]
        for oi, idx in enumerate(itertools.product(*outer)):
            page = self._pages[int(np.ravel_multi_index(idx, nouter)) if nouter else 0]
            dest = out[np.unravel_index(oi, tuple(len(r) for r in outer))] if outer else out
            self._plane(page, ss, ys, xs, dest)
        return out.squeeze(axis=drop) if drop else out

    def _plane(self, page, ss, ys, xs, dest) -> None:
        if not len(ss) or not len(ys) or not len(xs):
            return
        for s in ss:
            for ty in range(ys.start // self._th, (ys.stop - 1) // self._th + 1):
                for tx in range(xs.start // self._tw, (xs.stop - 1) // self._tw + 1):
                    tile = self._segment(page, (s * self._ny + ty) * self._nx + tx)
                    y0, x0 = ty * self._th, tx * self._tw
                    a0, a1 = max(ys.start, y0), min(ys.stop, y0 + self._th)
                    b0, b1 = max(xs.start, x0), min(xs.stop, x0 + self._tw)
                    dest[s - ss.start, a0 - ys.start : a1 - ys.start, b0 - xs.start : b1 - xs.start] = tile[
                        a0 - y0 : a1 - y0, b0 - x0 : b1 - x0
                    ]

    def _segment(self, page, index: int) -> np.ndarray:
        import imagecodecs

        cache_key = (id(page), index)
        with self._lock:
            hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        fh = page.parent.filehandle
        offset, count = int(page.dataoffsets[index]), int(page.databytecounts[index])
        with fh.lock:
            fh.seek(offset)
            data = fh.read(count)
        tile = imagecodecs.jpeg8_decode(data, tables=page.jpegtables)
        rows = min(self._th, self._h - (index % (self._ny * self._nx)) // self._nx * self._th)
        if (
            tile.ndim != 2
            or tile.shape[1] < min(self._tw, self._w)
            or tile.shape[0] < (rows if not page.is_tiled else self._th)
        ):
            raise ValueError(
                f"a JPEG segment decodes to {tile.shape}, expected one "
                f"{self._th}x{self._tw} plane (chroma-subsampled YCbCr is not supported)"
            )
        if tile.shape[0] < self._th:  # the last strip is shorter
            tile = np.pad(tile, ((0, self._th - tile.shape[0]), (0, 0)))
        with self._lock:
            if len(self._cache) >= 4 * self._nx * self._s:
                self._cache.clear()
            self._cache[cache_key] = tile
        return tile
