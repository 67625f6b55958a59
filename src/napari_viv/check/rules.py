"""Will Viv 0.21 and Avivator open this OME-TIFF with correct pixels?

:func:`check_file` reads only the TIFF structure and the OME-XML (never the
pixel data), so it is fast on multi-gigabyte files. Each rule mirrors what
the Viv loader and Avivator actually do (see docs/troubleshooting.md); a
broken rule becomes a :class:`Finding` with a plain-words fix. Errors mean
Viv will fail or show wrong pixels; warnings mean it works, but slowly or
with a caveat.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .omexml import CONVERT_FIX, OME_TYPES, OmeXmlRules, OmeImage, js_int
from .. import naming, tifflog
from ..errors import NapariVivError
from ..metadata import binary_only_metadata_file, local_name
from ..write.codecs import COMPRESSION_NAMES
from ..text import one_line

#: Compression codes Viv 0.21 (geotiff 2.1.3) decodes in every environment.
SUPPORTED_COMPRESSION = {1, 5, 7, 8, 32773, 32946, 34887}
_WEBP = 50001

#: Largest lowest level Viv handles comfortably as one texture, and hard limit.
SMALLEST_LEVEL_WARN = 4096
SMALLEST_LEVEL_MAX = 16384



@dataclass
class Finding:
    """One broken rule: ``severity`` is "error" or "warning"."""

    severity: str
    message: str
    fix: str


@dataclass
class CheckReport:
    """All findings for one file; ``ok`` means Viv opens it with correct pixels."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    #: One line per image Viv will show, e.g. "Image 0: 2 channels uint16 ...".
    images: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
            "images": list(self.images),
        }



def check_file(path) -> CheckReport:
    """Check ``path`` against the Viv/Avivator rules (metadata reads only).

    Raises NapariVivError when the file is missing, not a TIFF or truncated.
    A folder is checked as an OME-Zarr store (:mod:`napari_viv.check.zarr`).
    """
    import tifffile

    path = Path(path)
    if path.is_dir():
        from .zarr import check_store

        return check_store(path)
    if not path.is_file():
        raise NapariVivError(f"{path}: no such file")
    report = CheckReport(path)
    if naming.is_companion(path.name):
        with tifflog.captured():
            _check_companion(path, report)
        return report
    with tifflog.captured() as warned:
        try:
            tif = tifffile.TiffFile(path)
        except Exception as exc:  # noqa: BLE001 - tifffile raises several types for junk
            raise NapariVivError(f"{path}: not a readable TIFF file ({one_line(exc)})") from None
        try:
            with tif:
                _Checker(tif, path, report).run()
        except NapariVivError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged IFD deep in the file
            raise NapariVivError(
                f"{path}: damaged or truncated TIFF, copy or export it again ({one_line(exc)})"
            ) from None
    damage = tifflog.damage(warned)
    if damage:
        raise NapariVivError(
            f"{path}: damaged or truncated TIFF, copy or export it again ({one_line(damage[0])})")
    return report




class _Checker(OmeXmlRules):
    def __init__(self, tif, path: Path, report: CheckReport):
        self.tif = tif
        self.path = path
        self.report = report
        self.size = os.path.getsize(path)
        self.said: set[str] = set()  # warnings given once per file

    def error(self, message: str, fix: str) -> None:
        self.report.findings.append(Finding("error", message, fix))

    def warn(self, message: str, fix: str) -> None:
        self.report.findings.append(Finding("warning", message, fix))

    # -- driver ---------------------------------------------------------------

    def run(self) -> None:
        pages = self.tif.pages
        self.npages = len(pages)
        first = pages.first
        if self.check_foreign() or self.check_binary_only(first):
            return  # one finding says it all; renaming or byte order cannot help
        self.check_name()
        self.check_byte_order()
        images = self.check_omexml(first)
        if images is None:
            return
        self.check_layout(images)
        self.check_offsets()

    # -- what the file is -----------------------------------------------------

    def check_foreign(self) -> bool:
        """A TIFF of another format (SVS, QPTIFF, ImageJ, ...): say so, and how to convert."""
        what = foreign_format(self.tif)
        if what is None:
            return False
        self.error(f"this is {what}, not an OME-TIFF; Viv and Avivator open only OME-TIFF",
                   f"convert it: `napari-viv convert {self.path.name} "
                   f"{naming.stem(self.path)}.ome.tif`")
        return True

    def check_binary_only(self, first) -> bool:
        """A multi-file OME-TIFF member that holds pixels only (BinaryOnly)."""
        meta_file = binary_only_metadata_file(first.description or "")
        if meta_file is None:
            return False
        there = (self.path.parent / meta_file).is_file()
        opens = ("open that file instead" if naming.is_companion(meta_file)
                 else f"convert the set: `napari-viv convert {meta_file} OUT.ome.tif`")
        self.error(f"this file holds only pixels of a multi-file OME-TIFF (BinaryOnly); its "
                   f"metadata is in {meta_file}{'' if there else ', which is not here'}; Viv "
                   "fails with a ZodError", opens if there else
                   f"put {meta_file} beside it, then {opens}")
        return True

    # -- name and container ---------------------------------------------------

    def check_name(self) -> None:
        # Avivator: name.includes('ome.tiff') || name.includes('ome.tif')
        name = self.path.name
        if "ome.tif" in name:
            return
        if "ome.tif" not in name.lower():
            self.error(
                f"the file name {name!r} does not contain .ome.tif; "
                "Avivator opens it as a plain TIFF, not as OME-TIFF",
                "rename it to end in .ome.tif (lowercase)",
            )
        else:
            self.error(
                f"the extension of {name!r} is not lowercase; Avivator matches "
                "'ome.tif' case-sensitively and opens it as a plain TIFF",
                "rename it so it ends in lowercase .ome.tif (and its offsets.json to match)",
            )

    def check_byte_order(self) -> None:
        if self.tif.byteorder == ">":
            self.warn(
                "the file is big-endian; Viv reads it only without a predictor "
                "and little-endian is the tested path",
                CONVERT_FIX + " (writes little-endian)",
            )

    # -- layout: planes, SubIFDs, levels, pixels ------------------------------

    def check_layout(self, images: list[OmeImage]) -> None:
        pages = self.tif.pages
        first = pages.first
        nsub = len(first.subifds or ())
        self.levels = nsub + 1
        if nsub == 0 and len(images) > 1:
            if self.looks_legacy(images):
                self.error(
                    f"pyramid levels are stored as {len(images)} separate images "
                    "(legacy layout); Viv 0.21 cannot read levels >= 1",
                    CONVERT_FIX + " (stores levels as SubIFDs)")
            else:
                self.error(
                    f"the file holds {len(images)} images without SubIFD pyramids; Viv "
                    "mistakes them for a legacy pyramid, shows only the first image and "
                    "fails at other zoom levels",
                    "export each image to its own file with `napari-viv convert`")
            return
        start = 0
        for img in images:
            self.check_image_layout(img, start)
            start += img.sizes["Z"] * img.sizes["C"] * img.sizes["T"]
        if start < self.npages:
            self.warn(f"the main IFD chain has {self.npages} IFDs but the OME-XML "
                      f"describes {start} planes; Viv ignores the extra IFDs",
                      "nothing needed if the extra IFDs are thumbnails")

    def looks_legacy(self, images: list[OmeImage]) -> bool:
        sx = [im.sizes["X"] for im in images]
        return all(b in (a // 2, (a + 1) // 2) for a, b in zip(sx, sx[1:]))

    def plane_indices(self, img: OmeImage, start: int, compact: bool = False) -> list[int]:
        """The main-chain IFD index Viv reads for each (t, c, z) of ``img``.

        Viv strides over SizeC even for interleaved RGB; ``compact`` gives the
        indices as the planes are really stored (one IFD per RGB plane)."""
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

    def check_image_layout(self, img: OmeImage, start: int) -> None:
        where = f"Image {img.index}"
        self.check_image_caveats(img, where, start)
        indices = self.plane_indices(img, start)
        if indices != self.plane_indices(img, start, compact=True):
            self.error(f"{where}: interleaved RGB with several Z/T planes in DimensionOrder "
                       f"{img.order}; Viv counts 3 planes per RGB plane and reads the wrong "
                       "IFDs", "re-export with C last in DimensionOrder (XYZTC), or store the "
                       "colours as 3 channels")
            return
        nplanes = len(indices)
        if max(indices) >= self.npages:
            if start < self.npages and self.check_samples(
                    img, f"{where}, IFD {start}", self.tif.pages[start]):
                return  # samples explain the missing planes better
            self.error(f"{where}: the OME-XML describes {nplanes} planes from IFD {start} "
                       f"but the file has only {self.npages} IFDs in its main chain; Viv "
                       "fails with 'No image at index'",
                       CONVERT_FIX)
            return
        pages = self.tif.pages
        seen_codecs: set = set()
        for n, idx in enumerate(indices):
            page = pages[idx]
            levels = self.plane_levels(where, idx, page)
            if levels is None:
                return
            if n == 0:
                self.check_plane0(img, where, levels)
            for level, lp in enumerate(levels):
                if not self.check_page(img, where, idx, level, lp, seen_codecs):
                    return
            if not self.check_level_sizes(img, where, idx, levels):
                return

    def check_image_caveats(self, img: OmeImage, where: str, start: int) -> None:
        """Things Viv loads fine but that surprise people in Avivator."""
        C = img.sizes["C"]
        samples = sum(js_int(ch.get("SamplesPerPixel", "1")) or 1 for ch in img.channels)
        if not img.interleaved and samples != C:
            self.warn(f"{where}: SizeC is {C} but the <Channel> elements describe {samples}; "
                      "Avivator shows unnamed or missing channels",
                      "re-export with `napari-viv convert FILE OUT.ome.tif --channel-names A,B,...`")
        if not img.interleaved and C == 3 and img.type == "uint8":
            self.warn(f"{where}: 3 uint8 channels; Avivator displays any 3-channel 8-bit "
                      "image as RGB with fixed 0-255 contrast",
                      "fine for colour images; for fluorescence export as uint16 or "
                      "with another channel count")
        if len(img.physical) == 1:
            self.warn(f"{where}: only PhysicalSize{img.physical[0]} is set; Viv needs both X "
                      "and Y for a scale bar",
                      "re-export with `napari-viv convert FILE OUT.ome.tif --pixel-size X,Y`")
        # Viv ignores TiffData and takes planes in DimensionOrder from the image's
        # first IFD; other readers follow TiffData. Say so when they disagree.
        Z, T = img.sizes["Z"], img.sizes["T"]
        C_planes = 1 if img.interleaved else C
        for td in img.tiffdata:
            if "IFD" not in td:
                continue
            first = [js_int(td.get(k, "0")) for k in ("FirstT", "FirstC", "FirstZ", "IFD")]
            if None in first:
                continue
            t, c, z, ifd = first
            if not (t < T and c < C_planes and z < Z):
                continue
            flat = OmeImage(img.index, img.order, img.type, {"Z": Z, "C": C_planes, "T": T},
                          False, [])
            n = self.plane_indices(flat, start)[(t * C_planes + c) * Z + z]
            if n != ifd:
                self.warn(f"{where}: TiffData puts plane (t={t}, c={c}, z={z}) in IFD "
                          f"{td['IFD']}, but Viv ignores TiffData and reads IFD {n}; Viv and "
                          "Bio-Formats will show different planes", CONVERT_FIX)
                return

    def plane_levels(self, where: str, idx: int, page) -> list | None:
        nsub = len(page.subifds or ())
        if self.levels > 1 and nsub == 0:
            self.error(f"{where}: IFD {idx} has no SubIFDs although IFD 0 has "
                       f"{self.levels - 1}; Viv cannot find its pyramid levels",
                       CONVERT_FIX + " (every plane gets the same SubIFDs)")
            return None
        if nsub < self.levels - 1:
            self.error(f"{where}: IFD {idx} has {nsub} SubIFDs but IFD 0 has "
                       f"{self.levels - 1}; Viv uses the first IFD's level count "
                       "everywhere and fails on the missing levels",
                       CONVERT_FIX + " (same number of levels for every image)")
            return None
        if nsub > self.levels - 1 and "extra levels" not in self.said:
            self.said.add("extra levels")
            self.warn(f"{where}: IFD {idx} has {nsub} SubIFDs but IFD 0 has "
                      f"{self.levels - 1}; Viv shows only {self.levels} levels",
                      CONVERT_FIX)
        levels = [page]
        for j in range(self.levels - 1):
            levels.append(page.pages[j])
        return levels

    def describe(self, img: OmeImage, where: str, levels: list) -> None:
        base = levels[0]
        sz = img.sizes
        what = (f"RGB {img.type}" if img.interleaved else
                f"{sz['C']} channel{'s' * (sz['C'] > 1)} {img.type}")
        extra = "".join(f", {sz[a]} {a}" for a in "ZT" if sz[a] > 1)
        tiles = f"{base.tilewidth}x{base.tilelength} tiles" if base.is_tiled else "strips"
        comp = int(base.compression)
        codec = COMPRESSION_NAMES.get(comp, str(comp))
        ends = levels[:1] + levels[1:][-1:]
        sizes = " > ".join(f"{p.imagewidth}x{p.imagelength}" for p in ends)
        self.report.images.append(
            f"{where}: {what}{extra}, {len(levels)} level{'s' * (len(levels) > 1)} "
            f"({sizes}), {tiles}, {codec}")

    def check_plane0(self, img: OmeImage, where: str, levels: list) -> None:
        self.describe(img, where, levels)
        base = levels[0]
        if not base.is_tiled:
            self.warn(f"{where}: pixels are stored in strips, not tiles; Viv works but "
                      "reads much more data than it shows",
                      CONVERT_FIX + " (512x512 tiles)")
        else:
            tw, th = base.tilewidth, base.tilelength
            if tw != th or tw & (tw - 1):
                self.warn(f"{where}: tiles are {tw}x{th}; Viv wants square power-of-two "
                          "tiles and will read several TIFF tiles per Viv tile",
                          CONVERT_FIX + " (512x512 tiles)")
        if img.index == 0:
            last = levels[-1]
            biggest = max(last.imagewidth, last.imagelength)
            text = (f"the smallest pyramid level is {last.imagewidth}x{last.imagelength}; "
                    "Viv loads the whole lowest level as one GPU texture")
            fix = CONVERT_FIX + " (adds levels until the smallest fits one tile)"
            if biggest > SMALLEST_LEVEL_MAX:
                self.error(text + f", which no GPU allows above {SMALLEST_LEVEL_MAX} pixels", fix)
            elif biggest > SMALLEST_LEVEL_WARN:
                self.warn(text + ", which is slow and may fail on some GPUs", fix)

    def check_page(self, img, where, idx, level, page, seen) -> bool:
        """Codec, predictor, samples and dtype rules for one IFD; False stops."""
        what = f"{where}, IFD {idx}" + (f" level {level}" if level else "")
        if level == 0 and (page.imagewidth, page.imagelength) != (img.sizes["X"], img.sizes["Y"]):
            self.error(f"{what} is {page.imagewidth}x{page.imagelength} but the OME-XML says "
                       f"{img.sizes['X']}x{img.sizes['Y']}; Viv would show wrong geometry",
                       CONVERT_FIX)
            return False
        self.check_truncation(page, what)
        bad = False
        comp = int(page.compression)
        pred = int(page.predictor)
        spp = page.samplesperpixel
        bits = page.bitspersample
        key = (comp, pred, spp, bits, int(page.sampleformat), int(page.planarconfig))
        if key in seen:
            return True
        seen.add(key)
        name = COMPRESSION_NAMES.get(comp, f"code {comp}")
        if comp == _WEBP:
            self.warn(f"{what}: WebP decodes only in a web browser (Avivator works; "
                      "Viv in Node and other tools fail)", CONVERT_FIX + " (zlib)")
        elif comp not in SUPPORTED_COMPRESSION:
            self.error(f"{what}: {name} compression ({comp}) is not supported by Viv "
                       f"('Unknown compression method identifier: {comp}')",
                       CONVERT_FIX + " (zlib, lossless)")
            bad = True
        if comp == 7 and bits > 8:
            self.error(f"{what}: JPEG with {bits}-bit samples; Viv decodes only 8-bit JPEG",
                       CONVERT_FIX + " (zlib, lossless)")
            bad = True
        sub = page.tags.get("YCbCrSubSampling")
        if (comp == 7 and int(page.photometric) == 6 and spp == 3
                and tuple(sub.value if sub is not None else (2, 2)) != (1, 1)):
            self.warn(f"{what}: JPEG in YCbCr with chroma subsampling; Viv upsamples chroma "
                      "more crudely than libjpeg, so colour edges show fringes in Avivator "
                      "(1.5-3 grey levels on average, up to about 40 at sharp edges)",
                      CONVERT_FIX + " --compression jpeg --tile-size 256 (re-encodes as "
                      "YCbCr 4:4:4; or --compression zlib for lossless)")
        if comp == 5 and spp > 1 and int(page.planarconfig) == 1:
            self.error(f"{what}: LZW with {spp} samples per pixel; Viv's LZW decoder "
                       "fails ('Offset is outside the bounds of the DataView')",
                       CONVERT_FIX + " (zlib)")
            bad = True
        if pred == 2 and bits not in (8, 16, 32):
            self.error(f"{what}: horizontal predictor with {bits}-bit samples; geotiff "
                       f"refuses it ('Predictor 2 not allowed with {bits} bits per sample')",
                       CONVERT_FIX + " (floating-point predictor for float64)")
            bad = True
        if pred in (2, 3) and self.tif.byteorder == ">":
            self.error(f"{what}: big-endian with a predictor; Viv decodes it without an "
                       "error but with silently wrong pixels",
                       CONVERT_FIX + " (writes little-endian)")
            bad = True
        sf, tb = int(page.sampleformat), bits
        expect = OME_TYPES.get(img.type)
        if expect and (sf, tb) != expect:
            self.error(f"{what}: TIFF samples are SampleFormat={sf} {tb}-bit but the "
                       f"OME-XML says Type={img.type!r}; Viv would mix up the pixel values",
                       CONVERT_FIX)
            bad = True
        bad |= self.check_samples(img, what, page)
        return not bad

    def check_samples(self, img, what, page) -> bool:
        spp = page.samplesperpixel
        if spp == 1:
            if img.interleaved:
                self.error(f"{what}: the OME-XML says Interleaved=\"true\" but the TIFF has "
                           "one sample per pixel; Viv adds an RGB axis that is not there",
                           CONVERT_FIX)
                return True
            return False
        if spp != 3:
            self.error(f"{what}: {spp} samples per pixel; Viv supports only 3 (RGB), "
                       "not RGBA or other multi-sample pixels",
                       CONVERT_FIX + " (drops alpha or stores samples as channels)")
            return True
        if not img.interleaved:
            planar = " (stored planar)" if int(page.planarconfig) == 2 else ""
            self.error(f"{what}: RGB pixels{planar} but the OME-XML lacks "
                       "Interleaved=\"true\"; Viv looks for 3 separate planes and fails",
                       CONVERT_FIX + " (writes RGB as interleaved uint8 with Interleaved=\"true\")")
            return True
        if page.bitspersample != 8:
            self.warn(f"{what}: {page.bitspersample}-bit interleaved RGB; Viv loads it but "
                      "Avivator renders RGB as 8-bit, so colours will be wrong",
                      CONVERT_FIX + " (stores 16-bit RGB as 3 channels)")
        return False

    def check_truncation(self, page, what) -> None:
        ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts) if n]
        if ends and max(ends) > self.size:
            raise NapariVivError(
                f"{self.path}: truncated TIFF, copy or export it again ({what} has "
                "data past the end of the file)")

    def check_level_sizes(self, img, where, idx, levels) -> bool:
        for level in range(1, len(levels)):
            prev, cur = levels[level - 1], levels[level]
            pw, ph = prev.imagewidth, prev.imagelength
            w, h = cur.imagewidth, cur.imagelength
            floor_ok = (w, h) == (pw // 2, ph // 2)
            round_ok = w in (pw // 2, (pw + 1) // 2) and h in (ph // 2, (ph + 1) // 2)
            if round_ok and floor_ok:
                continue
            if round_ok:
                if "ceil" not in self.said:
                    self.said.add("ceil")
                    self.warn(f"{where}: level {level} is {w}x{h}, rounded up from "
                              f"{pw}x{ph}/2; Viv drops its last row/column",
                              CONVERT_FIX + " (rounds level sizes down)")
                continue
            factor = f"{pw / w:.3g}" if w else "?"
            self.error(f"{where}, IFD {idx}: level {level} is {w}x{h} but level {level - 1} "
                       f"is {pw}x{ph}; Viv assumes exactly 2x downsampling per level "
                       f"(this is {factor}x) and shows wrong geometry or empty tiles",
                       CONVERT_FIX + " (2x levels)")
            return False
        return True

    # -- offsets.json ---------------------------------------------------------

    def check_offsets(self) -> None:
        sidecar = self.path.with_name(naming.avivator_offsets_name(self.path.name))
        if sidecar == self.path:
            return
        fix = f"run `napari-viv offsets {self.path.name}`"
        if not sidecar.is_file():
            self.warn(f"no {sidecar.name} next to the file; Avivator walks the whole IFD "
                      "chain over HTTP, which is slow for many planes", fix)
            return
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.error(f"{sidecar.name} is not valid JSON; Avivator fails to load the image",
                       fix + " (rewrites it)")
            return
        if not isinstance(data, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in data):
            self.error(f"{sidecar.name} is not a JSON list of integers", fix + " (rewrites it)")
            return
        true = [p.offset for p in self.tif.pages]
        wrong = [i for i, (a, b) in enumerate(zip(data, true)) if a != b]
        if wrong:
            self.error(f"{sidecar.name} does not match the file (entry {wrong[0]} is "
                       f"{data[wrong[0]]}, the IFD is at {true[wrong[0]]}); Viv silently "
                       "reads the wrong IFD", fix + " (rewrites it)")
        elif len(data) != len(true):
            self.warn(f"{sidecar.name} has {len(data)} entries but the file has "
                      f"{len(true)} IFDs in its main chain", fix + " (rewrites it)")


# -- formats that are not OME-TIFF ------------------------------------------------


def foreign_format(tif) -> str | None:
    """What a TIFF without OME-XML is, in words ("an Aperio SVS slide"), else None.

    A file whose ImageDescription is OME-XML (even broken) is an OME-TIFF for
    this purpose: its problems are reported rule by rule.
    """
    first = tif.pages.first
    texts = [str(t.value) for t in (first.tags.getall(270) or [])]
    if any(t.lstrip().startswith("<") and "OME" in t[:2000] and "PerkinElmer-QPI" not in t[:2000]
           for t in texts):
        return None
    if tif.is_svs:
        return "an Aperio SVS slide"
    if first.is_qpi or any("PerkinElmer-QPI" in t[:2000] for t in texts):
        return "a PerkinElmer QPTIFF (its ImageDescription is PerkinElmer XML, not OME-XML)"
    if tif.is_micromanager:
        return "a Micro-Manager TIFF without OME-XML (NDTiff)"
    if tif.is_imagej:
        start = texts[-1].strip().splitlines()[0][:40] if texts and texts[-1].strip() else ""
        return f"an ImageJ/Fiji TIFF (its ImageDescription starts {start!r})"
    if getattr(tif, "is_fei", False):
        return "an FEI SEM TIFF"
    if len(tif.series) and len(tif.series[0].levels) > 1:
        return "a tiled pyramidal TIFF without OME-XML"
    return "a plain TIFF without OME-XML"


# -- multi-file OME-TIFF through a companion file ----------------------------------


def _check_companion(path: Path, report: CheckReport) -> None:
    """Viv's multi-file loader: the companion's XML, then each plane's file and IFD."""
    import xml.etree.ElementTree as ET

    try:
        xml = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NapariVivError(f"{path}: not a readable companion file ({one_line(exc)})") from None
    checker = _Checker(None, path, report)
    checker.companion = True
    images = checker.check_xml(xml, "the companion file")
    if images is None:
        return
    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError:
        return
    elements = [el for el in root if local_name(el.tag) == "Image"]
    opened: dict = {}
    try:
        for img, el in zip(images, elements):
            if not _check_companion_image(checker, img, el, opened):
                return
    finally:
        for tif in opened.values():
            if tif is not None:
                tif.close()


def _check_companion_image(checker, img: OmeImage, el, opened: dict) -> bool:
    import tifffile

    where = f"Image {img.index}"
    pixels = next((p for p in el if local_name(p.tag) == "Pixels"), None)
    tiffdata = [t for t in pixels if local_name(t.tag) == "TiffData"] if pixels is not None else []
    if not tiffdata:
        checker.error(f"{where}: no <TiffData>; Viv fails with 'No TiffData in OME-XML'", CONVERT_FIX)
        return False
    lookup = {}
    for td in tiffdata:
        uuid = next((u for u in td if local_name(u.tag) == "UUID"), None)
        keys = [js_int(td.get(k)) for k in ("FirstT", "FirstC", "FirstZ", "IFD")]
        if uuid is None or not uuid.get("FileName") or None in keys:
            checker.error(f"{where}: a <TiffData> lacks FirstT, FirstC, FirstZ, IFD or a UUID "
                          "FileName; Viv fails with 'Incomplete TiffData item'", CONVERT_FIX)
            return False
        lookup[tuple(keys[:3])] = (uuid.get("FileName"), keys[3])
    T, C, Z = img.sizes["T"], 1 if img.interleaved else img.sizes["C"], img.sizes["Z"]
    planes = [(t, c, z) for t in range(T) for c in range(C) for z in range(Z)]
    missing = [p for p in planes if p not in lookup]
    if missing:
        t, c, z = missing[0]
        checker.error(f"{where}: no TiffData for plane (t={t}, c={c}, z={z}) of "
                      f"{len(planes)}; Viv fails with 'No image for selection'", CONVERT_FIX)
        return False
    seen: set = set()
    members: dict = {}
    for n, key in enumerate(planes):
        fname, ifd = lookup[key]
        file = checker.path.parent / fname
        if fname not in opened:
            try:
                opened[fname] = tifffile.TiffFile(file) if file.is_file() else None
            except Exception as exc:  # noqa: BLE001 - tifffile raises several types for junk
                raise NapariVivError(f"{checker.path}: {fname} is not a readable TIFF "
                                     f"({one_line(exc)})") from None
        tif = opened[fname]
        if tif is None:
            checker.error(f"{where}: {fname} is not beside the companion file; Viv fails "
                          "to fetch it", f"put every file of the set in {checker.path.parent}")
            return False
        if fname not in members:
            member = _Checker(tif, file, checker.report)
            member.said = checker.said
            member.npages = len(tif.pages)
            members[fname] = member
        member = members[fname]
        if ifd >= member.npages:
            checker.error(f"{where}: plane {key} is IFD {ifd} of {fname}, which has only "
                          f"{member.npages} IFDs; Viv fails with 'No image at index'", CONVERT_FIX)
            return False
        page = tif.pages[ifd]
        if n == 0:
            member.levels = 1 + len(page.subifds or ())
            checker.levels = member.levels
        else:
            member.levels = checker.levels
        levels = member.plane_levels(where, ifd, page)
        if levels is None:
            return False
        if n == 0:
            member.check_plane0(img, where, levels)
        for level, lp in enumerate(levels):
            if not member.check_page(img, where, ifd, level, lp, seen):
                return False
        if not member.check_level_sizes(img, where, ifd, levels):
            return False
    return True
