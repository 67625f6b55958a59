"""The browser-view checks of `napari-viv publish`, against real hosts on 127.0.0.1 (nginx, moto).

A host that sends no CORS headers is said so in one warning line, with the
exact lines to add; the test adds the printed nginx line to nginx's own
configuration and shows that the warning is then gone. A store whose host
answers 403 for keys it has not (as S3 does to readers who may not list the
bucket) is an error: Viv's Zarr reader stops on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.publish_servers import Nginx, links
from helpers.publish_servers import run_publish as run_cli

from napari_viv import export_pyramid
from napari_viv.publish import checks


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return export_pyramid(np.arange(200 * 300, dtype=np.uint16).reshape(200, 300), folder / "cells.ome.tif").image


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    data = np.arange(3 * 600 * 700, dtype=np.uint16).reshape(3, 600, 700)
    return export_pyramid(
        data, folder / "cells.ome.zarr", tile_size=128, format="ome-zarr", ngff="0.5", shard_size=256
    ).image


def serve(tmp_path, **kwargs):
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    return root, Nginx(root, tmp_path / f"nginx-{len(list(tmp_path.iterdir()))}", **kwargs)


def test_no_cors_is_one_warning_with_the_lines_to_add_and_they_work(image, tmp_path):
    root, server = serve(tmp_path)
    try:
        public = f"{server.origin}/cells"
        done = run_cli(image, root / "cells", "--public-url", public)
    finally:
        server.stop()
    # A warning, not a failure: our viewer's page is on the same host and works.
    assert done.returncode == 0, done.stderr
    warnings = [ln for ln in done.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "no CORS header" in warnings[0] and "Avivator" in warnings[0], done.stderr
    rules = dict(ln.strip().split(": ", 1) for ln in done.stderr.splitlines() if ln.startswith("  "))
    assert set(rules) == {"nginx", "Apache"}, done.stderr
    assert links(done.stdout)["View in your browser"] == f"{public}/index.html"
    # The printed nginx line, added as it is, makes the same check pass.
    root, server = serve(tmp_path, extra=rules["nginx"])
    try:
        again = run_cli(image, root / "cells", "--public-url", f"{server.origin}/cells", "--overwrite")
    finally:
        server.stop()
    assert again.returncode == 0 and "warning" not in again.stderr and "nginx:" not in again.stderr, again.stderr


def test_sharded_store_on_nginx_passes_range_cors_and_absent_keys(sharded, tmp_path):
    root, server = serve(tmp_path, cors=True)
    try:
        done = run_cli(sharded, root / "z", "--public-url", f"{server.origin}/z")
        probe = checks.store_probe(sharded)
        found = checks.check_store(f"{server.origin}/z/cells.ome.zarr", probe)
    finally:
        server.stop()
    assert done.returncode == 0 and "warning" not in done.stderr and "error" not in done.stderr, done.stderr
    assert probe.sharded and probe.metadata == "zarr.json" and probe.absent == ".zattrs"
    assert probe.chunk is not None and probe.chunk.startswith("0/c/")
    assert {(f.what, f.level) for f in found} == {("metadata", "ok"), ("cors", "ok"), ("range", "ok"), ("absent", "ok")}


def test_a_host_answering_403_for_absent_keys_fails_the_store(sharded, tmp_path):
    # As S3 answers readers who may not list the bucket: 403, not 404, for a missing key.
    root, server = serve(tmp_path, cors=True, extra="if (!-e $request_filename) { return 403; }")
    try:
        done = run_cli(sharded, root / "z", "--public-url", f"{server.origin}/z")
    finally:
        server.stop()
    assert done.returncode == 1, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "HTTP 403 (not 404) for .zattrs" in errors[0], done.stderr
    assert "answer 404 (not 403)" in done.stderr


def test_the_s3_advice_for_absent_keys_is_a_listing_policy_for_the_prefix():
    found = [checks.Finding("error", "absent", "HTTP 403")]
    advice = checks.absent_advice(found, "lab", "shared/cells.ome.zarr")
    assert '"Action":"s3:ListBucket"' in advice and '"s3:prefix":"shared/cells.ome.zarr/*"' in advice
    assert checks.absent_advice([checks.Finding("ok", "absent", "404")], "lab", "x") is None
