"""The "Serve to Avivator" dock widget.

Serves one exported ``.ome.tif`` (and its ``offsets.json``) on 127.0.0.1
with :class:`napari_viv.serve.server.RangeServer`, shows the link, live request
and byte counts, and opens Avivator or copies the link. The server stops
with the Stop button, when the widget is destroyed, or when Qt quits.
"""

from __future__ import annotations

import logging
import webbrowser
from pathlib import Path

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QApplication,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import NapariVivError
from . import settings
from ..text import human_bytes

log = logging.getLogger(__name__)

#: How often the request/byte counters are refreshed, in milliseconds.
STATUS_INTERVAL_MS = 500


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)


def _browser_caveats() -> str:
    from ..serve.links import browser_caveats

    return "\n".join(f"• {line}" for line in browser_caveats())


def _ssh_text(port: int, url_path: str) -> str:
    """How to reach this server from a laptop when napari runs remotely."""
    from ..serve.links import ssh_hint

    hint = ssh_hint(port, url_path)
    if hint is not None:
        return hint.text()
    return (
        "napari on a remote machine? On your laptop, run\n"
        f"    ssh -L {port}:localhost:{port} user@that-machine\n"
        "then open the same link there."
    )


class _ServerGuard:
    """Holds the running server so it can be stopped without the widget.

    The widget's ``destroyed`` signal fires after its Python attributes may
    be gone, so the stop logic lives in this small object instead.
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


class ServeWidget(QWidget):
    """Serve an exported OME-TIFF to Avivator from inside napari."""

    def __init__(self, napari_viewer=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self._guard = _ServerGuard()
        self._link = ""

        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("an exported .ome.tif")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)

        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("any free port")
        self.port_spin.setToolTip("0 picks a free port")

        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)

        self.url_edit = QLineEdit()
        self.url_edit.setReadOnly(True)
        self.url_edit.setPlaceholderText("not serving")

        self.status_label = QLabel("Stopped.")
        self.status_label.setWordWrap(True)

        self.open_button = QPushButton("Open in Avivator")
        self.copy_button = QPushButton("Copy link")
        self.open_button.clicked.connect(self.open_in_avivator)
        self.copy_button.clicked.connect(self.copy_link)
        link_row = QHBoxLayout()
        link_row.addWidget(self.open_button)
        link_row.addWidget(self.copy_button)

        self.ssh_label = QLabel()
        self.ssh_label.setWordWrap(True)
        self.ssh_label.setVisible(False)
        self.hint_label = QLabel(_browser_caveats())
        self.hint_label.setWordWrap(True)
        for label in (self.ssh_label, self.hint_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("File", file_row)
        form.addRow("Port", self.port_spin)
        form.addRow("", buttons)
        form.addRow("File URL", self.url_edit)
        form.addRow("Status", self.status_label)
        form.addRow("", link_row)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.ssh_label)
        layout.addWidget(self.hint_label)
        layout.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_INTERVAL_MS)
        self._timer.timeout.connect(self.refresh_status)

        # Stop serving when this widget goes away or the application quits.
        self.destroyed.connect(self._guard.stop)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._guard.stop)

        last = settings.last_export()
        if last is not None:
            self.file_edit.setText(str(last))
        self._update_enabled()

    # -- public API -------------------------------------------------------
    @property
    def server(self):
        """The running RangeServer, or None."""
        return self._guard.server

    @property
    def link(self) -> str:
        """The Avivator link while serving, else an empty string."""
        return self._link

    def set_file(self, path) -> None:
        """Put ``path`` in the file box (stops a server for another file)."""
        if self.server is not None and Path(path) != self._served_path:
            self.stop()
        self.file_edit.setText(str(path))

    def start(self) -> bool:
        """Start serving the chosen file; False (and a notification) on error."""
        from ..serve.links import avivator_link
        from ..serve.server import RangeServer

        if self.server is not None:
            self.stop()
        text = self.file_edit.text().strip()
        if not text:
            _notify_error("Serve to Avivator: choose an exported .ome.tif first")
            return False
        path = Path(text).expanduser()
        try:
            if not path.is_file():
                raise NapariVivError(f"{path}: no such file")
            # the server also serves the offsets.json beside the file
            server = RangeServer([path], port=self.port_spin.value())
            server.start()
        except NapariVivError as exc:
            _notify_error(str(exc))
            return False
        self._guard.server = server
        self._served_path = path
        file_url = server.url_for(path)
        self._link = avivator_link(file_url)
        self.open_button.setToolTip(self._link)
        self.copy_button.setToolTip(self._link)
        self.url_edit.setText(file_url)
        self.url_edit.setCursorPosition(0)
        self.ssh_label.setText(_ssh_text(server.port, "/" + path.name))
        self.ssh_label.setVisible(True)
        self._timer.start()
        self.refresh_status()
        self._update_enabled()
        return True

    def stop(self) -> None:
        """Stop the server (if any) and free its port."""
        self._timer.stop()
        self._guard.stop()
        self._link = ""
        self.url_edit.clear()
        self.ssh_label.setVisible(False)
        self.status_label.setText("Stopped.")
        self._update_enabled()

    def refresh_status(self) -> None:
        """Show the live request and byte counters."""
        server = self.server
        if server is None:
            return
        requests, sent = server.stats
        self.status_label.setText(
            f"Serving on 127.0.0.1:{server.port} · {requests} requests · "
            f"{human_bytes(sent)} sent"
        )

    def open_in_avivator(self) -> None:
        """Open the Avivator link in the default web browser."""
        if self._link:
            webbrowser.open(self._link)

    def copy_link(self) -> None:
        """Put the Avivator link on the clipboard."""
        if self._link:
            QApplication.clipboard().setText(self._link)
            self.status_label.setText(self.status_label.text() + " · link copied")

    # -- internals --------------------------------------------------------
    _served_path: Path | None = None

    def _update_enabled(self) -> None:
        serving = self.server is not None
        self.start_button.setEnabled(not serving)
        self.stop_button.setEnabled(serving)
        self.open_button.setEnabled(serving)
        self.copy_button.setEnabled(serving)
        self.port_spin.setEnabled(not serving)

    def _browse(self) -> None:
        start = self.file_edit.text() or settings.load_settings().folder
        name, _ = QFileDialog.getOpenFileName(
            self, "Serve to Avivator", start, "OME-TIFF (*.ome.tif *.ome.tiff)"
        )
        if name:
            self.set_file(name)

    def closeEvent(self, event):  # noqa: N802 (Qt name)
        self.stop()
        super().closeEvent(event)
