"""Progress of a batch: an overall bar and a bar per running file, or one line per event."""

from __future__ import annotations

import collections
import sys
import threading
from pathlib import Path
from typing import Any

from ..text import human_bytes, named, seconds_text
from .rows import FileRow


class Progress:
    """Show a batch's progress: bars on a terminal, else one line per started and finished file.

    On a terminal: an overall bar (files and bytes) and a bar per running
    file. Thread-safe. ``mode`` is ``"bars"``, ``"lines"`` or ``None`` (nothing but failures).
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
        self._bars: dict[Path, Any] = {}  # tqdm bars
        self._fraction: dict[Path, float] = {}
        self._free: list[int] = []
        self._done: set[Path] = set()
        self._overall: Any = None
        if mode == "bars":
            from tqdm import tqdm

            self._tqdm = tqdm
            self._overall = tqdm(
                total=self.total_bytes,
                unit="B",
                unit_scale=True,
                desc=self._files_text(),
                file=self.stream,
                position=0,
                dynamic_ncols=True,
                leave=False,
            )

    def _files_text(self) -> str:
        return f"batch {self.finished}/{self.total} files"

    def _write(self, text: str) -> None:
        if self._overall is not None:
            self._overall.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def started(self, row: FileRow, where: str = "") -> None:
        """Show that ``row`` started (``where``: on which worker)."""
        with self._lock:
            if row.output in self._fraction or row.output in self._done:
                return
            self._fraction[row.output] = 0.0
            if self.mode == "bars":
                pos = self._free.pop(0) if self._free else len(self._bars) + 1
                self._bars[row.output] = self._tqdm(
                    total=1,
                    desc=f"  {_short(row)}",
                    unit="tile",
                    file=self.stream,
                    position=pos,
                    dynamic_ncols=True,
                    leave=False,
                )
            elif self.mode == "lines":
                on = f" on {where}" if where else ""
                self._write(f"napari-viv batch: converting {row.label}{on}")

    def update(self, row: FileRow, done: int, total: int) -> None:
        """Show ``done`` of ``total`` tiles of ``row``."""
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
        """Start ``row``'s progress again: a worker died under it."""
        with self._lock:
            if row.output in self._fraction:
                self._advance(row, 0.0)
                bar = self._bars.get(row.output)
                if bar is not None:
                    bar.reset()
            if self.mode == "lines":
                self._write(f"napari-viv batch: {row.label}: its worker was lost; converting it again")

    def finished_row(self, row: FileRow) -> None:
        """Count ``row`` finished; say so (failures always), with its notes when it is done."""
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
                self._write(f"napari-viv batch: note: {named(row.input.name, text)}")
            if row.status == "failed":
                self._write(f"napari-viv batch: {n} failed: {row.reason}")
            elif self.mode == "lines" and row.status == "done":
                self._write(
                    f"napari-viv batch: {n} done {row.label} -> {row.output} "
                    f"({human_bytes(row.output_bytes)}, {seconds_text(row.seconds)})"
                )
            elif self.mode == "lines" and row.status == "interrupted":
                self._write(f"napari-viv batch: {n} interrupted {row.label}: {row.reason}")

    def close(self) -> None:
        """Remove every bar."""
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._bars.clear()
            if self._overall is not None:
                self._overall.close()
                self._overall = None


def _short(row: FileRow) -> str:
    """Label a running file's bar: its name, and its series when it has one."""
    return row.input.name if row.series is None else f"{row.input.name} [series {row.series}]"
