"""The real Viv loader (@vivjs/loaders 0.21) reading from RangeServer."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from helpers.vivjs import plane_digest

from napari_viv.serve.server import RangeServer

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory):
    """A 3-channel uint16 SubIFD pyramid made with tifffile, plus its offsets.json."""
    folder = tmp_path_factory.mktemp("viv")
    path = folder / "served image.ome.tif"  # a space: the URL must be encoded
    rng = np.random.default_rng(3)
    level0 = rng.integers(0, 60000, (3, 700, 900), dtype=np.uint16)
    levels = [level0]
    while max(levels[-1].shape[1:]) > 256:
        prev = levels[-1]
        levels.append(prev[:, : prev.shape[1] // 2 * 2 : 2, : prev.shape[2] // 2 * 2 : 2].copy())
    kw = dict(tile=(256, 256), compression="zlib", predictor=True, photometric="minisblack")
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(
            levels[0], subifds=len(levels) - 1, metadata={"axes": "CYX", "Channel": {"Name": ["A", "B", "C"]}}, **kw
        )
        for lvl in levels[1:]:
            tif.write(lvl, subfiletype=1, **kw)
    with tifffile.TiffFile(path) as tif:
        offsets = [p.offset for p in tif.pages]
    (folder / "served image.offsets.json").write_text(str(offsets))
    return path, levels, offsets


def check_report(report, levels):
    (image,) = report["images"]
    assert [ch["name"] for ch in image["channels"]] == ["A", "B", "C"]
    assert len(image["levels"]) == len(levels)
    assert image["tileSize"] == 256
    for got, want in zip(image["levels"], levels, strict=True):
        assert got["shape"][-2:] == list(want.shape[1:])
        digests = {p["c"]: p["sha256"] for p in got["planes"]}
        for c in range(want.shape[0]):
            assert digests[c] == plane_digest(want[c]), (got["shape"], c)


def test_viv_reads_every_level_over_http(pyramid, viv):
    path, levels, _ = pyramid
    with RangeServer([path]) as srv:
        url = srv.url_for(path)
        assert "%20" in url
        report = viv(url)
        requests, nbytes = srv.stats
    assert report["offsetsUsed"] == 0
    check_report(report, levels)
    assert requests > 0 and nbytes > 0


def test_viv_fetches_offsets_like_avivator(pyramid, viv):
    path, levels, offsets = pyramid
    with RangeServer([path]) as srv:
        report = viv(srv.url_for(path), offsets="auto")
    assert report["offsetsUsed"] == len(offsets) == 3
    check_report(report, levels)


def test_missing_offsets_json_still_loads(pyramid, viv, tmp_path):
    path, levels, _ = pyramid
    lone = tmp_path / "lone.ome.tif"
    lone.write_bytes(path.read_bytes())
    with RangeServer([lone]) as srv:
        report = viv(srv.url_for(lone), offsets="auto")  # offsets.json is a 404 with CORS
    assert report["offsetsUsed"] == 0
    check_report(report, levels)


def test_viv_reads_an_exported_pyramid_over_http(viv, tmp_path):
    """Our own writer's output, served: level 0 matches the input exactly."""
    from napari_viv.write.writer import export_pyramid

    rng = np.random.default_rng(5)
    data = rng.integers(0, 4000, (2, 600, 520), dtype=np.uint16)
    tif, offsets = export_pyramid(
        data, tmp_path / "exported.ome.tif", axes="CYX", channel_names=["x", "y"], tile_size=256
    ).paths[:2]
    with RangeServer([tif]) as srv:
        report = viv(srv.url_for(tif), offsets="auto")
    (image,) = report["images"]
    assert report["offsetsUsed"] == 2
    assert [lvl["shape"][-2:] for lvl in image["levels"]][:2] == [[600, 520], [300, 260]]
    digests = {p["c"]: p["sha256"] for p in image["levels"][0]["planes"]}
    assert digests == {0: plane_digest(data[0]), 1: plane_digest(data[1])}
