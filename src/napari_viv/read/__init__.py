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
from ..axes import guess_axes
from ..errors import NapariVivError
from ..viewfile import apply_view, read_view
from .arrays import open_npy
from .image import SourceImage
from .omezarr import is_zarr_store, open_omezarr
from .tiff import SeriesInfo, open_tiff, tiff_series

__all__ = ["SeriesInfo", "SourceImage", "guess_axes", "list_series", "open_image"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def open_image(path: str | os.PathLike, *, series: int | None = None, streaming: bool = False) -> SourceImage:
    """Open an image file lazily: pyramid levels plus metadata, no pixels read.

    Parameters
    ----------
    path : str or os.PathLike
        An OME-TIFF (or its ``.companion.ome``), QPTIFF, SVS, ImageJ or
        Micro-Manager TIFF, plain TIFF, ``.npy`` file or ``.zarr`` folder.
    series : int, optional
        Which image series (see :func:`list_series`); the first by default,
        with a legacy OME-TIFF pyramid's levels.
    streaming : bool
        False: levels are dask arrays, tiled TIFF levels in chunks of 512 rows
        by 2048 columns (good for viewing). True (what ``napari-viv convert``
        uses): the sliceable arrays underneath (tifffile's Zarr store, a memory
        map, a strip cache), in the same axis order, for a reader that visits
        every block once; dask is then not even imported.

    Returns
    -------
    SourceImage
        ``levels`` (level 0 first) in ``metadata.axes`` order, a subsequence of
        ``TCZYX`` or ``YXS`` for RGB(A); the view file beside an OME-TIFF applied.

    Raises
    ------
    NapariVivError
        Naming the file: missing, a folder, unreadable, empty, truncated or
        damaged, of an unknown format, or without that series.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stack.npy"
    >>> np.save(path, np.zeros((3, 40, 50), np.uint16))
    >>> src = open_image(path)
    >>> src.metadata.axes, src.shape, str(src.dtype)
    ('CYX', (3, 40, 50), 'uint16')
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise NapariVivError("no such file", subject=path)
    if path.is_dir():
        if is_zarr_store(path):
            _single(path, series)
            return open_omezarr(path, streaming)
        raise NapariVivError("is a folder, not an image (only .zarr folders can be opened)", subject=path)
    if not os.access(path, os.R_OK):
        raise NapariVivError("permission denied", subject=path)
    if path.stat().st_size == 0:
        raise NapariVivError("file is empty", subject=path)
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if naming.is_companion(name):
        return open_tiff(path, series, streaming)
    if suffix == "npy":
        _single(path, series)
        return open_npy(path, streaming)
    if not _is_tiff(path):
        raise NapariVivError("not a TIFF file (and not .npy or .zarr)", subject=path)
    return _with_view(open_tiff(path, series, streaming), path)


def list_series(path) -> list[SeriesInfo]:
    """List the image series of ``path``, numbered as :func:`open_image`'s ``series``.

    A Micro-Manager multi-position file lists one series per stage position
    (``kind="position"``); a slide lists its thumbnail, label and macro
    images (``kind="associated"``); a legacy OME-TIFF pyramid is one series.
    Files with a single image (``.npy``, ``.zarr``) list one series.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`open_image` opens.

    Returns
    -------
    list of SeriesInfo
        Index, name, shape, dtype and kind of each series.

    Raises
    ------
    NapariVivError
        When the file cannot be opened.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plane.npy"
    >>> np.save(path, np.zeros((40, 50), np.uint8))
    >>> [(s.index, s.shape, s.kind) for s in list_series(path)]
    [(0, (40, 50), 'image')]
    """
    path = Path(path)
    if path.is_file() and (naming.is_companion(path.name) or _is_tiff(path)):
        return tiff_series(path)
    src = open_image(path)
    return [SeriesInfo(0, src.metadata.name or naming.stem(path), tuple(src.shape), str(src.dtype), "image")]


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
        nc = 0 if md.axes.endswith("S") else (int(source.levels[0].shape[md.axes.index("C")]) if "C" in md.axes else 1)
        source.metadata = apply_view(md, view, nc)
    return source


def _single(path: Path, series) -> None:
    if series not in (None, 0):
        raise NapariVivError(f"holds a single image; there is no series {series}", subject=path)
