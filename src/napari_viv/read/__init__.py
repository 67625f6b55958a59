"""Open any supported image as lazy pyramid levels plus metadata.

:func:`open_image` reads OME-TIFF (SubIFD pyramids, multi-series, legacy
one-Image-per-level pyramids, multi-file sets through a master file or a
``.companion.ome``), PerkinElmer Vectra QPTIFF, Aperio SVS, ImageJ
hyperstacks, Micro-Manager MMStack and NDTiff, FEI SEM, plain (multi-page)
TIFF, ``.npy`` and ``.zarr`` (plain arrays and OME-Zarr multiscale groups).
:func:`list_series` says which image series a file offers (a slide's
thumbnail, a Micro-Manager stage position, ...), numbered as ``series=``.

Nothing is read at open time except headers: every level is a dask array
over tifffile's Zarr store (chunks are whole TIFF tiles or strips, or a
small multiple of them), or over a memory map for uncompressed data.
Axes are always a subsequence of ``TCZYX``, or ``YXS`` for RGB(A).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import naming
from ..errors import NapariVivError
from ..viewfile import apply_view, read_view
from .arrays import open_npy
from ..axes import guess_axes
from .image import SourceImage
from .omezarr import is_zarr_store, open_omezarr
from ..lazy import CHUNK_COLS, CHUNK_ROWS, MEMMAP_COLS
from .tiff import SeriesInfo, open_tiff, tiff_series

__all__ = ["CHUNK_COLS", "CHUNK_ROWS", "MEMMAP_COLS", "SeriesInfo", "SourceImage", "guess_axes",
           "list_series", "open_image"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def open_image(path, *, series=None, streaming=False) -> SourceImage:
    """Open ``path`` lazily; raise :class:`NapariVivError` naming the file if it can't be.

    Levels are dask arrays; tiled TIFF levels come in chunks of 512 rows
    by 2048 columns (good for viewing). ``streaming=True`` (what
    ``napari-viv convert`` uses) returns the sliceable arrays underneath
    instead (tifffile's Zarr store, a memory map, a strip cache), seen in
    the same axis order, for a reader that visits every block once: the
    export's reads then skip dask, and dask is not even imported.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise NapariVivError(f"{path}: no such file")
    if path.is_dir():
        if is_zarr_store(path):
            _single(path, series)
            return open_omezarr(path, streaming)
        raise NapariVivError(f"{path}: is a folder, not an image (only .zarr folders can be opened)")
    if not os.access(path, os.R_OK):
        raise NapariVivError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise NapariVivError(f"{path}: file is empty")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if naming.is_companion(name):
        return open_tiff(path, series, streaming)
    if suffix == "npy":
        _single(path, series)
        return open_npy(path, streaming)
    if not _is_tiff(path):
        raise NapariVivError(f"{path}: not a TIFF file (and not .npy or .zarr)")
    return _with_view(open_tiff(path, series, streaming), path)


def list_series(path) -> list[SeriesInfo]:
    """The image series of ``path``, numbered as :func:`open_image`'s ``series``.

    A Micro-Manager multi-position file lists one series per stage position
    (``kind="position"``); a slide lists its thumbnail, label and macro
    images (``kind="associated"``); a legacy OME-TIFF pyramid is one series.
    Files with a single image (``.npy``, ``.zarr``) list one series.
    """
    path = Path(path)
    if path.is_file() and (naming.is_companion(path.name) or _is_tiff(path)):
        return tiff_series(path)
    src = open_image(path)
    return [SeriesInfo(0, src.metadata.name or naming.stem(path), tuple(src.shape),
                       str(src.dtype), "image")]


def _is_tiff(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in _TIFF_MAGIC
    except OSError:
        return False


def _with_view(source: SourceImage, path: Path) -> SourceImage:
    """Apply ``<stem>.view.json`` beside an OME-TIFF (colours, limits, visibility)."""
    view = read_view(naming.view_path(path)) if naming.is_viv_name(path.name) else None
    if view:
        md = source.metadata
        nc = 0 if md.axes.endswith("S") else (
            int(source.levels[0].shape[md.axes.index("C")]) if "C" in md.axes else 1)
        source.metadata = apply_view(md, view, nc)
    return source


def _single(path: Path, series) -> None:
    if series not in (None, 0):
        raise NapariVivError(f"{path}: holds a single image; there is no series {series}")
