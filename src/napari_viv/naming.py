"""Every file-name rule of napari-viv, in one place.

An export is a pyramidal OME-TIFF ``<stem>.ome.tif`` (or ``.ome.tiff``) with
sidecars beside it that share its stem:

================================  ===========================================
``<stem>.ome.tif``                the image (Avivator treats only names ending
                                  in lowercase ``.ome.tif``/``.ome.tiff`` as
                                  OME-TIFF)
``<stem>.offsets.json``           IFD offsets; Viv and Avivator fetch it
``<stem>.view.json``              colours, contrast limits, visibility, camera
================================  ===========================================

The writer, the reader, the check, the server and the napari glue all ask
this module; none of them spells a suffix itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Suffixes of a Viv OME-TIFF, in the case Avivator requires.
OME_TIFF_SUFFIXES = (".ome.tif", ".ome.tiff")
#: The suffix napari-viv gives a name that has none of its own.
DEFAULT_SUFFIX = ".ome.tif"
OFFSETS_SUFFIX = ".offsets.json"
VIEW_SUFFIX = ".view.json"
#: Every sidecar the server routes beside a served image.
SIDECAR_SUFFIXES = (OFFSETS_SUFFIX, VIEW_SUFFIX)

#: Extensions stripped to name an image (longest first, matched in any case).
IMAGE_EXTENSIONS = (".ome.tiff", ".ome.tif", ".ome.zarr", ".companion.ome", ".qptiff",
                    ".tiff", ".tif", ".svs", ".npy", ".zarr")

#: Files the napari reader claims (npe2's filename_patterns say the same).
READER_SUFFIXES = (".ome.tif", ".ome.tiff", ".qptiff")


def stem(path) -> str:
    """The name of an image file without its image extension.

    >>> stem("/data/slide.ome.tif"), stem("a.b.TIFF"), stem("x.npy")
    ('slide', 'a.b', 'x')
    """
    name = Path(os.fspath(path)).name
    low = name.lower()
    for ext in IMAGE_EXTENSIONS:
        if low.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return Path(name).stem


def output_path(path) -> Path:
    """The ``.ome.tif`` path written for what the user asked for.

    ``x.ome.tif``/``x.ome.tiff`` are kept (a suffix in the wrong case, such as
    ``x.OME.TIF``, is lowercased, because Avivator matches it case-sensitively);
    ``x.tif``/``x.tiff`` become ``x.ome.tif``/``x.ome.tiff``; anything else
    gets ``.ome.tif`` appended.

    >>> output_path("a.TIFF").name, output_path("a.b.png").name
    ('a.ome.tiff', 'a.b.png.ome.tif')
    """
    p = Path(os.fspath(path))
    name, low = p.name, p.name.lower()
    for suffix in OME_TIFF_SUFFIXES[::-1]:
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + suffix)
    for suffix in (".tiff", ".tif"):
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".ome" + suffix)
    return p.with_name(name + DEFAULT_SUFFIX)


_TIFF_SUFFIX = re.compile(r"(\.ome)?\.tiff?$", re.IGNORECASE)


def _sidecar(tif_path, suffix: str) -> Path:
    p = Path(os.fspath(tif_path))
    return p.with_name(_TIFF_SUFFIX.sub("", p.name) + suffix)


def offsets_path(tif_path) -> Path:
    """``x.ome.tif`` / ``x.ome.tiff`` / ``x.tif`` -> ``x.offsets.json`` beside it."""
    return _sidecar(tif_path, OFFSETS_SUFFIX)


def view_path(tif_path) -> Path:
    """``x.ome.tif`` -> ``x.view.json`` beside it."""
    return _sidecar(tif_path, VIEW_SUFFIX)


def sidecar_paths(tif_path) -> list[Path]:
    """Every sidecar that may sit beside ``tif_path`` (offsets, view)."""
    return [_sidecar(tif_path, s) for s in SIDECAR_SUFFIXES]


def is_viv_name(name: str) -> bool:
    """Whether Avivator treats a file of this name as an OME-TIFF (lowercase suffix)."""
    return str(name).endswith(OME_TIFF_SUFFIXES)


def avivator_offsets_name(name: str) -> str:
    """The offsets.json name Avivator requests for a served file name.

    Avivator replaces the first ``ome.tif(f)`` anywhere in the name, in any
    case; that differs from :func:`offsets_path` for odd names, which the
    check reports.
    """
    return re.sub(r"ome\.tif(f?)", "offsets.json", name, flags=re.IGNORECASE)


def series_output_path(out: Path, index: int) -> Path:
    """``x.ome.tif`` -> ``x_s<index>.ome.tif``: one file per series of an input."""
    out = output_path(out)
    low = out.name.lower()
    suffix = next(s for s in OME_TIFF_SUFFIXES[::-1] if low.endswith(s))
    return out.with_name(f"{out.name[: -len(suffix)]}_s{index}{suffix}")
