"""The ``napari-viv`` command line: a thin dispatcher.

Each subcommand lives in ``napari_viv.cli.<name>`` and provides
``add_parser(subparsers)`` and ``run(args) -> int``. A
:class:`~napari_viv.errors.NapariVivError` becomes one line on stderr and
exit status 1 (2 for usage errors, from argparse); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import NapariVivError

SUBCOMMANDS = ("convert", "batch", "offsets", "check", "serve", "demo", "publish")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-viv",
        description="Viv-compatible pyramidal OME-TIFF: convert, check and serve to Avivator.",
    )
    parser.add_argument("--version", action="version", version=f"napari-viv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"napari_viv.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except NapariVivError as exc:
        print(f"napari-viv {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"napari-viv {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
