"""The "Publish…" section of the Export to Viv panel: an exported file -> a link to share.

A thin front of :func:`napari_viv.publish.publish`: a destination (a folder or
``s3://bucket/prefix``), a few options, a worker thread with progress and
Cancel, then the link with Copy. Errors are a notification and a line in the
section, never a traceback dialog.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from magicgui.widgets import CheckBox, Container, LineEdit, ProgressBar, PushButton, SpinBox

from ..errors import Cancelled, NapariVivError
from ..text import one_line
from .widgets import row, wrapping

log = logging.getLogger(__name__)


def _relay():
    """Make a QObject whose signal carries byte progress from any thread to the GUI."""
    from qtpy.QtCore import QObject, Signal

    class Relay(QObject):
        progressed = Signal(float)

    return Relay()


def run_publish(image: Path, dest: str, options, relay, cancel_event):
    """Publish in a worker thread; never raises: ``("done", Publication)``, ``("cancelled"|"error", text)``."""
    from ..publish import publish

    def progress(done, total):
        relay.progressed.emit(done / total if total else 1.0)

    try:
        return "done", publish([image], dest, options, progress=progress, cancel=cancel_event.is_set)
    except Cancelled as exc:
        return "cancelled", str(exc)
    except NapariVivError as exc:
        return "error", one_line(exc)
    except Exception as exc:  # noqa: BLE001 - a bug: keep the UI alive, log the traceback
        log.exception("publishing %s to %s failed", image, dest)
        return "error", one_line(f"{dest}: publishing failed ({type(exc).__name__}: {exc})")


class PublishSection(Container):
    """Publish the exported file: destination, options, progress, Cancel, then the link and Copy."""

    def __init__(self, **kwargs) -> None:
        from magicgui.widgets import Label

        self.toggle = PushButton(text="Publish…", name="publish_toggle")
        self.dest = LineEdit(value="", name="publish_dest")
        self.dest.native.setPlaceholderText("s3://bucket/prefix or a folder")
        self.endpoint = LineEdit(value="", name="publish_endpoint")
        self.endpoint.native.setPlaceholderText("S3-compatible endpoint URL (optional)")
        self.presign = SpinBox(
            value=0,
            min=0,
            max=7 * 24 * 3600,
            step=3600,
            name="publish_presign",
            label="Private link valid for (s, 0 = public)",
        )
        self.overwrite = CheckBox(value=False, text="Replace an earlier publication", name="publish_overwrite")
        self.start_button = PushButton(text="Publish", name="publish_start")
        self.cancel_button = PushButton(text="Cancel", name="publish_cancel")
        self.progress = ProgressBar(min=0, max=1000, value=0, name="publish_progress")
        self.status = wrapping(Label(value="", name="publish_status"))
        self.link = LineEdit(value="", name="publish_link")
        self.copy_button = PushButton(text="Copy link", name="publish_copy")
        presign_label = wrapping(Label(value="Private link valid for (seconds; 0: anyone with the link)"))
        self.form = Container(
            widgets=[
                self.dest,
                self.endpoint,
                presign_label,
                self.presign,
                self.overwrite,
                row(self.start_button, self.cancel_button),
                self.progress,
                self.status,
                row(self.link, self.copy_button),
            ],
            labels=False,
        )
        super().__init__(widgets=[self.toggle, self.form], labels=False, **kwargs)
        self.margins = (0, 0, 0, 0)
        self.form.visible = False
        self.link.native.setReadOnly(True)
        self.toggle.tooltip = "Put the file, its view and our viewer on a web host or an object store"
        self.toggle.clicked.connect(self._on_toggle)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.copy_button.clicked.connect(self.copy_link)
        self._image: Path | None = None
        self._cancel = threading.Event()
        self.worker = None
        self.publication = None
        self._relay = _relay()
        self._relay.progressed.connect(lambda f: setattr(self.progress, "value", int(1000 * f)))
        self._update_enabled()

    def set_file(self, image: Path | None) -> None:
        """Publish this exported file from now on (None: nothing to publish)."""
        self._image = image
        self.link.value, self.status.value = "", ""
        self._update_enabled()

    def _on_toggle(self, *_args) -> None:
        self.form.visible = not self.form.visible

    def _update_enabled(self) -> None:
        busy = self.worker is not None
        self.start_button.enabled = not busy and self._image is not None
        self.cancel_button.enabled = busy
        self.copy_button.enabled = bool(self.link.value)

    def options(self):
        """Return the PublishOptions the fields say."""
        from ..publish import PublishOptions, StoreOptions

        return PublishOptions(
            overwrite=self.overwrite.value,
            presign=self.presign.value or None,
            store=StoreOptions(endpoint_url=self.endpoint.value.strip() or None),
        )

    def start(self, *_args) -> bool:
        """Start publishing in a worker thread; False when there is nothing to start."""
        from napari.qt.threading import create_worker

        dest = self.dest.value.strip()
        if self._image is None or self.worker is not None:
            return False
        if not dest:
            self._fail("Give a destination: a folder, or s3://bucket/prefix.")
            return False
        self._cancel.clear()
        self.progress.value = 0
        self.status.value = f"Publishing {self._image.name}…"
        worker = create_worker(
            run_publish, self._image, dest, self.options(), self._relay, self._cancel, _start_thread=False
        )
        worker.returned.connect(self._on_returned)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._update_enabled()
        worker.start()
        return True

    def cancel(self, *_args) -> None:
        """Ask the running publication to stop (no page is sent after that)."""
        self._cancel.set()
        self.cancel_button.enabled = False

    def copy_link(self, *_args) -> None:
        """Put the link on the clipboard."""
        from qtpy.QtWidgets import QApplication

        QApplication.clipboard().setText(self.link.value)

    def _on_returned(self, result) -> None:
        from napari.utils.notifications import show_info

        status, value = result
        if status == "done":
            self.publication = value
            self.progress.value = 1000
            self.link.value = value.page or value.images[0].page or ""
            problems = [f.message for f in value.findings if f.level == "error"]
            self.status.value = "Published. " + (problems[0] if problems else "Send this link:")
            show_info(f"Published {self._image.name if self._image else ''}: {self.link.value}")
        elif status == "cancelled":
            self.progress.value = 0
            self.status.value = value
        else:
            self.progress.value = 0
            self._fail(value)

    def _on_finished(self) -> None:
        self.worker = None
        self._update_enabled()

    def _fail(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.value = message
        show_error(message)
