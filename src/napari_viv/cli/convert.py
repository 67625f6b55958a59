"""`napari-viv convert INPUT OUTPUT.ome.tif`: any supported image to a Viv pyramid.

Opens the input lazily with :func:`napari_viv.read.open_image`, keeps its
channel names, colours, pixel sizes and axes (options override them), and
streams it through :func:`napari_viv.write.writer.export_pyramid`. A progress bar
goes to stderr when stderr is a terminal. Ctrl-C cancels cleanly: nothing is
left at the output path and the exit status is 130 (143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import Cancelled, NapariVivError
from ..text import human_bytes


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert an image to a Viv-compatible pyramidal OME-TIFF (+ offsets.json)",
        description=(
            "Convert INPUT (OME-TIFF, QPTIFF, SVS, ImageJ TIFF, TIFF, .npy, .zarr) to a "
            "pyramidal OME-TIFF that Viv/Avivator open, with its offsets.json beside it."
        ),
    )
    p.add_argument("input", metavar="INPUT", help="image to convert")
    p.add_argument("output", metavar="OUTPUT", help="output file, e.g. image.ome.tif")
    add_conversion_options(p, output="OUTPUT")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_progress_options(p)
    p.set_defaults(run=run)
    p.error = lambda message: _usage_error(p, message)


def add_conversion_options(p, output: str) -> None:
    """The options that say how a file is converted (shared with ``batch``);
    ``output`` names the output in the help of ``--all-series``."""
    p.add_argument("--tile-size", type=_positive_int, default=None, metavar="N",
                   help="tile edge in pixels, a power of two (default 512, or the size of "
                        "JPEG tiles copied from the input)")
    p.add_argument("--compression", default=None, metavar="C",
                   help="zlib (default: lossless, libdeflate level 1 + predictor), zlib:LEVEL "
                        "(1-12), lzw, none, or jpeg[:QUALITY] (lossy, 8-bit only, quality "
                        "1-100, default 85); JPEG-compressed 8-bit RGB input stays JPEG, its "
                        "tiles copied unchanged when they can be")
    p.add_argument("--levels", type=_levels, default="auto", metavar="auto|N",
                   help="number of pyramid levels including full resolution (default auto)")
    p.add_argument("--downsample", choices=("mean", "nearest"), default=None,
                   help="how each level is reduced from the previous one (default mean; a JPEG "
                        "slide whose tiles are copied gets level 1 by half-size JPEG decoding); "
                        "when given, an input's own pyramid levels are recomputed, not copied")
    p.add_argument("--channel-names", type=_names, default=None, metavar="A,B,C",
                   help="channel names, comma-separated (overrides the input's)")
    p.add_argument("--pixel-size", type=_sizes, default=None, metavar="X[,Y[,Z]]",
                   help="physical pixel size (overrides the input's); Y defaults to X")
    p.add_argument("--unit", default=None, metavar="UNIT",
                   help="unit of --pixel-size: um (default), nm, mm, ...")
    p.add_argument("--series", type=_nonneg_int, default=None, metavar="N",
                   help="which image series of a multi-series input (default 0)")
    p.add_argument("--all-series", action="store_true",
                   help="convert every image series (e.g. each Micro-Manager position) to its "
                        f"own file: {output}_s0.ome.tif, {output}_s1.ome.tif, ... (also when "
                        "there is one); not with --series")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="encoding threads (default: all cores)")


def add_progress_options(p) -> None:
    """``--progress`` / ``--no-progress`` (shared with ``batch``)."""
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar (default: only on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show the progress bar")


def _usage_error(parser, message: str):
    """Bad options: one line on stderr (no usage dump), exit status 2."""
    parser.exit(2, f"{parser.prog}: error: {message} (see --help)\n")


# --- option parsing ---------------------------------------------------------


def _int_at_least(minimum: int):
    """An argparse type: a whole number no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)


def _levels(text: str):
    return "auto" if text.strip().lower() == "auto" else _positive_int(text)


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty channel name")
    return names


def _sizes(text: str) -> dict[str, float]:
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give X, X,Y or X,Y,Z")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from None
    if not all(v > 0 and v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: pixel sizes must be positive")
    sizes = {"x": values[0], "y": values[1] if len(values) > 1 else values[0]}
    if len(values) == 3:
        sizes["z"] = values[2]
    return sizes


# --- running ----------------------------------------------------------------


def run(args) -> int:
    from ..batch.job import ConvertOptions
    from ..naming import output_path

    options = ConvertOptions.from_args(args)  # also: --series and --all-series exclude each other
    src_path = Path(args.input)
    if Path(args.output).is_dir():
        raise NapariVivError(f"{args.output}: is a folder; give a file name such as image.ome.tif")
    out = output_path(args.output)
    jobs = _series_jobs(src_path, out, args)
    for _, target in jobs:
        _check_output(src_path, target, args.overwrite)
    for series, target in jobs:
        status = _convert(src_path, target, options.for_series(series), args)
        if status:
            return status
    return 0


def _series_jobs(src_path: Path, out: Path, args) -> list:
    """``[(series, output)]``: one job, or with ``--all-series`` one per image series."""
    if not getattr(args, "all_series", False):
        return [(None, out)]
    from ..batch.job import series_outputs

    return series_outputs(src_path, out, note=lambda text: print(
        f"napari-viv convert: note: {src_path.name}: {text}", file=sys.stderr))


def _convert(src_path: Path, out: Path, options, args) -> int:
    """Convert one image series to ``out``, with the progress bar and Ctrl-C handling."""
    from ..batch.job import convert_one

    stop = _Stop()
    bar = None
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if bar is not None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

    stop.install()
    try:
        bar = _progress_bar(args.progress, src_path.name)
        source, written = convert_one(src_path, out, options, overwrite=args.overwrite,
                                      progress=progress, cancel=stop.event.is_set)
    except (Cancelled, KeyboardInterrupt):
        _close(bar)
        print(f"napari-viv convert: interrupted; nothing was written to {out}", file=sys.stderr)
        return stop.exit_status
    except BaseException:
        _close(bar)
        raise
    finally:
        stop.restore()
    _close(bar)
    for text in source.notes:
        print(f"napari-viv convert: note: {src_path.name}: {text}", file=sys.stderr)
    _summary(source, written, time.perf_counter() - started)
    return 0


def _check_output(src: Path, out: Path, overwrite: bool) -> None:
    from ..write.atomic import check_folder

    check_folder(out.parent if str(out.parent) else Path("."), target=out)
    if out.is_dir():
        raise NapariVivError(f"{out}: is a folder; give a file name such as image.ome.tif")
    if src.exists() and out.exists() and src.resolve() == out.resolve():
        raise NapariVivError(f"{out}: is the input file; choose another output name")
    if out.exists() and not overwrite:
        raise NapariVivError(f"{out}: already exists (use --overwrite to replace it)")


class _Stop:
    """Ctrl-C (SIGINT) or SIGTERM during an export: the first asks the writer
    to stop cleanly, a second one interrupts at once."""

    def __init__(self):
        self.event = threading.Event()
        self.signum = None
        self._previous = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread (e.g. run from a test thread)
                return

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @property
    def exit_status(self) -> int:
        return 128 + int(self.signum or signal.SIGINT)  # 130 for Ctrl-C, 143 for SIGTERM

    def _handler(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()


def _progress_bar(wanted, label: str):
    show = sys.stderr.isatty() if wanted is None else wanted
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=1, desc=f"converting {label}", unit="tile", file=sys.stderr,
                dynamic_ncols=True, leave=False)


def _close(bar) -> None:
    if bar is not None:
        bar.close()


def _summary(source, written, seconds: float) -> None:
    import tifffile

    from ..write.codecs import COMPRESSION_NAMES

    tif, offsets = written.image, written.offsets
    with tifffile.TiffFile(tif) as t:
        page = t.pages.first
        nlevels = 1 + len(page.subifds or ())
        nplanes = len(t.pages)
        tile = page.tilewidth
        codec = COMPRESSION_NAMES.get(int(page.compression), page.compression.name.lower())
    shape = source.shape
    meta = source.metadata
    axes = meta.axes
    size = tif.stat().st_size
    raw = source.levels[0].nbytes
    dims = " ".join(f"{a}={n}" for a, n in zip(axes, shape))
    print(f"wrote {tif}")
    print(f"  {dims} {source.dtype}: {nplanes} plane(s), {nlevels} level(s), {tile}-px tiles, {codec}")
    print(f"  {human_bytes(size)} on disk, {size / raw:.2f} x the raw full-resolution size "
          f"({human_bytes(raw)}; all levels included), in {seconds:.1f} s "
          f"({raw / 1e6 / max(seconds, 1e-9):.0f} MB/s)")
    print(f"  offsets: {offsets}")
    if written.view is not None:
        print(f"  view (colours, contrast limits): {written.view}")
    print("next:")
    print(f"  napari-viv check {_quote(tif)}")
    print(f"  napari-viv serve {_quote(tif)}    # then open the printed viewer link")


def _quote(path) -> str:
    import shlex

    return shlex.quote(str(path))
