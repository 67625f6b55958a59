"""Serving an OME-Zarr store: a folder whose files are read one by one.

An OME-TIFF is one file read by byte ranges; a Zarr store is a folder of
metadata documents (``zarr.json``, or ``.zgroup``/``.zattrs``/``.zarray``)
and chunk files, each fetched whole (a sharded Zarr v3 store also reads
ranges of its shard files). The server routes ``/<store name>/<key>`` to the
file ``<store>/<key>`` with the same CORS, Range, ETag and no-compression
rules as any served file; this module only decides which file a URL names,
safely:

* the key is split on ``/``; an empty part (``//``), ``.`` or ``..``, a
  backslash or a NUL refuses the request, so nothing outside the store is
  reachable by a path trick;
* the file is resolved (symbolic links followed) and must still lie inside
  the store, and be a regular file;
* the store's name itself is not a file: ``/<store name>`` is 404.

``<stem>.view.json`` and ``<stem>.features.geojson`` (points and shapes)
beside the store are its sidecars (our viewer reads them as for an
OME-TIFF); its label images are inside it (``labels/<name>``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import naming


def store_sidecars(store) -> list[Path]:
    """Return the sidecar files that may sit beside a store: its view file and points/shapes.

    Examples
    --------
    >>> [p.name for p in store_sidecars("/data/tissue.ome.zarr")]
    ['tissue.view.json', 'tissue.features.geojson']
    """
    store = Path(os.fspath(store))
    return [naming.view_path(store), naming.features_path(store)]


def store_file(store: Path, key: str) -> Path | None:
    """Return the file under ``store`` that the URL key names, or None if it names none (or too much).

    Parameters
    ----------
    store : pathlib.Path
        The store's folder (absolute).
    key : str
        The decoded URL path after ``/<store name>/``, e.g. ``"s0/c/0/0/0"``.

    Returns
    -------
    pathlib.Path or None
        A regular file inside the store, or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "a.ome.zarr"
    >>> (store / "0").mkdir(parents=True)
    >>> _ = (store / "0" / ".zarray").write_text("{}")
    >>> store_file(store, "0/.zarray").name
    '.zarray'
    >>> store_file(store, "0/../../etc/passwd") is None, store_file(store, "0//.zarray") is None
    (True, True)
    """
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        return None
    candidate = store.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
        root = store.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop
        return None
    if root not in real.parents or not real.is_file():
        return None
    return candidate
