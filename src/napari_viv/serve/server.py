"""RangeServer: serve exactly the given files over HTTP, with Range and CORS.

Built for Viv and Avivator, which read an OME-TIFF with 64 KiB ``Range``
requests (from an https page, for Avivator) and fetch
``<stem>.offsets.json`` next to it; our own viewer is served at ``/``.

The parts, by role:

* :mod:`.routes`: which URL serves which file (exact names; sidecars
  picked up when they appear; the viewer's routes);
* :mod:`.origins`: which pages may read (CORS), the preflight's answer,
  and the Host guard against DNS rebinding while bound to loopback;
* :mod:`.files`: the answer for one file, opened anew per request, so a
  re-export that replaces it (``os.replace()``) is picked up while a response
  in flight keeps reading the file it opened (validators, Range, body); nothing
  is compressed and no ``.gz``/``.br`` sibling is ever looked for;
* :mod:`.loop`: the asyncio loop in a daemon thread, so ``start()`` and
  ``stop()`` may be called from any thread;
* this module: the request handler tying them together, the counters,
  and the URLs of the served files.

Only aiohttp's public API is used. Binds 127.0.0.1 on a free port unless
told otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path
from typing import NamedTuple

from ..errors import NapariVivError
from . import viewer
from .files import plain, send_file
from .loop import ServerThread
from .origins import (
    ALLOWED_METHODS,
    AVIVATOR_ORIGIN,
    OriginPolicy,
    default_allowed_origins,
    host_is_loopback,
    is_loopback,
    normalize_origin,
    preflight_headers,
)
from .routes import Routes

__all__ = [
    "AVIVATOR_ORIGIN",
    "RangeServer",
    "ServerStats",
    "default_allowed_origins",
    "is_loopback",
    "normalize_origin",
]

log = logging.getLogger(__name__)


class ServerStats(NamedTuple):
    """Responses completed and body bytes sent since start().

    A response counts once the last byte of it is handed to the socket.
    """

    requests: int
    bytes_sent: int


class RangeServer:
    r"""Serve ``files`` (and their sidecars, and our viewer) over HTTP.

    Parameters
    ----------
    files : path or list of paths
        The files to serve, each at ``/<name>``.
    host : str
        The address to bind; 127.0.0.1 by default (``"localhost"`` too).
    port : int
        The port; 0 for a free one.
    allow_origins : None, str or list of str
        ``None`` for the default allow-list (the public Avivator and
        ``NAPARI_VIV_AVIVATOR_URL``), ``"*"`` for any origin, or origins/URLs.

    Examples
    --------
    >>> import tempfile, urllib.request
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "x.ome.tif"
    >>> _ = path.write_bytes(b"II*\x00 a tiny file")
    >>> with RangeServer([path]) as server:
    ...     request = urllib.request.Request(server.url, headers={"Range": "bytes=0-3"})
    ...     with urllib.request.urlopen(request) as response:
    ...         print(response.status, response.read())
    206 b'II*\x00'
    """

    def __init__(self, files, *, host="127.0.0.1", port=0, allow_origins=None):
        self._routes = Routes(files)
        self.host = "127.0.0.1" if host in ("localhost", "") else str(host)
        requested = int(port)
        if not 0 <= requested <= 65535:
            raise NapariVivError(f"port {port} is out of range 0-65535")
        self.port = requested
        self._origins = OriginPolicy(allow_origins)
        self.allowed_origins = self._origins.allowed
        self._loopback_only = is_loopback(self.host)
        self._requests = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self._lifecycle = threading.RLock()  # serializes start()/stop()
        self._thread = ServerThread(self._handle, self.host, requested)

    # -- what is served where ------------------------------------------
    @property
    def files(self) -> list[Path]:
        """Return the files given (sidecars not included)."""
        return self._routes.files

    @property
    def running(self) -> bool:
        """Tell whether the server is serving."""
        return self._thread.running

    @property
    def stats(self) -> ServerStats:
        """Return the requests answered and body bytes sent since start()."""
        with self._lock:
            return ServerStats(self._requests, self._bytes)

    @property
    def url(self) -> str:
        """Return the URL of the first served file."""
        return self.url_for(self._routes.files[0])

    def url_for(self, path) -> str:
        """Return the http URL of a served file or sidecar (given by path or by name)."""
        return self.origin + self._routes.url_path(path)

    @property
    def origin(self) -> str:
        """Return ``http://host:port`` of the running server."""
        if not self.port:
            raise NapariVivError("the server has no port yet: call start() first")
        host = socket.getfqdn() if self.host in ("0.0.0.0", "::") else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def viewer_url_for(self, path) -> str:
        """Return the link that opens a served file in our viewer, on this same origin."""
        self.url_for(path)  # raises unless the file is served here
        return viewer.viewer_link(self.origin, Path(path).name)

    # -- lifecycle -----------------------------------------------------
    def start(self) -> RangeServer:
        """Bind and serve in a background thread; return self."""
        with self._lifecycle:
            if self.running:
                return self
            if not self._loopback_only:
                names = ", ".join(p.name for p in self.files)
                log.warning("serving %s on %s: anyone who can reach this address can read it", names, self.host)
            with self._lock:
                self._requests = self._bytes = 0
            self.port = self._thread.start()
            return self

    def stop(self) -> None:
        """Stop serving, close every connection and release the port."""
        with self._lifecycle:
            self._thread.stop()
            self.port = self._thread.requested_port

    def __enter__(self) -> RangeServer:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop serving."""
        self.stop()

    def __del__(self):
        """Stop serving if still running (best effort; stop() is the real API)."""
        try:
            if self.running:
                self.stop()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    # -- HTTP ----------------------------------------------------------
    def _count(self, nbytes: int) -> None:
        with self._lock:
            self._requests += 1
            self._bytes += nbytes

    async def _handle(self, request):
        origin = request.headers.get("Origin")
        cors = self._origins.headers(origin)
        try:
            if cors is None:
                self._count(0)
                return plain(403, {"Vary": "Origin"}, f"origin {origin} is not allowed\n")
            if self._loopback_only and not host_is_loopback(request.headers.get("Host")):
                self._count(0)
                return plain(403, cors, "bad Host header\n")
            path = self._routes.lookup(request.path)
            if path is None or request.method not in ("GET", "HEAD"):
                self._count(0)
                if path is None:
                    return plain(404, cors, "not found\n")
                if request.method == "OPTIONS":
                    return plain(204, preflight_headers(cors))
                return plain(405, {**cors, "Allow": ALLOWED_METHODS}, "method not allowed\n")
            return await send_file(request, path, cors, self._count)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a bug or an I/O error: still answer with CORS
            log.exception("error serving %s", request.path)
            return plain(500, cors or {}, "internal error\n")
