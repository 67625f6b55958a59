"""A real browser reads a served file cross-origin, as Avivator does.

Node's fetch (tests/viv) ignores CORS; Chromium enforces it. A page served
from one 127.0.0.1 port (cors_probe.html/.js) fetches the offsets.json and
64 KiB ranges of an OME-TIFF from RangeServer on another port, then writes
what the browser let it see into the DOM, which headless Chromium dumps.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from napari_viv.server import RangeServer
from napari_viv.writer import export_pyramid

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
PAGE_FILES = {
    "/cors_probe.html": ("text/html; charset=utf-8", HERE / "cors_probe.html"),
    "/cors_probe.js": ("text/javascript; charset=utf-8", HERE / "cors_probe.js"),
}
BLOCK = 65536  # geotiff.js reads in 64 KiB blocks
# Not CORS-safelisted, so the browser must send a preflight (OPTIONS) first.
PREFLIGHT_HEADER = {"If-None-Match": '"napari-viv-probe"'}
# A header the server does not list in Access-Control-Allow-Headers.
FORBIDDEN_HEADER = {"X-Napari-Viv-Probe": "1"}
# Chromium must not try to reach Google: this machine (and CI) has no internet.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--virtual-time-budget=10000",
]


def find_chromium() -> str | None:
    named = os.environ.get("NAPARI_VIV_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        reason = "no Chromium (apt-get install chromium, or set NAPARI_VIV_CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must install it")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 2-channel uint16 pyramid (random, so it barely compresses) + offsets.json."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4096, size=(2, 700, 900), dtype=np.uint16)
    tif, offsets = export_pyramid(
        data, tmp_path_factory.mktemp("served") / "probe.ome.tif", axes="CYX", tile_size=256
    )
    assert tif.stat().st_size > 4 * BLOCK
    return tif, offsets


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


@pytest.fixture(scope="module")
def page_origin():
    """The probe page's own origin: a static server on another 127.0.0.1 port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def run_probe(chromium, tmp_path, page_origin, server, tif: Path, ranges) -> dict:
    """Open the probe page in headless Chromium; return what its fetches saw."""
    plan = {
        "offsetsUrl": server.url_for(tif.name.replace(".ome.tif", ".offsets.json")),
        "tifUrl": server.url_for(tif),
        "ranges": ranges,
        "preflightHeaders": {"Range": f"bytes=0-{BLOCK - 1}", **PREFLIGHT_HEADER},
        "forbiddenHeaders": {"Range": f"bytes=0-{BLOCK - 1}", **FORBIDDEN_HEADER},
    }
    url = f"{page_origin}/cors_probe.html#{quote(json.dumps(plan))}"
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=90,
    )
    match = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no result in Chromium's DOM (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    text = html.unescape(match.group(1))
    assert text != "pending", "the probe page did not finish within the time budget"
    result = json.loads(text)
    assert "crashed" not in result, result
    assert result["origin"] == page_origin
    return result


def expected_range(tif: Path, start: int, end: int) -> tuple[str, str]:
    """(Content-Range, SHA-256) of bytes start..end inclusive, read from disk."""
    data = tif.read_bytes()
    return f"bytes {start}-{end}/{len(data)}", hashlib.sha256(data[start : end + 1]).hexdigest()


def test_allowed_origin_reads_offsets_and_ranges(chromium, tmp_path, page_origin, exported):
    tif, offsets = exported
    ifds = json.loads(offsets.read_text())
    ranges = [[0, BLOCK - 1], [ifds[-1], ifds[-1] + 1023]]
    with RangeServer([tif], allow_origins=[page_origin]) as server:
        result = run_probe(chromium, tmp_path, page_origin, server, tif, ranges)

    assert result["secure"], "127.0.0.1 pages are secure contexts (crypto.subtle needs one)"
    # offsets.json: a plain cross-origin GET the page may read and parse.
    assert "error" not in result["offsets"], result["offsets"]
    assert result["offsets"]["status"] == 200
    assert result["offsets"]["json"] == ifds

    # Ranges: 206, and Content-Range readable only because it is exposed.
    for (start, end), seen in zip(ranges, result["ranges"]):
        assert "error" not in seen, seen
        content_range, digest = expected_range(tif, start, end)
        assert seen["status"] == 206
        assert seen["contentRange"] == content_range
        assert seen["length"] == end - start + 1
        assert seen["sha256"] == digest
        assert seen["acceptRanges"] == "bytes"
        assert seen["etag"]

    # A non-safelisted header: the browser preflights and the answer lets it through.
    content_range, digest = expected_range(tif, 0, BLOCK - 1)
    assert "error" not in result["preflighted"], result["preflighted"]
    assert result["preflighted"]["status"] == 206
    assert result["preflighted"]["contentRange"] == content_range
    assert result["preflighted"]["sha256"] == digest
    # ...and a header the server does not allow is refused, so the browser did
    # check the preflight answer rather than skip it.
    assert result["forbidden"].get("error", "").startswith("TypeError"), result["forbidden"]


def test_any_origin_star(chromium, tmp_path, page_origin, exported):
    tif, offsets = exported
    with RangeServer([tif], allow_origins="*") as server:
        result = run_probe(chromium, tmp_path, page_origin, server, tif, [[0, BLOCK - 1]])
    content_range, digest = expected_range(tif, 0, BLOCK - 1)
    assert result["offsets"].get("json") == json.loads(offsets.read_text()), result["offsets"]
    (seen,) = result["ranges"]
    assert (seen.get("status"), seen.get("contentRange"), seen.get("sha256")) == (
        206, content_range, digest), seen
    assert result["preflighted"].get("contentRange") == content_range, result["preflighted"]


def test_origin_not_allowed_is_refused_by_the_browser(chromium, tmp_path, page_origin,
                                                     exported):
    tif, _ = exported
    # The default allow-list names only Avivator, not this page.
    with RangeServer([tif]) as server:
        result = run_probe(chromium, tmp_path, page_origin, server, tif, [[0, BLOCK - 1]])
        reached = server.stats.requests
    for name, seen in [("offsets", result["offsets"]), ("range", result["ranges"][0]),
                       ("preflighted", result["preflighted"])]:
        assert seen.get("error", "").startswith("TypeError"), (name, seen)
    # The server was reached: the refusal is the browser's CORS check.
    assert reached >= 2
