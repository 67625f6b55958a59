"""Atomic publication of an ``.ome.tif`` and its ``offsets.json``.

Files are written into unnamed temporary files (Linux ``O_TMPFILE``) in the
output folder, so an error, a cancel or even SIGKILL leaves nothing behind.
Only when both are complete are they given names: first any old
``offsets.json`` is removed, then the image is moved into place, then the new
offsets file, so a server never pairs a new image with stale offsets.
Where ``O_TMPFILE`` is unavailable a hidden named temporary file is used and
removed in ``finally`` (a SIGKILL could then leave a ``.*.part`` file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NapariVivError

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def check_folder(folder: Path, target=None) -> None:
    """Raise NapariVivError unless ``folder`` exists, is a folder and is writable.

    ``target``, when given, is the file about to be written there; the error
    is then about it.
    """
    if folder.exists() and not folder.is_dir():
        raise NapariVivError(f"{folder} is a file, not a folder", subject=target)
    if not folder.is_dir():
        raise NapariVivError(f"the output folder {folder} does not exist", subject=target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NapariVivError(f"the output folder {folder} is not writable", subject=target)


class _TempFile:
    """A binary read/write file in ``folder``: unnamed if possible."""

    def __init__(self, folder: Path, stem: str):
        self.folder = folder
        self.name: Path | None = None
        fd = None
        if hasattr(os, "O_TMPFILE"):
            try:
                fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o666)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                    raise NapariVivError(f"output folder {folder} is not writable") from None
                fd = None  # filesystem without O_TMPFILE support
        if fd is None:
            try:
                fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=folder)
            except OSError as exc:
                raise NapariVivError(f"cannot write ({exc.strerror})", subject=f"output folder {folder}") from None
            if hasattr(os, "fchmod"):  # mkstemp makes 0600 files; honour the umask
                os.fchmod(fd, 0o666 & ~_umask())
            self.name = Path(name)
        self.file = os.fdopen(fd, "w+b")
        # tifffile wants a str name on file objects; unnamed ones have an int
        raw: Any = self.file.raw
        raw.name = str(self.name or folder / f".{stem}.unnamed")

    def place(self, final: Path, *, replace: bool) -> None:
        """Give the (complete, flushed) file the name ``final``."""
        self.file.flush()
        if self.name is None:
            tmp = self.folder / f".{final.name}.{secrets.token_hex(6)}.tmp"
            _link_fd(self.file.fileno(), tmp)
            self.name = tmp
        self.file.close()  # Windows cannot rename open files
        if replace:
            os.replace(self.name, final)
        else:
            try:
                os.link(self.name, final)  # fails if final appeared meanwhile
            except FileExistsError:
                raise NapariVivError("already exists (use overwrite)", subject=final) from None
            os.unlink(self.name)
        self.name = None

    def discard(self) -> None:
        try:
            self.file.close()
        finally:
            if self.name is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.name)
                self.name = None


def _link_fd(fd: int, target: Path) -> None:
    """Give the unnamed file ``fd`` the name ``target``.

    ``linkat(AT_EMPTY_PATH)`` first, then the ``/proc/self/fd`` link (either
    can be refused by the kernel or a sandbox), then a plain copy.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(target), _AT_EMPTY_PATH) == 0:
            return
    except (OSError, AttributeError):
        pass
    try:
        os.link(f"/proc/self/fd/{fd}", target)
        return
    except OSError:
        pass
    size = os.fstat(fd).st_size
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        done = 0
        while done < size:
            n = os.copy_file_range(fd, out, size - done, done, done)
            if n == 0:
                raise OSError(errno.EIO, f"short copy to {target}")
            done += n
    except BaseException:
        os.close(out)
        os.unlink(target)
        raise
    os.close(out)


def publish_bytes(target: Path, data: bytes) -> None:
    """Atomically create or replace the small file ``target`` with ``data``."""
    tmp = _TempFile(target.parent, target.name)
    try:
        tmp.file.write(data)
        tmp.place(target, replace=True)
    finally:
        tmp.discard()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicPair:
    """Context manager: write ``tif_path`` and ``json_path`` atomically.

    Use ``.file`` for the image, then ``.commit(json_bytes)``. Leaving the
    block without ``commit`` (or with an exception) discards everything.
    """

    def __init__(self, tif_path, json_path, *, view_path=None, overwrite: bool = False):
        self.tif_path = Path(tif_path)
        self.json_path = Path(json_path)
        self.view_path = Path(view_path) if view_path is not None else None
        self.overwrite = overwrite
        self.folder = self.tif_path.parent
        self._tif: _TempFile | None = None
        self._json: _TempFile | None = None
        self._view: _TempFile | None = None

    def _outputs(self) -> list[Path]:
        return [self.tif_path, self.json_path] + ([self.view_path] if self.view_path else [])

    def __enter__(self) -> AtomicPair:
        """Check the folder and the outputs, and open the unnamed image file."""
        check_folder(self.folder)
        if not self.overwrite:
            for p in self._outputs():
                if p.exists():
                    raise NapariVivError("already exists (use overwrite)", subject=p)
        for p in self._outputs():
            if p.is_dir():
                raise NapariVivError("is a folder", subject=p)
        self._tif = _TempFile(self.folder, self.tif_path.name)
        return self

    @property
    def file(self):
        """The image's open binary file (unnamed until :meth:`commit`)."""
        assert self._tif is not None
        return self._tif.file

    def temporary_file(self):
        """Open an extra unnamed scratch file in the output folder (caller closes)."""
        return tempfile.TemporaryFile(dir=self.folder, prefix=f".{self.tif_path.name}.")

    def commit(self, json_bytes: bytes, view_bytes: bytes | None = None) -> None:
        """Publish the image, then its offsets file, then its view file (if any).

        With ``overwrite``, an old offsets or view file is removed before the
        image is replaced, so no sidecar ever describes another image.
        """
        assert self._tif is not None
        self._json = self._staged(self.json_path, json_bytes)
        if view_bytes is not None:
            assert self.view_path is not None
            self._view = self._staged(self.view_path, view_bytes)
        if self.overwrite:
            for old in (self.json_path, self.view_path):
                if old is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(old)
        self._tif.place(self.tif_path, replace=self.overwrite)
        try:
            self._json.place(self.json_path, replace=self.overwrite)
            if self._view is not None and self.view_path is not None:
                self._view.place(self.view_path, replace=self.overwrite)
        except BaseException:
            for p in (self.tif_path, self.json_path):  # never an image without its sidecars
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
            raise

    def _staged(self, path: Path, data: bytes) -> _TempFile:
        tmp = _TempFile(self.folder, path.name)
        tmp.file.write(data)
        tmp.file.flush()
        return tmp

    def __exit__(self, *exc) -> None:
        """Discard every temporary file that was not published."""
        for tmp in (self._tif, self._json, self._view):
            if tmp is not None:
                tmp.discard()
        self._tif = self._json = self._view = None
