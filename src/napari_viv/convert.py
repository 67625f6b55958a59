"""One input file to one Viv pyramid (OME-TIFF or OME-Zarr): what ``napari-viv convert`` runs, and ``batch`` per file.

:class:`ConvertOptions` are the conversion options (``None``: the input's
own). :func:`convert_one` opens an input lazily and streams it through
:func:`~napari_viv.write.writer.export_pyramid`; every failure is a
one-line :class:`~napari_viv.errors.NapariVivError` about the input file (or
about the output, when writing it failed). :func:`series_outputs` names the
outputs of ``--all-series``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import naming
from .errors import Cancelled, NapariVivError
from .text import one_line

#: Where one-line remarks go (e.g. why JPEG tiles are re-encoded).
Note = Callable[[str], None]


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert a file; ``None`` keeps the input's own value or the default.

    Examples
    --------
    >>> ConvertOptions(tile_size=256).for_series(2).series
    2
    """

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
    #: "ome-tiff" or "ome-zarr"; None: by the output's suffix (.ome.zarr / .zarr: OME-Zarr).
    format: str | None = None
    #: NGFF version of an OME-Zarr output: "0.4" (Zarr v2) or "0.5" (Zarr v3, sharded).
    ngff: str = "0.4"
    #: Shard edge in pixels for NGFF 0.5; None: the writer's default.
    shard_size: int | None = None

    def for_series(self, series: int | None) -> ConvertOptions:
        """Return these options for image series ``series``; None: as they are."""
        return self if series is None else replace(self, series=series)


def series_outputs(src, out, note: Note | None = None) -> list[tuple[int, Path]]:
    """List ``[(series, output)]`` for ``--all-series``: one per image series of ``src``.

    Every image series (as :func:`~napari_viv.read.list_series` numbers them)
    goes to its own file named by :func:`~napari_viv.naming.series_output_path`
    (``x.ome.tif`` -> ``x_s<N>.ome.tif``), also when there is only one, so the
    names of an input's outputs never depend on how many series it holds. A
    slide's thumbnail, label and macro images are left out, as napari's reader
    leaves them out (a label often carries the patient's identifiers); ``note``
    is told which, and ``--series N`` still converts one.

    Parameters
    ----------
    src : str or os.PathLike
        The input file.
    out : str or os.PathLike
        The output name the series' names are made from.
    note : callable, optional
        Receives one-line remarks.

    Returns
    -------
    list of (int, pathlib.Path)
        The series number and its output path.

    Raises
    ------
    NapariVivError
        When ``src`` is missing or cannot be read.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "a.npy", np.zeros((8, 8), np.uint16))
    >>> [(i, p.name) for i, p in series_outputs(folder / "a.npy", folder / "a.ome.tif")]
    [(0, 'a_s0.ome.tif')]
    """
    from .read import list_series

    src = Path(src)
    if not src.exists():
        raise NapariVivError("no such file", subject=src)
    listed = list_series(src)
    images = [info for info in listed if info.kind != "associated"] or listed
    left = [info for info in listed if info not in images]
    if left and note is not None:
        names = ", ".join(f"{info.name or 'image'} (series {info.index})" for info in left)
        note(f"left out the slide's associated images: {names}; convert one with --series N")
    return [(info.index, naming.series_output_path(out, info.index)) for info in images]


def convert_one(
    src,
    out,
    options: ConvertOptions,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    workers: int | None = None,
    note: Note | None = None,
):
    """Convert ``src`` to the Viv pyramid ``out`` with its sidecars.

    Parameters
    ----------
    src : str or os.PathLike
        The input image (any format :func:`~napari_viv.read.open_image` reads).
    out : str or os.PathLike
        A checked output path (see :func:`~napari_viv.naming.export_path`): a
        ``.ome.tif`` file, or an OME-Zarr store when ``options.format`` says so
        or the name ends in ``.ome.zarr`` / ``.zarr``.
    options : ConvertOptions
        How to convert it.
    overwrite : bool
        Replace an existing output.
    progress : callable, optional
        ``progress(done_tiles, total_tiles)``.
    cancel : callable, optional
        Polled; when it returns true the conversion stops.
    workers : int, optional
        Encoding threads, when ``options.workers`` is None.
    note : callable, optional
        Receives one-line remarks about the conversion (e.g. why JPEG tiles are
        re-encoded, or that float16 pixels are written as float32); by default
        they go to stderr.

    Returns
    -------
    tuple of (SourceImage, ExportResult)
        The opened input and what was written.

    Raises
    ------
    NapariVivError
        About the input file (or the output, when writing failed); the reader's
        errors pass through as they are. :class:`~napari_viv.errors.Cancelled`
        when ``cancel()`` turned true. Either way nothing is left at ``out``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "a.npy", np.zeros((2, 64, 64), np.float16))
    >>> notes = []
    >>> source, written = convert_one(folder / "a.npy", folder / "a.ome.tif", ConvertOptions(),
    ...                               note=notes.append)
    >>> written.image.name, notes
    ('a.ome.tif', ['float16 pixels are written as float32: exact (every float16 is a float32)'])
    """
    from .read import open_image
    from .write.writer import export_pyramid

    src_path, out = Path(src), Path(out)
    say = note or _stderr
    source = open_image(src_path, series=options.series, streaming=True)  # every block read once
    meta = source.metadata
    names = _channel_names(source, options, src_path)
    sizes = dict(options.pixel_size) if options.pixel_size is not None else None
    if sizes is not None and "z" in sizes and "Z" not in meta.axes:
        raise NapariVivError("has no Z axis; give --pixel-size X or X,Y", subject=src_path)
    fmt = naming.output_format(out, options.format)
    if fmt == "ome-zarr":  # a store holds no JPEG: the Zarr codecs only (default: the Zarr default)
        compression, tile_size, copy = options.compression, options.tile_size or 512, None
    else:
        compression, tile_size, copy = _jpeg_choice(src_path, options, say)
    try:
        written = export_pyramid(
            _source_levels(source, src_path, options, copy),
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
            format=fmt,
            ngff=options.ngff,
            shard_size=options.shard_size,
        )
    except (Cancelled, KeyboardInterrupt):
        raise
    except NapariVivError as exc:
        raise _about_input(exc, meta.name, src_path) from None
    except MemoryError:
        raise NapariVivError("out of memory while converting", subject=src_path) from None
    except OSError as exc:
        raise NapariVivError(str(exc.strerror or exc), subject=out) from None
    except Exception as exc:  # a decode error deep inside a tile read, most likely
        if os.environ.get("NAPARI_VIV_DEBUG"):
            raise
        problem = f"cannot read the image data ({one_line(exc, 200)})"
        raise NapariVivError(problem, subject=src_path) from None
    dtype_note = written_dtype_note(source.dtype)
    if dtype_note is not None:
        say(dtype_note)
    return source, written


def written_dtype_note(dtype) -> str | None:
    """Say how pixels of ``dtype`` are converted when written; None when written as they are.

    Parameters
    ----------
    dtype : numpy dtype or str
        The input's pixel type.

    Returns
    -------
    str or None
        One line naming both types and what happens to the values.

    Examples
    --------
    >>> written_dtype_note("bool")
    'bool pixels are written as uint8: False -> 0, True -> 255 (visible with any 8-bit contrast)'
    >>> written_dtype_note("uint16") is None
    True
    """
    from .write.layout import DTYPE_RULES, output_dtype

    given = np.dtype(dtype)
    written = output_dtype(given)
    if written.name == given.name:
        return None
    how = DTYPE_RULES.get(given.name, (written.name, ""))[1]
    return f"{given.name} pixels are written as {written.name}" + (f": {how}" if how else "")


def _about_input(exc: NapariVivError, image_name: str | None, src_path: Path) -> NapariVivError:
    """Make the export's error about the input file when it was about the image.

    The writer names the image (by its OME name); the user named a file. An
    error about anything else (the output path, say) keeps its subject.
    """
    if exc.subject is None or exc.subject == image_name:
        return exc.about(src_path)
    return exc


def _channel_names(source, options: ConvertOptions, src_path: Path) -> list[str] | None:
    """``--channel-names`` checked against the input's channel axis."""
    if options.channel_names is None:
        return None
    names = list(options.channel_names)
    axes = source.metadata.axes
    if "C" not in axes:
        raise NapariVivError("has no channel axis; --channel-names does not apply", subject=src_path)
    nc = source.shape[axes.index("C")]
    if len(names) != nc:
        raise NapariVivError(f"has {nc} channels but --channel-names gives {len(names)}", subject=src_path)
    return names


def _merged_sizes(known: dict, given: dict | None) -> dict | None:
    if given is None:
        return None
    sizes = dict(given)
    if "z" not in sizes and "z" in known:
        sizes["z"] = known["z"]
    return sizes


def _source_levels(source, src_path: Path, options: ConvertOptions, copy) -> list:
    """Return the levels the export reads: a JPEG slide's fast readers, the input's own levels, or level 0.

    A JPEG-tiled RGB slide is decoded on every core, and its level 1 (when level 0's
    tiles are copied) by half-size DCT decoding (:mod:`napari_viv.read.jpeg_tiles`).
    The input's own lower levels are reused unless ``--downsample`` asks to recompute them.
    """
    if source.metadata.axes == "YXS":
        from .read.jpeg_tiles import fast_jpeg_levels

        fast = fast_jpeg_levels(src_path, options.series, options.downsample, level0_copied=copy is not None)
        if fast and fast[0].shape == tuple(source.shape):
            return fast
    return source.levels if len(source.levels) > 1 and options.downsample is None else [source.levels[0]]


def _jpeg_choice(src_path: Path, options: ConvertOptions, note: Note):
    """Return (compression, tile size, tiles to copy) for ``src_path``.

    JPEG-compressed 8-bit RGB input stays JPEG unless a compression is given;
    its level-0 tiles are copied unchanged when they are square powers of two
    and the tile size is not forced to another value.
    """
    from .read.jpeg import jpeg_level0
    from .write.codecs import parse_spec

    compression, tile_size = options.compression, options.tile_size
    try:
        wants_jpeg = compression is None or parse_spec(compression)[0] == "jpeg"
    except NapariVivError:
        wants_jpeg = False  # the export names the problem
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
        why = f"--tile-size {tile_size} differs from the source's {tiles.tile}-px JPEG tiles; they are re-encoded"
        tiles = None
    if why is not None:
        note(why)
    if tiles is not None:
        tile_size = tiles.tile
    return compression, tile_size or 512, tiles


def _stderr(text: str) -> None:
    import sys

    print(f"note: {text}", file=sys.stderr)
