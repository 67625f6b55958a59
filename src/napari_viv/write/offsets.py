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
    """The offsets.json content, byte for byte like generate-tiff-offsets."""
    return json.dumps([int(o) for o in offsets]).encode("ascii")


def read_offsets(tif_path) -> list[int]:
    """Main-chain IFD offsets of ``tif_path``, like generate-tiff-offsets."""
    p = Path(tif_path)
    if not p.is_file():
        raise NapariVivError(f"{p}: no such file")
    try:
        return offsets_of(str(p))
    except NapariVivError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds for non-TIFFs
        raise NapariVivError(f"{p}: not a readable TIFF ({exc})") from None


def write_offsets(tif_path, out=None) -> Path:
    """Write the offsets.json for ``tif_path`` (atomically) and return its path."""
    from .atomic import check_folder, publish_bytes

    offsets = read_offsets(tif_path)
    target = Path(out) if out is not None else naming.offsets_path(tif_path)
    check_folder(target.parent)
    publish_bytes(target, offsets_json(offsets))
    return target
