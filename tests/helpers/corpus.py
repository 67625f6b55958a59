"""A corpus of small OME-TIFFs, good and bad, for checking `napari-viv check`.

Every file is written here with tifffile and hand-made OME-XML (never with
napari_viv's own writer), one defect at a time. Each :class:`CorpusFile`
records where its author put every plane of every pyramid level, so a test
can read the true pixels with tifffile and compare them with what the real
Viv loader returns. ``build(folder)`` writes them all; ``CASES`` names them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

W, H = 300, 200  # level-0 size of most files: small, and not a power of two
TILE = (128, 128)
MICRO = "\u00b5m"
OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
OME_TYPE = {
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "float32": "float",
    "float64": "double",
    "bool": "bit",
}


@dataclass
class CorpusFile:
    """One generated file and where its planes are.

    ``where[i][level][(t, c, z)]`` is ``(ifd, sub)``: main-chain IFD index and
    SubIFD index (None for the IFD itself) holding that plane of image ``i``.
    ``sizes[i]`` is ``(T, C, Z)`` as the author meant it (C counts RGB as one).
    """

    name: str
    path: Path
    where: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    offsets: Path | None = None


# -- pixels ------------------------------------------------------------------


def pixels(dtype="uint16", shape=(H, W), seed=0) -> np.ndarray:
    """Random pixels spanning a good part of the dtype's range."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    lo, hi = max(info.min, -30000), min(info.max, 60000)
    return rng.integers(lo, hi, shape, endpoint=True).astype(dt)


def smooth(shape=(H, W), seed=0) -> np.ndarray:
    """Smooth uint8 pixels (for lossy JPEG)."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    img = 128 + 100 * np.sin(x / 23.0 + seed) * np.cos(y / 17.0)
    if len(shape) == 3:
        img = np.stack([img, img[::-1], 255 - img], axis=-1)
    return img.astype(np.uint8)


def halve(a: np.ndarray, mode="floor") -> np.ndarray:
    """Next level: every second pixel, sized floor/ceil of half, or a quarter."""
    if mode == "x4":
        return np.ascontiguousarray(a[::4, ::4])
    b = a[::2, ::2]
    if mode == "floor":
        b = b[: a.shape[0] // 2, : a.shape[1] // 2]
    return np.ascontiguousarray(b)


def pyramid(a, nlevels=3, mode="floor") -> list:
    out = [a]
    for _ in range(nlevels - 1):
        out.append(halve(out[-1], mode))
    return out


# -- OME-XML -----------------------------------------------------------------


def image_xml(
    i,
    *,
    sx,
    sy,
    sc=1,
    sz=1,
    st=1,
    type_="uint16",
    order="XYZCT",
    channels=None,
    image_id=True,
    pixels_extra="",
    channel_extra="",
    nplanes=None,
    spp=1,
    tiffdata="",
    interleaved=None,
) -> str:
    """One <Image>; ``channels`` is a list of attribute strings (or [] for none)."""
    if channels is None:
        nch = 1 if interleaved else sc
        channels = [f'ID="Channel:{i}:{c}" Name="ch{c}" SamplesPerPixel="{spp}"{channel_extra}' for c in range(nch)]
    chan = "".join(f"<Channel {attrs}/>" for attrs in channels)
    inter = f' Interleaved="{str(interleaved).lower()}"' if interleaved is not None else ""
    iid = f' ID="Image:{i}"' if image_id else ""
    td = tiffdata if tiffdata else f'<TiffData PlaneCount="{nplanes or sc * sz * st}"/>'
    return (
        f'<Image{iid} Name="img{i}"><Pixels ID="Pixels:{i}" DimensionOrder="{order}" '
        f'Type="{type_}" SizeX="{sx}" SizeY="{sy}" SizeC="{sc}" SizeZ="{sz}" SizeT="{st}" '
        f'BigEndian="false"{inter}{pixels_extra}>{chan}{td}</Pixels></Image>'
    )


def ome(*images: str, prefix: str | None = None) -> str:
    body = "".join(images)
    if prefix:
        body = body.replace("<", f"<{prefix}:").replace(f"<{prefix}:/", f"</{prefix}:")
        return f'<?xml version="1.0" encoding="UTF-8"?><{prefix}:OME xmlns:{prefix}="{OME_NS}">{body}</{prefix}:OME>'
    return f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{OME_NS}">{body}</OME>'


# -- writing -----------------------------------------------------------------


def plane_index(order: str, t: int, c: int, z: int, T: int, C: int, Z: int) -> int:
    """Rasterization of (t, c, z) in an OME DimensionOrder (leftmost fastest)."""
    size = {"Z": Z, "C": C, "T": T}
    pos = {"Z": z, "C": c, "T": t}
    idx, stride = 0, 1
    for axis in order[2:]:
        idx += pos[axis] * stride
        stride *= size[axis]
    return idx


def write_subifd_file(path, images, xml, *, sub_counts=None, offsets="good", trailer=(), **kw) -> CorpusFile:
    """Write ``images`` (each a dict: planes={(t,c,z): [levels]}, T, C, Z, order)
    with pyramid levels as SubIFDs, then the ``trailer`` arrays as extra IFDs.
    ``kw`` goes to every ``TiffWriter.write``."""
    byteorder = kw.pop("byteorder", "<")
    bigtiff = kw.pop("bigtiff", False)
    kw.setdefault("tile", TILE)
    kw.setdefault("photometric", "minisblack")
    kw.setdefault("metadata", None)
    cf = CorpusFile(Path(path).name, Path(path))
    ifd = 0
    with tifffile.TiffWriter(path, byteorder=byteorder, bigtiff=bigtiff) as tw:
        for img in images:
            T, C, Z, order = img["T"], img["C"], img["Z"], img["order"]
            by_ifd = {
                plane_index(order, t, c, z, T, C, Z): (t, c, z) for t in range(T) for c in range(C) for z in range(Z)
            }
            nlev = max(len(v) for v in img["planes"].values())
            where = [{} for _ in range(nlev)]
            for rel in sorted(by_ifd):
                key = by_ifd[rel]
                levels = img["planes"][key]
                nsub = len(levels) - 1
                if sub_counts is not None:
                    nsub = sub_counts(ifd)
                extra = {"description": xml.encode("utf-8")} if ifd == 0 else {}
                tw.write(levels[0], subifds=nsub or None, **extra, **kw)
                where[0][key] = (ifd, None)
                for lev in range(1, nsub + 1):
                    tw.write(levels[lev], subfiletype=1, **kw)
                    where[lev][key] = (ifd, lev - 1)
                ifd += 1
            cf.where.append(where)
            cf.sizes.append((T, C, Z))
        for a in trailer:
            tw.write(a, photometric="minisblack", metadata=None)
    finish_offsets(cf, offsets)
    return cf


def write_mainchain_file(path, chain, xml, where, sizes, *, offsets="good", **kw) -> CorpusFile:
    """Write every array of ``chain`` as its own main-chain IFD (no SubIFDs)."""
    kw.setdefault("tile", TILE)
    kw.setdefault("photometric", "minisblack")
    kw.setdefault("metadata", None)
    with tifffile.TiffWriter(path) as tw:
        for n, a in enumerate(chain):
            extra = {"description": xml.encode("utf-8")} if n == 0 else {}
            tw.write(a, **extra, **kw)
    cf = CorpusFile(Path(path).name, Path(path), where=where, sizes=sizes)
    finish_offsets(cf, offsets)
    return cf


def finish_offsets(cf: CorpusFile, mode: str) -> None:
    """Write the sibling offsets.json: "good", "missing", "wrong" or "short"."""
    if mode == "missing":
        return
    with tifffile.TiffFile(cf.path) as tif:
        offs = [p.offset for p in tif.pages]
        subs = [o for p in tif.pages for o in (p.subifds or ())]
    if mode == "wrong":
        if len(offs) < 2:
            raise ValueError("need two IFDs for wrong offsets")
        offs[1] = subs[0] if subs else offs[0]
    elif mode == "short":
        offs = offs[:1]
    out = cf.path.with_name(cf.path.name.replace(".ome.tif", ".offsets.json"))
    out.write_text(json.dumps(offs))
    cf.offsets = out


def simple(
    path,
    dtype="uint16",
    *,
    C=2,
    Z=1,
    T=1,
    order="XYZCT",
    nlevels=3,
    mode="floor",
    size=(H, W),
    xml_kw=None,
    type_=None,
    data=None,
    offsets="good",
    **kw,
) -> CorpusFile:
    """The common case: one image, ``C*Z*T`` planes, SubIFD pyramid."""
    planes = {}
    n = 0
    for t in range(T):
        for c in range(C):
            for z in range(Z):
                base = data(n) if data else pixels(dtype, size, seed=n)
                planes[(t, c, z)] = pyramid(base, nlevels, mode)
                n += 1
    sy, sx = size
    xml = ome(
        image_xml(
            0,
            sx=sx,
            sy=sy,
            sc=C,
            sz=Z,
            st=T,
            order=order,
            type_=type_ or OME_TYPE[np.dtype(dtype).name],
            **(xml_kw or {}),
        )
    )
    img = dict(planes=planes, T=T, C=C, Z=Z, order=order)
    return write_subifd_file(path, [img], xml, offsets=offsets, **kw)


def rgb(path, *, dtype="uint8", samples=3, interleaved=True, Z=1, T=1, data=None, order="XYZCT", **kw) -> CorpusFile:
    """One RGB(A) image stored with SamplesPerPixel > 1 (one IFD per Z/T plane)."""
    planar = kw.get("planarconfig") == "separate"
    levs = {}
    for t in range(T):
        for z in range(Z):
            base = data if data is not None else pixels(dtype, (H, W, samples), seed=t * Z + z)
            lv = pyramid(base, 3)
            if planar:
                lv = [np.ascontiguousarray(np.moveaxis(a, -1, 0)) for a in lv]
            levs[(t, 0, z)] = lv
    xml = ome(
        image_xml(
            0,
            sx=W,
            sy=H,
            sc=samples,
            sz=Z,
            st=T,
            type_=OME_TYPE[np.dtype(dtype).name],
            spp=samples,
            interleaved=interleaved,
            nplanes=Z * T,
            order=order,
        )
    )
    img = dict(planes=levs, T=T, C=1, Z=Z, order=order)
    kw.setdefault("photometric", "rgb")
    return write_subifd_file(path, [img], xml, **kw)


# -- the cases ---------------------------------------------------------------


def _units(unit):
    extra = ' PhysicalSizeX="0.5" PhysicalSizeY="0.5"'
    if unit is not None:
        extra += f' PhysicalSizeXUnit="{unit}" PhysicalSizeYUnit="{unit}"'
    return {"pixels_extra": extra}


def _legacy(path):
    """Bio-Formats' legacy pyramid: one <Image> per level, all in the main chain."""
    lv = pyramid(pixels("uint16", seed=1), 3)
    imgs = [image_xml(i, sx=a.shape[1], sy=a.shape[0]) for i, a in enumerate(lv)]
    where = [[{(0, 0, 0): (i, None)}] for i in range(3)]
    return write_mainchain_file(path, lv, ome(*imgs), where, [(1, 1, 1)] * 3)


def _multi_nosub(path):
    a, b = pixels("uint16", seed=1), pixels("uint16", seed=2)
    xml = ome(image_xml(0, sx=W, sy=H), image_xml(1, sx=W, sy=H))
    where = [[{(0, 0, 0): (0, None)}], [{(0, 0, 0): (1, None)}]]
    return write_mainchain_file(path, [a, b], xml, where, [(1, 1, 1)] * 2)


def _multi(path, levels2=3):
    imgs, xmls = [], []
    for i, nlev in enumerate((3, levels2)):
        imgs.append(dict(planes={(0, 0, 0): pyramid(pixels("uint16", seed=i), nlev)}, T=1, C=1, Z=1, order="XYZCT"))
        xmls.append(image_xml(i, sx=W, sy=H))
    return write_subifd_file(path, imgs, ome(*xmls))


def _plane_without_subifds(path):
    return simple(path, sub_counts=lambda ifd: 0 if ifd == 1 else 2)


def _multifile(path):
    tiffdata = (
        f'<TiffData FirstC="0" IFD="0" PlaneCount="1"><UUID FileName="{Path(path).name}">urn:uuid:1'
        '</UUID></TiffData><TiffData FirstC="1" IFD="0" PlaneCount="1"><UUID '
        'FileName="other.ome.tif">urn:uuid:2</UUID></TiffData>'
    )
    xml = ome(image_xml(0, sx=W, sy=H, sc=2, tiffdata=tiffdata))
    img = dict(planes={(0, 0, 0): pyramid(pixels("uint16"), 3)}, T=1, C=1, Z=1, order="XYZCT")
    cf = write_subifd_file(path, [img], xml)
    cf.sizes = [(1, 2, 1)]
    return cf


def _split_tables(stream: bytes) -> tuple[bytes, bytes]:
    """A JPEG stream as (abbreviated stream without DQT, tables-only stream)."""
    import struct

    out, tables, i = bytearray(stream[:2]), bytearray(), 2
    while stream[i : i + 2] != b"\xff\xda":  # markers up to the start of scan
        size = struct.unpack(">H", stream[i + 2 : i + 4])[0]
        (tables if stream[i + 1] == 0xDB else out).extend(stream[i : i + 2 + size])
        i += 2 + size
    return bytes(out) + stream[i:], b"\xff\xd8" + bytes(tables) + b"\xff\xd9"


def _jpeg_tables(path, *, rgb_: bool, ycbcr: bool = False) -> CorpusFile:
    """JPEG tiles as abbreviated streams sharing one JPEGTables tag (as Aperio and
    Bio-Formats write them): 8-bit gray (2 channels) or RGB, 3 SubIFD levels."""
    import imagecodecs

    C = 1 if rgb_ else 2
    bases = [smooth((H, W, 3)) if rgb_ else smooth(seed=c) for c in range(C)]
    kind = dict(colorspace="rgb", outcolorspace="ycbcr" if ycbcr else "rgb", subsampling=(2, 2)) if rgb_ else {}
    xml = ome(
        image_xml(
            0,
            sx=W,
            sy=H,
            sc=3 if rgb_ else C,
            type_="uint8",
            spp=3 if rgb_ else 1,
            interleaved=True if rgb_ else None,
            nplanes=1 if rgb_ else C,
        )
    )
    cf = CorpusFile(Path(path).name, Path(path))
    where = [{} for _ in range(3)]
    with tifffile.TiffWriter(path) as tw:
        for c, base in enumerate(bases):
            for lev, a in enumerate(pyramid(base, 3)):
                th, tw_ = TILE
                tiles = []
                for y in range(0, a.shape[0], th):
                    for x in range(0, a.shape[1], tw_):
                        full = np.zeros((th, tw_) + a.shape[2:], np.uint8)
                        part = a[y : y + th, x : x + tw_]
                        full[: part.shape[0], : part.shape[1]] = part
                        tiles.append(imagecodecs.jpeg8_encode(full, level=90, **kind))
                parts = [_split_tables(s) for s in tiles]
                shared = {tb for _, tb in parts}
                assert len(shared) == 1, "tiles of one level share their quantisation tables"
                extra = {"description": xml.encode()} if lev == 0 and c == 0 else {}
                tw.write(
                    iter([s for s, _ in parts]),
                    shape=a.shape,
                    dtype=np.uint8,
                    tile=TILE,
                    compression=7,
                    jpegtables=shared.pop(),
                    metadata=None,
                    photometric=("ycbcr" if ycbcr else "rgb") if rgb_ else "minisblack",
                    subsampling=(2, 2) if rgb_ and ycbcr else None,
                    compressionargs={"outcolorspace": "rgb"} if rgb_ and not ycbcr else None,
                    subifds=2 if lev == 0 else None,
                    subfiletype=1 if lev else 0,
                    **extra,
                )
                where[lev][(0, c, 0)] = (c, None if lev == 0 else lev - 1)
    cf.where.append(where)
    cf.sizes.append((1, C, 1))
    finish_offsets(cf, "good")
    return cf


def patch_tag(path, code, value) -> None:
    """Overwrite tag ``code`` in every IFD and SubIFD (to forge odd files)."""
    with tifffile.TiffFile(path, mode="r+") as tif:
        for page in tif.pages:
            for p in [page] + [page.pages[j] for j in range(len(page.subifds or ()))]:
                p.tags[code].overwrite(value)


def _pred2_64bit(path):
    """float64 with the horizontal predictor (forged from int64: tifffile refuses)."""
    cf = simple(
        path,
        "int64",
        type_="double",
        compression="zlib",
        predictor=2,
        data=lambda n: pixels("int32", seed=n).astype("int64"),
    )
    patch_tag(path, 339, 3)  # SampleFormat -> IEEE float
    return cf


def _uuid(path, filename=True, name=None):
    fname = f' FileName="{name or Path(path).name}"' if filename else ""
    tiffdata = f'<TiffData IFD="0" PlaneCount="2"><UUID{fname}>urn:uuid:1</UUID></TiffData>'
    return simple(path, xml_kw={"tiffdata": tiffdata})


def _size_mismatch(path):
    """SizeX in the OME-XML is wider than the IFDs."""
    return _with_xml(path, image_xml(0, sx=W + 40, sy=H, sc=2))


def _with_xml(path, *image_xmls, C=2, prefix=None, raw=None):
    """Two uint16 planes with SubIFDs and the given OME-XML (or raw description)."""
    planes = {(0, c, 0): pyramid(pixels("uint16", seed=c), 3) for c in range(C)}
    xml = raw if raw is not None else ome(*image_xmls, prefix=prefix)
    img = dict(planes=planes, T=1, C=C, Z=1, order="XYZCT")
    return write_subifd_file(path, [img], xml)


def _missing_planes(path):
    """The OME-XML says 3 Z planes; only 2 IFDs are in the file."""
    return _with_xml(path, image_xml(0, sx=W, sy=H, sz=3), C=2)


def _thumbnail(path):
    """A thumbnail IFD after all planes (allowed)."""
    return simple(path, trailer=[pixels("uint8", (32, 48))])


def _garbage_offsets(path):
    cf = simple(path)
    cf.offsets.write_text("[8, 12")
    return cf


def _planar_tifffile(path):
    """Planar RGB with tifffile's own OME-XML (Interleaved="false")."""
    data = pixels("uint8", (3, H, W))
    tifffile.imwrite(path, data, photometric="rgb", planarconfig="separate", tile=TILE)
    return describe(path)


def _type_mismatch(path):
    return simple(path, "int16", type_="uint16")


#: name -> builder(path) -> CorpusFile. Names are the file names' stems.
CASES: dict[str, Callable[[Path], CorpusFile]] = {
    # codecs
    "codec_none": lambda p: simple(p),
    "codec_zlib_pred": lambda p: simple(p, compression="zlib", predictor=True),
    "codec_lzw": lambda p: simple(p, compression="lzw"),
    "codec_lzw_pred": lambda p: simple(p, compression="lzw", predictor=True),
    "codec_packbits": lambda p: simple(p, "uint8", compression="packbits"),
    "codec_deflate_32946": lambda p: simple(p, compression=32946),
    "codec_zstd": lambda p: simple(p, compression="zstd"),
    "codec_jpeg2000": lambda p: simple(p, compression="jpeg2000"),
    "codec_lerc": lambda p: simple(p, "float32", compression="lerc"),
    "codec_jpeg_gray": lambda p: simple(p, "uint8", compression="jpeg", data=lambda n: smooth(seed=n)),
    # dtypes
    **{
        f"dtype_{d}": lambda p, d=d: simple(p, d, compression="zlib")
        for d in ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32")
    },
    "dtype_float64_pred3": lambda p: simple(p, "float64", compression="zlib", predictor=True),
    "dtype_uint8_3ch": lambda p: simple(p, "uint8", C=3, compression="zlib"),
    "dtype_bool": lambda p: simple(p, "bool"),
    "dtype_mismatch": _type_mismatch,
    "dtype_float64_pred2": _pred2_64bit,
    # RGB
    "rgb_interleaved": lambda p: rgb(p, compression="zlib"),
    "rgb_interleaved_raw": lambda p: rgb(p),
    "rgb_lzw": lambda p: rgb(p, compression="lzw"),
    "rgb_planar": lambda p: rgb(p, planarconfig="separate"),
    "rgb_planar_lzw": lambda p: rgb(p, planarconfig="separate", compression="lzw"),
    "rgb_planar_tifffile": _planar_tifffile,
    "rgba": lambda p: rgb(p, samples=4, extrasamples=[2]),
    "rgb_uint16": lambda p: rgb(p, dtype="uint16", compression="zlib"),
    "rgb_not_interleaved": lambda p: rgb(p, interleaved=None),
    "rgb_interleaved_z2": lambda p: rgb(p, Z=2, compression="zlib"),
    "rgb_interleaved_z2_xyczt": lambda p: rgb(p, Z=2, compression="zlib", order="XYCZT"),
    "rgb_interleaved_zt_xyzct": lambda p: rgb(p, Z=2, T=2, compression="zlib"),
    "rgb_interleaved_zt_xyztc": lambda p: rgb(p, Z=2, T=2, compression="zlib", order="XYZTC"),
    "rgb_jpeg": lambda p: rgb(p, compression="jpeg", data=smooth((H, W, 3)), compressionargs={"outcolorspace": "rgb"}),
    "rgb_jpeg_ycbcr": lambda p: rgb(p, compression="jpeg", data=smooth((H, W, 3))),
    "rgb_jpeg_ycbcr_444": lambda p: rgb(p, compression="jpeg", data=smooth((H, W, 3)), subsampling=(1, 1)),
    "rgb_jpeg_tables": lambda p: _jpeg_tables(p, rgb_=True),
    "rgb_jpeg_ycbcr_tables": lambda p: _jpeg_tables(p, rgb_=True, ycbcr=True),
    "codec_jpeg_gray_tables": lambda p: _jpeg_tables(p, rgb_=False),
    "rgb_uint16_zlib": lambda p: rgb(p, dtype="uint16", compression="zlib"),
    "rgb_uint16_raw": lambda p: rgb(p, dtype="uint16"),
    "rgb_float32": lambda p: rgb(p, dtype="float32", compression="zlib"),
    # units
    "unit_micro_sign": lambda p: simple(p, xml_kw=_units(MICRO)),
    "unit_um": lambda p: simple(p, xml_kw=_units("um")),
    "unit_greek_mu": lambda p: simple(p, xml_kw=_units("\u03bcm")),
    "unit_nm": lambda p: simple(p, xml_kw=_units("nm")),
    "unit_none": lambda p: simple(p, xml_kw=_units(None)),
    "unit_only_x": lambda p: simple(p, xml_kw={"pixels_extra": ' PhysicalSizeX="0.5"'}),
    # OME-XML
    "xml_channel_no_id": lambda p: simple(p, xml_kw={"channels": ['Name="a"', 'Name="b"']}),
    "xml_no_channel": lambda p: simple(p, xml_kw={"channels": []}),
    "xml_image_no_id": lambda p: simple(p, xml_kw={"image_id": False}),
    "xml_type_upper": lambda p: simple(p, type_="UINT16"),
    "xml_color_hex": lambda p: simple(p, xml_kw={"channel_extra": ' Color="#FF0000"'}),
    "xml_color_int": lambda p: simple(p, xml_kw={"channel_extra": ' Color="-16776961"'}),
    "xml_multifile": _multifile,
    "xml_prefix": lambda p: _with_xml(p, image_xml(0, sx=W, sy=H, sc=2), prefix="ome"),
    "xml_uuid_with_filename": _uuid,
    "xml_uuid_without_filename": lambda p: _uuid(p, filename=False),
    "xml_uuid_renamed": lambda p: _uuid(p, name="before_renaming.ome.tif"),
    "xml_extras": lambda p: _with_xml(
        p,
        raw=(
            f'<!-- made by hand --><OME xmlns="{OME_NS}"><Image ID="Image:0" Name="x">'
            "<AcquisitionDate>2024-01-01T00:00:00</AcquisitionDate><Description>d</Description>"
            f'<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="{W}" SizeY="{H}" '
            'SizeC="2" SizeZ="1" SizeT="1"><Channel ID="Channel:0:0"/><Channel ID="Channel:0:1"/>'
            '<Plane TheZ="0" TheC="0" TheT="0"/></Pixels></Image><StructuredAnnotations>'
            '<XMLAnnotation ID="Annotation:0"><Value><k>v</k></Value></XMLAnnotation>'
            "</StructuredAnnotations></OME>"
        ),
    ),
    "xml_not_ome": lambda p: _with_xml(p, raw="ImageJ=1.54f\nimages=2\nchannels=2\n"),
    "xml_size_mismatch": _size_mismatch,
    "xml_missing_planes": _missing_planes,
    "xml_channel_count": lambda p: simple(p, xml_kw={"channels": ['ID="Channel:0:0"']}),
    "xml_tiffdata_disagrees": lambda p: simple(
        p,
        xml_kw={
            "tiffdata": '<TiffData IFD="1" FirstC="0" PlaneCount="1"/><TiffData IFD="0" FirstC="1" PlaneCount="1"/>'
        },
    ),
    "xml_size_hex": lambda p: _with_xml(
        p, raw=ome(image_xml(0, sx=W, sy=H, sc=2)).replace(f'SizeX="{W}"', f'SizeX="{hex(W)}"')
    ),
    "xml_size_fraction": lambda p: _with_xml(
        p, raw=ome(image_xml(0, sx=W, sy=H, sc=2)).replace(f'SizeX="{W}"', f'SizeX="{W}.5"')
    ),
    "xml_tiffdata_nan": lambda p: simple(p, xml_kw={"tiffdata": '<TiffData IFD="first"/>'}),
    "xml_order_xyczt": lambda p: simple(p, C=2, Z=2, T=2, order="XYCZT"),
    "xml_order_xytzc": lambda p: simple(p, C=2, Z=2, T=2, order="XYTZC"),
    # layouts
    "layout_legacy": _legacy,
    "layout_multi_nosubifds": _multi_nosub,
    "layout_multi_subifds": _multi,
    "layout_multi_fewer_levels": lambda p: _multi(p, levels2=2),
    "layout_plane_without_subifds": _plane_without_subifds,
    "layout_single_level": lambda p: simple(p, nlevels=1),
    "layout_strips": lambda p: simple(p, tile=None, rowsperstrip=16),
    "layout_tile_rect": lambda p: simple(p, tile=(128, 64)),
    "layout_tile_240": lambda p: simple(p, tile=(240, 240), size=(500, 700)),
    "layout_tile_240_rgb_jpeg": lambda p: rgb(p, compression="jpeg", tile=(240, 240), data=smooth((H, W, 3))),
    "layout_thumbnail": _thumbnail,
    "layout_small_image": lambda p: simple(p, size=(100, 80), nlevels=1),
    "layout_multi_more_levels": lambda p: _multi(p, levels2=4),
    "layout_bigtiff": lambda p: simple(p, bigtiff=True, compression="zlib"),
    # byte order
    "endian_big_raw": lambda p: simple(p, byteorder=">"),
    "endian_big_zlib": lambda p: simple(p, byteorder=">", compression="zlib"),
    "endian_big_lzw_pred": lambda p: simple(p, byteorder=">", compression="lzw", predictor=True),
    "endian_big_zlib_pred": lambda p: simple(p, byteorder=">", compression="zlib", predictor=True),
    "endian_big_float_pred3": lambda p: simple(p, "float32", byteorder=">", compression="zlib", predictor=True),
    # level sizes
    "levels_floor_odd": lambda p: simple(p, size=(201, 301)),
    "levels_ceil": lambda p: simple(p, size=(201, 301), mode="ceil"),
    "levels_x4": lambda p: simple(p, mode="x4"),
    # offsets.json
    "offsets_missing": lambda p: simple(p, offsets="missing"),
    "offsets_wrong": lambda p: simple(p, offsets="wrong"),
    "offsets_short": lambda p: simple(p, offsets="short"),
    "offsets_garbage": _garbage_offsets,
}


def describe(path, offsets=None) -> CorpusFile:
    """Where tifffile's own reading of a file puts each plane and level.

    For files made by other tools (e.g. napari_viv's writer): tifffile's
    series/levels interpretation decides the locations, not Viv and not
    napari_viv.check.rules.
    """
    cf = CorpusFile(Path(path).name, Path(path), offsets=offsets)
    with tifffile.TiffFile(path) as tif:
        loc = {}
        for i, page in enumerate(tif.pages):
            loc[page.offset] = (i, None)
            for j, off in enumerate(page.subifds or ()):
                loc[off] = (i, j)
        for series in tif.series:
            axes = series.axes
            rgb = axes.endswith("S")
            outer = axes[: -3 if rgb else -2]
            shape = series.shape[: len(outer)]
            where = []
            for level in series.levels:
                planes = {}
                for page, idx in zip(level.pages, np.ndindex(*shape), strict=False):
                    pos = dict(zip(outer.lower(), idx, strict=True))
                    planes[(pos.get("t", 0), pos.get("c", 0), pos.get("z", 0))] = loc[page.offset]
                where.append(planes)
            cf.where.append(where)
            dims = dict(zip(outer, shape, strict=True))
            cf.sizes.append((dims.get("T", 1), dims.get("C", 1), dims.get("Z", 1)))
    return cf


def build(folder, names=None) -> dict[str, CorpusFile]:
    """Write the corpus (or the named cases) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names or CASES:
        out[name] = CASES[name](folder / f"{name}.ome.tif")
    return out
