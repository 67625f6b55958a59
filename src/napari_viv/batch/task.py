"""The task a ``dask.distributed`` worker runs for one file of a batch.

:func:`convert_task` converts one file (or one series of it) with
:func:`~napari_viv.convert.convert_one` and returns its row for the report;
it sends ``started`` and ``progress`` events on the batch's :func:`topic`
and stops when the client runs :func:`cancel_batch` on every worker. Nothing
here imports ``distributed`` until a task runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..convert import ConvertOptions, convert_one
from ..errors import Cancelled, NapariVivError
from ..system import cpu_count

#: Batch ids whose tasks should stop (set on each worker by ``Client.run``).
_CANCELLED: set[str] = set()
_EVENT_EVERY = 0.5  # seconds between progress events from a worker


def cancel_batch(batch_id: str) -> None:
    """Stop the running tasks of batch ``batch_id`` (run on every worker by the client on Ctrl-C).

    Parameters
    ----------
    batch_id : str
        The batch's id.

    Examples
    --------
    >>> cancel_batch("0" * 32)
    """
    _CANCELLED.add(batch_id)


def topic(batch_id: str, kind: str) -> str:
    """Name the ``dask.distributed`` event topic of a batch's ``started`` or ``progress`` events.

    Parameters
    ----------
    batch_id : str
        The batch's id.
    kind : str
        ``"started"`` or ``"progress"``.

    Returns
    -------
    str
        The topic.

    Examples
    --------
    >>> topic("abc", "started")
    'napari-viv-batch-started-abc'
    """
    return f"napari-viv-batch-{kind}-{batch_id}"


def convert_task(
    src: str,
    out: str,
    options: ConvertOptions,
    batch_id: str,
    overwrite: bool = True,
    workers: int | None = None,
) -> dict:
    """Convert one file (``options.series`` of it) on a ``dask.distributed`` worker.

    A bad input is a ``failed`` row (not an exception, so dask does not retry
    it); its error travels whole, in ``row["error"]``, so the client names the
    file as it calls it. Encoding uses ``workers`` threads (``--workers`` wins
    over it), by default the worker's share of its machine's cores: all of
    them divided by the worker's thread count (each thread may run one file
    at a time). The events name ``src`` and ``out``; the client tells rows
    apart by ``out`` (``--all-series`` gives one input several rows).

    Parameters
    ----------
    src, out : str
        The input and its output, as paths every worker can open.
    options : ConvertOptions
        How to convert it.
    batch_id : str
        The batch's id (its event topics, its cancellation).
    overwrite : bool
        Replace an existing output.
    workers : int, optional
        Encoding threads.

    Returns
    -------
    dict
        The row: status (done / failed / interrupted), error, seconds, worker,
        notes, and for a done file output_bytes and the written paths.

    Examples
    --------
    Run by the scheduler, through ``Client.submit(convert_task, ...)``.
    """
    from distributed import get_worker

    worker = get_worker()
    started = time.perf_counter()
    last = [0.0]

    def event(kind, **msg):
        worker.log_event(topic(batch_id, kind), {"input": src, "output": out, "worker": worker.address, **msg})

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= _EVENT_EVERY or done == total:
            last[0] = now
            event("progress", done=done, total=total)
        if batch_id in _CANCELLED:  # also once every block is read and only writing is left
            raise Cancelled(subject=src)

    event("started", pid=os.getpid())
    if workers is None:
        nthreads = getattr(getattr(worker, "state", None), "nthreads", None) or 1
        workers = max(1, cpu_count() // nthreads)
    notes: list[str] = []
    row: dict = {"worker": worker.address, "notes": notes}
    try:
        source, written = convert_one(
            Path(src),
            out,
            options,
            overwrite=overwrite,
            progress=progress,
            cancel=lambda: batch_id in _CANCELLED,
            workers=workers,
            note=notes.append,
        )
        notes += source.notes
    except Cancelled:
        row.update(status="interrupted", reason="stopped; nothing was written")
    except NapariVivError as exc:
        row.update(status="failed", error=exc)
    else:
        row.update(status="done", reason="", output_bytes=written.nbytes, written=[str(p) for p in written.paths])
    row["seconds"] = time.perf_counter() - started
    return row
