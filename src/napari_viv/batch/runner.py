"""Run a batch: locally on threads, or one task per file on a ``dask.distributed`` cluster.

:func:`plan_batch` pairs every input with its output and decides what to
skip (outputs complete and newer than their input, see
:func:`~napari_viv.batch.resume.output_is_current`). :func:`run_local` and
:func:`run_distributed` convert the rest; both fill in each
:class:`~napari_viv.batch.rows.FileRow` (done / failed / interrupted, reason,
sizes, time) and stop cleanly when ``stop`` is set: running files are
cancelled, so nothing is left at their outputs, and files not started are
not started.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import naming
from ..convert import ConvertOptions, convert_one, series_outputs
from ..errors import Cancelled, NapariVivError
from ..system import cpu_count
from ..text import one_line
from .progress import Progress
from .resume import input_stat, output_is_current
from .rows import FileRow
from .task import cancel_batch, convert_task, topic


def plan_batch(
    files,
    out_dir,
    *,
    overwrite: bool = False,
    all_series: bool = False,
    note=None,
    format: str | None = None,  # noqa: A002 - the CLI's --format
) -> list[FileRow]:
    """Pair every input with its output in ``out_dir``; ``skipped`` when already converted.

    With ``all_series``, a row per image series of each input instead, named by
    :func:`~napari_viv.convert.series_outputs`; an input whose series cannot
    be listed is one ``failed`` row.

    Parameters
    ----------
    files : list of pathlib.Path
        The inputs (see :func:`~napari_viv.batch.inputs.find_inputs`).
    out_dir : pathlib.Path
        The output folder.
    overwrite : bool
        Convert again what is already converted.
    all_series : bool
        A row per image series.
    note : callable, optional
        Receives one-line remarks (which associated images are left out).
    format : {"ome-tiff", "ome-zarr"}, optional
        The outputs' format: ``<stem>.ome.tif`` files (default) or ``<stem>.ome.zarr`` stores.

    Returns
    -------
    list of FileRow
        Pending, skipped or failed rows.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "a.npy", np.zeros((8, 8), np.uint16))
    >>> [(r.output.name, r.status) for r in plan_batch([folder / "a.npy"], folder / "out")]
    [('a.ome.tif', 'pending')]
    >>> [r.output.name for r in plan_batch([folder / "a.npy"], folder / "out", format="ome-zarr")]
    ['a.ome.zarr']
    """
    rows = []
    outputs = naming.batch_output_paths(files, out_dir, naming.format_suffix(format))
    for src, out in zip(files, outputs, strict=True):
        try:
            size, mtime = input_stat(src)
        except OSError as exc:
            row = FileRow(Path(src), out)
            row.fail(NapariVivError(str(exc.strerror or exc), subject=src))
            rows.append(row)
            continue
        targets: list[tuple[int | None, Path]] = [(None, out)]
        if all_series:
            try:
                targets = list(series_outputs(src, out, note=_naming(note, src)))
            except Exception as exc:  # noqa: BLE001 - a reader bug too: still only this file's
                row = FileRow(Path(src), out, input_bytes=size)
                row.fail(_as_error(exc, src, "cannot list its image series"))
                rows.append(row)
                continue
        for series, target in targets:
            rows.append(_planned(FileRow(Path(src), target, input_bytes=size, series=series), overwrite, mtime))
    return rows


def _naming(note, src):
    """``note``, with each remark naming ``src``."""
    return None if note is None else (lambda text: note(f"{src}: {text}"))


def _as_error(exc: Exception, subject, what: str) -> NapariVivError:
    """``exc`` as a NapariVivError: as it is, or (a bug) ``what`` failed, about ``subject``."""
    if isinstance(exc, NapariVivError):
        return exc
    return NapariVivError(f"{what} ({one_line(exc, 200)})", subject=subject)


def _planned(row: FileRow, overwrite: bool, src_mtime: float) -> FileRow:
    """``row`` refused (its own output), ``skipped`` (already converted) or left pending."""
    src, out = row.input, row.output
    if out.exists() and src.resolve() == out.resolve():
        row.fail(NapariVivError("is its own output; choose another --out-dir", subject=src))
    elif not overwrite and output_is_current(src, out, src_mtime=src_mtime) is None:
        row.status, row.reason = "skipped", "already converted"
        row.output_bytes = input_stat(out)[0]  # a file's size, or a store's files' total
        row.written = [str(p) for p in [out, *naming.sidecar_paths(out)] if p.exists()]
    return row


# --- running on this machine ---------------------------------------------------------


def run_local(
    rows: list[FileRow], options: ConvertOptions, *, jobs: int = 1, progress: Progress, stop: threading.Event
) -> None:
    """Convert the pending rows here, ``jobs`` files at a time, sharing the cores.

    Parameters
    ----------
    rows : list of FileRow
        The batch; pending rows are converted and filled in.
    options : ConvertOptions
        How to convert them.
    jobs : int
        Files converted at once.
    progress : Progress
        Told what starts, advances and finishes.
    stop : threading.Event
        Set (by Ctrl-C) to stop: running files are cancelled, others not started.

    Examples
    --------
    >>> import io, threading, numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "a.npy", np.zeros((8, 8), np.uint16))
    >>> rows = plan_batch([folder / "a.npy"], folder)
    >>> run_local(rows, ConvertOptions(), progress=Progress(rows, None, io.StringIO()),
    ...           stop=threading.Event())
    >>> rows[0].status
    'done'
    """
    todo = [r for r in rows if r.status == "pending"]
    threads = max(1, cpu_count() // jobs)

    def one(row: FileRow) -> None:
        if stop.is_set():
            row.status, row.reason = "interrupted", "not started"
            return
        row.worker, row.attempts = "local", 1
        progress.started(row)
        started = time.perf_counter()
        _convert_row(row, options, progress, stop, threads)
        row.seconds = time.perf_counter() - started
        progress.finished_row(row)

    pool = ThreadPoolExecutor(max(1, min(jobs, len(todo) or 1)), thread_name_prefix="batch")
    try:
        futures = [pool.submit(one, r) for r in todo]
        while not all(f.done() for f in futures):
            time.sleep(0.05)  # the main thread stays free for Ctrl-C
        for f in futures:
            f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for r in todo:
        if r.status == "pending":
            r.status, r.reason = "interrupted", "not started"


def _convert_row(
    row: FileRow, options: ConvertOptions, progress: Progress, stop: threading.Event, threads: int
) -> None:
    """Convert one row here; fill in its status, reason, sizes and notes."""

    def tick(done: int, total: int) -> None:
        progress.update(row, done, total)
        if stop.is_set():  # also once every block is read and only writing is left
            raise Cancelled(subject=row.input)

    try:
        source, written = convert_one(
            row.input,
            row.output,
            row.options(options),
            overwrite=True,
            progress=tick,
            cancel=stop.is_set,
            workers=threads,
            note=row.notes.append,
        )
        row.notes += source.notes
    except Cancelled:
        row.status, row.reason = "interrupted", "stopped; nothing was written"
    except Exception as exc:  # noqa: BLE001 - a bug too: still only this file's
        row.fail(_as_error(exc, row.input, "failed"))
    else:
        row.status = "done"
        row.output_bytes = written.nbytes
        row.written = [str(p) for p in written.paths]


# --- running on a dask.distributed cluster ---------------------------------------------


def _connect(address: str, jobs: int | None):
    """Connect a Client (and start the LocalCluster it owns, for ``local``)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise NapariVivError(
            f"--scheduler {address}: needs dask.distributed; install it with pip install 'napari-viv[batch]'"
        ) from None
    if address == "local":
        # A worker lost mid-file is retried once, then the file fails.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(n_workers=jobs or 1, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address), None  # times out after distributed.comm.timeouts.connect
    except (OSError, TimeoutError) as exc:
        raise NapariVivError(f"--scheduler {address}: cannot reach the dask scheduler ({one_line(exc, 120)})") from None
    except ValueError as exc:
        raise NapariVivError(
            f"--scheduler {address}: not a scheduler address ({one_line(exc, 120)}); give tcp://HOST:PORT or local"
        ) from None


def run_distributed(
    rows: list[FileRow],
    options: ConvertOptions,
    address: str,
    *,
    jobs: int | None = None,
    progress: Progress,
    stop: threading.Event,
    announce=print,
) -> None:
    """Submit one task per pending row to the scheduler at ``address`` (or ``local``)."""
    todo = [r for r in rows if r.status == "pending"]
    if not todo:
        return
    client, cluster = _connect(address, jobs)
    batch_id = uuid.uuid4().hex
    by_output = {str(r.output.resolve()): r for r in todo}  # one row per output
    lock = threading.Lock()
    seen: dict[Path, int] = {}  # started events per row

    def on_started(event) -> None:
        _, msg = event
        row = by_output.get(msg.get("output", ""))
        if row is not None:
            with lock:
                seen[row.output] = seen.get(row.output, 0) + 1
                row.attempts = max(row.attempts, seen[row.output])
                row.worker = msg.get("worker", "")
                if seen[row.output] > 1:
                    progress.restarted(row)
                progress.started(row, row.worker)

    def on_progress(event) -> None:
        _, msg = event
        row = by_output.get(msg.get("output", ""))
        if row is not None:
            progress.update(row, int(msg["done"]), int(msg["total"]))

    threads = max(1, cpu_count() // (jobs or 1)) if cluster is not None else None
    try:
        client.subscribe_topic(topic(batch_id, "started"), on_started)
        client.subscribe_topic(topic(batch_id, "progress"), on_progress)
        if not client.scheduler_info().get("workers"):
            announce(f"waiting for a worker to join {client.scheduler.address}")
        futures = _submit(client, todo, options, batch_id, threads)
        pending = dict(futures)
        while pending and not stop.is_set():
            finished = [f for f in pending if f.done()]
            if finished:
                _count_attempts(client, batch_id, by_output)
            for fut in finished:
                _collect(fut, pending.pop(fut), progress)
            time.sleep(0.05)
        if stop.is_set() and pending:
            client.run(cancel_batch, batch_id)  # running files stop and discard their output
            client.cancel(list(pending))
            for fut, row in pending.items():
                if fut.done() and fut.status == "finished":
                    _collect(fut, row, progress)
                    continue
                row.status = "interrupted"
                row.reason = "stopped; nothing was written" if row.attempts else "not started"
                progress.finished_row(row)
    finally:
        if stop.is_set():  # also after a second Ctrl-C: no task of this batch goes on
            with contextlib.suppress(Exception):  # best effort: the client may already be gone
                client.run(cancel_batch, batch_id)
        for kind in ("started", "progress"):
            with contextlib.suppress(Exception):  # best effort: the client may already be gone
                client.unsubscribe_topic(topic(batch_id, kind))
        client.close()
        if cluster is not None:
            cluster.close()


def _submit(client, todo: list[FileRow], options: ConvertOptions, batch_id: str, threads: int | None) -> dict:
    """Submit a task per row, largest input first (a shorter tail); return ``{future: row}``."""
    futures = {}
    order = sorted(todo, key=lambda r: -r.input_bytes)
    for rank, row in enumerate(order):
        fut = client.submit(
            convert_task,
            str(row.input.resolve()),
            str(row.output.resolve()),
            row.options(options),
            batch_id,
            True,
            threads,
            key=f"napari-viv-convert-{rank}-{batch_id[:8]}",
            pure=False,
            priority=len(order) - rank,
        )
        futures[fut] = row
    return futures


def _count_attempts(client, batch_id: str, by_output: dict) -> None:
    """Count the attempts per row, from the scheduler's log of ``started`` events.

    A worker sends that event before its result, on the same ordered stream,
    so the log is complete for every finished task.
    """
    counts: dict[str, int] = {}
    for _, msg in client.get_events(topic(batch_id, "started")):
        counts[msg.get("output", "")] = counts.get(msg.get("output", ""), 0) + 1
    for key, n in counts.items():
        if key in by_output:
            by_output[key].attempts = max(by_output[key].attempts, n)


def _collect(fut, row: FileRow, progress: Progress) -> None:
    """Fill in the row of a finished future."""
    if fut.status == "finished":
        result = fut.result()
        row.status = result["status"]
        row.reason = result.get("reason", "")
        if "error" in result:  # about the path the worker was sent: name the input as given
            row.fail(result["error"], input_as=str(row.input.resolve()))
        row.seconds = result.get("seconds", 0.0)
        row.worker = result.get("worker", row.worker)
        row.output_bytes = result.get("output_bytes", 0)
        row.written = result.get("written", [])
        row.notes = list(result.get("notes", []))
        if row.status == "done" and not row.output.exists():
            row.fail(
                NapariVivError(
                    f"the worker {row.worker} wrote it, but it is not in {row.output.parent} here: --out-dir must "
                    "be a folder every worker shares",
                    subject=row.output,
                )
            )
        elif row.status == "done" and row.attempts > 1:
            row.reason = f"retried after a worker was lost ({row.attempts} attempts)"
    elif fut.status == "error":
        exc = fut.exception()
        name = type(exc).__name__
        row.status = "failed"
        if name == "KilledWorker":
            row.reason = (
                f"{row.label}: the worker converting it died "
                f"{max(row.attempts, 1)} time(s) (out of memory?); nothing was written"
            )
        else:
            row.reason = f"{row.label}: {one_line(exc, 200)}"
    else:
        row.status, row.reason = "interrupted", "cancelled"
    progress.finished_row(row)
