"""The resume check of ``napari-viv batch``: whether an output (OME-TIFF or OME-Zarr) is already a complete conversion.

:func:`input_stat` gives an input's size and time (a ``.zarr`` folder is
walked once); :func:`output_is_current` says, without reading a pixel,
whether an output is complete and newer than its input.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .. import naming
from ..text import one_line


def input_stat(path) -> tuple[int, float]:
    """Return ``(size, mtime)`` of an input.

    A file's own, or for a ``.zarr`` folder the total size of its files and
    the time of its newest entry (one walk of it).

    Parameters
    ----------
    path : str or os.PathLike
        A file or a ``.zarr`` folder.

    Returns
    -------
    tuple of (int, float)
        Size in bytes and modification time in seconds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.bin").write_bytes(b"1234")
    >>> input_stat(folder / "a.bin")[0]
    4
    """
    p = Path(path)
    st = p.stat()
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size, st.st_mtime
    size, mtime = 0, st.st_mtime
    for f in p.rglob("*"):
        try:
            s = f.stat()
        except FileNotFoundError:  # a dangling link: no data, no time
            continue
        mtime = max(mtime, s.st_mtime)
        if stat.S_ISREG(s.st_mode):
            size += s.st_size
    return size, mtime


def output_is_current(src, out, *, src_mtime: float | None = None) -> str | None:
    """Say why ``out`` is not a complete conversion newer than ``src``; None when it is.

    The check is cheap (no pixel is read): the image and its offsets file
    exist, the image is newer than the input, its IFD chain parses and matches
    the offsets file, and the tiles of every plane (and every level of the
    last plane) end inside the file. An OME-Zarr output (a ``.zarr`` name) is
    checked by :func:`store_is_current`.

    Parameters
    ----------
    src : str or os.PathLike
        The input.
    out : str or os.PathLike
        Its ``.ome.tif`` output (or ``.ome.zarr`` store).
    src_mtime : float, optional
        ``src``'s time from :func:`input_stat` when the caller has it (a
        ``.zarr`` input is then walked once).

    Returns
    -------
    str or None
        Why the output must be converted (again), or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> output_is_current(folder / "a.npy", folder / "a.ome.tif")
    'no output yet'
    """
    import json

    import tifffile

    src, out = Path(src), Path(out)
    if naming.is_zarr_name(out):
        return store_is_current(src, out, src_mtime=src_mtime)
    if not out.is_file():
        return "no output yet"
    offsets_file = naming.offsets_path(out)
    if not offsets_file.is_file():
        return f"{offsets_file.name} is missing"
    try:
        out_stat = out.stat()
        if src_mtime is None:
            src_mtime = input_stat(src)[1]
        if out_stat.st_mtime < src_mtime:
            return "the input is newer than the output"
        recorded = json.loads(offsets_file.read_text())
        with tifffile.TiffFile(out) as tif:
            pages = list(tif.pages)
            if [p.offset for p in pages] != recorded:
                return f"{offsets_file.name} does not match the image"
            check = list(pages)
            if pages and pages[-1].subifds:
                for lvl, off in enumerate(pages[-1].subifds, start=1):
                    tif.filehandle.seek(off)
                    check.append(tifffile.TiffPage(tif, index=(len(pages) - 1, lvl)))
            if any(_ends_after(page, out_stat.st_size) for page in check):
                return "the output is truncated"
    except Exception as exc:  # noqa: BLE001 - unreadable JSON or TIFF: convert again
        return f"the output is damaged ({one_line(exc, 80)})"
    return None


def _ends_after(page, size: int) -> bool:
    """Tell whether a tile of ``page`` ends after byte ``size``."""
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=True)]
    return bool(ends) and max(ends) > size


def store_is_current(src, out, *, src_mtime: float | None = None) -> str | None:
    """Say why the OME-Zarr store ``out`` is not a complete conversion newer than ``src``; None when it is.

    No pixel is read: the group's metadata parses and names its levels, its
    metadata file is newer than the input, and every level's array has its
    metadata and as many chunk files (NGFF 0.4) or shard files (0.5) as its
    shape and chunking give (napari-viv writes every chunk).

    Parameters
    ----------
    src : str or os.PathLike
        The input.
    out : str or os.PathLike
        Its ``.ome.zarr`` store.
    src_mtime : float, optional
        ``src``'s time from :func:`input_stat`, when the caller has it.

    Returns
    -------
    str or None
        Why the output must be converted (again), or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> store_is_current(folder / "a.npy", folder / "a.ome.zarr")
    'no output yet'
    """
    import json

    src, out = Path(src), Path(out)
    if not out.is_dir():
        return "no output yet"
    v3 = (out / "zarr.json").is_file()
    root = out / ("zarr.json" if v3 else ".zattrs")
    try:
        attrs = json.loads(root.read_text())
        attrs = attrs["attributes"]["ome"] if v3 else attrs
        paths = [d["path"] for d in attrs["multiscales"][0]["datasets"]]
        if src_mtime is None:
            src_mtime = input_stat(src)[1]
        if root.stat().st_mtime < src_mtime:
            return "the input is newer than the output"
        for path in paths:
            why = _level_incomplete(out / path, v3)
            if why:
                return f"level {path} {why}"
    except FileNotFoundError as exc:
        return f"{Path(exc.filename or '?').name} is missing"
    except Exception as exc:  # noqa: BLE001 - unreadable metadata: convert again
        return f"the output is damaged ({one_line(exc, 80)})"
    return None


def _level_incomplete(level: Path, v3: bool) -> str | None:
    """Say what a level array lacks (its chunk or shard files); None when all are there."""
    import json
    import math

    if v3:
        meta = json.loads((level / "zarr.json").read_text())
        grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
        files = [p for p in (level / "c").rglob("*") if p.is_file()] if (level / "c").is_dir() else []
    else:
        meta = json.loads((level / ".zarray").read_text())
        grid = meta["chunks"]
        files = [p for p in level.rglob("*") if p.is_file() and not p.name.startswith(".")]
    expected = math.prod(math.ceil(n / c) for n, c in zip(meta["shape"], grid, strict=True))
    return None if len(files) == expected else f"has {len(files)} of its {expected} chunk files"
