"""Screenshots of the napari scene on the web (issue 20), as a user sees them.

    xvfb-run -a python viewer/scene_screenshots.py [camera] [channels] ...

``camera``: napari zoomed into a corner of a synthetic tissue
(docs/screenshots/scene-camera-napari.png) and our viewer opening that export
in a browser window of another size (scene-camera-browser.png).
``channels``: a 12-channel image with every channel drawn at once
(scene-12-channels.png). ``overlays``: napari points and shapes over a tissue,
in napari and in our viewer (scene-overlays-napari.png, scene-overlays-browser.png).
``panel``: the Export to Viv panel with its scene tick boxes (scene-export-panel.png).
``progress``: that panel exporting a tissue with its nuclei, caught while the
nuclei's label pyramid is written after the image, on the one progress bar
(scene-export-progress.png).
``labels``: napari zoomed into a segmented tissue, its nuclei as filled labels, the
cells as contours and text on detections (scene-labels-napari.png), and our viewer
opening that export, as sharp as the finest level (scene-labels-browser.png).
``zarr-labels``: an OME-Zarr store written by ome-zarr-py with its nuclei under
``labels/nuclei``, named by the view file and drawn as outlines in our viewer,
each id in a colour of its own (scene-zarr-labels-browser.png).
Needs napari (with a display: Xvfb), Chromium, aiohttp, tifffile and imagecodecs,
as the tests do.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from helpers import viewer_pages as vh  # noqa: E402

SHOTS = REPO / "docs" / "screenshots"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        sys.exit("no Chromium found (apt-get install chromium)")
    return found


def browser_shot(folder: Path, image: str, out: Path, profile: Path) -> None:
    """Open our viewer on ``folder/image`` and save what Chromium shows."""
    site = vh.ViewerSite(folder)

    async def body(page):
        if await page.wait_status() != "ready":
            raise SystemExit(f"viewer error: {await page.evaluate('window.__vivViewer.error')}")
        # the labels' tiles of the view, and a moment for the text's font atlas
        await page.wait_for("window.__vivViewer.labels().every(l => !l.shown || l.loaded)")
        await asyncio.sleep(1.0)
        out.write_bytes(await page.screenshot_png())

    try:
        vh.run_page(_chromium(), profile, f"{site.origin}/?image=/{image}", body)
    finally:
        site.close()
    print(f"wrote {out}")


def _tissue_viewer(size: int, channels: int, window: tuple[int, int]):
    """Open a napari window on a synthetic tissue, its channels additive in their colours."""
    import napari
    import numpy as np

    from napari_viv.sample import synthetic_tissue

    data, md = synthetic_tissue(size, channels=channels)
    viewer = napari.Viewer(show=True)
    viewer.window.resize(*window)
    for c in range(channels):
        rgb = np.array(md.channel_colors[c]) / 255
        viewer.add_image(
            data[c],
            name=md.channel_names[c],
            blending="additive",
            colormap=napari.utils.Colormap([[0, 0, 0, 1], [*rgb, 1]], name=f"c{c}"),
        )
    return viewer, data


def napari_then_browser(viewer, tmp: Path, scene: str, image: str) -> None:
    """Save napari's canvas as scene-SCENE-napari.png, every layer with our writer, and our viewer's view of it."""
    import napari
    from imageio.v3 import imwrite

    napari.qt.get_qapp().processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"scene-{scene}-napari.png"
    imwrite(shot, viewer.screenshot(canvas_only=True, flash=False))
    print(f"wrote {shot}")
    folder = tmp / scene
    folder.mkdir()
    viewer.layers.selection = set(viewer.layers)
    viewer.layers.save(str(folder / image), selected=True, plugin="napari-viv")
    viewer.close()
    browser_shot(folder, image, SHOTS / f"scene-{scene}-browser.png", tmp / f"p-{scene}")


def camera(tmp: Path) -> None:
    """Napari zoomed into the top-left corner, then the same export in the browser."""
    viewer, _ = _tissue_viewer(1024, 3, (900, 700))
    viewer.scene.camera.center = (0, 220, 260)
    viewer.scene.camera.zoom = 2.0
    napari_then_browser(viewer, tmp, "camera", "tissue.ome.tif")


def channels(tmp: Path) -> None:
    """Show a 12-channel synthetic tissue with every channel drawn at once."""
    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue

    folder = tmp / "channels"
    folder.mkdir()
    data, md = synthetic_tissue(1024, channels=12)
    export_pyramid(data, folder / "twelve", metadata=md, levels=2)
    browser_shot(folder, "twelve.ome.tif", SHOTS / "scene-12-channels.png", tmp / "p-channels")


def overlays(tmp: Path) -> None:
    """Show napari points and shapes over a tissue, in napari and in our viewer."""
    import napari
    import numpy as np
    import pandas as pd

    from napari_viv.sample import synthetic_tissue

    data, md = synthetic_tissue(512, channels=1)
    viewer = napari.Viewer(show=True)
    viewer.add_image(data[0], name="DAPI", colormap="gray")
    rng = np.random.default_rng(1)
    spots = rng.uniform(30, 480, (25, 2))
    viewer.add_points(
        spots,
        name="detections",
        size=14,
        face_color="red",
        border_color="white",
        features=pd.DataFrame({"score": rng.uniform(0, 1, 25).round(2)}),
    )
    viewer.add_shapes(
        [
            np.array([[60, 60], [60, 220], [180, 220], [180, 60]], float),
            np.array([[300, 280], [300, 460], [420, 460], [420, 280]], float),
            np.array([[250, 40], [330, 120], [460, 60]], float),
        ],
        shape_type=["rectangle", "ellipse", "path"],
        name="regions",
        edge_color=["yellow", "cyan", "magenta"],
        face_color="transparent",
        edge_width=4,
    )
    viewer.reset_view()
    napari_then_browser(viewer, tmp, "overlays", "scene.ome.tif")


def _segmentation(image):
    """Nuclei (bright DAPI blobs) and cells (each nucleus grown by 6 pixels) as label images."""
    import numpy as np
    from scipy import ndimage as ndi

    smooth = ndi.gaussian_filter(image.astype(float), 1.5)
    nuclei, _ = ndi.label(smooth > np.percentile(smooth, 82))
    distance, (iy, ix) = ndi.distance_transform_edt(nuclei == 0, return_indices=True)
    cells = np.where(distance <= 6, nuclei[iy, ix], 0)
    return nuclei.astype(np.uint32), cells.astype(np.uint32)


def labels(tmp: Path) -> None:
    """Napari zoomed into segmented tissue (filled nuclei, cell contours, text), then our viewer."""
    import numpy as np
    import pandas as pd

    viewer, data = _tissue_viewer(2048, 2, (1000, 760))
    nuclei, cells = _segmentation(data[0])
    viewer.add_labels(nuclei, name="nuclei", opacity=0.5)
    cell_layer = viewer.add_labels(cells, name="cells", opacity=1.0)
    cell_layer.contour = 2
    rng = np.random.default_rng(2)
    spots = rng.uniform(1400, 1560, (6, 2))
    viewer.add_points(
        spots,
        name="detections",
        size=8,
        face_color="yellow",
        features=pd.DataFrame({"id": [f"d{i}" for i in range(6)]}),
        text={"string": "{id}", "size": 11, "color": "white", "anchor": "upper_left"},
    )
    viewer.scene.camera.center = (0, 1480, 1480)
    viewer.scene.camera.zoom = 4.0
    napari_then_browser(viewer, tmp, "labels", "tissue.ome.tif")


def zarr_labels(tmp: Path) -> None:
    """Show an NGFF store with a label group, served by RangeServer: its nuclei as outlines in our viewer."""
    import json

    import numcodecs
    import numpy as np
    from helpers.zarr_judges import write_reference_labels, write_reference_store

    from napari_viv.sample import synthetic_tissue
    from napari_viv.serve.server import RangeServer

    data, md = synthetic_tissue(1024, channels=2)
    channels = [
        {
            "label": n,
            "color": "".join(f"{v:02X}" for v in c),
            "window": {"start": 0, "end": 3000, "min": 0, "max": 65535},
        }
        for n, c in zip(md.channel_names, md.channel_colors, strict=True)
    ]
    folder = tmp / "zarr"
    folder.mkdir()
    store = write_reference_store(
        folder / "tissue.ome.zarr", np.asarray(data), channels=channels, compressor=numcodecs.Zlib(level=1)
    )
    write_reference_labels(store, _segmentation(data[0])[0], name="nuclei")
    entry = {"file": "tissue.ome.zarr/labels/nuclei", "name": "nuclei", "opacity": 1.0, "contour": 1}
    view = {"version": 1, "camera": {"center": [300, 300], "extent": [300, 300]}, "labels": [entry]}
    (folder / "tissue.view.json").write_text(json.dumps(view))
    out = SHOTS / "scene-zarr-labels-browser.png"

    async def body(page):
        if await page.wait_status() != "ready":
            raise SystemExit(f"viewer error: {await page.evaluate('window.__vivViewer.error')}")
        await page.wait_for("window.__vivViewer.labels().every(l => !l.shown || l.loaded)")
        await asyncio.sleep(0.5)
        out.write_bytes(await page.screenshot_png())

    with RangeServer([store]) as server:
        vh.run_page(_chromium(), tmp / "p-zarr", server.viewer_url_for(store), body)
    print(f"wrote {out}")


def panel(tmp: Path) -> None:
    """Show the Export to Viv panel with its labels, points and shapes tick boxes."""
    import napari
    import numpy as np

    from napari_viv._napari.manifest import PLUGIN, export_title  # noqa: PLC2701 - our own package
    from napari_viv.sample import synthetic_tissue

    data, md = synthetic_tissue(256, channels=2)
    viewer = napari.Viewer(show=True)
    for c in range(2):
        viewer.add_image(data[c], name=md.channel_names[c])
    viewer.add_labels((data[0] > data[0].mean()).astype(np.uint8), name="nuclei")
    viewer.add_points([[40, 40], [100, 120]], name="detections")
    viewer.add_shapes([np.array([[10, 10], [10, 90], [60, 90], [60, 10]], float)], name="regions")
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    app = napari.qt.get_qapp()
    for _ in range(20):
        app.processEvents()
    widget.native.widget().grab().save(str(SHOTS / "scene-export-panel.png"))
    print(f"wrote {SHOTS / 'scene-export-panel.png'}")
    viewer.close()


def progress(tmp: Path) -> None:
    """Show the panel exporting a tissue and its nuclei, caught while the labels' pyramid is written."""
    import napari

    from napari_viv._napari.manifest import PLUGIN, export_title  # noqa: PLC2701 - our own package

    viewer, data = _tissue_viewer(2048, 2, (1200, 900))
    nuclei, _cells = _segmentation(data[0])
    viewer.add_labels(nuclei, name="nuclei", opacity=0.5)
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    widget.tile_size.value = 256
    widget.output.value = str(tmp / "tissue.ome.tif")
    image_tiles = widget.plan.ntiles  # the bar's length before the export starts: the image's tiles
    shot = SHOTS / "scene-export-progress.png"
    taken = []

    def catch(value):  # the first value past the image's tiles: the labels are being written
        if not taken and image_tiles < value < widget.progress.max:
            taken.append(value)
            widget.native.widget().grab().save(str(shot))

    widget.progress.changed.connect(catch)
    app = napari.qt.get_qapp()
    assert widget.start_export()
    while widget.worker is not None:
        app.processEvents()
    if not taken:
        raise SystemExit(f"the labels' progress was never seen ({widget.status.value})")
    print(f"wrote {shot} at {taken[0]} of {widget.progress.max} tiles ({image_tiles} of them the image's)")
    viewer.close()


def main(which: list[str]) -> None:
    """Take the screenshots named in ``which`` (all when empty)."""
    steps = {
        "camera": camera,
        "channels": channels,
        "overlays": overlays,
        "labels": labels,
        "zarr-labels": zarr_labels,
        "panel": panel,
        "progress": progress,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in which or list(steps):
            steps[name](Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
