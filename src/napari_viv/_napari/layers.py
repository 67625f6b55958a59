"""Translate selected napari image layers into napari-viv's (levels, metadata).

The layers (as ``Layer`` objects or as the ``(data, meta, layer_type)``
tuples a writer receives) become the channels of one image, in the given
order::

    layer name      -> channel name
    colormap        -> channel colour (the colormap's brightest colour)
    scale + units   -> physical pixel size (pint units -> OME symbols); a
                       scale other than 1 with napari's default unit
                       "pixel" is taken as µm (``ExportInput.assumed_um``)
    axis_labels     -> OME axes (t/c/z/y/x; napari's default labels fall
                       back to position: ...ZYX)

The way back, file to layers, is :func:`.reader.image_to_layer_data`.

Multiscale layer data are never converted to one array: levels are passed
on as a list (level 0 first), stacked lazily with dask when the channels
come from several layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..axes import CANONICAL, canonical_order, napari_axes
from ..errors import NapariVivError
from ..metadata import ImageMetadata
from .channels import as_dask, colormap_color, common_dtype
from .units import assumed_um_note, physical_sizes


@dataclass
class ExportInput:
    """What :func:`napari_viv.write.writer.export_pyramid` needs for some layers.

    ``levels`` are lazy (or in-memory) arrays in ``metadata.axes`` order,
    level 0 first; more than one only when every layer brought the same
    pyramid. ``data`` is what to pass to ``export_pyramid``.
    """

    levels: list
    metadata: ImageMetadata
    layer_names: list[str] = field(default_factory=list)
    #: Layers whose scale had no units (napari's "pixel"), written as µm.
    assumed_um: list[str] = field(default_factory=list)

    @property
    def unit_note(self) -> str | None:
        """The sentence telling the user about :attr:`assumed_um`, or None."""
        return assumed_um_note(self.assumed_um)

    def __post_init__(self) -> None:
        # a plain list whatever napari handed over (its MultiScaleData is not
        # one): the writer takes a list of levels as a multiscale image
        self.levels = list(self.levels)

    @property
    def data(self):
        """What to export: the plain list of levels (level 0 first), or level 0 alone."""
        return list(self.levels) if len(self.levels) > 1 else self.levels[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """Level 0's shape."""
        return tuple(int(n) for n in self.levels[0].shape)

    @property
    def dtype(self) -> np.dtype:
        """Level 0's pixel type."""
        return np.dtype(self.levels[0].dtype)

    def export_kwargs(self) -> dict:
        """Keyword arguments for ``export_pyramid`` (besides data and path)."""
        return {"axes": self.metadata.axes, "metadata": self.metadata}


@dataclass
class _Layer:
    """One image layer, reduced to what the export needs."""

    name: str
    levels: list
    axes: str  # one letter per dim of levels[0]
    rgb: bool
    color: tuple[int, int, int] | None
    sizes: dict[str, float]  # physical size per axis letter (x/y/z)
    unit: str | None  # OME symbol shared by ``sizes``
    time_increment: float | None
    contrast_limits: tuple[float, float] | None
    visible: bool
    gamma: float
    ome_xml: str | None
    channel_names: list[str] | None  # stashed by our reader, if any
    grid: tuple  # (scale, translate) as napari places the layer
    assumed_um: bool = False  # scale without units, taken as µm

    @property
    def shape0(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.levels[0].shape)


def layers_to_export(layer_data: Sequence[tuple], *, keep_levels: bool = True) -> ExportInput:
    """Turn writer ``LayerData`` tuples into one export.

    Raises :class:`NapariVivError` naming the offending layers when the
    layers can't be channels of one image (not images, different shapes,
    scales or units, RGB mixed with others, dtypes that don't combine
    losslessly). With ``keep_levels=False`` only level 0 is passed on, so
    the writer regenerates the pyramid.
    """
    if not layer_data:
        raise NapariVivError("no image layers to save; select one or more")
    parsed = []
    not_images = []
    for i, item in enumerate(layer_data):
        data, meta, ltype = _unpack(item)
        name = str(meta.get("name") or f"layer {i}")
        if ltype != "image":
            not_images.append(f"{name!r} ({ltype})")
            continue
        parsed.append(_parse_layer(data, meta, name))
    if not_images:
        raise NapariVivError(
            f"only image layers can be saved as OME-TIFF channels; not an image: {', '.join(not_images)}"
        )
    return _combine(parsed, keep_levels=keep_levels)


def layer_objects_to_export(layers: Sequence[Any], **kwargs) -> ExportInput:
    """Like :func:`layers_to_export` for napari ``Layer`` objects."""
    return layers_to_export([layer.as_layer_data_tuple() for layer in layers], **kwargs)


def _unpack(item) -> tuple[Any, dict, str]:
    if len(item) == 1:
        return item[0], {}, "image"
    if len(item) == 2:
        return item[0], dict(item[1] or {}), "image"
    return item[0], dict(item[1] or {}), str(item[2])


def _levels_of(data, multiscale: bool) -> list:
    if multiscale or isinstance(data, (list, tuple)):
        # MultiScaleData and lists: index level by level, never as one array
        return [data[i] for i in range(len(data))]
    return [data]


def _parse_layer(data, meta: dict, name: str) -> _Layer:
    levels = _levels_of(data, bool(meta.get("multiscale", False)))
    level0 = levels[0]
    ndim = len(level0.shape)
    rgb = bool(meta.get("rgb", False))
    if rgb and (ndim < 3 or level0.shape[-1] not in (3, 4)):
        rgb = False
    spatial_ndim = ndim - 1 if rgb else ndim
    if spatial_ndim < 2:
        raise NapariVivError(
            f"has {spatial_ndim} dimension(s); an image needs at least Y and X", subject=f"layer {name!r}"
        )
    axes = _axes_from_labels(meta.get("axis_labels"), spatial_ndim, name)
    if rgb:
        axes += "S"

    scale = list(meta.get("scale") or [1.0] * spatial_ndim)
    units = list(meta.get("units") or ["pixel"] * spatial_ndim)
    if len(scale) != spatial_ndim or len(units) != spatial_ndim:
        scale = (scale + [1.0] * spatial_ndim)[-spatial_ndim:]
        units = (units + ["pixel"] * spatial_ndim)[-spatial_ndim:]
    physical = physical_sizes(axes[:spatial_ndim], scale, units, name)

    translate = list(meta.get("translate") or [0.0] * spatial_ndim)
    grid = (
        tuple(round(float(v), 9) for v in scale),
        tuple(round(float(v), 9) for v in translate),
    )
    md = meta.get("metadata") or {}
    clim = meta.get("contrast_limits")
    return _Layer(
        name=name,
        levels=levels,
        axes=axes,
        rgb=rgb,
        color=None if rgb else colormap_color(meta.get("colormap")),
        sizes=physical.sizes,
        unit=physical.unit,
        time_increment=physical.time_increment,
        contrast_limits=tuple(float(v) for v in clim) if clim else None,
        visible=bool(meta.get("visible", True)),
        gamma=float(meta.get("gamma", 1.0) or 1.0),
        ome_xml=md.get("ome_xml") if isinstance(md, dict) else None,
        channel_names=(list(md["channel_names"]) if isinstance(md, dict) and md.get("channel_names") else None),
        grid=grid,
        assumed_um=physical.assumed_um,
    )


#: Axis labels understood (lowercased) and the OME axis each names.
_LABELS = {
    "t": "T",
    "time": "T",
    "c": "C",
    "channel": "C",
    "channels": "C",
    "z": "Z",
    "depth": "Z",
    "plane": "Z",
    "y": "Y",
    "row": "Y",
    "rows": "Y",
    "x": "X",
    "col": "X",
    "column": "X",
    "columns": "X",
}


def _axes_from_labels(labels, ndim: int, name: str) -> str:
    """OME axes for a layer's dims: from its labels, else by position."""
    letters = []
    if labels is not None and len(labels) == ndim:
        for lab in labels:
            letter = _LABELS.get(str(lab).strip().lower())
            if letter is None:
                letters = []
                break
            letters.append(letter)
    if letters:
        if len(set(letters)) != ndim:
            raise NapariVivError(f"layer {name!r} has repeated axis labels {tuple(labels)}")
        if "Y" not in letters or "X" not in letters:
            raise NapariVivError(f"layer {name!r}: axis labels {tuple(labels)} name no y and x axes")
        return "".join(letters)
    # napari's default labels ('-3', '-2', '-1') or anything else: position
    if ndim > len(CANONICAL):
        raise NapariVivError(
            f"layer {name!r} has {ndim} dimensions; OME-TIFF has at most 5 "
            "(t, c, z, y, x) — set axis labels or reduce the data"
        )
    return napari_axes(ndim)


def _combine(layers: list[_Layer], *, keep_levels: bool) -> ExportInput:
    names = [lay.name for lay in layers]
    if any(lay.rgb for lay in layers):
        if len(layers) > 1:
            rgb = [lay.name for lay in layers if lay.rgb]
            raise NapariVivError(
                f"RGB layer {', '.join(map(repr, rgb))} can only be saved on "
                "its own; select it alone (or split it into channels)"
            )
        return _single_rgb(layers[0], keep_levels)
    if len(layers) == 1:
        return _single(layers[0], keep_levels)
    for lay in layers:
        if "C" in lay.axes:
            raise NapariVivError(
                "already has a channel axis; save it on its own or split it into one layer per channel",
                subject=f"layer {lay.name!r}",
            )
    _check_same(layers, lambda lay: lay.axes, "axes (axis labels)")
    _check_same(layers, lambda lay: lay.shape0, "shapes")
    _check_same(
        layers,
        lambda lay: tuple(sorted((k, round(v, 9)) for k, v in lay.sizes.items())),
        "pixel sizes (scale)",
    )
    _check_same(layers, lambda lay: lay.unit, "units")
    _check_same(layers, lambda lay: lay.grid, "scale and translate")
    dtype = common_dtype(layers)

    import dask.array as da

    nlev = 1
    if keep_levels:
        counts = {len(lay.levels) for lay in layers}
        shapes = {tuple(tuple(lv.shape) for lv in lay.levels) for lay in layers}
        if len(counts) == 1 and len(shapes) == 1:
            nlev = counts.pop()
    levels = []
    for i in range(nlev):
        parts = [as_dask(lay.levels[i], dtype) for lay in layers]
        levels.append(da.stack(parts, axis=0))
    levels, axes = _canonical(levels, "C" + layers[0].axes)

    first = layers[0]
    md = ImageMetadata(
        axes=axes,
        name=None,
        channel_names=names,
        channel_colors=[lay.color for lay in layers],
        physical_sizes=dict(first.sizes),
        time_increment=first.time_increment,
        contrast_limits=_clims(layers),
        channel_visible=[lay.visible for lay in layers],
        channel_gamma=[lay.gamma for lay in layers],
        ome_xml=_shared(lay.ome_xml for lay in layers),
    )
    if first.unit:
        md.unit = first.unit
    return ExportInput(levels, md, names, _assumed(layers))


def _single(lay: _Layer, keep_levels: bool) -> ExportInput:
    levels = lay.levels if keep_levels else lay.levels[:1]
    levels, order = _canonical(levels, lay.axes)
    if "C" in order:
        n = int(lay.shape0[lay.axes.index("C")])
        if lay.channel_names and len(lay.channel_names) == n:
            cnames = list(lay.channel_names)
        else:
            cnames = [f"{lay.name} {i}" for i in range(n)]
        colors = [None] * n
        clims = None
    else:
        cnames, colors = [lay.name], [lay.color]
        clims = [lay.contrast_limits] if lay.contrast_limits else None
    md = ImageMetadata(
        axes=order,
        name=lay.name,
        channel_names=cnames,
        channel_colors=colors,
        physical_sizes=dict(lay.sizes),
        time_increment=lay.time_increment,
        contrast_limits=clims,
        channel_visible=None if "C" in order or lay.rgb else [lay.visible],
        channel_gamma=None if "C" in order or lay.rgb else [lay.gamma],
        ome_xml=lay.ome_xml,
    )
    if lay.unit:
        md.unit = lay.unit
    return ExportInput(list(levels), md, [lay.name], _assumed([lay]))


def _single_rgb(lay: _Layer, keep_levels: bool) -> ExportInput:
    level0 = lay.levels[0]
    if np.dtype(level0.dtype) != np.uint8 and level0.shape[-1] == 3 and lay.axes == "YXS":
        # the scene hook: 16-bit, 12-bit or float RGB -> three channels, red, green and blue
        from .scene import rgb_as_channels

        return rgb_as_channels(lay, keep_levels, _assumed([lay]))
    if np.dtype(level0.dtype) != np.uint8 or level0.shape[-1] != 3:
        raise NapariVivError(
            f"is {np.dtype(level0.dtype)} with {level0.shape[-1]} samples; Viv shows only 8-bit RGB "
            "(3 samples) — turn off 'rgb' to save its samples as channels",
            subject=f"RGB layer {lay.name!r}",
        )
    if lay.axes != "YXS":
        raise NapariVivError(
            f"has extra dimensions ({len(level0.shape)}D); Viv RGB images are 2D only",
            subject=f"RGB layer {lay.name!r}",
        )
    md = ImageMetadata(
        axes="YXS",
        name=lay.name,
        channel_names=[lay.name],
        channel_colors=None,
        physical_sizes=dict(lay.sizes),
        ome_xml=lay.ome_xml,
    )
    if lay.unit:
        md.unit = lay.unit
    levels = lay.levels if keep_levels else lay.levels[:1]
    return ExportInput(list(levels), md, [lay.name], _assumed([lay]))


def _assumed(layers) -> list[str]:
    return [lay.name for lay in layers if lay.assumed_um]


def _canonical(levels: list, axes: str) -> tuple[list, str]:
    """``levels`` transposed (lazily) to TCZYX order, and that order."""
    order = canonical_order(axes)
    if order == axes:
        return list(levels), axes
    import dask.array as da

    perm = [axes.index(a) for a in order]
    return [da.transpose(as_dask(lv), perm) for lv in levels], order


def _check_same(layers, key, what: str) -> None:
    values = [key(lay) for lay in layers]
    if all(v == values[0] for v in values):
        return
    groups: dict = {}
    for lay, v in zip(layers, values, strict=True):
        groups.setdefault(repr(v), []).append(lay.name)
    desc = "; ".join(f"{', '.join(map(repr, ns))}: {v}" for v, ns in groups.items())
    raise NapariVivError(f"layers to save as channels of one image must have the same {what}: {desc}")


def _clims(layers) -> list[tuple[float, float]] | None:
    values = [lay.contrast_limits for lay in layers]
    return values if all(v is not None for v in values) else None


def _shared(values):
    values = list(values)
    return values[0] if values and all(v == values[0] for v in values) else None
