"""Open any supported image as lazy pyramid levels plus metadata.

:func:`open_image` reads OME-TIFF (SubIFD pyramids, multi-series, legacy
one-Image-per-level pyramids), PerkinElmer Vectra QPTIFF, Aperio SVS,
ImageJ hyperstacks, plain (multi-page) TIFF, ``.npy`` and ``.zarr``
(plain arrays and OME-Zarr multiscale groups).

Nothing is read at open time except headers: every level is a dask array
over tifffile's Zarr store (chunks are whole TIFF tiles or strips, or a
small multiple of them), or over a memory map for uncompressed data.
Axes are always a subsequence of ``TCZYX``, or ``YXS`` for RGB(A).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import NapariVivError
from .metadata import MICROMETRE, ImageMetadata, normalize_unit

#: dask chunks span at least this many rows and columns (a multiple of the
#: file's own tile or strip size). 512 rows is one band of the writer's
#: default 512-px tiles, so exporting decodes every source tile once.
CHUNK_ROWS = 512
CHUNK_COLS = 2048
#: Memory-mapped (uncompressed) data: CHUNK_ROWS full-width rows, split
#: above this many columns.
MEMMAP_COLS = 16384

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_CANONICAL = "TCZYX"
# Length units in metres, to bring Y and Z to the unit of X.
_UNIT_METRES = {
    "\u00c5": 1e-10,
    "pm": 1e-12,
    "nm": 1e-9,
    MICROMETRE: 1e-6,
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
}


@dataclass
class SourceImage:
    """An opened image: lazy levels (level 0 first) that share ``metadata.axes``."""

    path: Path | None
    levels: list
    metadata: ImageMetadata

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.levels[0].shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.levels[0].dtype)


def open_image(path, *, series=None, wide=False) -> SourceImage:
    """Open ``path`` lazily; raise :class:`NapariVivError` naming the file if it can't be.

    Tiled TIFF levels come in chunks of 512 rows by 2048 columns (good for
    viewing); ``wide=True`` makes them span the full width (up to 16384
    columns), which is cheaper when every row is streamed once, as
    ``napari-viv convert`` does.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise NapariVivError(f"{path}: no such file")
    if path.is_dir():
        if _is_zarr_dir(path):
            _single(path, series)
            return _open_zarr(path)
        raise NapariVivError(f"{path}: is a folder, not an image (only .zarr folders can be opened)")
    if not os.access(path, os.R_OK):
        raise NapariVivError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise NapariVivError(f"{path}: file is empty")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "npy":
        _single(path, series)
        return _open_npy(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic not in _TIFF_MAGIC:
        raise NapariVivError(f"{path}: not a TIFF file (and not .npy or .zarr)")
    return _open_tiff(path, series, wide)


def _single(path: Path, series) -> None:
    if series not in (None, 0):
        raise NapariVivError(f"{path}: holds a single image; there is no series {series}")


# --- axes -------------------------------------------------------------------


def guess_axes(shape, dtype=None) -> str:
    """Axes for an array without metadata: YX, CYX (or YXS), CZYX, TCZYX."""
    ndim = len(shape)
    if ndim == 2:
        return "YX"
    if ndim == 3:
        if shape[-1] in (3, 4) and min(shape[:2]) > 4:
            return "YXS"
        return "CYX"
    if ndim == 4:
        return "CZYX"
    if ndim == 5:
        return "TCZYX"
    raise ValueError(f"{ndim} dimensions; napari-viv handles 2 to 5 (TCZYX)")


def _canonical_axes(axes: str, shape) -> tuple[str, list]:
    """Map file axes to TCZYX/YXS letters.

    Returns ``(new_axes, steps)`` where steps turn an array in the file's
    axis order into one in ``new_axes`` order: ``("squeeze", i)`` and
    ``("transpose", perm)``. Raises ValueError when no mapping exists.
    """
    axes = axes.upper()
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"axes {axes!r} have no Y and X")
    shape = list(shape)
    letters = list(axes)
    # Drop length-1 dimensions except Y and X.
    keep = [i for i, (a, n) in enumerate(zip(letters, shape)) if n != 1 or a in "YX"]
    squeeze = tuple(i for i in range(len(letters)) if i not in keep)
    letters = [letters[i] for i in keep]
    shape = [shape[i] for i in keep]
    # Samples: keep as RGB(A) only when nothing else is left; otherwise channels.
    if "S" in letters:
        others = [a for a in letters if a not in "YXS"]
        n = shape[letters.index("S")]
        if others or n not in (3, 4) or letters[-1] != "S":
            if "C" in letters:
                raise ValueError(
                    f"axes {axes!r}: both channels and samples per pixel; split the channels first"
                )
            letters[letters.index("S")] = "C"
    # Unknown letters (tifffile's I, Q, E, ...) become the first free of C, Z, T.
    for i, a in enumerate(letters):
        if a not in "TCZYXS":
            free = [f for f in "CZT" if f not in letters]
            if not free:
                raise ValueError(f"axes {axes!r}: too many dimensions for TCZYX")
            letters[i] = free[0]
    if len(set(letters)) != len(letters):
        raise ValueError(f"axes {axes!r} repeat a dimension")
    order = "YXS" if "S" in letters else _CANONICAL
    new = "".join(a for a in order if a in letters)
    perm = tuple(letters.index(a) for a in new)
    return new, [("squeeze", squeeze), ("transpose", perm)]


def _apply(arr, steps):
    for kind, arg in steps:
        if kind == "squeeze" and arg:
            arr = arr.squeeze(axis=arg)
        elif kind == "transpose" and arg != tuple(range(len(arg))):
            arr = arr.transpose(arg)
    return arr


# --- TIFF -------------------------------------------------------------------


class _Complaints(logging.Handler):
    """Collects tifffile's log messages instead of printing them."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def _tifffile_log():
    logger = logging.getLogger("tifffile")
    handler = _Complaints()
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def _open_tiff(path: Path, series, wide: bool) -> SourceImage:
    with _tifffile_log() as complaints:
        source = _open_tiff_quiet(path, series, wide)
    damage = [m for m in complaints if _DAMAGE.search(m)]
    if damage:
        raise NapariVivError(f"{path}: the file is damaged or truncated ({_short(damage[0])})")
    return source


_DAMAGE = re.compile(r"corrupt|invalid (page|value|tag|offset)|truncat|TiffFileError|unexpected end", re.I)


def _open_tiff_quiet(path: Path, series, wide: bool) -> SourceImage:
    import tifffile

    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises TiffFileError, ValueError, struct.error...
        raise NapariVivError(f"{path}: not a readable TIFF ({_short(exc)})") from None
    try:
        all_series = tif.series
    except Exception as exc:
        tif.close()
        raise NapariVivError(f"{path}: cannot read the TIFF structure ({_short(exc)})") from None
    if not all_series:
        tif.close()
        raise NapariVivError(f"{path}: the TIFF contains no images")
    if series is None:
        index = 0
    else:
        index = int(series)
        if not 0 <= index < len(all_series):
            tif.close()
            raise NapariVivError(
                f"{path}: has {len(all_series)} image series; choose a series from 0 to {len(all_series) - 1}"
            )
    main = all_series[index]
    # (series index, level index) for each pyramid level, level 0 first.
    where = [(index, k) for k in range(len(main.levels))]
    if tif.is_ome and len(main.levels) == 1 and series is None:
        where = _legacy_levels(all_series, index)
    levels_series = [all_series[s].levels[k] for s, k in where]
    try:
        _check_pages(path, levels_series)
        meta = _tiff_metadata(tif, main, index, path)
        file_axes = main.axes
        new_axes, steps = _canonical_axes(file_axes, main.shape)
    except ValueError as exc:
        tif.close()
        raise NapariVivError(f"{path}: {exc}") from None
    meta.axes = new_axes
    token = f"{path.resolve()}-{path.stat().st_mtime_ns}"
    levels = []
    for (s, k), lvl in zip(where, levels_series):
        if lvl.axes != file_axes:
            tif.close()
            raise NapariVivError(f"{path}: pyramid level {k} has axes {lvl.axes}, level 0 {file_axes}")
        arr = _tiff_level(tif, path, s, k, lvl, f"{token}-{s}-{k}-{int(wide)}", wide)
        levels.append(_apply(arr, steps))
    # Names/colours are per channel; for RGB(A) there is one (interleaved) channel.
    nc = levels[0].shape[new_axes.index("C")] if "C" in new_axes else 1
    if meta.channel_names is not None and len(meta.channel_names) != nc:
        meta.channel_names = None
    if meta.channel_colors is not None and len(meta.channel_colors) != nc:
        meta.channel_colors = None
    return SourceImage(path=path, levels=levels, metadata=meta)


def _legacy_levels(all_series, index):
    """Levels of a legacy pyramid: the following series, each half the size."""
    where = [(index, 0)]
    prev = all_series[index]
    for j in range(index + 1, len(all_series)):
        s = all_series[j]
        if s.axes != prev.axes or s.dtype != prev.dtype or len(s.levels) != 1:
            break
        yi, xi = s.axes.index("Y"), s.axes.index("X")
        ok = all(
            (s.shape[i] in (prev.shape[i] // 2, (prev.shape[i] + 1) // 2))
            if i in (yi, xi)
            else s.shape[i] == prev.shape[i]
            for i in range(len(s.shape))
        )
        if not ok or s.shape[yi] < 1 or s.shape[xi] < 1:
            break
        where.append((j, 0))
        prev = s
    return where


def _check_pages(path: Path, levels) -> None:
    """Refuse truncated files and codecs that can't be decoded, before any read."""
    from tifffile import TIFF

    size = path.stat().st_size
    for lvl in levels:
        pages = [p for p in lvl.pages if p is not None]
        if len(pages) < len(lvl.pages):
            missing = len(lvl.pages) - len(pages)
            raise ValueError(
                f"{missing} of {len(lvl.pages)} planes are missing "
                "(a multi-file OME-TIFF whose other files are not there?)"
            )
        key = lvl.keyframe
        if key.compression != 1:
            try:
                TIFF.DECOMPRESSORS[key.compression]
            except Exception:
                raise ValueError(f"compression {key.compression!r} cannot be decoded here") from None
        if lvl.dataoffset is not None:
            end = lvl.dataoffset + lvl.size * lvl.dtype.itemsize
            if end > size:
                raise ValueError(f"file is truncated ({size} bytes, image data needs {end})")
            continue
        check = pages if len(pages) <= 4096 else pages[:64] + pages[-64:]
        for page in check:
            offsets, counts = page.dataoffsets, page.databytecounts
            if not len(offsets):
                continue
            end = max(o + c for o, c in zip(offsets, counts))
            fh = page.parent.filehandle  # planes may live in other files
            if end > fh.size:
                where = "" if Path(fh.path).resolve() == path.resolve() else f" {fh.name}"
                raise ValueError(f"file{where} is truncated ({fh.size} bytes, image data needs {end})")


def _tiff_level(tif, path, s, k, lvl, name, wide=False):
    import dask.array as da

    key = lvl.keyframe
    if lvl.dataoffset is not None and key.is_memmappable:
        import tifffile

        mm = tifffile.memmap(path, series=s, level=k, mode="r")
        mm = mm.reshape(lvl.shape)
        return _from_memmap(mm, _memmap_chunks(lvl.axes, lvl.shape), name)
    import zarr

    workers = max(2, os.cpu_count() or 2)
    store = tif.series[s].aszarr(level=k, maxworkers=workers)
    z = zarr.open(store, mode="r")
    if tuple(z.shape) != tuple(lvl.shape):
        raise NapariVivError(f"{path}: level {k} shape {z.shape} does not match {lvl.shape}")
    chunks = tuple(
        _grow(c, n, CHUNK_ROWS if a == "Y" else (MEMMAP_COLS if wide else CHUNK_COLS))
        if a in "YX" else (n if a == "S" else c)
        for a, c, n in zip(lvl.axes, z.chunks, z.shape)
    )
    yaxis = lvl.axes.index("Y")
    if z.chunks[yaxis] > 2 * CHUNK_ROWS:
        # Tall strips (often one strip per plane): decode each strip once and
        # hand it out in 512-row bands, instead of decoding it once per band.
        chunks = tuple(CHUNK_ROWS if i == yaxis else (n if a == "X" else c)
                       for i, (a, c, n) in enumerate(zip(lvl.axes, chunks, z.shape)))
        meta = np.empty((0,) * z.ndim, z.dtype)
        return da.from_array(_StripCache(z, yaxis), chunks=chunks, name=name, lock=False,
                             fancy=False, asarray=False, meta=meta)
    return da.from_array(z, chunks=chunks, name=name, lock=False, fancy=False, inline_array=True)


class _StripCache:
    """A Zarr array whose chunks (TIFF strips) are much taller than a band,
    read through a one-strip cache: consecutive bands of the same strip
    decode it once. Requests spanning strips go straight to the array."""

    def __init__(self, z, yaxis: int):
        self._z, self._yaxis = z, yaxis
        self._rows = z.chunks[yaxis]
        self.shape, self.dtype, self.ndim = z.shape, z.dtype, z.ndim
        self._lock = threading.Lock()
        self._key, self._block = None, None
        self.decodes = 0  # strip rows decoded so far (for tests and curiosity)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            return np.asarray(self._z[key])
        y0, y1, step = key[self._yaxis].indices(self.shape[self._yaxis])
        r0 = y0 // self._rows * self._rows
        r1 = min(r0 + self._rows, self.shape[self._yaxis])
        if step != 1 or y1 > r1:
            return np.asarray(self._z[key])
        # The whole strip row of these planes (all columns), cached.
        outer = tuple(slice(None) if i == self._yaxis else (k if i < self._yaxis else slice(None))
                      for i, k in enumerate(key))
        cache_key = (tuple(k.indices(n) for k, n in zip(outer, self.shape)), r0)
        with self._lock:
            if self._key != cache_key:
                region = tuple(slice(r0, r1) if i == self._yaxis else k for i, k in enumerate(outer))
                self._block, self._key = np.asarray(self._z[region]), cache_key
                self.decodes += 1
            block = self._block
        inner = tuple(
            slice(y0 - r0, y1 - r0) if i == self._yaxis else (slice(None) if i < self._yaxis else k)
            for i, k in enumerate(key)
        )
        return np.array(block[inner])


class _Window:
    """A memory map seen only through slicing.

    ``dask.array.from_array`` copies anything with a ``.copy`` method, which
    for a memory map means reading the whole file; this wrapper has none.
    After each read it lets the kernel drop the pages it mapped, so the
    process's RSS does not grow to the size of the file (the data stays in
    the page cache).
    """

    def __init__(self, mm):
        self._mm = mm
        self.shape, self.ndim = mm.shape, mm.ndim
        self.dtype = mm.dtype.newbyteorder("=")  # big-endian files come out native

    def __getitem__(self, key):
        out = np.array(self._mm[key], dtype=self.dtype)
        self._release(key)
        return out

    def _release(self, key) -> None:
        import mmap

        arr = self._mm
        owner = arr
        while owner is not None and getattr(owner, "_mmap", None) is None:
            owner = getattr(owner, "base", None)
        raw = getattr(owner, "_mmap", None)
        if not isinstance(raw, mmap.mmap) or not hasattr(raw, "madvise") or not arr.flags.c_contiguous:
            return
        if getattr(owner, "mode", "c") == "c":  # private pages: never discard
            return
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != arr.ndim or not all(isinstance(k, slice) for k in key):
            return
        first = last = 0
        for k, n, stride in zip(key, arr.shape, arr.strides):
            start, stop, step = k.indices(n)
            if step != 1 or stop <= start:
                return
            first += start * stride
            last += (stop - 1) * stride
        last += arr.itemsize
        # where the array's first byte sits inside the mapping
        pointer = arr.__array_interface__["data"][0]
        origin = pointer - owner.__array_interface__["data"][0]
        origin += owner.offset % mmap.ALLOCATIONGRANULARITY
        page = mmap.PAGESIZE
        begin = (origin + first) // page * page
        end = min(-(-(origin + last) // page) * page, len(raw))
        if end > begin >= 0:
            try:
                raw.madvise(mmap.MADV_DONTNEED, begin, end - begin)
            except (OSError, ValueError):
                pass


def _from_memmap(mm, chunks, name):
    import dask.array as da

    window = _Window(mm)
    meta = np.empty((0,) * mm.ndim, window.dtype)
    return da.from_array(window, chunks=chunks, name=name, lock=False, fancy=False,
                         asarray=False, meta=meta)


def _memmap_chunks(axes: str, shape) -> tuple[int, ...]:
    sizes = {"Y": CHUNK_ROWS, "X": MEMMAP_COLS}
    return tuple(
        min(n, sizes[a]) if a in "YX" else (n if a == "S" else 1) for a, n in zip(axes, shape)
    )


def _grow(chunk: int, size: int, target: int) -> int:
    """A multiple of ``chunk`` at least ``target`` long (capped at ``size``)."""
    chunk = max(1, int(chunk))
    k = max(1, -(-target // chunk))
    return min(chunk * k, size) if size else chunk


# --- TIFF metadata ------------------------------------------------------------


def _tiff_metadata(tif, main, index, path: Path) -> ImageMetadata:
    meta = ImageMetadata(name=_stem(path))
    qpi_pixel = None
    if tif.is_ome and tif.ome_metadata:
        _ome_metadata(meta, tif.ome_metadata, index, main)
    elif tif.is_imagej:
        _imagej_metadata(meta, tif)
    elif main.kind == "qpi" or tif.pages.first.is_qpi:
        qpi_pixel = _qpi_metadata(meta, main)
    elif tif.is_svs:
        _svs_metadata(meta, tif)
    if "x" not in meta.physical_sizes:
        _resolution_metadata(meta, main.keyframe)
    if "x" not in meta.physical_sizes and qpi_pixel:  # Fusion scans: ScanProfile only
        _set_sizes(meta, {"x": (qpi_pixel, MICROMETRE), "y": (qpi_pixel, MICROMETRE)})
    return meta


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ome_metadata(meta: ImageMetadata, xml: str, index: int, main) -> None:
    meta.ome_xml = xml
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        return
    images = [el for el in root if _local(el.tag) == "Image"]
    if not images:
        return
    image = images[index] if index < len(images) else images[0]
    if getattr(main, "name", None):
        for el in images:  # tifffile may skip Images without data; prefer a name match
            if el.get("Name") == main.name:
                image = el
                break
    if image.get("Name"):
        meta.name = image.get("Name")
    pixels = next((el for el in image if _local(el.tag) == "Pixels"), None)
    if pixels is None:
        return
    sizes = {}
    for axis in "XYZ":
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None:
            continue
        try:
            sizes[axis.lower()] = (float(value), pixels.get(f"PhysicalSize{axis}Unit") or MICROMETRE)
        except ValueError:
            continue
    _set_sizes(meta, sizes)
    if pixels.get("TimeIncrement"):
        try:
            meta.time_increment = float(pixels.get("TimeIncrement"))
        except ValueError:
            pass
    channels = [el for el in pixels if _local(el.tag) == "Channel"]
    if channels:
        given = [el.get("Name") or el.get("Fluor") for el in channels]
        colors = [_ome_color(el.get("Color")) for el in channels]
        if any(given):
            meta.channel_names = [g or f"Channel {i}" for i, g in enumerate(given)]
        meta.channel_colors = colors if any(c is not None for c in colors) else None


def _ome_color(value) -> tuple[int, int, int] | None:
    """OME Channel Color (signed 32-bit RGBA) -> (r, g, b)."""
    if value is None:
        return None
    try:
        v = int(value) & 0xFFFFFFFF
    except ValueError:
        return None
    return ((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255)


def _imagej_metadata(meta: ImageMetadata, tif) -> None:
    ij = tif.imagej_metadata or {}
    unit = ij.get("unit")
    page = tif.pages.first
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283))
    sizes = {}
    if unit and xres:
        sizes["x"] = (1.0 / xres, unit)
        sizes["y"] = (1.0 / (yres or xres), unit)
        if ij.get("spacing"):
            sizes["z"] = (float(ij["spacing"]), unit)
    _set_sizes(meta, sizes)
    if ij.get("finterval"):
        meta.time_increment = float(ij["finterval"])
    labels = ij.get("Labels")
    nc = int(ij.get("channels", 1) or 1)
    if isinstance(labels, list) and nc > 1 and len(labels) >= nc:
        # Labels are per slice in CZT order; the first nc are the channels.
        names = [str(x) for x in labels[:nc]]
        if all(names):
            meta.channel_names = names
    luts = ij.get("LUTs")
    if isinstance(luts, list) and len(luts) == nc and nc > 1:
        colors = []
        for lut in luts:
            lut = np.asarray(lut)
            colors.append(tuple(int(v) for v in lut[:, -1]) if lut.shape[:1] == (3,) else None)
        meta.channel_colors = colors
    ranges = ij.get("Ranges", ij.get("ranges"))
    if ranges is not None and len(ranges) == 2 * nc:
        meta.contrast_limits = [(float(ranges[2 * i]), float(ranges[2 * i + 1])) for i in range(nc)]


def _qpi_metadata(meta: ImageMetadata, main) -> float | None:
    """Channel names/colours from each channel page's QPI XML; returns the
    ``PixelSizeMicrons`` of the scan profile, if any.

    ``<Biomarker>`` (PhenoCycler Fusion) names the marker, ``<Name>`` the
    filter or unmixed component (Vectra); only direct children of the root
    count, since the opaque ``<ScanProfile>`` blob has its own ``<Name>``s.
    """
    names, colors, pixel = [], [], None
    for i, page in enumerate(main.pages):
        desc = getattr(page, "description", "") if page is not None else ""
        name, color = None, None
        root = _qpi_root(desc)
        if root is not None:
            name = _child_text(root, "Biomarker") or _child_text(root, "Name")
            color = _rgb_text(_child_text(root, "Color"))
            if pixel is None:
                for el in root.iter():
                    if _local(el.tag) == "PixelSizeMicrons":
                        pixel = _float(el.text)
                        break
        names.append(name or f"Channel {i}")
        colors.append(color)
    if names and "S" not in main.axes and any(not n.startswith("Channel ") for n in names):
        meta.channel_names = names
    if "S" not in main.axes and any(c is not None for c in colors):
        meta.channel_colors = colors
    return pixel if pixel and pixel > 0 else None


def _qpi_root(desc):
    if not desc or "<PerkinElmer-QPI-ImageDescription" not in desc:
        return None
    # Some scanners declare encoding="utf-16" on what is plain text: drop the declaration.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", desc.strip())
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _child_text(root, tag: str) -> str | None:
    for el in root:
        if _local(el.tag) == tag and el.text and el.text.strip():
            return el.text.strip()
    return None


def _float(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _rgb_text(text) -> tuple[int, int, int] | None:
    if not text:
        return None
    parts = re.split(r"[,\s]+", text.strip())
    try:
        rgb = tuple(max(0, min(255, int(float(p)))) for p in parts[:3])
    except ValueError:
        return None
    return rgb if len(rgb) == 3 else None


def _svs_metadata(meta: ImageMetadata, tif) -> None:
    from tifffile.tifffile import svs_description_metadata

    try:
        info = svs_description_metadata(tif.pages.first.description)
    except Exception:
        return
    mpp = info.get("MPP")
    if isinstance(mpp, (int, float)) and mpp > 0:
        _set_sizes(meta, {"x": (float(mpp), MICROMETRE), "y": (float(mpp), MICROMETRE)})


def _resolution_metadata(meta: ImageMetadata, page) -> None:
    """Pixel size from XResolution/YResolution with an inch or cm ResolutionUnit."""
    unit = page.tags.valueof(296, default=2)
    per_metre = {2: 1 / 0.0254, 3: 100.0}.get(int(unit))
    if per_metre is None or 282 not in page.tags:
        return
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283)) or xres
    if not xres or xres == 1 and yres == 1:  # 1 pixel per unit: tifffile's default
        return
    # pixels per inch (or cm) -> micrometres per pixel
    _set_sizes(
        meta,
        {
            "x": (1e6 / (xres * per_metre), MICROMETRE),
            "y": (1e6 / (yres * per_metre), MICROMETRE),
        },
    )


def _rational(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return value[0] / value[1] if len(value) == 2 and value[1] else None
    return float(value) or None


def _set_sizes(meta: ImageMetadata, sizes: dict) -> None:
    """Store ``{axis: (value, unit)}`` in the unit of X (or the first known)."""
    parsed = {}
    for axis, (value, unit) in sizes.items():
        try:
            unit = normalize_unit(unit)
        except ValueError:
            continue
        if value > 0 and np.isfinite(value):
            parsed[axis] = (float(value), unit)
    if not parsed:
        return
    target = parsed.get("x", next(iter(parsed.values())))[1]
    meta.unit = target
    for axis, (value, unit) in parsed.items():
        if unit != target:
            value = value * _UNIT_METRES[unit] / _UNIT_METRES[target]
        meta.physical_sizes[axis] = value


# --- .npy and .zarr ---------------------------------------------------------------


def _open_npy(path: Path) -> SourceImage:

    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise NapariVivError(f"{path}: not a readable .npy file ({_short(exc)})") from None
    if arr.dtype.kind not in "biuf":
        raise NapariVivError(f"{path}: unsupported data type {arr.dtype}")
    try:
        axes = guess_axes(arr.shape, arr.dtype)
        new_axes, steps = _canonical_axes(axes, arr.shape)
    except ValueError as exc:
        raise NapariVivError(f"{path}: {exc}") from None
    chunks = _memmap_chunks(axes, arr.shape)
    token = f"npy-{path.resolve()}-{path.stat().st_mtime_ns}"
    level = _apply(_from_memmap(arr, chunks, token), steps)
    return SourceImage(path=path, levels=[level], metadata=ImageMetadata(axes=new_axes, name=_stem(path)))


def _is_zarr_dir(path: Path) -> bool:
    return any((path / f).exists() for f in ("zarr.json", ".zarray", ".zgroup", ".zattrs"))


def _open_zarr(path: Path) -> SourceImage:
    import dask.array as da
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:
        raise NapariVivError(f"{path}: not a readable Zarr store ({_short(exc)})") from None
    meta = ImageMetadata(name=_stem(path))
    token = f"zarr-{path.resolve()}"
    if isinstance(node, zarr.Array):
        arrays, axes = [node], None
    else:
        attrs = dict(node.attrs)
        ome = attrs.get("ome", attrs)
        multiscales = ome.get("multiscales")
        if not multiscales:
            if "0" in node and isinstance(node["0"], zarr.Array):
                arrays, axes = [node["0"]], None
            else:
                raise NapariVivError(f"{path}: Zarr group without 'multiscales' metadata or a '0' array")
        else:
            ms = multiscales[0]
            try:
                arrays = [node[d["path"]] for d in ms["datasets"]]
            except Exception as exc:
                raise NapariVivError(f"{path}: multiscales lists a missing array ({_short(exc)})") from None
            axes = _zarr_axes(ms, meta, len(arrays[0].shape))
            _omero(meta, ome.get("omero"))
    first = arrays[0]
    if first.dtype.kind not in "biuf":
        raise NapariVivError(f"{path}: unsupported data type {first.dtype}")
    try:
        axes = axes or guess_axes(first.shape, first.dtype)
        new_axes, steps = _canonical_axes(axes, first.shape)
    except ValueError as exc:
        raise NapariVivError(f"{path}: {exc}") from None
    levels = []
    for i, arr in enumerate(arrays):
        if arr.ndim != first.ndim:
            raise NapariVivError(f"{path}: level {i} has {arr.ndim} dimensions, level 0 {first.ndim}")
        levels.append(_apply(da.from_array(arr, chunks=arr.chunks, name=f"{token}-{i}", lock=False, fancy=False, inline_array=True), steps))
    meta.axes = new_axes
    if meta.channel_names is not None:
        nc = levels[0].shape[new_axes.index("C")] if "C" in new_axes else 1
        if len(meta.channel_names) != nc:
            meta.channel_names = meta.channel_colors = meta.contrast_limits = None
    return SourceImage(path=path, levels=levels, metadata=meta)


def _zarr_axes(ms: dict, meta: ImageMetadata, ndim: int) -> str | None:
    raw = ms.get("axes")
    if not raw or len(raw) != ndim:
        return None
    names = [(a.get("name") if isinstance(a, dict) else a) or "" for a in raw]
    letters = "".join(n.upper()[:1] if n.lower() in ("t", "c", "z", "y", "x") else "Q" for n in names)
    scale = None
    for t in ms["datasets"][0].get("coordinateTransformations") or []:
        if t.get("type") == "scale":
            scale = t.get("scale")
    if scale and len(scale) == ndim:
        sizes = {}
        for a, s, n in zip(raw, scale, names):
            if n.lower() in ("x", "y", "z"):
                unit = a.get("unit") if isinstance(a, dict) else None
                sizes[n.lower()] = (float(s), unit or MICROMETRE)
        _set_sizes(meta, sizes)
    return letters


def _omero(meta: ImageMetadata, omero) -> None:
    if not isinstance(omero, dict) or not omero.get("channels"):
        return
    chans = omero["channels"]
    meta.channel_names = [str(c.get("label") or f"Channel {i}") for i, c in enumerate(chans)]
    colors = []
    for c in chans:
        hexcol = str(c.get("color") or "")
        colors.append(
            tuple(int(hexcol[i : i + 2], 16) for i in (0, 2, 4))
            if re.fullmatch(r"[0-9A-Fa-f]{6}", hexcol)
            else None
        )
    meta.channel_colors = colors if any(colors) else None
    windows = [c.get("window") or {} for c in chans]
    if all("start" in w and "end" in w for w in windows):
        meta.contrast_limits = [(float(w["start"]), float(w["end"])) for w in windows]


# --- helpers ----------------------------------------------------------------------


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".ome.tiff", ".ome.tif", ".ome.zarr", ".qptiff", ".tiff", ".tif", ".svs", ".npy", ".zarr"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
