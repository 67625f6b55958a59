"""Reading OME-XML into napari-viv's terms: image metadata, sets of files.

Tolerant where Viv's rules (:mod:`napari_viv.ome.viv`) are strict: whatever
can be understood is taken, the rest ignored, so any OME-TIFF opens.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..metadata import MICROMETRE, ImageMetadata, set_physical_sizes
from .schema import int_to_color, local_name


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """Return the direct children of ``element`` named ``name`` (any namespace).

    Parameters
    ----------
    element : xml.etree.ElementTree.Element
        The parent.
    name : str
        The local name, e.g. ``"Image"``.

    Returns
    -------
    list of Element
        In document order.

    Examples
    --------
    >>> root = ET.fromstring('<OME xmlns="urn:x"><Image ID="Image:0"/><Image ID="Image:1"/></OME>')
    >>> [el.get("ID") for el in children(root, "Image")]
    ['Image:0', 'Image:1']
    """
    return [el for el in element if local_name(el.tag) == name]


def binary_only_metadata_file(description: str) -> str | None:
    """Return the ``MetadataFile`` a BinaryOnly OME-XML names (a multi-file set's member).

    Parameters
    ----------
    description : str
        A TIFF ImageDescription.

    Returns
    -------
    str or None
        The metadata file's name, or None when ``description`` is not BinaryOnly OME-XML.

    Examples
    --------
    >>> binary_only_metadata_file('<OME xmlns="urn:x"><BinaryOnly MetadataFile="set.companion.ome"/></OME>')
    'set.companion.ome'
    """
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


def uuid_file_names(root: ET.Element) -> list[str]:
    """Return the files a (companion) OME-XML's ``TiffData/UUID`` elements name, in order.

    Parameters
    ----------
    root : xml.etree.ElementTree.Element
        The parsed document.

    Returns
    -------
    list of str
        Each ``FileName``, as often as it is named.

    Examples
    --------
    >>> xml = '<OME><Image><Pixels><TiffData><UUID FileName="a.ome.tif"/></TiffData></Pixels></Image></OME>'
    >>> uuid_file_names(ET.fromstring(xml))
    ['a.ome.tif']
    """
    return [el.get("FileName") or "" for el in root.iter() if local_name(el.tag) == "UUID" and el.get("FileName")]


def _color(value: str | None) -> tuple[int, int, int] | None:
    """OME Channel Color (signed 32-bit RGBA) -> (r, g, b), None when absent or not a number."""
    if value is None:
        return None
    try:
        return int_to_color(int(value))
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _select_image(images: list[ET.Element], index: int, series_name: str | None) -> ET.Element:
    image = images[index] if index < len(images) else images[0]
    if series_name:
        for el in images:  # tifffile may skip Images without data; prefer a name match
            if el.get("Name") == series_name:
                return el
    return image


def _pixels_metadata(meta: ImageMetadata, pixels: ET.Element) -> None:
    sizes = {}
    for axis in "XYZ":
        value = _float(pixels.get(f"PhysicalSize{axis}"))
        if value is not None:
            sizes[axis.lower()] = (value, pixels.get(f"PhysicalSize{axis}Unit") or MICROMETRE)
    set_physical_sizes(meta, sizes)
    increment = _float(pixels.get("TimeIncrement") or None)
    if increment is not None:
        meta.time_increment = increment
    channels = children(pixels, "Channel")
    if channels:
        given = [el.get("Name") or el.get("Fluor") for el in channels]
        colors = [_color(el.get("Color")) for el in channels]
        if any(given):
            meta.channel_names = [g or f"Channel {i}" for i, g in enumerate(given)]
        meta.channel_colors = colors if any(c is not None for c in colors) else None


def ome_image_metadata(meta: ImageMetadata, xml: str | bytes, index: int, series_name: str | None = None) -> None:
    """Fill ``meta`` from image ``index`` of an OME-XML document.

    Sets the OME-XML itself, the image name, physical sizes (in one unit),
    the time increment, channel names (``Name``, else ``Fluor``) and colours.
    XML that does not parse leaves all but ``ome_xml`` untouched.

    Parameters
    ----------
    meta : ImageMetadata
        Updated in place.
    xml : str or bytes
        The OME-XML document.
    index : int
        Which ``<Image>`` (the first when out of range).
    series_name : str, optional
        The series' name, preferred over ``index`` when an ``<Image>`` has it.

    Examples
    --------
    >>> md = ImageMetadata()
    >>> xml = ('<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image Name="cells">'
    ...        '<Pixels PhysicalSizeX="0.5"><Channel Name="DAPI" Color="65535"/></Pixels></Image></OME>')
    >>> ome_image_metadata(md, xml, 0)
    >>> md.name, md.physical_sizes, md.channel_names, md.channel_colors
    ('cells', {'x': 0.5}, ['DAPI'], [(0, 0, 255)])
    """
    meta.ome_xml = xml if isinstance(xml, str) else xml.decode("utf-8", errors="replace")
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        return
    images = children(root, "Image")
    if not images:
        return
    image = _select_image(images, index, series_name)
    if image.get("Name"):
        meta.name = image.get("Name")
    pixels = next(iter(children(image, "Pixels")), None)
    if pixels is not None:
        _pixels_metadata(meta, pixels)
