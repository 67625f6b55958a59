"""Where a publication goes: a local folder or an object store reached through fsspec.

Both kinds answer the same few questions (is an object there, with which size
and checksum), put a file so that it appears whole or not at all, and say
which URL a browser uses for it. Store errors become one-line
:class:`~napari_viv.errors.NapariVivError` s naming the destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from ..errors import NapariVivError
from ..text import one_line

#: The publication's manifest: name -> size and CRC-32C of every file sent, so a
#: rerun skips what is already there and identical (rewritten as files complete).
MANIFEST_NAME = ".napari-viv-manifest.json"
#: The small object written and removed to learn, before any upload, whether
#: the store lets us write and make objects public.
PROBE_NAME = ".napari-viv-probe"
#: Multipart part size on S3: a file of two parts or more (an NGFF 0.5 shard, a
#: large OME-TIFF) goes up in parts of this size, several at a time.
PART_SIZE = 16 << 20
#: S3's limit of parts per upload (the part size grows for files beyond 10000 parts).
MAX_PARTS = 10_000


@dataclass(frozen=True)
class StoredFile:
    """What the destination holds under one name: its size."""

    size: int


@dataclass(frozen=True)
class StoreOptions:
    """How to reach an object store.

    Parameters
    ----------
    endpoint_url : str, optional
        An S3-compatible endpoint (MinIO, Ceph, a local test server); AWS when None.
    profile : str, optional
        A named profile from the AWS config and credentials files.
    connect_timeout : float
        Seconds to wait for a connection: the first request (is the bucket
        there?) tries once, so an unreachable endpoint is named after this long.
    answer_timeout : float
        Seconds the first request (is the bucket there?) waits for an answer,
        with no retry: an endpoint that accepts connections and never answers
        is reported after this long, not after minutes of retries.
    """

    endpoint_url: str | None = None
    profile: str | None = None
    connect_timeout: float = 5.0
    answer_timeout: float = 10.0


class LocalFolder:
    """A folder on this machine: a static site to copy to any web server."""

    kind = "folder"

    def __init__(self, path: str | os.PathLike) -> None:
        self.root = Path(path).expanduser().absolute()
        self.label = str(self.root)

    def check(self) -> None:
        """Refuse a destination that is a file or whose parent is missing."""
        if self.root.exists() and not self.root.is_dir():
            raise NapariVivError("exists and is not a folder", subject=self.label)
        if not self.root.parent.is_dir():
            raise NapariVivError("its parent folder does not exist", subject=self.label)

    def stat(self, name: str) -> StoredFile | None:
        """Size of ``name`` at the destination, or None."""
        path = self.root / name
        return StoredFile(path.stat().st_size) if path.is_file() else None

    def listing(self) -> dict[str, int]:
        """Every file under the destination: relative name -> size."""
        if not self.root.is_dir():
            return {}
        return {p.relative_to(self.root).as_posix(): p.stat().st_size for p in self.root.rglob("*") if p.is_file()}

    def read_bytes(self, name: str) -> bytes | None:
        """Read the bytes of ``name``; None when it is not there."""
        path = self.root / name
        return path.read_bytes() if path.is_file() else None

    def put(self, local: Path, name: str, *, content_type: str, public: bool = False, callback=None) -> None:
        """Copy ``local`` to ``name`` through a hidden temporary file, then rename it into place."""
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
                while block := src.read(8 << 20):
                    out.write(block)
                    if callback is not None:
                        callback(len(block))
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a web server must read it
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def make_public(self, name: str) -> None:
        """Do nothing: a web server decides what it shows."""

    def delete_many(self, names: list[str]) -> None:
        """Remove several files, and the folders they leave empty."""
        for name in names:
            self.delete(name)
        for folder in sorted({(self.root / n).parent for n in names}, key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):  # not empty, or already gone
                while folder != self.root and not any(folder.iterdir()):
                    folder.rmdir()
                    folder = folder.parent

    def delete(self, name: str) -> None:
        """Remove ``name`` if it is there."""
        with contextlib.suppress(FileNotFoundError):
            (self.root / name).unlink()

    def public_url(self, name: str, base: str | None) -> str | None:
        """Give the URL of ``name`` under ``base`` (``--public-url``), else a file: path."""
        if base:
            return base.rstrip("/") + "/" + quote(name)
        return (self.root / name).as_uri()


class ObjectStore:
    """A bucket and prefix on an object store (s3://, and the other fsspec schemes)."""

    kind = "store"

    def __init__(self, url: str, options: StoreOptions | None = None) -> None:
        self.options = options or StoreOptions()
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.label = url.rstrip("/")
        if not self.bucket:
            raise NapariVivError("names no bucket (expected SCHEME://BUCKET/PREFIX)", subject=url)
        self.fs = self._filesystem(read_timeout=60, attempts=3)

    @property
    def endpoint(self) -> str:
        """The endpoint's address as the user knows it (for messages)."""
        return self.options.endpoint_url or f"the {self.scheme}:// service's default endpoint"

    def _filesystem(self, *, read_timeout: float, attempts: int):
        """Open the fsspec filesystem; S3's timeouts and retries through botocore's and s3fs's public settings."""
        try:
            import fsspec
        except ImportError as exc:
            raise NapariVivError(
                "publishing to an object store needs the publish extra: pip install 'napari-viv[publish]'",
                subject=self.label,
            ) from exc
        kwargs: dict = {}
        if self.scheme in ("s3", "s3a"):
            config = {
                "connect_timeout": self.options.connect_timeout,
                "read_timeout": read_timeout,
                # botocore's total_max_attempts counts the first try (its max_attempts does not)
                "retries": {"total_max_attempts": attempts, "mode": "standard"},
            }
            kwargs = {"config_kwargs": config, "skip_instance_cache": True}
            if self.options.endpoint_url:
                kwargs["endpoint_url"] = self.options.endpoint_url
            if self.options.profile:
                kwargs["profile"] = self.options.profile
        try:
            fs = fsspec.filesystem(self.scheme, **kwargs)
        except (ImportError, ValueError, TypeError) as exc:
            raise NapariVivError(f"cannot open this store: {one_line(str(exc))}", subject=self.label) from exc
        if self.is_s3:
            fs.retries = min(attempts, 2)  # s3fs's own retry loop (5 by default), on top of botocore's
        return fs

    @property
    def is_s3(self) -> bool:
        """Whether this is an S3 or S3-compatible store (ACLs, CORS rules, presigning)."""
        return self.scheme in ("s3", "s3a")

    def path(self, name: str) -> str:
        """Give the store path (bucket/prefix/name) of ``name``."""
        return "/".join(p for p in (self.bucket, self.prefix, name) if p)

    @contextlib.contextmanager
    def errors(self, doing: str):
        """Turn the store's exceptions into one line about this destination."""
        try:
            yield
        except NapariVivError:
            raise
        except Exception as exc:  # noqa: BLE001 - every store library raises its own kinds
            raise NapariVivError(f"{doing}: {explain(exc, self.endpoint)}", subject=self.label) from exc

    def check(self) -> None:
        """Fail early, in one line, when the bucket is missing or unreachable, or the credentials are wrong.

        The question goes through a client that waits ``answer_timeout`` seconds
        once, so a silent endpoint is named within that time.
        """
        with self.errors("cannot use this bucket"):
            if self.is_s3:
                quick = self._filesystem(read_timeout=self.options.answer_timeout, attempts=1)
                try:
                    quick.call_s3("head_bucket", Bucket=self.bucket)
                except FileNotFoundError as exc:
                    raise FileNotFoundError("the bucket does not exist") from exc
                except PermissionError as exc:
                    raise NapariVivError(
                        f"access denied: wrong credentials, or no permission to use this bucket ({one_line(str(exc))})",
                        subject=self.label,
                    ) from exc
            elif not self.fs.exists(self.bucket):
                raise FileNotFoundError("the bucket does not exist")

    def stat(self, name: str) -> StoredFile | None:
        """Size of ``name``, or None when there is no such object."""
        with self.errors(f"cannot look at {name}"):
            try:
                info = self.fs.info(self.path(name), refresh=True)
            except FileNotFoundError:
                return None
            return None if info.get("type") == "directory" else StoredFile(int(info["size"]))

    def listing(self) -> dict[str, int]:
        """Every object under the prefix: name relative to it -> size (one listing)."""
        root = self.path("")
        with self.errors("cannot list the destination"):
            try:
                found = self.fs.find(root, detail=True, withdirs=False)
            except FileNotFoundError:
                return {}
        start = len(root.rstrip("/")) + 1
        return {path[start:]: int(info.get("size", 0)) for path, info in found.items()}

    def read_bytes(self, name: str) -> bytes | None:
        """Read a small object's bytes; None when it is not there."""
        with self.errors(f"cannot read {name}"):
            try:
                return self.fs.cat_file(self.path(name))
            except FileNotFoundError:
                return None

    def put(self, local: Path, name: str, *, content_type: str, public: bool = False, callback=None) -> None:
        """Upload ``local`` (multipart with parallel parts when large); it appears once complete.

        ``public`` sends the object's ACL with it (the probe has shown that the store allows it).
        """
        extra: dict = {"ContentType": content_type} if self.is_s3 else {}
        if self.is_s3:
            extra["chunksize"] = max(PART_SIZE, -(-local.stat().st_size // MAX_PARTS))
        if self.is_s3 and public:
            extra["ACL"] = "public-read"
        if callback is not None:
            extra["callback"] = _fsspec_callback(callback)
        with self.errors(f"cannot upload {name}"):
            self.fs.put_file(str(local), self.path(name), **extra)

    def make_public(self, name: str) -> None:
        """Let anyone read ``name`` (an object ACL); the store may refuse."""
        if not self.is_s3:
            return
        try:
            self.fs.chmod(self.path(name), acl="public-read")
        except Exception as exc:  # noqa: BLE001 - see errors()
            raise NapariVivError(
                f"the store refused to make objects public ({explain(exc)}); publish a private link "
                "with --presign SECONDS, or allow public reads with a bucket policy (docs/publishing.md)",
                subject=self.label,
            ) from exc

    def delete(self, name: str) -> None:
        """Remove ``name`` if it is there."""
        with contextlib.suppress(FileNotFoundError), self.errors(f"cannot remove {name}"):
            self.fs.rm_file(self.path(name))

    def delete_many(self, names: list[str]) -> None:
        """Remove several objects in as few requests as the store allows."""
        if names:
            with self.errors("cannot remove old files"):
                self.fs.rm([self.path(n) for n in names])

    def public_url(self, name: str, base: str | None) -> str | None:
        """Give the URL a browser uses for ``name``: under ``base``, else the store's own address."""
        key = "/".join(p for p in (self.prefix, name) if p)
        if base:
            return base.rstrip("/") + "/" + quote(name)
        if not self.is_s3:
            return None
        if self.options.endpoint_url:
            return f"{self.options.endpoint_url.rstrip('/')}/{self.bucket}/{quote(key)}"
        return f"https://{self.bucket}.s3.amazonaws.com/{quote(key)}"

    def presign(self, name: str, seconds: int) -> str:
        """Make a URL that reads ``name`` without credentials for ``seconds``."""
        with self.errors(f"cannot presign {name}"):
            return self.fs.url(self.path(name), expires=int(seconds))


def _umask() -> int:
    """Read the process's umask (by setting it, then putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Exceptions (by class name, from botocore, aiohttp, asyncio and fsspec) meaning "no answer in time".
_SILENT = {"ReadTimeoutError", "ServerTimeoutError", "TimeoutError", "FSTimeoutError", "ReadTimeout"}
_UNREACHABLE = {"EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ConnectionError"}


def explain(exc: BaseException, endpoint: str = "the endpoint") -> str:
    """One line for a store exception: what it means for the user, when we know.

    Examples
    --------
    >>> explain(TimeoutError(), "http://127.0.0.1:9")
    'no answer from the endpoint http://127.0.0.1:9 (it accepted the connection, then stayed silent)'
    """
    text = one_line(str(exc)) or type(exc).__name__
    names = {type(e).__name__ for e in _chain(exc)}
    lowered = text.lower()
    if "InvalidAccessKeyId" in text or "SignatureDoesNotMatch" in text or "NoCredentialsError" in names:
        return f"the credentials were refused or are missing ({text})"
    if names & _UNREACHABLE:
        return f"cannot reach the endpoint {endpoint} ({text})"
    if names & _SILENT:
        return f"no answer from the endpoint {endpoint} (it accepted the connection, then stayed silent)"
    if "NoSuchBucket" in text or "bucket does not exist" in lowered:
        return "the bucket does not exist"
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"access denied ({text})"
    return text


def _chain(exc: BaseException | None):
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1


def _fsspec_callback(report):
    """Make an fsspec progress callback that passes each increment of bytes sent to ``report``."""
    from fsspec.callbacks import Callback

    class Forward(Callback):
        def relative_update(self, inc=1):
            report(inc)

        def call(self, *args, **kwargs):
            return None

    return Forward()


def make_destination(dest: str, options: StoreOptions | None = None) -> LocalFolder | ObjectStore:
    """Open a folder path or an object-store URL (``s3://bucket/prefix``, ``gs://…``, ``az://…``)."""
    scheme = urlsplit(str(dest)).scheme
    if len(scheme) > 1 and scheme != "file":
        return ObjectStore(str(dest), options)
    if scheme == "file":
        dest = urlsplit(str(dest)).path
    return LocalFolder(dest)
