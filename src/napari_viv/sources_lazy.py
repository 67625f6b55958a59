"""Dask arrays that read TIFF strips and memory maps sparingly.

Chunk sizes for every opener, a one-strip cache for files whose strips are
much taller than a band, and a memory-map window that reads only what is
sliced and lets the kernel drop the pages afterwards.
"""

from __future__ import annotations

import threading

import numpy as np

#: dask chunks span at least this many rows and columns (a multiple of the
#: file's own tile or strip size). 512 rows is one band of the writer's
#: default 512-px tiles, so exporting decodes every source tile once.
CHUNK_ROWS = 512
CHUNK_COLS = 2048
#: Memory-mapped (uncompressed) data: CHUNK_ROWS full-width rows, split
#: above this many columns.
MEMMAP_COLS = 16384


class StripCache:
    """A Zarr array whose chunks (TIFF strips) are much taller than a band,
    read through a one-strip cache: consecutive bands of the same strip
    decode it once. Requests spanning strips go straight to the array."""

    def __init__(self, z, yaxis: int):
        self._z, self._yaxis = z, yaxis
        self._rows = z.chunks[yaxis]
        self.shape, self.dtype, self.ndim = z.shape, z.dtype, z.ndim
        self._lock = threading.Lock()
        self._key, self._block = None, None
        self.decodes = 0  # strip rows decoded so far (for tests and curiosity)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            return np.asarray(self._z[key])
        y0, y1, step = key[self._yaxis].indices(self.shape[self._yaxis])
        r0 = y0 // self._rows * self._rows
        r1 = min(r0 + self._rows, self.shape[self._yaxis])
        if step != 1 or y1 > r1:
            return np.asarray(self._z[key])
        # The whole strip row of these planes (all columns), cached.
        outer = tuple(slice(None) if i == self._yaxis else (k if i < self._yaxis else slice(None))
                      for i, k in enumerate(key))
        cache_key = (tuple(k.indices(n) for k, n in zip(outer, self.shape)), r0)
        with self._lock:
            if self._key != cache_key:
                region = tuple(slice(r0, r1) if i == self._yaxis else k for i, k in enumerate(outer))
                self._block, self._key = np.asarray(self._z[region]), cache_key
                self.decodes += 1
            block = self._block
        inner = tuple(
            slice(y0 - r0, y1 - r0) if i == self._yaxis else (slice(None) if i < self._yaxis else k)
            for i, k in enumerate(key)
        )
        return np.array(block[inner])


class _Window:
    """A memory map seen only through slicing.

    ``dask.array.from_array`` copies anything with a ``.copy`` method, which
    for a memory map means reading the whole file; this wrapper has none.
    After each read it lets the kernel drop the pages it mapped, so the
    process's RSS does not grow to the size of the file (the data stays in
    the page cache).
    """

    def __init__(self, mm):
        self._mm = mm
        self.shape, self.ndim = mm.shape, mm.ndim
        self.dtype = mm.dtype.newbyteorder("=")  # big-endian files come out native

    def __getitem__(self, key):
        out = np.array(self._mm[key], dtype=self.dtype)
        self._release(key)
        return out

    def _release(self, key) -> None:
        import mmap

        arr = self._mm
        owner = arr
        while owner is not None and getattr(owner, "_mmap", None) is None:
            owner = getattr(owner, "base", None)
        raw = getattr(owner, "_mmap", None)
        if not isinstance(raw, mmap.mmap) or not hasattr(raw, "madvise") or not arr.flags.c_contiguous:
            return
        if getattr(owner, "mode", "c") == "c":  # private pages: never discard
            return
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != arr.ndim or not all(isinstance(k, slice) for k in key):
            return
        first = last = 0
        for k, n, stride in zip(key, arr.shape, arr.strides):
            start, stop, step = k.indices(n)
            if step != 1 or stop <= start:
                return
            first += start * stride
            last += (stop - 1) * stride
        last += arr.itemsize
        # where the array's first byte sits inside the mapping
        pointer = arr.__array_interface__["data"][0]
        origin = pointer - owner.__array_interface__["data"][0]
        origin += owner.offset % mmap.ALLOCATIONGRANULARITY
        page = mmap.PAGESIZE
        begin = (origin + first) // page * page
        end = min(-(-(origin + last) // page) * page, len(raw))
        if end > begin >= 0:
            try:
                raw.madvise(mmap.MADV_DONTNEED, begin, end - begin)
            except (OSError, ValueError):
                pass


def from_memmap(mm, chunks, name):
    import dask.array as da

    window = _Window(mm)
    meta = np.empty((0,) * mm.ndim, window.dtype)
    return da.from_array(window, chunks=chunks, name=name, lock=False, fancy=False,
                         asarray=False, meta=meta)


def memmap_chunks(axes: str, shape) -> tuple[int, ...]:
    sizes = {"Y": CHUNK_ROWS, "X": MEMMAP_COLS}
    return tuple(
        min(n, sizes[a]) if a in "YX" else (n if a == "S" else 1) for a, n in zip(axes, shape)
    )


def grow(chunk: int, size: int, target: int) -> int:
    """A multiple of ``chunk`` at least ``target`` long (capped at ``size``)."""
    chunk = max(1, int(chunk))
    k = max(1, -(-target // chunk))
    return min(chunk * k, size) if size else chunk


class TileReader:
    """An uncompressed tiled TIFF level read straight from the file.

    Uses only what tifffile parsed (each page's tile offsets); a region is
    read with one ``preadv`` per run of adjacent tiles into a buffer of
    whole tiles, then copied once into the result. Much cheaper than
    decoding "uncompressed" tiles one by one through the Zarr store.
    Build it with :meth:`for_level`, which returns None when the level does
    not qualify (compressed, planar RGB, sparse or odd-sized tiles...).
    """

    def __init__(self, path, shape, dtype, pages, tile: tuple[int, int], samples: int):
        import os
        import weakref

        self.shape, self.ndim = tuple(shape), len(shape)
        self._file_dtype = np.dtype(dtype)
        self.dtype = self._file_dtype.newbyteorder("=")
        self._tile = tile
        self._samples = samples
        self._lead = self.shape[: self.ndim - (3 if samples > 1 else 2)]
        ny, nx = self.shape[len(self._lead)], self.shape[len(self._lead) + 1]
        self._ntiles = (-(-ny // tile[0]), -(-nx // tile[1]))
        # Offsets per page (leading index in C order) as one int64 table.
        self._offsets = np.array([p.dataoffsets for p in pages], dtype=np.int64)
        self._tilebytes = tile[0] * tile[1] * samples * self._file_dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        weakref.finalize(self, os.close, self._fd)

    @classmethod
    def for_level(cls, path, lvl):
        import os

        if not hasattr(os, "preadv"):
            return None
        key = lvl.keyframe
        pages = list(lvl.pages)
        try:
            if (key.compression != 1 or not key.is_tiled or key.tiledepth != 1
                    or key.predictor != 1 or key.fillorder != 1 or key.imagedepth != 1
                    or key.bitspersample != 8 * key.dtype.itemsize or key.dtype.kind == "b"):
                return None
            samples = key.samplesperpixel
            if samples > 1 and key.planarconfig != 1:
                return None
            page_shape = (key.imagelength, key.imagewidth) + ((samples,) if samples > 1 else ())
            shape = tuple(lvl.shape)
            if shape[len(shape) - len(page_shape):] != page_shape:
                return None
            if int(np.prod(shape[: len(shape) - len(page_shape)])) != len(pages):
                return None
            tile = (key.tilelength, key.tilewidth)
            ntiles = -(-key.imagelength // tile[0]) * -(-key.imagewidth // tile[1])
            tilebytes = tile[0] * tile[1] * samples * key.dtype.itemsize
            main = os.path.realpath(path)
            for p in pages:
                if (p is None or _page_file(p) != main or len(p.dataoffsets) != ntiles
                        or p.shape != key.shape or any(c != tilebytes for c in p.databytecounts)):
                    return None
        except AttributeError:
            return None
        dtype = np.dtype(key.dtype).newbyteorder(key.parent.byteorder)
        return cls(path, shape, dtype, pages, tile, samples)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            raise IndexError("TileReader takes one slice per axis")
        nl = len(self._lead)
        lead = [range(*k.indices(n)) for k, n in zip(key[:nl], self._lead)]
        (y0, y1, sy), (x0, x1, sx) = (key[nl + i].indices(self.shape[nl + i]) for i in (0, 1))
        rest = key[nl + 2:]
        if sy != 1 or sx != 1:
            return self[key[:nl] + (slice(y0, max(y0, y1)), slice(x0, max(x0, x1))) + tuple(
                slice(None) for _ in rest)][(slice(None),) * nl + (slice(None, None, sy),
                                                                 slice(None, None, sx)) + rest]
        out = np.empty(tuple(len(r) for r in lead) + (max(0, y1 - y0), max(0, x1 - x0))
                       + self.shape[nl + 2:], self.dtype)
        if out.size:
            for idx in np.ndindex(*out.shape[:nl]):
                page = int(np.ravel_multi_index([r[i] for r, i in zip(lead, idx)], self._lead)) \
                    if nl else 0
                self._read(page, y0, y1, x0, x1, out[idx])
        return out[(slice(None),) * (nl + 2) + rest] if rest else out

    def _read(self, page: int, y0, y1, x0, x1, out) -> None:
        import os

        th, tw = self._tile
        ty0, ty1 = y0 // th, -(-y1 // th)
        tx0, tx1 = x0 // tw, -(-x1 // tw)
        tshape = (th, tw) + ((self._samples,) if self._samples > 1 else ())
        buf = np.empty((ty1 - ty0, tx1 - tx0) + tshape, self._file_dtype)
        flat = buf.reshape(-1, self._tilebytes // buf.itemsize)
        offsets = self._offsets[page]
        ntx = self._ntiles[1]
        k = 0
        for ty in range(ty0, ty1):
            first = ty * ntx + tx0
            run = offsets[first: ty * ntx + tx1]
            # split where a tile does not follow the previous one in the file
            breaks = np.flatnonzero(np.diff(run) != self._tilebytes) + 1
            for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(run)]):
                for c in range(a, b, 512):  # stay under IOV_MAX
                    d = min(b, c + 512)
                    views = [memoryview(flat[k + i]).cast("B") for i in range(c, d)]
                    want = (d - c) * self._tilebytes
                    got = os.preadv(self._fd, views, int(run[c]))
                    if got != want:
                        raise OSError(f"short read: {got} of {want} bytes at {int(run[c])}")
            k += len(run)
        tiles = buf.swapaxes(1, 2)  # (tile rows, th, tile columns, tw[, S]), a view
        if (y0 % th == 0 and x0 % tw == 0 and y1 - y0 == tiles.shape[0] * th
                and x1 - x0 == tiles.shape[2] * tw and out.flags.c_contiguous):
            np.copyto(out.reshape(tiles.shape), tiles)  # whole tiles: one copy
            return
        whole = tiles.reshape(((ty1 - ty0) * th, (tx1 - tx0) * tw) + tshape[2:])
        np.copyto(out, whole[y0 - ty0 * th: y1 - ty0 * th, x0 - tx0 * tw: x1 - tx0 * tw])


def _page_file(page) -> str:
    """The file a TIFF page's data lives in."""
    import os

    return os.path.realpath(page.parent.filehandle.path)
