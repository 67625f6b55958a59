"""Regenerate the PNGs in docs/screenshots/ from a real napari window.

Run under a virtual display (no real screen needed)::

    xvfb-run -a -s "-screen 0 1600x1200x24" python docs/make_screenshots.py

It opens napari with the synthetic tissue sample, docks both napari-viv
widgets, exports the sample to a temporary folder, starts serving it, and
saves:

* ``export-widget.png``   the export widget after a finished export
* ``serve-widget.png``    the serve widget while serving that file
* ``napari-window.png``   the whole window with both widgets docked
* ``file-menu.png``       File ▸ IO Utilities with the two entries

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

EXPORT = "Save as OME-TIFF pyramid…"
SERVE = "Serve to Avivator"


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
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(pixmap, name):
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
    io_action = next(
        a for a in file_menu.actions() if a.text().replace("&", "") == "IO Utilities"
    )
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


def main() -> int:
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title="napari-viv")
    app = QApplication.instance()
    qt_window = viewer.window._qt_window
    qt_window.resize(1500, 1130)
    viewer.open_sample("napari-viv", "tissue")
    viewer.layers.select_all()
    settle(app, 1.0)

    _dock, export = viewer.window.add_plugin_dock_widget("napari-viv", EXPORT)
    export.path_edit.setText(str(TMP / "tissue.ome.tif"))
    export.tile_combo.setCurrentText("512")
    settle(app)
    export.export_button.click()
    wait_until(app, lambda: export.worker is None, timeout=600)
    if not export.exported:
        print("export failed:", export.status_label.text(), file=sys.stderr)
        return 1
    settle(app)

    export.serve_button.click()
    serve = next(
        w for w in viewer.window.dock_widgets.values() if type(w).__name__ == "ServeWidget"
    )
    serve.start_button.click()
    # read the start of the file the way Avivator does, so the counters move
    import urllib.request

    for first in (0, 65536):
        request = urllib.request.Request(
            serve.url_edit.text(), headers={"Range": f"bytes={first}-{first + 65535}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    settle(app, 1.5)  # let the status timer tick

    save(export.grab(), "export-widget.png")
    save(serve.grab(), "serve-widget.png")
    save(qt_window.grab(), "napari-window.png")
    try:
        save(grab_menu(app, viewer.window), "file-menu.png")
    except Exception as exc:  # the menu shot is a nice-to-have
        print(f"could not capture the File menu: {exc}", file=sys.stderr)

    serve.stop_button.click()
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
