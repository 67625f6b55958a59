"""napari's camera travels: a view zoomed into a corner in napari opens on that corner in the browser.

A real napari viewer (Xvfb) saves through ``viewer.layers.save``; the real viewer
page in headless Chromium, in a window of another size than napari's canvas,
opens on the same visible field.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import viewer_pages as vh

pytestmark = [pytest.mark.napari, pytest.mark.browser]


def _corner_image():
    """1024 x 1024 uint16: a bright 240-px square near the top-left corner, dark elsewhere."""
    data = np.full((1024, 1024), 200, np.uint16)
    data[80:320, 80:320] = 60000
    return data


def test_a_view_zoomed_into_a_corner_opens_on_that_corner(make_napari_viewer, chromium, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(
        _corner_image(),
        name="corner",
        colormap="red",
        contrast_limits=(0, 65535),
        scale=(0.5, 0.5),
        translate=(10.0, 20.0),
    )
    viewer.layers.selection = {viewer.layers["corner"]}
    # napari's world: pixel (x=200, y=200) is at world (y=110, x=120); 4 screen pixels per world unit
    viewer.scene.camera.center = (0.0, 10 + 200 * 0.5, 20 + 200 * 0.5)
    viewer.scene.camera.zoom = 4.0
    height, width = viewer.canvas.size
    folder = tmp_path / "site"
    folder.mkdir()
    viewer.layers.save(str(folder / "corner.ome.tif"), selected=True, plugin="napari-viv")

    cam = json.loads((folder / "corner.view.json").read_text())["camera"]
    assert cam["center"] == pytest.approx([200, 200])
    # the visible field, in image pixels: canvas pixels / (4 per world unit) / (0.5 world per pixel)
    assert cam["extent"] == pytest.approx([width / 2, height / 2])

    site = vh.ViewerSite(folder)

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        state = await page.evaluate("window.__vivViewer.state()")
        return shot, to_screen, state

    try:
        shot, to_screen, state = vh.run_page(
            chromium, tmp_path / "profile", f"{site.origin}/?image=/corner.ome.tif", body
        )
    finally:
        site.close()
    canvas_w, canvas_h = vh.VIEWPORT[0] - vh.PANEL_WIDTH, vh.VIEWPORT[1]
    assert state["camera"]["center"] == pytest.approx([200, 200])
    fit = min(canvas_w / cam["extent"][0], canvas_h / cam["extent"][1])
    assert state["camera"]["zoom"] == pytest.approx(math.log2(fit))
    # the field napari showed fills the browser's canvas along its tighter side
    col0, row0 = to_screen(200 - cam["extent"][0] / 2, 200 - cam["extent"][1] / 2)
    col1, row1 = to_screen(200 + cam["extent"][0] / 2, 200 + cam["extent"][1] / 2)
    assert (col1 - col0 == pytest.approx(canvas_w, abs=2)) or (row1 - row0 == pytest.approx(canvas_h, abs=2))
    # on screen: the bright square at the centre, the dark image around it, the far corner off screen
    centre = vh.mean_rgb(shot, *to_screen(200, 200))
    assert centre[0] > 200 and centre[1] < 40, centre
    dark = vh.mean_rgb(shot, *to_screen(200, 40))
    assert dark[0] < 40, dark
    far = to_screen(900, 900)
    assert far[0] > vh.VIEWPORT[0] or far[1] > vh.VIEWPORT[1]


def test_without_zooming_no_camera_is_written(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(_corner_image(), name="corner")
    viewer.reset_view()
    viewer.layers.save(str(tmp_path / "whole.ome.tif"), selected=True, plugin="napari-viv")
    doc = json.loads((tmp_path / "whole.view.json").read_text())
    assert "camera" not in doc  # the whole image is in view: the browser fits it itself
