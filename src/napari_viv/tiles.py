"""Tiles as a source stores them, for copying into an export without re-encoding.

The reader finds them (:func:`napari_viv.read.jpeg.jpeg_level0`); the writer
copies them (``export_pyramid(..., copy_level0=...)``). Neither knows the
other: this small description is all they share.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EncodedTiles:
    """The compressed tiles of one TIFF image (level 0 of an export), row-major.

    Every byte is read through tifffile's file handle, one tile at a time.
    """

    path: Path
    #: TIFF Compression code (7: JPEG).
    compression: int
    #: TIFF Photometric name as tifffile writes it: "ycbcr" or "rgb" or "minisblack".
    photometric: str
    #: YCbCrSubSampling of the stored tiles, or None.
    subsampling: tuple[int, int] | None
    #: The JPEGTables tag the tiles need, as the source had it, or None.
    jpegtables: bytes | None
    #: Square tile edge in pixels.
    tile: int
    #: (Y, X, S) of the image.
    shape: tuple[int, int, int]
    offsets: tuple[int, ...]
    bytecounts: tuple[int, ...]
    _handle: list = field(default_factory=list, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def ntiles(self) -> int:
        """Number of tiles."""
        return len(self.offsets)

    def read(self, index: int) -> bytes:
        """Read the stored bytes of tile ``index`` (row-major), unchanged."""
        import tifffile

        with self._lock:
            if not self._handle:
                self._handle.append(tifffile.FileHandle(self.path, mode="rb"))
            fh = self._handle[0]
            ((data, _),) = fh.read_segments([self.offsets[index]], [self.bytecounts[index]], lock=None, sort=False)
        return data

    def close(self) -> None:
        """Close the file handle (a later :meth:`read` opens it again)."""
        with self._lock:
            while self._handle:
                self._handle.pop().close()
