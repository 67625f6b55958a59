"""`napari-viv offsets` (placeholder until implemented)."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("offsets", help="(not implemented yet)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import NapariVivError

    raise NapariVivError("'offsets' is not implemented yet")
