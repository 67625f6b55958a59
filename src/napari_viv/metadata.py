"""The metadata that travels with an image through napari-viv.

One small dataclass is shared by every stage: a source file or a napari
layer is turned into an array plus an :class:`ImageMetadata`, the writer
turns both into OME-XML, and the reader turns OME-XML back into one.
Length units are OME's symbols (:func:`normalize_unit`); physical sizes
are kept in one unit (:func:`set_physical_sizes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: The OME symbol for micrometre uses U+00B5 MICRO SIGN; Viv rejects others.
MICROMETRE = "\u00b5m"

# Spellings users type for a length unit, mapped to the exact OME symbol.
_UNIT_ALIASES = {
    "um": MICROMETRE,
    "\u03bcm": MICROMETRE,  # Greek small letter mu
    "\u00b5m": MICROMETRE,
    "micron": MICROMETRE,
    "microns": MICROMETRE,
    "micrometer": MICROMETRE,
    "micrometre": MICROMETRE,
    "nm": "nm",
    "nanometer": "nm",
    "nanometre": "nm",
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "m": "m",
    "meter": "m",
    "pm": "pm",
    "picometer": "pm",
    "\u00c5": "\u00c5",
    "angstrom": "\u00c5",
}


# Length units in metres, to bring Y and Z to the unit of X.
_UNIT_METRES = {
    "\u00c5": 1e-10,
    "pm": 1e-12,
    "nm": 1e-9,
    MICROMETRE: 1e-6,
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
}


def normalize_unit(unit: str | None) -> str:
    """Return the OME length-unit symbol for ``unit`` (default micrometre).

    Parameters
    ----------
    unit : str or None
        A spelling users type ("um", "micron", "nm", ...); None or "" for micrometre.

    Returns
    -------
    str
        The exact OME symbol (micrometre is U+00B5 MICRO SIGN + "m").

    Raises
    ------
    ValueError
        For a unit OME has no symbol for.

    Examples
    --------
    >>> normalize_unit("um") == "\u00b5m", normalize_unit("nanometre")
    (True, 'nm')
    """
    if unit is None or unit == "":
        return MICROMETRE
    key = str(unit).strip()
    found = _UNIT_ALIASES.get(key) or _UNIT_ALIASES.get(key.lower())
    if found is None:
        raise ValueError(f"unknown length unit {unit!r}; use one of um, nm, mm, cm, m")
    return found


Color = tuple[int, int, int]


@dataclass
class ImageMetadata:
    """What napari-viv knows about an image besides its pixels.

    ``axes`` uses the letters T, C, Z, Y, X and S (RGB samples), outermost
    first, and has one letter per array dimension. Physical sizes are per
    axis (``"x"``, ``"y"``, ``"z"``) in ``unit``; ``None`` means unknown.
    Channel colours are ``(r, g, b)`` with 0-255 ints.
    """

    axes: str = ""
    name: str | None = None
    channel_names: list[str] | None = None
    channel_colors: list[Color | None] | None = None
    physical_sizes: dict[str, float] = field(default_factory=dict)
    unit: str = MICROMETRE
    time_increment: float | None = None
    #: Contrast limits per channel, when known (kept for round trips).
    contrast_limits: list[tuple[float, float]] | None = None
    #: Whether each channel is shown, when known (napari layer visibility).
    channel_visible: list[bool] | None = None
    #: Display gamma per channel, when set (None or 1 for linear).
    channel_gamma: list[float | None] | None = None
    #: Starting view in level-0 pixels: ``{"center": (x, y), "extent": (w, h)}`` (the visible
    #: field, fitted into any window) and/or ``"zoom"`` (deck.gl's log2 scale).
    camera: dict | None = None
    #: The original OME-XML, when the image came from an OME-TIFF.
    ome_xml: str | None = None


def set_physical_sizes(meta: ImageMetadata, sizes: dict) -> None:
    """Store ``{axis: (value, unit)}`` in ``meta``, all in the unit of X (or the first known).

    Sizes in units OME has no symbol for, or that are not positive finite
    numbers, are left out.

    Parameters
    ----------
    meta : ImageMetadata
        Updated in place: ``physical_sizes`` and ``unit``.
    sizes : dict
        ``{"x" | "y" | "z": (value, unit)}``.

    Examples
    --------
    >>> md = ImageMetadata()
    >>> set_physical_sizes(md, {"x": (0.5, "um"), "z": (2.0, "nm")})
    >>> md.physical_sizes
    {'x': 0.5, 'z': 0.002}
    """
    parsed = {}
    for axis, (value, unit) in sizes.items():
        try:
            unit = normalize_unit(unit)
        except ValueError:
            continue
        if value > 0 and math.isfinite(value):
            parsed[axis] = (float(value), unit)
    if not parsed:
        return
    target = parsed.get("x", next(iter(parsed.values())))[1]
    meta.unit = target
    for axis, (value, unit) in parsed.items():
        if unit != target:
            value = value * _UNIT_METRES[unit] / _UNIT_METRES[target]
        meta.physical_sizes[axis] = value
