"""End to end: napari-viv export -> `napari-viv serve` -> our viewer in headless Chromium.

Unlike test_viewer_page.py (the page on a plain test site), this goes through
the product: the file is written by export_pyramid, served by the real CLI
subprocess, and opened by the link it prints.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from helpers import viewer_pages as vh
from helpers.cliproc import start_until_link

pytestmark = pytest.mark.browser

PREFIX = "View in your browser: "
BRIGHT = 30000


@pytest.fixture(params=["zlib", "lzw", "none", "jpeg"])
def served(request, tmp_path):
    """A 3-channel export (one bright third each, red/green/blue) served by the CLI,
    once per codec napari-viv writes (JPEG with 8-bit data)."""
    from napari_viv import export_pyramid

    codec = request.param
    dtype, bright = (np.uint8, 200) if codec == "jpeg" else (np.uint16, BRIGHT)
    data = np.zeros((3, 768, 768), dtype)
    for c in range(3):
        data[c, :, c * 256 : (c + 1) * 256] = bright
    tif = export_pyramid(
        data,
        tmp_path / "thirds",
        tile_size=256,
        compression=codec,
        channel_names=["left", "middle", "right"],
        channel_colors=[(255, 0, 0), (0, 255, 0), (0, 0, 255)],
    ).image
    env = dict(os.environ, NAPARI_VIV_NO_BROWSER="1")
    proc, lines = start_until_link(["serve", str(tif)], env)
    try:
        yield tif, lines
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_serve_link_opens_our_viewer_with_the_export_colours(chromium, served, tmp_path):
    tif, lines = served
    link = next(ln[len(PREFIX) :] for ln in lines if ln.startswith(PREFIX))
    origin = link.split("/?", 1)[0]

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        state = await page.evaluate("window.__vivViewer.state()")
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        colours = [vh.mean_rgb(shot, *to_screen((third + 0.5) * 256, 384)) for third in range(3)]
        await page.change("window.__vivViewer.setChannelVisible(0, false)")
        off = vh.mean_rgb(await page.screenshot(), *to_screen(128, 384))
        return state, colours, off, list(page.requests)

    state, colours, off, requests = vh.run_page(chromium, tmp_path / "profile", link, body)
    assert [c["name"] for c in state["channels"]] == ["left", "middle", "right"]
    assert [c["color"] for c in state["channels"]] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert state["image"]["usedOffsets"] is True  # served beside the file by the CLI
    for mean, expected in zip(colours, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True):
        assert np.all(np.abs(mean - np.asarray(expected, float)) <= 60), (mean, expected)
    assert np.all(off <= 60), off  # the red third went dark
    assert requests and all(u.startswith(origin + "/") or u.startswith(("data:", "blob:")) for u in requests), requests


@pytest.mark.parametrize("served", ["zlib"], indirect=True)
def test_missing_file_shows_the_error_text(chromium, served, tmp_path):
    tif, lines = served
    link = next(ln[len(PREFIX) :] for ln in lines if ln.startswith(PREFIX))
    missing = link.replace("thirds.ome.tif", "gone.ome.tif")

    async def body(page):
        status = await page.wait_status()
        text = await page.evaluate("(document.getElementById('error') || {}).textContent || ''")
        return status, text

    status, text = vh.run_page(chromium, tmp_path / "profile", missing, body)
    assert status == "error"
    assert "gone.ome.tif" in text and ("not found" in text.lower() or "404" in text)
