"""The *Output file* part of the *Export to Viv* panel.

A save-file picker, the folder it points into (elided in the middle, so
the folder stays visible in a narrow dock; the full path is the tooltip),
and *Replace an existing file*. Until the user picks a path, one is
proposed: the folder and name of the file the layers were read from, else
the last folder used (or napari's save history) with the layer's name.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import CheckBox, Container, FileEdit

from .. import naming
from .export_layers import source_path
from .widgets import OME_TIFF_FILTER, FolderLabel


class OutputSection(Container):
    """Where the export goes.

    Parameters
    ----------
    folder : str or None
        The folder used last (from the settings), proposed for layers that
        were not read from a file.
    """

    def __init__(self, folder: str | None) -> None:
        self.output = FileEdit(mode="w", filter=OME_TIFF_FILTER, name="output")
        self.output.native.setToolTip("The .ome.tif to write; offsets.json and view.json go beside it")
        self.folder_label = FolderLabel(name="output_folder")
        self.replace = CheckBox(text="Replace an existing file", value=False, name="replace")
        super().__init__(widgets=[self.output, self.folder_label, self.replace], labels=False, name="output_section")
        self.margins = (0, 0, 0, 0)
        self.folder = folder
        self._proposed: Path | None = None  # the output path we filled in
        self.output.changed.connect(self._show)

    def path(self) -> Path | None:
        """Return the output path as it will be written (``.ome.tif`` added)."""
        value = self.output.value
        text = str(value).strip() if value is not None else ""
        if text in ("", "."):
            return None
        return naming.output_path(Path(text).expanduser())

    def set_path(self, path: Path) -> None:
        """Put ``path`` in the field (not a user choice: no change event)."""
        with self.output.changed.blocked():
            self.output.value = path
        self._show()

    def propose(self, layers) -> None:
        """Fill in an output path for ``layers`` unless the user chose one."""
        current = self.path()
        if layers and (current is None or current == self._proposed):
            path = self._default(layers)
            self._proposed = path
            self.set_path(path)

    def _default(self, layers) -> Path:
        """Propose the source's folder and name when read from a file, else the last folder."""
        source = source_path(layers[0])
        if source is not None:
            return naming.free_output_path(source.parent, naming.file_stem_for(naming.stem(source)))
        folder = Path(self.folder) if self.folder and Path(self.folder).is_dir() else None
        if folder is None:
            from napari.utils.history import get_save_history

            folder = Path(get_save_history()[0])
        return naming.free_output_path(folder, naming.file_stem_for(_stem_for(layers)))

    def _show(self, *_args) -> None:
        """Show the folder of the current path under the field (which shows the name's end)."""
        path = self.path()
        self.folder_label.set_path(path)
        if path is not None:
            self.output.tooltip = str(path)


def _stem_for(layers) -> str:
    """Name layers not read from a file: one layer's name, a shared image name, else "image"."""
    if len(layers) == 1:
        return layers[0].name
    md = layers[0].metadata if isinstance(layers[0].metadata, dict) else {}
    shared = {(lay.metadata or {}).get("name") if isinstance(lay.metadata, dict) else None for lay in layers}
    if len(shared) == 1 and md.get("name"):
        return md["name"]
    return "image"
