"""Regenerate the napari PNGs in docs/screenshots/ from a real napari window.

Run under a virtual display (no real screen needed)::

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_screenshots.py

It opens what `napari-viv demo --napari` opens (the synthetic tissue and the
*Export to Viv* panel) in a 1280 x 800 window, exports the sample with the
panel to a temporary folder, starts serving it from the Viewing section
(with two Range requests, so the counters move), and saves:

* ``napari-window.png``   the whole 1280 x 800 window after the export
* ``export-widget.png``   the whole panel, options open, after the export
* ``serve-widget.png``    *View a file in a browser* while serving the file
* ``file-menu.png``       File ▸ IO Utilities with the two entries
* ``publish-widget.png``  the panel's *Publish…* section after publishing to a folder
* ``publish-widget-zarr.png``  the same section after publishing the export as an OME-Zarr store
* ``export-widget-zarr.png``  the panel with OME-Zarr (NGFF 0.5) chosen, options open,
  after exporting the sample as a store

Nothing is written to your napari settings: napari and napari-viv both use
throw-away settings files in the temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"
TMP = Path(tempfile.mkdtemp(prefix="napari-viv-shots-"))
# Before napari is imported: keep napari's and our settings out of $HOME.
os.environ["NAPARI_CONFIG"] = str(TMP / "napari-settings.yaml")
os.environ["NAPARI_VIV_SETTINGS"] = str(TMP / "napari-viv.json")

WINDOW = (1280, 800)


def wait_until(app, condition, timeout=120.0):
    """Process Qt events until ``condition()`` is true."""
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for napari")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds=0.5):
    """Process Qt events for ``seconds``."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(pixmap, name):
    """Save ``pixmap`` as docs/screenshots/``name``."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    if not pixmap.save(str(path)):
        raise RuntimeError(f"could not save {path}")
    print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})")


def grab_menu(app, window):
    """Open File ▸ IO Utilities and grab the screen region showing both menus."""
    from qtpy.QtCore import QPoint, QRect
    from qtpy.QtWidgets import QMenu

    qt_window = window._qt_window
    menubar = qt_window.menuBar()
    file_action = next(a for a in menubar.actions() if a.text().replace("&", "") == "File")
    file_menu = file_action.menu()
    pos = menubar.mapToGlobal(menubar.actionGeometry(file_action).bottomLeft())
    file_menu.popup(pos)
    settle(app, 0.5)
    io_action = next(a for a in file_menu.actions() if a.text().replace("&", "") == "IO Utilities")
    file_menu.setActiveAction(io_action)
    submenu: QMenu = io_action.menu()
    submenu.popup(file_menu.mapToGlobal(file_menu.actionGeometry(io_action).topRight()))
    settle(app, 0.5)
    area = QRect(file_menu.geometry()).united(submenu.geometry()).adjusted(-8, -30, 8, 8)
    area = area.united(QRect(menubar.mapToGlobal(QPoint(0, 0)), menubar.size()))
    screen = app.primaryScreen()
    shot = screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
    submenu.close()
    file_menu.close()
    return shot


def read_some(url):
    """Read the start of the file the way a viewer does, so the counters move."""
    import urllib.request

    for first in (0, 65536):
        request = urllib.request.Request(url, headers={"Range": f"bytes={first}-{first + 65535}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def main() -> int:
    """Open the demo, export, serve, and grab the screenshots."""
    import webbrowser

    from qtpy.QtWidgets import QApplication

    from napari_viv._napari.launch import make_demo_viewer
    from napari_viv._napari.manifest import PLUGIN, serve_title

    webbrowser.open = lambda *a, **k: True  # the shots need no browser
    viewer, panel = make_demo_viewer()
    app = QApplication.instance()
    qt_window = viewer.window._qt_window
    qt_window.resize(*WINDOW)
    settle(app, 1.0)

    panel.output.value = TMP / "synthetic_tissue.ome.tif"
    panel.export_button.native.click()
    wait_until(app, lambda: panel.worker is None, timeout=600)
    if not panel.exported:
        print("export failed:", panel.status.value, file=sys.stderr)
        return 1
    panel.viewing.open_viewer_button.native.click()  # starts serving
    read_some(panel.viewing.server.url_for(panel.exported[0]))
    settle(app, 1.5)  # let the counters tick
    viewer.reset_view()
    settle(app, 1.0)
    save(qt_window.grab(), "napari-window.png")

    panel.options_toggle.value = True
    settle(app, 0.5)
    save(panel.native.widget().grab(), "export-widget.png")  # the whole panel, unscrolled
    panel.viewing.stop()

    section = panel.publishing
    section.toggle.native.click()
    section.dest.value = str(TMP / "shared-site")
    section.start_button.native.click()
    wait_until(app, lambda: section.worker is None, timeout=300)
    settle(app, 0.5)
    save(section.native.grab(), "publish-widget.png")
    from napari_viv.convert import ConvertOptions, convert_one

    (TMP / "zarr").mkdir()  # a store beside the .ome.tif would share its view file's name
    _source, store = convert_one(
        panel.exported[0], TMP / "zarr" / "synthetic_tissue.ome.zarr", ConvertOptions(format="ome-zarr")
    )
    section.set_file(store.image)  # what the panel hands the section after a Zarr export
    section.dest.value = str(TMP / "shared-zarr-site")
    section.start_button.native.click()
    wait_until(app, lambda: section.worker is None, timeout=300)
    settle(app, 0.5)
    save(section.native.grab(), "publish-widget-zarr.png")
    section.toggle.native.click()

    _dock, serve = viewer.window.add_plugin_dock_widget(PLUGIN, serve_title())
    serve.file.value = panel.exported[0]
    serve.viewing.open_viewer_button.native.click()
    read_some(serve.viewing.server.url_for(panel.exported[0]))
    settle(app, 1.5)
    from qtpy.QtCore import QRect

    used = serve.native.sizeHint().height() + 8  # the dock below is empty
    save(serve.native.grab(QRect(0, 0, serve.native.width(), used)), "serve-widget.png")
    serve.viewing.stop()
    viewer.window.remove_dock_widget(serve.native)  # back to the demo's layout
    panel.options_toggle.value = False
    settle(app, 0.5)

    try:
        save(grab_menu(app, viewer.window), "file-menu.png")
    except Exception as exc:  # noqa: BLE001 - the menu shot is a nice-to-have
        print(f"could not capture the File menu: {exc}", file=sys.stderr)
    if not shoot_zarr_export(app, panel):
        return 1
    viewer.close()
    return 0


def shoot_zarr_export(app, panel) -> bool:
    """Choose OME-Zarr (NGFF 0.5), export the sample as a store, grab the panel."""
    panel.format.value = "ngff-0.5"  # the output's suffix follows: .ome.tif -> .ome.zarr
    # beside the TIFF of the same stem their view files would clash: another name
    panel.output.value = TMP / "synthetic_tissue_store.ome.zarr"
    panel.options_toggle.value = True
    panel.export_button.native.click()
    wait_until(app, lambda: panel.worker is None, timeout=600)
    if not panel.exported or not panel.exported[0].is_dir():
        print("store export failed:", panel.status.value, file=sys.stderr)
        return False
    settle(app, 0.5)
    save(panel.native.widget().grab(), "export-widget-zarr.png")
    panel.options_toggle.value = False
    return True


if __name__ == "__main__":
    sys.exit(main())
