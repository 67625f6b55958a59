"""`napari-viv demo` (placeholder until implemented)."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="(not implemented yet)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import NapariVivError

    raise NapariVivError("'demo' is not implemented yet")
