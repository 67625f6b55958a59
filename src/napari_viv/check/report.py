"""What a check reads and finds: :class:`TiffFacts`, :class:`Finding`, :class:`CheckReport`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Finding:
    """One broken rule: ``severity`` is "error" or "warning"."""

    severity: str
    message: str
    fix: str


@dataclass
class CheckReport:
    """All findings for one file; ``ok`` means Viv opens it with correct pixels.

    Errors mean Viv fails or shows wrong pixels (or Avivator shows wrong
    colours); warnings mean it works, but slowly or with a caveat. Rules
    report with :meth:`error`, :meth:`warn` and :meth:`warn_once`.
    """

    path: Path
    findings: list[Finding] = field(default_factory=list)
    #: One line per image Viv will show, e.g. "Image 0: 2 channels uint16 ...".
    images: list[str] = field(default_factory=list)
    #: Warnings about pixels Viv loads right but Avivator shows in wrong colours.
    avivator_wrong: list[Finding] = field(default_factory=list)
    _said: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether no rule found an error."""
        return not self.errors

    @property
    def avivator_ok(self) -> bool:
        """Whether Avivator, too, shows the file with correct pixels and colours."""
        return self.ok and not self.avivator_wrong

    @property
    def verdict(self) -> str:
        """Return the one-line verdict for people (the first line of ``napari-viv check``)."""
        if not self.ok:
            return f"{self.path}: NOT OK - Viv/Avivator will fail or show wrong pixels ({len(self.errors)} problem(s)):"
        tail = f" ({len(self.warnings)} warning(s))" if self.warnings else ""
        if not self.avivator_ok:
            return f"{self.path}: NOT OK for Avivator - Viv opens it, but Avivator shows wrong colours{tail}"
        return f"{self.path}: OK - Viv and Avivator will open it with correct pixels{tail}"

    @property
    def errors(self) -> list[Finding]:
        """The findings that are errors."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that are warnings."""
        return [f for f in self.findings if f.severity == "warning"]

    def error(self, message: str, fix: str) -> None:
        """Record an error: Viv fails or shows wrong pixels."""
        self.findings.append(Finding("error", message, fix))

    def warn(self, message: str, fix: str) -> None:
        """Record a warning: Viv works, but slowly or with a caveat."""
        self.findings.append(Finding("warning", message, fix))

    def wrong_in_avivator(self, message: str, fix: str) -> None:
        """Record a warning about pixels that Viv loads but Avivator shows in wrong colours."""
        finding = Finding("warning", message, fix)
        self.findings.append(finding)
        self.avivator_wrong.append(finding)

    def warn_once(self, key: str, message: str, fix: str) -> None:
        """Record a warning unless one with the same ``key`` was recorded for this file."""
        if key not in self._said:
            self._said.add(key)
            self.warn(message, fix)

    def error_count(self) -> int:
        """Return how many errors are recorded so far."""
        return len(self.errors)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data (what ``check --json`` prints)."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "avivator_ok": self.avivator_ok,
            "findings": [asdict(f) for f in self.findings],
            "images": list(self.images),
        }


@dataclass
class TiffFacts:
    """The TIFF file a check reads: what the plane and page rules need of it."""

    tif: Any  # tifffile.TiffFile
    path: Path
    size: int
    npages: int
    #: Pyramid levels per plane, as Viv takes them from the first plane's IFD.
    levels: int = 1

    @classmethod
    def of(cls, tif: Any, path: Path) -> TiffFacts:
        """Return the facts of an open ``tif`` at ``path``.

        Parameters
        ----------
        tif : tifffile.TiffFile
            The open file.
        path : pathlib.Path
            Where it is.

        Returns
        -------
        TiffFacts
            With the file's size and the length of its main IFD chain.
        """
        return cls(tif, path, os.path.getsize(path), len(tif.pages))
