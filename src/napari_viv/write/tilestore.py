"""Encoded tiles of a plane's lower levels, kept until the writer wants them.

For an ordered sink (a TIFF): a plane's level 0 is written while it is
produced; its SubIFD levels can only be written after it. Their encoded
tiles wait here: in RAM up to ``spill_threshold`` bytes (SPILL_THRESHOLD by
default), then in an unnamed scratch file in the output folder. An
unordered sink (a Zarr store) takes every tile as it is encoded and needs
no store.
"""

from __future__ import annotations

import os
import threading
from collections import deque

#: Encoded lower-level tiles kept in RAM per plane before spilling to disk.
SPILL_THRESHOLD = 16 * 1024 * 1024


class Counter:
    """A thread-safe running count (tiles stored, for progress)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> None:
        """Add ``n`` to the count."""
        with self._lock:
            self.value += n


class TileStore:
    """Encoded tiles of levels >= 1 of one plane, in order, RAM then disk.

    The producer adds encode futures level by level, in file order; the
    writer waits for them all (``collect(wait=True)``) and reads each level
    back with ``tiles(level)``. Only one thread uses a store at a time.
    Tiles beyond ``spill_threshold`` bytes go to the scratch file.
    """

    def __init__(
        self, nlevels: int, scratch, counter: Counter | None = None, *, spill_threshold: int = SPILL_THRESHOLD
    ):
        self.pending: dict[int, deque] = {lvl: deque() for lvl in range(1, nlevels)}
        self.entries: dict[int, list] = {lvl: [] for lvl in range(1, nlevels)}
        self.ram = 0
        self.spill_threshold = spill_threshold
        self._scratch = scratch  # callable returning a binary temp file
        self._counter = counter
        self._file = None
        self._end = 0

    def add(self, level: int, futures) -> None:
        """Queue the encode futures of ``level``'s next tiles, in file order."""
        self.pending[level].extend(futures)

    def npending(self) -> int:
        """Count the encodings queued but not yet stored."""
        return sum(map(len, self.pending.values()))

    def collect(self, wait: bool = False, limit: int | None = None) -> None:
        """Move finished encodings into storage.

        All of them if ``wait``;
        with ``limit``, wait until at most that many are still pending.
        """
        for level, queue in self.pending.items():
            while queue and (wait or queue[0].done()):
                self._put(level, queue.popleft().result())
        if limit is not None:
            for level, queue in self.pending.items():
                while queue and self.npending() > limit:
                    self._put(level, queue.popleft().result())

    def _put(self, level: int, data: bytes) -> None:
        if self._counter is not None:
            self._counter.add()
        if self.ram + len(data) <= self.spill_threshold:
            self.ram += len(data)
            self.entries[level].append(data)
            return
        if self._file is None:
            self._file = self._scratch()
        _pwrite(self._file, data, self._end)
        self.entries[level].append((self._end, len(data)))
        self._end += len(data)

    def tiles(self, level: int):
        """Yield the encoded tiles of ``level`` in order (each handed out once)."""
        for entry in self.entries[level]:
            if isinstance(entry, bytes):
                yield entry
            else:
                yield _pread(self._file, entry[1], entry[0])
        self.entries[level] = []

    def close(self) -> None:
        """Cancel pending encodings, drop stored tiles and close the scratch file."""
        for queue in self.pending.values():
            for fut in queue:
                fut.cancel()
            queue.clear()
        self.entries = {lvl: [] for lvl in self.entries}
        if self._file is not None:
            self._file.close()
            self._file = None


def _pwrite(f, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(f.fileno(), data, offset)
    else:  # Windows; only one thread uses a store at a time
        f.seek(offset)
        f.write(data)
        f.flush()


def _pread(f, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(f.fileno(), size, offset)
    f.seek(offset)
    return f.read(size)
