"""Open napari for `napari-viv demo --napari`: the sample plus both widgets."""

from __future__ import annotations

import napari

PLUGIN = "napari-viv"
SAMPLE = "tissue"
EXPORT_WIDGET = "Save as OME-TIFF pyramid…"
SERVE_WIDGET = "Serve to Avivator"


def make_demo_viewer(size: int | None = None, channels: int | None = None):
    """A viewer with the synthetic tissue loaded and both widgets docked."""
    viewer = napari.Viewer(title="napari-viv demo")
    kwargs = {k: v for k, v in (("size", size), ("channels", channels)) if v is not None}
    viewer.open_sample(PLUGIN, SAMPLE, **kwargs)
    viewer.window.add_plugin_dock_widget(PLUGIN, EXPORT_WIDGET)
    viewer.window.add_plugin_dock_widget(PLUGIN, SERVE_WIDGET)
    return viewer


def launch_demo(size: int | None = None, channels: int | None = None) -> None:
    """Build the demo viewer and run napari's event loop until it is closed."""
    make_demo_viewer(size, channels)
    napari.run()
