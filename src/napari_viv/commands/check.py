"""`napari-viv check` (placeholder until implemented)."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="(not implemented yet)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import NapariVivError

    raise NapariVivError("'check' is not implemented yet")
