"""Viv 0.21's rules for OME-XML, as plain functions that fill a report.

Viv turns the XML into JSON keyed by node names and validates it with a Zod
schema that coerces numbers the JavaScript way; these functions mirror both
so ``napari-viv check`` refuses exactly what Viv refuses. Each takes the
:class:`Report` to fill (``napari_viv.check.CheckReport`` is one): a broken
rule is one ``error`` or ``warn`` call with the problem and its fix.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from .schema import DIMENSION_ORDERS, OME_UNITS, SCHEMA_ONLY_TYPES, TIFF_SAMPLES_OF_TYPE

#: OME pixel types Viv decodes, with the TIFF (SampleFormat, BitsPerSample) that stores them.
OME_TYPES = TIFF_SAMPLES_OF_TYPE
#: The fix for most findings: napari-viv writes what Viv reads.
CONVERT_FIX = "re-export with `napari-viv convert FILE OUT.ome.tif`"


_JS_DECIMAL = re.compile(r"[+-]?(Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
_JS_RADIX = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


def _js_number(text: str) -> float:
    """``Number(text)`` as JavaScript (and so Zod's coerce) computes it."""
    s = text.strip()
    if s == "":
        return 0.0
    if _JS_RADIX.fullmatch(s):
        return float(int(s, 0))
    if _JS_DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))
    return float("nan")


def _is_number(text: str) -> bool:
    value = _js_number(text)
    return value == value


def js_int(text: str | None) -> int | None:
    """Return the non-negative integer ``text`` means to JavaScript, else None.

    Parameters
    ----------
    text : str or None
        An attribute's value.

    Returns
    -------
    int or None
        As Zod's coerced number would be, when it is a whole non-negative number.

    Examples
    --------
    >>> js_int("0x10"), js_int(" 7 "), js_int(""), js_int("1.5"), js_int("-1")
    (16, 7, 0, None, None)
    """
    value = _js_number(text) if text is not None else float("nan")
    if math.isfinite(value) and value >= 0 and value == int(value):
        return int(value)
    return None


def _viv_json(node):
    """Mirror Viv's ``xmlToJson``.

    Keys are nodeNames, attributes go under "attr", and elements with
    neither attributes nor children are dropped.
    """
    if node.nodeType == node.TEXT_NODE:
        return (node.nodeValue or "").strip()
    attrs = node.attributes
    if not node.childNodes and (attrs is None or attrs.length == 0):
        return ""
    obj: dict = {}
    if attrs is not None and attrs.length:
        obj["attr"] = {attrs.item(i).name: attrs.item(i).value for i in range(attrs.length)}
    for child in node.childNodes:
        if child.nodeType != child.ELEMENT_NODE:
            continue
        value = _viv_json(child)
        if value == "":
            continue
        if child.nodeName in obj:
            if not isinstance(obj[child.nodeName], list):
                obj[child.nodeName] = [obj[child.nodeName]]
            obj[child.nodeName].append(value)
        else:
            obj[child.nodeName] = value
    return obj


class Report(Protocol):
    """Where the rules report: a broken rule is one call."""

    def error(self, message: str, fix: str) -> None:
        """Record that Viv fails or shows wrong pixels."""

    def warn(self, message: str, fix: str) -> None:
        """Record that Viv works, but slowly or with a caveat."""

    def error_count(self) -> int:
        """Return how many errors are recorded so far."""


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class OmeImage:
    """What the checker needs of one OME <Image>."""

    index: int
    order: str
    type: str
    sizes: dict
    interleaved: bool
    channels: list
    tiffdata: list = field(default_factory=list)
    physical: tuple = ()


def read_description(page: Any) -> str | None:
    """Return the ImageDescription Viv reads from a tifffile page: the last of repeated tags.

    geotiff decodes it with ``TextDecoder('utf-8')`` and Viv strips one trailing NUL.

    Parameters
    ----------
    page : tifffile.TiffPage
        The first IFD, usually.

    Returns
    -------
    str or None
        The text, or None when the page has no ImageDescription.
    """
    tags = page.tags.getall(270) or []
    if not tags:
        return None
    tag = tags[-1]
    fh = page.parent.filehandle
    fh.seek(tag.valueoffset)
    raw = fh.read(tag.count)
    # geotiff decodes with TextDecoder('utf-8'); Viv strips one trailing NUL
    text = raw.decode("utf-8", errors="replace")
    return text[:-1] if text.endswith("\x00") else text


def check_omexml(first: Any, report: Report, *, file_name: str) -> list[OmeImage] | None:
    """Apply Viv's rules to the OME-XML of a TIFF's first IFD.

    Parameters
    ----------
    first : tifffile.TiffPage
        The first IFD.
    report : Report
        Filled with the broken rules.
    file_name : str
        The file's name (TiffData naming another file is a multi-file set).

    Returns
    -------
    list of OmeImage or None
        The images Viv will read, or None when it fails on the XML.
    """
    xml = read_description(first)
    fix_xml = CONVERT_FIX + " (writes Viv-valid OME-XML)"
    if xml is None:
        report.error("the first IFD has no ImageDescription, so no OME-XML; this is not an OME-TIFF", fix_xml)
        return None
    if not xml.lstrip().startswith("<"):
        start = xml.strip().splitlines()[0][:40] if xml.strip() else ""
        count = len(first.tags.getall(270) or [])
        if count > 1:
            report.error(
                f"the first IFD has {count} ImageDescription tags "
                f"and Viv reads the last one, which is not OME-XML (it starts "
                f"{start!r}); Viv fails with 'missing root element'",
                fix_xml,
            )
            return None
        report.error(
            f"the ImageDescription of the first IFD is not OME-XML (it starts {start!r}); this is not an OME-TIFF",
            fix_xml,
        )
        return None
    return check_xml(xml, "the first IFD", report, file_name=file_name)


def check_xml(
    xml: str, where: str, report: Report, *, file_name: str, companion: bool = False
) -> list[OmeImage] | None:
    """Apply Viv's rules to OME-XML text found in ``where`` (an IFD or a companion file).

    Parameters
    ----------
    xml : str
        The document.
    where : str
        Where it was found, for messages ("the first IFD", "the companion file").
    report : Report
        Filled with the broken rules.
    file_name : str
        The name of the file holding it.
    companion : bool
        True for a ``.companion.ome``, whose TiffData name other files by design.

    Returns
    -------
    list of OmeImage or None
        The images Viv will read, or None when it fails on the XML.

    Examples
    --------
    >>> class Notes(list):
    ...     def error(self, message, fix): self.append(("error", message))
    ...     def warn(self, message, fix): self.append(("warning", message))
    ...     def error_count(self): return sum(kind == "error" for kind, _ in self)
    >>> notes = Notes()
    >>> check_xml('<OME xmlns="urn:x"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" '
    ...           'Type="UINT16" SizeX="4" SizeY="4" SizeZ="1" SizeC="1" SizeT="1"><Channel ID="Channel:0:0"/>'
    ...           '</Pixels></Image></OME>', "the first IFD", notes, file_name="a.ome.tif")
    >>> notes[0][1]
    "Image 0: pixel Type 'UINT16' is not a valid OME type (types must be lowercase); Viv fails with a ZodError"
    """
    from xml.dom import minidom
    from xml.parsers.expat import ExpatError

    fix_xml = CONVERT_FIX + " (writes Viv-valid OME-XML)"
    try:
        doc = minidom.parseString(xml.rstrip("\x00").encode("utf-8"))
    except ExpatError as exc:
        report.error(f"the OME-XML in {where} is not well-formed XML ({exc})", fix_xml)
        return None
    root = doc.documentElement
    if root is None:  # minidom raises on an empty document; this keeps type checkers sure
        return None
    if root.prefix:
        report.error(
            f"the OME-XML uses a namespace prefix (<{root.nodeName}>); Viv needs "
            "the default namespace (<OME xmlns=...>) and fails with a ZodError",
            fix_xml,
        )
        return None
    tree = _viv_json(root)
    if not isinstance(tree, dict) or "Image" not in tree:
        what = "an OME-XML document" if root.localName == "OME" else f"OME-XML (root <{root.nodeName}>)"
        report.error(
            f"the {'ImageDescription' if 'IFD' in where else 'XML of ' + where} "
            f"is not {what} with an <Image>; Viv fails with a ZodError",
            fix_xml,
        )
        return None
    images = []
    for i, img in enumerate(_as_list(tree["Image"])):
        parsed = check_image_xml(i, img, report, file_name=file_name, companion=companion)
        if parsed is not None:
            images.append(parsed)
    if len(images) != len(_as_list(tree["Image"])):
        return None
    return images


_FIX_XML = CONVERT_FIX + " (writes Viv-valid OME-XML)"


def _pixel_type_rules(where: str, attr: dict, report: Report) -> None:
    if "ID" not in attr:
        report.error(f"{where}: <Pixels> has no ID attribute; Viv fails with a ZodError", _FIX_XML)
    order = attr.get("DimensionOrder")
    if order not in DIMENSION_ORDERS:
        report.error(
            f"{where}: DimensionOrder {order!r} is not one of {', '.join(DIMENSION_ORDERS)}; Viv fails with a ZodError",
            _FIX_XML,
        )
    ptype = attr.get("Type")
    if ptype in SCHEMA_ONLY_TYPES:
        report.error(
            f"{where}: pixel type {ptype!r} is not supported by Viv ('Pixel type ... not supported')",
            "convert the pixels to uint8/uint16/float and re-export with `napari-viv convert`",
        )
    elif ptype not in OME_TYPES:
        hint = " (types must be lowercase)" if ptype and ptype.lower() in OME_TYPES else ""
        report.error(
            f"{where}: pixel Type {ptype!r} is not a valid OME type{hint}; Viv fails with a ZodError", _FIX_XML
        )


def _size_rules(where: str, attr: dict, report: Report) -> dict:
    sizes = {}
    for axis in "XYZCT":
        raw = attr.get(f"Size{axis}")
        value = js_int(raw)
        number = _js_number(raw) if raw is not None else float("nan")
        if axis in "XY" and value is None and math.isfinite(number) and number >= 1:
            value = int(number)  # Viv computes level sizes with `>>`, which truncates
            report.warn(
                f"{where}: Size{axis}={raw!r} is not an integer; Viv truncates it to {value}, other readers may not",
                _FIX_XML,
            )
        if not value:
            report.error(f"{where}: Size{axis}={raw!r} is not a positive integer", _FIX_XML)
        else:
            sizes[axis] = value
    return sizes


def _physical_rules(where: str, attr: dict, report: Report) -> None:
    for key in ("PhysicalSizeX", "PhysicalSizeY", "PhysicalSizeZ", "SignificantBits"):
        raw = attr.get(key)
        if raw is not None and not _is_number(raw):
            report.error(f"{where}: {key}={raw!r} is not a number; Viv fails with a ZodError", _FIX_XML)
    for axis in "XYZ":
        unit = attr.get(f"PhysicalSize{axis}Unit")
        if unit is not None and unit not in OME_UNITS:
            micro = unit.endswith("m") and unit[:-1].lower() in ("u", "\u03bc", "\u00b5")
            good = "\u00b5m (U+00B5 MICRO SIGN)" if micro else "an OME unit symbol such as \u00b5m or nm"
            report.error(
                f"{where}: PhysicalSize{axis}Unit={unit!r} is not an exact OME "
                f"unit symbol; Viv fails with a ZodError (use {good})",
                "re-export with `napari-viv convert`, which writes the exact symbol",
            )


def _channel_rules(where: str, pixels: dict, report: Report) -> list[dict]:
    raw_channels = pixels.get("Channel")
    if raw_channels is None:
        report.error(f"{where}: <Pixels> has no <Channel> with attributes; Viv fails with a ZodError", _FIX_XML)
        return []
    channels = []
    for c, ch in enumerate(_as_list(raw_channels)):
        cattr = ch.get("attr", {}) if isinstance(ch, dict) else {}
        if "ID" not in cattr:
            report.error(f"{where}: Channel {c} has no ID attribute; Viv fails with a ZodError", _FIX_XML)
        color = cattr.get("Color")
        if color is not None and not _is_number(color):
            report.error(
                f"{where}: Channel {c} Color={color!r} is not an integer "
                "(OME wants signed 32-bit RGBA, e.g. -16776961 for red); Viv fails with a ZodError",
                _FIX_XML,
            )
        spp = cattr.get("SamplesPerPixel")
        if spp is not None and not _is_number(spp):
            report.error(
                f"{where}: Channel {c} SamplesPerPixel={spp!r} is not a number; Viv fails with a ZodError", _FIX_XML
            )
        channels.append(cattr)
    return channels


def check_image_xml(i: int, img: Any, report: Report, *, file_name: str, companion: bool = False) -> OmeImage | None:
    """Apply Viv's Zod schema to one ``<Image>`` (as :func:`viv_json` gives it).

    Parameters
    ----------
    i : int
        The image's index.
    img : dict
        The image as Viv's JSON.
    report : Report
        Filled with the broken rules.
    file_name : str
        The name of the file holding the XML.
    companion : bool
        True for a ``.companion.ome``.

    Returns
    -------
    OmeImage or None
        What the layout rules need of the image, or None when Viv fails on it.
    """
    where = f"Image {i}"
    n_before = report.error_count()
    if not isinstance(img, dict) or "ID" not in img.get("attr", {}):
        report.error(f"<Image> {i} has no ID attribute; Viv fails with a ZodError", _FIX_XML)
    pixels = img.get("Pixels") if isinstance(img, dict) else None
    if isinstance(pixels, list) or not isinstance(pixels, dict) or "attr" not in pixels:
        report.error(f"{where} has no usable <Pixels> element; Viv fails with a ZodError", _FIX_XML)
        return None
    attr = pixels["attr"]
    _pixel_type_rules(where, attr, report)
    sizes = _size_rules(where, attr, report)
    _physical_rules(where, attr, report)
    channels = _channel_rules(where, pixels, report)
    check_tiffdata(where, pixels, report, file_name=file_name, companion=companion)
    if report.error_count() > n_before:
        return None
    tiffdata = [td.get("attr", {}) for td in _as_list(pixels.get("TiffData", [])) if isinstance(td, dict)]
    physical = tuple(a for a in "XY" if attr.get(f"PhysicalSize{a}") is not None)
    interleaved = str(attr.get("Interleaved", "")).lower() == "true"
    return OmeImage(i, attr["DimensionOrder"], attr["Type"], sizes, interleaved, channels, tiffdata, physical)


def check_tiffdata(where: str, pixels: dict, report: Report, *, file_name: str, companion: bool = False) -> None:
    """Apply Viv's rules to an image's ``<TiffData>`` elements, and say where its planes are.

    Parameters
    ----------
    where : str
        The image, for messages.
    pixels : dict
        The ``<Pixels>`` element as Viv's JSON.
    report : Report
        Filled with the broken rules.
    file_name : str
        The name of the file holding the XML.
    companion : bool
        True for a ``.companion.ome``, whose TiffData name other files by design.
    """
    names = set()
    for td in _as_list(pixels.get("TiffData", [])):
        if not isinstance(td, dict):
            continue
        for key, value in td.get("attr", {}).items():
            if key in ("IFD", "PlaneCount", "FirstT", "FirstC", "FirstZ") and not _is_number(value):
                report.error(
                    f"{where}: TiffData {key}={value!r} is not a number; Viv fails with a ZodError", CONVERT_FIX
                )
        if "UUID" not in td:
            continue
        uuid = td["UUID"]
        fname = uuid.get("attr", {}).get("FileName") if isinstance(uuid, dict) else None
        if fname is None:
            report.error(
                f"{where}: a <TiffData><UUID> has no FileName attribute; Viv fails with a ZodError", CONVERT_FIX
            )
        else:
            names.add(os.path.basename(fname))
    if companion:
        return  # a companion file names its TIFF files: that is how it works
    if len(names) > 1:
        others = sorted(names - {file_name})
        report.error(
            f"{where}: planes are stored in other files ({', '.join(others[:3])}); "
            "this is a multi-file OME-TIFF, which Viv opens only through a .companion.ome",
            "convert it to one file with `napari-viv convert`",
        )
    elif names and names != {file_name}:
        report.warn(
            f"{where}: the OME-XML says its planes are in {names.pop()!r} (was the "
            "file renamed?); Viv ignores this, Bio-Formats may look for that file",
            CONVERT_FIX,
        )
