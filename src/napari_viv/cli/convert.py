"""`napari-viv convert INPUT OUTPUT.ome.tif|.ome.zarr`: any supported image to a Viv pyramid.

Opens the input lazily and streams it through
:func:`napari_viv.convert.convert_one`, which keeps its channel names,
colours, pixel sizes and axes (options override them). A progress bar goes
to stderr when stderr is a terminal. Ctrl-C cancels cleanly: nothing is left
at the output path and the exit status is 130 (143 for SIGTERM).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import Cancelled, NapariVivError
from ..text import human_bytes, named, rate_text, seconds_text
from .common import ProgressBar, add_progress_options, add_subcommand
from .options import add_conversion_options, options_from_args
from .signals import Stop


def add_parser(subparsers) -> None:
    """Add ``convert`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "convert",
        usage="[options] INPUT OUTPUT",
        help="convert an image to a Viv-compatible pyramidal OME-TIFF (+ offsets.json) or OME-Zarr",
        description=(
            "Convert INPUT (OME-TIFF, QPTIFF, SVS, ImageJ TIFF, TIFF, .npy, .zarr) to a "
            "pyramidal OME-TIFF that Viv/Avivator open, with its offsets.json beside it, or "
            "to an OME-Zarr store when OUTPUT ends in .ome.zarr or .zarr (or with --format ome-zarr)."
        ),
    )
    p.add_argument("input", metavar="INPUT", help="image to convert")
    p.add_argument("output", metavar="OUTPUT", help="output file or store, e.g. image.ome.tif or image.ome.zarr")
    add_conversion_options(p, output="OUTPUT")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_progress_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    """Convert ``args.input`` to ``args.output`` (each series, with ``--all-series``)."""
    from ..naming import export_path

    options = options_from_args(args, output=args.output)
    src_path = Path(args.input)
    if options.format == "ome-tiff" and Path(args.output).is_dir():
        raise NapariVivError("is a folder; give a file name such as image.ome.tif", subject=args.output)
    out = export_path(args.output, options.format)
    jobs = _series_jobs(src_path, out, args)
    for _, target in jobs:
        _check_output(src_path, target, args.overwrite)
    for series, target in jobs:
        status = _convert(src_path, target, options.for_series(series), args)
        if status:
            return status
    return 0


def _note(src_path: Path, text: str) -> None:
    print(f"napari-viv convert: note: {named(src_path.name, text)}", file=sys.stderr)


def _series_jobs(src_path: Path, out: Path, args) -> list:
    """``[(series, output)]``: one job, or with ``--all-series`` one per image series."""
    if not args.all_series:
        return [(None, out)]
    from ..convert import series_outputs

    return series_outputs(src_path, out, note=lambda text: _note(src_path, text))


def _convert(src_path: Path, out: Path, options, args) -> int:
    """Convert one image series to ``out``, with the progress bar and Ctrl-C handling."""
    from ..convert import convert_one

    started = time.perf_counter()
    notes: list[str] = []
    with Stop() as stop, ProgressBar(args.progress, f"converting {src_path.name}") as bar:
        try:
            source, written = convert_one(
                src_path, out, options, overwrite=args.overwrite, progress=bar, cancel=stop.is_set, note=notes.append
            )
        except (Cancelled, KeyboardInterrupt):
            bar.close()
            print(f"napari-viv convert: interrupted; nothing was written to {out}", file=sys.stderr)
            return stop.exit_status
    for text in notes + source.notes:
        _note(src_path, text)
    _summary(source, written, time.perf_counter() - started)
    return 0


def _check_output(src: Path, out: Path, overwrite: bool) -> None:
    from ..naming import is_zarr_name
    from ..write.atomic import check_folder

    check_folder(out.parent if str(out.parent) else Path("."), target=out)
    if is_zarr_name(out):
        if out.exists() and not out.is_dir():
            raise NapariVivError("is a file, not a Zarr store; choose another output name", subject=out)
    elif out.is_dir():
        raise NapariVivError("is a folder; give a file name such as image.ome.tif", subject=out)
    if src.exists() and out.exists() and src.resolve() == out.resolve():
        raise NapariVivError("is the input file; choose another output name", subject=out)
    if out.exists() and not overwrite:
        raise NapariVivError("already exists (use --overwrite to replace it)", subject=out)


def _tiff_facts(tif: Path) -> tuple[str, int, int, int, str]:
    """Return (dtype, planes, levels, tile size, codec) of a written OME-TIFF, read back from it."""
    import tifffile

    from ..write.codecs import COMPRESSION_NAMES

    with tifffile.TiffFile(tif) as t:
        page = t.pages.first
        codec = COMPRESSION_NAMES.get(int(page.compression), getattr(page.compression, "name", "unknown").lower())
        return str(page.dtype), len(t.pages), 1 + len(page.subifds or ()), int(page.tilewidth), codec


def _zarr_facts(store: Path, written) -> tuple[str, int, int, int, str]:
    """Return (dtype, planes, levels, tile size, codec) of a written OME-Zarr store, read back from it."""
    import json

    import numpy as np

    level0 = store / "0"
    if (level0 / ".zarray").is_file():
        meta = json.loads((level0 / ".zarray").read_text())
        dtype, tile = np.dtype(meta["dtype"]).name, meta["chunks"][-1]  # "<u2" -> uint16, as 0.5 names it
        comp = meta["compressor"] or {}
        codec = "NGFF 0.4, " + (f"{comp['id']}-{comp['cname']}" if "cname" in comp else comp.get("id", "uncompressed"))
    else:
        meta = json.loads((level0 / "zarr.json").read_text())
        sharding = meta["codecs"][0]["configuration"]
        dtype, tile = meta["data_type"], sharding["chunk_shape"][-1]
        inner = [c for c in sharding["codecs"] if c["name"] != "bytes"]
        name = inner[0]["name"] if inner else "uncompressed"
        if inner and "cname" in inner[0]["configuration"]:
            name += f"-{inner[0]['configuration']['cname']}"
        shard = meta["chunk_grid"]["configuration"]["chunk_shape"][-1]
        codec = f"NGFF 0.5, {name}, {shard}-px shards"
    return str(dtype), written.planes, len(written.level_shapes), int(tile), codec


def _summary(source, written, seconds: float) -> None:
    """Print what was written: shape, the dtype written, levels, tiles, codec, size, time."""
    from ..naming import is_zarr_name

    image = written.image
    zarr = is_zarr_name(image) and image.is_dir()
    dtype, nplanes, nlevels, tile, codec = _zarr_facts(image, written) if zarr else _tiff_facts(image)
    size = written.nbytes if zarr else image.stat().st_size
    raw = source.levels[0].nbytes
    dims = " ".join(f"{a}={n}" for a, n in zip(source.metadata.axes, source.shape, strict=True))
    rate = rate_text(raw, seconds)
    print(f"wrote {image}")
    print(f"  {dims} {dtype}: {nplanes} plane(s), {nlevels} level(s), {tile}-px tiles, {codec}")
    print(
        f"  {human_bytes(size)} on disk, {size / raw:.2f} x the raw full-resolution size "
        f"({human_bytes(raw)}; all levels included), in {seconds_text(seconds)}" + (f" ({rate})" if rate else "")
    )
    if written.offsets is not None:
        print(f"  offsets: {written.offsets}")
    if written.view is not None:
        print(f"  view (colours, contrast limits): {written.view}")
    print("next:")
    print(f"  napari-viv check {_quote(image)}")
    print(f"  napari-viv serve {_quote(image)}    # then open the printed viewer link")


def _quote(path) -> str:
    import shlex

    return shlex.quote(str(path))
