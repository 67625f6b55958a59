"""Viewing an exported file in a browser, from inside napari.

:class:`ViewingSection` is the "Viewing" part of the *Export to Viv* panel:
it serves one ``.ome.tif`` (with its ``offsets.json`` and ``view.json``) on
127.0.0.1 with :class:`napari_viv.serve.server.RangeServer` and offers

* **Open in viewer**: our Viv viewer, served by the same server;
* **Open in Avivator**: the public Avivator page reading the same file;
* **Copy link** (our viewer's link) and **Stop serving**;

with the server's state and its request and byte counters. The server
starts on the first of those clicks and stops with Stop serving, when the
widget is destroyed, or when Qt quits.

:class:`ServeFile` is the small *View a file in a browser* dock widget: a
file picker plus the same section, for files exported earlier or by the
command line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from magicgui.widgets import Container, FileEdit, Label, PushButton

from ..errors import NapariVivError
from ..text import human_bytes
from . import settings
from .widgets import OME_TIFF_FILTER, FolderLabel, heading, notify_error, notify_info, row, selectable, wrapping

log = logging.getLogger(__name__)

#: How often the request/byte counters are refreshed, in milliseconds.
STATUS_INTERVAL_MS = 500
NOT_SERVING = "Not serving."


class _ServerGuard:
    """Holds the running server so it can be stopped without the widget.

    Qt's ``destroyed`` signal fires after the widget's Python attributes
    may be gone, so the stop logic lives in this small object instead.
    """

    def __init__(self) -> None:
        self.server = None

    def stop(self, *_args) -> None:
        server, self.server = self.server, None
        if server is not None:
            try:
                server.stop()
            except Exception:  # stopping must never raise into Qt
                log.warning("could not stop the server cleanly", exc_info=True)


class ViewingSection(Container):
    """Serve one file and open it in our viewer or in Avivator."""

    def __init__(self, **kwargs) -> None:
        self.state = wrapping(Label(value=NOT_SERVING, name="state"))
        self.open_viewer_button = PushButton(text="Open in viewer", name="open_viewer")
        self.avivator_button = PushButton(text="Open in Avivator", name="open_avivator")
        self.copy_button = PushButton(text="Copy link", name="copy_link")
        self.stop_button = PushButton(text="Stop serving", name="stop_serving")
        self.ssh = selectable(wrapping(Label(value="", name="ssh")))
        self.ssh.visible = False
        super().__init__(
            widgets=[
                self.state,
                self.open_viewer_button,
                self.avivator_button,
                row(self.copy_button, self.stop_button),
                self.ssh,
            ],
            labels=False,
            **kwargs,
        )
        self.margins = (0, 0, 0, 0)
        self.open_viewer_button.tooltip = "Our Viv viewer, served with the file (works offline)"
        self.avivator_button.tooltip = _avivator_tooltip()
        self.copy_button.tooltip = "Copy the link to our viewer"
        self.open_viewer_button.clicked.connect(self.open_viewer)
        self.avivator_button.clicked.connect(self.open_avivator)
        self.copy_button.clicked.connect(self.copy_link)
        self.stop_button.clicked.connect(self.stop)

        self._guard = _ServerGuard()
        self._path: Path | None = None
        from qtpy.QtCore import QTimer
        from qtpy.QtWidgets import QApplication

        self._timer = QTimer(self.native)
        self._timer.setInterval(STATUS_INTERVAL_MS)
        self._timer.timeout.connect(self.refresh)
        self.native.destroyed.connect(self._guard.stop)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._guard.stop)
        self._update_enabled()

    # -- public API -------------------------------------------------------
    @property
    def server(self):
        """The running RangeServer, or None."""
        return self._guard.server

    @property
    def path(self) -> Path | None:
        """The file to serve."""
        return self._path

    @property
    def viewer_link(self) -> str:
        """The link to our viewer on the running server, else ''."""
        return self.server.viewer_url_for(self._path) if self.server else ""

    @property
    def avivator_link(self) -> str:
        """The Avivator link to the served file, else ''."""
        from ..serve.links import avivator_link

        return avivator_link(self.server.url_for(self._path)) if self.server else ""

    def set_file(self, path) -> None:
        """Offer ``path`` for viewing; stops a server for another file."""
        path = None if path is None else Path(path)
        if self.server is not None and path != self._path:
            self.stop()
        self._path = path
        self._update_enabled()

    def start(self) -> bool:
        """Serve the file (if not yet); False and a notification on error."""
        from ..serve.server import RangeServer

        if self.server is not None:
            return True
        path = self._path
        if path is None:
            notify_error("View in a browser: choose an exported .ome.tif first")
            return False
        try:
            if not path.exists():  # a file, or an OME-Zarr store (a folder)
                raise NapariVivError("no such file", subject=path)
            server = RangeServer([path])
            server.start()
        except NapariVivError as exc:
            notify_error(str(exc))
            return False
        self._guard.server = server
        from ..serve.links import ssh_hint

        hint = ssh_hint(server.port, "/" + path.name)
        self.ssh.value = _ssh_text(hint) if hint is not None else ""
        self.ssh.visible = hint is not None
        self._timer.start()
        self.refresh()
        self._update_enabled()
        return True

    def stop(self, *_args) -> None:
        """Stop serving and free the port."""
        self._timer.stop()
        self._guard.stop()
        self.ssh.visible = False
        self.state.value = NOT_SERVING
        self._update_enabled()

    def refresh(self) -> None:
        """Show the server's state and its request/byte counters."""
        server = self.server
        if server is None:
            self.state.value = NOT_SERVING
            return
        requests, sent = server.stats
        self.state.value = (
            f"Serving {self._path.name} on 127.0.0.1:{server.port}\n{requests} requests · {human_bytes(sent)} sent"
        )

    def open_viewer(self, *_args) -> None:
        """Open the file in our viewer (serving it first if needed)."""
        if self.start():
            _open_browser(self.viewer_link)

    def open_avivator(self, *_args) -> None:
        """Open the file in Avivator (serving it first if needed)."""
        if self.start():
            _open_browser(self.avivator_link)

    def copy_link(self, *_args) -> None:
        """Put our viewer's link on the clipboard (serving first if needed)."""
        from qtpy.QtWidgets import QApplication

        if self.start():
            QApplication.clipboard().setText(self.viewer_link)
            self.state.value = self.state.value + " · link copied"

    # -- internals --------------------------------------------------------
    def _update_enabled(self) -> None:
        has_file = self._path is not None
        for button in (self.open_viewer_button, self.avivator_button, self.copy_button):
            button.enabled = has_file
        self.stop_button.enabled = self.server is not None


def _ssh_text(hint) -> str:
    """Tell the forwarding command and the viewer link to open on the laptop."""
    return f"napari runs over SSH. On your laptop, run:\n  {hint.command}\nthen open:\n  {hint.viewer}"


def _avivator_tooltip() -> str:
    from ..serve.links import browser_caveats

    return "The public Avivator site (needs internet).\n" + "\n".join(browser_caveats())


def _open_browser(link: str) -> None:
    from ..serve.links import open_browser

    if not open_browser(link):
        notify_info(f"Could not open a browser; open this link in one: {link}")


class ServeFile(Container):
    """*View a file in a browser*: serve an existing ``.ome.tif``."""

    def __init__(self, napari_viewer=None) -> None:
        self.viewer = napari_viewer
        last = settings.last_export()
        self.file = FileEdit(mode="r", filter=OME_TIFF_FILTER, label="File", name="file")
        if last is not None:
            self.file.value = last
        self.folder_label = FolderLabel(name="file_folder")
        self.viewing = ViewingSection(name="viewing")
        super().__init__(
            widgets=[heading("Exported OME-TIFF"), self.file, self.folder_label, heading("Viewing"), self.viewing],
            labels=False,
        )
        self.file.changed.connect(self._on_file)
        self._on_file()

    def set_file(self, path) -> None:
        """Put ``path`` in the file box."""
        self.file.value = Path(path)

    def _on_file(self, *_args) -> None:
        value = self.file.value
        text = str(value) if value is not None else ""
        path = Path(value) if text not in ("", ".") else None
        self.folder_label.set_path(path)
        self.viewing.set_file(path)
