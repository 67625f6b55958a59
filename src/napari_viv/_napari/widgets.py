"""Small magicgui building blocks shared by the napari-viv panels.

The *Export to Viv* panel and the *View a file in a browser* widget lay
out their controls with these, so both look alike: rows without margins,
labels that wrap instead of widening the dock, bold headings, labelled
fields of one label width, and a folder shown elided in the middle.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import Container, Label

from .. import naming

#: Width of the labels in front of the options, in pixels.
LABEL_WIDTH = 104
#: The file-dialog filter for the OME-TIFF a panel writes or serves.
OME_TIFF_FILTER = "OME-TIFF ({})".format(" ".join(f"*{s}" for s in naming.OME_TIFF_SUFFIXES))
#: The file-dialog filter for an OME-Zarr store a panel writes.
OME_ZARR_FILTER = "OME-Zarr ({})".format(" ".join(f"*{s}" for s in naming.ZARR_SUFFIXES))


def row(*widgets) -> Container:
    """Lay ``widgets`` side by side, without margins.

    Parameters
    ----------
    *widgets
        magicgui widgets, left to right.

    Returns
    -------
    Container
        A horizontal container without labels.
    """
    box = Container(widgets=list(widgets), layout="horizontal", labels=False)
    box.margins = (0, 0, 0, 0)
    return box


def wrapping(label: Label) -> Label:
    """Let ``label`` wrap its text instead of widening the dock.

    Parameters
    ----------
    label : Label
        The label to change (in place).

    Returns
    -------
    Label
        ``label`` itself.
    """
    from qtpy.QtWidgets import QSizePolicy

    label.native.setWordWrap(True)
    # magicgui labels are Fixed (their one-line width): let them narrow
    label.native.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    return label


def field(text: str, widget) -> Container:
    """Put ``text`` in front of ``widget``; every field's label is as wide.

    Parameters
    ----------
    text : str
        The label.
    widget
        The magicgui widget it names (it becomes the label's buddy).

    Returns
    -------
    Container
        The row holding both; the widget takes the remaining width.
    """
    label = Label(value=text)
    label.native.setFixedWidth(LABEL_WIDTH)
    label.native.setBuddy(widget.native)
    box = row(label, widget)
    box.native.layout().setStretch(1, 1)
    return box


def heading(text: str) -> Label:
    """Make a bold section heading.

    Parameters
    ----------
    text : str
        The heading's words.

    Returns
    -------
    Label
        A label showing ``text`` in bold.
    """
    return Label(value=f"<b>{text}</b>")


def selectable(label: Label) -> Label:
    """Let the user select (and copy) ``label``'s text with the mouse.

    Parameters
    ----------
    label : Label
        The label to change (in place).

    Returns
    -------
    Label
        ``label`` itself.
    """
    from qtpy.QtCore import Qt

    label.native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def notify_error(message: str) -> None:
    """Show ``message`` as a napari error notification (never a traceback dialog).

    Parameters
    ----------
    message : str
        One line naming the thing and the problem.
    """
    from napari.utils.notifications import show_error

    show_error(message)


def notify_info(message: str) -> None:
    """Show ``message`` as a napari information notification.

    Parameters
    ----------
    message : str
        One line for the user.
    """
    from napari.utils.notifications import show_info

    show_info(message)


class FolderLabel(Label):
    """A one-line label showing a file's folder, elided in the middle.

    The beginning and the end of the folder stay readable however narrow
    the dock is; the full path is the tooltip. The text is elided again
    whenever the label is resized.
    """

    def __init__(self, prefix: str = "in ", **kwargs) -> None:
        super().__init__(value="", **kwargs)
        from qtpy.QtWidgets import QSizePolicy

        self._prefix = prefix
        self._path: Path | None = None
        # narrower than its text: the text is elided to whatever width it gets
        self.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.native.setMinimumWidth(40)
        self._filter = _on_resize(self.native, self._elide)

    @property
    def path(self) -> Path | None:
        """The file whose folder is shown, or None."""
        return self._path

    def set_path(self, path: Path | None) -> None:
        """Show the folder of ``path`` (nothing for None).

        Parameters
        ----------
        path : Path or None
            The file.
        """
        self._path = None if path is None else Path(path)
        self.tooltip = str(self._path) if self._path is not None else ""
        self._elide()

    def _elide(self) -> None:
        from qtpy.QtCore import Qt

        if self._path is None:
            self.native.setText("")
            return
        metrics = self.native.fontMetrics()
        prefix = self._prefix
        room = max(self.native.width() - metrics.horizontalAdvance(prefix) - 4, 20)
        folder = metrics.elidedText(str(self._path.parent), Qt.TextElideMode.ElideMiddle, room)
        self.native.setText(prefix + folder)


def _on_resize(widget, callback):
    """Call ``callback()`` after every resize of the Qt ``widget``; keep the result alive."""
    from qtpy.QtCore import QEvent, QObject

    class ResizeFilter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Resize:
                callback()
            return False

    watcher = ResizeFilter(widget)
    widget.installEventFilter(watcher)
    return watcher
