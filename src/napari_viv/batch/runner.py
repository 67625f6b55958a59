"""Run a batch: locally on threads, or one task per file on a ``dask.distributed`` cluster.

:func:`plan_batch` pairs every input with its output and decides what to
skip (outputs complete and newer than their input, see
:func:`~napari_viv.batch.job.output_is_current`). :func:`run_local` and
:func:`run_distributed` convert the rest; both fill in each
:class:`FileRow` (done / failed / interrupted, reason, sizes, time) and
stop cleanly when ``stop`` is set: running files are cancelled, so nothing
is left at their outputs, and files not started are not started.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import naming
from ..errors import Cancelled, NapariVivError
from ..text import human_bytes, one_line
from .job import (ConvertOptions, cancel_batch, convert_one, convert_task, cores, input_stat,
                  output_is_current, series_outputs, stall_hook, topic)

STATUSES = ("done", "skipped", "failed", "interrupted")


@dataclass
class FileRow:
    """One input of a batch (or, with ``--all-series``, one image series of it) and
    what became of it."""

    input: Path
    output: Path
    status: str = "pending"  # then one of STATUSES
    reason: str = ""
    input_bytes: int = 0
    output_bytes: int = 0
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 0
    written: list[str] = field(default_factory=list)
    #: One-line remarks from the reader and the writer (as ``convert`` prints them).
    notes: list[str] = field(default_factory=list)
    #: The image series this row converts (``--all-series``); None: the input's
    #: first series, or ``--series N``, as for ``convert``.
    series: int | None = None

    @property
    def label(self) -> str:
        """The input as the table and progress lines name it: ``path [series N]``."""
        return str(self.input) if self.series is None else f"{self.input} [series {self.series}]"

    def named(self, reason: str) -> str:
        """A reason that starts with the input's path, naming the series too."""
        head = f"{self.input}: "
        if self.series is not None and reason.startswith(head):
            return f"{self.label}: {reason[len(head):]}"
        return reason

    def options(self, options: ConvertOptions) -> ConvertOptions:
        """``options`` for this row: its series, when it has one."""
        return options.for_series(self.series)

    def as_dict(self) -> dict:
        return {
            "input": str(self.input), "series": self.series, "output": str(self.output),
            "status": self.status,
            "reason": self.reason, "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes, "seconds": round(self.seconds, 3),
            "worker": self.worker, "attempts": self.attempts, "written": self.written,
            "notes": self.notes,
        }


def plan_batch(files, out_dir, *, overwrite: bool = False,
               all_series: bool = False, note=None) -> list[FileRow]:
    """A row per input: its output in ``out_dir``; ``skipped`` when already converted.

    With ``all_series``, a row per image series of each input instead, named by
    :func:`~napari_viv.batch.job.series_outputs`; an input whose series cannot
    be listed is one ``failed`` row.
    """
    rows = []
    for src, out in zip(files, naming.batch_output_paths(files, out_dir)):
        try:
            size, mtime = input_stat(src)
        except OSError as exc:
            rows.append(FileRow(Path(src), out, status="failed",
                                reason=f"{src}: {exc.strerror or exc}"))
            continue
        targets = [(None, out)]
        if all_series:
            try:
                targets = series_outputs(
                    src, out, note=None if note is None else (lambda t, s=src: note(f"{s}: {t}")))
            except NapariVivError as exc:
                rows.append(FileRow(Path(src), out, status="failed", reason=str(exc),
                                    input_bytes=size))
                continue
            except Exception as exc:  # noqa: BLE001 - a reader bug: still only this file's
                rows.append(FileRow(Path(src), out, status="failed", input_bytes=size,
                                    reason=f"{src}: cannot list its image series "
                                           f"({one_line(exc, 200)})"))
                continue
        for series, target in targets:
            rows.append(_planned(FileRow(Path(src), target, input_bytes=size, series=series),
                                 overwrite, mtime))
    return rows


def _planned(row: FileRow, overwrite: bool, src_mtime: float) -> FileRow:
    """``row`` refused (its own output), ``skipped`` (already converted) or left pending."""
    src, out = row.input, row.output
    if out.exists() and src.resolve() == out.resolve():
        row.status = "failed"
        row.reason = f"{src}: is its own output; choose another --out-dir"
    elif not overwrite and output_is_current(src, out, src_mtime=src_mtime) is None:
        row.status, row.reason = "skipped", "already converted"
        row.output_bytes = out.stat().st_size
        row.written = [str(p) for p in [out, *naming.sidecar_paths(out)] if p.exists()]
    return row


# --- progress -----------------------------------------------------------------------


class Progress:
    """An overall bar (files and bytes) and a bar per running file on a terminal;
    one line per started and finished file otherwise. Thread-safe.

    ``mode`` is ``"bars"``, ``"lines"`` or ``None`` (nothing but failures).
    Failures are always reported, one line each, on ``stream``.
    """

    def __init__(self, rows: list[FileRow], mode, stream=None):
        self.rows = rows
        self.mode = mode
        self.stream = stream or sys.stderr
        self.total = len(rows)
        self.finished = sum(r.status != "pending" for r in rows)
        # an input of several series (--all-series) has one row per series: each
        # row weighs its share of the input, so the bar's total is the input's size
        shares = collections.Counter(r.input for r in rows)
        self._weight = {r.output: r.input_bytes / shares[r.input] for r in rows}
        self.total_bytes = round(sum(self._weight[r.output] for r in rows if r.status == "pending"))
        self.bytes_done = 0.0
        self._lock = threading.RLock()
        self._bars: dict[Path, object] = {}
        self._fraction: dict[Path, float] = {}
        self._free = []
        self._done: set[Path] = set()
        self._overall = None
        if mode == "bars":
            from tqdm import tqdm

            self._tqdm = tqdm
            self._overall = tqdm(total=self.total_bytes, unit="B", unit_scale=True,
                                 desc=self._files_text(), file=self.stream, position=0,
                                 dynamic_ncols=True, leave=False)

    def _files_text(self) -> str:
        return f"batch {self.finished}/{self.total} files"

    def _write(self, text: str) -> None:
        if self._overall is not None:
            self._overall.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def started(self, row: FileRow, where: str = "") -> None:
        with self._lock:
            if row.output in self._fraction or row.output in self._done:
                return
            self._fraction[row.output] = 0.0
            if self.mode == "bars":
                pos = self._free.pop(0) if self._free else len(self._bars) + 1
                self._bars[row.output] = self._tqdm(
                    total=1, desc=f"  {_short(row)}", unit="tile", file=self.stream,
                    position=pos, dynamic_ncols=True, leave=False)
            elif self.mode == "lines":
                on = f" on {where}" if where else ""
                self._write(f"napari-viv batch: converting {row.label}{on}")

    def update(self, row: FileRow, done: int, total: int) -> None:
        with self._lock:
            if row.output not in self._fraction:
                return
            frac = done / total if total else 0.0
            self._advance(row, frac)
            bar = self._bars.get(row.output)
            if bar is not None:
                if bar.total != total:
                    bar.total = total
                bar.update(done - bar.n)

    def _advance(self, row: FileRow, frac: float) -> None:
        old = self._fraction.get(row.output, 0.0)
        self._fraction[row.output] = frac
        self.bytes_done += (frac - old) * self._weight.get(row.output, row.input_bytes)
        if self._overall is not None:
            self._overall.n = min(int(self.bytes_done), self.total_bytes)
            self._overall.refresh()

    def restarted(self, row: FileRow) -> None:
        """A worker died under the file: its progress starts again."""
        with self._lock:
            if row.output in self._fraction:
                self._advance(row, 0.0)
                bar = self._bars.get(row.output)
                if bar is not None:
                    bar.reset()
            if self.mode == "lines":
                self._write(f"napari-viv batch: {row.label}: its worker was lost; converting "
                            "it again")

    def finished_row(self, row: FileRow) -> None:
        with self._lock:
            self.finished += 1
            self._done.add(row.output)
            self._advance(row, 1.0)
            self._fraction.pop(row.output, None)
            bar = self._bars.pop(row.output, None)
            if bar is not None:
                self._free.append(abs(bar.pos))  # tqdm keeps it negated
                bar.close()
            if self._overall is not None:
                self._overall.set_description_str(self._files_text())
            n = f"[{self.finished}/{self.total}]"
            for text in row.notes if row.status == "done" else ():
                text = text if text.startswith(row.input.name) else f"{row.input.name}: {text}"
                self._write(f"napari-viv batch: note: {text}")
            if row.status == "failed":
                self._write(f"napari-viv batch: {n} failed: {row.reason}")
            elif self.mode == "lines" and row.status == "done":
                self._write(f"napari-viv batch: {n} done {row.label} -> {row.output} "
                            f"({human_bytes(row.output_bytes)}, {seconds_text(row.seconds)})")
            elif self.mode == "lines" and row.status == "interrupted":
                self._write(f"napari-viv batch: {n} interrupted {row.label}: {row.reason}")

    def close(self) -> None:
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._bars.clear()
            if self._overall is not None:
                self._overall.close()
                self._overall = None


def _short(row: FileRow) -> str:
    """A running file's bar label: its name, and its series when it has one."""
    return row.input.name if row.series is None else f"{row.input.name} [series {row.series}]"


# --- running on this machine ---------------------------------------------------------


def run_local(rows: list[FileRow], options: ConvertOptions, *, jobs: int = 1,
              progress: Progress, stop: threading.Event) -> None:
    """Convert the pending rows here, ``jobs`` files at a time, sharing the cores."""
    todo = [r for r in rows if r.status == "pending"]
    threads = max(1, cores() // jobs)

    def one(row: FileRow) -> None:
        if stop.is_set():
            row.status, row.reason = "interrupted", "not started"
            return
        row.worker, row.attempts = "local", 1
        progress.started(row)
        stall = stall_hook(row.input, stop.is_set)

        def tick(done: int, total: int) -> None:
            progress.update(row, done, total)
            if stall is not None:
                stall(done, total)
            if stop.is_set():  # also once every block is read and only writing is left
                raise Cancelled(f"{row.input}: stopped; nothing was written")

        started = time.perf_counter()
        try:
            source, written = convert_one(row.input, row.output, row.options(options),
                                          overwrite=True,
                                          progress=tick, cancel=stop.is_set, workers=threads,
                                          note=row.notes.append)
            row.notes += source.notes
        except Cancelled:
            row.status, row.reason = "interrupted", "stopped; nothing was written"
        except NapariVivError as exc:
            row.status, row.reason = "failed", row.named(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug: still only this file's
            row.status, row.reason = "failed", f"{row.label}: {one_line(exc, 200)}"
        else:
            row.status = "done"
            row.output_bytes = written.nbytes
            row.written = [str(p) for p in written.paths]
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


# --- running on a dask.distributed cluster ---------------------------------------------


def _connect(address: str, jobs: int | None):
    """A Client (and the LocalCluster it owns, for ``local``)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise NapariVivError(
            f"--scheduler {address}: needs dask.distributed; install it with "
            "pip install 'napari-viv[batch]'") from None
    if address == "local":
        # A worker lost mid-file is retried once, then the file fails.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(n_workers=jobs or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address), None  # times out after distributed.comm.timeouts.connect
    except (OSError, TimeoutError) as exc:
        raise NapariVivError(f"--scheduler {address}: cannot reach the dask scheduler "
                             f"({one_line(exc, 120)})") from None
    except ValueError as exc:
        raise NapariVivError(f"--scheduler {address}: not a scheduler address "
                             f"({one_line(exc, 120)}); give tcp://HOST:PORT or local") from None


def run_distributed(rows: list[FileRow], options: ConvertOptions, address: str, *,
                    jobs: int | None = None, progress: Progress, stop: threading.Event,
                    announce=print) -> None:
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

    threads = max(1, cores() // (jobs or 1)) if cluster is not None else None
    try:
        client.subscribe_topic(topic(batch_id, "started"), on_started)
        client.subscribe_topic(topic(batch_id, "progress"), on_progress)
        if not client.scheduler_info().get("workers"):
            announce(f"waiting for a worker to join {client.scheduler.address}")
        futures = {}
        order = sorted(todo, key=lambda r: -r.input_bytes)  # largest first: shorter tail
        for rank, row in enumerate(order):
            fut = client.submit(convert_task, str(row.input.resolve()), str(row.output.resolve()),
                                row.options(options), batch_id, True, threads,
                                key=f"napari-viv-convert-{rank}-{batch_id[:8]}",
                                pure=False, priority=len(order) - rank)
            futures[fut] = row
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
                row.reason = ("stopped; nothing was written" if row.attempts
                              else "not started")
                progress.finished_row(row)
    finally:
        if stop.is_set():  # also after a second Ctrl-C: no task of this batch goes on
            try:
                client.run(cancel_batch, batch_id)
            except Exception:  # noqa: BLE001 - best effort: the client may already be gone
                pass
        for kind in ("started", "progress"):
            try:
                client.unsubscribe_topic(topic(batch_id, kind))
            except Exception:  # noqa: BLE001 - best effort: the client may already be gone
                pass
        client.close()
        if cluster is not None:
            cluster.close()


def _count_attempts(client, batch_id: str, by_output: dict) -> None:
    """Attempts per row, from the scheduler's log of ``started`` events.

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
    """A finished future -> its row."""
    if fut.status == "finished":
        result = fut.result()
        row.status = result["status"]
        row.reason = row.named(
            result.get("reason", "").replace(str(row.input.resolve()), str(row.input)))
        row.seconds = result.get("seconds", 0.0)
        row.worker = result.get("worker", row.worker)
        row.output_bytes = result.get("output_bytes", 0)
        row.written = result.get("written", [])
        row.notes = list(result.get("notes", []))
        if row.status == "done" and not row.output.is_file():
            row.status = "failed"
            row.reason = (f"{row.output}: the worker {row.worker} wrote it, but it is not in "
                          f"{row.output.parent} here: --out-dir must be a folder every worker "
                          "shares")
        elif row.status == "done" and row.attempts > 1:
            row.reason = f"retried after a worker was lost ({row.attempts} attempts)"
    elif fut.status == "error":
        exc = fut.exception()
        name = type(exc).__name__
        row.status = "failed"
        if name == "KilledWorker":
            row.reason = (f"{row.label}: the worker converting it died "
                          f"{max(row.attempts, 1)} time(s) (out of memory?); nothing was written")
        else:
            row.reason = f"{row.label}: {one_line(exc, 200)}"
    else:
        row.status, row.reason = "interrupted", "cancelled"
    progress.finished_row(row)


# --- the result ------------------------------------------------------------------------


def summary(rows: list[FileRow], seconds: float) -> dict:
    """Counts, bytes and throughput of a batch."""
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    done = [r for r in rows if r.status == "done"]
    # an input's size once, however many of its series were converted
    in_bytes = sum({r.input: r.input_bytes for r in done}.values())
    minutes = max(seconds, 1e-9) / 60
    return {
        "files": len(rows), **counts, "seconds": round(seconds, 3),
        "input_bytes_converted": in_bytes,
        "output_bytes_written": sum(r.output_bytes for r in done),
        "files_per_minute": round(len(done) / minutes, 2),
        "gb_per_minute": round(in_bytes / 1e9 / minutes, 4),
    }


def seconds_text(seconds: float) -> str:
    """``12.3 s``, or ``0.04 s`` below a second."""
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def table(rows: list[FileRow]) -> list[str]:
    """The final table: one line per row (status, input [series], output, size, time,
    reason)."""
    head = ("STATUS", "INPUT", "OUTPUT", "SIZE", "TIME", "REASON")
    body = []
    for r in rows:
        size = human_bytes(r.output_bytes) if r.status in ("done", "skipped") else "-"
        secs = seconds_text(r.seconds) if r.status in ("done", "failed") and r.seconds else "-"
        body.append((r.status, r.label, str(r.output), size, secs, r.reason))
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    lines = []
    for cells in [head, *body]:
        left = "  ".join(c.ljust(w) if i not in (3, 4) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells[:5], widths)))
        lines.append(f"{left}  {cells[5]}".rstrip())
    return lines
