"""napari Labels layers <-> label pyramids beside the image, and their look in the view file.

Each Labels layer of an export becomes ``<stem>.labels-<i>.ome.tif``
(:func:`napari_viv.naming.labels_path`), a pyramid whose lower levels take the
nearest pixel (never a mean, which would invent label ids). Its colours (one
per label id present, from napari's colormap, direct or cyclic), opacity and
visibility go to the view file's ``labels`` list. The reader opens them again
as Labels layers with those colours.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NapariVivError

#: At most this many label ids get an explicit colour in the view file.
MAX_COLORED_IDS = 65536


def check_labels(labels: list, image_shape_yx, lead_shape: tuple) -> None:
    """Refuse labels layers that cannot sit on the image (before anything is written).

    Parameters
    ----------
    labels : list of (data, meta, "labels")
        The Labels ``LayerData``.
    image_shape_yx : tuple of int
        The image's level-0 height and width.
    lead_shape : tuple of int
        The image's sizes before Y and X, without C (e.g. Z).

    Raises
    ------
    NapariVivError
        Naming the layer whose shape differs or whose ids are negative or too large.
    """
    for data, meta, _ in labels:
        name = str(meta.get("name") or "labels")
        level0 = data[0] if meta.get("multiscale") else data
        shape = tuple(int(n) for n in level0.shape)
        expected = tuple(lead_shape) + tuple(image_shape_yx)
        if shape != expected and shape != tuple(image_shape_yx):
            raise NapariVivError(
                f"its shape {shape} differs from the image's {expected}; labels must match the image pixel for pixel",
                subject=name,
            )
        if np.dtype(level0.dtype).kind not in "iub":
            raise NapariVivError(f"its data are {level0.dtype}, not integer label ids", subject=name)


def _label_dtype(arr):
    """Return ``arr`` as the smallest unsigned type Viv reads that holds its ids (lazily)."""
    from .layers import as_dask

    lazy = as_dask(arr)
    if np.dtype(lazy.dtype).kind == "b":
        return lazy.astype(np.uint8)
    lo, hi = (int(v) for v in (lazy.min().compute(), lazy.max().compute()))
    if lo < 0 or hi >= 2**32:
        raise NapariVivError(f"label ids from {lo} to {hi} do not fit an unsigned 32-bit file")
    dtype = np.uint8 if hi < 2**8 else np.uint16 if hi < 2**16 else np.uint32
    return lazy.astype(dtype)


def _colors(meta: dict, data) -> dict[str, list[int]]:
    """Return ``{id: [r, g, b, a]}`` (0-255) for the ids present, from napari's colormap."""
    cmap = meta.get("colormap")
    if cmap is None or not hasattr(cmap, "map"):
        return {}
    ids = np.unique(np.asarray(data))  # every id, however small its region: an id without a colour is not drawn
    ids = ids[ids != 0][:MAX_COLORED_IDS]
    if not len(ids):
        return {}
    rgba = np.clip(np.asarray(cmap.map(ids), float), 0, 1)
    return {str(int(i)): [int(round(v * 255)) for v in c] for i, c in zip(ids, rgba, strict=True)}


def _contour(meta: dict) -> int:
    """Return napari's contour width of a Labels layer (0: filled).

    A layer's ``LayerData`` does not carry it (napari leaves ``contour`` out of
    the layer's state), so the current viewer's layer of that name is asked.
    """
    if "contour" in meta:
        return int(meta["contour"] or 0)
    import napari

    viewer = napari.current_viewer()
    try:
        layer = viewer.layers[str(meta.get("name"))] if viewer is not None else None
    except KeyError:
        layer = None
    return int(getattr(layer, "contour", 0) or 0)


def export_labels(target: Path, labels: list, axes: str) -> tuple[list[Path], list[dict]]:
    """Write each Labels layer as a pyramid beside ``target``; return the files and view entries.

    Parameters
    ----------
    target : Path
        The image's ``.ome.tif``.
    labels : list of (data, meta, "labels")
        The Labels ``LayerData`` (already checked).
    axes : str
        The image's axes; the labels take them without C.

    Returns
    -------
    tuple
        (paths written, view-file ``labels`` entries).
    """
    from ..naming import labels_path
    from ..write.writer import export_pyramid

    written: list[Path] = []
    entries = []
    for i, (data, meta, _) in enumerate(labels):
        level0 = data[0] if meta.get("multiscale") else data
        name = str(meta.get("name") or f"labels {i}")
        lab_axes = "".join(a for a in axes if a != "C")[-len(level0.shape) :]
        try:
            arr = _label_dtype(level0)
        except NapariVivError as exc:
            raise exc.about(name) from None
        path = labels_path(target, i)
        result = export_pyramid(arr, path, axes=lab_axes, name=name, downsample="nearest", overwrite=True)
        written += [p for p in result.paths if p.exists()]
        entry: dict[str, Any] = {"file": path.name, "name": name, "opacity": float(meta.get("opacity", 0.7))}
        entry.update(visible=bool(meta.get("visible", True)), contour=_contour(meta))
        entry["colors"] = _colors(meta, np.asarray(level0) if not hasattr(level0, "compute") else level0.compute())
        entries.append(entry)
    return written, entries


def add_to_view(view_path: Path, entries: list[dict]) -> Path:
    """Add the ``labels`` list to the export's view file (created if the export wrote none).

    Parameters
    ----------
    view_path : Path
        ``<stem>.view.json``.
    entries : list of dict
        From :func:`export_labels`.

    Returns
    -------
    Path
        ``view_path``.
    """
    doc = {"version": 1}
    if view_path.is_file():
        doc = json.loads(view_path.read_text(encoding="utf-8"))
    doc["labels"] = entries
    tmp = view_path.with_name(f".{view_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, view_path)
    finally:
        tmp.unlink(missing_ok=True)
    return view_path


def labels_layer_data(image_path, view: dict | None, scale, translate) -> list[tuple]:
    """Open the label pyramids a view file lists as Labels ``LayerData``.

    Parameters
    ----------
    image_path : path-like
        The image opened (the label files sit beside it).
    view : dict or None
        Its view file's content.
    scale, translate : sequence of float
        The image layers' placement.

    Returns
    -------
    list of (data, meta, "labels")
    """
    from ..read import open_image

    out = []
    for entry in (view or {}).get("labels") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            continue
        path = Path(image_path).with_name(Path(entry["file"]).name)
        if not path.is_file():
            continue
        src = open_image(path)
        levels = src.levels
        ndim = len(levels[0].shape)
        meta: dict[str, Any] = {"name": entry.get("name") or path.name, "opacity": float(entry.get("opacity", 0.7))}
        meta.update(visible=bool(entry.get("visible", True)), multiscale=len(levels) > 1)
        meta.update(scale=list(scale)[-ndim:], translate=list(translate)[-ndim:])
        colors = {int(k): [v / 255 for v in c] for k, c in (entry.get("colors") or {}).items()}
        if colors:
            meta["colormap"] = {None: [0, 0, 0, 0], 0: [0, 0, 0, 0], **colors}
        out.append((levels if len(levels) > 1 else levels[0], meta, "labels"))
    return out
