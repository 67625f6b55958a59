"""The plugin's own names, read from ``napari.yaml`` (their one home).

napari docks a widget by its manifest ``display_name``; the demo, the
export panel, the screenshots script and the tests ask this module for it
instead of spelling the title again.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PLUGIN = "napari-viv"
EXPORT_COMMAND = f"{PLUGIN}.export_widget"
SERVE_COMMAND = f"{PLUGIN}.serve_widget"
SAMPLE_KEY = "tissue"


@cache
def _manifest():
    from npe2 import PluginManifest

    return PluginManifest.from_file(Path(__file__).resolve().parents[1] / "napari.yaml")


def widget_title(command: str) -> str:
    """Return the dock-widget title napari shows for the widget ``command``."""
    for widget in _manifest().contributions.widgets or ():
        if widget.command == command:
            return widget.display_name
    raise KeyError(command)


def export_title() -> str:
    """Return the export panel's title, "Export to Viv" (as written in the manifest)."""
    return widget_title(EXPORT_COMMAND)


def serve_title() -> str:
    """Return the title of the small serve-a-file widget."""
    return widget_title(SERVE_COMMAND)
