"""npe2 reader: open pyramidal OME-TIFF / QPTIFF lazily as napari layers.

``get_reader`` claims ``*.ome.tif``, ``*.ome.tiff`` and ``*.qptiff`` (one
path or a list of them). The returned callable opens each file with
:func:`napari_viv.read.open_image` (lazy dask levels, nothing read but
the smallest level for contrast limits) and gives one multiscale layer per
channel. A file that can't be read is reported as a napari error
notification, and no layer is added for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import naming
from ..errors import NapariVivError
from ..metadata import ImageMetadata
from .channels import as_dask

#: Files with more channels open with only the first ones visible, so
#: napari does not fetch tiles for dozens of layers at once.
MAX_VISIBLE = 8
SPATIAL = "ZYX"

#: Colours for channels that carry none; nuclear stains get blue first.
PALETTE: list[tuple[int, int, int]] = [
    (0, 0, 255),  # blue
    (0, 255, 0),  # green
    (255, 0, 255),  # magenta
    (255, 255, 0),  # yellow
    (0, 255, 255),  # cyan
    (255, 0, 0),  # red
    (255, 128, 0),  # orange
    (255, 255, 255),  # white
]

# napari's own colormap names for the pure colours, so layers show a
# familiar name in the layer controls.
_NAMED = {
    (0, 0, 255): "blue",
    (0, 255, 0): "green",
    (255, 0, 255): "magenta",
    (255, 255, 0): "yellow",
    (0, 255, 255): "cyan",
    (255, 0, 0): "red",
    (255, 255, 255): "gray",
}


def claims(path) -> bool:
    """Tell whether ``path`` looks like a file this reader opens."""
    try:
        name = os.fspath(path)
    except TypeError:
        return False
    if not isinstance(name, str):
        return False
    return name.lower().endswith(naming.READER_SUFFIXES) and not os.path.isdir(name)


def get_reader(path) -> Callable | None:
    """npe2 ``get_reader``: a reader function for ``path``, or None."""
    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    if not paths or not all(claims(p) for p in paths):
        return None
    return read_paths


def get_zarr_reader(path) -> Callable | None:
    """npe2 ``get_reader`` for OME-Zarr stores (folders): a reader function, or None.

    napari offers this reader for every folder (npe2 does not match folder
    names against patterns); anything but a Zarr store is declined.
    """
    from ..read.omezarr import is_zarr_store

    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    try:
        ok = bool(paths) and all(is_zarr_store(os.fspath(p)) for p in paths)
    except TypeError:
        return None
    return read_paths if ok else None


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
    """``LayerData`` for one file; raises NapariVivError if unreadable.

    A file with several image series (Micro-Manager stage positions, an
    OME-TIFF with several Images) gives one set of layers per series, named
    ``"<series>: <channel>"``; a slide's thumbnail, label and macro images are
    left out. Notes the core has about the file become napari notifications.
    """
    from ..read import list_series, open_image

    series = [s for s in list_series(path) if s.kind != "associated"]
    several = len(series) > 1
    out = []
    for info in series or [None]:
        src = open_image(path, series=info.index if info is not None else None)
        for note in getattr(src, "notes", ()) or ():
            _notify_info(note)
        name = src.metadata.name or naming.stem(path)
        if several:
            name = info.name or f"{naming.stem(path)} series {info.index}"
        layers = image_to_layer_data(src.levels, src.metadata, name=name)
        for _, meta, _ in layers:
            meta["metadata"]["path"] = str(path)
            if several:
                meta["metadata"]["series"] = info.index
                names = meta["name"]
                meta["name"] = (
                    [f"{name}: {n}" for n in names]
                    if isinstance(names, list)
                    else (names if names.startswith(name) else f"{name}: {names}")
                )
        out.extend(layers)
    from .scene import scene_layers_beside

    out.extend(scene_layers_beside(path, out))  # the scene hook: points and shapes saved beside
    return out


def _message(path, exc: Exception) -> str:
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    name = Path(path).name
    # core messages start with the file's path: "x.ome.tif: not a TIFF"
    return f"Could not open {text}" if name in text else f"Could not open {name}: {text}"


def _notify_info(message: str) -> None:
    from napari.utils.notifications import show_info

    show_info(message)


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)


# --------------------------------------------------------------------------
# (levels, ImageMetadata) -> napari LayerData; also used by the sample
# --------------------------------------------------------------------------


def channel_colormap(color, name: str | None = None):
    """Make a napari colormap from black to ``color`` (r, g, b 0-255)."""
    color = tuple(int(c) for c in color[:3])
    if color in _NAMED:
        return _NAMED[color]
    from napari.utils.colormaps import Colormap

    hexname = "#{:02x}{:02x}{:02x}".format(*color)
    return Colormap(
        [[0.0, 0.0, 0.0, 1.0], [c / 255 for c in color] + [1.0]],
        name=hexname,
        display_name=name or hexname,
    )


_NUCLEAR = ("dapi", "hoechst", "draq", "nucle", "dna", "pi ")


def channel_colors(names: Sequence[str], given=None) -> list[tuple[int, int, int]]:
    """Choose a colour per channel: the file's, else a fluorescence palette colour.

    Missing and black colours (black would hide the channel) are filled
    from :data:`PALETTE`, skipping colours other channels already use;
    nuclear stains (DAPI, Hoechst, ...) get blue. One channel alone is white.
    """
    n = len(names)
    given = list(given or [])
    out = [
        tuple(int(v) for v in given[i][:3]) if i < len(given) and given[i] is not None and any(given[i][:3]) else None
        for i in range(n)
    ]
    if n == 1 and out[0] is None:
        return [(255, 255, 255)]
    used = {c for c in out if c is not None}
    for i, name in enumerate(names):
        nuclear = any(k in str(name).lower() + " " for k in _NUCLEAR)
        if out[i] is None and nuclear and PALETTE[0] not in used:
            out[i] = PALETTE[0]
            used.add(PALETTE[0])
    free = [c for c in PALETTE if c not in used] or PALETTE
    j = 0
    for i in range(n):
        if out[i] is None:
            out[i] = free[j % len(free)]
            j += 1
    return out


#: Contrast limits look at no more than this many pixels per Y and X.
_CLIM_WINDOW = 2048


def _central_window(arr, edge: int, axes: str):
    """Cut the central ``edge`` x ``edge`` window of the Y and X dims (lazy)."""
    index = [slice(None)] * arr.ndim
    for d in (axes.index("Y"), axes.index("X")):
        n = int(arr.shape[d])
        if n > edge:
            start = (n - edge) // 2
            index[d] = slice(start, start + edge)
    return arr[tuple(index)]


def contrast_limits_from(level, axes: str) -> list[tuple[float, float]]:
    """Per-channel (min, max) of one (small) level, computed with dask.

    Only a central window of at most 2048 x 2048 pixels is looked at, so a
    file without a pyramid is not read in full. NaNs are ignored.
    """
    import dask.array as da

    arr = _central_window(as_dask(level), _CLIM_WINDOW, axes)
    floats = arr.dtype.kind == "f"
    lo_fn, hi_fn = (da.nanmin, da.nanmax) if floats else (da.min, da.max)
    if "C" in axes and "S" not in axes:
        c = axes.index("C")
        reduce_axes = tuple(i for i in range(arr.ndim) if i != c)
    else:
        reduce_axes = tuple(range(arr.ndim))
    lo, hi = da.compute(lo_fn(arr, axis=reduce_axes), hi_fn(arr, axis=reduce_axes))
    lo, hi = np.atleast_1d(lo), np.atleast_1d(hi)
    out = []
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        a, b = float(a), float(b)
        if not np.isfinite(a) or not np.isfinite(b):
            a, b = 0.0, 1.0
        if b <= a:
            b = a + 1.0
        out.append((a, b))
    return out


def image_to_layer_data(levels: list, metadata: ImageMetadata, *, name: str | None = None) -> list[tuple]:
    """Napari ``LayerData`` for lazy ``levels`` described by ``metadata``.

    Channels become separate layers (``channel_axis``) named and coloured
    from the metadata, blended additively; Z and T stay as slider dims.
    Contrast limits come from ``metadata.contrast_limits`` or the smallest
    level. The OME-XML and the axes are kept in the layer ``metadata``.
    """
    axes = metadata.axes
    title = name or metadata.name or "image"
    if len(axes) != len(levels[0].shape):
        problem = f"axes {axes!r} don't match the data's {len(levels[0].shape)} dimensions"
        raise NapariVivError(problem, subject=title)
    rgb = axes.endswith("S")
    dims = [a for a in axes if a not in "CS"]
    unit = metadata.unit or "µm"
    scale, units = [], []
    for a in dims:
        size = metadata.physical_sizes.get(a.lower()) if a in SPATIAL else None
        if size:
            scale.append(float(size))
            units.append(unit)
        elif a == "T" and metadata.time_increment:
            scale.append(float(metadata.time_increment))
            units.append("second")
        else:
            scale.append(1.0)
            units.append("pixel")
    kwargs: dict[str, Any] = {
        "multiscale": len(levels) > 1,
        "scale": scale,
        "units": units,
        "axis_labels": [a.lower() for a in dims],
        "metadata": {
            "ome_xml": metadata.ome_xml,
            "axes": axes,
            "name": title,  # the image's name, shared by its channel layers
        },
    }
    data = list(levels) if len(levels) > 1 else levels[0]
    clims = metadata.contrast_limits
    if rgb:
        kwargs.update(name=title, rgb=True)
        if np.dtype(levels[0].dtype) == np.uint8:
            kwargs["contrast_limits"] = (0, 255)
        return [(data, kwargs, "image")]

    if "C" not in axes:
        cl = clims[0] if clims else contrast_limits_from(levels[-1], axes)[0]
        names = metadata.channel_names or [title]
        (color,) = channel_colors(names[:1], metadata.channel_colors)
        kwargs.update(
            name=names[0] if names[0] else title,
            colormap=channel_colormap(color, names[0]),
            contrast_limits=cl,
        )
        kwargs.update(_look(metadata, 1, single=True))
        return [(data, kwargs, "image")]

    nc = int(levels[0].shape[axes.index("C")])
    names = list(metadata.channel_names or [])
    names = [names[i] if i < len(names) and names[i] else f"{title} {i}" for i in range(nc)]
    names = _unique(names)
    colors = channel_colors(names, metadata.channel_colors)
    cls = [tuple(c) for c in clims] if clims and len(clims) == nc else contrast_limits_from(levels[-1], axes)
    kwargs["metadata"]["channel_names"] = names
    if nc > MAX_VISIBLE:
        kwargs["visible"] = [i < MAX_VISIBLE for i in range(nc)]
    kwargs.update(_look(metadata, nc))
    kwargs.update(
        channel_axis=axes.index("C"),
        name=names,
        colormap=[channel_colormap(c, n) for c, n in zip(colors, names, strict=True)],
        contrast_limits=[list(c) for c in cls],
        blending="additive" if nc > 1 else "translucent",
    )
    return [(data, kwargs, "image")]


def _look(metadata: ImageMetadata, nc: int, single: bool = False) -> dict:
    """Visibility and gamma per channel, when the file's view file recorded them."""
    out = {}
    vis, gam = metadata.channel_visible, metadata.channel_gamma
    if vis and len(vis) == nc and all(v is not None for v in vis):
        out["visible"] = bool(vis[0]) if single else [bool(v) for v in vis]
    if gam and len(gam) == nc and any(g not in (None, 1) for g in gam):
        gammas = [float(g) if g else 1.0 for g in gam]
        out["gamma"] = gammas[0] if single else gammas
    return out


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n} [{seen[n]}]")
        else:
            seen[n] = 0
            out.append(n)
    return out
