"""OME-NGFF metadata for a planned pyramid: 0.4 (``.zattrs``) or 0.5 (``zarr.json`` attributes).

``multiscales`` names the axes in the plan's canonical order (a subsequence
of t, c, z, y, x, as NGFF requires) with their types and units, and one
dataset per level, ``"0"``, ``"1"``, ..., each with its scale (the pixel
size times 2**level in Y and X: every level is floor(previous / 2)).
``omero`` carries channel labels, colours (``RRGGBB``), windows (the
contrast limits, within the dtype's range) and which channels are active.
A label image (``labels/<name>``) has the same ``multiscales`` and an
``image-label`` block (colours per id, its source image) instead of ``omero``;
the ``labels`` group lists the label images' names.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..errors import NapariVivError
from ..metadata import ImageMetadata, normalize_unit
from .plan import PyramidPlan

#: NGFF version written.
NGFF_VERSION = "0.4"

#: OME length symbols -> the UDUNITS-2 names NGFF requires.
NGFF_LENGTH_UNITS = {
    "\u00b5m": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "pm": "picometer",
    "\u00c5": "angstrom",
}

_AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}

#: Colours of channels given none (as napari's defaults cycle: blue, green, red, ...).
_DEFAULT_COLORS = ("0000FF", "00FF00", "FF0000", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")


def _size(md: ImageMetadata, axis: str) -> float | None:
    sizes = md.physical_sizes or {}
    value = sizes.get(axis, sizes.get(axis.upper()))
    if value is None:
        return None
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise NapariVivError(f"physical size {axis}={value} must be a positive number")
    return value


def _axes(plan: PyramidPlan, md: ImageMetadata) -> tuple[list[dict], list[float]]:
    """NGFF axes and the level-0 scale per axis."""
    try:
        unit = NGFF_LENGTH_UNITS[normalize_unit(md.unit)]
    except ValueError as exc:
        raise NapariVivError(str(exc)) from None
    axes, scale = [], []
    for letter in plan.axes.lower():
        entry = {"name": letter, "type": _AXIS_TYPES[letter]}
        size = _size(md, letter) if letter in "zyx" else None
        if size is not None:
            entry["unit"] = unit
        if letter == "t" and md.time_increment:
            entry["unit"] = "second"
            size = float(md.time_increment)
        axes.append(entry)
        scale.append(size if size is not None else 1.0)
    return axes, scale


def _window(plan: PyramidPlan, limits) -> dict:
    dt = np.dtype(plan.dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        lo, hi = float(info.min), float(info.max)
    else:
        lo, hi = 0.0, 1.0
    start, end = (float(limits[0]), float(limits[1])) if limits is not None else (lo, hi)
    return {"start": start, "end": end, "min": min(lo, start), "max": max(hi, end)}


def _channels(plan: PyramidPlan, md: ImageMetadata) -> list[dict]:
    n = plan.sizes["C"]
    names = list(md.channel_names or [])
    colors = list(md.channel_colors or [])
    limits = list(md.contrast_limits or [])
    visible = list(md.channel_visible or [])
    for what, given in (("names", names), ("colours", colors)):
        if given and len(given) != n:
            raise NapariVivError(f"{len(given)} channel {what} given for {n} channel(s)")
    out = []
    for c in range(n):
        color = colors[c] if c < len(colors) and colors[c] is not None else None
        out.append(
            {
                "label": str(names[c]) if c < len(names) and names[c] else f"Channel {c}",
                "color": "".join(f"{int(v):02X}" for v in color) if color else _DEFAULT_COLORS[c % 7],
                "window": _window(plan, limits[c] if c < len(limits) else None),
                "active": bool(visible[c]) if c < len(visible) and visible[c] is not None else True,
            }
        )
    return out


def ngff_attributes(
    plan: PyramidPlan, metadata: ImageMetadata | None = None, *, name: str = "image", version: str = NGFF_VERSION
) -> dict:
    """Build the attributes of an NGFF image group for ``plan``.

    Parameters
    ----------
    plan : PyramidPlan
        The pyramid written (its axes must not be interleaved RGB).
    metadata : ImageMetadata, optional
        Channel names, colours, contrast limits, visibility, pixel sizes and unit.
    name : str, default "image"
        The image's name when the metadata has none.
    version : {"0.4", "0.5"}, default "0.4"
        The NGFF version.

    Returns
    -------
    dict
        For 0.4 the ``.zattrs``, ``{"multiscales": [...], "omero": {...}}``;
        for 0.5 the ``attributes`` of ``zarr.json``, the same under ``"ome"``.

    Raises
    ------
    NapariVivError
        For channel names or colours that do not match the channels, a bad
        pixel size or an unknown unit.

    Examples
    --------
    >>> from napari_viv.write.plan import plan_pyramid
    >>> attrs = ngff_attributes(plan_pyramid((2, 1000, 1000), "uint8"), name="cells")
    >>> [a["name"] for a in attrs["multiscales"][0]["axes"]], len(attrs["multiscales"][0]["datasets"])
    (['c', 'y', 'x'], 2)
    >>> [c["label"] for c in attrs["omero"]["channels"]]
    ['Channel 0', 'Channel 1']
    """
    md = metadata or ImageMetadata()
    if plan.rgb:
        raise NapariVivError("interleaved RGB has no OME-Zarr layout; plan it as three channels")
    axes, scale = _axes(plan, md)
    datasets = []
    for level in range(plan.nlevels):
        factor = [2.0**level if ax["name"] in "yx" else 1.0 for ax in axes]
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [
                    {"type": "scale", "scale": [s * f for s, f in zip(scale, factor, strict=True)]}
                ],
            }
        )
    title = md.name if md.name else name
    multiscale = {"name": title, "axes": axes, "datasets": datasets}
    omero = {"name": title, "channels": _channels(plan, md), "rdefs": {"model": "color"}}
    if version == "0.5":  # the version is said once, for the whole "ome" block
        return {"ome": {"version": version, "multiscales": [multiscale], "omero": omero}}
    multiscale = {"version": version, **multiscale}
    return {"multiscales": [multiscale], "omero": {"version": version, **omero}}


def label_attributes(
    plan: PyramidPlan,
    metadata: ImageMetadata | None = None,
    *,
    name: str,
    colors: dict | None = None,
    version: str = NGFF_VERSION,
) -> dict:
    """Build the attributes of an NGFF label image (``labels/<name>``) for ``plan``.

    A label image is a multiscale image (the same axes, units and scales as
    :func:`ngff_attributes` gives) with an ``image-label`` block instead of
    ``omero``: one colour per label id, and the image it labels (``source``,
    two groups up: the store's root).

    Parameters
    ----------
    plan : PyramidPlan
        The label pyramid written (integer ids, nearest-neighbour levels).
    metadata : ImageMetadata, optional
        The image's pixel sizes and unit (the labels lie on its pixels).
    name : str
        The label image's name (its group under ``labels/``).
    colors : dict, optional
        ``{label id: (r, g, b, a)}``, 0-255 each.
    version : {"0.4", "0.5"}, default "0.4"
        The NGFF version.

    Returns
    -------
    dict
        For 0.4 the ``.zattrs``; for 0.5 the ``attributes`` of ``zarr.json``
        (under ``"ome"``, which names the version once).

    Examples
    --------
    >>> from napari_viv.write.plan import plan_pyramid
    >>> attrs = label_attributes(plan_pyramid((64, 64), "uint8"), name="cells", colors={3: (255, 0, 0, 255)})
    >>> attrs["image-label"]["colors"], attrs["image-label"]["source"], "omero" in attrs
    ([{'label-value': 3, 'rgba': [255, 0, 0, 255]}], {'image': '../../'}, False)
    >>> sorted(label_attributes(plan_pyramid((64, 64), "uint8"), name="cells", version="0.5")["ome"])
    ['image-label', 'multiscales', 'version']
    """
    md = replace(metadata) if metadata is not None else ImageMetadata()
    md.name, md.channel_names, md.channel_colors = name, None, None
    md.contrast_limits = md.channel_visible = None
    attrs = ngff_attributes(plan, md, name=name, version=version)
    ome = attrs["ome"] if version == "0.5" else attrs
    del ome["omero"]
    label: dict = {"colors": [{"label-value": int(k), "rgba": [int(v) for v in c]} for k, c in (colors or {}).items()]}
    label["source"] = {"image": "../../"}
    ome["image-label"] = label if version == "0.5" else {"version": version, **label}
    return attrs


def labels_group_attributes(names: list[str], version: str = NGFF_VERSION) -> dict:
    """Build the attributes of a store's ``labels`` group: the names of its label images.

    Examples
    --------
    >>> labels_group_attributes(["cells"]), labels_group_attributes(["cells"], "0.5")
    ({'labels': ['cells']}, {'ome': {'version': '0.5', 'labels': ['cells']}})
    """
    if version == "0.5":
        return {"ome": {"version": version, "labels": list(names)}}
    return {"labels": list(names)}
