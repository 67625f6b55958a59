"""The producing half of export_pyramid: read, halve and encode, in file order.

One thread, the :class:`Producer`, walks the planes in the order they are
written. For each plane it reads the source once, one tile row at a time in
blocks of a few thousand columns (``Tuning.columns``; sources chunked in
full-width rows are read a whole chunk row at a time instead). Each
block's level-0 tiles go to the encoder pool, and their futures go, in
file order, to the thread that feeds the sink (:meth:`Producer.feed`). Each block is also halved
into the next level, whose tile rows are assembled in column chunks
(:class:`~napari_viv.write.downsample.LevelRows`); a complete chunk is encoded and halved in turn.

Where a lower level's tiles go depends on the sink. An ordered sink (a
TIFF) takes a plane's lower levels only after its level 0, so they wait in
the plane's :class:`~napari_viv.write.tilestore.TileStore` (RAM, then a
scratch file). An unordered sink (a Zarr store) files a tile under its
key whatever the order, so every tile's future goes to the feeding thread
as it is submitted and is stored as soon as it is encoded: nothing waits.

The producer runs at most a window of tiles (WINDOW_TILES_PER_WORKER per
encoder thread, at most LEVEL0_WINDOW_BYTES) ahead of the writer (level 0
only for an ordered sink, every level for an unordered one), across plane
boundaries, so the encoders keep working while the writer writes.
Memory therefore depends on the tile and block size, not on the image;
only the unfinished tile row of each lower level spans the image's width.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import Cancelled, NapariVivError
from ..lazy import MEMMAP_SPAN, STREAM_COLUMNS, materialize
from .codecs import Codec
from .downsample import LevelRows
from .layout import Layout, convert_band
from .plan import PyramidPlan
from .sink import TileSink
from .tilestore import SPILL_THRESHOLD, Counter, TileStore

#: Tiles (as raw bytes) submitted but not yet taken by the writer: level 0
#: for an ordered sink, every level for an unordered one. At most this many
#: bytes, and at most WINDOW_TILES_PER_WORKER tiles per encoder thread: enough
#: to keep every encoder busy while the writer writes; more only waits in
#: RAM, and on a 2-core machine a 16 MB window made the peak RSS grow with
#: the image's width (docs/benchmarks.md).
LEVEL0_WINDOW_BYTES = 16 * 1024 * 1024
WINDOW_TILES_PER_WORKER = 4

#: Largest read (bytes of one plane) when reading whole chunk rows at once.
CHUNK_READ_LIMIT = 64 * 1024 * 1024

#: Seconds between checks of cancel/stop while waiting for the writer.
POLL = 0.05


@dataclass(frozen=True)
class Tuning:
    """Sizes of an export's streaming that change its memory, not its output.

    The defaults suit real images; tests shrink them so that small images
    take the paths large ones take.
    """

    #: Columns of level 0 read, halved and encoded at a time (rounded to a
    #: multiple of the tile and of the source's column chunks).
    columns: int = STREAM_COLUMNS
    #: Bytes of a plane's encoded lower-level tiles kept in RAM before the
    #: rest goes to the scratch file.
    spill_threshold: int = SPILL_THRESHOLD
    #: Bytes of a memory-mapped source mapped at a time while reading it.
    memmap_span: int = MEMMAP_SPAN


class _Stopped(Exception):
    """The writer has stopped; the producer just ends."""


class Producer:
    """Reads, halves and encodes one export; see the module docstring.

    For an ordered sink the writer takes level-0 futures with
    :meth:`next_tile` (and must call :meth:`taken` for each), then the
    plane's store with :meth:`next_plane`; for an unordered one
    :meth:`feed` takes every level's futures as they come. Errors and
    cancellation raised here come out of those calls.
    """

    def __init__(
        self,
        plan: PyramidPlan,
        sources: list,
        sink: TileSink,
        *,
        pool,
        workers: int,
        cancel=None,
        tuning: Tuning = Tuning(),
    ):
        self.plan = plan
        self.tuning = tuning
        #: EncodedTiles whose bytes become level 0 unchanged (the source is
        #: still read, for the levels below), or None to encode level 0.
        self.copied = plan.copy_level0
        self._copy_index = 0
        #: The thread that reads the next block while :meth:`run` works on one.
        self._prefetch: ThreadPoolExecutor | None = None
        self.layout = plan.layout
        self.sources = sources
        self.roots = plan.reused  # pyramid level -> index into sources
        self.codec = plan.codec
        self.method = plan.downsample
        self.pool = pool
        self.sink = sink
        #: An unordered sink gets every level's tiles as they are encoded (no TileStore).
        self.direct = not sink.ordered
        self.cancel = cancel
        self.what = plan.subject
        self.stored = Counter()  # lower-level tiles encoded and stored
        t = plan.tile_size
        tile_bytes = t * t * plan.samples * plan.dtype.itemsize
        # tiles in flight: level-0 tiles not yet taken by the writer, and
        # lower-level encodings before the producer waits for them
        self._window = max(4, min(LEVEL0_WINDOW_BYTES // tile_bytes, WINDOW_TILES_PER_WORKER * workers))
        self._slots = threading.Semaphore(self._window)
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._order = self.layout.band_order()  # source axes of a block -> (Y, X[, S])

    # --- the writer's side -------------------------------------------------------

    def feed(self, report) -> None:
        """Hand the sink every tile, plane by plane (calling thread).

        An ordered sink gets a plane's level 0 as it is produced, then its
        lower levels from the plane's store; an unordered one every tile as
        it comes. ``report(done_tiles)`` is called after every level-0 tile
        row and every plane.
        """
        if self.direct:
            self._feed_unordered(report)
        else:
            self._feed_ordered(report)

    def _feed_unordered(self, report) -> None:
        """Store each tile under its key as soon as it is encoded, in the order it was submitted.

        The producer submits each level's tiles row by row, left to right,
        so a count per level gives a tile's row and column.
        """
        plan = self.plan
        cols = [plan.tiles_in(level)[1] for level in range(plan.nlevels)]
        done = 0
        for index in range(plan.nplanes):
            count = [0] * plan.nlevels
            while True:
                kind, obj = self._take()
                if kind == "plane":
                    break
                level, job = obj
                data = job.result()
                self.taken()
                i = count[level]
                count[level] += 1
                self.sink.put_tile(index, level, i // cols[level], i % cols[level], data)
                done += 1
                if level == 0 and (i + 1) % cols[0] == 0:
                    report(done)
            report(done)

    def _feed_ordered(self, report) -> None:
        """Hand an ordered sink each plane's level 0 as it comes, then its lower levels from its store."""
        plan = self.plan
        rows0, cols0 = plan.tiles_in(0)
        written = 0  # level-0 tiles handed to the sink

        def level0():
            nonlocal written
            for i in range(rows0 * cols0):
                data = self.next_tile().result()
                self.taken()
                written += 1  # before yielding: the sink stops asking after the last tile
                if (i + 1) % cols0 == 0:
                    report(written + self.stored.value)
                yield data

        for index in range(plan.nplanes):
            self.sink.put_level(index, 0, level0())
            store = self.next_plane()
            try:
                store.collect(wait=True)
                for level in range(1, plan.nlevels):
                    self.sink.put_level(index, level, store.tiles(level))
            finally:
                store.close()
            report(written + self.stored.value)

    def next_tile(self):
        """Take the next level-0 tile's encode future, in file order."""
        return self._next("tile")

    def taken(self) -> None:
        """Note that the writer has taken one level-0 tile: the producer may add one."""
        self._slots.release()

    def next_plane(self) -> TileStore:
        """Take the finished plane's store of lower-level tiles (after its level 0)."""
        return self._next("plane")

    def _next(self, expected: str):
        kind, obj = self._take()
        assert kind == expected, (kind, expected)
        return obj[1] if kind == "tile" else obj

    def _take(self) -> tuple[str, Any]:
        """Take the next item the producer queued; raise the error it handed over."""
        kind, obj = self._items.get()
        if kind == "error":
            raise obj
        return kind, obj

    def stop(self) -> None:
        """Make :meth:`run` end soon, and drop what the writer never took."""
        self._stop.set()

    def discard(self) -> None:
        """After :meth:`run` has ended: release anything left in the queue."""
        while True:
            try:
                kind, obj = self._items.get_nowait()
            except queue.Empty:
                return
            if kind == "tile":
                obj[1].cancel()
            elif kind == "plane" and obj is not None:
                obj.close()

    # --- the producing thread ----------------------------------------------------

    def run(self) -> None:
        """Produce every plane; errors are handed to the writer, not raised."""
        self._prefetch = ThreadPoolExecutor(1, thread_name_prefix="napari-viv-prefetch")
        try:
            self._run()
        finally:
            self._prefetch.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        try:
            plane_axes = self.layout.plane_axes
            ranges = [range(self.plan.sizes[ax]) for ax in plane_axes]
            for combo in itertools.product(*ranges):
                plane = dict(zip(plane_axes, combo, strict=True))
                self._copy_index = 0
                store = None  # an unordered sink takes the lower levels as they come
                if not self.direct:
                    store = TileStore(
                        self.plan.nlevels, self.sink.scratch, self.stored, spill_threshold=self.tuning.spill_threshold
                    )
                try:
                    for level in sorted(self.roots):  # level 0 first
                        self._stream_root(level, plane, store)
                except BaseException:
                    if store is not None:
                        store.close()
                    raise
                self._items.put(("plane", store))
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the writer thread
            self._items.put(("error", exc))

    def _check(self) -> None:
        if self._stop.is_set():
            raise _Stopped()
        if self.cancel is not None and self.cancel():
            raise Cancelled("export cancelled; nothing was written", subject=self.what)

    def _stream_root(self, level: int, plane: dict, store: TileStore | None) -> None:
        """Read pyramid ``level`` from its source and derive the levels below it.

        Down to the next level the source provides itself.
        """
        plan = self.plan
        t = plan.tile_size
        src = self.sources[self.roots[level]]
        last = level + 1
        while last < plan.nlevels and last not in self.roots:
            last += 1
        columns = self.tuning.columns
        samples = plan.samples if plan.rgb else None
        below = {
            lvl: LevelRows(plan.level_shapes[lvl], plan.tile_size, plan.dtype, chunk=columns >> lvl, samples=samples)
            for lvl in range(level + 1, last)
        }
        height, width = plan.level_shapes[level]
        row_bytes = width * plan.samples * plan.dtype.itemsize
        rows, cols = read_shape(src, self.layout, t, width, row_bytes, columns=columns)
        blocks = [
            (r0, min(r0 + rows, height), c0, min(c0 + cols, width))
            for r0 in range(0, height, rows)
            for c0 in range(0, width, cols)
        ]
        # Copied level-0 tiles from which no level is derived (the source gives
        # level 1): the pixels are never needed, so they are not read at all.
        unread = level == 0 and self.copied is not None and last == 1
        # The next block is read (and decoded, for a compressed source) on the
        # prefetch thread while this one is halved and its tiles are submitted:
        # one block more in memory, and reading no longer waits for halving.
        ahead = None
        try:
            for i, (r0, r1, c0, c1) in enumerate(blocks):
                self._check()
                if unread:  # only its shape is used: where the copied tiles go
                    band = np.broadcast_to(np.zeros((), plan.dtype), (r1 - r0, c1 - c0))
                elif ahead is None:
                    band = self._read(src, plane, r0, r1, c0, c1)
                else:
                    band, ahead = ahead.result(), None
                if i + 1 < len(blocks) and not unread:
                    assert self._prefetch is not None  # run() made it
                    ahead = self._prefetch.submit(self._read, src, plane, *blocks[i + 1])
                for y0 in range(0, r1 - r0, t):
                    part = band[y0 : y0 + t]
                    self._encode(level, part, store)
                    self._down(level + 1, part, c0, c1 == width, store, below)
                if store is not None:
                    store.collect()
        finally:
            if ahead is not None and not ahead.cancel():
                ahead.exception()  # never leave a read running on a source being closed

    def _encode(self, level: int, rows: np.ndarray, store: TileStore | None) -> None:
        """Submit the tiles of a block of one tile row of ``level``.

        Their futures go to the writer in submission order, except those of
        an ordered sink's lower levels, which wait in the plane's ``store``.
        """
        t = self.plan.tile_size
        if level and store is not None:
            store.add(
                level, [self.pool.submit(_encode_tile, self.codec, rows, x, t) for x in range(0, rows.shape[1], t)]
            )
            store.collect(limit=self._window)
            return
        for x in range(0, rows.shape[1], t):
            while not self._slots.acquire(timeout=POLL):
                self._check()
            if level == 0 and self.copied is not None:  # level-0 tiles come in file (row-major) order
                job = self.pool.submit(self.copied.read, self._copy_index)
                self._copy_index += 1
            else:
                job = self.pool.submit(_encode_tile, self.codec, rows, x, t)
            self._items.put(("tile", (level, job)))

    def _down(self, level: int, rows: np.ndarray, x0: int, ends_pass: bool, store, below) -> None:
        """Halve a block of the level above into ``level``.

        Whatever chunks of ``level`` that completes are encoded and halved further.
        """
        acc = below.get(level)
        if acc is None:
            return
        for cx0, chunk in acc.put(rows, x0, ends_pass, self.method):
            self._encode(level, chunk, store)
            self._down(level + 1, chunk, cx0, cx0 + chunk.shape[1] == acc.width, store, below)

    def _read(self, src, plane: dict, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        try:
            band = materialize(src[self.layout.plane_index(plane, slice(y0, y1), slice(x0, x1))])
        except (NapariVivError, KeyboardInterrupt):
            raise
        except Exception as exc:
            where = ", ".join(f"{k}={v}" for k, v in plane.items())
            raise NapariVivError(
                f"reading rows {y0}-{y1}{' at ' + where if where else ''} failed: {exc}",
                subject=self.what,
            ) from exc
        if self._order != tuple(range(band.ndim)):
            band = band.transpose(self._order)
        return convert_band(band, self.plan.dtype)


def run_stream(
    plan: PyramidPlan,
    sources: list,
    sink: TileSink,
    *,
    workers: int,
    progress=None,
    cancel=None,
    tuning: Tuning = Tuning(),
) -> None:
    """Read, halve and encode ``sources`` on ``workers`` threads into ``sink``.

    The producer runs on its own thread; the calling thread feeds the sink
    and calls ``progress(done_tiles, total_tiles)``. Errors and
    cancellation from either side are raised here, after every thread has
    stopped.
    """
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="napari-viv-encode")
    reader = ThreadPoolExecutor(1, thread_name_prefix="napari-viv-read")

    def report(done: int) -> None:
        if progress is not None:
            progress(min(done, plan.ntiles), plan.ntiles)

    try:
        producer = Producer(plan, sources, sink, pool=pool, workers=max(1, workers), cancel=cancel, tuning=tuning)
        running = reader.submit(producer.run)
        try:
            producer.feed(report)
        finally:
            producer.stop()
            running.result()  # run() hands its errors over; it never raises
            producer.discard()
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)


def part_of(progress, before: int, total: int):
    """Give a ``progress(done, total)`` callback for one part of a larger job.

    The part's ``done`` tiles are reported after the ``before`` tiles of the
    parts ahead of it, out of the whole job's ``total``; None without ``progress``.

    Examples
    --------
    >>> seen = []
    >>> part_of(lambda done, total: seen.append((done, total)), 10, 30)(4, 20)
    >>> seen
    [(14, 30)]
    """
    if progress is None:
        return None
    return lambda done, _of: progress(before + done, total)


def _encode_tile(codec: Codec, band: np.ndarray, x0: int, tile: int) -> bytes | bytearray:
    part = band[:, x0 : x0 + tile]  # a view; the codec reads it in place
    if part.shape[0] != tile or part.shape[1] != tile:  # edge tiles are zero-padded
        full = np.zeros((tile, tile) + part.shape[2:], dtype=part.dtype)
        full[: part.shape[0], : part.shape[1]] = part
        part = full
    return codec.encode(part)


def read_shape(
    src, layout: Layout, tile: int, width: int, row_bytes: int, *, columns: int = STREAM_COLUMNS
) -> tuple[int, int]:
    """(rows, columns) to read from ``src`` at a time.

    One tile row by up to ``columns`` columns (a multiple of the tile and of
    the source's column chunks), or, for a source whose row chunks are a
    multiple of the tile, a whole chunk row (up to CHUNK_READ_LIMIT), so
    each chunk is decoded or computed once.
    """
    rows = _chunk(src, layout, "Y")
    if rows and rows > tile and rows % tile == 0 and rows * row_bytes <= CHUNK_READ_LIMIT:
        return rows, width
    cols = _chunk(src, layout, "X")
    if cols is None:  # numpy, memory maps: any block is cheap
        unit = tile
    elif cols >= width:
        return tile, width
    else:
        unit = math.lcm(cols, tile)
    if unit > columns:
        return tile, width if unit >= width else unit
    return tile, min(width, unit * (columns // unit))


def _chunk(src, layout: Layout, axis: str) -> int | None:
    """Return the chunk size of ``src`` along ``axis`` if it is regular, else None."""
    chunks: Any = getattr(src, "chunks", None)
    try:
        size = chunks[layout.source_axes.index(axis)]
    except (TypeError, IndexError, KeyError, ValueError):
        return None
    if isinstance(size, tuple):  # dask: sizes of every chunk
        if not size or len(set(size[:-1])) > 1 or size[-1] > size[0]:
            return None if axis == "Y" else 10**12  # irregular: read full width
        size = size[0]
    try:
        return int(size)
    except (TypeError, ValueError):
        return None
