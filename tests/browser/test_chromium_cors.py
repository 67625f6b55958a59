"""A real browser reads a served file cross-origin, as Avivator does.

Node's fetch (tests/viv) ignores CORS; Chromium enforces it. A page served
from one 127.0.0.1 port (cors_probe.html/.js) fetches the offsets.json and
64 KiB ranges of an OME-TIFF from RangeServer on another port, and writes
what the browser let it see into the DOM as JSON; conftest.py drives Chromium.
Expected bytes, sizes and offsets are read from the file on disk.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from napari_viv.serve.server import RangeServer
from napari_viv.write.writer import export_pyramid

pytestmark = pytest.mark.browser

BLOCK = 65536  # geotiff.js reads in 64 KiB blocks
# Not CORS-safelisted, so the browser must send a preflight (OPTIONS) first.
PREFLIGHT_HEADER = {"If-None-Match": '"napari-viv-probe"'}
# A header the server does not list in Access-Control-Allow-Headers.
FORBIDDEN_HEADER = {"X-Napari-Viv-Probe": "1"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 2-channel uint16 pyramid (random, so it barely compresses) + offsets.json."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4096, size=(2, 700, 900), dtype=np.uint16)
    tif, offsets = export_pyramid(
        data, tmp_path_factory.mktemp("served") / "probe.ome.tif", axes="CYX", tile_size=256
    ).paths[:2]
    assert tif.stat().st_size > 4 * BLOCK
    return tif, offsets


def run_probe(open_page, site, server, tif: Path, ranges, **browser) -> dict:
    """Open the probe page of ``site`` in Chromium; return what its fetches saw."""
    plan = {
        "offsetsUrl": server.url_for(tif.name.replace(".ome.tif", ".offsets.json")),
        "tifUrl": server.url_for(tif),
        "ranges": ranges,
        "preflightHeaders": {"Range": f"bytes=0-{BLOCK - 1}", **PREFLIGHT_HEADER},
        "forbiddenHeaders": {"Range": f"bytes=0-{BLOCK - 1}", **FORBIDDEN_HEADER},
    }
    result = json.loads(open_page(f"{site.origin}/cors_probe.html#{quote(json.dumps(plan))}", **browser))
    assert "crashed" not in result, result
    assert result["origin"] == site.origin
    return result


def expected_range(tif: Path, start: int, end: int) -> tuple[str, str]:
    """(Content-Range, SHA-256) of bytes start..end inclusive, read from disk."""
    data = tif.read_bytes()
    return f"bytes {start}-{end}/{len(data)}", hashlib.sha256(data[start : end + 1]).hexdigest()


def assert_reads_like_avivator(result, tif: Path, offsets: Path, ranges) -> None:
    """What Avivator needs from a cross-origin read, as the browser let the page see it."""
    assert result["secure"], "crypto.subtle needs a secure context"
    # offsets.json: a plain cross-origin GET the page may read and parse.
    assert "error" not in result["offsets"], result["offsets"]
    assert result["offsets"]["status"] == 200
    assert result["offsets"]["json"] == json.loads(offsets.read_text())

    # Ranges: 206, and Content-Range readable only because it is exposed.
    assert len(result["ranges"]) == len(ranges)
    for (start, end), seen in zip(ranges, result["ranges"], strict=True):
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
    seen = result["preflighted"]
    assert "error" not in seen, seen
    assert (seen["status"], seen["contentRange"], seen["sha256"]) == (206, content_range, digest)
    # ...and a header the server does not allow is refused, so the browser did
    # check the preflight answer rather than skip it.
    assert result["forbidden"].get("error", "").startswith("TypeError"), result["forbidden"]


def test_allowed_origin_reads_offsets_and_ranges(open_page, page_site, exported):
    tif, offsets = exported
    last_ifd = json.loads(offsets.read_text())[-1]
    ranges = [[0, BLOCK - 1], [last_ifd, last_ifd + 1023]]
    with RangeServer([tif], allow_origins=[page_site.origin]) as server:
        result = run_probe(open_page, page_site, server, tif, ranges)
    assert_reads_like_avivator(result, tif, offsets, ranges)


def test_any_origin_star(open_page, page_site, exported):
    tif, offsets = exported
    ranges = [[0, BLOCK - 1]]
    with RangeServer([tif], allow_origins="*") as server:
        result = run_probe(open_page, page_site, server, tif, ranges)
    assert_reads_like_avivator(result, tif, offsets, ranges)


def test_origin_not_allowed_is_refused_by_the_browser(open_page, page_site, exported):
    tif, _ = exported
    # The default allow-list names only the public Avivator, not this page.
    with RangeServer([tif]) as server:
        result = run_probe(open_page, page_site, server, tif, [[0, BLOCK - 1]])
        reached = server.stats.requests
    for name in ("offsets", "preflighted"):
        assert result[name].get("error", "").startswith("TypeError"), (name, result[name])
    assert result["ranges"][0].get("error", "").startswith("TypeError"), result["ranges"]
    # The server was reached: the refusal is the browser's CORS check.
    assert reached >= 2


def test_public_https_page_like_avivator(open_page, https_page_site, exported):
    """The real Avivator case: an https page on a public address reads
    http://127.0.0.1. Chromium makes the page public with an address-space
    override; Local Network Access then wants the user's "loopback network"
    permission, which the test grants as a user clicking Allow would."""
    tif, offsets = exported
    site = https_page_site
    ranges = [[0, BLOCK - 1]]
    public = ["--ignore-certificate-errors", f"--ip-address-space-overrides=127.0.0.1:{site.port}=public"]
    with RangeServer([tif], allow_origins=[site.origin]) as server:
        result = run_probe(open_page, site, server, tif, ranges, flags=public, grant={site.origin: ["loopbackNetwork"]})
        # Control: without the permission the browser blocks the page, so the
        # override did make it a public page (else the test above proves less).
        denied = run_probe(open_page, site, server, tif, ranges, flags=public)
    assert result["origin"].startswith("https://")
    assert_reads_like_avivator(result, tif, offsets, ranges)
    assert denied["offsets"].get("error", "").startswith("TypeError"), (
        "Chromium let a public page read loopback without permission",
        denied["offsets"],
    )


def test_missing_offsets_gives_a_readable_404(open_page, page_site, exported, tmp_path):
    """Avivator asks for offsets.json even when there is none; the 404 must
    carry CORS headers too, or the browser turns it into a network error."""
    tif, _ = exported
    alone = tmp_path / tif.name
    alone.write_bytes(tif.read_bytes())  # no offsets.json beside this copy
    ranges = [[0, BLOCK - 1]]
    with RangeServer([alone], allow_origins=[page_site.origin]) as server:
        result = run_probe(open_page, page_site, server, alone, ranges)
    assert "error" not in result["offsets"], result["offsets"]
    assert result["offsets"]["status"] == 404
    content_range, digest = expected_range(alone, 0, BLOCK - 1)
    (seen,) = result["ranges"]
    assert (seen.get("status"), seen.get("contentRange"), seen.get("sha256")) == (206, content_range, digest), seen
