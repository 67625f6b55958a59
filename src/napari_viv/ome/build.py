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
from typing import Protocol

import numpy as np

from ..errors import NapariVivError
from ..metadata import ImageMetadata, normalize_unit
from .schema import OME_NS, OME_TYPE_OF_DTYPE, WRITTEN_ORDER, XSI_NS, color_to_int

# Characters XML 1.0 cannot contain at all (even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class PlannedPixels(Protocol):
    """What :func:`build_ome_xml` needs to know of the planned file (a write plan has it)."""

    @property
    def sizes(self) -> dict[str, int]:
        """Size of each of T, C, Z, Y, X (1 when absent)."""

    @property
    def dtype(self) -> np.dtype:
        """The pixel type written."""

    @property
    def rgb(self) -> bool:
        """Whether pixels are written as interleaved RGB."""

    @property
    def samples(self) -> int:
        """Samples per pixel (3 for RGB, else 1)."""

    @property
    def nplanes(self) -> int:
        """Number of planes (IFDs of the main chain)."""


def _text(value) -> str:
    """``value`` as text that XML can carry (invalid characters dropped)."""
    return _NOT_XML.sub("", str(value))


def _fmt(x: float) -> str:
    return repr(float(x))


def _channel_lists(md: ImageMetadata, nchan: int, what: str) -> tuple[list | None, list | None]:
    names = list(md.channel_names) if md.channel_names else None
    if names is not None and len(names) != nchan:
        raise NapariVivError(f"{len(names)} channel names given for {nchan} channel(s)", subject=what)
    colors = list(md.channel_colors) if md.channel_colors else None
    if colors is not None and len(colors) != nchan:
        raise NapariVivError(f"{len(colors)} channel colours given for {nchan} channel(s)", subject=what)
    return names, colors


def _pixels(image: ET.Element, plan: PlannedPixels, md: ImageMetadata, what: str) -> ET.Element:
    sizes = plan.sizes
    try:
        unit = normalize_unit(md.unit)
    except ValueError as exc:
        raise NapariVivError(str(exc), subject=what) from None
    pixels = ET.SubElement(
        image,
        "Pixels",
        {
            "ID": "Pixels:0",
            "DimensionOrder": WRITTEN_ORDER,
            "Type": OME_TYPE_OF_DTYPE[plan.dtype.newbyteorder("=").name],
            **{f"Size{ax}": str(sizes[ax]) for ax in "XYZCT"},
            "BigEndian": "false",
            "Interleaved": "true" if plan.rgb else "false",
        },
    )
    for ax in ("x", "y", "z"):
        value = (md.physical_sizes or {}).get(ax)
        if value is None:
            continue
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise NapariVivError(f"physical size {ax}={value} must be a positive number", subject=what)
        pixels.set(f"PhysicalSize{ax.upper()}", _fmt(value))
        pixels.set(f"PhysicalSize{ax.upper()}Unit", unit)
    if md.time_increment is not None and float(md.time_increment) > 0:
        pixels.set("TimeIncrement", _fmt(md.time_increment))
        pixels.set("TimeIncrementUnit", "s")
    return pixels


def build_ome_xml(
    plan: PlannedPixels, metadata: ImageMetadata | None = None, *, name: str | None = None, what: str = "image"
) -> bytes:
    """Return UTF-8 OME-XML describing ``plan``.

    Parameters
    ----------
    plan : PlannedPixels
        The planned file: sizes, dtype, RGB or not, samples, planes.
    metadata : ImageMetadata, optional
        Image and channel names, colours, physical sizes, time increment.
    name : str, optional
        The image name when ``metadata`` has none.
    what : str
        The subject of errors (the image or file being written).

    Returns
    -------
    bytes
        The XML document, UTF-8 encoded, with an XML declaration.

    Raises
    ------
    NapariVivError
        When channel names or colours do not match the channel count, or a
        unit or physical size is invalid.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> plan = SimpleNamespace(sizes=dict(T=1, C=2, Z=1, Y=8, X=8), dtype=np.dtype("uint16"),
    ...                        rgb=False, samples=1, nplanes=2)
    >>> xml = build_ome_xml(plan, ImageMetadata(channel_names=["DAPI", "CD3"]), name="cells")
    >>> b'Type="uint16"' in xml and b'Name="CD3"' in xml
    True
    """
    md = metadata or ImageMetadata()
    nchan = 1 if plan.rgb else plan.sizes["C"]
    names, colors = _channel_lists(md, nchan, what)
    image_name = md.name if md.name is not None else name
    root = ET.Element(
        "OME",
        {
            "xmlns": OME_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{OME_NS} {OME_NS}/ome.xsd",
            "Creator": "napari-viv",
        },
    )
    image = ET.SubElement(root, "Image", {"ID": "Image:0"})
    if image_name:
        image.set("Name", _text(image_name))
    pixels = _pixels(image, plan, md, what)
    for c in range(nchan):
        ch = ET.SubElement(pixels, "Channel", {"ID": f"Channel:0:{c}", "SamplesPerPixel": str(plan.samples)})
        if names is not None:
            ch.set("Name", _text(names[c]))
        else:
            ch.set("Name", "RGB" if plan.rgb else f"Channel {c}")
        if colors is not None and colors[c] is not None:
            try:
                ch.set("Color", str(color_to_int(colors[c])))
            except (TypeError, ValueError) as exc:
                raise NapariVivError(f"channel {c} colour {colors[c]!r}: {exc}", subject=what) from None
    ET.SubElement(pixels, "TiffData", {"IFD": "0", "PlaneCount": str(plan.nplanes)})
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")
