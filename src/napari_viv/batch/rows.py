"""What became of each file of a batch: :class:`FileRow`, the totals and the final table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..convert import ConvertOptions
from ..errors import NapariVivError
from ..text import human_bytes, seconds_text

STATUSES = ("done", "skipped", "failed", "interrupted")


@dataclass
class FileRow:
    """One input of a batch (or, with ``--all-series``, one image series of it) and what became of it.

    Examples
    --------
    >>> row = FileRow(Path("a.tif"), Path("out/a_s1.ome.tif"), series=1)
    >>> row.fail(NapariVivError("file is truncated", subject="a.tif"))
    >>> row.status, row.reason
    ('failed', 'a.tif [series 1]: file is truncated')
    """

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

    def fail(self, error: NapariVivError, *, input_as: str | None = None) -> None:
        """Mark the row failed with ``error``; an error about the input names it by :attr:`label`.

        Parameters
        ----------
        error : NapariVivError
            Why it failed.
        input_as : str, optional
            Another name the error may give the input (the path a worker was sent).
        """
        about_input = error.subject is not None and error.subject in (str(self.input), input_as)
        self.status = "failed"
        self.reason = str(error.about(self.label) if about_input else error)

    def options(self, options: ConvertOptions) -> ConvertOptions:
        """Return ``options`` for this row: its series, when it has one."""
        return options.for_series(self.series)

    def as_dict(self) -> dict:
        """Return the row as the JSON report writes it."""
        return {
            "input": str(self.input),
            "series": self.series,
            "output": str(self.output),
            "status": self.status,
            "reason": self.reason,
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
            "attempts": self.attempts,
            "written": self.written,
            "notes": self.notes,
        }


def summary(rows: list[FileRow], seconds: float) -> dict:
    """Count the rows by status, and the bytes and throughput of a batch.

    Parameters
    ----------
    rows : list of FileRow
        Every row of the batch.
    seconds : float
        How long it ran.

    Returns
    -------
    dict
        files, a count per status, seconds, input_bytes_converted,
        output_bytes_written, files_per_minute and gb_per_minute.

    Examples
    --------
    >>> summary([FileRow(Path("a"), Path("b"), status="skipped")], 1.0)["skipped"]
    1
    """
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    done = [r for r in rows if r.status == "done"]
    # an input's size once, however many of its series were converted
    in_bytes = sum({r.input: r.input_bytes for r in done}.values())
    minutes = max(seconds, 1e-9) / 60
    return {
        "files": len(rows),
        **counts,
        "seconds": round(seconds, 3),
        "input_bytes_converted": in_bytes,
        "output_bytes_written": sum(r.output_bytes for r in done),
        "files_per_minute": round(len(done) / minutes, 2),
        "gb_per_minute": round(in_bytes / 1e9 / minutes, 4),
    }


def table(rows: list[FileRow]) -> list[str]:
    """Lay out the final table: one line per row (status, input [series], output, size, time, reason).

    Parameters
    ----------
    rows : list of FileRow
        Every row of the batch.

    Returns
    -------
    list of str
        The heading, then a line per row.

    Examples
    --------
    >>> table([FileRow(Path("a.npy"), Path("a.ome.tif"), status="skipped")])[1].split()
    ['skipped', 'a.npy', 'a.ome.tif', '0', 'B', '-']
    """
    head = ("STATUS", "INPUT", "OUTPUT", "SIZE", "TIME", "REASON")
    body = []
    for r in rows:
        size = human_bytes(r.output_bytes) if r.status in ("done", "skipped") else "-"
        secs = seconds_text(r.seconds) if r.status in ("done", "failed") and r.seconds else "-"
        body.append((r.status, r.label, str(r.output), size, secs, r.reason))
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    lines = []
    for cells in [head, *body]:
        left = "  ".join(
            c.ljust(w) if i not in (3, 4) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells[:5], widths, strict=True))
        )
        lines.append(f"{left}  {cells[5]}".rstrip())
    return lines
