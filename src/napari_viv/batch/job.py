"""One file's conversion: what ``napari-viv convert`` runs and what ``batch`` runs per file.

:func:`convert_one` opens an input lazily and streams it through
:func:`~napari_viv.write.writer.export_pyramid`, turning every failure into a
one-line :class:`~napari_viv.errors.NapariVivError` that names the file.
:func:`output_is_current` is the cheap resume check of ``batch``.
:func:`convert_task` is the function a ``dask.distributed`` worker runs for
one file; it imports nothing from ``distributed`` until it runs.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .. import naming
from ..errors import Cancelled, NapariVivError
from ..text import one_line

#: Test-only: ``DIR:NAME`` makes the first attempt at the input named NAME stop
#: mid-file (once its first tiles are written) after writing its process id to
#: ``DIR/NAME.stalled``; it waits there until cancelled (or killed), so a test
#: can kill a worker or press Ctrl-C at a known point.
STALL_ENV = "NAPARI_VIV_TEST_STALL"


@dataclass(frozen=True)
class ConvertOptions:
    """``convert``'s options, as given on the command line (None: the input's own)."""

    #: None: 512, or the source's own JPEG tile size when its tiles are copied.
    tile_size: int | None = None
    #: None: zlib (lossless), except for JPEG-compressed 8-bit RGB input, which stays JPEG.
    compression: str | None = None
    levels: int | str = "auto"
    downsample: str | None = None
    channel_names: tuple[str, ...] | None = None
    pixel_size: tuple[tuple[str, float], ...] | None = None
    unit: str | None = None
    series: int | None = None
    workers: int | None = None

    @classmethod
    def from_args(cls, args) -> ConvertOptions:
        """The options of parsed ``convert``/``batch`` arguments; checks ``--unit`` and
        that ``--series`` and ``--all-series`` are not both given."""
        from ..metadata import normalize_unit

        if getattr(args, "all_series", False) and args.series is not None:
            raise NapariVivError("--series and --all-series exclude each other; give one")
        unit = None
        if args.unit is not None and args.pixel_size is None:
            raise NapariVivError("--unit is the unit of --pixel-size; give both (the input's own "
                                 "sizes keep their own unit)")
        if args.unit is not None:
            try:
                unit = normalize_unit(args.unit)
            except ValueError as exc:
                raise NapariVivError(f"--unit: {exc}") from None
        elif args.pixel_size is not None:
            unit = normalize_unit(None)
        return cls(
            tile_size=args.tile_size, compression=args.compression, levels=args.levels,
            downsample=args.downsample,
            channel_names=tuple(args.channel_names) if args.channel_names is not None else None,
            pixel_size=tuple(args.pixel_size.items()) if args.pixel_size is not None else None,
            unit=unit, series=args.series, workers=args.workers,
        )

    def for_series(self, series: int | None) -> ConvertOptions:
        """These options for image series ``series`` (``--all-series``); None: as they are."""
        return self if series is None else replace(self, series=series)


def series_outputs(src, out, note=None) -> list[tuple[int, Path]]:
    """``[(series, output)]`` for ``--all-series``: every image series of ``src``
    (as :func:`~napari_viv.read.list_series` numbers them), each to its own file
    named by :func:`~napari_viv.naming.series_output_path` (``x.ome.tif`` ->
    ``x_s<N>.ome.tif``), also when there is only one series, so the names of an
    input's outputs never depend on how many series it holds.

    A slide's thumbnail, label and macro images are left out, as napari's
    reader leaves them out (a label often carries the patient's identifiers);
    ``note(text)`` is told which, and ``--series N`` still converts one.

    Raises :class:`NapariVivError` when ``src`` is missing or cannot be read.
    """
    from ..read import list_series

    src = Path(src)
    if not src.exists():
        raise NapariVivError(f"{src}: no such file")
    listed = list_series(src)
    images = [info for info in listed if info.kind != "associated"] or listed
    left = [info for info in listed if info not in images]
    if left and note is not None:
        names = ", ".join(f"{info.name or 'image'} (series {info.index})" for info in left)
        note(f"left out the slide's associated images: {names}; convert one with --series N")
    return [(info.index, naming.series_output_path(out, info.index)) for info in images]


def convert_one(src, out, options: ConvertOptions, *, overwrite: bool = False,
                progress=None, cancel=None, workers: int | None = None, note=None):
    """Convert ``src`` to the Viv pyramid ``out`` (+ sidecars); return ``(source, result)``.

    ``out`` must already be a checked output path (see ``naming.output_path``).
    ``workers`` (encoding threads) applies when ``options.workers`` is None.
    ``note(text)`` receives one-line remarks (e.g. why JPEG tiles are re-encoded);
    by default they go to stderr.
    Raises :class:`NapariVivError` naming the file, or :class:`Cancelled` when
    ``cancel()`` turned true; either way nothing is left at ``out``.
    """
    from ..read import open_image
    from ..write.writer import export_pyramid

    src_path, out = Path(src), Path(out)
    source = open_image(src_path, series=options.series, streaming=True)  # every block read once
    meta = source.metadata
    names = list(options.channel_names) if options.channel_names is not None else None
    sizes = dict(options.pixel_size) if options.pixel_size is not None else None
    if names is not None:
        if "C" not in meta.axes:
            raise NapariVivError(f"{src_path}: has no channel axis; --channel-names does not apply")
        nc = source.shape[meta.axes.index("C")]
        if len(names) != nc:
            raise NapariVivError(
                f"{src_path}: has {nc} channels but --channel-names gives {len(names)}"
            )
    if sizes is not None and "z" in sizes and "Z" not in meta.axes:
        raise NapariVivError(f"{src_path}: has no Z axis; give --pixel-size X or X,Y")
    compression, tile_size, copy = _jpeg_choice(src_path, options, note)
    fast = None
    if meta.axes == "YXS":  # RGB: a JPEG slide is decoded on every core (read/jpeg_tiles.py)
        from ..read.jpeg_tiles import fast_jpeg_levels

        fast = fast_jpeg_levels(src_path, options.series, options.downsample, level0_copied=copy is not None)
    try:
        written = export_pyramid(
            fast if fast and fast[0].shape == tuple(source.shape)
            else source.levels if len(source.levels) > 1 and options.downsample is None
            else source.levels[0],
            out,
            metadata=meta,
            channel_names=names,
            physical_sizes=_merged_sizes(meta.physical_sizes, sizes),
            unit=options.unit,
            tile_size=tile_size,
            levels=options.levels,
            compression=compression,
            copy_level0=copy,
            downsample=options.downsample or "mean",
            workers=options.workers or workers,
            overwrite=overwrite,
            progress=progress,
            cancel=cancel,
        )
    except (Cancelled, KeyboardInterrupt):
        raise
    except NapariVivError as exc:
        # The writer names the image (its OME name); on the command line, name the file.
        text = str(exc)
        if meta.name and text.startswith(f"{meta.name}: ") and str(src_path) not in text:
            raise NapariVivError(f"{src_path}: {text[len(meta.name) + 2:]}") from None
        raise
    except MemoryError:
        raise NapariVivError(f"{src_path}: out of memory while converting") from None
    except OSError as exc:
        raise NapariVivError(f"{out}: {exc.strerror or exc}") from None
    except Exception as exc:  # a decode error deep inside a tile read, most likely
        if os.environ.get("NAPARI_VIV_DEBUG"):
            raise
        raise NapariVivError(f"{src_path}: cannot read the image data ({one_line(exc, 200)})") from None
    return source, written


def _merged_sizes(known: dict, given: dict | None) -> dict | None:
    if given is None:
        return None
    sizes = dict(given)
    if "z" not in sizes and "z" in known:
        sizes["z"] = known["z"]
    return sizes


def cores() -> int:
    """CPU cores this process may use (its affinity mask, e.g. a SLURM allocation)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# --- resume ------------------------------------------------------------------


def input_stat(path) -> tuple[int, float]:
    """``(size, mtime)`` of an input: a file's own, or for a ``.zarr`` folder the
    total size of its files and the time of its newest entry (one walk of it)."""
    p = Path(path)
    st = p.stat()
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size, st.st_mtime
    size, mtime = 0, st.st_mtime
    for f in p.rglob("*"):
        try:
            s = f.stat()
        except FileNotFoundError:  # a dangling link: no data, no time
            continue
        mtime = max(mtime, s.st_mtime)
        if stat.S_ISREG(s.st_mode):
            size += s.st_size
    return size, mtime


def output_is_current(src, out, *, src_mtime: float | None = None) -> str | None:
    """None when ``out`` is a complete conversion newer than ``src``; else why it is not.

    The check is cheap (no pixel is read): the image and its offsets file
    exist, the image is newer than the input, its IFD chain parses and matches
    the offsets file, and the tiles of every plane (and every level of the
    last plane) end inside the file. ``src_mtime`` is ``src``'s time from
    :func:`input_stat` when the caller has it (a ``.zarr`` input is walked once).
    """
    import json

    import tifffile

    src, out = Path(src), Path(out)
    if not out.is_file():
        return "no output yet"
    offsets_file = naming.offsets_path(out)
    if not offsets_file.is_file():
        return f"{offsets_file.name} is missing"
    try:
        out_stat = out.stat()
        if src_mtime is None:
            src_mtime = input_stat(src)[1]
        if out_stat.st_mtime < src_mtime:
            return "the input is newer than the output"
        recorded = json.loads(offsets_file.read_text())
        size = out_stat.st_size
        with tifffile.TiffFile(out) as tif:
            pages = list(tif.pages)
            if [p.offset for p in pages] != recorded:
                return f"{offsets_file.name} does not match the image"
            check = list(pages)
            if pages and pages[-1].subifds:
                for lvl, off in enumerate(pages[-1].subifds, start=1):
                    tif.filehandle.seek(off)
                    check.append(tifffile.TiffPage(tif, index=(len(pages) - 1, lvl)))
            for page in check:
                if len(page.dataoffsets) and max(
                        o + c for o, c in zip(page.dataoffsets, page.databytecounts)) > size:
                    return "the output is truncated"
    except Exception as exc:  # noqa: BLE001 - unreadable JSON or TIFF: convert again
        return f"the output is damaged ({one_line(exc, 80)})"
    return None


# --- the task a dask.distributed worker runs ------------------------------------------

#: Batch ids whose tasks should stop (set on each worker by ``Client.run``).
_CANCELLED: set[str] = set()
_EVENT_EVERY = 0.5  # seconds between progress events from a worker


def cancel_batch(batch_id: str) -> None:
    """Run on every worker by the client on Ctrl-C: running tasks of the batch cancel."""
    _CANCELLED.add(batch_id)


def topic(batch_id: str, kind: str) -> str:
    """The ``dask.distributed`` event topic of a batch's ``started`` or ``progress`` events."""
    return f"napari-viv-batch-{kind}-{batch_id}"


def stall_hook(src: Path, cancel):
    """Test-only (see STALL_ENV): a progress hook that stalls the first attempt at ``src``."""
    spec = os.environ.get(STALL_ENV)
    if not spec or ":" not in spec:
        return None
    folder, name = spec.rsplit(":", 1)
    if src.name != name:
        return None
    marker = Path(folder) / f"{name}.stalled"

    def hook(done: int, total: int) -> None:
        if done == 0 or done >= total or marker.exists():
            return
        tmp = marker.with_name(f".{marker.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(str(os.getpid()))
        try:
            os.link(tmp, marker)  # only the first attempt gets the marker
        except FileExistsError:
            return
        finally:
            tmp.unlink()
        while not cancel():  # until cancelled, or killed by the test
            time.sleep(0.05)

    return hook


def _jpeg_choice(src_path: Path, options: ConvertOptions, note):
    """(compression, tile size, tiles to copy) for ``src_path``.

    JPEG-compressed 8-bit RGB input stays JPEG unless a compression is given;
    its level-0 tiles are copied unchanged when they are square powers of two
    and the tile size is not forced to another value.
    """
    from ..read.encoded import jpeg_level0
    from ..write.codecs import parse_spec

    compression, tile_size = options.compression, options.tile_size
    try:
        wants_jpeg = compression is None or parse_spec(compression)[0] == "jpeg"
    except NapariVivError:
        wants_jpeg = False  # the export names the file and the problem
    tiles, why = None, None
    if wants_jpeg and src_path.is_file():
        try:
            tiles, why = jpeg_level0(src_path, options.series)
        except Exception:  # noqa: BLE001 - not a TIFF tifffile can read: open_image said so already
            tiles, why = None, None
    is_jpeg = tiles is not None or why is not None
    if compression is None:
        compression = "jpeg" if is_jpeg else "zlib"
    if tiles is not None and tile_size not in (None, tiles.tile):
        why = (f"{src_path.name}: --tile-size {tile_size} differs from the source's "
               f"{tiles.tile}-px JPEG tiles; they are re-encoded")
        tiles = None
    if why is not None:
        (note or _stderr)(why)
    if tiles is not None:
        tile_size = tiles.tile
    return compression, tile_size or 512, tiles


def _stderr(text: str) -> None:
    import sys

    print(f"note: {text}", file=sys.stderr)


def convert_task(src: str, out: str, options: ConvertOptions, batch_id: str,
                 overwrite: bool = True, workers: int | None = None) -> dict:
    """Convert one file (``options.series`` of it) on a ``dask.distributed`` worker;
    return its row for the report. Its events name ``src`` and ``out``; the client
    tells rows apart by ``out`` (``--all-series`` gives one input several rows).

    A bad input is a ``failed`` row (not an exception, so dask does not retry
    it). Encoding uses ``workers`` threads (``--workers`` wins over it), by
    default the worker's share of its machine's cores: all of them divided
    by the worker's thread count (each thread may run one file at a time).
    """
    from distributed import get_worker

    worker = get_worker()
    src_path = Path(src)
    started = time.perf_counter()
    last = [0.0]
    stall = stall_hook(src_path, lambda: batch_id in _CANCELLED)

    def event(kind, **msg):
        worker.log_event(topic(batch_id, kind),
                         {"input": src, "output": out, "worker": worker.address, **msg})

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= _EVENT_EVERY or done == total:
            last[0] = now
            event("progress", done=done, total=total)
        if stall is not None:
            stall(done, total)
        if batch_id in _CANCELLED:  # also once every block is read and only writing is left
            raise Cancelled(f"{src}: stopped; nothing was written")

    event("started", pid=os.getpid())
    if workers is None:
        nthreads = getattr(getattr(worker, "state", None), "nthreads", None) or 1
        workers = max(1, cores() // nthreads)
    notes: list[str] = []
    row = {"worker": worker.address, "notes": notes}
    try:
        source, written = convert_one(src_path, out, options, overwrite=overwrite,
                                      progress=progress, cancel=lambda: batch_id in _CANCELLED,
                                      workers=workers, note=notes.append)
        notes += source.notes
    except Cancelled:
        row.update(status="interrupted", reason="stopped; nothing was written")
    except NapariVivError as exc:
        row.update(status="failed", reason=str(exc))
    else:
        row.update(status="done", reason="", output_bytes=written.nbytes,
                   written=[str(p) for p in written.paths])
    row["seconds"] = time.perf_counter() - started
    return row
