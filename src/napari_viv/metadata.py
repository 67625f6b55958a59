"""The metadata that travels with an image through napari-viv.

One small dataclass is shared by every stage: a source file or a napari
layer is turned into an array plus an :class:`ImageMetadata`, the writer
turns both into OME-XML, and the reader turns OME-XML back into one.
"""

from __future__ import annotations

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


def normalize_unit(unit: str | None) -> str:
    """Return the OME length-unit symbol for ``unit`` (default micrometre).

    Raises ValueError for a unit OME has no symbol for.
    """
    if unit is None or unit == "":
        return MICROMETRE
    key = str(unit).strip()
    found = _UNIT_ALIASES.get(key) or _UNIT_ALIASES.get(key.lower())
    if found is None:
        raise ValueError(
            f"unknown length unit {unit!r}; use one of um, nm, mm, cm, m"
        )
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


def color_to_int(rgb) -> int:
    """``(r, g, b)`` (0-255) -> OME signed 32-bit RGBA integer, alpha 255."""
    r, g, b = (int(v) for v in rgb)
    for v in (r, g, b):
        if not 0 <= v <= 255:
            raise ValueError(f"colour component {v} outside 0..255")
    value = (r << 24) | (g << 16) | (b << 8) | 255
    return value - (1 << 32) if value >= 1 << 31 else value


def int_to_color(value: int) -> tuple[int, int, int]:
    """The inverse of :func:`color_to_int` (alpha dropped)."""
    value &= 0xFFFFFFFF
    return (value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255


# -- reading OME-XML: the rules read and check share -----------------------------------


def local_name(tag: str) -> str:
    """An XML element's tag without its namespace: ``{ns}Image`` -> ``Image``."""
    return tag.rsplit("}", 1)[-1]


def binary_only_metadata_file(description: str) -> str | None:
    """The ``MetadataFile`` a BinaryOnly OME-XML (a multi-file set's member) names, else None."""
    import xml.etree.ElementTree as ET

    if "BinaryOnly" not in description:
        return None
    try:
        root = ET.fromstring(description.encode("utf-8"))
    except ET.ParseError:
        return None
    for el in root.iter():
        if local_name(el.tag) == "BinaryOnly" and el.get("MetadataFile"):
            return el.get("MetadataFile")
    return None
