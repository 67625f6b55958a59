"""The OME-XML rules of ``napari-viv check``, as Viv 0.21 applies them.

Viv turns the XML into JSON keyed by node names and validates it with a Zod
schema that coerces numbers the JavaScript way; these helpers mirror both so
the checker refuses exactly what Viv refuses. :class:`OmeXmlRules` is mixed
into the checker in check.py and reports through its ``error``/``warn``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

#: OME pixel types Viv can decode, with the TIFF (SampleFormat, BitsPerSample).
OME_TYPES = {
    "uint8": (1, 8), "uint16": (1, 16), "uint32": (1, 32),
    "int8": (2, 8), "int16": (2, 16), "int32": (2, 32),
    "float": (3, 32), "double": (3, 64),
}
_SCHEMA_ONLY_TYPES = {"bit", "complex", "double-complex"}
DIMENSION_ORDERS = ("XYZCT", "XYZTC", "XYCTZ", "XYCZT", "XYTCZ", "XYTZC")
#: OME length-unit symbols as Viv's schema lists them (µ is U+00B5).
OME_UNITS = (
    "Ym Zm Em Pm Tm Gm Mm km hm dam m dm cm mm \u00b5m nm pm fm am zm ym "
    "\u00c5 thou li in ft yd mi ua ly pc pt pixel".split() + ["reference frame"]
)

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
    """The non-negative integer ``text`` means to JavaScript, else None."""
    value = _js_number(text) if text is not None else float("nan")
    if math.isfinite(value) and value >= 0 and value == int(value):
        return int(value)
    return None


def _viv_json(node):
    """Mirror Viv's ``xmlToJson``: keys are nodeNames, attributes under "attr",
    and elements with neither attributes nor children are dropped."""
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


class OmeXmlRules:
    """OME-XML checks; needs ``self.tif``, ``self.path``, ``error`` and ``warn``."""

    #: True when checking a ``.companion.ome``, whose TiffData name other files by design.
    companion = False

    # -- OME-XML --------------------------------------------------------------

    def read_description(self, page) -> str | None:
        """The ImageDescription Viv reads: geotiff keeps the last of repeated tags."""
        tags = page.tags.getall(270) or []
        if not tags:
            return None
        tag = tags[-1]
        fh = self.tif.filehandle
        fh.seek(tag.valueoffset)
        raw = fh.read(tag.count)
        # geotiff decodes with TextDecoder('utf-8'); Viv strips one trailing NUL
        text = raw.decode("utf-8", errors="replace")
        return text[:-1] if text.endswith("\x00") else text

    def check_omexml(self, first) -> list[OmeImage] | None:
        xml = self.read_description(first)
        fix_xml = CONVERT_FIX + " (writes Viv-valid OME-XML)"
        if xml is None:
            self.error("the first IFD has no ImageDescription, so no OME-XML; "
                       "this is not an OME-TIFF", fix_xml)
            return None
        if not xml.lstrip().startswith("<"):
            start = xml.strip().splitlines()[0][:40] if xml.strip() else ""
            count = len(first.tags.getall(270) or [])
            if count > 1:
                self.error(f"the first IFD has {count} ImageDescription tags "
                           f"and Viv reads the last one, which is not OME-XML (it starts "
                           f"{start!r}); Viv fails with 'missing root element'", fix_xml)
                return None
            self.error(f"the ImageDescription of the first IFD is not OME-XML "
                       f"(it starts {start!r}); this is not an OME-TIFF", fix_xml)
            return None
        return self.check_xml(xml, "the first IFD")

    def check_xml(self, xml: str, where: str) -> list[OmeImage] | None:
        """Viv's rules for OME-XML text found in ``where`` (an IFD or a companion file)."""
        from xml.dom import minidom
        from xml.parsers.expat import ExpatError

        fix_xml = CONVERT_FIX + " (writes Viv-valid OME-XML)"
        try:
            doc = minidom.parseString(xml.rstrip("\x00").encode("utf-8"))
        except ExpatError as exc:
            self.error(f"the OME-XML in {where} is not well-formed XML ({exc})", fix_xml)
            return None
        root = doc.documentElement
        if root.prefix:
            self.error(
                f"the OME-XML uses a namespace prefix (<{root.nodeName}>); Viv needs "
                "the default namespace (<OME xmlns=...>) and fails with a ZodError",
                fix_xml,
            )
            return None
        tree = _viv_json(root)
        if not isinstance(tree, dict) or "Image" not in tree:
            what = "an OME-XML document" if root.localName == "OME" else f"OME-XML (root <{root.nodeName}>)"
            self.error(f"the {'ImageDescription' if 'IFD' in where else 'XML of ' + where} "
                       f"is not {what} with an <Image>; Viv fails with a ZodError", fix_xml)
            return None
        images = []
        for i, img in enumerate(_as_list(tree["Image"])):
            parsed = self.check_image_xml(i, img)
            if parsed is not None:
                images.append(parsed)
        if len(images) != len(_as_list(tree["Image"])):
            return None
        return images

    def check_image_xml(self, i: int, img) -> OmeImage | None:
        """Apply Viv's Zod schema to one <Image>; None when it would fail."""
        fix = CONVERT_FIX + " (writes Viv-valid OME-XML)"
        where = f"Image {i}"
        n_before = len(self.report.errors)
        if not isinstance(img, dict) or "ID" not in img.get("attr", {}):
            self.error(f"<Image> {i} has no ID attribute; Viv fails with a ZodError", fix)
        pixels = img.get("Pixels") if isinstance(img, dict) else None
        if isinstance(pixels, list) or not isinstance(pixels, dict) or "attr" not in pixels:
            self.error(f"{where} has no usable <Pixels> element; Viv fails with a ZodError", fix)
            return None
        attr = pixels["attr"]
        if "ID" not in attr:
            self.error(f"{where}: <Pixels> has no ID attribute; Viv fails with a ZodError", fix)
        order = attr.get("DimensionOrder")
        if order not in DIMENSION_ORDERS:
            self.error(f"{where}: DimensionOrder {order!r} is not one of "
                       f"{', '.join(DIMENSION_ORDERS)}; Viv fails with a ZodError", fix)
        ptype = attr.get("Type")
        if ptype in _SCHEMA_ONLY_TYPES:
            self.error(f"{where}: pixel type {ptype!r} is not supported by Viv "
                       "('Pixel type ... not supported')",
                       "convert the pixels to uint8/uint16/float and re-export with `napari-viv convert`")
        elif ptype not in OME_TYPES:
            hint = " (types must be lowercase)" if ptype and ptype.lower() in OME_TYPES else ""
            self.error(f"{where}: pixel Type {ptype!r} is not a valid OME type{hint}; "
                       "Viv fails with a ZodError", fix)
        sizes = {}
        for axis in "XYZCT":
            raw = attr.get(f"Size{axis}")
            value = js_int(raw)
            number = _js_number(raw) if raw is not None else float("nan")
            if axis in "XY" and value is None and math.isfinite(number) and number >= 1:
                value = int(number)  # Viv computes level sizes with `>>`, which truncates
                self.warn(f"{where}: Size{axis}={raw!r} is not an integer; Viv truncates it "
                          f"to {value}, other readers may not", fix)
            if not value:
                self.error(f"{where}: Size{axis}={raw!r} is not a positive integer", fix)
            else:
                sizes[axis] = value
        for key in ("PhysicalSizeX", "PhysicalSizeY", "PhysicalSizeZ", "SignificantBits"):
            raw = attr.get(key)
            if raw is not None and not _is_number(raw):
                self.error(f"{where}: {key}={raw!r} is not a number; "
                           "Viv fails with a ZodError", fix)
        for axis in "XYZ":
            unit = attr.get(f"PhysicalSize{axis}Unit")
            if unit is not None and unit not in OME_UNITS:
                micro = unit.endswith("m") and unit[:-1].lower() in ("u", "\u03bc", "\u00b5")
                good = "\u00b5m (U+00B5 MICRO SIGN)" if micro else "an OME unit symbol such as \u00b5m or nm"
                self.error(f"{where}: PhysicalSize{axis}Unit={unit!r} is not an exact OME "
                           f"unit symbol; Viv fails with a ZodError (use {good})",
                           "re-export with `napari-viv convert`, which writes the exact symbol")
        interleaved = str(attr.get("Interleaved", "")).lower() == "true"
        channels = []
        raw_channels = pixels.get("Channel")
        if raw_channels is None:
            self.error(f"{where}: <Pixels> has no <Channel> with attributes; Viv fails with "
                       "a ZodError", fix)
        else:
            for c, ch in enumerate(_as_list(raw_channels)):
                cattr = ch.get("attr", {}) if isinstance(ch, dict) else {}
                if "ID" not in cattr:
                    self.error(f"{where}: Channel {c} has no ID attribute; Viv fails with "
                               "a ZodError", fix)
                color = cattr.get("Color")
                if color is not None:
                    if not _is_number(color):
                        self.error(f"{where}: Channel {c} Color={color!r} is not an integer "
                                   "(OME wants signed 32-bit RGBA, e.g. -16776961 for red); "
                                   "Viv fails with a ZodError", fix)
                spp = cattr.get("SamplesPerPixel")
                if spp is not None and not _is_number(spp):
                    self.error(f"{where}: Channel {c} SamplesPerPixel={spp!r} is not a number; "
                               "Viv fails with a ZodError", fix)
                channels.append(cattr)
        self.check_tiffdata(where, pixels)
        if len(self.report.errors) > n_before:
            return None
        tiffdata = [td.get("attr", {}) for td in _as_list(pixels.get("TiffData", []))
                    if isinstance(td, dict)]
        physical = tuple(a for a in "XY" if attr.get(f"PhysicalSize{a}") is not None)
        return OmeImage(i, order, ptype, sizes, interleaved, channels, tiffdata, physical)

    def check_tiffdata(self, where: str, pixels: dict) -> None:
        names = set()
        for td in _as_list(pixels.get("TiffData", [])):
            if not isinstance(td, dict):
                continue
            for key, value in td.get("attr", {}).items():
                if key in ("IFD", "PlaneCount", "FirstT", "FirstC", "FirstZ") and not _is_number(value):
                    self.error(f"{where}: TiffData {key}={value!r} is not a number; Viv fails "
                               "with a ZodError", CONVERT_FIX)
            if "UUID" not in td:
                continue
            uuid = td["UUID"]
            fname = uuid.get("attr", {}).get("FileName") if isinstance(uuid, dict) else None
            if fname is None:
                self.error(f"{where}: a <TiffData><UUID> has no FileName attribute; "
                           "Viv fails with a ZodError", CONVERT_FIX)
            else:
                names.add(os.path.basename(fname))
        if self.companion:
            return  # a companion file names its TIFF files: that is how it works
        if len(names) > 1:
            others = sorted(names - {self.path.name})
            self.error(f"{where}: planes are stored in other files ({', '.join(others[:3])}); "
                       "this is a multi-file OME-TIFF, which Viv opens only through a "
                       ".companion.ome", "convert it to one file with `napari-viv convert`")
        elif names and names != {self.path.name}:
            self.warn(f"{where}: the OME-XML says its planes are in {names.pop()!r} (was the "
                      "file renamed?); Viv ignores this, Bio-Formats may look for that file",
                      CONVERT_FIX)
