"""The Zarr sink: encoded tiles as the chunks of an OME-Zarr store.

Each pyramid level is an array ``"0"``, ``"1"``, ... of the group, chunked
in single-plane tiles ``(1, ..., 1, tile, tile)`` (Avivator reads only 2-D
chunks). The edge tiles the stream pads with zeros are exactly Zarr's
full-size edge chunks, so a tile's encoded bytes are stored as they are:

* NGFF 0.4 (Zarr v2): each tile is its own chunk file, ``"/"`` separating
  the key's parts, as NGFF 0.4 requires;
* NGFF 0.5 (Zarr v3): tiles are grouped into shards of ``shard_tiles`` x
  ``shard_tiles`` tiles (the ``sharding_indexed`` codec), so a whole-slide
  image is thousands of objects, not millions. A shard file is written as
  its tiles arrive and closed with its index (offset and size of every
  tile, then the index's CRC32C) once its last tile is in.

The store is built in a hidden temporary folder beside the output and
renamed into place once complete; the view file is published after it. An
error or a cancel removes the temporary folder, so nothing appears at the
output path (a SIGKILL can leave the hidden ``.<name>.*.part`` folder, which
is never at the output path). With ``overwrite`` an old store is moved aside only when the
new one is complete, and removed after the new one is in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import naming
from ..errors import NapariVivError
from .atomic import check_folder, publish_bytes
from .codecs import BLOSC_BLOCKSIZE, BLOSC_SHUFFLE
from .plan import PyramidPlan
from .sink import TileSink


def zarr2_compressor(plan: PyramidPlan) -> dict[str, Any] | None:
    """Give the Zarr v2 ``compressor`` (numcodecs' JSON) of the plan's codec; None: uncompressed.

    Examples
    --------
    >>> from napari_viv.write.plan import ExportOptions, plan_export
    >>> import numpy as np
    >>> plan = plan_export([np.zeros((64, 64), np.uint16)], ExportOptions(format="ome-zarr"))
    >>> zarr2_compressor(plan)
    {'id': 'blosc', 'cname': 'zstd', 'clevel': 1, 'shuffle': 2, 'blocksize': 262144}
    >>> plan = plan_export([np.zeros((64, 64), np.uint16)], ExportOptions(format="ome-zarr", compression="zlib"))
    >>> zarr2_compressor(plan)
    {'id': 'zlib', 'level': 1}
    """
    codec = plan.codec
    if codec.name.startswith("blosc-"):
        cname = codec.name[len("blosc-") :]
        return {
            "id": "blosc",
            "cname": cname,
            "clevel": codec.level,
            "shuffle": BLOSC_SHUFFLE,
            "blocksize": BLOSC_BLOCKSIZE,
        }
    if codec.name == "zstd":
        return {"id": "zstd", "level": codec.level}
    if codec.name == "zlib":
        return {"id": "zlib", "level": codec.level}
    return None


def zarr3_codec(plan: PyramidPlan) -> dict[str, Any] | None:
    """Give the Zarr v3 bytes-to-bytes codec of the plan's codec; None: uncompressed.

    Examples
    --------
    >>> from napari_viv.write.plan import ExportOptions, plan_export
    >>> import numpy as np
    >>> plan = plan_export([np.zeros((64, 64), np.uint16)], ExportOptions(format="ome-zarr", ngff="0.5"))
    >>> zarr3_codec(plan)["name"], zarr3_codec(plan)["configuration"]["shuffle"]
    ('blosc', 'bitshuffle')
    >>> options = ExportOptions(format="ome-zarr", ngff="0.5", compression="zlib")
    >>> zarr3_codec(plan_export([np.zeros((64, 64), np.uint16)], options))["name"]
    'gzip'
    """
    codec = plan.codec
    if codec.name.startswith("blosc-"):
        config = {
            "cname": codec.name[len("blosc-") :],
            "clevel": codec.level,
            "shuffle": "bitshuffle",
            "typesize": np.dtype(plan.dtype).itemsize,
            "blocksize": BLOSC_BLOCKSIZE,
        }
        return {"name": "blosc", "configuration": config}
    if codec.name == "zstd":
        return {"name": "zstd", "configuration": {"level": codec.level, "checksum": False}}
    if codec.name == "gzip":
        return {"name": "gzip", "configuration": {"level": codec.level}}
    return None


#: Tiles per shard side in a Zarr v3 store (8 x 8 tiles of 512 px: 4096-px shards).
SHARD_TILES = 8
#: The sharding index's "no chunk here" (offset, size).
_EMPTY = 2**64 - 1


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
    return {
        "zarr_format": 2,
        "shape": [*planes, *plan.level_shapes[level]],
        "chunks": [1] * len(planes) + [plan.tile_size, plan.tile_size],
        "dtype": np.dtype(plan.dtype).str,
        "compressor": zarr2_compressor(plan),
        "fill_value": 0,
        "order": "C",
        "filters": None,
        "dimension_separator": "/",
    }


def zarr3_array_metadata(plan: PyramidPlan, level: int, shard_tiles: int = SHARD_TILES) -> dict[str, Any]:
    """Build the ``zarr.json`` of pyramid ``level`` in Zarr v3: shards of single-plane tiles.

    Parameters
    ----------
    plan : PyramidPlan
        The pyramid written (its codec one of the Zarr codecs).
    level : int
        The level, 0 the full resolution.
    shard_tiles : int, default SHARD_TILES
        Tiles per shard side.

    Returns
    -------
    dict
        The Zarr v3 array metadata.

    Examples
    --------
    >>> from napari_viv.write.plan import ExportOptions, plan_export
    >>> import numpy as np
    >>> options = ExportOptions(tile_size=256, format="ome-zarr", ngff="0.5")
    >>> meta = zarr3_array_metadata(plan_export([np.zeros((3, 600, 800), np.uint16)], options), 0, 4)
    >>> meta["chunk_grid"]["configuration"]["chunk_shape"], meta["codecs"][0]["configuration"]["chunk_shape"]
    ([1, 1024, 1024], [1, 256, 256])
    """
    nplane_axes = len(plan.layout.plane_axes)
    t = plan.tile_size
    inner: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
    compressor = zarr3_codec(plan)
    if compressor is not None:
        inner.append(compressor)
    sharding = {
        "chunk_shape": [1] * nplane_axes + [t, t],
        "codecs": inner,
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": "end",
    }
    planes = [plan.sizes[ax] for ax in plan.layout.plane_axes]
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [*planes, *plan.level_shapes[level]],
        "data_type": np.dtype(plan.dtype).name,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1] * nplane_axes + [t * shard_tiles] * 2}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "sharding_indexed", "configuration": sharding}],
        "dimension_names": list(plan.axes.lower()),
    }


class _Shard:
    """One shard file being filled: tiles appended as they come, the index last."""

    def __init__(self, path: Path, ntiles: int, expected: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "wb")  # noqa: SIM115 - closed in add() once complete, or by the sink
        self.index = np.full((ntiles, 2), _EMPTY, dtype="<u8")
        self.expected = expected
        self.end = 0

    def add(self, inner: int, data: bytes) -> int:
        """Append one tile; return the bytes written, with the index's once the shard is complete (and closed)."""
        self.file.write(data)
        self.index[inner] = (self.end, len(data))
        self.end += len(data)
        self.expected -= 1
        if self.expected:
            return len(data)
        from numcodecs import CRC32C

        tail = bytes(CRC32C().encode(self.index.tobytes()))  # the index, then its checksum
        self.file.write(tail)
        self.file.close()
        return len(data) + len(tail)


def is_zarr_store(folder: Path) -> bool:
    """Tell whether ``folder`` is a Zarr group or array (v2 or v3 metadata at its root).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> is_zarr_store(pathlib.Path(tempfile.mkdtemp()))
    False
    """
    return any((folder / name).is_file() for name in (".zgroup", ".zattrs", ".zarray", "zarr.json"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json(doc: dict) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def _write_new(path: str, data: bytes) -> None:
    """Write ``data`` as the file ``path`` (a chunk: one call, no Python file object)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class ZarrSink(TileSink):
    """Write the plan's tiles as an OME-Zarr store at ``path``, with its view file.

    Parameters
    ----------
    plan : PyramidPlan
        What is written (not interleaved RGB; a Zarr codec, no predictor).
    path : pathlib.Path
        The store (a folder), e.g. ``cells.ome.zarr``; ``cells.view.json`` goes beside it.
    attributes : dict
        The group's attributes (multiscales and omero; under "ome" for 0.5).
    version : {"0.4", "0.5"}, default "0.4"
        NGFF 0.4 on Zarr v2, or 0.5 on Zarr v3 with sharding.
    shard_tiles : int, default SHARD_TILES
        Tiles per shard side (0.5 only).
    overwrite : bool, default False
        Replace an existing store instead of refusing.
    """

    ordered = False
    #: Called with the complete temporary store just before it is renamed into
    #: place (extra groups, such as ``labels/``, go in there); if it raises,
    #: nothing appears at the output path.
    before_publish: Callable[[Path], object] | None = None

    def __init__(
        self,
        plan: PyramidPlan,
        path: Path,
        attributes: dict,
        *,
        version: str = "0.4",
        shard_tiles: int = SHARD_TILES,
        overwrite: bool = False,
    ) -> None:
        super().__init__(plan)
        self.version = version
        self.shard_tiles = int(shard_tiles)
        self._shards: dict[tuple, _Shard] = {}
        self.path = Path(path)
        self.view_path = self.path.with_name(naming.stem(self.path) + naming.VIEW_SUFFIX)
        self.overwrite = overwrite
        self._attributes = attributes
        self._tmp: Path | None = None
        self._made: set[str] = set()  # chunk folders made so far
        self._plane: tuple[int, tuple[str, ...]] = (-1, ())  # the last plane's index and its key parts
        self._nbytes: int | None = 0  # bytes of every file written into the store; None: walk it
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
        if self.path.is_dir() and not is_zarr_store(self.path):
            raise NapariVivError("is a folder but not a Zarr store; it is not replaced", subject=self.path)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent))
        try:
            os.chmod(self._tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; honour the umask
            self._write_metadata(self._tmp)
        except OSError as exc:
            self._discard()
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc
        return self

    def _write_metadata(self, root: Path) -> None:
        if self.version == "0.5":
            group = {"zarr_format": 3, "node_type": "group", "attributes": self._attributes}
            self._write(root / "zarr.json", _json(group))
        else:
            self._write(root / ".zgroup", _json({"zarr_format": 2}))
            self._write(root / ".zattrs", _json(self._attributes))
        for level in range(self.plan.nlevels):
            (root / str(level)).mkdir()
            if self.version == "0.5":
                meta, name = zarr3_array_metadata(self.plan, level, self.shard_tiles), "zarr.json"
            else:
                meta, name = zarr_array_metadata(self.plan, level), ".zarray"
            self._write(root / str(level) / name, _json(meta))

    def _write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)
        self._count(len(data))

    def _count(self, n: int) -> None:
        if self._nbytes is not None:
            self._nbytes += n

    def __exit__(self, *exc) -> None:
        """Remove the temporary store unless it was published."""
        self._discard()

    def _discard(self) -> None:
        for shard in self._shards.values():
            shard.file.close()
        self._shards.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def scratch(self) -> IO[bytes]:
        """Open an unnamed scratch file in the output folder (caller closes)."""
        return tempfile.TemporaryFile(dir=self.path.parent, prefix=f".{self.path.name}.")

    def put_tile(self, plane: int, level: int, row: int, col: int, data: bytes) -> None:
        """Write one tile as the chunk file ``<level>/<t>/<c>/<z>/<row>/<col>``."""
        assert self._tmp is not None, "the sink is not open"
        if self._plane[0] != plane:  # the tiles of one plane come together
            index = np.unravel_index(plane, self._planes) if self._planes else ()
            self._plane = (plane, tuple(str(int(i)) for i in index))
        parts = self._plane[1]
        if self.version == "0.5":
            self._put_sharded(level, parts, row, col, data)
            return
        # plain strings, not Paths: this runs for every chunk of the store
        folder = os.path.join(self._tmp, str(level), *parts, str(row))
        try:
            if folder not in self._made:
                os.makedirs(folder, exist_ok=True)
                self._made.add(folder)
            _write_new(os.path.join(folder, str(col)), data)
        except OSError as exc:
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc
        self._count(len(data))

    def _put_sharded(self, level: int, index: tuple[str, ...], row: int, col: int, data: bytes) -> None:
        """Add one tile to its shard ``<level>/c/<t>/<c>/<z>/<row // n>/<col // n>``."""
        assert self._tmp is not None
        n = self.shard_tiles
        srow, scol = row // n, col // n
        key = (level, *index, srow, scol)
        shard = self._shards.get(key)
        try:
            if shard is None:
                rows, cols = self.plan.tiles_in(level)
                expected = min(n, rows - srow * n) * min(n, cols - scol * n)
                path = self._tmp.joinpath(str(level), "c", *index, str(srow), str(scol))
                shard = self._shards[key] = _Shard(path, n * n, expected)
            self._count(shard.add((row % n) * n + col % n, data))
            if not shard.expected:
                del self._shards[key]
        except OSError as exc:
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc

    def commit(self, view: bytes | None = None) -> None:
        """Rename the complete store into place, then publish the view file (or remove a stale one)."""
        assert self._tmp is not None, "the sink is not open"
        assert not self._shards, f"{len(self._shards)} shard(s) never got all their tiles"
        if self.before_publish is not None:
            self.before_publish(self._tmp)
            self._nbytes = None  # what the hook wrote is not counted: nbytes walks the store
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
        """Bytes of every file in the published store (counted as they were written, unless a hook added some)."""
        if self._nbytes is None:
            return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return self._nbytes
