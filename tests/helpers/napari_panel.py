"""The export panel as the napari tests drive it (no fixtures here)."""

from __future__ import annotations

import threading
import time

import numpy as np


def make_panel(viewer):
    """Dock the panel the way the File menu does (napari builds it)."""
    from napari_viv._napari.manifest import PLUGIN, export_title

    _dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    return panel


def click(qtbot, button):
    """Click a magicgui button with the left mouse button."""
    from qtpy.QtCore import Qt

    qtbot.mouseClick(button.native, Qt.MouseButton.LeftButton)


def wait_done(qtbot, panel, timeout=60_000):
    """Wait until the panel's export worker has finished."""
    qtbot.waitUntil(lambda: panel.worker is None, timeout=timeout)


def slow_layer_data(shape=(4096, 4096), chunk=256, delay=0.02):
    """A lazy image whose chunks are slow to compute off the GUI thread."""
    import dask.array as da

    def fill(block, block_info=None):
        if threading.current_thread() is not threading.main_thread():
            time.sleep(delay)
        return np.full(block.shape, 3, np.uint16)

    base = da.zeros(shape, dtype=np.uint16, chunks=chunk)
    return base.map_blocks(fill, dtype=np.uint16)


def slow_export_panel(viewer, out, tile_size=256):
    """Dock the panel over a slow lazy image, ready to export it to ``out``."""
    viewer.add_image(slow_layer_data(), name="slow", contrast_limits=(0, 10))
    panel = make_panel(viewer)
    if tile_size is not None:
        panel.tile_size.value = tile_size
    panel.output.value = out
    return panel


def cancel_at_first_progress(qtbot, panel):
    """Click the panel's Cancel as soon as its progress bar moves."""

    def cancel(value):
        if value > 0 and panel.cancel_button.enabled:
            click(qtbot, panel.cancel_button)

    panel.progress.changed.connect(cancel)
