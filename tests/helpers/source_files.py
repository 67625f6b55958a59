"""Source files the reader and convert tests share, written with tifffile directly."""

from __future__ import annotations

import numpy as np
import tifffile

OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
QPI_XML = """<?xml version="1.0" encoding="utf-8"?>
<PerkinElmer-QPI-ImageDescription>
  <DescriptionVersion>2</DescriptionVersion>
  <AcquisitionSoftware>PerkinElmer-QPI</AcquisitionSoftware>
  <ImageType>{kind}</ImageType>
  <IsUnmixedComponent>True</IsUnmixedComponent>
  <Name>{name}</Name>
  <Color>{color}</Color>
  <Objective>20x</Objective>
</PerkinElmer-QPI-ImageDescription>"""


def ramp(shape, dtype="uint16", seed=0):
    """Distinct, non-trivial pixels (so a misplaced tile shows)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4000, size=shape, dtype=np.int64).astype(dtype)


def halves(a):
    return a[..., ::2, ::2]


def ome_xml(images):
    """Hand-written OME-XML (like Bio-Formats writes it) for [(name, pixels_attrs, channels)]."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{OME_NS}">']
    ifd = 0
    for i, (name, attrs, channels) in enumerate(images):
        a = " ".join(f'{k}="{v}"' for k, v in attrs.items())
        parts.append(f'<Image ID="Image:{i}" Name="{name}"><Pixels ID="Pixels:{i}" {a}>')
        for c, ch in enumerate(channels):
            ca = " ".join(f'{k}="{v}"' for k, v in ch.items())
            parts.append(f'<Channel ID="Channel:{i}:{c}" SamplesPerPixel="1" {ca}/>')
        n = int(attrs["SizeC"]) * int(attrs["SizeZ"]) * int(attrs["SizeT"])
        parts.append(f'<TiffData IFD="{ifd}" PlaneCount="{n}"/></Pixels></Image>')
        ifd += n
    parts.append("</OME>")
    return "".join(parts)


def write_subifd_pyramid(path, data, nlevels, tile=256, xml=None, metadata=None):
    kw = dict(tile=(tile, tile), compression="zlib", predictor=True, photometric="minisblack")
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        if xml is not None:
            tw.write(data, subifds=nlevels - 1, description=xml.encode("utf-8"), metadata=None, **kw)
        else:
            tw.write(data, subifds=nlevels - 1, metadata=metadata, **kw)
        level = data
        for _ in range(nlevels - 1):
            level = halves(level)
            tw.write(level, subfiletype=1, **kw)


def write_qptiff(path, data, names, colors, nlevels=3, tile=128, cm_res=20000.0):
    """Mimic a Vectra QPTIFF: channel pages, an RGB thumbnail, reduced pages, overview, label."""
    sw = "PerkinElmer-QPI"
    res = dict(resolution=(cm_res, cm_res), resolutionunit="CENTIMETER")
    with tifffile.TiffWriter(path, bigtiff=True) as tw:

        def channel_pages(level, kind):
            for c, plane in enumerate(level):
                xml = QPI_XML.format(kind=kind, name=names[c], color=",".join(map(str, colors[c])))
                tw.write(
                    plane,
                    tile=(tile, tile),
                    compression="lzw",
                    software=sw,
                    description=xml,
                    metadata=None,
                    photometric="minisblack",
                    **res,
                )

        channel_pages(data, "FullResolution")
        thumb = np.zeros((32, 32, 3), np.uint8)
        tw.write(
            thumb,
            software=sw,
            description=QPI_XML.format(kind="Thumbnail", name="", color=""),
            metadata=None,
            photometric="rgb",
        )
        level = data
        for _ in range(nlevels - 1):
            level = halves(level)
            channel_pages(level, "ReducedResolution")
        for kind in ("Overview", "Label"):
            tw.write(
                np.zeros((24, 40, 3), np.uint8),
                software=sw,
                metadata=None,
                photometric="rgb",
                description=QPI_XML.format(kind=kind, name="", color=""),
            )
