"""The conversion options ``convert`` and ``batch`` share, and the ConvertOptions they give.

Every value is checked by its argparse type (see :mod:`napari_viv.cli.common`)
and options that exclude each other are refused by argparse, so a bad option
exits 2 with a usage line before any file is opened.
"""

from __future__ import annotations

import argparse

from ..convert import ConvertOptions
from ..errors import NapariVivError
from ..naming import FORMATS
from ..write.plan import NGFF_VERSIONS
from ..write.zarrsink import SHARD_TILES
from .common import (
    UsageError,
    compression_arg,
    levels_arg,
    names_arg,
    nonneg_int,
    positive_int,
    shard_size_arg,
    sizes_arg,
    tile_size_arg,
    unit_arg,
)


def add_conversion_options(p: argparse.ArgumentParser, output: str) -> None:
    """Add the options that say how a file is converted.

    Parameters
    ----------
    p : argparse.ArgumentParser
        ``convert``'s or ``batch``'s parser.
    output : str
        How the output is named in the help of ``--all-series``.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_conversion_options(p, output="OUTPUT")
    >>> p.parse_args(["--tile-size", "256"]).tile_size
    256
    """
    p.add_argument(
        "--tile-size",
        type=tile_size_arg,
        default=None,
        metavar="N",
        help="tile edge in pixels, a power of two >= 16 (default 512, or the size of JPEG tiles copied from the input)",
    )
    add_format_options(p)
    p.add_argument(
        "--levels",
        type=levels_arg,
        default="auto",
        metavar="auto|N",
        help="number of pyramid levels including full resolution (default auto)",
    )
    p.add_argument(
        "--downsample",
        choices=("mean", "nearest"),
        default=None,
        help="how each level is reduced from the previous one (default mean; a JPEG "
        "slide whose tiles are copied gets level 1 by half-size JPEG decoding); "
        "when given, an input's own pyramid levels are recomputed, not copied",
    )
    p.add_argument(
        "--channel-names",
        type=names_arg,
        default=None,
        metavar="A,B,C",
        help="channel names, comma-separated (overrides the input's)",
    )
    p.add_argument(
        "--pixel-size",
        type=sizes_arg,
        default=None,
        metavar="X[,Y[,Z]]",
        help="physical pixel size (overrides the input's); Y defaults to X",
    )
    p.add_argument(
        "--unit", type=unit_arg, default=None, metavar="UNIT", help="unit of --pixel-size: um (default), nm, mm, ..."
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--series",
        type=nonneg_int,
        default=None,
        metavar="N",
        help="which image series of a multi-series input (default 0)",
    )
    which.add_argument(
        "--all-series",
        action="store_true",
        help="convert every image series (e.g. each Micro-Manager position) to its "
        f"own file: {output}_s0.ome.tif, {output}_s1.ome.tif, ... (also when "
        "there is one); not with --series",
    )
    p.add_argument(
        "--workers", type=positive_int, default=None, metavar="N", help="encoding threads (default: all cores)"
    )


def add_format_options(p: argparse.ArgumentParser) -> None:
    """Add the options that choose the output's format and codec (OME-TIFF or OME-Zarr).

    Parameters
    ----------
    p : argparse.ArgumentParser
        ``convert``'s or ``batch``'s parser.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_format_options(p)
    >>> p.parse_args(["--format", "ome-zarr", "--ngff", "0.5"]).ngff
    '0.5'
    """
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="ome-tiff (a .ome.tif file + offsets.json) or ome-zarr (a .ome.zarr store, a folder); "
        "default: by the output's suffix (.ome.zarr or .zarr: ome-zarr), else ome-tiff",
    )
    p.add_argument(
        "--ngff",
        choices=NGFF_VERSIONS,
        default=None,
        help="OME-Zarr only: NGFF 0.4 (Zarr v2, one file per tile; default, what Avivator, "
        "vizarr, napari-ome-zarr, QuPath and Fiji read) or 0.5 (Zarr v3, tiles grouped in shards)",
    )
    p.add_argument(
        "--shard-size",
        type=shard_size_arg,
        default=None,
        metavar="N",
        help=f"NGFF 0.5 only: shard edge in pixels, a multiple of the tile size (default {SHARD_TILES} "
        "tiles: 4096 px, a few thousand files for a whole slide)",
    )
    p.add_argument(
        "--compression",
        type=compression_arg,
        default=None,
        metavar="C",
        help="OME-TIFF: zlib (default: lossless, libdeflate level 1 + predictor), zlib:LEVEL "
        "(1-12), lzw, none, or jpeg[:QUALITY] (lossy, 8-bit only, quality "
        "1-100, default 85); JPEG-compressed 8-bit RGB input stays JPEG, its "
        "tiles copied unchanged when they can be. OME-Zarr: blosc (default: "
        "blosc-zstd:1, bit-shuffle), blosc-zstd[:1-9], blosc-lz4[:1-9], zstd[:1-22], "
        "zlib[:1-9] (gzip in Zarr v3) or none (all lossless, all read by our viewer)",
    )


def options_from_args(args: argparse.Namespace, output: str | None = None) -> ConvertOptions:
    """Return the :class:`~napari_viv.convert.ConvertOptions` of parsed ``convert``/``batch`` arguments.

    The output format is ``--format``, else the suffix of ``output`` (``convert``'s
    OUTPUT; ``batch`` names its outputs itself), else OME-TIFF; the options
    that apply to one format only are refused with the other.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser with :func:`add_conversion_options`.
    output : str, optional
        The output name the user gave, if any.

    Returns
    -------
    ConvertOptions
        The options.

    Raises
    ------
    UsageError
        ``--unit`` without ``--pixel-size``; ``--format`` contradicting the
        output's suffix; ``--ngff``, ``--shard-size`` or a codec that do not
        apply to the output's format.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_conversion_options(p, output="OUTPUT")
    >>> options_from_args(p.parse_args(["--pixel-size", "0.5"])).pixel_size
    (('x', 0.5), ('y', 0.5))
    >>> options_from_args(p.parse_args(["--ngff", "0.5"]), output="a.ome.zarr").format
    'ome-zarr'
    """
    from ..metadata import normalize_unit

    if args.unit is not None and args.pixel_size is None:
        raise UsageError("--unit is the unit of --pixel-size; give both (the input's own sizes keep their own unit)")
    unit = args.unit if args.unit is not None else normalize_unit(None) if args.pixel_size is not None else None
    fmt, ngff = _format_choice(args, output)
    return ConvertOptions(
        format=fmt,
        ngff=ngff,
        shard_size=args.shard_size,
        tile_size=args.tile_size,
        compression=args.compression,
        levels=args.levels,
        downsample=args.downsample,
        channel_names=tuple(args.channel_names) if args.channel_names is not None else None,
        pixel_size=tuple(args.pixel_size.items()) if args.pixel_size is not None else None,
        unit=unit,
        series=args.series,
        workers=args.workers,
    )


def format_options_from_args(args: argparse.Namespace) -> ConvertOptions:
    """Return the ConvertOptions of :func:`add_format_options`'s options alone (``publish``).

    ``format`` stays None unless ``--format`` is given: what is already an
    export or a store is then published as it is.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser with :func:`add_format_options`.

    Returns
    -------
    ConvertOptions
        Format, NGFF version, shard size and codec; the rest the input's own.

    Raises
    ------
    UsageError
        Options that apply to the other format (``--ngff`` without OME-Zarr).

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_format_options(p)
    >>> format_options_from_args(p.parse_args(["--format", "ome-zarr", "--ngff", "0.5"])).ngff
    '0.5'
    """
    _fmt, ngff = _format_choice(args, None)
    return ConvertOptions(format=args.format, ngff=ngff, shard_size=args.shard_size, compression=args.compression)


def _format_choice(args: argparse.Namespace, output: str | None) -> tuple[str, str]:
    """Return (format, NGFF version); a UsageError for options that contradict each other."""
    from ..naming import format_conflict, output_format
    from ..write.codecs import choose_codec, parse_spec

    fmt = output_format(output, args.format) if output is not None else args.format or "ome-tiff"
    conflict = format_conflict(output, args.format) if output is not None else None
    if conflict:
        raise UsageError(f"--format {args.format} does not fit the output {output}: {conflict}")
    if fmt == "ome-tiff":
        for flag, value in (("--ngff", args.ngff), ("--shard-size", args.shard_size)):
            if value is not None:
                raise UsageError(f"{flag} applies to OME-Zarr output (a .ome.zarr name or --format ome-zarr)")
        if args.compression is not None:
            try:
                parse_spec(args.compression)
            except NapariVivError as exc:
                raise UsageError(f"argument --compression: {exc.problem}") from None
        return fmt, "0.4"
    ngff = args.ngff or "0.4"
    if args.shard_size is not None:
        if ngff != "0.5":
            raise UsageError("--shard-size applies to --ngff 0.5 (NGFF 0.4 stores have no shards)")
        tile_size = getattr(args, "tile_size", None)  # publish has the format options only
        if tile_size is not None and args.shard_size % tile_size:
            raise UsageError(f"--shard-size {args.shard_size} must be a multiple of --tile-size {tile_size}")
    if args.compression is not None:
        try:
            choose_codec(args.compression, "uint16", container="zarr")
        except NapariVivError as exc:
            raise UsageError(f"argument --compression: {exc.problem}") from None
    return fmt, ngff
