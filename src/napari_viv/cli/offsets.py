"""`napari-viv offsets FILE.ome.tif [-o OUT]`: write the offsets.json Viv uses."""

from __future__ import annotations

from .common import add_subcommand


def add_parser(subparsers) -> None:
    """Add ``offsets`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "offsets",
        help="write FILE's offsets.json (IFD offsets, like generate-tiff-offsets)",
        description=(
            "Write <stem>.offsets.json beside an OME-TIFF: the byte offset of every "
            "main-chain IFD, which lets Viv/Avivator open planes without walking the file."
        ),
    )
    p.add_argument("file", help="the .ome.tif / .ome.tiff file")
    p.add_argument("-o", "--output", default=None, help="where to write (default: <stem>.offsets.json beside FILE)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Write the offsets.json of ``args.file``; print its path."""
    from ..write.offsets import write_offsets

    out = write_offsets(args.file, args.output)
    print(out)
    return 0
