"""Open the TIFF family (OME-TIFF, QPTIFF, SVS, ImageJ, plain TIFF) lazily.

Pyramid levels come from SubIFDs or, for legacy OME-TIFF, from the following
series; each level is a dask array over tifffile's Zarr store in chunks of
whole tiles or strips, or over a memory map when the data is uncompressed.
Damaged, truncated or undecodable files are refused before anything is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .. import tifflog
from ..errors import NapariVivError
from ..text import one_line
from ..axes import apply_steps, canonical_axes
from .image import SourceImage
from ..lazy import (CHUNK_COLS, CHUNK_ROWS, AxesView, MemmapWindow, StripCache,
                           from_memmap, grow, memmap_chunks)
from .tiff_metadata import tiff_metadata



def open_tiff(path: Path, series, streaming: bool = False) -> SourceImage:
    """Open one series of a TIFF (``None``: the first, with legacy pyramid levels).

    tifffile's warnings are captured; any that signal damage become a
    :class:`NapariVivError` instead of a later failure mid-read.
    """
    with tifflog.captured() as complaints:
        source = _open_tiff_quiet(path, series, streaming)
    damage = tifflog.damage(complaints)
    if damage:
        raise NapariVivError(f"{path}: the file is damaged or truncated ({one_line(damage[0])})")
    return source




def _open_tiff_quiet(path: Path, series, streaming: bool) -> SourceImage:
    import tifffile

    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises TiffFileError, ValueError, struct.error...
        raise NapariVivError(f"{path}: not a readable TIFF ({one_line(exc)})") from None
    try:
        all_series = tif.series
    except Exception as exc:
        tif.close()
        raise NapariVivError(f"{path}: cannot read the TIFF structure ({one_line(exc)})") from None
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
        meta = tiff_metadata(tif, main, index, path)
        file_axes = main.axes
        new_axes, steps = canonical_axes(file_axes, main.shape)
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
        arr = _tiff_level(tif, path, s, k, lvl, f"{token}-{s}-{k}", streaming)
        levels.append(AxesView(arr, steps) if streaming else apply_steps(arr, steps))
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


def _tiff_level(tif, path, s, k, lvl, name, streaming=False):
    """One level: a dask array, or with ``streaming`` the sliceable array under it."""
    key = lvl.keyframe
    if lvl.dataoffset is not None and key.is_memmappable:
        import tifffile

        mm = tifffile.memmap(path, series=s, level=k, mode="r")
        mm = mm.reshape(lvl.shape)
        if streaming:
            return MemmapWindow(mm)
        return from_memmap(mm, memmap_chunks(lvl.axes, lvl.shape), name)
    import zarr

    # Decoding threads pay off for compressed tiles only; uncompressed ones
    # are just copied, and a thread pool per read would cost more than it saves.
    workers = 1 if key.compression == 1 else max(2, os.cpu_count() or 2)
    store = tif.series[s].aszarr(level=k, maxworkers=workers)
    z = zarr.open(store, mode="r")
    if tuple(z.shape) != tuple(lvl.shape):
        raise NapariVivError(f"{path}: level {k} shape {z.shape} does not match {lvl.shape}")
    yaxis = lvl.axes.index("Y")
    tall = z.chunks[yaxis] > 2 * CHUNK_ROWS
    if streaming:
        return StripCache(z, yaxis) if tall else z
    import dask.array as da

    chunks = tuple(
        grow(c, n, CHUNK_ROWS if a == "Y" else CHUNK_COLS) if a in "YX" else (n if a == "S" else c)
        for a, c, n in zip(lvl.axes, z.chunks, z.shape)
    )
    if tall:
        # Tall strips (often one strip per plane): decode each strip once and
        # hand it out in 512-row bands, instead of decoding it once per band.
        chunks = tuple(CHUNK_ROWS if i == yaxis else (n if a == "X" else c)
                       for i, (a, c, n) in enumerate(zip(lvl.axes, chunks, z.shape)))
        meta = np.empty((0,) * z.ndim, z.dtype)
        return da.from_array(StripCache(z, yaxis), chunks=chunks, name=name, lock=False,
                             fancy=False, asarray=False, meta=meta)
    return da.from_array(z, chunks=chunks, name=name, lock=False, fancy=False, inline_array=True)
