"""What of napari's scene travels with an export besides the image layers: the camera.

napari's camera is a centre in world units and a zoom in screen pixels per world
unit, which ties it to the size of napari's canvas. The view file instead keeps
the *visible field*: the centre and the width and height that napari shows, in
the image's level-0 pixels. Our viewer fits that field into its own window, so
a browser window of any size opens on the same region (docs/view-file.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def visible_field(viewer, scale: Sequence[float], translate: Sequence[float], shape_yx) -> dict | None:
    """Return the part of an image napari shows, as ``ImageMetadata.camera``, or None.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose camera and canvas size are read (public API only).
    scale, translate : sequence of float
        The image layer's scale and translate; their last two entries (Y, X)
        map the image's pixels to napari's world.
    shape_yx : tuple of int
        The image's level-0 height and width in pixels.

    Returns
    -------
    dict or None
        ``{"center": (x, y), "extent": (w, h)}`` in level-0 pixels. None when
        napari shows 3-D, when the displayed axes are not the image's last two,
        or when the whole image is in view (our viewer then fits it itself).
    """
    dims = viewer.dims
    if dims.ndisplay != 2 or tuple(dims.displayed) != (dims.ndim - 2, dims.ndim - 1):
        return None
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera  # napari >= 0.9: scene
    zoom = float(camera.zoom)
    if not zoom > 0:
        return None
    sy, sx = (float(v) for v in tuple(scale)[-2:])
    ty, tx = (float(v) for v in tuple(translate)[-2:])
    cy, cx = (float(v) for v in tuple(camera.center)[-2:])
    height, width = (float(v) for v in viewer.canvas.size)
    center = ((cx - tx) / sx, (cy - ty) / sy)
    extent = (width / zoom / abs(sx), height / zoom / abs(sy))
    h, w = shape_yx
    left, top = center[0] - extent[0] / 2, center[1] - extent[1] / 2
    if left <= 0 and top <= 0 and left + extent[0] >= w and top + extent[1] >= h:
        return None
    return {"center": center, "extent": extent}


def camera_for_layer_data(layer_data: Sequence[tuple], shape_yx) -> dict | None:
    """Return the visible field of napari's current viewer for a writer's ``LayerData``.

    Parameters
    ----------
    layer_data : sequence of (data, meta, type)
        What napari hands a writer; the first image layer's scale and
        translate place the image in napari's world.
    shape_yx : tuple of int
        The exported image's level-0 height and width.

    Returns
    -------
    dict or None
        See :func:`visible_field`; None without a current viewer.
    """
    import napari

    viewer = napari.current_viewer()
    if viewer is None:
        return None
    for item in layer_data:
        meta: dict[str, Any] = item[1] if len(item) > 1 else {}
        if len(item) < 3 or item[2] == "image":
            ndim = len(shape_yx)
            scale = meta.get("scale") or (1.0,) * ndim
            translate = meta.get("translate") or (0.0,) * ndim
            return visible_field(viewer, scale, translate, shape_yx)
    return None


def camera_for_layers(viewer, layers: Sequence[Any], shape_yx) -> dict | None:
    """Return the visible field of ``viewer`` for napari ``Layer`` objects (the panel's hook).

    Parameters
    ----------
    viewer : napari.Viewer
        The panel's viewer.
    layers : sequence of napari layers
        The image layers exported; the first places the image in the world.
    shape_yx : tuple of int
        The exported image's level-0 height and width.

    Returns
    -------
    dict or None
        See :func:`visible_field`.
    """
    if not layers:
        return None
    return visible_field(viewer, layers[0].scale, layers[0].translate, shape_yx)


def rgb_as_channels(lay, keep_levels: bool, assumed: list[str]):
    """Turn an RGB layer that is not 8-bit into three channels coloured red, green and blue.

    Viv shows interleaved RGB only for 8-bit data. A 16-bit, 12-bit or float RGB
    layer is therefore written as a ``CYX`` image whose channels carry the RGB
    names and colours (:data:`napari_viv.write.layout.RGB_CHANNEL_COLORS`) and
    the layer's contrast limits, so it looks as napari showed it.

    Parameters
    ----------
    lay : layers._Layer
        The parsed RGB layer (axes ``"YXS"``, 3 samples).
    keep_levels : bool
        Keep the layer's own pyramid (else level 0 only).
    assumed : list of str
        Layers whose units were assumed µm.

    Returns
    -------
    ExportInput
        Lazy ``CYX`` levels and their metadata.
    """
    import dask.array as da

    from ..metadata import ImageMetadata
    from ..write.layout import RGB_CHANNEL_COLORS, RGB_CHANNEL_NAMES
    from .layers import ExportInput, as_dask

    levels = lay.levels if keep_levels else lay.levels[:1]
    moved = [da.moveaxis(as_dask(level), -1, 0) for level in levels]
    md = ImageMetadata(
        axes="CYX",
        name=lay.name,
        channel_names=list(RGB_CHANNEL_NAMES),
        channel_colors=list(RGB_CHANNEL_COLORS),
        physical_sizes=dict(lay.sizes),
        contrast_limits=[tuple(lay.contrast_limits)] * 3 if lay.contrast_limits else None,
        channel_visible=[lay.visible] * 3,
    )
    if lay.unit:
        md.unit = lay.unit
    return ExportInput(moved, md, [lay.name], assumed)


def prepare_scene(images: Sequence[tuple], scene: Sequence[tuple], inp) -> tuple[bytes | None, list]:
    """Check the non-image layers of an export and build what they become, before anything is written.

    Parameters
    ----------
    images : sequence of (data, meta, type)
        The image layers.
    scene : sequence of (data, meta, type)
        Labels, Points and Shapes layers.
    inp : layers.ExportInput
        The image export (its axes and shape).

    Returns
    -------
    tuple
        (the points/shapes sidecar's bytes or None, the labels ``LayerData``).
    """
    from .labels import check_labels

    labels = [item for item in scene if item[2] == "labels"]
    axes = inp.metadata.axes or "YX"
    sizes = dict(zip(axes, inp.shape, strict=False))
    lead = tuple(int(sizes[a]) for a in axes if a not in "CYXS")
    check_labels(labels, _shape_yx_of(inp), lead)
    others = [item for item in scene if item[2] != "labels"]
    return scene_sidecar_for(images, others, axes), labels


def _shape_yx_of(inp) -> tuple[int, int]:
    axes = inp.metadata.axes
    return int(inp.shape[axes.index("Y")]), int(inp.shape[axes.index("X")])


def labels_into_store(target, prepared: tuple, axes: str | None) -> tuple[dict, tuple, list[dict]]:
    """For an OME-Zarr export, make the prepared labels part of the image export itself.

    A store holds its labels inside (NGFF ``labels/``), written before the
    store is published, so they are given to ``export_pyramid(..., labels=)``
    rather than written after it as an OME-TIFF's sibling files are.

    Parameters
    ----------
    target : Path
        The export's output (``.ome.zarr``/``.zarr``, or an OME-TIFF: then nothing changes).
    prepared : tuple
        From :func:`prepare_scene`.
    axes : str or None
        The image's axes.

    Returns
    -------
    tuple
        (keywords to add to ``export_pyramid``, what :func:`publish_scene` still
        writes, the labels' view-file entries for :func:`publish_scene`).
    """
    from pathlib import Path

    from ..naming import is_zarr_name
    from .labels import store_label_images

    sidecar, labels = prepared
    if not labels or not is_zarr_name(target):
        return {}, prepared, []
    images, entries = store_label_images(Path(target), labels, axes or "YX")
    return {"labels": images}, (sidecar, []), entries


def publish_scene(
    target,
    prepared: tuple,
    axes: str | None,
    written: Sequence,
    entries: Sequence[dict] = (),
    *,
    tile_size=512,
    progress=None,
    cancel=None,
) -> list:
    """Write the labels pyramids (and their view-file entries) and the points/shapes sidecar.

    On any failure everything the export wrote is removed, so nothing half-written stays.

    Parameters
    ----------
    target : Path
        The ``.ome.tif`` (or OME-Zarr store) written.
    prepared : tuple
        From :func:`prepare_scene` (or what :func:`labels_into_store` left of it).
    axes : str or None
        The image's axes.
    written : sequence of Path
        The image export's files.
    entries : sequence of dict, optional
        View-file ``labels`` entries of labels already written (inside a store).
    tile_size, progress, cancel
        For the label pyramids, as :func:`.labels.export_labels` takes them.

    Returns
    -------
    list of Path
        The files added.
    """
    from pathlib import Path

    from ..naming import view_path
    from .labels import add_to_view, export_labels

    sidecar, labels = prepared
    added: list = []
    entries = list(entries)
    try:
        if labels:
            files, more = export_labels(
                Path(target), labels, axes or "YX", tile_size=tile_size, progress=progress, cancel=cancel
            )
            added += files
            entries += more
        if entries:
            view = add_to_view(view_path(target), entries)
            if str(view) not in {str(p) for p in written}:
                added.append(view)
        added += publish_sidecar(target, sidecar, written)
    except BaseException:
        remove_written([*written, *added])
        raise
    return added


def remove_written(paths: Sequence) -> None:
    """Remove what an export wrote: files, and OME-Zarr stores (folders) whole.

    Parameters
    ----------
    paths : sequence of path-like
        The export's outputs; missing ones are skipped.
    """
    import shutil
    from pathlib import Path

    for p in map(Path, paths):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def scene_sidecar_for(images: Sequence[tuple], scene: Sequence[tuple], axes: str | None) -> bytes | None:
    """Build the points/shapes sidecar for an export before anything is written.

    Parameters
    ----------
    images : sequence of (data, meta, type)
        The exported image layers (the first one's scale/translate is the image's space).
    scene : sequence of (data, meta, type)
        Points and Shapes layers.
    axes : str or None
        The exported image's axes (e.g. ``"TCZYX"``).

    Returns
    -------
    bytes or None
        None when there are no points or shapes; raises NapariVivError on bad input.
    """
    from .features import scene_sidecar

    if not scene:
        return None
    image_meta = images[0][1] if images and len(images[0]) > 1 else {}
    lead = "".join(a for a in (axes or "YX") if a not in "CYXS")
    return scene_sidecar(list(scene), image_meta, lead)


def publish_sidecar(target, sidecar: bytes | None, written: Sequence) -> list:
    """Write the sidecar beside the exported image, or remove a stale one.

    If writing fails, the image just written is removed too, so nothing
    half-written is left.

    Parameters
    ----------
    target : Path
        The ``.ome.tif`` written.
    sidecar : bytes or None
        From :func:`scene_sidecar_for`.
    written : sequence of Path
        The export's files (removed if the sidecar cannot be written).

    Returns
    -------
    list of Path
        ``[sidecar path]`` or ``[]``.
    """
    from ..naming import features_path
    from ..scene.features import write_features

    path = features_path(target)
    if sidecar is None:
        path.unlink(missing_ok=True)  # never a sidecar describing another scene
        return []
    try:
        return [write_features(path, sidecar)]
    except OSError:
        remove_written(written)
        raise


def scene_layers_beside(path, image_layers: Sequence[tuple]) -> list[tuple]:
    """Read the points/shapes sidecar beside ``path`` into ``LayerData`` placed like the images.

    Parameters
    ----------
    path : path-like
        The image file opened.
    image_layers : sequence of (data, meta, type)
        Its image layers (the first one's scale and translate place the features).

    Returns
    -------
    list of (data, meta, type)
        Empty without a (valid) sidecar.
    """
    from ..naming import features_path, view_path
    from ..read.omezarr import is_zarr_store
    from ..scene.features import read_features
    from ..viewfile import read_view
    from .features import scene_layer_data
    from .labels import labels_layer_data, store_labels_layer_data

    if not image_layers:
        return []
    meta = image_layers[0][1]
    scale = list(meta.get("scale") or [1.0, 1.0])
    translate = list(meta.get("translate") or [0.0] * len(scale))
    view = read_view(view_path(path))
    if is_zarr_store(path):  # a store holds its labels inside: ours and other writers'
        out = store_labels_layer_data(path, view, scale, translate)
    else:
        out = labels_layer_data(path, view, scale, translate)
    doc = read_features(features_path(path))
    return out + (scene_layer_data(doc, scale, translate) if doc else [])
