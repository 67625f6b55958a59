"""What OME-XML spells and how: namespace, pixel types, orders, units, colours.

The facts every OME-XML reader, writer and check in napari-viv shares, each
defined here once.
"""

from __future__ import annotations

OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: numpy dtype name -> (OME pixel ``Type``, TIFF SampleFormat, BitsPerSample),
#: for the pixel types Viv decodes.
PIXEL_TYPES = {
    "uint8": ("uint8", 1, 8),
    "uint16": ("uint16", 1, 16),
    "uint32": ("uint32", 1, 32),
    "int8": ("int8", 2, 8),
    "int16": ("int16", 2, 16),
    "int32": ("int32", 2, 32),
    "float32": ("float", 3, 32),
    "float64": ("double", 3, 64),
}
#: numpy dtype name -> OME pixel ``Type``.
OME_TYPE_OF_DTYPE = {name: ome for name, (ome, _, _) in PIXEL_TYPES.items()}
#: OME pixel ``Type`` -> the TIFF (SampleFormat, BitsPerSample) that stores it.
TIFF_SAMPLES_OF_TYPE = {ome: (fmt, bits) for ome, fmt, bits in PIXEL_TYPES.values()}
#: OME pixel types in the schema that Viv cannot decode.
SCHEMA_ONLY_TYPES = ("bit", "complex", "double-complex")

#: The DimensionOrder values OME allows (X and Y first, fastest first).
DIMENSION_ORDERS = ("XYZCT", "XYZTC", "XYCTZ", "XYCZT", "XYTCZ", "XYTZC")
#: The order napari-viv writes: Z fastest, then C, then T (planes in TCZ order).
WRITTEN_ORDER = "XYZCT"

#: OME length-unit symbols as Viv's schema lists them (micrometre is U+00B5).
OME_UNITS = [
    "Ym",
    "Zm",
    "Em",
    "Pm",
    "Tm",
    "Gm",
    "Mm",
    "km",
    "hm",
    "dam",
    "m",
    "dm",
    "cm",
    "mm",
    "µm",
    "nm",
    "pm",
    "fm",
    "am",
    "zm",
    "ym",
    "Å",
    "thou",
    "li",
    "in",
    "ft",
    "yd",
    "mi",
    "ua",
    "ly",
    "pc",
    "pt",
    "pixel",
] + ["reference frame"]


def color_to_int(rgb) -> int:
    """Turn ``(r, g, b)`` (0-255) into OME's signed 32-bit RGBA integer, alpha 255.

    Parameters
    ----------
    rgb : sequence of 3 ints
        Red, green and blue, each 0 to 255.

    Returns
    -------
    int
        The ``Channel/@Color`` value.

    Raises
    ------
    ValueError
        For a component outside 0..255.

    Examples
    --------
    >>> color_to_int((255, 0, 0))
    -16776961
    """
    r, g, b = (int(v) for v in rgb)
    for v in (r, g, b):
        if not 0 <= v <= 255:
            raise ValueError(f"colour component {v} outside 0..255")
    value = (r << 24) | (g << 16) | (b << 8) | 255
    return value - (1 << 32) if value >= 1 << 31 else value


def int_to_color(value: int) -> tuple[int, int, int]:
    """Turn an OME ``Channel/@Color`` integer into ``(r, g, b)`` (alpha dropped).

    Parameters
    ----------
    value : int
        Signed or unsigned 32-bit RGBA.

    Returns
    -------
    tuple of int
        ``(r, g, b)``, the inverse of :func:`color_to_int`.

    Examples
    --------
    >>> int_to_color(-16776961)
    (255, 0, 0)
    """
    value &= 0xFFFFFFFF
    return (value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255


def local_name(tag: str) -> str:
    """Return an XML element's tag without its namespace.

    Parameters
    ----------
    tag : str
        An :mod:`xml.etree` tag, ``{namespace}Name`` or ``Name``.

    Returns
    -------
    str
        ``Name``.

    Examples
    --------
    >>> local_name("{http://www.openmicroscopy.org/Schemas/OME/2016-06}Image")
    'Image'
    """
    return tag.rsplit("}", 1)[-1]
