"""The ``napari-viv`` command line: a thin dispatcher.

Each subcommand lives in ``napari_viv.cli.<name>`` and provides
``add_parser(subparsers)`` and ``run(args) -> int``; what they share is in
:mod:`napari_viv.cli.common`. A :class:`~napari_viv.errors.NapariVivError`
becomes one line on stderr and exit status 1; a bad option or option value
exits 2 with a usage line (argparse, or a
:class:`~napari_viv.cli.common.UsageError` found after parsing); Ctrl-C
exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import NapariVivError
from .common import UsageError, usage_error

SUBCOMMANDS = ("convert", "batch", "offsets", "check", "serve", "demo", "publish")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of ``napari-viv`` and its subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Examples
    --------
    >>> build_parser().parse_args(["check", "a.ome.tif"]).files
    ['a.ome.tif']
    """
    parser = argparse.ArgumentParser(
        prog="napari-viv",
        description="Viv-compatible pyramidal OME-TIFF: convert, check, and serve to our viewer or Avivator.",
    )
    parser.add_argument("--version", action="version", version=f"napari-viv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"napari_viv.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``napari-viv`` with ``argv`` (default: the command line); return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``napari-viv``.

    Returns
    -------
    int
        0, 1 for an error, 2 for a usage error, 128 + the signal when stopped.

    Examples
    --------
    >>> main(["offsets", "no-such.ome.tif"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        usage_error(getattr(args, "parser", parser), str(exc))
    except NapariVivError as exc:
        print(f"napari-viv {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"napari-viv {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
