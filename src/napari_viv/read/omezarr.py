"""Open Zarr stores lazily: OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain arrays.

An OME-Zarr image is a group whose attributes hold ``multiscales`` (0.4: at
the top; 0.5: under ``"ome"``). Its first multiscale lists the level arrays
(level 0 first), the axes (names, types, units) and a scale per level; the
``omero`` block gives channel labels, colours, display windows and which
channels are active. A plain Zarr array, or a group with an array ``"0"``,
opens as one level with axes guessed from its shape.

Nothing is read at open time but metadata: levels are dask arrays over the
zarr arrays (one dask chunk per Zarr chunk), or, with ``streaming=True``, the
zarr arrays themselves seen in canonical axis order. Sharded Zarr v3 arrays
read the same way (zarr-python reads the inner chunks).

:func:`ome_attributes` and :func:`multiscale_axis_names` are shared with
:mod:`napari_viv.check.zarr`, which judges the same metadata for Viv.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import naming
from ..axes import apply_steps, canonical_axes, guess_axes
from ..errors import NapariVivError
from ..lazy import AxesView
from ..metadata import MICROMETRE, ImageMetadata, set_physical_sizes
from ..text import one_line
from ..viewfile import apply_view, read_view
from .image import SourceImage

#: Files at the top of a Zarr store (v3; v2 array; v2 group; v2 attributes).
ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup", ".zattrs")
_SPACE = ("z", "y", "x")
#: NGFF time units napari-viv keeps (as seconds per time point).
_SECONDS = {"millisecond": 1e-3, "second": 1.0, "minute": 60.0, "hour": 3600.0}


def is_zarr_store(path) -> bool:
    """Whether the folder ``path`` is a Zarr store (v2 or v3 metadata at its top).

    Parameters
    ----------
    path : str or os.PathLike
        A folder.

    Returns
    -------
    bool

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> is_zarr_store(folder)
    False
    >>> _ = (folder / "zarr.json").write_text("{}")
    >>> is_zarr_store(folder)
    True
    """
    path = Path(path)
    return path.is_dir() and any((path / f).exists() for f in ZARR_MARKERS)


def ome_attributes(attrs: dict) -> tuple[dict, str | None]:
    """Return the OME-NGFF block of a group's attributes and its version.

    Parameters
    ----------
    attrs : dict
        The group's attributes (``.zattrs`` or ``zarr.json``'s ``attributes``).

    Returns
    -------
    ome : dict
        ``attrs["ome"]`` for NGFF 0.5 and later, else ``attrs`` itself.
    version : str or None
        The NGFF version the metadata names, when it names one.

    Examples
    --------
    >>> ome_attributes({"ome": {"version": "0.5", "multiscales": []}})
    ({'version': '0.5', 'multiscales': []}, '0.5')
    >>> ome_attributes({"multiscales": [{"version": "0.4", "datasets": []}]})[1]
    '0.4'
    """
    if isinstance(attrs.get("ome"), dict):
        ome = attrs["ome"]
        return ome, str(ome.get("version")) if ome.get("version") else None
    version = None
    ms = attrs.get("multiscales")
    if isinstance(ms, list) and ms and isinstance(ms[0], dict) and ms[0].get("version"):
        version = str(ms[0]["version"])
    return attrs, version


def multiscale_axis_names(ms: dict) -> list[str] | None:
    """Return the axis names of one ``multiscales`` entry (0.3 lists names, 0.4+ dicts), or None.

    Examples
    --------
    >>> multiscale_axis_names({"axes": [{"name": "c", "type": "channel"}, {"name": "y"}, {"name": "x"}]})
    ['c', 'y', 'x']
    >>> multiscale_axis_names({"axes": ["y", "x"]}), multiscale_axis_names({}) is None
    (['y', 'x'], True)
    """
    raw = ms.get("axes")
    if not isinstance(raw, list) or not raw:
        return None
    return [str(a.get("name", "") if isinstance(a, dict) else a) for a in raw]


def level_scale(dataset: dict) -> list[float] | None:
    """Return the ``scale`` of a dataset's coordinateTransformations, or None.

    Examples
    --------
    >>> level_scale({"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.5]}]})
    [1.0, 0.5, 0.5]
    """
    for t in dataset.get("coordinateTransformations") or []:
        if isinstance(t, dict) and t.get("type") == "scale" and isinstance(t.get("scale"), list):
            return [float(s) for s in t["scale"]]
    return None


def open_omezarr(path, streaming: bool = False) -> SourceImage:
    """Open the Zarr store ``path``: an OME-Zarr image, a plain array or a group with array ``"0"``.

    Parameters
    ----------
    path : str or os.PathLike
        The store's folder (``*.ome.zarr``, ``*.zarr``).
    streaming : bool
        Return the zarr arrays themselves (in canonical axis order) instead
        of dask arrays, for a reader that visits every block once.

    Returns
    -------
    SourceImage
        Levels (level 0 first) in axes that are a subsequence of ``TCZYX``;
        metadata with channel names, colours, contrast limits, visibility
        (from ``omero``), physical sizes and unit (from the axes and level 0's
        scale), and ``<stem>.view.json`` beside the store applied.

    Raises
    ------
    NapariVivError
        For a folder that is not a readable store, a group without an image,
        a multiscale that lists a missing array, or an unsupported data type.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, zarr
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "cells.ome.zarr"
    >>> group = zarr.open_group(str(store), mode="w", zarr_format=2)
    >>> group.create_array("0", data=np.zeros((2, 64, 64), "uint16"), chunks=(1, 64, 64)).shape
    (2, 64, 64)
    >>> group.attrs["multiscales"] = [{"version": "0.4",
    ...     "axes": [{"name": "c", "type": "channel"}, {"name": "y", "type": "space", "unit": "micrometer"},
    ...              {"name": "x", "type": "space", "unit": "micrometer"}],
    ...     "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.5]}]}]}]
    >>> group.attrs["omero"] = {"channels": [{"label": "DAPI", "color": "0000FF"}, {"label": "CD3", "color": "00FF00"}]}
    >>> src = open_omezarr(store)
    >>> src.metadata.axes, src.shape, src.metadata.channel_names, src.metadata.physical_sizes["x"]
    ('CYX', (2, 64, 64), ['DAPI', 'CD3'], 0.5)
    """
    import zarr

    path = Path(path)
    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises several types for junk
        raise NapariVivError(f"not a readable Zarr store ({one_line(exc)})", subject=path) from None
    meta = ImageMetadata(name=naming.stem(path))
    arrays, axes = _image_arrays(node, path, meta)
    levels, meta.axes = _levels(arrays, axes, path, streaming)
    _drop_mismatched_channels(meta, levels)
    return SourceImage(path=path, levels=levels, metadata=_with_view(meta, levels, path))


def _image_arrays(node: Any, path: Path, meta: ImageMetadata) -> tuple[list, str | None]:
    """Return the level arrays and their axis letters (None: guess from the shape)."""
    import zarr

    if isinstance(node, zarr.Array):
        return [node], None
    ome, _version = ome_attributes(dict(node.attrs))
    multiscales = ome.get("multiscales")
    if not multiscales:
        if "0" in node and isinstance(node["0"], zarr.Array):
            return [node["0"]], None
        raise NapariVivError("Zarr group without 'multiscales' metadata or a '0' array", subject=path)
    ms = multiscales[0]
    try:
        arrays = [node[d["path"]] for d in ms["datasets"]]
    except Exception as exc:  # noqa: BLE001 - a missing or broken member array
        raise NapariVivError(f"multiscales lists a missing array ({one_line(exc)})", subject=path) from None
    if not arrays or not all(isinstance(a, zarr.Array) for a in arrays):
        raise NapariVivError("multiscales lists no arrays, or a group where an array belongs", subject=path)
    axes = _axes_and_sizes(ms, meta, arrays[0].ndim)
    _omero(meta, ome.get("omero"))
    return arrays, axes


def _levels(arrays: list, axes: str | None, path: Path, streaming: bool) -> tuple[list, str]:
    first = arrays[0]
    if first.dtype.kind not in "biuf":
        raise NapariVivError(f"unsupported data type {first.dtype}", subject=path)
    try:
        axes = axes or guess_axes(first.shape, first.dtype)
        new_axes, steps = canonical_axes(axes, first.shape)
    except ValueError as exc:
        raise NapariVivError(str(exc), subject=path) from None
    levels = []
    for i, arr in enumerate(arrays):
        if arr.ndim != first.ndim:
            raise NapariVivError(f"level {i} has {arr.ndim} dimensions, level 0 {first.ndim}", subject=path)
        if streaming:
            levels.append(AxesView(arr, steps))
            continue
        import dask.array as da

        lazy = da.from_array(
            arr, chunks=arr.chunks, name=f"zarr-{path.resolve()}-{i}", lock=False, fancy=False, inline_array=True
        )
        levels.append(apply_steps(lazy, steps))
    return levels, new_axes


def _axes_and_sizes(ms: dict, meta: ImageMetadata, ndim: int) -> str | None:
    """Axis letters of a multiscale (unknown names become ``Q``), and physical sizes from level 0's scale."""
    names = multiscale_axis_names(ms)
    if not names or len(names) != ndim:
        return None
    lower = [n.lower() for n in names]
    letters = "".join(n.upper() if n in ("t", "c", "z", "y", "x") else "Q" for n in lower)
    scale = level_scale(ms["datasets"][0]) if ms.get("datasets") else None
    if scale and len(scale) == ndim:
        raw = ms["axes"]
        units = [str(a.get("unit") or "") if isinstance(a, dict) else "" for a in raw]
        sizes = {n: (s, u or MICROMETRE) for n, s, u in zip(lower, scale, units, strict=True) if n in _SPACE}
        set_physical_sizes(meta, sizes)
        if "t" in lower:
            t = lower.index("t")
            if units[t] in _SECONDS and scale[t] > 0:
                meta.time_increment = scale[t] * _SECONDS[units[t]]
    return letters


def _omero(meta: ImageMetadata, omero: Any) -> None:
    """Channel names, colours, windows and visibility from the ``omero`` block."""
    if not isinstance(omero, dict) or not isinstance(omero.get("channels"), list) or not omero["channels"]:
        return
    chans = [c if isinstance(c, dict) else {} for c in omero["channels"]]
    meta.channel_names = [str(c.get("label") or f"Channel {i}") for i, c in enumerate(chans)]
    colors = [_hex_color(c.get("color")) for c in chans]
    meta.channel_colors = colors if any(colors) else None
    windows: list[dict] = [c["window"] if isinstance(c.get("window"), dict) else {} for c in chans]
    if all("start" in w and "end" in w for w in windows):
        meta.contrast_limits = [(float(w["start"]), float(w["end"])) for w in windows]
    if all(isinstance(c.get("active"), bool) for c in chans):
        meta.channel_visible = [bool(c["active"]) for c in chans]


def _hex_color(value: Any) -> tuple[int, int, int] | None:
    text = str(value or "").removeprefix("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", text):
        return None
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _nchannels(meta: ImageMetadata, levels: list) -> int:
    if meta.axes.endswith("S"):
        return 0
    return int(levels[0].shape[meta.axes.index("C")]) if "C" in meta.axes else 1


def _drop_mismatched_channels(meta: ImageMetadata, levels: list) -> None:
    """Channel metadata that does not match the channel count is dropped, not guessed at."""
    if meta.channel_names is not None and len(meta.channel_names) != _nchannels(meta, levels):
        meta.channel_names = meta.channel_colors = meta.contrast_limits = meta.channel_visible = None


def _with_view(meta: ImageMetadata, levels: list, path: Path) -> ImageMetadata:
    """Apply ``<stem>.view.json`` beside the store, as for an OME-TIFF."""
    view = read_view(path.with_name(naming.stem(path) + naming.VIEW_SUFFIX))
    return apply_view(meta, view, _nchannels(meta, levels)) if view else meta


def store_labels(path) -> list[tuple[str, Path, dict[int, tuple[int, ...]]]]:
    """List the label images of an OME-Zarr store: its ``labels`` group's names, folders and colours.

    Parameters
    ----------
    path : str or os.PathLike
        The image's store.

    Returns
    -------
    list of (str, Path, dict)
        Per label image its name, its folder and ``{label id: (r, g, b, a)}``
        (0-255) from its ``image-label`` colours; empty for a store without
        labels. Names whose group has no ``image-label`` metadata are left out.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from napari_viv.write.zarrlabels import LabelImage, write_labels
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_labels(root, [LabelImage("cells", np.ones((64, 64), np.uint8), "YX", {1: (9, 9, 9, 255)})])
    >>> [(name, folder.name, colors) for name, folder, colors in store_labels(root)]
    [('cells', 'cells', {1: (9, 9, 9, 255)})]
    """
    import zarr

    root = Path(path)
    try:
        group = zarr.open_group(str(root / naming.ZARR_LABELS_GROUP), mode="r")
        names = ome_attributes(dict(group.attrs))[0].get("labels")
    except Exception:  # noqa: BLE001 - no (readable) labels group: no labels
        return []
    out = []
    for name in names if isinstance(names, list) else []:
        folder = naming.store_label_path(root, str(name))
        try:
            label = ome_attributes(dict(zarr.open_group(str(folder), mode="r").attrs))[0].get("image-label")
        except Exception:  # noqa: BLE001 - a listed group that is missing or broken
            continue
        if isinstance(label, dict):
            out.append((str(name), folder, _label_colors(label.get("colors"))))
    return out


def _label_colors(colors: Any) -> dict[int, tuple[int, ...]]:
    out = {}
    for entry in colors if isinstance(colors, list) else []:
        value, rgba = (entry.get("label-value"), entry.get("rgba")) if isinstance(entry, dict) else (None, None)
        if isinstance(value, int) and isinstance(rgba, list) and len(rgba) == 4:
            out[int(value)] = tuple(int(v) for v in rgba)
    return out
