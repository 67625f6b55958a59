"""RangeServer: serve exactly the given files over HTTP, with Range and CORS.

Built for Avivator, which reads an OME-TIFF with 64 KiB ``Range`` requests
from an https page and fetches ``<stem>.offsets.json`` next to it.

What it does (and deliberately nothing more):

* Routes are an exact match of the URL path against the served files'
  names (``/<name>``); nothing is joined onto a folder, so ``..``, encoded
  dots, double slashes and neighbouring files all get 404.
* The sidecars beside each ``.ome.tif`` (``<stem>.offsets.json``,
  ``<stem>.view.json``) are served too when they exist at request time, and
  our viewer at ``/``, ``/viewer.js`` and ``/viewer.css`` (:mod:`.viewer`).
* Each request opens the file anew, so a re-export that ``os.replace()``\\ s it
  is picked up, while a response in flight keeps reading the file it opened.
* Only aiohttp's public API: it parses the request (``http_range``,
  ``if_match``, ``if_none_match``, ``if_modified_since``, ``if_range``...);
  this module applies that to the opened file (206/416, 304/412, HEAD) and
  answers with ``web.Response``. A 64 KiB range is one ``read`` on the loop
  and one write, with no thread hop; long bodies are streamed from a worker
  thread. Nothing is compressed and no ``.gz``/``.br`` sibling is ever
  looked for.
* CORS headers go on every response to an allowed origin, errors included;
  an ``OPTIONS`` preflight is answered with the Range and Private-Network
  permissions Chrome asks for.
* Binds 127.0.0.1 on a free port unless told otherwise. While bound to
  loopback, requests whose ``Host`` is not a loopback name are refused
  (a DNS-rebinding guard).

The asyncio loop runs in a daemon thread, so ``start()``/``stop()`` may be
called from any thread (a Qt widget, a CLI, a test).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import mimetypes
import os
import socket
import stat
import threading
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from .. import naming
from ..errors import NapariVivError
from ..read.omezarr import is_zarr_store
from . import viewer
from .links import AVIVATOR_URL, avivator_origin
from .store import store_file, store_sidecars

log = logging.getLogger(__name__)

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
EXPOSED_HEADERS = "Content-Range, Content-Length, Accept-Ranges, ETag"
ALLOWED_REQUEST_HEADERS = "Range, Content-Type, If-None-Match, If-Modified-Since"

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_STOP_TIMEOUT = 10.0


class ServerStats(NamedTuple):
    """Responses completed and body bytes sent since start() (counted once
    the last byte of a response is handed to the socket)."""

    requests: int
    bytes_sent: int


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the usual names for them."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=256)
def _host_is_loopback(host_header: str | None) -> bool:
    """Whether a Host header names this machine's loopback (port ignored)."""
    if not host_header:
        return True  # HTTP/1.0 without Host: nothing to rebind
    try:
        hostname = urlsplit("//" + host_header).hostname
    except ValueError:
        return False
    return bool(hostname) and is_loopback(hostname)



@lru_cache(maxsize=256)
def normalize_origin(origin: str) -> str:
    """``https://Host:443/path/`` -> ``https://host`` (scheme://host[:port])."""
    origin = origin.strip()
    if origin == "*":
        return origin
    bad = NapariVivError(f"origin {origin!r} is not a URL like https://example.org")
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:  # bad IPv6 brackets, port out of range
        raise bad from None
    if not parts.scheme or not parts.hostname:
        raise bad
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}"


#: The public Avivator's origin, for the CORS allow-list.
AVIVATOR_ORIGIN = normalize_origin(AVIVATOR_URL)


def default_allowed_origins() -> list[str]:
    """The public Avivator, plus a self-hosted one named by NAPARI_VIV_AVIVATOR_URL.

    A malformed NAPARI_VIV_AVIVATOR_URL raises :class:`NapariVivError`, as it
    does for the links (:func:`napari_viv.serve.links.avivator_base`).
    """
    origins = [AVIVATOR_ORIGIN]
    custom = avivator_origin()
    if custom not in origins:
        origins.append(custom)
    return origins


class RangeServer:
    """Serve ``files`` (and their offsets.json) over HTTP for Avivator.

    ``allow_origins``: ``None`` for the default allow-list (the public
    Avivator and ``NAPARI_VIV_AVIVATOR_URL``), ``"*"`` for any origin, or a
    list of origins/URLs. Use as a context manager or call start()/stop().
    """

    def __init__(self, files, *, host="127.0.0.1", port=0, allow_origins=None):
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        self._routes: dict[str, Path] = {}   # URL name -> path, main files
        self._sidecars: dict[str, Path] = {}  # URL name -> path, offsets/view sidecars
        for f in files:
            path = Path(f).expanduser().absolute()
            if not path.is_file() and not is_zarr_store(path):
                raise NapariVivError(f"{path}: no such file (or Zarr store) to serve")
            self._add(self._routes, path)
        #: URL name -> folder, the Zarr stores among the routes (served file by file: :mod:`.store`)
        self._stores = {name: p for name, p in self._routes.items() if p.is_dir()}
        for path in list(self._routes.values()):
            for side in store_sidecars(path) if path.is_dir() else naming.sidecar_paths(path):
                if side.name not in self._routes:
                    self._add(self._sidecars, side)
        self.host = "127.0.0.1" if host in ("localhost", "") else str(host)
        self._requested_port = int(port)
        if not 0 <= self._requested_port <= 65535:
            raise NapariVivError(f"port {port} is out of range 0-65535")
        self.port = self._requested_port
        self._any_origin, self.allowed_origins = self._origins(allow_origins)
        self._loopback_only = is_loopback(self.host)
        self._requests = 0
        self._bytes = 0
        self._refused_origins: set[str] = set()
        self._lock = threading.Lock()
        self._lifecycle = threading.RLock()  # serializes start()/stop()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner = None

    # -- configuration -------------------------------------------------
    def _add(self, table: dict[str, Path], path: Path) -> None:
        name = path.name
        if name in self._routes or name in self._sidecars or name in viewer.ASSETS:
            raise NapariVivError(
                f"{path}: another served file is also named {name!r}; "
                "serve files with distinct names"
            )
        table[name] = path

    @staticmethod
    def _origins(allow_origins) -> tuple[bool, list[str]]:
        if allow_origins is None:
            return False, default_allowed_origins()
        if isinstance(allow_origins, str):
            allow_origins = [allow_origins]
        origins = [normalize_origin(o) for o in allow_origins]
        if not origins:
            raise NapariVivError("allow_origins is empty: no browser could read the file")
        return "*" in origins, [o for o in origins if o != "*"]

    @property
    def files(self) -> list[Path]:
        """The files given (offsets.json sidecars not included)."""
        return list(self._routes.values())

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> ServerStats:
        with self._lock:
            return ServerStats(self._requests, self._bytes)

    @property
    def url(self) -> str:
        """The URL of the first served file."""
        return self.url_for(next(iter(self._routes.values())))

    def url_for(self, path) -> str:
        """The http URL of a served file (given by path or by name)."""
        if not self.port:
            raise NapariVivError("the server has no port yet: call start() first")
        name = Path(path).name
        known = self._routes.get(name) or self._sidecars.get(name)
        if known is None or (
            Path(path).name != str(path) and Path(path).absolute() != known
        ):
            raise NapariVivError(f"{path}: not served by this server")
        return f"{self.origin}/{quote(name)}"

    @property
    def origin(self) -> str:
        """``http://host:port`` of the running server."""
        if not self.port:
            raise NapariVivError("the server has no port yet: call start() first")
        return f"http://{self._url_host()}:{self.port}"

    def viewer_url_for(self, path) -> str:
        """The link that opens a served file in our viewer, on this same origin."""
        self.url_for(path)  # raises unless the file is served here
        return viewer.viewer_link(self.origin, Path(path).name)

    def _url_host(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.getfqdn()
        if ":" in host:
            return f"[{host}]"
        return host

    # -- lifecycle -----------------------------------------------------
    def start(self) -> "RangeServer":
        """Bind and serve in a background thread; returns self."""
        with self._lifecycle:
            return self._start()

    def _start(self) -> "RangeServer":
        if self.running:
            return self
        if not self._loopback_only:
            log.warning(
                "serving %s on %s: anyone who can reach this address can read it",
                ", ".join(self._routes), self.host,
            )
        ready: Future = Future()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run, args=(loop, ready), name="napari-viv-server", daemon=True
        )
        self._loop, self._thread = loop, thread
        with self._lock:
            self._requests = self._bytes = 0
        thread.start()
        try:
            self.port = ready.result(timeout=30)
        except BaseException as exc:
            thread.join(timeout=_STOP_TIMEOUT)
            self._loop = self._thread = None
            if isinstance(exc, OSError):
                raise NapariVivError(
                    f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}"
                ) from None
            raise
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and release the port."""
        with self._lifecycle:
            self._stop()

    def _stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("RangeServer.stop() cannot be called from its own loop")
        if thread.is_alive():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # loop already closed
                pass
            thread.join(timeout=_STOP_TIMEOUT)
        self._loop = self._thread = None
        self.port = self._requested_port

    def __enter__(self) -> "RangeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):  # best effort; stop() is the real API
        try:
            if self.running:
                self.stop()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def _run(self, loop: asyncio.AbstractEventLoop, ready: Future) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                port = loop.run_until_complete(self._setup())
            except BaseException as exc:  # noqa: BLE001 - handed to the thread waiting in start()
                ready.set_exception(exc)
                return
            ready.set_result(port)
            loop.run_forever()
        finally:
            try:
                if self._runner is not None:
                    loop.run_until_complete(self._runner.cleanup())
                    self._runner = None
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    async def _setup(self) -> int:
        from aiohttp import web

        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=0.25, handle_signals=False)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self._requested_port, backlog=512)
        await site.start()
        return int(runner.addresses[0][1])

    # -- HTTP ----------------------------------------------------------
    def _cors_headers(self, origin: str | None) -> dict[str, str] | None:
        """CORS headers for a request from ``origin``; None if refused."""
        headers = {
            "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            "Cache-Control": "no-cache",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
        if self._any_origin:
            headers["Access-Control-Allow-Origin"] = "*"
            return headers
        headers["Vary"] = "Origin"
        if origin is None:
            # Not a CORS request (curl, Node); name the origin that may read it.
            headers["Access-Control-Allow-Origin"] = self.allowed_origins[0]
            return headers
        try:
            allowed = normalize_origin(origin) in self.allowed_origins
        except NapariVivError:
            allowed = False
        if not allowed:
            return None
        headers["Access-Control-Allow-Origin"] = origin
        return headers

    def _count(self, nbytes: int) -> None:
        with self._lock:
            self._requests += 1
            self._bytes += nbytes

    async def _handle(self, request):
        from aiohttp import web

        origin = request.headers.get("Origin")
        cors = self._cors_headers(origin)
        try:
            if cors is None:
                if origin not in self._refused_origins and len(self._refused_origins) < 64:
                    self._refused_origins.add(origin)  # log each origin once
                    log.warning(
                        "refused a request from origin %s; allow it with --allow-origin %s",
                        origin, origin,
                    )
                self._count(0)
                return web.Response(
                    status=403, text=f"origin {origin} is not allowed\n",
                    headers={"Vary": "Origin"},
                )
            if self._loopback_only and not _host_is_loopback(request.headers.get("Host")):
                self._count(0)
                return web.Response(status=403, text="bad Host header\n", headers=cors)
            path = self._lookup(request.path)
            if path is None:
                self._count(0)
                return web.Response(status=404, text="not found\n", headers=cors)
            if request.method == "OPTIONS":
                self._count(0)
                headers = dict(cors)
                headers.update({
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
                    "Access-Control-Allow-Private-Network": "true",
                    "Access-Control-Max-Age": "600",
                    "Allow": ALLOWED_METHODS,
                })
                return web.Response(status=204, headers=headers)
            if request.method not in ("GET", "HEAD"):
                self._count(0)
                headers = dict(cors, Allow=ALLOWED_METHODS)
                return web.Response(status=405, text="method not allowed\n", headers=headers)
            return await self._send_file(request, path, cors)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a bug or an I/O error: still answer with CORS
            log.exception("error serving %s", request.path)
            return web.Response(status=500, text="internal error\n", headers=cors or {})

    def _lookup(self, url_path: str) -> Path | None:
        """Exact-name routing: ``/name`` -> path, ``/store/key`` -> a file in a store, else None."""
        if not url_path.startswith("/"):
            return None
        name, slash, key = url_path[1:].partition("/")
        if slash or name in self._stores:
            store = self._stores.get(name)
            return store_file(store, key) if store is not None else None
        path = self._routes.get(name)
        if path is None:
            path = self._sidecars.get(name)
        if path is None:
            path = viewer.asset_path(name)
        return path

    async def _send_file(self, request, path: Path, cors: dict[str, str]):
        """Answer GET/HEAD for ``path``, opened anew for this request."""
        from aiohttp import web

        try:
            fd = os.open(path, _OPEN_FLAGS)
        except (PermissionError, IsADirectoryError):
            return self._empty(web, 403, cors)
        except OSError:  # gone (a sidecar not written yet), a dangling link, ...
            return self._empty(web, 404, cors)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # turned into a folder, a FIFO, a device
            os.close(fd)
            return self._empty(web, 403, cors)
        with open(fd, "rb", buffering=0) as f:  # noqa: ASYNC230 (an fd, already open)
            etag = _etag(st)
            status, span = _decide(request, st, etag)
            headers = dict(cors)
            if status == 412:
                return self._empty(web, status, headers)
            if status == 416:
                headers["Content-Range"] = f"bytes */{st.st_size}"
                return self._empty(web, status, headers)
            headers["Accept-Ranges"] = "bytes"
            if status == 206:
                headers["Content-Range"] = f"bytes {span.start}-{span.stop - 1}/{st.st_size}"
            length = len(span)
            body = request.method == "GET" and status != 304 and length > 0
            if body and length <= _INLINE_BODY:  # Viv's ranges: one read, one write
                f.seek(span.start)
                data = f.read(length)
                if len(data) != length:
                    raise OSError(f"{path} shrank while being read")
                response = web.Response(body=data, status=status, headers=headers)
            else:
                response = web.StreamResponse(status=status, headers=headers)
                if status != 304:
                    response.content_length = length
            response.etag = etag
            response.last_modified = st.st_mtime
            self._content_type(response, path)
            try:
                await response.prepare(request)
                if body and length > _INLINE_BODY and not await _stream(
                    response, f, span, path
                ):
                    return response  # cut short: not counted
                await response.write_eof()
            except ConnectionError:  # the client hung up: nothing to answer, not counted
                return response
        self._count(length if body else 0)
        return response

    def _empty(self, web, status: int, headers: dict[str, str]):
        self._count(0)
        return web.Response(status=status, headers=headers)

    @staticmethod
    def _content_type(response, path: Path) -> None:
        name = path.name.lower()
        if name.endswith(".json"):
            response.content_type = "application/json"
        elif name.endswith((".tif", ".tiff")):
            response.content_type = "image/tiff"
        elif path.parent == viewer.VIEWER_DIR:
            response.content_type = viewer.CONTENT_TYPES[path.suffix]
            response.charset = "utf-8"
            if path.suffix == ".html":
                response.headers["Content-Security-Policy"] = viewer.CONTENT_SECURITY_POLICY
        else:
            kind, encoding = mimetypes.guess_type(path.name)
            response.content_type = (
                kind if kind and not encoding else "application/octet-stream"
            )


#: Bodies up to this size are read in one piece on the event loop (Viv's
#: 64 KiB tiles, the sidecars, the viewer); longer ones are streamed.
_INLINE_BODY = 1 << 20
_CHUNK = 1 << 20
#: O_NONBLOCK: a served name replaced by a FIFO must not hang the loop in open().
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


async def _stream(response, f, span: range, path: Path) -> bool:
    """Send a long body (a whole-file download) in pieces read on a worker
    thread, so the loop keeps answering Viv's small ranges meanwhile.

    False if it was cut short: the file shrank or could not be read after the
    headers went out, so the connection is closed to tell the client.
    """
    loop = asyncio.get_running_loop()
    offset, end = span.start, span.stop
    while offset < end:
        try:
            data = await loop.run_in_executor(
                None, _read_at, f, offset, min(_CHUNK, end - offset)
            )
        except OSError as exc:
            data, problem = b"", exc.strerror or str(exc)
        else:
            problem = "it shrank while being sent"
        if not data:
            log.warning("%s: %s; closing the connection", path, problem)
            response.force_close()
            return False
        await response.write(data)
        offset += len(data)
    return True


def _read_at(f, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _etag(st: os.stat_result) -> str:
    """This version of the file: a replacement (new inode) or a rewrite
    (new mtime or size) changes it."""
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _decide(request, st: os.stat_result, etag: str) -> tuple[int, range]:
    """The status of a GET/HEAD for a file with stat ``st`` and entity tag
    ``etag`` (:func:`_etag`), and the bytes to send (RFC 9110 sections
    13-14). Headers are parsed by aiohttp (``if_match``, ``if_none_match``,
    ``if_*_since``, ``if_range``, ``http_range``); this only applies them
    to the file."""
    everything = range(st.st_size)

    def listed(tags, *, weak: bool) -> bool:
        return any(t.value in ("*", etag) and (weak or not t.is_weak) for t in tags)

    if_match = request.if_match
    if if_match is not None and not listed(if_match, weak=False):
        return 412, everything
    since = None if if_match is not None else request.if_unmodified_since
    if since is not None and st.st_mtime > since.timestamp():
        return 412, everything
    if_none_match = request.if_none_match
    if if_none_match is not None and listed(if_none_match, weak=True):
        return 304, everything
    since = None if if_none_match is not None else request.if_modified_since
    if since is not None and st.st_mtime <= since.timestamp():
        return 304, everything
    if "Range" not in request.headers or not _if_range_holds(request, st, etag):
        return 200, everything
    try:
        wanted = request.http_range
    except ValueError:  # malformed, or several ranges: not served
        return 416, everything
    span = everything[wanted]  # clips the end and resolves a suffix range
    if not span:
        return 416, everything
    return 206, span


def _if_range_holds(request, st: os.stat_result, etag: str) -> bool:
    """Whether the Range applies: no If-Range, or it names this version."""
    value = request.headers.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"'):
        return value == f'"{etag}"'
    if value.startswith("W/"):
        return False  # a weak tag never validates a range
    date = request.if_range
    return date is not None and st.st_mtime <= date.timestamp()
