"""Where an export's encoded tiles go: the sink interface.

The plan says what to write and the stream (stream.py) reads, halves and
encodes it on a thread pool; a sink only stores the bytes it is given and
publishes them when the export is complete. Neither the plan nor the stream
knows which sink it feeds.

Two kinds of destination fit this interface:

* an ordered one, such as a TIFF (:class:`~napari_viv.write.tiffsink.TiffSink`),
  which must receive a plane's level-0 tiles in file (row-major) order, then
  that plane's lower levels one after the other: the stream calls
  :meth:`TileSink.put_level` in exactly that order;
* an unordered one, such as a Zarr store, which files each tile under its
  (plane, level, row, column) key whatever the order: it implements
  :meth:`TileSink.put_tile`, and the stream hands it every tile of every
  level as soon as the tile is encoded (from one thread, plane by plane,
  each level's tiles row by row, the levels interleaved), so no encoded
  tile waits in memory or in a scratch file. The inherited
  :meth:`TileSink.put_level` hands it a whole level's tiles one by one.

A sink is a context manager: leaving the ``with`` block before
:meth:`TileSink.commit` (an error, a cancel) leaves nothing at any output path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import IO, ClassVar

from .plan import PyramidPlan


class TileSink(ABC):
    """The destination of one export's encoded tiles.

    Parameters
    ----------
    plan : PyramidPlan
        The export's plan: level shapes and tile size give each tile's place.
    """

    #: True if :meth:`put_level` must come plane by plane in file order:
    #: level 0, then levels 1, 2, ... of the same plane. False: the sink
    #: takes single tiles (:meth:`put_tile`) in any order.
    ordered: ClassVar[bool] = True

    def __init__(self, plan: PyramidPlan) -> None:
        self.plan = plan

    def __enter__(self) -> TileSink:
        """Prepare the destination (nothing is visible at the output yet)."""
        return self

    @abstractmethod
    def __exit__(self, *exc) -> None:
        """Discard everything unless :meth:`commit` has published it."""

    @abstractmethod
    def scratch(self) -> IO[bytes]:
        """Open an unnamed scratch file near the output, for tiles waiting their turn (caller closes)."""

    def put_level(self, plane: int, level: int, tiles: Iterable[bytes]) -> None:
        """Store every encoded tile of one level of one plane, given in row-major order.

        Parameters
        ----------
        plane : int
            The plane's index in file order (T outermost, then C, then Z).
        level : int
            The pyramid level, 0 the full resolution.
        tiles : iterable of bytes
            The level's encoded tiles, row by row, left to right.
        """
        cols = self.plan.tiles_in(level)[1]
        for index, data in enumerate(tiles):
            self.put_tile(plane, level, index // cols, index % cols, data)

    def put_tile(self, plane: int, level: int, row: int, col: int, data: bytes) -> None:
        """Store one encoded tile; only unordered sinks accept single tiles.

        Parameters
        ----------
        plane, level : int
            As in :meth:`put_level`.
        row, col : int
            The tile's row and column in the level's grid of tiles.
        data : bytes
            The encoded tile.
        """
        raise NotImplementedError(f"{type(self).__name__} takes whole levels in file order")

    @abstractmethod
    def commit(self, view: bytes | None = None) -> None:
        """Publish the complete export, with the view file's bytes when there are any."""

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Bytes written at the output (after :meth:`commit`)."""

    @property
    @abstractmethod
    def paths(self) -> dict[str, Path | None]:
        """The output paths by role ("image", "offsets", "view"); None where none is written."""
