"""`napari-viv demo --napari`, and the panel's room in a real window.

The demo runs as a real subprocess on the test's X display (pytest-xvfb's
Xvfb) and is stopped with SIGINT (Ctrl-C) and SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.napari

WINDOW_SIZES = [(1280, 800), (1920, 1080)]


def settle(qtbot, ms=300):
    qtbot.wait(ms)


def test_demo_viewer_has_the_sample_fitted_and_the_panel(qtbot):
    from napari_viv._napari.export_widget import ExportToViv
    from napari_viv._napari.launch import make_demo_viewer
    from napari_viv._napari.manifest import export_title

    viewer, panel = make_demo_viewer(size=256, channels=3)
    try:
        assert len(viewer.layers) == 3 and all(layer.visible for layer in viewer.layers)
        assert isinstance(panel, ExportToViv)
        assert any(export_title() in name for name in viewer.window.dock_widgets)
        assert panel.ticked_names() == [layer.name for layer in viewer.layers]
        settle(qtbot)
        # fitted: the whole image is on the canvas and fills most of it
        canvas = viewer.window._qt_viewer.canvas.native
        layer = viewer.layers[0]
        extent = layer.extent.world[1] - layer.extent.world[0]  # (Y, X) in world units
        shown = extent[-2:] * viewer.scene.camera.zoom
        assert shown[0] <= canvas.height() + 1 and shown[1] <= canvas.width() + 1
        assert max(shown[0] / canvas.height(), shown[1] / canvas.width()) > 0.8
    finally:
        viewer.close()


@pytest.mark.parametrize("size", WINDOW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_canvas_keeps_half_the_window_with_the_panel_docked(make_napari_viewer, qtbot, tmp_path, size):
    from qtpy.QtWidgets import QPushButton

    from napari_viv._napari.manifest import PLUGIN, export_title

    viewer = make_napari_viewer(show=True)
    viewer.open_sample(PLUGIN, "tissue", size=256, channels=6)
    _dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    window = viewer.window._qt_window
    window.resize(*size)
    settle(qtbot)
    # the panel at its tallest: options open, after an export (Viewing shown)
    panel.options_toggle.value = True
    panel.output.value = tmp_path / "tissue.ome.tif"
    panel.export_button.native.click()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
    assert panel.viewing.native.isVisibleTo(panel.native)
    settle(qtbot)

    assert (window.width(), window.height()) == size  # the panel did not stretch it
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.isVisible()
    assert canvas.width() >= size[0] / 2, (canvas.width(), size)
    # nothing cut off at the side: the content fits the dock's width ...
    scroll = panel.native
    assert scroll.widget().width() <= scroll.viewport().width()
    # ... and every visible button shows its whole label
    for button in scroll.widget().findChildren(QPushButton):
        if button.isVisible() and button.text():
            needed = button.fontMetrics().horizontalAdvance(button.text())
            assert button.width() >= needed, (button.text(), button.width(), needed)


# -- the demo as a real process -------------------------------------------------


def _start_demo(tmp_path):
    from napari_viv._napari.launch import READY

    env = dict(os.environ)
    env["NAPARI_CONFIG"] = str(tmp_path / "napari-settings.yaml")
    env["NAPARI_VIV_SETTINGS"] = str(tmp_path / "napari-viv.json")
    env.pop("QT_QPA_PLATFORM", None)  # a real X display (pytest-xvfb's)
    assert env.get("DISPLAY"), "pytest-xvfb gives the tests an X display"
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_viv", "demo", "--napari", "--size", "256", "--channels", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if READY in line:
            return proc, lines
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"the demo never said it was ready: {lines} {out} {err}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_napari_stops_with_code_0(tmp_path, sig):
    proc, _lines = _start_demo(tmp_path)
    time.sleep(0.5)  # the event loop is running
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the demo did not stop on {sig.name}") from None
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
