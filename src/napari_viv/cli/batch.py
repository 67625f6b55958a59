"""`napari-viv batch INPUT... --out-dir DIR`: many images, here or on a Dask cluster, resumably.

Every INPUT (file, folder searched for what ``convert`` reads, or glob)
becomes ``DIR/<stem>.ome.tif`` with its offsets (and view) file, or with
``--format ome-zarr`` the store ``DIR/<stem>.ome.zarr``, converted as
``convert`` does; with ``--all-series``, each image series of it becomes
``DIR/<stem>_s<N>.ome.tif`` (``.ome.zarr``), a row of its own. Without ``--scheduler`` the
files are converted on this machine, ``--jobs`` at a time (default one, with
all cores); with ``--scheduler tcp://HOST:PORT`` (or ``local`` for a
``LocalCluster``) each file (or series) is one ``dask.distributed`` task. Outputs complete and newer than their input
are skipped, a bad file fails alone, Ctrl-C stops cleanly, and a table (and
``--report FILE.json``) says what became of each file. Exit status 0 only when
every file is converted (or already was).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NapariVivError
from .common import UsageError, add_progress_options, add_subcommand, positive_int, wants_bars
from .options import add_conversion_options, options_from_args
from .signals import Stop


def add_parser(subparsers) -> None:
    """Add ``batch`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "batch",
        usage="[options] INPUT... --out-dir DIR",
        help="convert many images (files, folders, globs), here or on a Dask cluster; resumable",
        description=(
            "Convert every INPUT (a file, a folder searched for the formats convert reads, or a "
            "glob) to DIR/<stem>.ome.tif with its offsets.json (or, with --format ome-zarr, to the "
            "OME-Zarr store DIR/<stem>.ome.zarr), on this machine or one task per "
            "file on a dask.distributed cluster. Re-running skips what is already converted."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image file, folder (searched with its subfolders) or glob ('**' recurses)",
    )
    p.add_argument(
        "-o",
        "--out-dir",
        required=True,
        metavar="DIR",
        help="folder for the outputs (made if missing; on a cluster, shared by all workers)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="tcp://HOST:PORT of a dask.distributed scheduler, or 'local' for a "
        "LocalCluster (default: no scheduler, convert here)",
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="files converted at once here, sharing the cores (default 1, with all "
        "cores); with --scheduler local, the number of worker processes",
    )
    add_conversion_options(p, output="DIR/<stem>")
    p.add_argument("--overwrite", action="store_true", help="convert every file again, even those already converted")
    p.add_argument(
        "--report", default=None, metavar="FILE.json", help="also write the final table, and totals, as JSON"
    )
    add_progress_options(p)
    from .publish import add_batch_options

    add_batch_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    """Convert every input of ``args``; print the table; return 0 only when all are converted."""
    from ..batch.rows import summary, table

    if args.jobs is not None and args.scheduler not in (None, "local"):
        raise UsageError(
            "--jobs applies without --scheduler or with --scheduler local; a "
            "cluster's workers decide how many files run at once"
        )
    options = options_from_args(args)
    out_dir, report = _checked_paths(args)
    found = _inputs(args, out_dir)
    started = time.perf_counter()
    when = datetime.now(UTC)
    rows, missing = _plan(args, found, out_dir, options.format)
    stop = Stop()
    interrupted = _convert(args, rows, options, stop)
    for r in rows:
        if r.status == "pending":
            r.status, r.reason = "interrupted", "not started"
    rows_all = rows + missing
    totals = summary(rows_all, time.perf_counter() - started)
    for line in table(rows_all):
        print(line)
    print(_totals_line(totals))
    if report is not None:
        _write_report(report, args, rows_all, totals, when)
        print(f"report: {report}")
    if interrupted:
        print(
            "napari-viv batch: interrupted; finished files are kept, unfinished ones left "
            "nothing behind (run the same command again to go on)",
            file=sys.stderr,
        )
        return stop.exit_status
    status = 0 if totals["failed"] == 0 and totals["interrupted"] == 0 else 1
    if args.publish:
        from .publish import publish_outputs

        published = publish_outputs([r.output for r in rows if r.status in ("done", "skipped")], args)
        status = status or published
    return status


def _checked_paths(args) -> tuple[Path, Path | None]:
    """Check the output folder and the report file before anything is converted."""
    from ..write.atomic import check_folder

    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NapariVivError("is a file; --out-dir must be a folder", subject=out_dir)
    report = Path(args.report) if args.report else None
    if report is not None:
        check_folder(report.parent if str(report.parent) else Path("."), target=report)
        if report.is_dir():
            raise NapariVivError("is a folder; give a file name such as report.json", subject=report)
    return out_dir, report


def _inputs(args, out_dir: Path):
    """Find the inputs and make the output folder; an error when no INPUT names anything."""
    from ..batch.inputs import find_inputs
    from ..write.atomic import check_folder

    found = find_inputs(args.inputs, exclude=out_dir)
    if not found.files and found.missing:
        text, why = found.missing[0]
        more = f" (and {len(found.missing) - 1} more)" if len(found.missing) > 1 else ""
        raise NapariVivError(f"{why}{more}", subject=text)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NapariVivError(f"cannot make the output folder ({exc.strerror or exc})", subject=out_dir) from None
    check_folder(out_dir)
    return found


def _plan(args, found, out_dir: Path, fmt: str | None):
    """Plan the rows (and fail those of INPUTs that named nothing); say what will happen."""
    from ..batch.rows import FileRow
    from ..batch.runner import plan_batch

    rows = plan_batch(
        found.files,
        out_dir,
        overwrite=args.overwrite,
        all_series=args.all_series,
        note=lambda t: print(f"napari-viv batch: note: {t}", file=sys.stderr),
        format=fmt,
    )
    missing = [
        FileRow(Path(text), Path("-"), status="failed", reason=str(NapariVivError(why, subject=text)))
        for text, why in found.missing
    ]
    _announce_names(rows, fmt)
    skipped = sum(r.status == "skipped" for r in rows)
    todo = sum(r.status == "pending" for r in rows)
    where = (
        "on a LocalCluster"
        if args.scheduler == "local"
        else f"on {args.scheduler}"
        if args.scheduler
        else f"here, {args.jobs or 1} at a time"
    )
    what = (
        f"{len(found.files)} file(s), {sum(r.series is not None for r in rows)} image series"
        if args.all_series
        else f"{len(rows)} file(s)"
    )
    print(f"{what}: {skipped} already converted, {todo} to convert {where} -> {out_dir}", file=sys.stderr)
    for r in rows + missing:
        if r.status == "failed":
            print(f"napari-viv batch: failed: {r.reason}", file=sys.stderr)
    return rows, missing


def _convert(args, rows, options, stop: Stop) -> bool:
    """Convert the pending rows, here or on the scheduler; return whether Ctrl-C stopped it."""
    from ..batch.progress import Progress
    from ..batch.runner import run_distributed, run_local

    # bars on a terminal, lines in a log; nothing but failures with --no-progress
    mode = "bars" if wants_bars(args.progress) else "lines" if args.progress is None else None
    progress = Progress(rows, mode)
    interrupted = False
    stop.install()
    try:
        if args.scheduler:
            run_distributed(
                rows,
                options,
                args.scheduler,
                jobs=args.jobs,
                progress=progress,
                stop=stop.event,
                announce=lambda t: print(f"napari-viv batch: {t}", file=sys.stderr),
            )
        else:
            run_local(rows, options, jobs=args.jobs or 1, progress=progress, stop=stop.event)
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    finally:
        stop.restore()
        progress.close()
    return interrupted or stop.event.is_set()


def _announce_names(rows, fmt: str | None) -> None:
    """Say which outputs were renamed because inputs share a name."""
    from ..naming import format_suffix, series_output_path, stem

    def plain(r) -> str:
        name = Path(f"{stem(r.input)}{format_suffix(fmt)}")
        return (name if r.series is None else series_output_path(name, r.series)).name

    renamed = [r for r in rows if r.output.name != plain(r)]
    if renamed:
        print("same names in several inputs; these outputs are renamed:")
        for r in renamed:
            print(f"  {r.input} -> {r.output}")


def _totals_line(t: dict) -> str:
    from ..text import human_bytes

    return (
        f"{t['files']} file(s): {t['done']} done, {t['skipped']} skipped, "
        f"{t['failed']} failed"
        + (f", {t['interrupted']} interrupted" if t["interrupted"] else "")
        + f" in {t['seconds']:.1f} s; {human_bytes(t['output_bytes_written'])} written "
        f"({t['files_per_minute']:.1f} files/min, {t['gb_per_minute']:.2f} GB/min of input)"
    )


def _write_report(path: Path, args, rows, totals: dict, when) -> None:
    from ..write.atomic import publish_bytes

    data = {
        "inputs": list(args.inputs),
        "started": when.isoformat(timespec="seconds"),
        "scheduler": args.scheduler,
        "out_dir": str(Path(args.out_dir)),
        "totals": totals,
        "files": [r.as_dict() for r in rows],
    }
    publish_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
