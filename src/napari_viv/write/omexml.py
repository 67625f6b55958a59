"""OME-XML for a planned pyramid, in the form Viv's strict parser accepts.

Default namespace (no prefixes), lowercase pixel ``Type``, IDs on Image,
Pixels and Channel, ``µm`` as U+00B5, ``Channel/@Color`` as a signed 32-bit
RGBA integer, ``DimensionOrder="XYZCT"`` and one ``TiffData``. Built with
:mod:`xml.etree` so names with ``<&"'`` or any Unicode are escaped properly;
returned as UTF-8 bytes (tifffile needs bytes for non-ASCII text).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from ..errors import NapariVivError
from ..metadata import ImageMetadata, color_to_int, normalize_unit
from .plan import PyramidPlan

OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: numpy dtype name -> OME pixel Type.
OME_TYPES = {
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
    "int8": "int8", "int16": "int16", "int32": "int32",
    "float32": "float", "float64": "double",
}


# Characters XML 1.0 cannot contain at all (even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value) -> str:
    """``value`` as text that XML can carry (invalid characters dropped)."""
    return _NOT_XML.sub("", str(value))


def _fmt(x: float) -> str:
    return repr(float(x))


def build_ome_xml(plan: PyramidPlan, metadata: ImageMetadata | None = None,
                  *, name: str | None = None, what: str = "image") -> bytes:
    """UTF-8 OME-XML describing ``plan``; ``metadata`` supplies names etc."""
    md = metadata or ImageMetadata()
    sizes = plan.sizes
    nchan = 1 if plan.rgb else sizes["C"]
    image_name = md.name if md.name is not None else name

    names = list(md.channel_names) if md.channel_names else None
    if names is not None and len(names) != nchan:
        raise NapariVivError(
            f"{what}: {len(names)} channel names given for {nchan} channel(s)"
        )
    colors = list(md.channel_colors) if md.channel_colors else None
    if colors is not None and len(colors) != nchan:
        raise NapariVivError(
            f"{what}: {len(colors)} channel colours given for {nchan} channel(s)"
        )
    try:
        unit = normalize_unit(md.unit)
    except ValueError as exc:
        raise NapariVivError(f"{what}: {exc}") from None

    root = ET.Element("OME", {
        "xmlns": OME_NS,
        "xmlns:xsi": _XSI,
        "xsi:schemaLocation": f"{OME_NS} {OME_NS}/ome.xsd",
        "Creator": "napari-viv",
    })
    image = ET.SubElement(root, "Image", {"ID": "Image:0"})
    if image_name:
        image.set("Name", _text(image_name))
    pixels = ET.SubElement(image, "Pixels", {
        "ID": "Pixels:0",
        "DimensionOrder": "XYZCT",
        "Type": OME_TYPES[plan.dtype.newbyteorder("=").name],
        "SizeX": str(sizes["X"]), "SizeY": str(sizes["Y"]),
        "SizeZ": str(sizes["Z"]), "SizeC": str(sizes["C"]), "SizeT": str(sizes["T"]),
        "BigEndian": "false",
        "Interleaved": "true" if plan.rgb else "false",
    })
    for ax in ("x", "y", "z"):
        value = (md.physical_sizes or {}).get(ax)
        if value is None:
            continue
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise NapariVivError(f"{what}: physical size {ax}={value} must be a positive number")
        pixels.set(f"PhysicalSize{ax.upper()}", _fmt(value))
        pixels.set(f"PhysicalSize{ax.upper()}Unit", unit)
    if md.time_increment is not None and float(md.time_increment) > 0:
        pixels.set("TimeIncrement", _fmt(md.time_increment))
        pixels.set("TimeIncrementUnit", "s")

    for c in range(nchan):
        ch = ET.SubElement(pixels, "Channel", {
            "ID": f"Channel:0:{c}",
            "SamplesPerPixel": str(plan.samples),
        })
        if names is not None:
            ch.set("Name", _text(names[c]))
        elif plan.rgb:
            ch.set("Name", "RGB")
        else:
            ch.set("Name", f"Channel {c}")
        if colors is not None and colors[c] is not None:
            try:
                ch.set("Color", str(color_to_int(colors[c])))
            except (TypeError, ValueError) as exc:
                raise NapariVivError(f"{what}: channel {c} colour {colors[c]!r}: {exc}") from None
    ET.SubElement(pixels, "TiffData", {"IFD": "0", "PlaneCount": str(plan.nplanes)})
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")
