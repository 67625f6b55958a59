"""serve/store.py through RangeServer: an OME-Zarr store served file by file over real HTTP,
with the same CORS and Range rules as a file, nothing outside the store reachable, and the
real Viv loader reading it (also sharded, by byte ranges)."""

from __future__ import annotations

import http.client
import os

import pytest
from helpers.zarr_judges import judge_viv, reference_pixels, write_reference_store

from napari_viv.errors import NapariVivError
from napari_viv.serve.server import AVIVATOR_ORIGIN, RangeServer


def request(srv, path, headers=None):
    """One raw request (the path is sent exactly as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path):
    path = write_reference_store(tmp_path / "tissue.ome.zarr", reference_pixels((2, 200, 200)), levels=2)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "tissue.view.json").write_text('{"version": 1}')
    (tmp_path / "tissue.features.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    os.symlink(tmp_path / "secret.txt", path / "link-out")
    return path


def test_store_files_are_served_with_cors(store):
    with RangeServer([store]) as srv:
        assert srv.url_for(store) == f"{srv.origin}/tissue.ome.zarr"
        status, headers, body = request(srv, "/tissue.ome.zarr/.zattrs", {"Origin": AVIVATOR_ORIGIN})
        assert status == 200 and b"multiscales" in body
        assert headers["Access-Control-Allow-Origin"] == AVIVATOR_ORIGIN
        chunk = next(p for p in (store / "s0").rglob("*") if p.is_file() and not p.name.startswith("."))
        key = chunk.relative_to(store).as_posix()
        status, headers, body = request(srv, f"/tissue.ome.zarr/{key}")
        assert status == 200 and body == chunk.read_bytes()
        status, headers, body = request(srv, f"/tissue.ome.zarr/{key}", {"Range": "bytes=-4"})
        assert status == 206 and body == chunk.read_bytes()[-4:]  # a shard index read
        # the view file and the points/shapes sidecar beside the store are its sidecars
        assert request(srv, "/tissue.view.json")[2] == b'{"version": 1}'
        status, _headers, body = request(srv, "/tissue.features.geojson")
        assert status == 200 and body == (store.parent / "tissue.features.geojson").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/tissue.ome.zarr",  # the folder itself
        "/tissue.ome.zarr/",
        "/tissue.ome.zarr/s0",  # a folder inside
        "/tissue.ome.zarr/../secret.txt",
        "/tissue.ome.zarr/%2e%2e/secret.txt",
        "/tissue.ome.zarr/s0/../../secret.txt",
        "/tissue.ome.zarr//.zattrs",
        "/tissue.ome.zarr/./.zattrs",
        "/tissue.ome.zarr/link-out",  # a symbolic link out of the store
        "/tissue.ome.zarr/missing",
        "/other.zarr/.zattrs",
        "/secret.txt",
    ],
)
def test_nothing_outside_the_store(store, path):
    with RangeServer([store]) as srv:
        status, headers, body = request(srv, path)
    assert status == 404, (path, status)
    assert b"TOP SECRET" not in body
    assert "Access-Control-Allow-Origin" in headers  # errors carry CORS too


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    with pytest.raises(NapariVivError, match="no such file"):
        RangeServer([tmp_path])


@pytest.mark.node
@pytest.mark.parametrize("shards", [None, (1, 128, 128)], ids=["0.5", "0.5-sharded"])
def test_viv_reads_the_served_store(tmp_path, shards):
    pixels = reference_pixels((2, 200, 200))
    path = write_reference_store(
        tmp_path / "served.ome.zarr", pixels, version="0.5", shards=shards, chunks=(1, 64, 64), levels=2
    )
    with RangeServer([path]) as srv:
        report = judge_viv(path, url=srv.url_for(path))
    assert len(report["images"][0]["levels"]) == 2
