"""Putting a site's files at the destination: skip, resume, order, progress and cancel.

Data files (image, sidecars, thumbnails) and the viewer's assets go first, in
parallel (large files in parallel multipart parts too). Pages go last, one
after another, so a page never points at a half-published image. A file the
destination already holds with the same size and CRC-32C is skipped: a rerun
after an interruption sends only what is missing.

Why CRC-32C and not SHA-256: the checksum only tells an unchanged file from
a changed one of the same size (nothing adversarial), S3 offers the same
checksum for integrity, and it costs a sixth of SHA-256's CPU (0.07 s
against 0.42 s for 730 MB, hardware CRC through google-crc32c, which zarr
already requires). Against a local S3 server both share two cores, so the
hash's CPU was most of what publish added to a bare upload
(docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Cancelled
from .site import SiteFile


def file_checksum(path: Path) -> str:
    """Compute the CRC-32C (Castagnoli) of a file, as 8 hex digits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"123456789")
    >>> file_checksum(p)  # the CRC-32C check value
    'e3069283'
    """
    import google_crc32c

    crc = 0
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            crc = google_crc32c.extend(crc, block)
    return f"{crc:08x}"


@dataclass
class Transfer:
    """What an upload did: names sent and skipped, and bytes sent."""

    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_sent: int = 0


class _Progress:
    """Bytes sent, from many threads, reported as ``progress(done, total)``; raises on cancel."""

    def __init__(self, total: int, progress, cancel) -> None:
        self.total, self.done = total, 0
        self._progress, self._cancel = progress, cancel
        self._lock = threading.Lock()
        self.stopped = False  # set when the caller is interrupted (Ctrl-C): the other transfers stop too

    def check(self) -> None:
        if self.stopped or (self._cancel is not None and self._cancel()):
            raise Cancelled("cancelled; the page was not published, so no link points at this publication yet")

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            done = self.done
        if self._progress is not None:
            self._progress(done, self.total)
        self.check()


class _Manifest:
    """The destination's manifest (name -> size, CRC-32C, public), written as files complete.

    A store has thousands of keys: the manifest is written at most once a
    second while they go up (and at the end), so an interruption loses at
    most a second of records (those keys are sent again by a rerun).
    """

    INTERVAL = 1.0

    def __init__(self, dest, staging: Path) -> None:
        import json

        from .destination import MANIFEST_NAME

        self.dest, self.name, self.path = dest, MANIFEST_NAME, staging / MANIFEST_NAME
        raw = dest.read_bytes(MANIFEST_NAME)
        try:
            self.entries: dict = json.loads(raw) if raw else {}
        except ValueError:
            self.entries = {}
        if not isinstance(self.entries, dict):
            self.entries = {}
        self._lock = threading.Lock()
        self._written = 0.0  # time of the last write (0: the first record writes at once)
        self._dirty = False

    def same(self, name: str, size: int, checksum: str) -> bool:
        entry = self.entries.get(name)
        return isinstance(entry, dict) and entry.get("size") == size and entry.get("crc32c") == checksum

    def public(self, name: str) -> bool:
        """Whether ``name`` was sent readable by anyone."""
        entry = self.entries.get(name)
        return isinstance(entry, dict) and entry.get("public") is True

    def record(self, name: str, size: int, checksum: str, public: bool) -> None:
        import time

        with self._lock:
            self.entries[name] = {"size": size, "crc32c": checksum, "public": public}
            self._dirty = True
            if time.monotonic() - self._written >= self.INTERVAL:
                self._write()

    def mark_public(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self.entries[name]["public"] = True
                self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if self._dirty:
                self._write()

    def _write(self) -> None:
        import json
        import time

        self.path.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        self.dest.put(self.path, self.name, content_type="application/json")
        self._written, self._dirty = time.monotonic(), False


def upload(
    dest,
    files: list[SiteFile],
    *,
    public: bool,
    jobs: int = 4,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Transfer:
    """Put ``files`` at ``dest``: everything but the pages in parallel, then the pages in order.

    Parameters
    ----------
    dest : LocalFolder or ObjectStore
        Where they go (:func:`napari_viv.publish.destination.make_destination`).
    files : list of SiteFile
        The site; pages (role ``"page"``) go last, in the order given.
    public : bool
        Make each object readable by anyone (object stores; a folder ignores it).
    jobs : int
        Files sent at the same time.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)``, from any thread.
    cancel : callable, optional
        Polled while sending; when it returns True, :class:`~napari_viv.errors.Cancelled`
        is raised and no page has been sent.

    Returns
    -------
    Transfer
        The names uploaded and skipped.
    """
    import tempfile

    there = dest.listing()
    with tempfile.TemporaryDirectory(prefix="napari-viv-manifest-") as tmp, ThreadPoolExecutor(2) as hashing:
        manifest = _Manifest(dest, Path(tmp))
        # Checksums are computed beside the uploads, in 8 MB blocks.
        sums = {f.name: hashing.submit(file_checksum, f.source) for f in files}
        sizes = {f.name: f.source.stat().st_size for f in files}
        result = Transfer()
        todo = []
        for f in files:
            if there.get(f.name) == sizes[f.name] and manifest.same(f.name, sizes[f.name], sums[f.name].result()):
                result.skipped.append(f.name)
            else:
                todo.append(f)
        meter = _Progress(sum(sizes[f.name] for f in todo), progress, cancel)
        meter.check()

        def send(f: SiteFile) -> None:
            meter.check()
            dest.put(f.source, f.name, content_type=f.content_type, public=public, callback=meter.add)
            manifest.record(f.name, sizes[f.name], sums[f.name].result(), public)

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            try:
                for future in [pool.submit(send, f) for f in todo if f.role != "page"]:
                    future.result()
            except BaseException:
                meter.stopped = True  # the running transfers end at their next progress report
                for pending in sums.values():
                    pending.cancel()
                with contextlib.suppress(Exception):  # the first error is the one to report
                    manifest.flush()  # what did go up is skipped by a rerun
                raise
            if public:  # files skipped now may have been sent privately before
                private = [n for n in result.skipped if not manifest.public(n)]
                for future in [pool.submit(dest.make_public, n) for n in private]:
                    future.result()
                manifest.mark_public(private)
        for f in todo:
            if f.role == "page":
                send(f)
        manifest.flush()
    result.uploaded = [f.name for f in todo]
    result.bytes_sent = meter.done
    return result
