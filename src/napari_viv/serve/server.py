"""RangeServer: serve exactly the given files over HTTP, with Range and CORS.

Built for Avivator, which reads an OME-TIFF with 64 KiB ``Range`` requests
from an https page and fetches ``<stem>.offsets.json`` next to it.

What it does (and deliberately nothing more):

* Routes are an exact match of the URL path against the served files'
  names (``/<name>``); nothing is joined onto a folder, so ``..``, encoded
  dots, double slashes and neighbouring files all get 404.
* The ``<stem>.offsets.json`` beside each ``.ome.tif`` is served too when it
  exists at request time.
* Each request opens the file anew, so a re-export that ``os.replace()``\\ s it
  is picked up, while a response in flight keeps reading the file it opened.
* Range, suffix ranges, 416, HEAD and conditional requests come from
  aiohttp's ``FileResponse``; no pre-compressed sibling (``.gz``/``.br``) is
  ever substituted and nothing is compressed.
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
import os
import socket
import threading
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from .. import naming
from . import viewer
from .links import AVIVATOR_URL, avivator_origin
from ..errors import NapariVivError

log = logging.getLogger(__name__)

#: The public Avivator; its origin is allowed by default.

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
            if not path.is_file():
                raise NapariVivError(f"{path}: no such file to serve")
            self._add(self._routes, path)
        for path in list(self._routes.values()):
            for side in naming.sidecar_paths(path):
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
        except Exception:
            pass

    def _run(self, loop: asyncio.AbstractEventLoop, ready: Future) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                port = loop.run_until_complete(self._setup())
            except BaseException as exc:
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
        sockets = site._server.sockets if site._server else []  # noqa: SLF001
        return int(sockets[0].getsockname()[1])

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
            return self._send_file(request, path, cors)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a bug or an I/O error: still answer with CORS
            log.exception("error serving %s", request.path)
            return web.Response(status=500, text="internal error\n", headers=cors or {})

    def _lookup(self, url_path: str) -> Path | None:
        """Exact-name routing: ``/name`` -> path, anything else -> None."""
        if not url_path.startswith("/") or "/" in url_path[1:]:
            return None
        name = url_path[1:]
        path = self._routes.get(name)
        if path is None:
            path = self._sidecars.get(name)
        if path is None:
            path = viewer.asset_path(name)
        return path

    def _send_file(self, request, path: Path, cors: dict[str, str]):
        response = _plain_file_response_class()(path, headers=cors, on_sent=self._on_sent)
        if path.name.endswith(".json"):
            response.content_type = "application/json"
        elif path.name.lower().endswith((".tif", ".tiff")):
            response.content_type = "image/tiff"
        elif path.parent == viewer.VIEWER_DIR:
            response.content_type = viewer.CONTENT_TYPES[path.suffix]
            response.charset = "utf-8"
            if path.suffix == ".html":
                response.headers["Content-Security-Policy"] = viewer.CONTENT_SECURITY_POLICY
        return response

    def _on_sent(self, method: str, status: int, length: int | None) -> None:
        sent = (length or 0) if method == "GET" and status in (200, 206) else 0
        self._count(sent)


_PLAIN_FILE_RESPONSE = None


def _aiohttp_internals_known() -> bool:
    """Whether FileResponse has the private methods the fast path calls."""
    import inspect

    from aiohttp import web_fileresponse as wf

    cls = wf.FileResponse
    try:
        return (
            hasattr(wf, "_FileResponseResult")
            and list(inspect.signature(cls._make_response).parameters)
            == ["self", "request", "accept_encoding"]
            and list(inspect.signature(cls._prepare_open_file).parameters)
            == ["self", "request", "fobj", "st", "file_encoding"]
            and list(inspect.signature(cls._not_modified).parameters)
            == ["self", "request", "etag_value", "last_modified"]
            and callable(getattr(cls, "_precondition_failed", None))
        )
    except (AttributeError, TypeError, ValueError):
        return False


def _plain_file_response_class():
    """aiohttp's FileResponse, minus the pre-compressed sibling lookup.

    FileResponse would send a neighbouring ``x.gz``/``x.br`` to a client that
    accepts gzip/brotli; here it only ever opens ``path`` and never compresses.
    Range, 416, HEAD and conditional requests remain aiohttp's.

    Where aiohttp's internals are the known ones (3.10+), the stat/open of the
    file runs on the event loop instead of two executor hops per request: a
    quarter less CPU per 64 KiB range on a 2-core machine. Otherwise the
    public ``prepare`` is used with Accept-Encoding removed.
    """
    global _PLAIN_FILE_RESPONSE
    if _PLAIN_FILE_RESPONSE is not None:
        return _PLAIN_FILE_RESPONSE
    from aiohttp import web
    from aiohttp import web_fileresponse as wf

    fast = _aiohttp_internals_known()

    class PlainFileResponse(web.FileResponse):
        def __init__(self, path, *, headers, on_sent):
            super().__init__(path, headers=headers)
            self._on_sent = on_sent

        async def prepare(self, request):
            writer = await (self._prepare_inline(request) if fast
                            else self._prepare_public(request))
            self._on_sent(request.method, self.status, self.content_length)
            return writer

        async def _prepare_public(self, request):
            headers = request.headers.copy()
            headers.popall("Accept-Encoding", None)
            return await super().prepare(request.clone(headers=headers))

        async def _prepare_inline(self, request):
            result = wf._FileResponseResult
            try:
                # "" = accepts no encoding: never a .gz/.br sibling
                kind, fobj, st, _ = self._make_response(request, "")
            except PermissionError:
                self.set_status(403)
                return await web.StreamResponse.prepare(self, request)
            except OSError:
                self.set_status(404)
                return await web.StreamResponse.prepare(self, request)
            if kind is result.NOT_ACCEPTABLE:
                self.set_status(403)
                return await web.StreamResponse.prepare(self, request)
            if kind is result.PRE_CONDITION_FAILED:
                return await self._precondition_failed(request)
            if kind is result.NOT_MODIFIED:
                etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
                return await self._not_modified(request, etag, st.st_mtime)
            try:
                return await self._prepare_open_file(request, fobj, st, None)
            finally:
                fobj.close()

    _PLAIN_FILE_RESPONSE = PlainFileResponse
    return _PLAIN_FILE_RESPONSE
