"""Open the TIFF family (OME-TIFF, QPTIFF, SVS, ImageJ, NDTiff, plain TIFF) lazily.

Pyramid levels come from SubIFDs or, for legacy OME-TIFF, from the following
series; each level is a dask array over tifffile's Zarr store in chunks of
whole tiles or strips, or over a memory map when the data is uncompressed.
Damaged, truncated or undecodable files are refused before anything is read.

Image series are counted in :mod:`.tiff_series`. Multi-file OME-TIFF: a master file or a
``.companion.ome`` opens the whole set; a BinaryOnly member opens the set
through the metadata file it names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import naming, tifflog
from ..axes import apply_steps, canonical_axes
from ..errors import NapariVivError
from ..lazy import CHUNK_COLS, CHUNK_ROWS, AxesView, MemmapWindow, StripCache, from_memmap, grow, memmap_chunks
from ..ome.parse import binary_only_metadata_file, uuid_file_names
from ..system import cpu_count
from ..text import one_line
from .image import SourceImage
from .planar_jpeg import PlanarJpegLevel, is_planar_jpeg
from .rawtiles import RawTiles
from .tiff_metadata import tiff_metadata
from .tiff_series import ASSOCIATED, Entry, image_entries, legacy_levels

_YCBCR = 6


@dataclass
class SeriesInfo:
    """One image series a file offers (``open_image(path, series=index)``)."""

    index: int
    name: str
    shape: tuple
    dtype: str
    #: "image", "position" (a Micro-Manager stage position) or "associated"
    #: (a slide's thumbnail, label or macro image).
    kind: str = "image"


def open_tiff(path: Path, series, streaming: bool = False) -> SourceImage:
    """Open one series of a TIFF (``None``: the first, with legacy pyramid levels).

    tifffile's warnings are captured; any that signal damage become a
    :class:`NapariVivError` instead of a later failure mid-read.
    A ``.companion.ome`` opens the multi-file OME-TIFF it describes.

    Parameters
    ----------
    path : pathlib.Path
        The TIFF or ``.companion.ome``.
    series : int or None
        The series, numbered as :func:`tiff_series` lists them.
    streaming : bool
        As :func:`napari_viv.read.open_image`'s.

    Returns
    -------
    SourceImage
        Its levels in canonical axes, with metadata and notes.

    Raises
    ------
    NapariVivError
        Naming the file; :func:`napari_viv.tifflog.damaged` for a cut or corrupt one.
    """
    failure = None
    with tifflog.captured() as complaints:
        try:
            source = _open_tiff_quiet(path, series, streaming)
        except NapariVivError as exc:
            failure = exc  # damage in tifffile's log explains it better
    if tifflog.damage(complaints):
        raise tifflog.damaged(path, in_set=naming.is_companion(path.name))
    if failure is not None:
        raise failure
    return source


def tiff_series(path: Path) -> list[SeriesInfo]:
    """List the image series of a TIFF or companion file, as ``open_image`` numbers them.

    Parameters
    ----------
    path : pathlib.Path
        The TIFF or ``.companion.ome``.

    Returns
    -------
    list of SeriesInfo
        Legacy pyramid levels are not listed as series of their own.
    """
    with tifflog.captured():
        tif, xml, target, notes = _open_tifffile(path)
        try:
            entries = image_entries(tif, path)
            skip = set()
            if tif.is_ome and entries and entries[0].index == 0:
                skip = {s for s, _ in legacy_levels(tif.series, 0)[1:]}
            out = []
            for i, e in enumerate(entries):
                if e.index is not None and e.index in skip:
                    continue
                out.append(
                    SeriesInfo(
                        i,
                        e.name or getattr(e.series, "name", "") or f"Series {i}",
                        tuple(e.series.shape),
                        str(e.series.dtype),
                        e.kind,
                    )
                )
            return out
        finally:
            tif.close()


def _open_tifffile(path: Path, _seen=()):
    """``(TiffFile, companion XML or None, the file opened, notes)`` for ``path``.

    A ``.companion.ome`` opens its first TIFF with the companion's XML; a
    BinaryOnly member is resolved to the metadata file it names.
    """
    import tifffile

    notes: list[str] = []
    xml = None
    target = path
    if naming.is_companion(path.name):
        xml, target = _companion(path)
    try:
        tif = tifffile.TiffFile(target, omexml=xml) if xml else tifffile.TiffFile(target)
    except Exception as exc:  # noqa: BLE001 - tifffile raises TiffFileError, ValueError, struct.error...
        raise NapariVivError(f"not a readable TIFF ({one_line(exc)})", subject=target) from None
    if xml is None and tif.is_ome:
        meta_file = binary_only_metadata_file(tif.pages.first.description or "")
        if meta_file is not None:
            tif.close()
            other = path.parent / meta_file
            if not other.is_file():
                raise NapariVivError(
                    f"holds only pixels of a multi-file OME-TIFF whose metadata file "
                    f"{meta_file} is not here; put the whole set in one folder and open {meta_file}",
                    subject=path,
                )
            if other.resolve() in _seen or other.resolve() == path.resolve():
                raise NapariVivError(
                    f"its BinaryOnly metadata file {meta_file} points back to a pixel-only file", subject=path
                )
            tif, xml, target, more = _open_tifffile(other, (*_seen, path.resolve()))
            notes.append(
                f"{path.name} holds only pixels of a multi-file OME-TIFF; opened the whole set through {meta_file}"
            )
            notes.extend(more)
    return tif, xml, target, notes


def _companion(path: Path) -> tuple[str, Path]:
    """Return the companion's XML and the first TIFF file it names."""
    try:
        xml = path.read_text(encoding="utf-8")
        root = ET.fromstring(xml.encode("utf-8"))
    except (OSError, UnicodeDecodeError, ET.ParseError) as exc:
        raise NapariVivError(f"not a readable OME companion file ({one_line(exc)})", subject=path) from None
    names = uuid_file_names(root)
    if not names:
        raise NapariVivError(
            "the companion file names no TIFF files (no TiffData UUID FileName); open the .ome.tif master file instead",
            subject=path,
        )
    first = path.parent / names[0]
    if not first.is_file():
        raise NapariVivError(
            f"names {names[0]}, which is not in {path.parent}; keep the companion file beside its TIFF files",
            subject=path,
        )
    return xml, first


def _open_tiff_quiet(path: Path, series, streaming: bool) -> SourceImage:
    tif, xml, target, notes = _open_tifffile(path)
    try:
        return _open_series(tif, xml, target, path, series, streaming, notes)
    except NapariVivError:
        tif.close()
        raise
    except Exception:  # noqa: BLE001 - a damaged IFD deep in the file
        tif.close()
        raise tifflog.damaged(path) from None


def _open_series(tif, xml, target: Path, path: Path, series, streaming: bool, notes) -> SourceImage:
    try:
        all_series = tif.series
    except Exception:  # noqa: BLE001 - a damaged IFD deep in the file
        raise tifflog.damaged(path) from None
    if not all_series:
        raise NapariVivError("the TIFF contains no images", subject=path)
    entries = image_entries(tif, path)
    index = 0 if series is None else int(series)
    if not 0 <= index < len(entries):
        raise NapariVivError(
            f"has {len(entries)} image series; choose a series from 0 to {len(entries) - 1}", subject=path
        )
    entry = entries[index]
    main = entry.series
    where = _level_places(tif, entries, entry, series, notes)
    levels_series = [e.series.levels[k] for e, k in where]
    try:
        _check_pages(target, levels_series)
        meta = tiff_metadata(tif, main, index, path, ome_xml=xml, notes=notes, extra=entry.extra)
        file_axes = main.axes
        new_axes, steps = canonical_axes(file_axes, main.shape, rgb=_rgb(main))
    except ValueError as exc:
        raise NapariVivError(str(exc), subject=path) from None
    meta.axes = new_axes
    token = f"{target.resolve()}-{target.stat().st_mtime_ns}-{index}"
    levels = []
    for (e, k), lvl in zip(where, levels_series, strict=False):
        if lvl.axes != file_axes:
            raise NapariVivError(f"pyramid level {k} has axes {lvl.axes}, level 0 {file_axes}", subject=path)
        arr = _tiff_level(tif, target, e, k, lvl, f"{token}-{e.index}-{k}", streaming)
        levels.append(AxesView(arr, steps) if streaming else apply_steps(arr, steps))
    # Names/colours are per channel; for RGB(A) there is one (interleaved) channel.
    nc = levels[0].shape[new_axes.index("C")] if "C" in new_axes else 1
    if meta.channel_names is not None and len(meta.channel_names) != nc:
        if "S" in file_axes and "S" not in new_axes:
            notes.append(
                f"the metadata names {len(meta.channel_names)} channel(s) for "
                f"{nc} samples per pixel; the samples become {nc} channels with "
                "default names"
            )
        meta.channel_names = None
    if meta.channel_colors is not None and len(meta.channel_colors) != nc:
        meta.channel_colors = None
    return SourceImage(path=path, levels=levels, metadata=meta, notes=notes)


def _level_places(tif, entries: list[Entry], entry: Entry, series, notes: list) -> list[tuple[Entry, int]]:
    """(series, level index) for each pyramid level of ``entry``, level 0 first; notes other series."""
    main = entry.series
    where = [(entry, k) for k in range(len(main.levels))]
    if tif.is_ome and len(main.levels) == 1 and series is None and entry.index is not None:
        all_series = tif.series
        where = [(Entry(all_series[s], s), k) for s, k in legacy_levels(all_series, entry.index)]
    shown = len(entries) - (len(where) - 1)  # legacy levels are not series of their own
    if series is None and shown > 1:
        others = [e for e in entries[1:] if (e.name or getattr(e.series, "name", "")) not in ASSOCIATED]
        if others:
            what = "positions" if entry.kind == "position" else "image series"
            notes.append(
                f"holds {shown} {what}; this is series 0 "
                "(choose one with --series N, or convert each with --all-series)"
            )
    return where


def _rgb(series) -> bool | None:
    """Whether the series' samples are RGB colour (see ``canonical_axes``)."""
    if "S" not in series.axes:
        return None
    key = series.keyframe
    spp, photometric = int(key.samplesperpixel), int(key.photometric)
    if spp == 3 and np.dtype(series.dtype) == np.uint8 and photometric in (2, _YCBCR):
        return True  # planar or interleaved 8-bit RGB
    if spp == 4 and np.dtype(series.dtype) == np.uint8 and photometric == 2:
        return None  # RGBA, when stored interleaved
    return False


# -- pixels -------------------------------------------------------------------


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
            except KeyError:
                raise ValueError(f"compression {key.compression!r} cannot be decoded here") from None
        if lvl.dataoffset is not None:
            end = lvl.dataoffset + lvl.size * lvl.dtype.itemsize
            if end > size:
                raise tifflog.damaged(path, size=size, needed=end)
            continue
        check = pages if len(pages) <= 4096 else pages[:64] + pages[-64:]
        for page in check:
            offsets, counts = page.dataoffsets, page.databytecounts
            if not len(offsets):
                continue
            end = max(o + c for o, c in zip(offsets, counts, strict=False))
            fh = page.parent.filehandle  # planes may live in other files
            if end > fh.size:
                raise tifflog.damaged(fh.path, size=fh.size, needed=end)


def _tiff_level(tif, path, entry, k, lvl, name, streaming=False):
    """One level: a dask array, or with ``streaming`` the sliceable array under it."""
    key = lvl.keyframe
    if is_planar_jpeg(key):
        arr = PlanarJpegLevel(lvl)
        if streaming:
            return arr
        import dask.array as da

        return da.from_array(
            arr,
            chunks=arr.dask_chunks(),
            name=name,
            lock=False,
            fancy=False,
            asarray=False,
            meta=np.empty((0,) * arr.ndim, arr.dtype),
        )
    if entry.index is not None and lvl.dataoffset is not None and key.is_memmappable:
        import tifffile

        mm = tifffile.memmap(path, series=entry.index, level=k, mode="r")
        mm = mm.reshape(lvl.shape)
        if streaming:
            return MemmapWindow(mm)
        return from_memmap(mm, memmap_chunks(lvl.axes, lvl.shape), name)
    if RawTiles.takes(tif, lvl):  # uncompressed tiles: read straight from the file
        tiles = RawTiles(path, lvl)
        if streaming:
            return tiles
        import dask.array as da

        meta = np.empty((0,) * tiles.ndim, tiles.dtype)
        chunks = _dask_chunks(lvl.axes, tiles.chunks, tiles.shape)
        return da.from_array(tiles, chunks=chunks, name=name, lock=False, fancy=False, asarray=False, meta=meta)
    import zarr

    # Decoding threads pay off for compressed tiles only; uncompressed ones
    # are just copied, and a thread pool per read would cost more than it saves.
    workers = 1 if key.compression == 1 else max(2, cpu_count())
    store = (entry.series if entry.index is None else tif.series[entry.index]).aszarr(level=k, maxworkers=workers)
    z = zarr.open(store, mode="r")
    if tuple(z.shape) != tuple(lvl.shape):
        raise NapariVivError(f"level {k} shape {z.shape} does not match {lvl.shape}", subject=path)
    yaxis = lvl.axes.index("Y")
    tall = z.chunks[yaxis] > 2 * CHUNK_ROWS
    if streaming:
        return StripCache(z, yaxis) if tall else z
    import dask.array as da

    chunks = _dask_chunks(lvl.axes, z.chunks, z.shape)
    if tall:
        # Tall strips (often one strip per plane): decode each strip once and
        # hand it out in 512-row bands, instead of decoding it once per band.
        chunks = tuple(
            CHUNK_ROWS if i == yaxis else (n if a == "X" else c)
            for i, (a, c, n) in enumerate(zip(lvl.axes, chunks, z.shape, strict=False))
        )
        meta = np.empty((0,) * z.ndim, z.dtype)
        return da.from_array(
            StripCache(z, yaxis), chunks=chunks, name=name, lock=False, fancy=False, asarray=False, meta=meta
        )
    return da.from_array(z, chunks=chunks, name=name, lock=False, fancy=False, inline_array=True)


def _dask_chunks(axes: str, file_chunks, shape) -> tuple[int, ...]:
    """Give dask chunks of whole file tiles or strips, at least CHUNK_ROWS by CHUNK_COLS, one plane deep."""
    return tuple(
        grow(c, n, CHUNK_ROWS if a == "Y" else CHUNK_COLS) if a in "YX" else (n if a == "S" else c)
        for a, c, n in zip(axes, file_chunks, shape, strict=False)
    )
