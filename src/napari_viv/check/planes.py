"""Viv's rules for where an OME-TIFF keeps its planes, levels and pixels.

Each rule is a function over a :class:`TiffFacts` (the file being read)
that fills a :class:`~napari_viv.check.report.CheckReport`; a rule that
returns False means Viv stops there, so later rules would only repeat it.
"""

from __future__ import annotations

from typing import Any

from ..ome.viv import CONVERT_FIX, OmeImage, js_int
from ..write.codecs import COMPRESSION_NAMES
from .pages import check_page, check_samples
from .report import CheckReport, TiffFacts

#: Largest lowest level Viv handles comfortably as one texture, and hard limit.
SMALLEST_LEVEL_WARN = 4096
SMALLEST_LEVEL_MAX = 16384
_TILE_FIX = CONVERT_FIX + " (512x512 tiles)"


def check_layout(facts: TiffFacts, images: list[OmeImage], report: CheckReport) -> None:
    """Check that every image's planes and levels are where Viv looks for them.

    Parameters
    ----------
    facts : TiffFacts
        The file being checked.
    images : list of OmeImage
        The images the OME-XML describes.
    report : CheckReport
        Filled with the broken rules.
    """
    first = facts.tif.pages.first
    nsub = len(first.subifds or ())
    facts.levels = nsub + 1
    if nsub == 0 and len(images) > 1:
        if _looks_legacy(images):
            report.error(
                f"pyramid levels are stored as {len(images)} separate images "
                "(legacy layout); Viv 0.21 cannot read levels >= 1",
                CONVERT_FIX + " (stores levels as SubIFDs)",
            )
        else:
            report.error(
                f"the file holds {len(images)} images without SubIFD pyramids; Viv "
                "mistakes them for a legacy pyramid, shows only the first image and "
                "fails at other zoom levels",
                "export each image to its own file with `napari-viv convert`",
            )
        return
    start = 0
    for img in images:
        _check_image_layout(facts, img, start, report)
        start += img.sizes["Z"] * img.sizes["C"] * img.sizes["T"]
    if start < facts.npages:
        report.warn(
            f"the main IFD chain has {facts.npages} IFDs but the OME-XML "
            f"describes {start} planes; Viv ignores the extra IFDs",
            "nothing needed if the extra IFDs are thumbnails",
        )


def _looks_legacy(images: list[OmeImage]) -> bool:
    sx = [im.sizes["X"] for im in images]
    return all(b in (a // 2, (a + 1) // 2) for a, b in zip(sx, sx[1:], strict=False))


def _plane_indices(img: OmeImage, start: int, compact: bool = False) -> list[int]:
    """Return the main-chain IFD index Viv reads for each (t, c, z) of ``img``.

    Viv strides over SizeC even for interleaved RGB; ``compact`` gives the
    indices as the planes are really stored (one IFD per RGB plane).
    """
    Z, C, T = img.sizes["Z"], img.sizes["C"], img.sizes["T"]
    if compact and img.interleaved:
        C = 1
    size = {"z": Z, "c": C, "t": T}
    order = img.order[2:].lower()  # e.g. "zct": fastest first
    out = []
    for t in range(T):
        for c in range(1 if img.interleaved else C):
            for z in range(Z):
                idx, stride = 0, 1
                for axis in order:
                    idx += {"z": z, "c": c, "t": t}[axis] * stride
                    stride *= size[axis]
                out.append(start + idx)
    return out


def _check_image_layout(facts: TiffFacts, img: OmeImage, start: int, report: CheckReport) -> None:
    """Check one image's planes, from main-chain IFD ``start`` on."""
    where = f"Image {img.index}"
    _image_caveats(img, where, start, report)
    indices = _plane_indices(img, start)
    if indices != _plane_indices(img, start, compact=True):
        report.error(
            f"{where}: interleaved RGB with several Z/T planes in DimensionOrder "
            f"{img.order}; Viv counts 3 planes per RGB plane and reads the wrong IFDs",
            "re-export with C last in DimensionOrder (XYZTC), or store the colours as 3 channels",
        )
        return
    if max(indices) >= facts.npages:
        if start < facts.npages and check_samples(img, f"{where}, IFD {start}", facts.tif.pages[start], report):
            return  # samples explain the missing planes better
        report.error(
            f"{where}: the OME-XML describes {len(indices)} planes from IFD {start} "
            f"but the file has only {facts.npages} IFDs in its main chain; Viv "
            "fails with 'No image at index'",
            CONVERT_FIX,
        )
        return
    seen: set = set()
    for n, idx in enumerate(indices):
        if not check_plane(facts, img, where, idx, facts.tif.pages[idx], report, seen, first=n == 0):
            return


def check_plane(
    facts: TiffFacts, img: OmeImage, where: str, idx: int, page: Any, report: CheckReport, seen: set, *, first: bool
) -> bool:
    """Check one plane (IFD ``idx``) and its levels; False when Viv stops there.

    Parameters
    ----------
    facts : TiffFacts
        The file being checked.
    img : OmeImage
        The image the plane belongs to.
    where : str
        The image, for messages.
    idx : int
        The plane's IFD index.
    page : tifffile.TiffPage
        The plane's IFD.
    report : CheckReport
        Filled with the broken rules.
    seen : set
        Storage keys of the pages already checked (updated).
    first : bool
        True for the image's first plane (described and checked for tiles).

    Returns
    -------
    bool
        False when Viv fails on this plane.
    """
    levels = _plane_levels(facts, where, idx, page, report)
    if levels is None:
        return False
    if first:
        _check_plane0(img, where, levels, report)
    for level, lp in enumerate(levels):
        if not check_page(facts, img, where, idx, level, lp, report, seen):
            return False
    return _check_level_sizes(where, idx, levels, report)


def _tiffdata_caveat(img: OmeImage, where: str, start: int, report: CheckReport) -> None:
    """Viv ignores TiffData and takes planes in DimensionOrder: say so when they disagree."""
    Z, T = img.sizes["Z"], img.sizes["T"]
    C_planes = 1 if img.interleaved else img.sizes["C"]
    for td in img.tiffdata:
        if "IFD" not in td:
            continue
        first = [js_int(td.get(k, "0")) for k in ("FirstT", "FirstC", "FirstZ", "IFD")]
        t, c, z, ifd = first
        if t is None or c is None or z is None or ifd is None:
            continue
        if not (t < T and c < C_planes and z < Z):
            continue
        flat = OmeImage(img.index, img.order, img.type, {"Z": Z, "C": C_planes, "T": T}, False, [])
        n = _plane_indices(flat, start)[(t * C_planes + c) * Z + z]
        if n != ifd:
            report.warn(
                f"{where}: TiffData puts plane (t={t}, c={c}, z={z}) in IFD "
                f"{td['IFD']}, but Viv ignores TiffData and reads IFD {n}; Viv and "
                "Bio-Formats will show different planes",
                CONVERT_FIX,
            )
            return


def _image_caveats(img: OmeImage, where: str, start: int, report: CheckReport) -> None:
    """Warn about what Viv loads fine but surprises people in Avivator."""
    C = img.sizes["C"]
    samples = sum(js_int(ch.get("SamplesPerPixel", "1")) or 1 for ch in img.channels)
    if not img.interleaved and samples != C:
        report.warn(
            f"{where}: SizeC is {C} but the <Channel> elements describe {samples}; "
            "Avivator shows unnamed or missing channels",
            "re-export with `napari-viv convert FILE OUT.ome.tif --channel-names A,B,...`",
        )
    if not img.interleaved and C == 3 and img.type == "uint8":
        report.warn(
            f"{where}: 3 uint8 channels; Avivator displays any 3-channel 8-bit image as RGB with fixed 0-255 contrast",
            "fine for colour images; for fluorescence export as uint16 or with another channel count",
        )
    if len(img.physical) == 1:
        report.warn(
            f"{where}: only PhysicalSize{img.physical[0]} is set; Viv needs both X and Y for a scale bar",
            "re-export with `napari-viv convert FILE OUT.ome.tif --pixel-size X,Y`",
        )
    _tiffdata_caveat(img, where, start, report)


def _plane_levels(facts: TiffFacts, where: str, idx: int, page: Any, report: CheckReport) -> list | None:
    """Return the pages of plane ``idx``'s levels as Viv reads them, or None when it cannot."""
    nsub = len(page.subifds or ())
    if facts.levels > 1 and nsub == 0:
        report.error(
            f"{where}: IFD {idx} has no SubIFDs although IFD 0 has "
            f"{facts.levels - 1}; Viv cannot find its pyramid levels",
            CONVERT_FIX + " (every plane gets the same SubIFDs)",
        )
        return None
    if nsub < facts.levels - 1:
        report.error(
            f"{where}: IFD {idx} has {nsub} SubIFDs but IFD 0 has "
            f"{facts.levels - 1}; Viv uses the first IFD's level count "
            "everywhere and fails on the missing levels",
            CONVERT_FIX + " (same number of levels for every image)",
        )
        return None
    if nsub > facts.levels - 1:
        report.warn_once(
            "extra levels",
            f"{where}: IFD {idx} has {nsub} SubIFDs but IFD 0 has {facts.levels - 1}; "
            f"Viv shows only {facts.levels} levels",
            CONVERT_FIX,
        )
    return [page] + [page.pages[j] for j in range(facts.levels - 1)]


def _describe(img: OmeImage, where: str, levels: list) -> str:
    """Return the one line saying what Viv will show of an image (the report's ``images``)."""
    base = levels[0]
    sz = img.sizes
    what = f"RGB {img.type}" if img.interleaved else f"{sz['C']} channel{'s' * (sz['C'] > 1)} {img.type}"
    extra = "".join(f", {sz[a]} {a}" for a in "ZT" if sz[a] > 1)
    tiles = f"{base.tilewidth}x{base.tilelength} tiles" if base.is_tiled else "strips"
    comp = int(base.compression)
    codec = COMPRESSION_NAMES.get(comp, str(comp))
    ends = levels[:1] + levels[1:][-1:]
    sizes = " > ".join(f"{p.imagewidth}x{p.imagelength}" for p in ends)
    return f"{where}: {what}{extra}, {len(levels)} level{'s' * (len(levels) > 1)} ({sizes}), {tiles}, {codec}"


def _check_plane0(img: OmeImage, where: str, levels: list, report: CheckReport) -> None:
    """Describe the image, and check its tiles and smallest level (first plane only)."""
    report.images.append(_describe(img, where, levels))
    base = levels[0]
    if not base.is_tiled:
        report.warn(
            f"{where}: pixels are stored in strips, not tiles; Viv works but reads much more data than it shows",
            _TILE_FIX,
        )
    else:
        tw, th = base.tilewidth, base.tilelength
        if tw != th or tw & (tw - 1):
            report.warn(
                f"{where}: tiles are {tw}x{th}; Viv wants square power-of-two "
                "tiles and will read several TIFF tiles per Viv tile",
                _TILE_FIX,
            )
    if img.index == 0:
        last = levels[-1]
        biggest = max(last.imagewidth, last.imagelength)
        text = (
            f"the smallest pyramid level is {last.imagewidth}x{last.imagelength}; "
            "Viv loads the whole lowest level as one GPU texture"
        )
        fix = CONVERT_FIX + " (adds levels until the smallest fits one tile)"
        if biggest > SMALLEST_LEVEL_MAX:
            report.error(text + f", which no GPU allows above {SMALLEST_LEVEL_MAX} pixels", fix)
        elif biggest > SMALLEST_LEVEL_WARN:
            report.warn(text + ", which is slow and may fail on some GPUs", fix)


def _check_level_sizes(where: str, idx: int, levels: list, report: CheckReport) -> bool:
    """Check that each level halves the one before (floor); False when Viv shows wrong geometry."""
    for level in range(1, len(levels)):
        prev, cur = levels[level - 1], levels[level]
        pw, ph = prev.imagewidth, prev.imagelength
        w, h = cur.imagewidth, cur.imagelength
        floor_ok = (w, h) == (pw // 2, ph // 2)
        round_ok = w in (pw // 2, (pw + 1) // 2) and h in (ph // 2, (ph + 1) // 2)
        if round_ok and floor_ok:
            continue
        if round_ok:
            report.warn_once(
                "ceil",
                f"{where}: level {level} is {w}x{h}, rounded up from {pw}x{ph}/2; Viv drops its last row/column",
                CONVERT_FIX + " (rounds level sizes down)",
            )
            continue
        factor = f"{pw / w:.3g}" if w else "?"
        report.error(
            f"{where}, IFD {idx}: level {level} is {w}x{h} but level {level - 1} "
            f"is {pw}x{ph}; Viv assumes exactly 2x downsampling per level "
            f"(this is {factor}x) and shows wrong geometry or empty tiles",
            CONVERT_FIX + " (2x levels)",
        )
        return False
    return True
