"""Uncompressed tiled TIFF levels, read tile by tile straight from the file.

An uncompressed tile is its pixels as they are, at an offset the page names.
tifffile's Zarr store reads such tiles through its general decoding path,
which costs about three times the CPU of reading each tile with one
positioned read into a scratch tile and copying out the part asked for
(docs/benchmarks.md). :class:`RawTiles` does the latter for the levels it
can take (:meth:`RawTiles.takes`); the reader gives it uncompressed tiled
levels and keeps tifffile's store for everything else.

Nothing is mapped into memory, so reading a large file leaves the process's
RSS flat; the data stay in the page cache.
"""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np

_local = threading.local()


class RawTiles:
    """One pyramid level of uncompressed tiles, sliceable like the Zarr array it replaces.

    Parameters
    ----------
    path : path-like
        The TIFF file holding every page of the level.
    level : tifffile.TiffPageSeries
        The level: its shape and axes (leading axes, then Y and X, then S for
        interleaved samples) and its pages, one per plane, in order.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.tif"
    >>> data = np.arange(2 * 40 * 50, dtype=np.uint16).reshape(2, 40, 50)
    >>> tifffile.imwrite(path, data, tile=(16, 16))
    >>> with tifffile.TiffFile(path) as tif:
    ...     series = tif.series[0]
    ...     tiles = RawTiles(path, series) if RawTiles.takes(tif, series) else None
    >>> tiles.chunks, bool((tiles[1:2, 5:37, 3:50] == data[1:2, 5:37, 3:50]).all())
    ((1, 16, 16), True)
    """

    def __init__(self, path, level) -> None:
        key = level.keyframe
        self.shape = tuple(int(n) for n in level.shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(key.dtype).newbyteorder("=")
        self._stored = np.dtype(key.parent.byteorder + np.dtype(key.dtype).char)  # as in the file
        self._yaxis = level.axes.index("Y")
        self._samples = self.shape[self._yaxis + 2 :]  # (S,) for interleaved samples, else ()
        self._tile = (int(key.tilelength), int(key.tilewidth))
        self._across = -(-int(key.imagewidth) // self._tile[1])
        lead = self.shape[: self._yaxis]
        self._offsets = np.array([p.dataoffsets for p in level.pages], dtype=np.int64).reshape(*lead, -1)
        self._counts = np.array([p.databytecounts for p in level.pages], dtype=np.int64).reshape(*lead, -1)
        self.chunks = (1,) * len(lead) + self._tile + self._samples
        self._fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._lock = threading.Lock()  # for platforms without positioned reads
        self._closer = weakref.finalize(self, os.close, self._fd)

    @staticmethod
    def takes(tif, level) -> bool:
        """Tell whether ``level`` of ``tif`` is stored as plain tiles this class reads exactly.

        Uncompressed, no predictor, whole bytes per sample, samples
        interleaved (or one), 2-D tiles of the declared size, every page in
        ``tif``'s own file with the same tile grid.
        """
        key = level.keyframe
        pages = list(level.pages)
        if not pages or any(p is None or p.parent is not tif for p in pages):
            return False
        if not key.is_tiled or key.compression != 1 or key.predictor != 1 or key.fillorder != 1:
            return False
        if key.tiledepth != 1 or key.imagedepth != 1 or (key.samplesperpixel > 1 and key.planarconfig != 1):
            return False
        dtype = np.dtype(key.dtype)
        if dtype.kind not in "uif" or key.bitspersample != dtype.itemsize * 8:
            return False
        axes, shape = level.axes, tuple(level.shape)
        if "Y" not in axes or axes.index("X") != axes.index("Y") + 1:
            return False
        y = axes.index("Y")
        tail = axes[y + 2 :]
        if tail not in ("", "S") or (tail == "S" and shape[-1] != key.samplesperpixel):
            return False
        if (shape[y], shape[y + 1]) != (key.imagelength, key.imagewidth):
            return False
        if int(np.prod(shape[:y], dtype=np.int64)) != len(pages):
            return False
        ntiles = -(-key.imagelength // key.tilelength) * -(-key.imagewidth // key.tilewidth)
        tile_bytes = key.tilelength * key.tilewidth * key.samplesperpixel * dtype.itemsize
        for page in pages:
            counts = page.databytecounts
            if len(counts) != ntiles or any(c not in (0, tile_bytes) for c in counts):
                return False
        return True

    def close(self) -> None:
        """Close the file (also done when the object is collected)."""
        self._closer()

    def __getitem__(self, key):
        """Read ``key`` (slices with step 1, one per axis) into a new array."""
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            raise IndexError(f"only slices are supported, not {key!r}")
        ranges = [k.indices(n) for k, n in zip(key, self.shape, strict=True)]
        if any(step != 1 for _, _, step in ranges):
            raise IndexError(f"only slices with step 1 are supported, not {key!r}")
        bounds = [(start, max(start, stop)) for start, stop, _ in ranges]
        out = np.zeros(tuple(b - a for a, b in bounds), self.dtype)
        if out.size == 0:
            return out
        y = self._yaxis
        (y0, y1), (x0, x1) = bounds[y], bounds[y + 1]
        samples = key[y + 2 :]
        lead = [range(a, b) for a, b in bounds[:y]]
        for index in np.ndindex(*(len(r) for r in lead)):
            plane = tuple(r[i] for r, i in zip(lead, index, strict=True))
            self._plane(plane, out[index], y0, y1, x0, x1, samples)
        return out

    def _plane(self, plane, out, y0, y1, x0, x1, samples) -> None:
        """Copy rows y0:y1 and columns x0:x1 of one plane into ``out`` (missing tiles stay 0)."""
        th, tw = self._tile
        offsets, counts = self._offsets[plane], self._counts[plane]
        for ty in range(y0 // th, -(-y1 // th)):
            a, b = max(y0, ty * th), min(y1, (ty + 1) * th)
            for tx in range(x0 // tw, -(-x1 // tw)):
                c, d = max(x0, tx * tw), min(x1, (tx + 1) * tw)
                i = ty * self._across + tx
                if not counts[i]:
                    continue  # a sparse file's missing tile: zeros
                tile = self._read(int(offsets[i]))
                part = tile[a - ty * th : b - ty * th, c - tx * tw : d - tx * tw]
                out[a - y0 : b - y0, c - x0 : d - x0] = part[(Ellipsis, *samples)] if samples else part

    def _read(self, offset: int) -> np.ndarray:
        """Read the tile at ``offset`` into this thread's scratch tile (valid until its next read)."""
        scratch = getattr(_local, "tile", None)
        shape = self._tile + self._samples
        if scratch is None or scratch.shape != shape or scratch.dtype != self._stored:
            scratch = _local.tile = np.empty(shape, self._stored)
        view = memoryview(scratch.reshape(-1).view(np.uint8).data)
        if hasattr(os, "preadv"):
            got = os.preadv(self._fd, [view], offset)
        else:  # Windows: seek and read, one thread at a time
            with self._lock:
                os.lseek(self._fd, offset, os.SEEK_SET)
                got = _read_into(self._fd, view)
        if got != len(view):
            raise OSError(f"the file ends inside a tile at byte {offset} ({got} of {len(view)} bytes)")
        return scratch


def _read_into(fd: int, view: memoryview) -> int:
    """Fill ``view`` from ``fd``'s position; return the bytes read (fewer at the end of the file)."""
    got = 0
    while got < len(view):
        data = os.read(fd, len(view) - got)
        if not data:
            break
        view[got : got + len(data)] = data
        got += len(data)
    return got
