"""What every subcommand shares: usage errors, argparse value types, progress bars.

:class:`UsageError` and :func:`usage_error` make a bad option exit 2 with a usage line; the
``*_arg`` functions are argparse ``type=`` checks, so a bad value is refused
before any file is opened; :func:`progress_bar` is the one tqdm bar of
``convert``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

from ..errors import NapariVivError


class UsageError(NapariVivError):
    """Options that do not go together (found after parsing): exit status 2 with a usage line.

    Examples
    --------
    >>> str(UsageError("--unit needs --pixel-size"))
    '--unit needs --pixel-size'
    """


def usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Print the usage line and ``prog: error: message`` on stderr; exit with status 2.

    Installed as every subcommand parser's ``error`` (see :func:`add_subcommand`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    message : str
        What is wrong with the options.

    Examples
    --------
    >>> p = argparse.ArgumentParser(prog="napari-viv x", usage="%(prog)s [options] FILE")
    >>> try:
    ...     usage_error(p, "no FILE")
    ... except SystemExit as exc:
    ...     exc.code
    2
    """
    parser.exit(2, f"{parser.format_usage()}{parser.prog}: error: {message} (see --help)\n")


def add_subcommand(subparsers, name: str, *, usage: str | None = None, **kwargs) -> argparse.ArgumentParser:
    r"""Add subcommand ``name``, whose option errors exit 2 with a one-line usage.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The dispatcher's ``add_subparsers()`` result.
    name : str
        The subcommand.
    usage : str, optional
        A short usage after ``napari-viv NAME`` (e.g. ``"[options] INPUT OUTPUT"``).
    **kwargs
        Passed to ``add_parser`` (help, description).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser; ``args.parser`` is it after parsing.

    Examples
    --------
    >>> sub = argparse.ArgumentParser(prog="napari-viv").add_subparsers()
    >>> add_subcommand(sub, "x", usage="[options] FILE").format_usage()
    'usage: napari-viv x [options] FILE\n'
    """
    if usage is not None:
        kwargs["usage"] = f"%(prog)s {usage}"
    p = subparsers.add_parser(name, **kwargs)
    p.set_defaults(parser=p)
    p.error = lambda message: usage_error(p, message)
    return p


# --- argparse value types -----------------------------------------------------------


def int_at_least(minimum: int) -> Callable[[str], int]:
    """Make an argparse type: a whole number no smaller than ``minimum``.

    Parameters
    ----------
    minimum : int
        The smallest value allowed.

    Returns
    -------
    callable
        ``text -> int``, raising ``argparse.ArgumentTypeError``.

    Examples
    --------
    >>> int_at_least(1)("3")
    3
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


#: argparse types: a whole number >= 1, and >= 0.
positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def _checked(check: Callable[[str], object], text: str):
    """``check(text)``, a NapariVivError from it becoming an argparse error."""
    try:
        return check(text)
    except NapariVivError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def tile_size_arg(text: str) -> int:
    """Check a ``--tile-size``: a power of two the writer accepts.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int
        The tile size.

    Examples
    --------
    >>> tile_size_arg("256")
    256
    """
    from ..write.plan import check_tile_size

    return _checked(check_tile_size, text)


def compression_arg(text: str) -> str:
    """Check a ``--compression``: a codec name (and level) the writer knows.

    A TIFF or a Zarr codec; whether it suits the output's format is checked
    with the other options, whether it suits the input's pixels (JPEG is 8-bit
    only) when the file is converted.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    str
        The value as given.

    Examples
    --------
    >>> compression_arg("zlib:6")
    'zlib:6'
    """
    from ..write.codecs import parse_spec, parse_zarr_spec

    try:
        parse_spec(text)
    except NapariVivError as tiff_error:
        try:
            parse_zarr_spec(text)  # a Zarr codec: whether the output is a store is checked later
        except NapariVivError as zarr_error:
            zarr_name = "OME-Zarr codec" in tiff_error.problem  # then the Zarr complaint is the one that helps
            raise argparse.ArgumentTypeError((zarr_error if zarr_name else tiff_error).problem) from None
    return text


def shard_size_arg(text: str) -> int:
    """Check a ``--shard-size``: a whole number of pixels, at least 16.

    Whether it is a multiple of the tile size is checked with the other options.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int
        The shard edge in pixels.

    Examples
    --------
    >>> shard_size_arg("4096")
    4096
    """
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shard size must be a whole number of pixels, not {text!r}") from None
    if size < 16:
        raise argparse.ArgumentTypeError(f"shard size {size} is too small; give a multiple of the tile size")
    return size


def levels_arg(text: str) -> int | str:
    """Check a ``--levels``: ``auto`` or a whole number >= 1.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int or str
        The number of levels, or ``"auto"``.

    Examples
    --------
    >>> levels_arg("AUTO"), levels_arg("3")
    ('auto', 3)
    """
    return "auto" if text.strip().lower() == "auto" else positive_int(text)


def names_arg(text: str) -> list[str]:
    """Check a comma-separated list of channel names (none empty).

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    list of str
        The names.

    Examples
    --------
    >>> names_arg("DAPI, CD8")
    ['DAPI', 'CD8']
    """
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty channel name")
    return names


def sizes_arg(text: str) -> dict[str, float]:
    """Check a ``--pixel-size``: X, X,Y or X,Y,Z, all positive (Y defaults to X).

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    dict
        ``{"x": ..., "y": ...}`` and ``"z"`` when given.

    Examples
    --------
    >>> sizes_arg("0.5")
    {'x': 0.5, 'y': 0.5}
    """
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give X, X,Y or X,Y,Z")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from None
    if not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: pixel sizes must be positive")
    sizes = {"x": values[0], "y": values[1] if len(values) > 1 else values[0]}
    if len(values) == 3:
        sizes["z"] = values[2]
    return sizes


def unit_arg(text: str) -> str:
    """Check a ``--unit``: a length unit, normalised (``um`` -> ``µm``).

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    str
        The unit as OME writes it.

    Examples
    --------
    >>> unit_arg("nm")
    'nm'
    """
    from ..metadata import normalize_unit

    try:
        return normalize_unit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- progress -------------------------------------------------------------------------


def add_progress_options(p: argparse.ArgumentParser) -> None:
    """Add ``--progress`` / ``--no-progress`` (``args.progress``: True, False or None for "on a terminal").

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_progress_options(p)
    >>> p.parse_args([]).progress, p.parse_args(["--no-progress"]).progress
    (None, False)
    """
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show the progress bar (default: only on a terminal)",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")


def wants_bars(wanted: bool | None) -> bool:
    """Whether to draw progress bars: as asked, or when stderr is a terminal.

    Parameters
    ----------
    wanted : bool or None
        ``args.progress``.

    Returns
    -------
    bool
        Draw bars.

    Examples
    --------
    >>> wants_bars(False)
    False
    """
    return sys.stderr.isatty() if wanted is None else bool(wanted)


class ProgressBar:
    """A tqdm bar on stderr fed by ``progress(done, total)`` callbacks; nothing when not wanted.

    Parameters
    ----------
    wanted : bool or None
        ``args.progress``.
    label : str
        What is being done, e.g. ``"converting a.tif"``.
    unit : str
        What is counted: ``"tile"``, or ``"B"`` for bytes. Callbacks may come from several threads.

    Examples
    --------
    >>> with ProgressBar(False, "converting a.tif") as bar:
    ...     bar(3, 10)
    """

    def __init__(self, wanted: bool | None, label: str, unit: str = "tile") -> None:
        self._bar = None
        self._lock = threading.Lock()
        if wants_bars(wanted):
            from tqdm import tqdm

            scaled = unit == "B"  # bytes as kB, MB, ...
            self._bar = tqdm(
                total=1, desc=label, unit=unit, unit_scale=scaled, file=sys.stderr, dynamic_ncols=True, leave=False
            )

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``."""
        bar = self._bar
        if bar is not None:
            with self._lock:
                if bar.total != total:
                    bar.total = total
                bar.update(done - bar.n)

    def __enter__(self) -> ProgressBar:
        """Use the bar in a ``with`` block."""
        return self

    def __exit__(self, *exc) -> None:
        """Remove the bar."""
        self.close()

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
