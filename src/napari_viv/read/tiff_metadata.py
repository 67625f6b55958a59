"""TIFF metadata -> :class:`ImageMetadata`.

From OME-XML, ImageJ, FEI, Micro-Manager, PerkinElmer QPI, Aperio SVS, and
the resolution tags as a last resort.

Physical sizes, honestly: what the instrument or its software recorded (OME,
ImageJ calibration, FEI's scan pixel size, Micro-Manager's PixelSize_um,
QPTIFF, SVS MPP) wins over the TIFF resolution tags. A resolution tag alone
gives a size only in centimetres or inches at a value that is not a screen
or print default (72, 96, 300 dpi, ...): those are what image libraries
write when nobody measured anything. When no size is found, a one-line note
says why.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .. import naming
from ..metadata import MICROMETRE, ImageMetadata, normalize_unit, set_physical_sizes
from ..ome.parse import ome_image_metadata
from ..ome.schema import local_name

#: Dots per inch that image libraries and editors write by default (screen
#: and print settings), never a measurement of a specimen.
DEFAULT_DPI = (72, 96, 120, 144, 150, 192, 200, 240, 300, 600)


def tiff_metadata(tif, main, index, path: Path, *, ome_xml=None, notes=None, extra=None) -> ImageMetadata:
    """Return the metadata of image series ``index`` from the richest source the file has.

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file.
    main : tifffile.TiffPageSeries
        The series.
    index : int
        Its number (the OME ``<Image>`` it is).
    path : pathlib.Path
        The file (its stem is the default name).
    ome_xml : str, optional
        Overrides the file's own OME-XML (a companion file's).
    notes : list, optional
        Collects one-line remarks for the user.
    extra : dict, optional
        What the opener learnt from per-page metadata (NDTiff channel names,
        Micro-Manager pixel size).

    Returns
    -------
    ImageMetadata
        Name, physical sizes, channel names and colours, limits (axes are set by the opener).
    """
    meta = ImageMetadata(name=naming.stem(path))
    notes = notes if notes is not None else []
    extra = extra or {}
    qpi_pixel = None
    xml = ome_xml or (tif.ome_metadata if tif.is_ome else None)
    ome = bool(xml and "Image" in xml and not extra.get("ignore_ome"))
    if ome and xml:
        ome_image_metadata(meta, xml, index, getattr(main, "name", None))
    elif tif.is_imagej:
        _imagej_metadata(meta, tif, notes)
    elif main.kind == "qpi" or tif.pages.first.is_qpi:
        qpi_pixel = _qpi_metadata(meta, main)
    elif tif.is_svs:
        _svs_metadata(meta, tif)
    if extra.get("channel_names"):
        meta.channel_names = list(extra["channel_names"])
    if "x" not in meta.physical_sizes and getattr(tif, "is_fei", False):
        _fei_metadata(meta, tif)
    if "x" not in meta.physical_sizes and extra.get("pixel_um"):
        um = float(extra["pixel_um"])
        set_physical_sizes(meta, {"x": (um, MICROMETRE), "y": (um, MICROMETRE)})
    why = "the OME-XML gives none" if ome else ""
    if "x" not in meta.physical_sizes and not ome:
        # In an OME-TIFF the OME-XML is the metadata (writers fill the tags with
        # defaults). QPTIFF scanners write the measured size in the resolution
        # tags (cm); the ScanProfile's PixelSizeMicrons is the nominal one.
        why = _resolution_metadata(meta, main.keyframe)
    if "x" not in meta.physical_sizes and qpi_pixel:  # Fusion scans: ScanProfile only
        set_physical_sizes(meta, {"x": (qpi_pixel, MICROMETRE), "y": (qpi_pixel, MICROMETRE)})
    if "x" not in meta.physical_sizes:
        notes.append(f"no physical pixel size ({why}); give one with --pixel-size")
    return meta


def _imagej_metadata(meta: ImageMetadata, tif, notes: list) -> None:
    ij = tif.imagej_metadata or {}
    unit = imagej_unit(ij.get("unit"))
    page = tif.pages.first
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283))
    sizes = {}
    if unit and xres:
        try:
            normalize_unit(unit)
        except ValueError:
            notes.append(f"the ImageJ calibration unit {unit!r} is not a length unit; its pixel size is not used")
        else:
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
        colors: list[tuple[int, int, int] | None] = []
        for lut in luts:
            lut = np.asarray(lut)
            if lut.shape[:1] == (3,):
                colors.append((int(lut[0, -1]), int(lut[1, -1]), int(lut[2, -1])))
            else:
                colors.append(None)
        meta.channel_colors = colors
    ranges = ij.get("Ranges", ij.get("ranges"))
    if ranges is not None and len(ranges) == 2 * nc:
        meta.contrast_limits = [(float(ranges[2 * i]), float(ranges[2 * i + 1])) for i in range(nc)]


def imagej_unit(unit) -> str | None:
    r"""Return ImageJ's calibration unit as text; None for an uncalibrated image.

    ``\u00B5m``-style escapes are decoded (ImageJ writes non-ASCII units so).

    >>> imagej_unit("\\u00B5m") == "\u00b5m", imagej_unit("pixel")
    (True, None)
    """
    if not unit:
        return None
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), str(unit)).strip()
    if text.lower() in ("", "pixel", "pixels"):
        return None
    return text


def _qpi_metadata(meta: ImageMetadata, main) -> float | None:
    """Set channel names/colours from each channel page's QPI XML.

    Returns the ``PixelSizeMicrons`` of the scan profile, if any.

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
                    if local_name(el.tag) == "PixelSizeMicrons":
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
        if local_name(el.tag) == tag and el.text and el.text.strip():
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
    mpp = svs_mpp(tif.pages.first.description)
    if mpp:
        set_physical_sizes(meta, {"x": (mpp, MICROMETRE), "y": (mpp, MICROMETRE)})


def svs_mpp(description: str) -> float | None:
    r"""Return microns per pixel from an Aperio ImageDescription.

    >>> svs_mpp("Aperio Image Library v11\r\n2220x2967 JPEG/RGB Q=30|AppMag = 20|MPP = 0.4990|")
    0.499
    """
    for part in (description or "").split("|"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == "MPP":
            mpp = _float(value.strip())
            return mpp if mpp and mpp > 0 else None
    return None


def _fei_metadata(meta: ImageMetadata, tif) -> None:
    """FEI / Thermo Fisher SEM: ``[Scan] PixelWidth/PixelHeight`` in metres."""
    fei = tif.fei_metadata or {}
    scan = fei.get("Scan") or fei.get("EScan") or {}
    w, h = _float(scan.get("PixelWidth")), _float(scan.get("PixelHeight"))
    if w and w > 0:
        h = h if h and h > 0 else w
        set_physical_sizes(meta, {"x": (w * 1e9, "nm"), "y": (h * 1e9, "nm")})


def _resolution_metadata(meta: ImageMetadata, page) -> str:
    """Pixel size from XResolution/YResolution, when they can be a measurement.

    Only centimetre or inch units count, and not at a screen or print default
    (:data:`DEFAULT_DPI`, in either unit). Returns why there is no size.
    """
    unit = int(page.tags.valueof(296, default=2))
    per_metre = {2: 1 / 0.0254, 3: 100.0}.get(unit)
    xres = _rational(page.tags.valueof(282))
    yres = _rational(page.tags.valueof(283)) or xres
    if not xres or not yres or xres == 1 and yres == 1:  # 1 pixel per unit: tifffile's default
        return "none is recorded"
    if per_metre is None:
        return "the TIFF resolution tags have no unit"
    dpi = xres * 0.0254 * per_metre
    if any(abs(dpi - d) <= 0.01 * d for d in DEFAULT_DPI):
        return f"the TIFF resolution tags say {dpi:.0f} dpi, a screen or print default, not a measurement"
    # pixels per inch (or cm) -> micrometres per pixel
    set_physical_sizes(meta, {"x": (1e6 / (xres * per_metre), MICROMETRE), "y": (1e6 / (yres * per_metre), MICROMETRE)})
    return ""


def _rational(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return value[0] / value[1] if len(value) == 2 and value[1] else None
    return float(value) or None
