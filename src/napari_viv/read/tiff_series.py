"""The image series of a TIFF: tifffile's series, split by position, and legacy pyramids.

Every tifffile series is one, and a series with a position axis
(Micro-Manager MMStack ``R``, NDTiff ``position``) is one per position, as
Bio-Formats counts them. A legacy OME-TIFF pyramid's levels (the series
that follow, each half the size) are not series of their own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Names of the associated images of slide scanners (not worth a note when skipped).
ASSOCIATED = ("Thumbnail", "Label", "Macro", "Overview")

#: NDTiff per-image ``Axes`` keys -> our letters (R: position, a series of its own).
NDTIFF_AXES = {"position": "R", "time": "T", "channel": "C", "z": "Z"}

#: Reading every page's JSON costs time; NDTiff stacks larger than this are a T stack.
NDTIFF_MAX_PAGES = 20000


@dataclass
class Entry:
    """An image series: a tifffile series, or one position of one."""

    series: Any  # tifffile.TiffPageSeries
    index: int | None  # its index in tif.series when it is exactly that series
    kind: str = "image"
    name: str = ""
    extra: dict = field(default_factory=dict)


def image_entries(tif, path: Path) -> list[Entry]:
    """Return the image series of the file: tifffile's, split by position.

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file.
    path : pathlib.Path
        Where it is.

    Returns
    -------
    list of Entry
        One per series, or per position of a series with a position axis.
    """
    out: list[Entry] = []
    for s, ser in enumerate(tif.series):
        split = _ndtiff(tif, ser) or _positions(ser)
        if split:
            out.extend(split)
        else:
            out.append(Entry(ser, s, "associated" if ser.name in ASSOCIATED else "image", ser.name or ""))
    return out


def _positions(ser) -> list[Entry] | None:
    """One series per position of an ``R`` (Micro-Manager stage position) axis."""
    if "R" not in ser.axes or len(ser.levels) != 1:
        return None
    import tifffile

    ir = ser.axes.index("R")
    nplanes_axes = len(ser.shape) - (3 if ser.axes.endswith("S") else 2)
    outer = ser.shape[:nplanes_axes]
    if ir >= nplanes_axes:
        return None
    pages = list(ser.pages)
    if len(pages) != int(np.prod(outer)):
        return None
    shape = tuple(n for i, n in enumerate(ser.shape) if i != ir)
    axes = ser.axes.replace("R", "")
    out = []
    for r in range(ser.shape[ir]):
        mine = [p for p, idx in zip(pages, np.ndindex(*outer), strict=False) if idx[ir] == r]
        one = tifffile.TiffPageSeries(mine, shape, ser.dtype, axes, parent=ser.parent, kind=ser.kind, name=f"Pos{r}")
        out.append(Entry(one, None, "position", f"Pos{r}"))
    return out


def _ndtiff(tif, ser) -> list[Entry] | None:
    """NDTiff (Micro-Manager 2 / pycro-manager): pages as the per-image ``Axes`` say.

    Each page's MicroManagerMetadata holds e.g. ``{"channel": "DAPI", "z": 3,
    "time": 0}``; when the pages form a complete grid they are arranged as
    T, C, Z (one series per position), with the channel values as names.
    """
    if not tif.is_micromanager or ser.kind != "uniform" or len(ser.pages) < 2:
        return None
    if len(ser.pages) > NDTIFF_MAX_PAGES:
        return None
    import tifffile

    pages, coords = [], []
    for p in ser.pages:
        page = p.aspage() if isinstance(p, tifffile.TiffFrame) else p
        if page is None:
            return None
        md = page.tags.valueof(51123)
        ax = md.get("Axes") if isinstance(md, dict) else None
        if not isinstance(ax, dict) or not ax or any(k not in NDTIFF_AXES for k in ax):
            return None
        pages.append(page)
        coords.append({NDTIFF_AXES[k]: v for k, v in ax.items()})
    letters = [a for a in "RTCZ" if any(a in c for c in coords)]
    values: dict[str, list[Any]] = {}
    for a in letters:
        seen: list[Any] = list(dict.fromkeys(c.get(a) for c in coords))
        if a != "C" and all(isinstance(v, (int, np.integer)) for v in seen):
            seen = sorted(seen)
        values[a] = seen
    sizes = [len(values[a]) for a in letters]
    keys = [tuple(values[a].index(c.get(a)) for a in letters) for c in coords]
    if int(np.prod(sizes)) != len(pages) or len(set(keys)) != len(pages):
        return None  # an incomplete grid: leave it a plain stack
    by_key = dict(zip(keys, pages, strict=False))
    plane_axes = [a for a in letters if a != "R"]
    npos = len(values["R"]) if "R" in letters else 1
    first = pages[0]
    extra: dict[str, Any] = {}
    if "C" in letters:
        extra["channel_names"] = [str(v) for v in values["C"]]
    md0 = first.tags.valueof(51123)
    um = md0.get("PixelSizeUm") or md0.get("PixelSize_um")
    if isinstance(um, (int, float)) and um > 0:
        extra["pixel_um"] = float(um)
    shape = tuple(len(values[a]) for a in plane_axes) + tuple(ser.shape[-2:])
    out = []
    for r in range(npos):
        mine = []
        for idx in itertools.product(*(range(len(values[a])) for a in plane_axes)):
            full = dict(zip(plane_axes, idx, strict=False))
            full["R"] = r
            mine.append(by_key[tuple(full[a] for a in letters)])
        one = tifffile.TiffPageSeries(
            mine,
            shape,
            ser.dtype,
            "".join(plane_axes) + "YX",
            parent=tif,
            kind="ndtiff",
            name=f"Pos{r}" if npos > 1 else "",
        )
        out.append(
            Entry(
                one,
                None,
                "position" if npos > 1 else "image",
                f"Pos{r}" if npos > 1 else "",
                dict(extra, ignore_ome=True),
            )
        )
    return out


def legacy_levels(all_series, index):
    """Return the levels of a legacy pyramid: the series that follow, each half the size.

    Parameters
    ----------
    all_series : list of tifffile.TiffPageSeries
        The file's series.
    index : int
        The series of level 0.

    Returns
    -------
    list of tuple
        ``(series index, 0)`` per level, level 0 first.
    """
    where = [(index, 0)]
    prev = all_series[index]
    for j in range(index + 1, len(all_series)):
        s = all_series[j]
        if s.axes != prev.axes or s.dtype != prev.dtype or len(s.levels) != 1:
            break
        yi, xi = s.axes.index("Y"), s.axes.index("X")
        ok = all(
            (s.shape[i] in (prev.shape[i] // 2, (prev.shape[i] + 1) // 2))
            if i in (yi, xi)
            else s.shape[i] == prev.shape[i]
            for i in range(len(s.shape))
        )
        if not ok or s.shape[yi] < 1 or s.shape[xi] < 1:
            break
        where.append((j, 0))
        prev = s
    return where
