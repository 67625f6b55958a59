"""Published links open in a real headless Chromium and render the image.

The sites are made by `napari-viv publish` (the command, as users run it):
a folder served by nginx, a public S3 prefix and a presigned (private) one
on moto's S3 server, and an nginx-hosted page whose data comes from S3 (another
origin). The pixel checks are those of tests/browser/test_viewer_page.py:
the stripes image's three thirds show their channels' colours.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from helpers import viewer_pages as vh
from helpers.publish_servers import CREDENTIALS, Nginx, S3Server, fetch

pytestmark = pytest.mark.browser
SRC = str(Path(__file__).resolve().parents[2] / "src")
TOL = 60
RGB = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def near(actual, expected, tol=TOL) -> bool:
    return bool(np.all(np.abs(np.asarray(actual, float) - np.asarray(expected, float)) <= tol))


@pytest.fixture(scope="module")
def stripes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stripes")
    return vh.stripes_image(folder / "stripes.ome.tif")


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def www(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    server = Nginx(root, tmp_path_factory.mktemp("nginx"))
    yield root, server
    server.stop()


def publish(*args) -> dict[str, str]:
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-m", "napari_viv", "publish", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("View in your browser: ")
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


async def stripe_colours(page):
    shot = await page.screenshot()
    to_screen = await page.image_to_screen()
    colours = []
    for third in range(3):
        x = (third + 0.5) * 1024 / 3
        colours.append([vh.mean_rgb(shot, *to_screen(x + dx, y)) for dx in (-60, 0, 60) for y in (150, 512, 870)])
    return colours


def open_and_read(chromium, tmp_path, url):
    async def body(page):
        status = await page.wait_status()
        error = await page.evaluate("window.__vivViewer.error")
        assert status == "ready", error
        return await stripe_colours(page), await page.evaluate("window.__vivViewer.state()"), list(page.requests)

    return vh.run_page(chromium, tmp_path / "profile", url, body)


def assert_stripes(colours):
    for third, expected in enumerate(RGB):
        for mean in colours[third]:
            assert near(mean, expected), (third, mean)


def test_folder_site_on_nginx_opens_with_no_query_string(chromium, stripes, www, tmp_path):
    root, server = www
    (root / "lab").mkdir()
    found = publish(stripes, root / "lab" / "stripes", "--public-url", f"{server.origin}/lab/stripes")
    page = found["View in your browser"]
    assert "?" not in page and page.endswith("/index.html")
    colours, state, requests = open_and_read(chromium, tmp_path, page)
    assert_stripes(colours)
    assert state["image"]["usedOffsets"] is True
    assert all(u.startswith(server.origin + "/") or u.startswith(("data:", "blob:")) for u in requests), requests


def test_public_s3_link_renders(chromium, stripes, s3, tmp_path):
    s3.client().create_bucket(Bucket="web-public")
    found = publish(stripes, "s3://web-public/shared/stripes", "--endpoint-url", s3.endpoint)
    colours, state, requests = open_and_read(chromium, tmp_path, found["View in your browser"])
    assert_stripes(colours)
    assert state["image"]["fileName"] == "stripes.ome.tif" and state["image"]["usedOffsets"] is True
    assert any(u.endswith("/shared/stripes/stripes.offsets.json") for u in requests)


def test_presigned_s3_link_renders_and_finds_its_sidecars(chromium, stripes, s3, tmp_path):
    s3.client().create_bucket(Bucket="web-private")
    view = stripes.parent / "stripes.view.json"
    view.write_text(json.dumps({"version": 1, "channels": [{"color": [255, 255, 0]}, {}, {}]}))
    try:
        found = publish(stripes, "s3://web-private/p", "--endpoint-url", s3.endpoint, "--presign", "900")
    finally:
        view.unlink()
    assert "Signature=" in found["View in your browser"]
    colours, state, requests = open_and_read(chromium, tmp_path, found["View in your browser"])
    # The view file's yellow on the first third: the signed view file was read.
    assert state["image"]["usedViewFile"] is True and state["image"]["usedOffsets"] is True
    assert all(near(m, (255, 255, 0)) for m in colours[0]), colours[0]
    assert all(near(m, (0, 255, 0)) for m in colours[1]) and all(near(m, (0, 0, 255)) for m in colours[2])
    data = [u for u in requests if "/p/stripes." in u]
    assert data and all("Signature=" in u for u in data), data


def test_page_with_data_from_another_origin(chromium, stripes, s3, www, tmp_path):
    """The page from nginx, the image and its sidecars from the S3 server (named in the fragment)."""
    root, server = www
    s3.client().create_bucket(Bucket="web-data")
    found = publish(stripes, "s3://web-data/d", "--endpoint-url", s3.endpoint)
    publish(stripes, root / "viewer-only")
    image = found["Image"]
    fragment = (
        "image=" + quote(image, safe="") + "&offsets=" + quote(image.replace(".ome.tif", ".offsets.json"), safe="")
    )
    colours, state, requests = open_and_read(chromium, tmp_path, f"{server.origin}/viewer-only/index.html#{fragment}")
    assert_stripes(colours)
    assert state["image"]["usedOffsets"] is True
    assert any(u.startswith(s3.endpoint + "/web-data/d/stripes.ome.tif") for u in requests)
    assert not any(u.startswith(server.origin + "/viewer-only/stripes.ome.tif") for u in requests)


def test_view_in_fragment_and_copy_link_round_trip(chromium, stripes, www, tmp_path):
    root, server = www
    publish(stripes, root / "shared-view")
    page = f"{server.origin}/shared-view/index.html"
    view = {"channels": [{"visible": False}, {"color": [255, 0, 255]}, {}], "camera": {"center": [170, 512], "zoom": 0}}

    async def first(page_):
        assert await page_.wait_status() == "ready", await page_.evaluate("window.__vivViewer.error")
        colours = await stripe_colours(page_)
        state = await page_.evaluate("window.__vivViewer.state()")
        # Change the view, then "Copy link to this view" (a real click on the button).
        await page_.change("window.__vivViewer.setChannelVisible(0, true)")
        await page_.evaluate("document.getElementById('copy-link').click()")
        link = await page_.wait_for("window.__vivViewer.lastLink")
        shown = await page_.wait_for(
            "document.getElementById('copy-link-result') && document.getElementById('copy-link-result').textContent"
        )
        return colours, state, link, shown, await page_.evaluate("location.href")

    url = page + "#view=" + quote(json.dumps(view), safe="")
    colours, state, link, shown, href = vh.run_page(chromium, tmp_path / "p1", url, first)
    assert state["image"]["usedLinkView"] is True and state["camera"] == view["camera"]
    assert [c["visible"] for c in state["channels"]] == [False, True, True]
    assert all(near(m, (0, 0, 0)) for m in colours[0]), colours[0]
    assert all(near(m, (255, 0, 255)) for m in colours[1]), colours[1]
    assert link == href and link.startswith(page + "#") and "view=" in link and shown

    async def second(page_):
        assert await page_.wait_status() == "ready"
        return await stripe_colours(page_), await page_.evaluate("window.__vivViewer.state()")

    colours2, state2 = vh.run_page(chromium, tmp_path / "p2", link, second)
    # The copied link opens what the first browser showed: channel 0 back on, magenta kept, same camera.
    assert [c["visible"] for c in state2["channels"]] == [True, True, True]
    assert state2["channels"][1]["color"] == [255, 0, 255] and state2["camera"] == state["camera"]
    assert all(near(m, (255, 0, 0)) for m in colours2[0]) and all(near(m, (255, 0, 255)) for m in colours2[1])


@pytest.mark.parametrize(
    ("ngff", "host"), [("0.4", "s3"), ("0.5", "s3"), ("0.5", "nginx")], ids=["0.4-s3", "0.5-s3", "0.5-nginx"]
)
def test_published_store_renders(chromium, stripes, s3, www, tmp_path, ngff, host):
    """The stripes image published as an OME-Zarr store (converted on the way), opened from the printed link."""
    bucket = f"web-zarr-{ngff.replace('.', '')}"
    if host == "s3":
        s3.client().create_bucket(Bucket=bucket)
        dest, extra = f"s3://{bucket}/z", ["--endpoint-url", s3.endpoint]
    else:
        root, server = www
        dest, extra = root / f"zarr-{ngff}", ["--public-url", f"{server.origin}/zarr-{ngff}"]
    shards = ["--shard-size", "512"] if ngff == "0.5" else []
    found = publish(stripes, dest, *extra, "--format", "ome-zarr", "--ngff", ngff, *shards)
    store_url = found["Image"]
    assert store_url.endswith("/stripes.ome.zarr") and found["Avivator"].endswith("image_url=" + store_url)
    colours, state, requests = open_and_read(chromium, tmp_path, found["View in your browser"])
    # The stripes file has no contrast limits, so the store's omero windows span the dtype's whole
    # range: the page takes the limits from the channels' statistics instead, as for an OME-TIFF.
    ome = json.loads(fetch(f"{store_url}/{'zarr.json' if ngff == '0.5' else '.zattrs'}")[2])
    omero = (ome["attributes"]["ome"] if ngff == "0.5" else ome)["omero"]
    assert all((c["window"]["start"], c["window"]["end"]) == (0, 65535) for c in omero["channels"]), omero
    for third, channel in enumerate(state["channels"]):
        lo, hi = channel["contrast_limits"]
        assert hi < 65535, channel  # from the data, not the dtype
        level = 255 * (vh.BRIGHT - lo) / (hi - lo)
        expected = [min(255.0, level) * v / 255 for v in RGB[third]]
        assert all(near(m, expected) for m in colours[third]), (third, colours[third][0], expected)
    assert any(u.startswith(store_url + "/") for u in requests), requests
    assert not any(".ome.tif" in u for u in requests)


def scene_export(folder: Path) -> Path:
    """The stripes image with a labels pyramid (id 1: magenta, over the blue third) and one yellow point."""
    from napari_viv import export_pyramid
    from napari_viv.scene.features import features_bytes

    image = vh.stripes_image(folder / "scene.ome.tif")
    labels = np.zeros((1024, 1024), np.uint8)
    labels[700:850, 780:930] = 1
    export_pyramid(labels, folder / "scene.labels-0.ome.tif", downsample="nearest")
    (folder / "scene.view.json").write_text(
        json.dumps(
            {
                "version": 1,
                "labels": [
                    {
                        "file": "scene.labels-0.ome.tif",
                        "name": "cells",
                        "opacity": 1.0,
                        "visible": True,
                        "colors": {"1": [255, 0, 255, 255]},
                    }
                ],
            }
        )
    )
    point = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [512, 300]},
        "properties": {"layer": 0, "size": 80, "fill_color": [255, 255, 0, 255], "edge_width": 0},
    }
    (folder / "scene.features.geojson").write_bytes(
        features_bytes([{"name": "spots", "type": "points", "opacity": 1.0, "visible": True}], [point])
    )
    return image


def test_presigned_link_shows_labels_and_points_from_a_private_bucket(chromium, s3, tmp_path):
    folder = tmp_path / "scene"
    folder.mkdir()
    image = scene_export(folder)
    s3.client().create_bucket(Bucket="web-private-scene")
    found = publish(image, "s3://web-private-scene/s", "--endpoint-url", s3.endpoint, "--presign", "900")
    page = found["View in your browser"]
    assert "Signature=" in page
    plain = page.split("?")[0].replace("index.html", "scene.labels-0.ome.tif")
    assert fetch(plain, {"Range": "bytes=0-9"})[0] == 403  # the bucket stays private

    async def body(page_):
        assert await page_.wait_status() == "ready", await page_.evaluate("window.__vivViewer.error")
        await page_.wait_for(
            "window.__vivViewer.labels && window.__vivViewer.labels().length > 0 && "
            "window.__vivViewer.labels().every((l) => l.drawn) && window.__vivViewer.overlays().length > 0"
        )
        await asyncio.sleep(0.5)
        to_screen = await page_.image_to_screen()
        shot = await page_.screenshot()
        spots = {
            k: vh.mean_rgb(shot, *to_screen(x, y))
            for k, (x, y) in {"label": (855, 775), "point": (512, 300), "blue": (855, 300), "green": (512, 775)}.items()
        }
        warnings = await page_.evaluate("[...document.querySelectorAll('.warning')].map((e) => e.textContent)")
        return (
            spots,
            await page_.evaluate("window.__vivViewer.labels()"),
            await page_.evaluate("window.__vivViewer.overlays()"),
            warnings,
            list(page_.requests),
        )

    spots, labels, overlays, warnings, requests = vh.run_page(chromium, tmp_path / "profile", page, body)
    assert [(x["name"], x["drawn"]) for x in labels] == [("cells", True)]
    assert [(o["name"], o["type"]) for o in overlays] == [("spots", "points")]
    assert warnings == [], warnings
    assert near(spots["label"], (255, 0, 255)) and near(spots["point"], (255, 255, 0)), spots
    assert near(spots["blue"], (0, 0, 255)) and near(spots["green"], (0, 255, 0)), spots
    data = [u for u in requests if "/s/scene." in u]
    assert any("scene.labels-0.ome.tif" in u for u in data) and all("Signature=" in u for u in data), data
