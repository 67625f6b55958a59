"""A multi-file OME-TIFF through its ``.companion.ome``, as Viv's multi-file loader reads it.

The companion's XML first (Viv's OME-XML rules), then each plane's file and
IFD, with the same plane and page rules as a single file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .. import tifflog
from ..errors import NapariVivError
from ..ome.parse import children
from ..ome.viv import CONVERT_FIX, OmeImage, check_xml, js_int
from ..text import one_line
from .planes import check_plane
from .report import CheckReport, TiffFacts


def check_companion(path: Path, report: CheckReport) -> None:
    """Check a ``.companion.ome`` and the planes of every file it names.

    Parameters
    ----------
    path : pathlib.Path
        The companion file.
    report : CheckReport
        Filled with the broken rules.

    Raises
    ------
    NapariVivError
        When the companion or a file it names cannot be read at all.
    """
    try:
        xml = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NapariVivError(f"not a readable companion file ({one_line(exc)})", subject=path) from None
    images = check_xml(xml, "the companion file", report, file_name=path.name, companion=True)
    if images is None:
        return
    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError:
        return
    members = _Members(path)
    try:
        for img, el in zip(images, children(root, "Image"), strict=False):
            if not _check_image(members, img, el, report):
                return
    finally:
        members.close()


class _Members:
    """The files of the set, each opened once, with the level count Viv takes from the first plane."""

    def __init__(self, companion: Path):
        self.companion = companion
        self.facts: dict[str, TiffFacts | None] = {}
        self.levels = 1

    def get(self, fname: str) -> TiffFacts | None:
        import tifffile

        if fname not in self.facts:
            file = self.companion.parent / fname
            try:
                self.facts[fname] = TiffFacts.of(tifffile.TiffFile(file), file) if file.is_file() else None
            except Exception:  # noqa: BLE001 - tifffile raises several types for a cut or corrupt file
                raise tifflog.damaged(self.companion, in_set=True) from None
        return self.facts[fname]

    def close(self) -> None:
        for facts in self.facts.values():
            if facts is not None:
                facts.tif.close()


def _plane_lookup(img: OmeImage, el: ET.Element, report: CheckReport) -> dict | None:
    """``{(t, c, z): (file name, IFD)}`` from an image's TiffData, or None when Viv fails on them."""
    where = f"Image {img.index}"
    pixels = next(iter(children(el, "Pixels")), None)
    tiffdata = children(pixels, "TiffData") if pixels is not None else []
    if not tiffdata:
        report.error(f"{where}: no <TiffData>; Viv fails with 'No TiffData in OME-XML'", CONVERT_FIX)
        return None
    lookup = {}
    for td in tiffdata:
        uuid = next(iter(children(td, "UUID")), None)
        keys = [js_int(td.get(k)) for k in ("FirstT", "FirstC", "FirstZ", "IFD")]
        if uuid is None or not uuid.get("FileName") or None in keys:
            report.error(
                f"{where}: a <TiffData> lacks FirstT, FirstC, FirstZ, IFD or a UUID "
                "FileName; Viv fails with 'Incomplete TiffData item'",
                CONVERT_FIX,
            )
            return None
        lookup[tuple(keys[:3])] = (uuid.get("FileName"), keys[3])
    return lookup


def _check_image(members: _Members, img: OmeImage, el: Any, report: CheckReport) -> bool:
    where = f"Image {img.index}"
    lookup = _plane_lookup(img, el, report)
    if lookup is None:
        return False
    T, C, Z = img.sizes["T"], 1 if img.interleaved else img.sizes["C"], img.sizes["Z"]
    planes = [(t, c, z) for t in range(T) for c in range(C) for z in range(Z)]
    missing = [p for p in planes if p not in lookup]
    if missing:
        t, c, z = missing[0]
        report.error(
            f"{where}: no TiffData for plane (t={t}, c={c}, z={z}) of {len(planes)}; "
            "Viv fails with 'No image for selection'",
            CONVERT_FIX,
        )
        return False
    seen: set = set()
    for n, key in enumerate(planes):
        fname, ifd = lookup[key]
        facts = members.get(fname)
        if facts is None:
            report.error(
                f"{where}: {fname} is not beside the companion file; Viv fails to fetch it",
                f"put every file of the set in {members.companion.parent}",
            )
            return False
        if ifd >= facts.npages:
            report.error(
                f"{where}: plane {key} is IFD {ifd} of {fname}, which has only "
                f"{facts.npages} IFDs; Viv fails with 'No image at index'",
                CONVERT_FIX,
            )
            return False
        page = facts.tif.pages[ifd]
        if n == 0:
            members.levels = 1 + len(page.subifds or ())
        facts.levels = members.levels
        if not check_plane(facts, img, where, ifd, page, report, seen, first=n == 0):
            return False
    return True
