"""Viv's rules for one IFD: geometry, codec, predictor, samples and pixel type.

Each rule reads tifffile's page structure only (never the pixel data) and
fills a :class:`~napari_viv.check.report.CheckReport`.
"""

from __future__ import annotations

from typing import Any

from .. import tifflog
from ..ome.viv import CONVERT_FIX, OME_TYPES, OmeImage
from ..write.codecs import COMPRESSION_NAMES
from .report import CheckReport, TiffFacts

#: Compression codes Viv 0.21 (geotiff 2.1.3) decodes in every environment.
SUPPORTED_COMPRESSION = {1, 5, 7, 8, 32773, 32946, 34887}
_WEBP = 50001
_JPEG, _LZW, _YCBCR = 7, 5, 6
_ZLIB_FIX = CONVERT_FIX + " (zlib, lossless)"
_LITTLE_FIX = CONVERT_FIX + " (writes little-endian)"


def check_page(
    facts: TiffFacts, img: OmeImage, where: str, idx: int, level: int, page: Any, report: CheckReport, seen: set
) -> bool:
    """Check one IFD (plane ``idx``, pyramid ``level``); False when Viv stops there.

    Pages stored like one already checked (same codec, predictor, samples,
    bits, sample format and planar configuration) are not checked again.

    Parameters
    ----------
    facts : TiffFacts
        The file being checked.
    img : OmeImage
        The image the page belongs to.
    where : str
        The image, for messages.
    idx : int
        The plane's IFD index in the main chain.
    level : int
        The pyramid level (0: the IFD itself, else its SubIFD).
    page : tifffile.TiffPage
        The IFD.
    report : CheckReport
        Filled with the broken rules.
    seen : set
        Storage keys of the pages already checked (updated).

    Returns
    -------
    bool
        False when Viv fails on this page.

    Raises
    ------
    NapariVivError
        When the page's data runs past the end of the file.
    """
    what = f"{where}, IFD {idx}" + (f" level {level}" if level else "")
    if level == 0 and (page.imagewidth, page.imagelength) != (img.sizes["X"], img.sizes["Y"]):
        report.error(
            f"{what} is {page.imagewidth}x{page.imagelength} but the OME-XML says "
            f"{img.sizes['X']}x{img.sizes['Y']}; Viv would show wrong geometry",
            CONVERT_FIX,
        )
        return False
    _check_truncation(facts, page)
    key = (
        int(page.compression),
        int(page.predictor),
        page.samplesperpixel,
        page.bitspersample,
        int(page.sampleformat),
        int(page.planarconfig),
    )
    if key in seen:
        return True
    seen.add(key)
    bad = _codec_rules(what, page, facts.tif.byteorder, report)
    bad |= _type_rule(img, what, page, report)
    bad |= check_samples(img, what, page, report)
    return not bad


def _check_truncation(facts: TiffFacts, page: Any) -> None:
    """Refuse a page whose data runs past the end of the file (raises NapariVivError)."""
    ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=False) if n]
    if ends and max(ends) > facts.size:
        raise tifflog.damaged(facts.path)


def _jpeg_chroma_rule(what: str, page: Any, report: CheckReport) -> None:
    sub = page.tags.get("YCbCrSubSampling")
    if (
        int(page.compression) == _JPEG
        and int(page.photometric) == _YCBCR
        and page.samplesperpixel == 3
        and tuple(sub.value if sub is not None else (2, 2)) != (1, 1)
    ):
        report.warn(
            f"{what}: JPEG in YCbCr with chroma subsampling; Viv upsamples chroma "
            "more crudely than libjpeg, so colour edges show fringes in Avivator "
            "(1.5-3 grey levels on average, up to about 40 at sharp edges)",
            CONVERT_FIX + " --compression jpeg --tile-size 256 (re-encodes as "
            "YCbCr 4:4:4; or --compression zlib for lossless)",
        )


def _codec_rules(what: str, page: Any, byteorder: str, report: CheckReport) -> bool:
    """Check the page's codec and predictor; True when Viv fails or decodes wrongly."""
    bad = False
    comp, pred, spp, bits = int(page.compression), int(page.predictor), page.samplesperpixel, page.bitspersample
    name = COMPRESSION_NAMES.get(comp, f"code {comp}")
    if comp == _WEBP:
        report.warn(
            f"{what}: WebP decodes only in a web browser (Avivator works; Viv in Node and other tools fail)",
            CONVERT_FIX + " (zlib)",
        )
    elif comp not in SUPPORTED_COMPRESSION:
        report.error(
            f"{what}: {name} compression ({comp}) is not supported by Viv "
            f"('Unknown compression method identifier: {comp}')",
            _ZLIB_FIX,
        )
        bad = True
    if comp == _JPEG and bits > 8:
        report.error(f"{what}: JPEG with {bits}-bit samples; Viv decodes only 8-bit JPEG", _ZLIB_FIX)
        bad = True
    _jpeg_chroma_rule(what, page, report)
    if comp == _LZW and spp > 1 and int(page.planarconfig) == 1:
        report.error(
            f"{what}: LZW with {spp} samples per pixel; Viv's LZW decoder "
            "fails ('Offset is outside the bounds of the DataView')",
            CONVERT_FIX + " (zlib)",
        )
        bad = True
    if pred == 2 and bits not in (8, 16, 32):
        report.error(
            f"{what}: horizontal predictor with {bits}-bit samples; geotiff "
            f"refuses it ('Predictor 2 not allowed with {bits} bits per sample')",
            CONVERT_FIX + " (floating-point predictor for float64)",
        )
        bad = True
    if pred in (2, 3) and byteorder == ">":
        report.error(
            f"{what}: big-endian with a predictor; Viv decodes it without an error but with silently wrong pixels",
            _LITTLE_FIX,
        )
        bad = True
    return bad


def _type_rule(img: OmeImage, what: str, page: Any, report: CheckReport) -> bool:
    """Check the TIFF sample format against the OME pixel Type; True when they disagree."""
    sf, tb = int(page.sampleformat), page.bitspersample
    expect = OME_TYPES.get(img.type)
    if expect and (sf, tb) != expect:
        report.error(
            f"{what}: TIFF samples are SampleFormat={sf} {tb}-bit but the "
            f"OME-XML says Type={img.type!r}; Viv would mix up the pixel values",
            CONVERT_FIX,
        )
        return True
    return False


def check_samples(img: OmeImage, what: str, page: Any, report: CheckReport) -> bool:
    """Check samples per pixel against the OME-XML; True when Viv fails on them.

    Parameters
    ----------
    img : OmeImage
        The image the page belongs to.
    what : str
        The page, for messages.
    page : tifffile.TiffPage
        The IFD.
    report : CheckReport
        Filled with the broken rules.

    Returns
    -------
    bool
        True when Viv fails on the samples (16-bit RGB is only wrong in Avivator: False).
    """
    spp = page.samplesperpixel
    if spp == 1:
        if img.interleaved:
            report.error(
                f'{what}: the OME-XML says Interleaved="true" but the TIFF has '
                "one sample per pixel; Viv adds an RGB axis that is not there",
                CONVERT_FIX,
            )
            return True
        return False
    if spp != 3:
        report.error(
            f"{what}: {spp} samples per pixel; Viv supports only 3 (RGB), not RGBA or other multi-sample pixels",
            CONVERT_FIX + " (drops alpha or stores samples as channels)",
        )
        return True
    if not img.interleaved:
        planar = " (stored planar)" if int(page.planarconfig) == 2 else ""
        report.error(
            f'{what}: RGB pixels{planar} but the OME-XML lacks Interleaved="true"; '
            "Viv looks for 3 separate planes and fails",
            CONVERT_FIX + ' (writes RGB as interleaved uint8 with Interleaved="true")',
        )
        return True
    if page.bitspersample != 8:
        report.wrong_in_avivator(
            f"{what}: {page.bitspersample}-bit interleaved RGB; Viv loads it but "
            "Avivator renders RGB as 8-bit, so colours will be wrong",
            CONVERT_FIX + " (stores 16-bit RGB as 3 channels)",
        )
    return False
