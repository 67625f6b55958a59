"""export_pyramid(): stream any array into a Viv-compatible pyramidal OME-TIFF.

How it works, per plane (T, C, Z in that order):

* The source is read once, one band of ``tile_size`` full-width rows at a
  time (by a read-ahead thread: one band ahead, or for bands over
  READ_AHEAD_BYTES only once the band before is encoded), and each band is cut into
  tiles that a thread pool encodes (predictor + codec from imagecodecs,
  which releases the GIL).
* Each band is also halved (``downsample``) into the next level's band, and
  so on down the pyramid; lower levels are encoded as soon as a tile row of
  them is complete.
* tifffile receives the encoded tiles in order (it writes level 0 of a
  plane, then its SubIFDs). The encoded tiles of the lower levels wait in
  memory while small, or in an unnamed scratch file in the output folder.
* A level of a multiscale input whose shape is exactly the next pyramid
  level is copied instead of recomputed.

The file and its ``offsets.json`` are published atomically (see atomic.py).
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from .atomic import AtomicPair
from .codecs import DEFAULT_COMPRESSION, Codec, choose_codec
from .downsample import METHODS, halve
from .errors import Cancelled, NapariVivError
from .layout import Layout, convert_band, resolve_layout
from .metadata import ImageMetadata
from .offsets import offsets_json, offsets_of, offsets_path_for
from .omexml import build_ome_xml
from .plan import PyramidPlan, plan_pyramid

#: Encoded lower-level tiles kept in RAM per plane before spilling to disk.
SPILL_THRESHOLD = 16 * 1024 * 1024


def output_path(path) -> Path:
    """The ``.ome.tif`` path written for ``path``.

    ``x.ome.tif``/``x.ome.tiff`` are kept (a suffix in the wrong case, such as
    ``X.OME.TIF``, is lowercased: Avivator matches it case-sensitively);
    ``x.tif``/``x.tiff`` become ``x.ome.tif``/``x.ome.tiff``; anything else
    gets ``.ome.tif`` appended.
    """
    p = Path(path)
    name = p.name
    low = name.lower()
    for suffix in (".ome.tiff", ".ome.tif"):
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + suffix)
    for suffix in (".tiff", ".tif"):
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".ome" + suffix)
    return p.with_name(name + ".ome.tif")


def _as_levels(data) -> list:
    # napari's MultiScaleData is a sequence of levels that also looks like an
    # array (shape, dtype), so recognise it by name (no napari import here).
    multiscale = isinstance(data, (list, tuple)) or type(data).__name__ == "MultiScaleData"
    if multiscale and len(data) and hasattr(data[0], "shape"):
        levels = list(data)
    else:
        levels = [data]
    out = []
    for lv in levels:
        if not (hasattr(lv, "shape") and hasattr(lv, "dtype") and hasattr(lv, "__getitem__")):
            lv = np.asarray(lv)
        out.append(lv)
    return out


def _merge_metadata(metadata, axes, channel_names, channel_colors, physical_sizes, unit, name):
    md = replace(metadata) if metadata is not None else ImageMetadata()
    if axes is not None:
        md.axes = axes
    if channel_names is not None:
        md.channel_names = list(channel_names)
    if channel_colors is not None:
        md.channel_colors = list(channel_colors)
    if physical_sizes is not None:
        md.physical_sizes = dict(physical_sizes)
    if unit is not None:
        md.unit = unit
    if name is not None:
        md.name = name
    return md


class _TileStore:
    """Encoded tiles of levels >= 1 of one plane, in order, RAM then disk."""

    def __init__(self, nlevels: int, scratch):
        self.pending = {lvl: deque() for lvl in range(1, nlevels)}
        self.entries = {lvl: [] for lvl in range(1, nlevels)}
        self.ram = 0
        self._scratch = scratch  # callable returning a binary temp file
        self._file = None
        self._end = 0
        self.stored = 0

    def add(self, level: int, futures) -> None:
        self.pending[level].extend(futures)

    def collect(self, wait: bool = False, limit: int | None = None) -> None:
        """Move finished encodings into storage: all of them if ``wait``;
        with ``limit``, wait until at most that many are still pending."""
        for level, queue in self.pending.items():
            while queue and (wait or queue[0].done()):
                self._put(level, queue.popleft().result())
        if limit is not None:
            for level, queue in self.pending.items():
                while queue and sum(map(len, self.pending.values())) > limit:
                    self._put(level, queue.popleft().result())

    def _put(self, level: int, data: bytes) -> None:
        self.stored += 1
        if self.ram + len(data) <= SPILL_THRESHOLD:
            self.ram += len(data)
            self.entries[level].append(data)
            return
        if self._file is None:
            self._file = self._scratch()
        _pwrite(self._file, data, self._end)
        self.entries[level].append((self._end, len(data)))
        self._end += len(data)

    def tiles(self, level: int):
        for entry in self.entries[level]:
            if isinstance(entry, bytes):
                yield entry
            else:
                yield _pread(self._file, entry[1], entry[0])
        self.entries[level] = []

    def close(self) -> None:
        for queue in self.pending.values():
            for fut in queue:
                fut.cancel()
        if self._file is not None:
            self._file.close()
            self._file = None


def _pwrite(f, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(f.fileno(), data, offset)
    else:  # Windows; only the main thread uses the scratch file
        f.seek(offset)
        f.write(data)
        f.flush()


def _pread(f, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(f.fileno(), size, offset)
    f.seek(offset)
    return f.read(size)


class _Accumulator:
    """Collects halved rows until a full tile row of a level is ready."""

    def __init__(self, rows: int):
        self.rows = rows
        self.parts: list[np.ndarray] = []
        self.count = 0

    def push(self, band: np.ndarray):
        if band.shape[0]:
            self.parts.append(band)
            self.count += band.shape[0]
        while self.count >= self.rows:
            whole = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
            yield whole[: self.rows]
            rest = whole[self.rows :]
            self.parts = [rest] if rest.shape[0] else []
            self.count = rest.shape[0]

    def flush(self):
        if self.count:
            whole = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
            self.parts, self.count = [], 0
            yield whole


def _encode_tile(codec: Codec, band: np.ndarray, x0: int, tile: int) -> bytes:
    part = band[:, x0 : x0 + tile]
    if part.shape[0] != tile or part.shape[1] != tile:
        full = np.zeros((tile, tile) + part.shape[2:], dtype=part.dtype)
        full[: part.shape[0], : part.shape[1]] = part
        part = full
    else:
        part = np.ascontiguousarray(part)
    return codec.encode(part)


class _Job:
    """One export: plan, sources, pool, callbacks and running counters."""

    def __init__(self, plan: PyramidPlan, layout: Layout, sources: list, roots: dict,
                 codec: Codec, method: str, pool, progress, cancel, what: str):
        self.plan = plan
        self.layout = layout
        self.sources = sources
        self.roots = roots  # pyramid level -> source level index
        self.codec = codec
        self.method = method
        self.pool = pool
        self.progress = progress
        self.cancel = cancel
        self.what = what
        self.done = 0  # tiles finished in earlier planes

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled(f"{self.what}: export cancelled; nothing was written")

    def report(self, current: int) -> None:
        if self.progress is not None:
            self.progress(self.done + current, self.plan.ntiles)

    def read_band(self, src, plane: dict, y0: int, y1: int) -> np.ndarray:
        try:
            band = _materialize(src[self.layout.plane_index(plane, slice(y0, y1))])
        except (NapariVivError, KeyboardInterrupt):
            raise
        except Exception as exc:
            where = ", ".join(f"{k}={v}" for k, v in plane.items())
            raise NapariVivError(
                f"{self.what}: reading rows {y0}-{y1}{' at ' + where if where else ''} "
                f"failed: {exc}"
            ) from exc
        _release_mapped_pages(src)
        order = self.layout.band_order()
        if order != tuple(range(band.ndim)):
            band = band.transpose(order)
        return convert_band(band, self.plan.dtype)

    def submit(self, band: np.ndarray):
        t = self.plan.tile_size
        return [self.pool.submit(_encode_tile, self.codec, band, x0, t)
                for x0 in range(0, band.shape[1], t)]

    def run_root(self, level: int, plane: dict, store: _TileStore, sink):
        """Read pyramid ``level`` from its source and derive the levels below
        it (up to the next reused level). Yields nothing itself; tile futures
        of ``level`` go to ``sink`` (a deque) or, if None, to ``store``.
        """
        plan = self.plan
        t = plan.tile_size
        src = self.sources[self.roots[level]]
        last = level + 1
        while last < plan.nlevels and last not in self.roots:
            last += 1
        accs = {lvl: _Accumulator(t) for lvl in range(level + 1, last)}

        def emit(lvl, band):
            futures = self.submit(band)
            if lvl == level and sink is not None:
                sink.extend(futures)
            else:
                store.add(lvl, futures)
            if lvl + 1 in accs:
                half = halve(band, self.method)
                for full in accs[lvl + 1].push(half):
                    emit(lvl + 1, full)

        height, width = plan.level_shapes[level]
        step = _read_rows(src, self.layout, t, width * plan.samples * plan.dtype.itemsize)
        spans = [(r0, min(r0 + step, height)) for r0 in range(0, height, step)]
        # Read ahead (one request at a time, in order): the next band is read
        # while this one is downsampled and encoded, unless bands are big;
        # then it is read once the band before this one is encoded, so that
        # at most two big bands are in memory.
        early = step * width * plan.samples * plan.dtype.itemsize <= READ_AHEAD_BYTES
        ahead = self.reader.submit(self.read_band, src, plane, *spans[0])
        for i in range(len(spans)):
            self.check_cancel()
            rows = ahead.result()
            more = i + 1 < len(spans)
            if more and early:
                ahead = self.reader.submit(self.read_band, src, plane, *spans[i + 1])
            for y0 in range(0, rows.shape[0], t):
                if y0:
                    self.check_cancel()
                emit(level, rows[y0 : y0 + t])
                yield
            if more and not early:
                ahead = self.reader.submit(self.read_band, src, plane, *spans[i + 1])
            del rows
        for lvl in range(level + 1, last):
            for rest in accs[lvl].flush():
                emit(lvl, rest)
        yield

    def level0_tiles(self, plane: dict, store: _TileStore):
        """Encoded level-0 tiles of ``plane`` in order (a generator)."""
        pending: deque = deque()
        per_row = self.plan.tiles_in(0)[1]
        yielded = 0
        for _ in self.run_root(0, plane, store, pending):
            while len(pending) > per_row:
                yield pending.popleft().result()
                yielded += 1
            store.collect()
            self.report(yielded + store.stored)
        while pending:
            yield pending.popleft().result()
            yielded += 1
            if not pending:
                store.collect()
                self.report(yielded + store.stored)


def _write(job: _Job, tw, xml: bytes) -> None:
    plan = job.plan
    t = plan.tile_size
    common = dict(
        dtype=plan.dtype,
        tile=(t, t),
        compression=job.codec.tiff_compression,
        predictor=job.codec.predictor,
        photometric="rgb" if plan.rgb else "minisblack",
        planarconfig="contig",
        metadata=None,
        software="napari-viv",
    )
    extra = (3,) if plan.rgb else ()
    plane_axes = job.layout.plane_axes
    ranges = [range(plan.sizes[ax]) for ax in plane_axes]
    first = True
    for combo in itertools.product(*ranges):
        plane = dict(zip(plane_axes, combo))
        job.check_cancel()
        store = _TileStore(plan.nlevels, job.scratch)
        try:
            for level in sorted(job.roots):
                if level:  # reused source levels: keep about two tile rows in flight
                    limit = 2 * plan.tiles_in(level)[1]
                    for _ in job.run_root(level, plane, store, None):
                        store.collect(limit=limit)
                        job.report(store.stored)
            tw.write(
                data=job.level0_tiles(plane, store),
                shape=plan.level_shapes[0] + extra,
                subifds=plan.nlevels - 1 if plan.nlevels > 1 else None,
                description=xml if first else None,
                **common,
            )
            first = False
            store.collect(wait=True)
            for level in range(1, plan.nlevels):
                tw.write(
                    data=store.tiles(level),
                    shape=plan.level_shapes[level] + extra,
                    subfiletype=1,
                    **common,
                )
            job.done += store.stored + plan.tiles_in(0)[0] * plan.tiles_in(0)[1]
            job.report(0)
        finally:
            store.close()


def export_pyramid(data, path, *, axes=None, metadata: ImageMetadata | None = None,
                   channel_names=None, channel_colors=None, physical_sizes=None, unit=None,
                   name=None, tile_size=512, levels="auto", compression=DEFAULT_COMPRESSION,
                   downsample="mean", workers=None, overwrite=False,
                   progress=None, cancel=None) -> list[Path]:
    """Write ``data`` as a Viv pyramidal OME-TIFF plus its ``offsets.json``.

    ``data`` is a numpy/dask/zarr/array-like or a list of levels (level 0
    first). Keyword arguments override the same fields of ``metadata``.
    ``compression`` is ``"zlib"``, ``"zlib:LEVEL"`` (1-12), ``"lzw"`` or
    ``"none"``; ``downsample`` is ``"mean"`` or
    ``"nearest"``. ``progress(done, total)`` counts tiles; ``cancel()``
    returning true stops the export (raising :class:`Cancelled`).

    Returns ``[ome_tif_path, offsets_json_path]``. On any error nothing is
    left at either path and no temporary file remains.
    """
    tif_path = output_path(path)
    json_path = offsets_path_for(tif_path)
    md = _merge_metadata(metadata, axes, channel_names, channel_colors, physical_sizes,
                         unit, name)
    what = md.name or tif_path.name
    if downsample not in METHODS:
        raise NapariVivError(f"{what}: unknown downsample {downsample!r}; use 'mean' or 'nearest'")

    sources = _as_levels(data)
    src0 = sources[0]
    try:
        layout = resolve_layout(src0.shape, src0.dtype, md.axes or None, what=what)
        plan = plan_pyramid(src0.shape, src0.dtype, md.axes or None, tile_size=tile_size,
                            levels=levels, compression=compression)
    except NapariVivError as exc:
        msg = str(exc)
        raise NapariVivError(msg if msg.startswith(what) else f"{what}: {msg}") from None
    codec = choose_codec(compression, plan.dtype, plan.samples)
    roots = _reusable_levels(sources, layout, plan)
    xml = build_ome_xml(plan, md, name=_stem(tif_path), what=what)

    nworkers = int(workers) if workers else _cpu_count()
    pool = ThreadPoolExecutor(max(1, nworkers), thread_name_prefix="napari-viv-encode")
    reader = ThreadPoolExecutor(1, thread_name_prefix="napari-viv-read")
    job = _Job(plan, layout, sources, roots, codec, downsample, pool, progress, cancel, what)
    job.reader = reader
    import tifffile

    try:
        with AtomicPair(tif_path, json_path, overwrite=overwrite) as out:
            job.scratch = out.temporary_file
            try:
                with tifffile.TiffWriter(out.file, bigtiff=True, byteorder="<") as tw:
                    _write(job, tw, xml)
                out.file.flush()
                out.file.seek(0)
                offsets = offsets_of(out.file)
            except OSError as exc:
                raise NapariVivError(f"{tif_path}: writing failed: {exc}") from exc
            out.commit(offsets_json(offsets))
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
    return [tif_path, json_path]


#: Bands up to this size are read one band ahead of the encoding.
READ_AHEAD_BYTES = 8 * 1024 * 1024

#: Largest read (bytes of one plane) when reading whole source chunks at once.
CHUNK_READ_LIMIT = 64 * 1024 * 1024


def _read_rows(src, layout: Layout, tile: int, row_bytes: int) -> int:
    """Rows to read from ``src`` at a time: one tile row, or one chunk row.

    A chunked source (dask, zarr) whose row chunks are a multiple of the
    tile height is read a whole chunk row at a time (up to
    CHUNK_READ_LIMIT), so each chunk is decoded or computed once instead of
    once per tile row.
    """
    chunks = getattr(src, "chunks", None)
    try:
        ychunks = chunks[layout.source_axes.index("Y")]
    except (TypeError, IndexError, KeyError):
        return tile
    if isinstance(ychunks, tuple):  # dask: sizes of every chunk
        if not ychunks or len(set(ychunks[:-1])) > 1 or ychunks[-1] > ychunks[0]:
            return tile
        ychunks = ychunks[0]
    try:
        rows = int(ychunks)
    except (TypeError, ValueError):
        return tile
    if rows > tile and rows % tile == 0 and rows * row_bytes <= CHUNK_READ_LIMIT:
        return rows
    return tile


def _materialize(part) -> np.ndarray:
    """``part`` as a numpy array. A dask selection of a single chunk is
    computed on this thread and returned as is: ``np.asarray`` would copy
    it once more (dask protects chunks that may live in its graph, and the
    writer never writes into a band)."""
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


def _release_mapped_pages(src) -> None:
    """Let the kernel drop the pages of a numpy memmap source we have read.

    Reading a memmap maps its pages into this process, so RSS would grow to
    the whole file; the data stays in the page cache either way. Only shared
    (not copy-on-write) mappings are released, so nothing is ever lost.
    """
    import mmap

    arr = src
    while isinstance(arr, np.ndarray):
        if isinstance(arr, np.memmap) and getattr(arr, "mode", "c") != "c":
            mm = getattr(arr, "_mmap", None)
            if isinstance(mm, mmap.mmap) and hasattr(mm, "madvise"):
                try:
                    mm.madvise(mmap.MADV_DONTNEED)
                except (OSError, ValueError):
                    pass
            return
        arr = arr.base


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / cgroup pinning
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _stem(tif_path: Path) -> str:
    name = tif_path.name
    for suffix in (".ome.tiff", ".ome.tif"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _reusable_levels(sources: list, layout: Layout, plan: PyramidPlan) -> dict[int, int]:
    """Map pyramid level -> source level to copy (level 0 is always source 0)."""
    roots = {0: 0}
    if len(sources) < 2:
        return roots
    base = dict(zip(layout.source_axes, layout.source_shape))
    for k, src in enumerate(sources[1:], start=1):
        shape = tuple(int(n) for n in src.shape)
        if len(shape) != len(base) or np.dtype(src.dtype) != np.dtype(sources[0].dtype):
            continue
        sizes = dict(zip(layout.source_axes, shape))
        if any(sizes[ax] != base[ax] for ax in layout.source_axes if ax not in "YX"):
            continue
        yx = (sizes["Y"], sizes["X"])
        for level in range(1, plan.nlevels):
            if plan.level_shapes[level] == yx and level not in roots:
                roots[level] = k
    return roots
