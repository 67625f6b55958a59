"""Lazy arrays that read TIFF strips and memory maps sparingly.

Chunk sizes for every opener, a one-strip cache for files whose strips are
much taller than a band, a memory-map window that reads only what is
sliced and lets the kernel drop the pages afterwards, and AxesView, which
shows any of these (or a Zarr array) in canonical axis order without dask,
for streaming; and :func:`materialize`, which turns a block of any of them
(or of dask) into numpy with no extra copy.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

#: Columns of level 0 read, halved and encoded at a time by the writer
#: (rounded to a multiple of the tile and of the source's column chunks).
STREAM_COLUMNS = 4096

#: dask chunks span at least this many rows and columns (a multiple of the
#: file's own tile or strip size). 512 rows is one band of the writer's
#: default 512-px tiles, so exporting decodes every source tile once.
CHUNK_ROWS = 512
CHUNK_COLS = 2048
#: Memory-mapped (uncompressed) data: dask chunks of CHUNK_ROWS rows by
#: this many columns (the block the writer streams at a time).
MEMMAP_COLS = STREAM_COLUMNS


class StripCache:
    """A Zarr array whose chunks (TIFF strips) are much taller than a band, read through a one-strip cache.

    Consecutive bands of the same strip decode it once. Requests spanning
    strips go straight to the array.
    """

    def __init__(self, z, yaxis: int):
        self._z, self._yaxis = z, yaxis
        self._rows = z.chunks[yaxis]
        self.shape, self.dtype, self.ndim = z.shape, z.dtype, z.ndim
        self._lock = threading.Lock()
        self._key, self._block = None, None
        self.decodes = 0  # strip rows decoded so far (for tests and curiosity)

    def __getitem__(self, key):
        """Read ``key`` (slices), from the cached strip row when it lies in one."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            return np.asarray(self._z[key])
        y0, y1, step = key[self._yaxis].indices(self.shape[self._yaxis])
        r0 = y0 // self._rows * self._rows
        r1 = min(r0 + self._rows, self.shape[self._yaxis])
        if step != 1 or y1 > r1 or y1 <= y0:
            return np.asarray(self._z[key])
        # The whole strip row of these planes (all columns), cached.
        outer = tuple(
            slice(None) if i == self._yaxis else (k if i < self._yaxis else slice(None)) for i, k in enumerate(key)
        )
        cache_key = (tuple(k.indices(n) for k, n in zip(outer, self.shape, strict=False)), r0)
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


def shared_mapping(arr):
    """Find the mapping under ``arr`` whose pages may be dropped.

    Returns ``(mmap, offset)`` if ``arr`` is (a view of) a numpy memmap whose
    pages may be dropped (shared, not copy-on-write), else None. ``offset``
    is where ``arr``'s first byte sits inside the mapping.
    """
    import mmap

    owner = arr
    while owner is not None and getattr(owner, "_mmap", None) is None:
        owner = getattr(owner, "base", None)
    raw = getattr(owner, "_mmap", None)
    if not isinstance(raw, mmap.mmap) or not hasattr(raw, "madvise"):
        return None
    if getattr(owner, "mode", "c") == "c":  # private pages: never discard
        return None
    offset = arr.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return raw, offset + owner.offset % mmap.ALLOCATIONGRANULARITY


def _without_integers(key, shape) -> tuple[tuple, tuple]:
    """Turn the integers of ``key`` (one integer or slice per axis) into length-1 slices.

    Returns the new key and the index that then drops those axes again.
    """
    slices: list[slice] = []
    drop: list[int | slice] = []
    for k, n in zip(key, shape, strict=False):
        if isinstance(k, slice):
            slices.append(k)
            drop.append(slice(None))
            continue
        i = int(k) + n if int(k) < 0 else int(k)
        if not 0 <= i < n:
            raise IndexError(f"index {k} is out of bounds for size {n}")
        slices.append(slice(i, i + 1))
        drop.append(0)
    return tuple(slices), tuple(drop)


#: Bytes around a faulting page that Linux may map along with it.
FAULT_AROUND = 64 * 1024

#: Bytes of the file a MemmapWindow maps at a time while copying a read.
MEMMAP_SPAN = 2 * 1024 * 1024


class MemmapWindow:
    """A memory map seen only through slicing.

    ``dask.array.from_array`` copies anything with a ``.copy`` method, which
    for a memory map means reading the whole file; this wrapper has none.
    After each read it lets the kernel drop the pages it mapped, so the
    process's RSS does not grow to the size of the file (the data stays in
    the page cache). A read is copied in pieces of about ``span`` bytes of
    the file.
    """

    def __init__(self, mm, *, span: int = MEMMAP_SPAN):
        self._mm = mm
        self.span = span
        # (mmap, where mm's first byte sits in it), if pages can be released
        self._map = shared_mapping(mm) if mm.flags.c_contiguous else None
        self.shape, self.ndim = mm.shape, mm.ndim
        self.dtype = mm.dtype.newbyteorder("=")  # big-endian files come out native

    def __getitem__(self, key):
        """Copy ``key`` out of the map in pieces, dropping the pages after each."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) == self._mm.ndim and all(isinstance(k, (int, np.integer, slice)) for k in key):
            # integers as length-1 slices, so that the pages can be released
            slices, drop = _without_integers(key, self._mm.shape)
            if slices != key:
                return self[slices][drop]
        pieces = self._pieces(key)
        if pieces is None:
            out = np.array(self._mm[key], dtype=self.dtype)
            self._release(key)
            return out
        axis, first, stop, step = pieces
        shape = tuple(len(range(*k.indices(n))) for k, n in zip(key, self._mm.shape, strict=False))
        out = np.empty(shape, self.dtype)
        for i in range(first, stop, step):
            sub = key[:axis] + (slice(i, min(i + step, stop)),) + key[axis + 1 :]
            part = (slice(None),) * axis + (slice(i - first, min(i + step, stop) - first),)
            out[part] = self._mm[sub]
            self._release(sub)
        return out

    def _pieces(self, key):
        """How to copy ``key`` in pieces: (axis, start, stop, rows per piece).

        A page fault maps up to 64 KiB of its neighbours too, so copying a
        block of a few thousand columns maps whole rows of the file: copied
        in pieces, with the pages dropped after each, the mapped memory
        stays at about ``span`` bytes whatever the image width.
        """
        mm = self._mm
        if len(key) != mm.ndim or not all(isinstance(k, slice) for k in key):
            return None
        for axis, (k, n) in enumerate(zip(key, mm.shape, strict=False)):
            start, stop, step = k.indices(n)
            if step != 1:
                return None
            if stop - start > 1:
                rows = max(1, self.span // max(1, abs(mm.strides[axis])))
                return (axis, start, stop, rows) if rows < stop - start else None
        return None

    def _release(self, key) -> None:
        import mmap

        if self._map is None:
            return
        raw, origin = self._map
        arr = self._mm
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != arr.ndim or not all(isinstance(k, slice) for k in key):
            return
        first = last = 0
        for k, n, stride in zip(key, arr.shape, arr.strides, strict=False):
            start, stop, step = k.indices(n)
            if step != 1 or stop <= start:
                return
            first += start * stride
            last += (stop - 1) * stride
        last += arr.itemsize
        page = mmap.PAGESIZE
        # A page fault also maps cached neighbours (Linux "fault-around",
        # 64 KiB by default); drop those too, or they pile up read by read.
        begin = max(0, (origin + first - FAULT_AROUND) // page * page)
        end = min(-(-(origin + last + FAULT_AROUND) // page) * page, len(raw))
        if end > begin >= 0:
            with contextlib.suppress(OSError, ValueError):
                raw.madvise(mmap.MADV_DONTNEED, begin, end - begin)


def from_memmap(mm, chunks, name):
    """Wrap the memory map ``mm`` in a dask array of ``chunks`` read through a :class:`MemmapWindow`."""
    import dask.array as da

    window = MemmapWindow(mm)
    meta = np.empty((0,) * mm.ndim, window.dtype)
    return da.from_array(window, chunks=chunks, name=name, lock=False, fancy=False, asarray=False, meta=meta)


def memmap_chunks(axes: str, shape, *, columns: int = MEMMAP_COLS) -> tuple[int, ...]:
    """Give the dask chunks of a memory-mapped image: CHUNK_ROWS by ``columns``, one plane deep."""
    sizes = {"Y": CHUNK_ROWS, "X": columns}
    return tuple(min(n, sizes[a]) if a in "YX" else (n if a == "S" else 1) for a, n in zip(axes, shape, strict=False))


def grow(chunk: int, size: int, target: int) -> int:
    """Return a multiple of ``chunk`` at least ``target`` long (capped at ``size``)."""
    chunk = max(1, int(chunk))
    k = max(1, -(-target // chunk))
    return min(chunk * k, size) if size else chunk


class AxesView:
    """A sliceable array seen through ``canonical_axes`` steps, without dask.

    For streaming (``open_image(..., streaming=True)``): length-1 axes are
    dropped and the rest reordered, like ``apply_steps`` does to a dask
    array, but every read goes straight to ``base`` (a Zarr array, a
    memory-map window or a strip cache) with slices only, so their caches
    and page release work as for a band.
    """

    def __init__(self, base, steps):
        squeeze, perm = (), None
        for kind, arg in steps:
            if kind == "squeeze":
                squeeze = tuple(arg)
            elif kind == "transpose":
                perm = tuple(arg)
        kept = [i for i in range(base.ndim) if i not in squeeze]
        perm = perm if perm is not None else tuple(range(len(kept)))
        self._base = base
        self._axes = [kept[p] for p in perm]  # the base axis behind each view axis
        self.shape = tuple(int(base.shape[a]) for a in self._axes)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(base.dtype)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.nbytes = self.size * self.dtype.itemsize
        chunks = getattr(base, "chunks", None)
        self.chunks = None if chunks is None else tuple(chunks[a] for a in self._axes)

    def __getitem__(self, key):
        """Read ``key`` (integers and slices, in view order) straight from the base array."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > self.ndim or not all(isinstance(k, (int, np.integer, slice)) for k in key):
            raise IndexError(f"only integers and slices are supported, not {key!r}")
        key = key + (slice(None),) * (self.ndim - len(key))
        base_key = [0] * self._base.ndim  # dropped axes have length 1
        for axis, k in zip(self._axes, key, strict=False):
            base_key[axis] = k
        slices, drop = _without_integers(base_key, self._base.shape)
        out = np.asarray(self._base[slices])[drop]
        left = [a for a in range(self._base.ndim) if isinstance(base_key[a], slice)]
        want = [a for a in self._axes if isinstance(base_key[a], slice)]
        if left != want:
            out = out.transpose([left.index(a) for a in want])
        return out


def materialize(part) -> np.ndarray:
    """Return ``part`` as a numpy array.

    A dask selection of a single chunk is computed on this thread and
    returned as is: ``np.asarray`` would copy it once more (dask protects
    chunks that may live in its graph, and the writer never writes into a band).
    """
    keys = getattr(part, "__dask_keys__", None)
    if keys is None:
        return np.asarray(part)
    import dask
    import dask.local
    from dask.core import flatten

    (part,) = dask.optimize(part)
    keys = list(flatten(part.__dask_keys__()))
    if len(keys) != 1:
        return np.asarray(part)
    (block,) = dask.local.get_sync(part.__dask_graph__(), keys)
    return np.asarray(block)
