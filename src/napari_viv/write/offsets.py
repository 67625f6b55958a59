"""``offsets.json``: the byte offsets of every main-chain IFD of a TIFF.

Viv (and Avivator, which fetches ``<stem>.offsets.json`` beside an
``<stem>.ome.tif``) uses them to jump straight to a plane's IFD instead of
walking the chain. The content is exactly what generate-tiff-offsets 0.1.9
writes: ``json.dumps(list_of_offsets)``, one line, no trailing newline;
SubIFD offsets are not included.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import naming
from ..errors import NapariVivError


def offsets_of(fh) -> list[int]:
    """Main-chain IFD offsets of an open TIFF (path or binary file)."""
    import tifffile

    with tifffile.TiffFile(fh) as tif:
        return [page.offset for page in tif.pages]


def offsets_json(offsets: list[int]) -> bytes:
    """Encode the offsets.json content, byte for byte like generate-tiff-offsets."""
    return json.dumps([int(o) for o in offsets]).encode("ascii")


def read_offsets(tif_path) -> list[int]:
    """Main-chain IFD offsets of ``tif_path``, like generate-tiff-offsets."""
    p = Path(tif_path)
    if not p.is_file():
        raise NapariVivError("no such file", subject=p)
    try:
        return offsets_of(str(p))
    except NapariVivError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds for non-TIFFs
        raise NapariVivError(f"not a readable TIFF ({exc})", subject=p) from None


def write_offsets(tif_path, out=None) -> Path:
    """Write the ``offsets.json`` of an existing TIFF, atomically.

    For an OME-TIFF written by other software, so that Viv and Avivator can
    jump to each plane without walking the IFD chain. The bytes are those
    generate-tiff-offsets 0.1.9 writes.

    Parameters
    ----------
    tif_path : str or os.PathLike
        The TIFF (usually ``<stem>.ome.tif``).
    out : str or os.PathLike, optional
        Where to write; default ``<stem>.offsets.json`` beside ``tif_path``.

    Returns
    -------
    pathlib.Path
        The offsets file written.

    Raises
    ------
    NapariVivError
        If ``tif_path`` is missing or not a readable TIFF, or the folder of
        ``out`` is missing or not writable.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import numpy as np, tifffile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> tifffile.imwrite(folder / "cells.ome.tif", np.zeros((3, 64, 64), np.uint8))
    >>> path = write_offsets(folder / "cells.ome.tif")
    >>> path.name, len(json.loads(path.read_text()))
    ('cells.offsets.json', 3)
    """
    from .atomic import check_folder, publish_bytes

    offsets = read_offsets(tif_path)
    target = Path(out) if out is not None else naming.offsets_path(tif_path)
    check_folder(target.parent)
    publish_bytes(target, offsets_json(offsets))
    return target
