"""npe2 reader: open pyramidal OME-TIFF / QPTIFF lazily as napari layers.

``get_reader`` claims ``*.ome.tif``, ``*.ome.tiff`` and ``*.qptiff`` (one
path or a list of them). The returned callable opens each file with
:func:`napari_viv.sources.open_image` (lazy dask levels, nothing read but
the smallest level for contrast limits) and gives one multiscale layer per
channel. A file that can't be read is reported as a napari error
notification, and no layer is added for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import NapariVivError

SUFFIXES = (".ome.tif", ".ome.tiff", ".qptiff")


def claims(path) -> bool:
    """True if ``path`` looks like a file this reader opens."""
    try:
        name = os.fspath(path)
    except TypeError:
        return False
    if not isinstance(name, str):
        return False
    return name.lower().endswith(SUFFIXES) and not os.path.isdir(name)


def get_reader(path) -> Callable | None:
    """npe2 ``get_reader``: a reader function for ``path``, or None."""
    if isinstance(path, (list, tuple)):
        paths = list(path)
    else:
        paths = [path]
    if not paths or not all(claims(p) for p in paths):
        return None
    return read_paths


def read_paths(path) -> list[tuple]:
    """Read one path or a list of paths into napari ``LayerData``.

    Files that fail are reported with ``show_error``; when none could be
    read the result is ``[(None,)]`` (napari: handled, nothing to add).
    """
    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    out: list[tuple] = []
    for p in paths:
        try:
            out.extend(read_one(p))
        except (NapariVivError, OSError) as exc:
            _notify_error(_message(p, exc))
    return out or [(None,)]


def read_one(path) -> list[tuple]:
    """``LayerData`` for one file; raises NapariVivError if unreadable."""
    from ..sources import open_image
    from .layers import image_to_layer_data

    src = open_image(path)
    name = src.metadata.name or _stem(path)
    layers = image_to_layer_data(src.levels, src.metadata, name=name)
    for _, meta, _ in layers:
        meta["metadata"]["path"] = str(path)
    return layers


def _stem(path) -> str:
    name = Path(path).name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _message(path, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(
        exc
    ).__name__
    name = Path(path).name
    if name in text:
        return f"napari-viv could not open it: {text}"
    return f"napari-viv could not open {name}: {text}"


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)
