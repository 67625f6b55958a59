"""Who may read what the server serves: CORS origins and the Host guard.

* :class:`OriginPolicy` decides from a request's ``Origin`` header whether
  a browser page may read the response, and gives the CORS headers that
  say so (on every response to an allowed origin, errors included).
* :func:`host_is_loopback` is the DNS-rebinding guard: while the server is
  bound to loopback, a request whose ``Host`` names another machine is
  refused.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from urllib.parse import urlsplit

from ..errors import NapariVivError
from .links import AVIVATOR_URL, avivator_origin

log = logging.getLogger("napari_viv.serve.server")  # one logger for the whole server

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
EXPOSED_HEADERS = "Content-Range, Content-Length, Accept-Ranges, ETag"
ALLOWED_REQUEST_HEADERS = "Range, Content-Type, If-None-Match, If-Modified-Since"

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
#: Refused origins are logged once each, up to this many.
_LOGGED_REFUSALS = 64


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is 127.0.0.0/8, ::1 or one of the usual names for them.

    Parameters
    ----------
    host : str
        A host name or address (IPv6 may be in brackets).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_loopback("127.0.0.2"), is_loopback("[::1]"), is_loopback("example.org")
    (True, True, False)
    """
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=256)
def host_is_loopback(host_header: str | None) -> bool:
    """Tell whether a ``Host`` header names this machine's loopback (port ignored).

    Parameters
    ----------
    host_header : str or None
        The header's value; None (HTTP/1.0 without Host) has nothing to rebind.

    Returns
    -------
    bool

    Examples
    --------
    >>> host_is_loopback("localhost:8000"), host_is_loopback("evil.example:80")
    (True, False)
    """
    if not host_header:
        return True
    try:
        hostname = urlsplit("//" + host_header).hostname
    except ValueError:
        return False
    return is_loopback(hostname) if hostname else False


@lru_cache(maxsize=256)
def normalize_origin(origin: str) -> str:
    """Reduce an origin or URL to ``scheme://host[:port]``.

    Parameters
    ----------
    origin : str
        An origin, a URL, or ``"*"``.

    Returns
    -------
    str
        Lowercase scheme and host; the port only when not the scheme's default.

    Raises
    ------
    NapariVivError
        When ``origin`` is not a URL with a scheme and a host.

    Examples
    --------
    >>> normalize_origin("https://Host:443/path/")
    'https://host'
    """
    origin = origin.strip()
    if origin == "*":
        return origin
    bad = NapariVivError("is not a URL like https://example.org", subject=f"origin {origin!r}")
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
    """List the public Avivator, plus a self-hosted one named by NAPARI_VIV_AVIVATOR_URL.

    A malformed NAPARI_VIV_AVIVATOR_URL raises :class:`NapariVivError`, as it
    does for the links (:func:`napari_viv.serve.links.avivator_base`).

    Returns
    -------
    list of str
        Normalized origins, the public Avivator first.
    """
    origins = [AVIVATOR_ORIGIN]
    custom = avivator_origin()
    if custom not in origins:
        origins.append(custom)
    return origins


class OriginPolicy:
    """The origins whose pages may read the served files, and their CORS headers.

    Parameters
    ----------
    allow_origins : None, str or list of str
        ``None`` for :func:`default_allowed_origins`, ``"*"`` for any origin,
        or origins/URLs.
    """

    def __init__(self, allow_origins=None) -> None:
        self._refused: set[str] = set()
        if allow_origins is None:
            self.any_origin, self.allowed = False, default_allowed_origins()
            return
        if isinstance(allow_origins, str):
            allow_origins = [allow_origins]
        origins = [normalize_origin(o) for o in allow_origins]
        if not origins:
            raise NapariVivError("allow_origins is empty: no browser could read the file")
        self.any_origin = "*" in origins
        self.allowed = [o for o in origins if o != "*"]

    def headers(self, origin: str | None) -> dict[str, str] | None:
        """Give the CORS headers for a request from ``origin``; None if refused.

        Parameters
        ----------
        origin : str or None
            The request's ``Origin`` header; None when it is not a CORS request.

        Returns
        -------
        dict or None
            Headers for every response to this request.
        """
        headers = {
            "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            "Cache-Control": "no-cache",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
        if self.any_origin:
            headers["Access-Control-Allow-Origin"] = "*"
            return headers
        headers["Vary"] = "Origin"
        if origin is None:
            # Not a CORS request (curl, Node); name the origin that may read it.
            headers["Access-Control-Allow-Origin"] = self.allowed[0]
            return headers
        try:
            allowed = normalize_origin(origin) in self.allowed
        except NapariVivError:
            allowed = False
        if not allowed:
            self._log_refusal(origin)
            return None
        headers["Access-Control-Allow-Origin"] = origin
        return headers

    def _log_refusal(self, origin: str) -> None:
        if origin not in self._refused and len(self._refused) < _LOGGED_REFUSALS:
            self._refused.add(origin)  # log each origin once
            log.warning("refused a request from origin %s; allow it with --allow-origin %s", origin, origin)


def preflight_headers(cors: dict[str, str]) -> dict[str, str]:
    """Add to ``cors`` the answer to an ``OPTIONS`` preflight: Range and Private-Network allowed.

    Parameters
    ----------
    cors : dict
        The CORS headers of :meth:`OriginPolicy.headers`.

    Returns
    -------
    dict
        A new dict with the preflight's headers.
    """
    return {
        **cors,
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
        "Access-Control-Allow-Private-Network": "true",
        "Access-Control-Max-Age": "600",
        "Allow": ALLOWED_METHODS,
    }
