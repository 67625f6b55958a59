"""Labels drawn by our viewer like the image: tiled and multi-level, as contours, and from an OME-Zarr store.

The pages are checked pixel by pixel against the label arrays: each image pixel
in view is sampled at its centre on the screen and compared with the colour its
label id should have (or the image's own grey where no label is drawn).
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from helpers import viewer_pages as vh

pytestmark = pytest.mark.browser

COLOURS = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}
GREY = 300  # the image's value everywhere; with limits 0-3000 it shows dark grey


def _write_scene(folder, labels: np.ndarray, *, tile: int, levels: int, entry: dict, camera: dict):
    """An image of the labels' size, the labels as a pyramid beside it (nearest), and the view file."""
    image = np.full(labels.shape, GREY, np.uint16)
    vh.write_pyramid(folder / "scene.ome.tif", image, "YX", levels=levels, tile=tile)
    vh.write_pyramid(folder / "scene.labels-0.ome.tif", labels, "YX", levels=levels, tile=tile)
    view = {
        "version": 1,
        "channels": [{"color": [255, 255, 255], "contrast_limits": [0, 3000]}],
        "camera": camera,
        "labels": [{"file": "scene.labels-0.ome.tif", "name": "cells", **entry}],
    }
    (folder / "scene.view.json").write_text(json.dumps(view))


async def _labelled_view(page):
    """Wait until the image and the labels of the view are drawn; return (screenshot, image -> screen)."""
    assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
    await page.wait_for("window.__vivViewer.labels().length > 0 && window.__vivViewer.labels().every(l => l.loaded)")
    await asyncio.sleep(0.3)
    await page.wait_for("window.__vivViewer.labels().every(l => l.loaded)")
    return await page.screenshot(), await page.image_to_screen()


def _expected(ids: np.ndarray, background) -> np.ndarray:
    out = np.empty((*ids.shape, 3), float)
    out[...] = background
    for i, c in COLOURS.items():
        out[ids == i] = c
    return out


def _sampled(shot, to_screen, x0, y0, w, h) -> np.ndarray:
    """The screen colour at the centre of each image pixel of the block [x0, x0 + w) x [y0, y0 + h)."""
    out = np.empty((h, w, 3), float)
    for j in range(h):
        for i in range(w):
            col, row = to_screen(x0 + i + 0.5, y0 + j + 0.5)
            out[j, i] = shot[row, col]
    return out


def _match(actual: np.ndarray, expected: np.ndarray, tol=40) -> float:
    return float(np.mean(np.all(np.abs(actual - expected) <= tol, axis=-1)))


def test_zoomed_in_labels_are_as_sharp_as_the_finest_level(chromium, tmp_path):
    """4096 x 4096 labels with one-pixel detail, viewed 8x magnified: every pixel has its own id's colour."""
    rng = np.random.default_rng(3)
    labels = np.zeros((4096, 4096), np.uint16)
    labels[2048:2176, 2048:2176] = rng.integers(0, 4, (128, 128))
    _write_scene(
        tmp_path,
        labels,
        tile=256,
        levels=5,
        entry={"opacity": 1.0, "colors": {str(i): [*c, 255] for i, c in COLOURS.items()}},
        camera={"center": [2100, 2100], "zoom": 3},
    )
    site = vh.ViewerSite(tmp_path)
    block = (2080, 2080, 40, 40)  # x0, y0, w, h: well inside the view (125 x 100 image pixels)

    async def body(page):
        shot, to_screen = await _labelled_view(page)
        sampled = _sampled(shot, to_screen, *block)
        x0, y0 = block[:2]
        label_two = np.argwhere(labels[y0 : y0 + 40, x0 : x0 + 40] == 2)[0]
        col, row = to_screen(x0 + label_two[1] + 0.5, y0 + label_two[0] + 0.5)
        await page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": col, "y": row})
        await asyncio.sleep(0.8)
        tip = await page.evaluate("[...document.querySelectorAll('.deck-tooltip')].map(e => e.innerText).join('|')")
        return sampled, tip, await page.evaluate("window.__vivViewer.labels()")

    try:
        sampled, tip, state = vh.run_page(chromium, tmp_path / "p", f"{site.origin}/?image=/scene.ome.tif", body)
    finally:
        site.close()
    x0, y0, w, h = block
    background = sampled[labels[y0 : y0 + h, x0 : x0 + w] == 0].mean(axis=0)
    assert np.all(background < 60), background  # the dark grey image shows where there is no label
    expected = _expected(labels[y0 : y0 + h, x0 : x0 + w], background)
    assert _match(sampled, expected) > 0.99, _match(sampled, expected)
    # a coarser level (what one bitmap of at most 2048 pixels showed) would not match
    coarse = np.repeat(np.repeat(labels[::2, ::2], 2, axis=0), 2, axis=1)[y0 : y0 + h, x0 : x0 + w]
    assert _match(sampled, _expected(coarse, background)) < 0.6
    assert "cells" in tip and "label 2" in tip, tip
    assert state == [{"name": "cells", "shown": True, "contour": 0, "drawn": True, "loaded": True}]


def _napari_contours(labels: np.ndarray, thickness: int) -> np.ndarray:
    """napari's contour rule, written out with scipy: labelled pixels whose 4-neighbourhood maximum
    differs from the minimum within ``thickness`` steps."""
    from scipy import ndimage as ndi

    cross = ndi.generate_binary_structure(2, 1)
    dilated = ndi.grey_dilation(labels, footprint=cross)
    eroded = ndi.grey_erosion(labels, footprint=ndi.iterate_structure(cross, thickness).astype(bool))
    return np.where(dilated == eroded, 0, labels)


def test_contours_draw_outlines_of_napari_width_and_no_interior(chromium, tmp_path):
    """contour 3: napari's outlines, also where a region's edge lies on a tile edge (128, 256)."""
    labels = np.zeros((512, 512), np.uint8)
    labels[128:256, 100:300] = 1  # top and bottom edges on tile edges
    labels[256:380, 150:256] = 2  # touches 1 along a tile edge; right edge on a tile edge too
    labels[300:340, 320:420] = 3
    _write_scene(
        tmp_path,
        labels,
        tile=128,
        levels=3,
        entry={"opacity": 1.0, "contour": 3, "colors": {str(i): [*c, 255] for i, c in COLOURS.items()}},
        camera={"center": [260, 260], "zoom": 1},
    )
    site = vh.ViewerSite(tmp_path)
    block = (90, 110, 340, 290)

    async def body(page):
        shot, to_screen = await _labelled_view(page)
        return _sampled(shot, to_screen, *block), await page.evaluate("window.__vivViewer.labels()")

    try:
        sampled, state = vh.run_page(chromium, tmp_path / "p", f"{site.origin}/?image=/scene.ome.tif", body)
    finally:
        site.close()
    x0, y0, w, h = block
    contours = _napari_contours(labels, 3)[y0 : y0 + h, x0 : x0 + w]
    inside = labels[y0 : y0 + h, x0 : x0 + w]
    background = sampled[inside == 0].mean(axis=0)
    assert np.all(background < 60), background
    assert _match(sampled, _expected(contours, background)) > 0.99, _match(sampled, _expected(contours, background))
    # the interiors show the image, not the label colour
    interior = (inside > 0) & (contours == 0)
    assert interior.sum() > 5000
    assert np.all(np.abs(sampled[interior] - background).max(axis=-1) <= 40)
    # and the outline colour is there: every contour pixel has its label's colour
    for i, c in COLOURS.items():
        ring = contours == i
        assert ring.sum() > 100
        assert np.abs(sampled[ring].mean(axis=0) - c).max() <= 40, (i, sampled[ring].mean(axis=0))
    assert state[0]["contour"] == 3 and state[0]["loaded"]


def test_labels_from_an_ome_zarr_store_served_by_our_server(chromium, tmp_path):
    """The view file names the store's NGFF label group; its image-label colours are used."""
    import numcodecs
    from helpers.zarr_judges import write_reference_labels, write_reference_store

    from napari_viv.serve.server import RangeServer

    labels = np.zeros((512, 512), np.uint16)
    labels[50:200, 60:220] = 1
    labels[260:450, 300:480] = 3
    image = np.full(labels.shape, GREY, np.uint16)
    store = write_reference_store(
        tmp_path / "cells.ome.zarr", image, axes="yx", channels=None, compressor=numcodecs.Zlib(level=1)
    )
    write_reference_labels(store, labels, name="nuclei", colors=COLOURS)
    view = {
        "version": 1,
        "channels": [{"color": [255, 255, 255], "contrast_limits": [0, 3000]}],
        "labels": [{"file": "cells.ome.zarr/labels/nuclei", "name": "nuclei", "opacity": 1.0}],
    }
    (tmp_path / "cells.view.json").write_text(json.dumps(view))

    async def body(page):
        shot, to_screen = await _labelled_view(page)
        spots = [vh.mean_rgb(shot, *to_screen(x, y)) for x, y in ((140, 120), (390, 350), (250, 250))]
        return spots, await page.evaluate("window.__vivViewer.labels()"), list(page.requests)

    with RangeServer([store]) as server:
        spots, state, requests = vh.run_page(chromium, tmp_path / "p", server.viewer_url_for(store), body)
    assert np.abs(spots[0] - COLOURS[1]).max() <= 40, spots
    assert np.abs(spots[1] - COLOURS[3]).max() <= 40, spots
    assert np.all(spots[2] < 60), spots  # no label there
    assert state[0]["name"] == "nuclei" and state[0]["loaded"]
    assert any("/cells.ome.zarr/labels/nuclei/" in u for u in requests), requests


def test_a_page_without_labels_never_loads_the_label_drawing(chromium, tmp_path):
    """No labels in the view file: no label request, and the label tiles' code is never evaluated."""
    vh.stripes_image(tmp_path / "plain.ome.tif")
    site = vh.ViewerSite(tmp_path)

    async def body(page):
        assert await page.wait_status() == "ready"
        await asyncio.sleep(0.5)
        state = await page.evaluate("window.__vivViewer.labels()")
        return state, await page.evaluate("window.__vivViewer.labelDrawing")

    try:
        state, evaluated = vh.run_page(chromium, tmp_path / "p", f"{site.origin}/?image=/plain.ome.tif", body)
    finally:
        site.close()
    assert state == []
    assert evaluated is False
    assert not any("labels" in path for path, _, _ in site.log), site.log
