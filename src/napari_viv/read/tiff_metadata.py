"""TIFF metadata -> :class:`ImageMetadata`: OME-XML, ImageJ, PerkinElmer QPI,
Aperio SVS, and the resolution tags as a last resort."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .. import naming
from ..metadata import MICROMETRE, ImageMetadata, int_to_color
from .image import set_physical_sizes


def tiff_metadata(tif, main, index, path: Path) -> ImageMetadata:
    """Metadata of series ``index`` (``main``) from the richest source the file has."""
    meta = ImageMetadata(name=naming.stem(path))
    qpi_pixel = None
    if tif.is_ome and tif.ome_metadata:
        _ome_metadata(meta, tif.ome_metadata, index, main)
    elif tif.is_imagej:
        _imagej_metadata(meta, tif)
    elif main.kind == "qpi" or tif.pages.first.is_qpi:
        qpi_pixel = _qpi_metadata(meta, main)
    elif tif.is_svs:
        _svs_metadata(meta, tif)
    if "x" not in meta.physical_sizes:
        _resolution_metadata(meta, main.keyframe)
    if "x" not in meta.physical_sizes and qpi_pixel:  # Fusion scans: ScanProfile only
        set_physical_sizes(meta, {"x": (qpi_pixel, MICROMETRE), "y": (qpi_pixel, MICROMETRE)})
    return meta


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ome_metadata(meta: ImageMetadata, xml: str, index: int, main) -> None:
    meta.ome_xml = xml
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        return
    images = [el for el in root if _local(el.tag) == "Image"]
    if not images:
        return
    image = images[index] if index < len(images) else images[0]
    if getattr(main, "name", None):
        for el in images:  # tifffile may skip Images without data; prefer a name match
            if el.get("Name") == main.name:
                image = el
                break
    if image.get("Name"):
        meta.name = image.get("Name")
    pixels = next((el for el in image if _local(el.tag) == "Pixels"), None)
    if pixels is None:
        return
    sizes = {}
    for axis in "XYZ":
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None:
            continue
        try:
            sizes[axis.lower()] = (float(value), pixels.get(f"PhysicalSize{axis}Unit") or MICROMETRE)
        except ValueError:
            continue
    set_physical_sizes(meta, sizes)
    if pixels.get("TimeIncrement"):
        try:
            meta.time_increment = float(pixels.get("TimeIncrement"))
        except ValueError:
            pass
    channels = [el for el in pixels if _local(el.tag) == "Channel"]
    if channels:
        given = [el.get("Name") or el.get("Fluor") for el in channels]
        colors = [_ome_color(el.get("Color")) for el in channels]
        if any(given):
            meta.channel_names = [g or f"Channel {i}" for i, g in enumerate(given)]
        meta.channel_colors = colors if any(c is not None for c in colors) else None


def _ome_color(value) -> tuple[int, int, int] | None:
    """OME Channel Color (signed 32-bit RGBA) -> (r, g, b)."""
    if value is None:
        return None
    try:
        return int_to_color(int(value))
    except ValueError:
        return None


def _imagej_metadata(meta: ImageMetadata, tif) -> None:
    ij = tif.imagej_metadata or {}
    unit = ij.get("unit")
    page = tif.pages.first
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283))
    sizes = {}
    if unit and xres:
        sizes["x"] = (1.0 / xres, unit)
        sizes["y"] = (1.0 / (yres or xres), unit)
        if ij.get("spacing"):
            sizes["z"] = (float(ij["spacing"]), unit)
    set_physical_sizes(meta, sizes)
    if ij.get("finterval"):
        meta.time_increment = float(ij["finterval"])
    labels = ij.get("Labels")
    nc = int(ij.get("channels", 1) or 1)
    if isinstance(labels, list) and nc > 1 and len(labels) >= nc:
        # Labels are per slice in CZT order; the first nc are the channels.
        names = [str(x) for x in labels[:nc]]
        if all(names):
            meta.channel_names = names
    luts = ij.get("LUTs")
    if isinstance(luts, list) and len(luts) == nc and nc > 1:
        colors = []
        for lut in luts:
            lut = np.asarray(lut)
            colors.append(tuple(int(v) for v in lut[:, -1]) if lut.shape[:1] == (3,) else None)
        meta.channel_colors = colors
    ranges = ij.get("Ranges", ij.get("ranges"))
    if ranges is not None and len(ranges) == 2 * nc:
        meta.contrast_limits = [(float(ranges[2 * i]), float(ranges[2 * i + 1])) for i in range(nc)]


def _qpi_metadata(meta: ImageMetadata, main) -> float | None:
    """Channel names/colours from each channel page's QPI XML; returns the
    ``PixelSizeMicrons`` of the scan profile, if any.

    ``<Biomarker>`` (PhenoCycler Fusion) names the marker, ``<Name>`` the
    filter or unmixed component (Vectra); only direct children of the root
    count, since the opaque ``<ScanProfile>`` blob has its own ``<Name>``s.
    """
    names, colors, pixel = [], [], None
    for i, page in enumerate(main.pages):
        desc = getattr(page, "description", "") if page is not None else ""
        name, color = None, None
        root = _qpi_root(desc)
        if root is not None:
            name = _child_text(root, "Biomarker") or _child_text(root, "Name")
            color = _rgb_text(_child_text(root, "Color"))
            if pixel is None:
                for el in root.iter():
                    if _local(el.tag) == "PixelSizeMicrons":
                        pixel = _float(el.text)
                        break
        names.append(name or f"Channel {i}")
        colors.append(color)
    if names and "S" not in main.axes and any(not n.startswith("Channel ") for n in names):
        meta.channel_names = names
    if "S" not in main.axes and any(c is not None for c in colors):
        meta.channel_colors = colors
    return pixel if pixel and pixel > 0 else None


def _qpi_root(desc):
    if not desc or "<PerkinElmer-QPI-ImageDescription" not in desc:
        return None
    # Some scanners declare encoding="utf-16" on what is plain text: drop the declaration.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", desc.strip())
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _child_text(root, tag: str) -> str | None:
    for el in root:
        if _local(el.tag) == tag and el.text and el.text.strip():
            return el.text.strip()
    return None


def _float(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _rgb_text(text) -> tuple[int, int, int] | None:
    if not text:
        return None
    parts = re.split(r"[,\s]+", text.strip())
    try:
        rgb = tuple(max(0, min(255, int(float(p)))) for p in parts[:3])
    except ValueError:
        return None
    return rgb if len(rgb) == 3 else None


def _svs_metadata(meta: ImageMetadata, tif) -> None:
    from tifffile.tifffile import svs_description_metadata

    try:
        info = svs_description_metadata(tif.pages.first.description)
    except Exception:
        return
    mpp = info.get("MPP")
    if isinstance(mpp, (int, float)) and mpp > 0:
        set_physical_sizes(meta, {"x": (float(mpp), MICROMETRE), "y": (float(mpp), MICROMETRE)})


def _resolution_metadata(meta: ImageMetadata, page) -> None:
    """Pixel size from XResolution/YResolution with an inch or cm ResolutionUnit."""
    unit = page.tags.valueof(296, default=2)
    per_metre = {2: 1 / 0.0254, 3: 100.0}.get(int(unit))
    if per_metre is None or 282 not in page.tags:
        return
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283)) or xres
    if not xres or xres == 1 and yres == 1:  # 1 pixel per unit: tifffile's default
        return
    # pixels per inch (or cm) -> micrometres per pixel
    set_physical_sizes(
        meta,
        {
            "x": (1e6 / (xres * per_metre), MICROMETRE),
            "y": (1e6 / (yres * per_metre), MICROMETRE),
        },
    )


def _rational(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return value[0] / value[1] if len(value) == 2 and value[1] else None
    return float(value) or None
