"""Which URL serves which file: exact names, nothing joined onto a folder.

A route is ``/<name>`` for exactly these files:

* the files given to the server;
* the sidecars beside each (``<stem>.offsets.json``, ``<stem>.view.json``,
  named by :mod:`napari_viv.naming`), served when they exist at request
  time;
* our viewer at ``/``, ``/viewer.js`` and ``/viewer.css`` (:mod:`.viewer`);
* for an OME-Zarr store given to the server, ``/<store>/<key>``: a file
  inside that store and nowhere else (:mod:`.store`).

Anything else (``..``, encoded dots, double slashes, neighbouring files,
another case) has no route.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from .. import naming
from ..errors import NapariVivError
from ..read.omezarr import is_zarr_store
from . import viewer
from .store import store_file, store_sidecars


class Routes:
    """The served files by URL name.

    Parameters
    ----------
    files : path or list of paths
        The files (or OME-Zarr store folders) to serve; each must exist, and
        no two may share a name.

    Raises
    ------
    NapariVivError
        For a missing file or two files with the same name (or a viewer route's name).
    """

    def __init__(self, files) -> None:
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        self._main: dict[str, Path] = {}  # URL name -> path, the files given
        self._sidecars: dict[str, Path] = {}  # URL name -> path, offsets/view sidecars
        for f in files:
            path = Path(f).expanduser().absolute()
            if not path.is_file() and not is_zarr_store(path):
                raise NapariVivError("no such file (or Zarr store) to serve", subject=path)
            self._add(self._main, path)
        #: URL name -> folder: the Zarr stores among the files, served key by key
        self._stores = {name: p for name, p in self._main.items() if p.is_dir()}
        for path in list(self._main.values()):
            for side in store_sidecars(path) if path.is_dir() else naming.sidecar_paths(path):
                if side.name not in self._main:
                    self._add(self._sidecars, side)

    def _add(self, table: dict[str, Path], path: Path) -> None:
        name = path.name
        if name in self._main or name in self._sidecars or name in viewer.ASSETS:
            problem = f"another served file is also named {name!r}; serve files with distinct names"
            raise NapariVivError(problem, subject=path)
        table[name] = path

    @property
    def files(self) -> list[Path]:
        """Return the files given (sidecars not included)."""
        return list(self._main.values())

    def lookup(self, url_path: str) -> Path | None:
        """Find the file behind a request's path: ``/name`` or ``/store/key`` -> path, else None.

        Parameters
        ----------
        url_path : str
            The request's decoded path.

        Returns
        -------
        Path or None
        """
        if not url_path.startswith("/"):
            return None
        name, slash, key = url_path[1:].partition("/")
        if slash or name in self._stores:
            store = self._stores.get(name)
            return store_file(store, key) if store is not None else None
        return self._main.get(name) or self._sidecars.get(name) or viewer.asset_path(name)

    def url_path(self, path) -> str:
        """Give the quoted URL path of a served file or sidecar, given by path or by name.

        Parameters
        ----------
        path : str or Path
            A served file's path, or its bare name.

        Returns
        -------
        str
            ``/<quoted name>``.

        Raises
        ------
        NapariVivError
            When that file is not served here.
        """
        name = Path(path).name
        known = self._main.get(name) or self._sidecars.get(name)
        if known is None or (name != str(path) and Path(path).absolute() != known):
            raise NapariVivError("not served by this server", subject=path)
        return "/" + quote(name)
