"""`napari-viv check FILE...`: whether Viv and Avivator will open these files correctly.

Exit status 0 when every file opens with correct pixels (warnings allowed),
1 when any file has an error or can't be read at all.
"""

from __future__ import annotations

import json
import sys

from .common import add_subcommand


def add_parser(subparsers) -> None:
    """Add ``check`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "check",
        help="say whether Viv/Avivator will open an OME-TIFF with correct pixels",
        description="Check OME-TIFF files against what Viv 0.21 and Avivator accept. "
        "Reads only metadata, so it is quick on large files. Exit status 0 when "
        "Viv will open every file with correct pixels (warnings allowed), 1 otherwise.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="an .ome.tif file (or a multi-file set's .companion.ome)")
    p.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object per file instead of text (an unreadable file gets {"ok": false, "error": ...})',
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (no warnings, no verdict line for good files)"
    )
    p.set_defaults(run=run)


def format_report(report, *, quiet: bool = False) -> str:
    """Write the human-readable text for one :class:`~napari_viv.check.rules.CheckReport`."""
    lines = []
    if not report.ok or not quiet:
        lines.append(report.verdict)
    if not quiet:
        lines.extend(f"  {line}" for line in report.images)
    for f in report.findings:
        if quiet and f.severity != "error":
            continue
        lines.append(f"  {f.severity}: {f.message}")
        lines.append(f"    fix: {f.fix}")
    return "\n".join(lines)


def run(args) -> int:
    """Check every file of ``args``; return 0 when Viv opens all of them with correct pixels."""
    from ..check.rules import check_file
    from ..errors import NapariVivError

    status = 0
    for name in args.files:
        try:
            report = check_file(name)
        except NapariVivError as exc:
            if args.json:  # one JSON object per file, readable or not
                print(
                    json.dumps(
                        {"path": str(name), "ok": False, "error": str(exc), "findings": [], "images": []},
                        ensure_ascii=False,
                    )
                )
            elif len(args.files) == 1:
                raise
            print(f"napari-viv check: error: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            text = format_report(report, quiet=args.quiet)
            if text:
                print(text)
        if not report.ok:
            status = 1
    return status
