"""Say whether Viv 0.21 (``loadOmeZarr``) and Avivator open an OME-Zarr store with correct pixels.

:func:`check_store` reads only the store's JSON metadata (``zarr.json``, or
``.zgroup``/``.zattrs``/``.zarray`` for Zarr v2), never a chunk, and fills
the same :class:`~napari_viv.check.rules.CheckReport` as an OME-TIFF check.
Each rule mirrors what the real loader does (tested with ``@vivjs/loaders``
0.21 in Node; docs/viv-rules.md lists them):

- Viv opens the store's *group*, takes the first ``multiscales`` entry, opens
  every dataset ``path`` as a level, names the dimensions after the axis
  names, and reads the last two dimensions as Y and X;
- without ``multiscales`` it assumes one 5-D array ``0`` in t, c, z, y, x;
- the tile size is the smaller of level 0's Y and X chunk, rounded down to a
  power of two;
- chunks are decoded by zarrita, which knows a fixed list of codecs; sharded
  arrays need the index at the end with a crc32c checksum;
- the renderer draws 8/16/32-bit integers and 32/64-bit floats only;
- Avivator reads channel names from ``omero`` without a guard, and reads only
  chunks that are single planes in Y and X (viv #876).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import naming
from ..errors import NapariVivError
from ..read.omezarr import is_zarr_store, level_scale, multiscale_axis_names, ome_attributes
from .report import CheckReport, Finding

#: Codecs zarrita 0.5 (Viv 0.21's Zarr reader) decodes (v3 names; v2 compressor/filter ids).
VIV_CODECS = frozenset({"blosc", "lz4", "zstd", "gzip", "zlib", "transpose", "bytes", "crc32c", "bitround"})
#: The compressors inside Blosc that napari-viv's own viewer decodes (viewer/src/codecs/);
#: Viv and Avivator (numcodecs.js) also decode blosclz.
VIEWER_BLOSC_CNAMES = frozenset({"zstd", "lz4", "lz4hc", "zlib"})
#: Data types Viv's shaders draw (zarr v3 names; v2 dtypes are mapped to these).
VIV_DTYPES = ("uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64")
_V2_DTYPES = {
    "u1": "uint8",
    "u2": "uint16",
    "u4": "uint32",
    "u8": "uint64",
    "i1": "int8",
    "i2": "int16",
    "i4": "int32",
    "i8": "int64",
    "f2": "float16",
    "f4": "float32",
    "f8": "float64",
    "b1": "bool",
}
#: The lowest level Viv loads whole as one texture (as for OME-TIFF).
SMALLEST_LEVEL_WARN = 4096


def check_store(path) -> CheckReport:
    """Check the Zarr store ``path`` against what Viv's ``loadOmeZarr`` and Avivator accept.

    Parameters
    ----------
    path : str or os.PathLike
        The store's folder (``*.ome.zarr``).

    Returns
    -------
    CheckReport
        Findings (errors: Viv or Avivator fails or shows wrong pixels;
        warnings: it works with a caveat) and one line describing the image.

    Raises
    ------
    NapariVivError
        When ``path`` is not a folder holding Zarr metadata.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, zarr
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "plain.zarr"
    >>> _ = zarr.create_array(str(store), shape=(64, 64), dtype="uint16", zarr_format=2)
    >>> report = check_store(store)
    >>> report.ok, report.errors[0].message.split(";")[0]
    (False, 'a plain Zarr array, not an OME-Zarr image')
    """
    path = Path(path)
    if not is_zarr_store(path):
        raise NapariVivError("is a folder without Zarr metadata (zarr.json or .zgroup), not a Zarr store", subject=path)
    report = CheckReport(path)
    _StoreCheck(path, report).run()
    return report


class _StoreCheck:
    """The rules, in the order Viv meets them; each appends findings to the report."""

    def __init__(self, path: Path, report: CheckReport) -> None:
        self.path = path
        self.report = report
        self.reported: set[str] = set()

    def fix(self, what: str = "") -> str:
        """Return the usual fix, converting this store (``what``: what the conversion changes)."""
        out = f"{naming.stem(self.path)}-viv.ome.zarr"
        return f"convert it: `napari-viv convert {self.path.name} {out}`" + (f" ({what})" if what else "")

    def error(self, message: str, fix: str) -> None:
        self.report.findings.append(Finding("error", message, fix))

    def warn(self, message: str, fix: str) -> None:
        self.report.findings.append(Finding("warning", message, fix))

    def run(self) -> None:
        root = read_node(self.path)
        if root is None or root.get("node_type") == "array":
            self.error(
                "a plain Zarr array, not an OME-Zarr image; Viv's loadOmeZarr opens only a group "
                "with 'multiscales' metadata",
                self.fix(),
            )
            return
        self.check_name()
        ome, version = ome_attributes(root.get("attributes", {}))
        multiscales = ome.get("multiscales")
        if not multiscales:
            self.error(
                "a Zarr group without OME metadata ('multiscales'); Viv then assumes one 5-D array '0' "
                "in t, c, z, y, x and Avivator fails",
                self.fix(),
            )
            return
        if not isinstance(multiscales, list) or not isinstance(multiscales[0], dict):
            self.error("'multiscales' is not a list of objects", self.fix())
            return
        if len(multiscales) > 1:
            self.warn(
                f"{len(multiscales)} multiscales; Viv and Avivator show only the first",
                "write each image to its own store",
            )
        levels = self.check_datasets(multiscales[0])
        if not levels:
            return
        names = self.check_axes(multiscales[0], levels[0])
        if names is None:
            return
        self.check_levels(multiscales[0], levels, names)
        self.check_arrays(levels, names)
        self.check_omero(ome.get("omero"), levels[0], names)
        self.describe(version, levels, names, ome.get("omero"))

    def check_name(self) -> None:
        # Avivator routes a URL containing "ome.tif"/".tif" to its TIFF loaders
        low = self.path.name.lower()
        if ".tif" in low:
            self.error(
                f"the store's name {self.path.name!r} contains '.tif'; Avivator opens it as a TIFF",
                "rename it to end in .ome.zarr",
            )

    def check_datasets(self, ms: dict) -> list[dict] | None:
        """Each dataset's array metadata (with its ``path``), or None after an error."""
        datasets = ms.get("datasets")
        if not isinstance(datasets, list) or not datasets:
            self.error("the multiscale lists no datasets (levels)", self.fix())
            return None
        levels = []
        for i, ds in enumerate(datasets):
            where = ds.get("path") if isinstance(ds, dict) else None
            node = read_node(self.path / str(where)) if isinstance(where, str) and where else None
            if node is None or node.get("node_type") != "array":
                self.error(
                    f"level {i} ({where!r}) is listed in 'multiscales' but there is no array there; "
                    "Viv fails to open the store",
                    "copy the whole store again, or write it again from its source",
                )
                return None
            levels.append(dict(node, path=where, scale=level_scale(ds)))
        return levels

    def check_axes(self, ms: dict, level0: dict) -> list[str] | None:
        """Check the axes; return the names Viv will use as labels, or None after an error."""
        ndim = len(level0["shape"])
        names = multiscale_axis_names(ms)
        if names is None:
            if ndim == 5:
                self.warn(
                    "the multiscale has no 'axes' (NGFF before 0.4); Viv assumes t, c, z, y, x",
                    self.fix("writes NGFF 0.4 axes"),
                )
                return ["t", "c", "z", "y", "x"]
            self.error(
                f"the multiscale has no 'axes' and level 0 has {ndim} dimensions; Viv then assumes "
                "5 (t, c, z, y, x) and fails",
                self.fix(),
            )
            return None
        if len(names) != ndim:
            self.error(f"'axes' names {len(names)} dimensions but level 0 has {ndim}", self.fix())
            return None
        if len(set(names)) != len(names):
            self.error(f"axis names repeat ({', '.join(names)}); Viv fails with 'Labels must be unique'", self.fix())
            return None
        if names[-2:] != ["y", "x"]:
            self.error(
                f"axes are {', '.join(names)}; Viv reads the last two dimensions as y and x, so they must "
                "be named 'y' and 'x' (lowercase), in that order",
                self.fix(),
            )
            return None
        other = [n for n in names[:-2] if n not in ("t", "c", "z")]
        if other:
            self.warn(
                f"axis {other[0]!r} is not t, c or z; Avivator shows it as the channel axis and our viewer "
                "shows only its first plane",
                self.fix(),
            )
        if level0["shape"][-1] in (3, 4):
            self.error(
                f"the image is {level0['shape'][-1]} pixels wide; Viv takes a last dimension of 3 or 4 "
                "for interleaved RGB and shows wrong pixels",
                "nothing to fix for so small an image",
            )
        return names

    def check_levels(self, ms: dict, levels: list[dict], names: list[str]) -> None:
        base = levels[0]["shape"]
        for i, (prev, lvl) in enumerate(zip(levels, levels[1:], strict=False), start=1):
            shape = lvl["shape"]
            if len(shape) != len(base) or shape[:-2] != base[:-2]:
                self.error(
                    f"level {i} has shape {_dims(shape)} but level 0 {_dims(base)}; every level must "
                    "have the same dimensions except y and x",
                    self.fix(),
                )
                return
            halves = all(n in (p // 2, (p + 1) // 2) for p, n in zip(prev["shape"][-2:], shape[-2:], strict=True))
            if not halves:
                self.error(
                    f"level {i} ({_dims(shape[-2:])}) is not level {i - 1} ({_dims(prev['shape'][-2:])}) "
                    "halved in y and x; Viv draws every level as half the one before, so it shows "
                    "at the wrong size",
                    self.fix("halves every level exactly"),
                )
                return
        scales = [lvl["scale"] for lvl in levels]
        if any(s is None or len(s) != len(names) for s in scales):
            self.warn(
                "a level has no 'scale' transformation with one value per axis; Viv ignores it, but "
                "ome-zarr-models, napari and other NGFF readers reject the store",
                self.fix(),
            )
        smallest = max(levels[-1]["shape"][-2:])
        if smallest > SMALLEST_LEVEL_WARN:
            self.warn(
                f"the smallest level is {_dims(levels[-1]['shape'][-2:])}; Viv loads it whole as one texture",
                self.fix("adds levels down to one tile"),
            )

    def check_arrays(self, levels: list[dict], names: list[str]) -> None:
        dtype = array_dtype(levels[0])
        if dtype not in VIV_DTYPES:
            self.error(
                f"the data type is {dtype}; Viv draws only {', '.join(VIV_DTYPES)}",
                self.fix("float16 becomes float32; bool, 64-bit integers need a cast first"),
            )
        codecs, cnames = set(), set()
        for i, lvl in enumerate(levels):
            codecs |= self.check_chunks(i, lvl, names)
            cnames |= _blosc_cnames(lvl)
        unknown = sorted(c for c in codecs if c not in VIV_CODECS)
        if unknown:
            self.error(
                f"codec {', '.join(unknown)}: Viv's Zarr reader (zarrita) cannot decode it "
                f"(it decodes {', '.join(sorted(VIV_CODECS))})",
                self.fix("writes gzip"),
            )
        blocked = sorted(cnames - VIEWER_BLOSC_CNAMES)
        if blocked:
            self.warn(
                f"codec blosc with {', '.join(blocked)}: Viv and Avivator decode it, but napari-viv's own viewer "
                f"decodes Blosc only with {', '.join(sorted(VIEWER_BLOSC_CNAMES))} inside",
                "open it in Avivator; for our viewer, " + self.fix("writes blosc-zstd"),
            )

    def check_chunks(self, i: int, lvl: dict, names: list[str]) -> set[str]:
        """Check one level's chunks; return the codec names it uses."""
        chunks, codecs, shard = array_chunks(lvl)
        if shard is not None and not _shard_index_ok(shard):
            self.error(
                f"level {i}'s shard index is not at the end with a crc32c checksum; Viv's zarrita reads "
                "it only there and shows wrong pixels or fails",
                self.fix(),
            )
        plane = chunks[:-2]
        if any(c != 1 for c in plane) and not self.said("plane"):
            self.error(
                f"chunks are {_dims(chunks)} ({', '.join(names)}), not single planes in y and x; Avivator "
                "reads only chunks of one plane (viv #876) and Viv fetches every plane of a chunk for one",
                self.fix("writes one plane per chunk"),
            )
        cy, cx = chunks[-2:]
        if i == 0 and (cy != cx or cy & (cy - 1)):
            self.warn(
                f"level 0's chunks are {cy} x {cx} in y and x; Viv tiles by the largest power of two that "
                "fits both, so it reads more than it shows",
                self.fix("square power-of-two chunks"),
            )
        return codecs

    def said(self, key: str) -> bool:
        """Whether ``key`` was already reported (a rule that holds for every level says it once)."""
        if key in self.reported:
            return True
        self.reported.add(key)
        return False

    def check_omero(self, omero: Any, level0: dict, names: list[str]) -> None:
        if not isinstance(omero, dict) or not isinstance(omero.get("channels"), list):
            self.error(
                "no 'omero' channel metadata; Viv opens the store but Avivator fails (it reads the channel "
                "names from omero.channels)",
                "add omero channels (label, color, window), or " + self.fix("writes them"),
            )
            return
        nc = level0["shape"][names.index("c")] if "c" in names else 1
        if len(omero["channels"]) != nc:
            self.warn(
                f"omero lists {len(omero['channels'])} channels for {nc} in the image; viewers label and "
                "colour them wrongly",
                "list one omero channel per channel",
            )

    def describe(self, version: str | None, levels: list[dict], names: list[str], omero: Any) -> None:
        lvl0 = levels[0]
        chunks, codecs, shard = array_chunks(lvl0)
        labels = (
            [str(c.get("label", "")) for c in omero["channels"]]
            if isinstance(omero, dict) and isinstance(omero.get("channels"), list)
            else []
        )
        zarr_format = 3 if "zarr_format" in lvl0 and lvl0["zarr_format"] == 3 else 2
        line = (
            f"Image: {' x '.join(f'{n}={s}' for n, s in zip(names, lvl0['shape'], strict=True))} "
            f"{array_dtype(lvl0)}, {len(levels)} level(s), NGFF {version or '?'} (Zarr v{zarr_format}), "
            f"chunks {_dims(chunks)}, codec {'+'.join(sorted(codecs - {'bytes'})) or 'none'}"
        )
        if shard is not None:
            line += f", sharded {_dims(lvl0['shape_chunks'])} (the server must answer Range requests)"
        if labels:
            line += f"; channels {', '.join(labels)}"
        self.report.images.append(line)


def read_node(folder: Path) -> dict | None:
    """Read a Zarr node's metadata from JSON, as Zarr v3 spells it (no chunk is read).

    Zarr v2 metadata (``.zarray`` or ``.zgroup`` plus ``.zattrs``) comes back
    with ``node_type``, ``attributes`` and ``zarr_format`` 2 added. Missing or
    unreadable metadata gives None.
    """
    v3 = _json(folder / "zarr.json")
    if v3 is not None:
        return v3
    attrs = _json(folder / ".zattrs") or {}
    array = _json(folder / ".zarray")
    if array is not None:
        return dict(array, node_type="array", attributes=attrs)
    if (folder / ".zgroup").is_file() or attrs:
        return {"zarr_format": 2, "node_type": "group", "attributes": attrs}
    return None


def _json(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def array_dtype(meta: dict) -> str:
    """Return the array's data type as a Zarr v3 name (``uint16``; v2's ``<u2`` is mapped)."""
    if meta.get("zarr_format") == 3:
        return str(meta.get("data_type"))
    raw = str(meta.get("dtype", ""))
    return _V2_DTYPES.get(raw.lstrip("<>|="), raw)


def _codecs(meta: dict) -> tuple[list[dict], list[dict], dict | None]:
    """Return an array's codecs as ``{"name", "configuration"}`` dicts, v2 or v3.

    The outer codecs, those that encode each chunk a reader decodes (inside the
    shards of a sharded array; else the same as the outer), and the sharding
    configuration or None. A Zarr v2 array's filters and compressor are
    named by their ``id``.
    """
    if meta.get("zarr_format") != 3:
        configs = [*(meta.get("filters") or []), meta.get("compressor")]
        codecs = [{"name": str(c.get("id")), "configuration": c} for c in configs if isinstance(c, dict)]
        return codecs, codecs, None
    outer = [c for c in meta.get("codecs", []) if isinstance(c, dict)]
    shard = next((c.get("configuration", {}) for c in outer if c.get("name") == "sharding_indexed"), None)
    if shard is None:
        return outer, outer, None
    return outer, [c for c in shard.get("codecs", []) if isinstance(c, dict)], shard


def array_chunks(meta: dict) -> tuple[list[int], set[str], dict | None]:
    """Return the chunk shape a reader decodes, the codec names, and the sharding configuration (or None).

    For a sharded array the chunks and codecs are the inner ones, and the
    shard shape is stored as ``meta["shape_chunks"]``.
    """
    _, inner, shard = _codecs(meta)
    names = {str(c.get("name")) for c in inner}
    if meta.get("zarr_format") != 3:
        return list(meta.get("chunks", [])), names, None
    grid = list(meta.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape", []))
    if shard is None:
        return grid, names, None
    meta["shape_chunks"] = grid
    return list(shard.get("chunk_shape", grid)), names, shard


def _blosc_cnames(meta: dict) -> set[str]:
    """Return the compressors (``cname``) named inside the array's Blosc codecs, v2 or v3, sharded or not.

    Examples
    --------
    >>> sorted(_blosc_cnames({"compressor": {"id": "blosc", "cname": "blosclz"}}))
    ['blosclz']
    >>> _blosc_cnames({"zarr_format": 3, "codecs": [{"name": "zstd", "configuration": {"level": 1}}]})
    set()
    """
    outer, inner, _ = _codecs(meta)
    configs = [c.get("configuration") for c in outer + inner if c.get("name") == "blosc"]
    return {str(c["cname"]) for c in configs if isinstance(c, dict) and "cname" in c}


def _shard_index_ok(shard: dict) -> bool:
    index = [c.get("name") for c in shard.get("index_codecs", []) if isinstance(c, dict)]
    return shard.get("index_location", "end") == "end" and index == ["bytes", "crc32c"]


def _dims(shape) -> str:
    return " x ".join(str(int(n)) for n in shape)
