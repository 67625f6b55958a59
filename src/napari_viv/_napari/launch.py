"""Open napari for `napari-viv demo --napari`: the sample and the *Export to Viv* panel.

The sample is shown fitted to the canvas next to the docked panel. Ctrl-C
in the terminal and SIGTERM close the window, so the command ends with
code 0 like the plain `napari-viv demo`.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager

import napari

from .manifest import PLUGIN, SAMPLE_KEY, export_title

#: Printed (to stderr) once the window is up.
READY = "napari is open with the sample; close the window or press Ctrl-C here to stop"
#: How often Python gets a chance to run signal handlers while Qt waits, in ms.
SIGNAL_POLL_MS = 200


def make_demo_viewer(size: int | None = None, channels: int | None = None, *, show=True):
    """Open a viewer with the synthetic tissue loaded and the export panel docked.

    Returns ``(viewer, panel)``.
    """
    viewer = napari.Viewer(title="napari-viv demo", show=show)
    kwargs = {k: v for k, v in (("size", size), ("channels", channels)) if v is not None}
    viewer.open_sample(PLUGIN, SAMPLE_KEY, **kwargs)
    _dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    fit_to_canvas(viewer)
    return viewer, panel


def fit_to_canvas(viewer) -> None:
    """Fit the layers to the canvas once Qt has laid out the docked panel."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    viewer.reset_view()
    # the dock may take its final width only after the window is shown
    QTimer.singleShot(0, viewer.reset_view)


@contextmanager
def close_on_signals(viewer, signals=(signal.SIGINT, signal.SIGTERM)):
    """Close ``viewer`` (ending napari's event loop) on Ctrl-C or SIGTERM.

    Qt's event loop does not return to Python on its own, so a timer wakes
    it every :data:`SIGNAL_POLL_MS` to let Python run the handler.
    """
    from qtpy.QtCore import QTimer

    received: list[int] = []

    def handler(signum, _frame):
        received.append(signum)
        QTimer.singleShot(0, viewer.close)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(SIGNAL_POLL_MS)
    try:
        yield received
    finally:
        timer.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)


def launch_demo(size: int | None = None, channels: int | None = None) -> None:
    """Build the demo viewer and run napari's event loop until it is closed."""
    viewer, _panel = make_demo_viewer(size, channels)
    with close_on_signals(viewer):
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, lambda: print(READY, file=sys.stderr, flush=True))
        napari.run()
