"""napari Labels layers <-> label pyramids beside the image, and their look in the view file.

Each Labels layer of an export becomes ``<stem>.labels-<i>.ome.tif``
(:func:`napari_viv.naming.labels_path`), a pyramid whose lower levels take the
nearest pixel (never a mean, which would invent label ids). Its colours (one
per label id present, from napari's colormap, direct or cyclic), opacity and
visibility go to the view file's ``labels`` list. The reader opens them again
as Labels layers with those colours.

In an OME-Zarr export the label pyramids go inside the store instead, as its
NGFF ``labels/`` group (:func:`store_label_images`; written by
:mod:`napari_viv.write.zarrlabels` before the store is published), and the
view entry's ``file`` is ``<store>/labels/<name>``. The reader opens any
store's label images, ours or another writer's (:func:`store_labels_layer_data`).
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
    import dask

    lo, hi = (int(v) for v in dask.compute(lazy.min(), lazy.max()))  # one pass over the chunks
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


def _each_label(labels: list, axes: str):
    """Yield ``(name, label axes, lazy unsigned ids, level 0 as the layer has it, meta)`` per Labels layer."""
    for i, (data, meta, _) in enumerate(labels):
        level0 = _level0(data, meta)
        name = str(meta.get("name") or f"labels {i}")
        try:
            arr = _label_dtype(level0)
        except NapariVivError as exc:
            raise exc.about(name) from None
        yield name, _label_axes(axes, level0), arr, level0, meta


def _level0(data, meta: dict):
    """Return a Labels layer's full-resolution data."""
    return data[0] if meta.get("multiscale") else data


def _label_axes(axes: str, level0) -> str:
    """Return the axes of a Labels layer: the image's without C, as many as it has."""
    return "".join(a for a in axes if a != "C")[-len(level0.shape) :]


def _entry(file: str, name: str, meta: dict, level0) -> dict[str, Any]:
    """Build the view file's ``labels`` entry of one layer: where it is and how napari showed it."""
    entry: dict[str, Any] = {"file": file, "name": name, "opacity": float(meta.get("opacity", 0.7))}
    entry.update(visible=bool(meta.get("visible", True)), contour=_contour(meta))
    entry["colors"] = _colors(meta, np.asarray(level0))  # only here is level 0 read into memory
    return entry


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


def label_tiles(labels: list, axes: str, tile_size=512) -> list[int]:
    """Count the tiles :func:`export_labels` writes for each of ``labels``, from their shapes (no pixel is read)."""
    from ..write.plan import plan_pyramid

    counts = []
    for data, meta, _ in labels:
        level0 = _level0(data, meta)
        # the ids' type (chosen by export_labels from their range) does not change the count
        counts.append(plan_pyramid(level0.shape, np.uint32, _label_axes(axes, level0), tile_size=tile_size).ntiles)
    return counts


def export_labels(
    target: Path, labels: list, axes: str, *, tile_size=512, progress=None, cancel=None
) -> tuple[list[Path], list[dict]]:
    """Write each Labels layer as a pyramid beside ``target``; return the files and view entries.

    Parameters
    ----------
    target : Path
        The image's ``.ome.tif``.
    labels : list of (data, meta, "labels")
        The Labels ``LayerData`` (already checked).
    axes : str
        The image's axes; the labels take them without C.
    tile_size : int or str, default 512
        The image's tile size, which the label pyramids take too.
    progress : callable, optional
        ``progress(done_tiles, total_tiles)`` over all the layers' tiles.
    cancel : callable, optional
        Polled; returning true stops with :class:`napari_viv.errors.Cancelled`.

    Returns
    -------
    tuple
        (paths written, view-file ``labels`` entries).
    """
    from ..naming import labels_path
    from ..write.stream import part_of
    from ..write.writer import export_pyramid

    counts = label_tiles(labels, axes, tile_size)
    total, before = sum(counts), 0  # before: tiles of the layers already written
    written: list[Path] = []
    entries = []
    for i, (name, lab_axes, arr, level0, meta) in enumerate(_each_label(labels, axes)):
        path = labels_path(target, i)
        result = export_pyramid(
            arr,
            path,
            axes=lab_axes,
            name=name,
            tile_size=tile_size,
            downsample="nearest",
            overwrite=True,
            progress=part_of(progress, before, total),
            cancel=cancel,
        )
        written += [p for p in result.paths if p.exists()]
        entries.append(_entry(path.name, name, meta, level0))
        before += counts[i]
    return written, entries


def store_label_images(target: Path, labels: list, axes: str) -> tuple[list, list[dict]]:
    """Turn Labels layers into the label images of an OME-Zarr export, and their view entries.

    Nothing is written here: the images go to ``export_pyramid(..., labels=)``,
    which puts them under the store's ``labels/`` group before the store is
    published. Each entry's ``file`` is the label group relative to the view
    file, ``<store name>/labels/<name>``.

    Parameters
    ----------
    target : Path
        The store (``x.ome.zarr``).
    labels : list of (data, meta, "labels")
        The Labels ``LayerData`` (already checked).
    axes : str
        The image's axes; the labels take them without C.

    Returns
    -------
    tuple
        (list of :class:`napari_viv.write.zarrlabels.LabelImage`, view-file ``labels`` entries).
    """
    from ..naming import file_stem_for, store_label_path
    from ..write.zarrlabels import LabelImage

    images, entries, taken = [], [], set()
    for name, lab_axes, arr, level0, meta in _each_label(labels, axes):
        base = file_stem_for(name, "labels")
        group, n = base, 1
        while group.lower() in taken:
            n += 1
            group = f"{base}-{n}"
        taken.add(group.lower())
        entry = _entry(store_label_path(target.name, group).as_posix(), name, meta, level0)
        colors = {int(k): tuple(v) for k, v in entry["colors"].items()}
        images.append(LabelImage(group, arr, lab_axes, colors))
        entries.append(entry)
    return images, entries


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
        out.append(_layer(open_image(path).levels, entry, path.name, scale, translate))
    return out


def store_labels_layer_data(store, view: dict | None, scale, translate) -> list[tuple]:
    """Open the label images of an OME-Zarr store (its ``labels/`` group) as Labels ``LayerData``.

    Any writer's store works (ours, ome-zarr-py's ``write_labels``): colours
    come from each label image's ``image-label`` block. The view file's
    ``labels`` entry whose ``file`` is that label group, when there is one,
    adds how napari showed it (name, opacity, visibility, contour, colours).

    Parameters
    ----------
    store : path-like
        The image's store.
    view : dict or None
        Its view file's content.
    scale, translate : sequence of float
        The image layers' placement.

    Returns
    -------
    list of (data, meta, "labels")
        Label images that cannot be opened are left out, with a warning notification naming them.
    """
    from ..read.omezarr import open_omezarr, store_labels

    store = Path(store)
    looks = {}
    for entry in (view or {}).get("labels") or []:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            looks[os.path.normpath(store.parent / entry["file"])] = entry
    out = []
    for name, folder, colors in store_labels(store):
        try:
            levels = _without_channel(open_omezarr(folder), name)
        except NapariVivError as exc:
            _warn(f"{store.name}: label image {name!r} not opened: {exc.problem}")
            continue
        entry = looks.get(os.path.normpath(folder)) or {"colors": {str(k): list(v) for k, v in colors.items()}}
        out.append(_layer(levels, entry, name, scale, translate))
    return out


def _without_channel(src, name: str) -> list:
    """Return a label image's levels without a channel axis of size 1 (napari's Labels have none)."""
    axes = src.metadata.axes
    if "C" not in axes:
        return src.levels
    c = axes.index("C")
    if int(src.levels[0].shape[c]) != 1:
        raise NapariVivError("it has several channels; label images have one", subject=name)
    return [level[(slice(None),) * c + (0,)] for level in src.levels]


def _layer(levels: list, entry: dict, name: str, scale, translate) -> tuple:
    """One Labels ``LayerData``: ``levels`` shown as ``entry`` (a view file's labels entry) says."""
    ndim = len(levels[0].shape)
    meta: dict[str, Any] = {"name": entry.get("name") or name, "opacity": float(entry.get("opacity", 0.7))}
    meta.update(visible=bool(entry.get("visible", True)), multiscale=len(levels) > 1)
    meta.update(scale=list(scale)[-ndim:], translate=list(translate)[-ndim:])
    # No "contour": napari's add_labels takes none (its LayerData leaves contour out), so a
    # layer napari showed as contours reads back filled; the browser draws the contours.
    colors = {int(k): [v / 255 for v in c] for k, c in (entry.get("colors") or {}).items()}
    if colors:
        meta["colormap"] = {None: [0, 0, 0, 0], 0: [0, 0, 0, 0], **colors}
    return levels if len(levels) > 1 else levels[0], meta, "labels"


def _warn(message: str) -> None:
    from napari.utils.notifications import show_warning

    show_warning(message)
