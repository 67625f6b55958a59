"""napari Points and Shapes drawn by our viewer: a real napari scene saved, served, rendered in Chromium."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from helpers import viewer_pages as vh

pytestmark = [pytest.mark.napari, pytest.mark.browser]


def _near(actual, expected, tol=60) -> bool:
    return bool(np.all(np.abs(np.asarray(actual, float) - np.asarray(expected, float)) <= tol))


def _save_scene(viewer, folder, *, alone=False):
    img = viewer.add_image(
        np.full((300, 400), 300, np.uint16), name="tissue", colormap="gray", contrast_limits=(0, 3000)
    )
    pts = viewer.add_points(
        [[100, 100]], name="spots", size=40, face_color="red", border_width=0, features={"cell": [7]}
    )
    shp = viewer.add_shapes(
        [
            np.array([[200, 200], [200, 350], [260, 350], [260, 200]], float),
            np.array([[50, 250], [50, 380], [120, 380], [120, 250]], float),
        ],
        shape_type=["rectangle", "ellipse"],
        name="regions",
        edge_color=["yellow", "cyan"],
        face_color=["transparent", "cyan"],
        edge_width=[8, 1],
    )
    viewer.layers.selection = {img} if alone else {img, pts, shp}
    viewer.layers.save(str(folder / "scene.ome.tif"), selected=True, plugin="napari-viv")


def _render(chromium, folder, profile):
    site = vh.ViewerSite(folder)

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        await page.wait_for(
            "window.__vivViewer.overlays && window.__vivViewer.overlays().length > 0 || "
            "performance.now() > window.__vivViewer.firstFrameMs + 1500"
        )
        await asyncio.sleep(0.5)
        to_screen = await page.image_to_screen()
        shot = await page.screenshot()
        spots = {
            k: vh.mean_rgb(shot, *to_screen(x, y))
            for k, (x, y) in {
                "point": (100, 100),
                "edge": (275, 200),
                "ellipse": (315, 85),
                "background": (50, 250),
            }.items()
        }
        overlays = await page.evaluate("window.__vivViewer.overlays()")
        col, row = to_screen(100, 100)
        await page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": col, "y": row})
        await asyncio.sleep(0.8)
        tip = await page.evaluate("[...document.querySelectorAll('.deck-tooltip')].map(e => e.innerText).join('|')")
        hidden = None
        if overlays:
            await page.change("window.__vivViewer.setOverlayVisible(0, false)")
            await asyncio.sleep(0.3)
            hidden = vh.mean_rgb(await page.screenshot(), *to_screen(100, 100))
        return spots, overlays, tip, hidden

    try:
        return vh.run_page(chromium, profile, f"{site.origin}/?image=/scene.ome.tif", body)
    finally:
        site.close()


def test_points_and_shapes_show_in_their_colours(make_napari_viewer, chromium, tmp_path):
    folder = tmp_path / "scene"
    folder.mkdir()
    _save_scene(make_napari_viewer(), folder)
    assert (folder / "scene.features.geojson").is_file()
    spots, overlays, tip, hidden = _render(chromium, folder, tmp_path / "p1")
    assert [(o["name"], o["type"], o["count"]) for o in overlays] == [("spots", "points", 1), ("regions", "shapes", 2)]
    assert _near(spots["point"], (255, 0, 0)), spots
    assert _near(spots["edge"], (255, 255, 0)), spots
    assert _near(spots["ellipse"], (0, 255, 255)), spots
    assert _near(spots["background"], (25, 25, 25), tol=30), spots
    assert "spots" in tip and "cell: 7" in tip, tip
    assert _near(hidden, (25, 25, 25), tol=30), hidden  # the toggle hides the points


def test_the_image_alone_shows_none_of_them(make_napari_viewer, chromium, tmp_path):
    folder = tmp_path / "alone"
    folder.mkdir()
    _save_scene(make_napari_viewer(), folder, alone=True)
    assert not (folder / "scene.features.geojson").exists()
    spots, overlays, _, _ = _render(chromium, folder, tmp_path / "p2")
    assert overlays == []
    for key in ("point", "edge", "ellipse"):
        assert _near(spots[key], (25, 25, 25), tol=30), (key, spots)


def test_labels_show_in_napari_colours_and_hover_gives_the_id(make_napari_viewer, chromium, tmp_path):
    from napari.utils.colormaps import DirectLabelColormap

    viewer = make_napari_viewer()
    img = viewer.add_image(
        np.full((300, 400), 300, np.uint16), name="tissue", colormap="gray", contrast_limits=(0, 3000)
    )
    lab = np.zeros((300, 400), np.uint8)
    lab[150:250, 20:120] = 1
    lab[20:80, 250:380] = 2
    cmap = DirectLabelColormap(color_dict={None: [0, 0, 0, 0], 1: [0, 1, 0, 1], 2: [1, 0, 1, 1]})
    labels = viewer.add_labels(lab, name="cells", colormap=cmap, opacity=1.0)
    folder = tmp_path / "labels"
    folder.mkdir()
    viewer.layers.selection = {img, labels}
    viewer.layers.save(str(folder / "scene.ome.tif"), selected=True, plugin="napari-viv")
    site = vh.ViewerSite(folder)

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        await page.wait_for("window.__vivViewer.labels && window.__vivViewer.labels().some(l => l.drawn)")
        await asyncio.sleep(0.5)
        to_screen = await page.image_to_screen()
        shot = await page.screenshot()
        colours = [vh.mean_rgb(shot, *to_screen(x, y)) for x, y in ((70, 200), (315, 50), (200, 150))]
        col, row = to_screen(70, 200)
        await page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": col, "y": row})
        await asyncio.sleep(0.8)
        tip = await page.evaluate("[...document.querySelectorAll('.deck-tooltip')].map(e => e.innerText).join('|')")
        return colours, tip

    try:
        colours, tip = vh.run_page(chromium, tmp_path / "p3", f"{site.origin}/?image=/scene.ome.tif", body)
    finally:
        site.close()
    assert _near(colours[0], (0, 255, 0)), colours
    assert _near(colours[1], (255, 0, 255)), colours
    assert _near(colours[2], (25, 25, 25), tol=30), colours
    assert "label 1" in tip, tip


def _shares(rgb: np.ndarray) -> dict[str, float]:
    """Share of the image's area in each overlay colour (the image is the non-black part)."""
    px = rgb.reshape(-1, 3).astype(int)
    px = px[px.sum(axis=1) > 30]
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    return {
        "red": float(np.mean((r > 120) & (g < 80) & (b < 80))),
        "yellow": float(np.mean((r > 120) & (g > 120) & (b < 80))),
        "cyan": float(np.mean((r < 80) & (g > 120) & (b > 120))),
        "green": float(np.mean((r < 80) & (g > 120) & (b < 80))),
    }


def test_overlay_colours_cover_the_same_share_as_in_napari(make_napari_viewer, chromium, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    viewer = make_napari_viewer(show=True)
    from napari.utils.colormaps import DirectLabelColormap

    _save_scene(viewer, folder)  # the image, points and shapes; then labels on top
    lab = np.zeros((300, 400), np.uint8)
    lab[200:280, 20:150] = 1
    viewer.add_labels(lab, name="cells", colormap=DirectLabelColormap(color_dict={None: [0, 0, 0, 0], 1: [0, 1, 0, 1]}))
    viewer.layers.selection = set(viewer.layers)  # and the labels
    viewer.layers.save(str(folder / "scene.ome.tif"), selected=True, plugin="napari-viv")
    viewer.reset_view()
    napari_shares = _shares(viewer.screenshot(canvas_only=True, flash=False)[..., :3])
    # served by the real CLI, opened at the link it prints
    import os
    import signal

    from helpers.cliproc import start_until_link

    proc, lines = start_until_link(
        ["serve", str(folder / "scene.ome.tif")], dict(os.environ, NAPARI_VIV_NO_BROWSER="1")
    )
    link = next(ln.split(": ", 1)[1] for ln in lines if ln.startswith("View in your browser: "))

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        await page.wait_for("window.__vivViewer.overlays && window.__vivViewer.overlays().length === 2")
        await page.wait_for("window.__vivViewer.labels && window.__vivViewer.labels().some(l => l.drawn)")
        await asyncio.sleep(0.5)
        return (await page.screenshot())[:, vh.PANEL_WIDTH :]

    try:
        shot = vh.run_page(chromium, tmp_path / "p4", link, body)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    browser_shares = _shares(shot)
    for colour, share in napari_shares.items():
        assert share > 0.005, napari_shares
        assert browser_shares[colour] == pytest.approx(share, rel=0.3), (colour, napari_shares, browser_shares)


def _count(shot: np.ndarray, centre: tuple[int, int], colour, half=(60, 24)) -> int:
    """Pixels of about ``colour`` in a box around ``centre`` (column, row) of the screenshot."""
    col, row = centre
    box = shot[row - half[1] : row + half[1], col - half[0] : col + half[0]].reshape(-1, 3).astype(int)
    return int(np.sum(np.all(np.abs(box - np.asarray(colour)) <= 70, axis=1)))


def test_text_napari_shows_is_drawn_without_hovering(make_napari_viewer, chromium, tmp_path):
    """Points' and shapes' text, in napari's text colours, is on the image before any pointer moves."""
    viewer = make_napari_viewer()
    img = viewer.add_image(
        np.full((300, 400), 300, np.uint16), name="tissue", colormap="gray", contrast_limits=(0, 3000)
    )
    text = {"string": "{cell}", "size": 16, "color": "yellow"}
    pts = viewer.add_points([[80, 100], [200, 120]], name="spots", size=4, features={"cell": ["A7", "B9"]}, text=text)
    quiet = viewer.add_points(
        [[80, 300]], name="quiet", size=4, features={"cell": ["C1"]}, text={**text, "visible": False}
    )
    shp = viewer.add_shapes(
        [np.array([[180, 250], [180, 380], [260, 380], [260, 250]], float)],
        shape_type="rectangle",
        name="regions",
        edge_color="blue",
        face_color="transparent",
        edge_width=2,
        features={"kind": ["tumour"]},
        text={"string": "{kind}", "size": 16, "color": "magenta"},
    )
    folder = tmp_path / "text"
    folder.mkdir()
    viewer.layers.selection = {img, pts, quiet, shp}
    viewer.layers.save(str(folder / "scene.ome.tif"), selected=True, plugin="napari-viv")
    import json

    props = [f["properties"] for f in json.loads((folder / "scene.features.geojson").read_text())["features"]]
    assert [(p.get("text"), p.get("text_color")) for p in props] == [
        ("A7", [255, 255, 0, 255]),
        ("B9", [255, 255, 0, 255]),
        (None, None),
        ("tumour", [255, 0, 255, 255]),
    ]
    site = vh.ViewerSite(folder)

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        await page.wait_for("window.__vivViewer.overlays && window.__vivViewer.overlays().length === 3")
        await asyncio.sleep(1.0)  # the font atlas is made on the first text frame
        to_screen = await page.image_to_screen()
        shot = await page.screenshot()
        counts = {
            "A7": _count(shot, to_screen(100, 80), (255, 255, 0)),
            "B9": _count(shot, to_screen(120, 200), (255, 255, 0)),
            "quiet": _count(shot, to_screen(300, 80), (255, 255, 0)),
            "tumour": _count(shot, to_screen(315, 220), (255, 0, 255)),
        }
        tips = await page.evaluate("[...document.querySelectorAll('.deck-tooltip')].map(e => e.textContent).join('')")
        await page.change("window.__vivViewer.setOverlayVisible(0, false)")
        await asyncio.sleep(0.3)
        hidden = _count(await page.screenshot(), to_screen(100, 80), (255, 255, 0))
        return counts, tips, hidden

    try:
        counts, tips, hidden = vh.run_page(chromium, tmp_path / "p5", f"{site.origin}/?image=/scene.ome.tif", body)
    finally:
        site.close()
    assert counts["A7"] > 20 and counts["B9"] > 20 and counts["tumour"] > 20, counts
    assert counts["quiet"] == 0, counts  # napari did not show that layer's text
    assert hidden == 0, hidden  # the layer's toggle hides its text too
    assert tips == "", tips  # nothing was hovered: the text is not a tooltip
