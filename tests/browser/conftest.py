"""Headless Chromium, driven over the DevTools protocol, and the probe page's site.

``open_page(url, ...)`` starts a fresh Chromium (new empty profile), opens
``url``, waits until the page has replaced ``<pre id="result">pending</pre>``
and returns that text. Each call is a new browser, so nothing (HTTP cache,
preflight cache, permissions) carries over from one test to the next.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers.viewer_pages import devtools_browser

HERE = Path(__file__).parent
PAGE_FILES = {
    "/cors_probe.html": ("text/html; charset=utf-8", HERE / "cors_probe.html"),
    "/cors_probe.js": ("text/javascript; charset=utf-8", HERE / "cors_probe.js"),
}
# This machine (and CI) has no internet: Chromium must not try to reach Google.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-port=0",
]
PAGE_TIMEOUT = 30.0
RESULT_JS = "(document.getElementById('result') || {}).textContent"


def _missing(what: str) -> None:
    """Skip, or fail in CI, where .ci/run must have installed ``what``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}; CI must install it")
    pytest.skip(what)


def find_chromium() -> str | None:
    named = os.environ.get("NAPARI_VIV_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium():
    path = find_chromium()
    if path is None:
        _missing("no Chromium (apt-get install chromium, or set NAPARI_VIV_CHROMIUM)")
    return path


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        entry = PAGE_FILES.get(self.path.split("?")[0])
        if entry is None:
            self.send_error(404)
            return
        ctype, path = entry
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class PageSite:
    """The probe page on its own 127.0.0.1 port (its own origin), http or https."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)


@pytest.fixture(scope="module")
def page_site():
    site = PageSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def https_page_site(tmp_path_factory):
    """An https page site, like the public Avivator (self-signed certificate)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        _missing("no openssl to make a test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    site = PageSite(tls)
    yield site
    site.close()


async def _probe(chromium: str, profile: Path, flags, url: str, grant: dict[str, list[str]]) -> str | None:
    """In a fresh Chromium: grant permissions, open ``url``, poll the result."""
    async with devtools_browser(chromium, profile, [*CHROMIUM_FLAGS, *flags], timeout=PAGE_TIMEOUT) as page:
        deadline = time.monotonic() + PAGE_TIMEOUT
        for origin, permissions in grant.items():
            await page.call("Browser.grantPermissions", {"origin": origin, "permissions": permissions}, browser=True)
        target = (await page.call("Target.createTarget", {"url": url}, browser=True))["targetId"]
        page.session = (await page.call("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True))[
            "sessionId"
        ]
        text = None
        while time.monotonic() < deadline:
            text = await page.evaluate(RESULT_JS)
            if text and text != "pending":
                break
            await asyncio.sleep(0.05)
        return text


@pytest.fixture
def open_page(chromium, tmp_path):
    """``open_page(url, flags=(), grant={origin: [permission, ...]}) -> result text``."""
    runs = iter(range(1000))

    def open_page(url: str, *, flags=(), grant=None) -> str:
        profile = tmp_path / f"chromium-profile-{next(runs)}"
        profile.mkdir()
        text = asyncio.run(_probe(chromium, profile, flags, url, grant or {}))
        if not text or text == "pending":
            tail = (profile.parent / f"{profile.name}.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"the probe page gave no result within {PAGE_TIMEOUT:.0f} s\n{tail}")
        return text

    return open_page
