"""Avivator links, SSH port-forwarding hints and browser caveats.

Plain strings and functions, shared by ``napari-viv serve``/``demo`` and the
napari serve widget. Nothing here touches the network (:func:`open_browser`
only asks the desktop to open a link).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

#: The public Avivator (Viv's web viewer).
AVIVATOR_URL = "https://avivator.gehlenborglab.org/"
#: Environment variable naming a self-hosted Avivator to link to instead.
AVIVATOR_ENV = "NAPARI_VIV_AVIVATOR_URL"

SAFARI_CAVEAT = (
    "Safari blocks http://localhost / http://127.0.0.1 from an https page such as "
    "Avivator: use Chrome, Edge or Firefox, or a self-hosted Avivator served over http."
)
CHROME_CAVEAT = (
    "Chrome 142+ (and Edge) may ask to allow this site to access devices on your local "
    "network: choose Allow, or the image will not load."
)
BROWSER_CAVEATS = (SAFARI_CAVEAT, CHROME_CAVEAT)


def avivator_base(base: str | None = None) -> str:
    """Choose the Avivator to link to: ``base``, else $NAPARI_VIV_AVIVATOR_URL, else the public one."""
    source = "Avivator URL"
    if not base and os.environ.get(AVIVATOR_ENV, "").strip():
        source = AVIVATOR_ENV
    base = (base or os.environ.get(AVIVATOR_ENV, "") or AVIVATOR_URL).strip()
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        from ..errors import NapariVivError

        raise NapariVivError(f"{source} {base!r} is not an http(s) URL")
    return base


def avivator_origin(base: str | None = None) -> str:
    """``scheme://host[:port]`` of the Avivator, for the server's CORS allow-list."""
    parts = urlsplit(avivator_base(base))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))


def avivator_link(file_url: str, base: str | None = None) -> str:
    """Build the Avivator URL that opens ``file_url`` (``…/?image_url=<encoded URL>``)."""
    base = avivator_base(base)
    parts = urlsplit(base)
    path = parts.path or "/"
    param = "image_url=" + quote(file_url, safe=":/")
    query = f"{parts.query}&{param}" if parts.query else param
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def ssh_server_address(environ=None) -> str | None:
    """Find this machine's address as the SSH client sees it, or None outside SSH.

    Read from $SSH_CONNECTION ("client_ip client_port server_ip server_port");
    $SSH_CLIENT (no server address) still marks a session.
    """
    env = os.environ if environ is None else environ
    conn = env.get("SSH_CONNECTION", "").split()
    if len(conn) == 4:
        return conn[2]
    if env.get("SSH_CLIENT", "").strip():
        return ""
    return None


def in_ssh_session(environ=None) -> bool:
    """Tell whether this runs in an SSH login ($SSH_CONNECTION or $SSH_CLIENT set)."""
    return ssh_server_address(environ) is not None


@dataclass(frozen=True)
class SshHint:
    """What to run and open on the laptop to view a file served on this machine."""

    command: str  # ssh -L <local>:localhost:<port> user@host
    link: str  # Avivator link using the forwarded port
    local_port: int
    viewer: str  # our viewer's link using the forwarded port

    def text(self) -> str:
        """Say what to run on the laptop and which link to open."""
        return (
            "This looks like an SSH session. On your laptop, run:\n"
            f"  {self.command}\n"
            "then open:\n"
            f"  {self.viewer}\n"
            "or, in Avivator:\n"
            f"  {self.link}"
        )


def ssh_hint(
    port: int,
    path: str,
    *,
    local_port: int | None = None,
    base: str | None = None,
    user: str | None = None,
    host: str | None = None,
    environ=None,
) -> SshHint | None:
    """Give the port-forwarding command and laptop link, or None when not under SSH.

    ``path`` is the served URL path (e.g. ``/x.ome.tif``); the laptop uses
    ``local_port`` (default: the same port number).
    """
    server = ssh_server_address(environ)
    if server is None:
        return None
    local = int(local_port or port)
    user = user or _user()
    if host is None:
        host = server or socket.getfqdn()
    if ":" in host:  # an IPv6 address: ssh takes it bare, but not "user@a:b" ambiguity
        host = host.strip("[]")
    command = f"ssh -L {local}:localhost:{int(port)} {user}@{host}"
    from .viewer import viewer_link

    origin = f"http://localhost:{local}"
    url = f"{origin}/{path.lstrip('/')}"
    return SshHint(
        command=command, link=avivator_link(url, base), local_port=local, viewer=viewer_link(origin, path.lstrip("/"))
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry, no $USER
        return "USER"


def browser_caveats() -> list[str]:
    """One line per browser caveat worth telling the user."""
    return list(BROWSER_CAVEATS)


def open_browser(link: str) -> bool:
    """Open ``link`` in the user's web browser; False if none could be opened.

    A broken ``$BROWSER`` (or any other failure of :func:`webbrowser.open`)
    counts as no browser: it must not stop a command or break napari.
    """
    import webbrowser

    try:
        return bool(webbrowser.open(link))
    except Exception:  # noqa: BLE001 - a broken $BROWSER must not stop the caller
        return False
