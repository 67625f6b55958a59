"""INPUT items of ``napari-viv batch`` -> the images to convert.

An item is a file (taken as it is, whatever its name: ``convert`` will say
if it can't read it), a folder (searched, with its subfolders, for the
formats ``convert`` reads; a ``.zarr`` folder is one image) or a glob
(``*``, ``?``, ``[...]``, ``**`` for any depth), whose matches are taken the
same way. Hidden files and folders, napari-viv's sidecars and anything inside
the output folder are never picked up by a search. The same file given twice
is converted once.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import naming
from ..read.omezarr import is_zarr_store as _is_zarr_dir


@dataclass
class Inputs:
    """The files found, in order, and the items that named nothing (with why)."""

    files: list[Path] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _search(folder: Path, exclude: Path | None) -> list[Path]:
    """Images under ``folder``: each folder's own, by name, then its subfolders'."""
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        keep, images = [], []
        for d in sorted(dirs):
            p = here / d
            if d.startswith(".") or _inside(p.resolve(), exclude):
                continue
            if naming.is_batch_input_name(d) and _is_zarr_dir(p):
                images.append(p)  # an image; not searched further
            else:
                keep.append(d)
        dirs[:] = keep
        images += [here / f for f in files if naming.is_batch_input_name(f) and not f.lower().endswith(".zarr")]
        found += sorted(images, key=lambda p: p.name)
    return found


def find_inputs(items, exclude=None) -> Inputs:
    """Expand INPUT items (files, folders, globs); ``exclude`` is the output folder."""
    exclude = Path(exclude).resolve() if exclude is not None else None
    result = Inputs()
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            result.files.append(p)

    def take(p: Path, explicit: bool) -> int:
        if p.is_dir() and not _is_zarr_dir(p):
            found = [f for f in _search(p, exclude) if not _inside(f.resolve(), exclude)]
            for f in found:
                add(f)
            return len(found)
        if not explicit and (
            not naming.is_batch_input_name(p.name)  # also: hidden names
            or _inside(p.resolve(), exclude)
        ):
            return 0
        add(p)
        return 1

    for item in items:
        text = os.fspath(item)
        p = Path(text)
        if p.exists():
            if not take(p, explicit=True):
                result.missing.append((text, "folder holds no image convert reads"))
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not sum(take(Path(m), explicit=False) for m in matches):
                result.missing.append((text, "matches no image file"))
        else:
            result.missing.append((text, "no such file or folder"))
    return result
