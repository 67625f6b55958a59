"""The Zarr sink: encoded tiles as the chunks of an OME-Zarr (NGFF 0.4, Zarr v2) store.

Each pyramid level is an array ``"0"``, ``"1"``, ... of the group, chunked
in single-plane tiles ``(1, ..., 1, tile, tile)`` (Avivator reads only 2-D
chunks) with ``"/"`` as the chunk-key separator, as NGFF 0.4 requires. A
tile's encoded bytes are written as they are as its chunk file, in any
order: the edge tiles the stream pads with zeros are exactly Zarr v2's
full-size edge chunks.

The store is built in a hidden temporary folder beside the output and
renamed into place once complete; the view file is published after it. An
error or a cancel removes the temporary folder, so nothing appears at the
output path. With ``overwrite`` an old store is moved aside only when the
new one is complete, and removed after the new one is in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import naming
from ..errors import NapariVivError
from .atomic import check_folder, publish_bytes
from .plan import PyramidPlan
from .sink import TileSink

#: Zarr v2 compressor ids for the codecs the plan may choose for a Zarr store.
ZARR_COMPRESSORS = {"zlib": "zlib", "none": None}


def zarr_array_metadata(plan: PyramidPlan, level: int) -> dict[str, Any]:
    """Build the ``.zarray`` of pyramid ``level``: single-plane tile chunks, "/" keys.

    Parameters
    ----------
    plan : PyramidPlan
        The pyramid written.
    level : int
        The level, 0 the full resolution.

    Returns
    -------
    dict
        The Zarr v2 array metadata.

    Examples
    --------
    >>> from napari_viv.write.plan import plan_pyramid
    >>> meta = zarr_array_metadata(plan_pyramid((3, 600, 800), "uint16", tile_size=256), 1)
    >>> meta["shape"], meta["chunks"], meta["dtype"], meta["dimension_separator"]
    ([3, 300, 400], [1, 256, 256], '<u2', '/')
    """
    planes = [plan.sizes[ax] for ax in plan.layout.plane_axes]
    compressor = ZARR_COMPRESSORS[plan.codec.name]
    return {
        "zarr_format": 2,
        "shape": [*planes, *plan.level_shapes[level]],
        "chunks": [1] * len(planes) + [plan.tile_size, plan.tile_size],
        "dtype": np.dtype(plan.dtype).str,
        "compressor": None if compressor is None else {"id": compressor, "level": plan.codec.level},
        "fill_value": 0,
        "order": "C",
        "filters": None,
        "dimension_separator": "/",
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json(doc: dict) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


class ZarrSink(TileSink):
    """Write the plan's tiles as an OME-Zarr 0.4 store at ``path``, with its view file.

    Parameters
    ----------
    plan : PyramidPlan
        What is written (not interleaved RGB; its codec zlib or none, no predictor).
    path : pathlib.Path
        The store (a folder), e.g. ``cells.ome.zarr``; ``cells.view.json`` goes beside it.
    attributes : dict
        The group's ``.zattrs`` (multiscales and omero).
    overwrite : bool, default False
        Replace an existing store instead of refusing.
    """

    ordered = False

    def __init__(self, plan: PyramidPlan, path: Path, attributes: dict, *, overwrite: bool = False) -> None:
        super().__init__(plan)
        self.path = Path(path)
        self.view_path = self.path.with_name(naming.stem(self.path) + naming.VIEW_SUFFIX)
        self.overwrite = overwrite
        self._attributes = attributes
        self._tmp: Path | None = None
        self._made: set[Path] = set()
        self._view_written = False
        self._planes = [plan.sizes[ax] for ax in plan.layout.plane_axes]

    def __enter__(self) -> ZarrSink:
        """Check the folder and outputs and create the temporary store beside the output."""
        check_folder(self.path.parent, self.path)
        for p in (self.path, self.view_path):
            if p.exists() and not self.overwrite:
                raise NapariVivError("already exists (use overwrite)", subject=p)
        if self.view_path.is_dir():
            raise NapariVivError("is a folder", subject=self.view_path)
        if self.path.exists() and not self.path.is_dir():
            raise NapariVivError("is a file, not a Zarr store", subject=self.path)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent))
        try:
            os.chmod(self._tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; honour the umask
            (self._tmp / ".zgroup").write_bytes(_json({"zarr_format": 2}))
            (self._tmp / ".zattrs").write_bytes(_json(self._attributes))
            for level in range(self.plan.nlevels):
                (self._tmp / str(level)).mkdir()
                (self._tmp / str(level) / ".zarray").write_bytes(_json(zarr_array_metadata(self.plan, level)))
        except OSError as exc:
            self._discard()
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc
        return self

    def __exit__(self, *exc) -> None:
        """Remove the temporary store unless it was published."""
        self._discard()

    def _discard(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def scratch(self) -> IO[bytes]:
        """Open an unnamed scratch file in the output folder (caller closes)."""
        return tempfile.TemporaryFile(dir=self.path.parent, prefix=f".{self.path.name}.")

    def put_tile(self, plane: int, level: int, row: int, col: int, data: bytes) -> None:
        """Write one tile as the chunk file ``<level>/<t>/<c>/<z>/<row>/<col>``."""
        assert self._tmp is not None, "the sink is not open"
        index = np.unravel_index(plane, self._planes) if self._planes else ()
        folder = self._tmp.joinpath(str(level), *(str(int(i)) for i in index), str(row))
        try:
            if folder not in self._made:
                folder.mkdir(parents=True, exist_ok=True)
                self._made.add(folder)
            (folder / str(col)).write_bytes(data)
        except OSError as exc:
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc

    def commit(self, view: bytes | None = None) -> None:
        """Rename the complete store into place, then publish the view file (or remove a stale one)."""
        assert self._tmp is not None, "the sink is not open"
        old = None
        with contextlib.suppress(FileNotFoundError):
            if self.overwrite:
                os.unlink(self.view_path)  # no view file ever describes another store
        if self.path.exists():
            if not self.overwrite:
                raise NapariVivError("already exists (use overwrite)", subject=self.path)
            old = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.old")
            os.rename(self.path, old)
        try:
            os.rename(self._tmp, self.path)
        except OSError as exc:
            if old is not None:
                os.rename(old, self.path)
            raise NapariVivError(f"cannot publish the store: {exc.strerror or exc}", subject=self.path) from exc
        self._tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if view is not None:
            publish_bytes(self.view_path, view)
            self._view_written = True

    @property
    def paths(self) -> dict[str, Path | None]:
        """The store and its view file (None until one is published); a store has no offsets file."""
        return {"image": self.path, "offsets": None, "view": self.view_path if self._view_written else None}

    @property
    def nbytes(self) -> int:
        """Bytes of every file in the published store."""
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
