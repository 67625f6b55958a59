"""Checking a file: will Viv 0.21 and Avivator open this OME-TIFF with correct pixels.

:func:`check_file` reads only the TIFF structure and the OME-XML (never the
pixel data), so it is fast on multi-gigabyte files. Each rule mirrors what
the Viv loader and Avivator actually do (see docs/troubleshooting.md) and is
a plain function that fills the :class:`~napari_viv.check.report.CheckReport`:

- the file as a whole (here): another format, a BinaryOnly member, its name,
  byte order, its ``offsets.json``;
- the OME-XML: :mod:`napari_viv.ome.viv`;
- planes and levels: :mod:`.planes`; each IFD: :mod:`.pages`;
- a ``.companion.ome`` and its files: :mod:`.companion`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import naming, tifflog
from ..errors import NapariVivError
from ..ome.parse import binary_only_metadata_file
from ..ome.viv import CONVERT_FIX, check_omexml
from ..read.omezarr import is_zarr_store
from ..text import one_line
from .planes import check_layout
from .report import CheckReport, TiffFacts


def _check_path(path: Path) -> None:
    """Refuse what is not a file, saying what it is instead."""
    if path.is_file():
        return
    if path.is_dir():
        raise NapariVivError(
            "is a folder, not a file or an OME-Zarr store; check the .ome.tif files in it", subject=path
        )
    raise NapariVivError("no such file", subject=path)


def check_file(path: str | Path) -> CheckReport:
    """Check a file against the Viv/Avivator rules, reading metadata only.

    Parameters
    ----------
    path : str or pathlib.Path
        An OME-TIFF (``.ome.tif``) or a ``.companion.ome`` of a multi-file set.

    Returns
    -------
    CheckReport
        Findings (errors: Viv fails or shows wrong pixels; warnings: it works
        with a caveat), one line per image Viv shows, and the verdicts
        ``ok`` (Viv) and ``avivator_ok`` (Avivator's colours too).

    Raises
    ------
    NapariVivError
        When the file is missing, a folder, not a TIFF, or truncated or damaged.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from napari_viv import export_pyramid
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "cells.ome.tif"
    >>> _ = export_pyramid(np.zeros((2, 64, 64), np.uint16), out, tile_size=32)
    >>> report = check_file(out)
    >>> report.ok, report.findings
    (True, [])
    >>> report.images
    ['Image 0: 2 channels uint16, 2 levels (64x64 > 32x32), 32x32 tiles, zlib']
    """
    import tifffile

    path = Path(path)
    if path.is_dir() and (path.suffix.lower() == ".zarr" or is_zarr_store(path)):
        from .zarr import check_store

        return check_store(path)
    _check_path(path)
    report = CheckReport(path)
    if naming.is_companion(path.name):
        from .companion import check_companion

        with tifflog.captured() as warned:
            check_companion(path, report)
        if tifflog.damage(warned):
            raise tifflog.damaged(path, in_set=True)
        return report
    with tifflog.captured() as warned:
        try:
            tif = tifffile.TiffFile(path)
        except Exception as exc:  # noqa: BLE001 - tifffile raises several types for junk
            raise NapariVivError(f"not a readable TIFF file ({one_line(exc)})", subject=path) from None
        try:
            with tif:
                _check_tiff(TiffFacts.of(tif, path), report)
        except NapariVivError:
            raise
        except Exception:  # noqa: BLE001 - a damaged IFD deep in the file
            raise tifflog.damaged(path) from None
    if tifflog.damage(warned):
        raise tifflog.damaged(path)
    return report


def _check_tiff(facts: TiffFacts, report: CheckReport) -> None:
    """Apply every rule to an open TIFF, in the order Viv meets them."""
    first = facts.tif.pages.first
    if _rule_foreign(facts, report) or _rule_binary_only(facts, first, report):
        return  # one finding says it all; renaming or byte order cannot help
    _rule_name(facts.path.name, report)
    _rule_byte_order(facts.tif.byteorder, report)
    images = check_omexml(first, report, file_name=facts.path.name)
    if images is None:
        return
    check_layout(facts, images, report)
    _rule_offsets(facts, report)


# -- what the file is ------------------------------------------------------------


def _rule_foreign(facts: TiffFacts, report: CheckReport) -> bool:
    """Refuse a TIFF of another format (SVS, QPTIFF, ImageJ, ...), saying what it is and how to convert it."""
    what = _foreign_format(facts.tif)
    if what is None:
        return False
    report.error(
        f"this is {what}, not an OME-TIFF; Viv and Avivator open only OME-TIFF",
        f"convert it: `napari-viv convert {facts.path.name} {naming.stem(facts.path)}.ome.tif`",
    )
    return True


def _rule_binary_only(facts: TiffFacts, first: Any, report: CheckReport) -> bool:
    """Refuse a multi-file OME-TIFF member that holds pixels only (BinaryOnly), naming its metadata file."""
    meta_file = binary_only_metadata_file(first.description or "")
    if meta_file is None:
        return False
    there = (facts.path.parent / meta_file).is_file()
    opens = (
        "open that file instead"
        if naming.is_companion(meta_file)
        else f"convert the set: `napari-viv convert {meta_file} OUT.ome.tif`"
    )
    report.error(
        f"this file holds only pixels of a multi-file OME-TIFF (BinaryOnly); its "
        f"metadata is in {meta_file}{'' if there else ', which is not here'}; Viv fails with a ZodError",
        opens if there else f"put {meta_file} beside it, then {opens}",
    )
    return True


def _rule_name(name: str, report: CheckReport) -> None:
    """Avivator opens a file as OME-TIFF only when its name includes ``ome.tif`` (case-sensitive)."""
    if "ome.tif" in name:
        return
    if "ome.tif" not in name.lower():
        report.error(
            f"the file name {name!r} does not contain .ome.tif; Avivator opens it as a plain TIFF, not as OME-TIFF",
            "rename it to end in .ome.tif (lowercase)",
        )
    else:
        report.error(
            f"the extension of {name!r} is not lowercase; Avivator matches "
            "'ome.tif' case-sensitively and opens it as a plain TIFF",
            "rename it so it ends in lowercase .ome.tif (and its offsets.json to match)",
        )


def _rule_byte_order(byteorder: str, report: CheckReport) -> None:
    """Big-endian files work only without a predictor; little-endian is the tested path."""
    if byteorder == ">":
        report.warn(
            "the file is big-endian; Viv reads it only without a predictor and little-endian is the tested path",
            CONVERT_FIX + " (writes little-endian)",
        )


def _describe_tiled_or_stripped(tif: Any) -> str:
    first = tif.pages.first
    stored = "tiled" if first.is_tiled else "stripped"
    return f"a {stored} TIFF with overview images (a pyramid) but without OME-XML"


def _foreign_format(tif: Any) -> str | None:
    """Say what a TIFF without OME-XML is, in words ("an Aperio SVS slide"), else None.

    A file whose ImageDescription is OME-XML (even broken) is an OME-TIFF for
    this purpose: its problems are reported rule by rule.
    """
    first = tif.pages.first
    texts = [str(t.value) for t in (first.tags.getall(270) or [])]
    if any(t.lstrip().startswith("<") and "OME" in t[:2000] and "PerkinElmer-QPI" not in t[:2000] for t in texts):
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
        return _describe_tiled_or_stripped(tif)
    return "a plain TIFF without OME-XML"


# -- offsets.json -------------------------------------------------------------------


def _rule_offsets(facts: TiffFacts, report: CheckReport) -> None:
    """Check that the ``offsets.json`` beside the file lists the main chain's IFD offsets (Avivator's fast path)."""
    path = facts.path
    sidecar = path.with_name(naming.avivator_offsets_name(path.name))
    if sidecar == path:
        return
    fix = f"run `napari-viv offsets {path.name}`"
    if not sidecar.is_file():
        report.warn(
            f"no {sidecar.name} next to the file; Avivator walks the whole IFD chain over HTTP, "
            "which is slow for many planes",
            fix,
        )
        return
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        report.error(f"{sidecar.name} is not valid JSON; Avivator fails to load the image", fix + " (rewrites it)")
        return
    if not isinstance(data, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in data):
        report.error(f"{sidecar.name} is not a JSON list of integers", fix + " (rewrites it)")
        return
    true = [p.offset for p in facts.tif.pages]
    wrong = [i for i, (a, b) in enumerate(zip(data, true, strict=False)) if a != b]
    if wrong:
        report.error(
            f"{sidecar.name} does not match the file (entry {wrong[0]} is "
            f"{data[wrong[0]]}, the IFD is at {true[wrong[0]]}); Viv silently reads the wrong IFD",
            fix + " (rewrites it)",
        )
    elif len(data) != len(true):
        report.warn(
            f"{sidecar.name} has {len(data)} entries but the file has {len(true)} IFDs in its main chain",
            fix + " (rewrites it)",
        )
