"""Axes and dtype rules: what an input array becomes in a Viv OME-TIFF.

Axes use the letters T, C, Z, Y, X and S (RGB samples), outermost first.
The written layout is either a subsequence of ``TCZYX`` (planes in OME
``DimensionOrder="XYZCT"``) or ``YXS`` for interleaved uint8 RGB.

Defaults when ``axes`` is None: :data:`napari_viv.axes.ARRAY_AXES_BY_NDIM`
(``YX``, ``CYX``, ``CZYX``, ``TCZYX``), and ``YXS`` by
:func:`napari_viv.axes.array_is_rgb` (3 samples last, uint8).

RGB rule: an ``S`` axis is written as interleaved RGB only when it has 3
samples, the dtype (after conversion) is uint8 and every other axis apart
from Y and X has size 1. Any other ``S`` axis (RGBA, 16-bit or float RGB,
RGB time series) is written as ordinary channels, i.e. treated as ``C``;
if the input also has a ``C`` axis longer than 1 it is refused.

Dtype rule (see :data:`DTYPE_RULES`): Viv reads uint8/16/32, int8/16/32,
float32 and float64 as they are; ``bool`` becomes uint8 0/255, ``float16``
becomes float32; 64-bit integers and complex numbers are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..axes import CANONICAL, RGB_AXES, array_axes, canonical_order
from ..errors import NapariVivError

#: dtypes written as they are (native little-endian).
WRITTEN_AS_IS = ("uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64")

#: dtype conversions: input kind -> (written dtype, what happens to values).
DTYPE_RULES = {
    "bool": ("uint8", "False -> 0, True -> 255 (visible with any 8-bit contrast)"),
    "float16": ("float32", "exact (every float16 is a float32)"),
}


def default_axes(shape, dtype) -> str:
    """Return the axes assumed for an array of ``shape``/``dtype`` given none (see :mod:`napari_viv.axes`)."""
    try:
        return array_axes(tuple(shape), dtype)
    except ValueError:
        raise NapariVivError(
            f"cannot guess axes for a {len(shape)}-D array of shape {tuple(shape)}; "
            f"pass axes (letters from {CANONICAL}, or {RGB_AXES} for RGB)"
        ) from None


def output_dtype(dtype) -> np.dtype:
    """Return the dtype written for input ``dtype`` (little-endian)."""
    dt = np.dtype(dtype)
    name = dt.newbyteorder("=").name if dt.byteorder not in "=|" else dt.name
    if name in WRITTEN_AS_IS:
        return np.dtype(name).newbyteorder("<")
    if name in DTYPE_RULES:
        return np.dtype(DTYPE_RULES[name][0]).newbyteorder("<")
    if name in ("int64", "uint64"):
        raise NapariVivError(
            f"{name} pixels are not supported by Viv; convert to "
            f"{name[:-2]}32 if the values fit, or to float64, before exporting"
        )
    raise NapariVivError(f"pixel type {dt} is not supported by Viv (use uint8/16/32, int8/16/32, float32 or float64)")


def convert_band(band: np.ndarray, written: np.dtype) -> np.ndarray:
    """Apply the dtype rule to a band read from the source."""
    if band.dtype == np.bool_:
        return band.view(np.uint8) * np.uint8(255)
    if band.dtype != written:
        return band.astype(written)
    return band


@dataclass(frozen=True)
class Layout:
    """How to read planes of the source and what the file will say.

    ``axes``/``shape`` are the written (canonical) layout; ``source_axes``
    is the input's own axis order (with ``S`` possibly renamed ``C``).
    """

    axes: str
    shape: tuple[int, ...]
    source_axes: str
    source_shape: tuple[int, ...]

    @property
    def rgb(self) -> bool:
        """Whether the layout is interleaved RGB (``YXS``)."""
        return self.axes == RGB_AXES

    @property
    def plane_axes(self) -> str:
        """The non-YX canonical axes, iterated outermost first."""
        return "" if self.rgb else self.axes[:-2]

    def plane_index(self, plane: dict[str, int], rows: slice, cols: slice = slice(None)) -> tuple:
        """Index into the source for one plane and a block of rows and columns."""
        idx: list[int | slice] = []
        for ax in self.source_axes:
            if ax == "Y":
                idx.append(rows)
            elif ax == "X":
                idx.append(cols)
            elif ax == "S":
                idx.append(slice(None))
            else:
                idx.append(plane.get(ax, 0))
        return tuple(idx)

    def band_order(self) -> tuple[int, ...]:
        """Transpose taking an indexed band to (Y, X[, S])."""
        kept = [ax for ax in self.source_axes if ax in "YXS"]
        return tuple(kept.index(ax) for ax in ("Y", "X", "S") if ax in kept)


def resolve_layout(shape, dtype, axes=None, *, what: str | None = None, interleave: bool = True) -> Layout:
    """Validate ``axes`` for ``shape`` and return the written layout.

    Errors are about ``what`` (the image), when given. With ``interleave``
    false (a format without interleaved RGB, such as OME-Zarr) an RGB ``S``
    axis is written as three channels.
    """
    try:
        return _resolve(shape, dtype, axes, interleave)
    except NapariVivError as exc:
        raise (exc.about(what) if what and not exc.subject else exc) from None


def _resolve(shape, dtype, axes, interleave: bool = True) -> Layout:
    shape = tuple(int(n) for n in shape)
    if axes is None:
        axes = default_axes(shape, dtype)
    axes = str(axes).upper()
    if len(axes) != len(shape):
        raise NapariVivError(f"axes {axes!r} do not match its {len(shape)}-D shape {shape}")
    bad = sorted(set(axes) - set("TCZYXS"))
    if bad:
        raise NapariVivError(f"unknown axis letter(s) {''.join(bad)!r} in {axes!r}; use T, C, Z, Y, X, S")
    if len(set(axes)) != len(axes):
        raise NapariVivError(f"repeated axis letter in {axes!r}")
    if "Y" not in axes or "X" not in axes:
        raise NapariVivError(f"axes {axes!r} must include Y and X")
    sizes = dict(zip(axes, shape, strict=True))
    if any(n == 0 for n in shape):
        raise NapariVivError(f"empty array of shape {shape}")

    if "S" in axes:
        written = output_dtype(dtype)
        others = [ax for ax in axes if ax not in "YXS" and sizes[ax] > 1]
        if interleave and sizes["S"] == 3 and written == np.uint8 and not others:
            return Layout(RGB_AXES, (sizes["Y"], sizes["X"], 3), axes, shape)
        if sizes.get("C", 1) > 1:
            raise NapariVivError(f"has both a C axis and a {sizes['S']}-sample S axis; merge them into one C axis")
        if "C" in axes:  # a size-1 C axis: index it away, S takes its role
            axes = axes.replace("C", "_")
        axes = axes.replace("S", "C")
    canon = canonical_order(axes)
    sizes = dict(zip(axes, shape, strict=True))
    out_shape = tuple(sizes[ax] for ax in canon)
    return Layout(canon, out_shape, axes, shape)


#: The look of an RGB image written as three channels (16-bit, 12-bit or float RGB).
RGB_CHANNEL_NAMES = ("Red", "Green", "Blue")
RGB_CHANNEL_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def rgb_channel_look(md, source_axes: str | None, source_shape, layout: Layout):
    """Name and colour the channels of an RGB input that is not written as interleaved RGB.

    Viv shows interleaved RGB only for 8-bit data; a 3-sample ``S`` axis of any
    other type becomes three channels (the RGB rule above). So that they still
    look red, green and blue, and not like grey "Channel 0-2", the names and
    colours the metadata lacks are filled in.

    Parameters
    ----------
    md : ImageMetadata
        The export's metadata; not modified.
    source_axes : str or None
        The input's axes as given (``None``: no ``S`` axis was named).
    source_shape : tuple of int
        The input's shape.
    layout : Layout
        The resolved layout.

    Returns
    -------
    ImageMetadata
        ``md``, or a copy with ``channel_names`` / ``channel_colors`` filled in.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_viv.metadata import ImageMetadata
    >>> lay = resolve_layout((64, 64, 3), np.uint16, "YXS")
    >>> rgb_channel_look(ImageMetadata(), "YXS", (64, 64, 3), lay).channel_colors
    [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    """
    from dataclasses import replace

    if not source_axes or "S" not in source_axes or layout.rgb:
        return md
    if source_shape[source_axes.index("S")] != 3:
        return md
    out = replace(md)
    if not md.channel_names or len(md.channel_names) != 3:
        out.channel_names = list(RGB_CHANNEL_NAMES)
    if not md.channel_colors or all(c is None for c in md.channel_colors):
        out.channel_colors = list(RGB_CHANNEL_COLORS)
    return out
