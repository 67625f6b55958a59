"""Save docs/screenshots/publish-*.png: published links, as a user sees them.

    python3 viewer/screenshot_publish.py [folder]

The synthetic tissue (napari_viv.sample) is published with ``napari_viv.publish``
to a real S3 server on 127.0.0.1 (moto in server mode, as the tests use):

* ``publish-zarr.png``: exported as an NGFF 0.5 OME-Zarr store and published
  publicly; the printed viewer link opened in headless Chromium;
* ``publish-presigned-scene.png``: exported as OME-TIFF with a label pyramid
  (three round cells) and a points sidecar, published to a private bucket with
  ``--presign``; the presigned link opened in Chromium;
* ``publish-demo-folder.png`` and ``publish-demo-s3.png``: a new user's first try,
  run as commands: ``napari-viv demo --publish DIR`` (the folder then served by
  nginx, as any web server that answers Range requests) and ``napari-viv demo
  --publish s3://demo/lab --endpoint-url URL --set-cors``; the printed link
  opened in a fresh Chromium.

Needs Chromium, moto[server] and s3fs (the test extra), and the repository's
tests/ folder (helpers) on the path, as tests/browser does.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from helpers import viewer_pages as vh  # noqa: E402
from helpers.publish_servers import CREDENTIALS, Nginx, S3Server, links, run_publish  # noqa: E402

CELLS = ((500, 400, 90, (0, 255, 255)), (900, 1000, 120, (255, 0, 255)), (1200, 350, 70, (255, 255, 0)))


def tissue(folder: Path, fmt: str) -> Path:
    """Export the synthetic tissue's first four channels (OME-TIFF or an NGFF 0.5 store)."""
    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue

    data, meta = synthetic_tissue(size=1536, channels=4)
    data = np.asarray(data)
    meta.contrast_limits = [(0.0, float(np.percentile(data[c, ::8, ::8], 99.5))) for c in range(4)]
    if fmt == "ome-zarr":
        return export_pyramid(data, folder / "tissue.ome.zarr", metadata=meta, format=fmt, ngff="0.5").image
    return export_pyramid(data, folder / "tissue.ome.tif", metadata=meta).image


def add_scene(image: Path) -> None:
    """Write a label pyramid of three round cells and one point on each, beside ``image``."""
    from napari_viv import export_pyramid
    from napari_viv.scene.features import features_bytes

    yy, xx = np.mgrid[0:1536, 0:1536]
    labels = np.zeros((1536, 1536), np.uint8)
    for i, (x, y, r, _rgb) in enumerate(CELLS, start=1):
        labels[(xx - x) ** 2 + (yy - y) ** 2 < r * r] = i
    export_pyramid(labels, image.with_name("tissue.labels-0.ome.tif"), downsample="nearest")
    colors = {str(i): [*rgb, 255] for i, (_x, _y, _r, rgb) in enumerate(CELLS, start=1)}
    view = json.loads(image.with_name("tissue.view.json").read_text())
    view["labels"] = [{"file": "tissue.labels-0.ome.tif", "name": "cells", "opacity": 0.45, "colors": colors}]
    image.with_name("tissue.view.json").write_text(json.dumps(view))
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"layer": 0, "size": 40, "fill_color": [255, 255, 255, 255], "edge_width": 0},
        }
        for x, y, _r, _rgb in CELLS
    ]
    image.with_name("tissue.features.geojson").write_bytes(
        features_bytes([{"name": "centres", "type": "points", "opacity": 1.0, "visible": True}], points)
    )


def shoot(chromium: str, url: str, out: Path, profile: Path, scene: bool) -> None:
    """Open ``url``, wait for the image (and the labels and points), save the PNG."""

    async def body(page):
        if await page.wait_status() != "ready":
            raise SystemExit(f"viewer error: {await page.evaluate('window.__vivViewer.error')}")
        if scene:
            await page.wait_for(
                "window.__vivViewer.labels().every((l) => l.drawn) && window.__vivViewer.overlays().length > 0"
            )
        await asyncio.sleep(0.5)
        out.write_bytes(await page.screenshot_png())

    vh.run_page(chromium, profile, url, body)
    print(f"wrote {out}")


def demo_trial(chromium: str, server: S3Server, folder: Path, work: Path) -> None:
    """Publish the demo as a new user would (the CLI), to a folder and to S3; open both links."""
    site = work / "www" / "lab"
    site.parent.mkdir()  # the web server's root; publish makes lab/ in it
    done = run_publish("--publish", site, command="demo")
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    nginx = Nginx(work / "www", work / "nginx")
    try:
        page = links(done.stdout)["View in your browser"].replace((work / "www").as_uri(), nginx.origin)
        shoot(chromium, page, folder / "publish-demo-folder.png", work / "p3", scene=False)
    finally:
        nginx.stop()
    server.client().create_bucket(Bucket="demo")
    done = run_publish("--publish", "s3://demo/lab", "--endpoint-url", server.endpoint, "--set-cors", command="demo")
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    print(done.stdout, done.stderr, sep="")
    shoot(chromium, links(done.stdout)["View in your browser"], folder / "publish-demo-s3.png", work / "p4", False)


def main(folder: Path) -> None:
    """Publish both, open both links, save both screenshots into ``folder``."""
    from napari_viv.publish import PublishOptions, StoreOptions, publish

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("no Chromium found (apt-get install chromium)")
    os.environ.update(CREDENTIALS)
    server = S3Server()
    try:
        client = server.client()
        store_options = StoreOptions(endpoint_url=server.endpoint)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            client.create_bucket(Bucket="lab")
            (work / "zarr").mkdir()
            pub = publish([tissue(work / "zarr", "ome-zarr")], "s3://lab/tissue", PublishOptions(store=store_options))
            shoot(chromium, pub.page, folder / "publish-zarr.png", work / "p1", scene=False)
            client.create_bucket(Bucket="private")
            (work / "tif").mkdir()
            image = tissue(work / "tif", "ome-tiff")
            add_scene(image)
            signed = PublishOptions(store=store_options, presign=3600)
            pub = publish([image], "s3://private/tissue", signed)
            shoot(chromium, pub.page, folder / "publish-presigned-scene.png", work / "p2", scene=True)
            demo_trial(chromium, server, folder, work)
    finally:
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
