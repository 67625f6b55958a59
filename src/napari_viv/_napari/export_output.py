"""The *Output file* part of the *Export to Viv* panel.

A format choice (OME-TIFF, OME-Zarr NGFF 0.4 or 0.5), a save-file picker,
the folder it points into (elided in the middle, so the folder stays visible
in a narrow dock; the full path is the tooltip), and *Replace an existing
file*. Until the user picks a path, one is proposed: the folder and name of
the file the layers were read from, else the last folder used (or napari's
save history) with the layer's name.

The format and the name's suffix always agree, by the one rule of
:func:`napari_viv.naming.with_format`: choosing a format gives the name that
format's suffix (``x.ome.tif`` <-> ``x.ome.zarr``), and typing a name whose
suffix names the other format (``x.ome.zarr``, ``x.tif``) chooses that format.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label

from .. import naming
from .export_layers import source_path
from .widgets import OME_TIFF_FILTER, OME_ZARR_FILTER, FolderLabel, row

#: The format choices: key -> (shown text, export format, NGFF version or None).
FORMAT_CHOICES = {
    "ome-tiff": ("OME-TIFF", "ome-tiff", None),
    "ngff-0.4": ("OME-Zarr 0.4", "ome-zarr", "0.4"),
    "ngff-0.5": ("OME-Zarr 0.5", "ome-zarr", "0.5"),
}
_TIPS = {
    "ome-tiff": "The .ome.tif to write; offsets.json and view.json go beside it",
    "ome-zarr": "The .ome.zarr store (a folder) to write; view.json goes beside it",
}


class OutputSection(Container):
    """Where the export goes, and in which format.

    Parameters
    ----------
    folder : str or None
        The folder used last (from the settings), proposed for layers that
        were not read from a file.
    format_key : str, default "ome-tiff"
        The format chosen last (a key of :data:`FORMAT_CHOICES`).
    """

    def __init__(self, folder: str | None, format_key: str = "ome-tiff") -> None:
        key = format_key if format_key in FORMAT_CHOICES else "ome-tiff"
        choices = [(text, k) for k, (text, _fmt, _ngff) in FORMAT_CHOICES.items()]
        self.format = ComboBox(choices=choices, value=key, label="Format", name="format")
        # as wide as the dock allows, never wider (the canvas keeps half the window)
        box = self.format.native
        box.setSizeAdjustPolicy(box.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(4)
        self.format.tooltip = (
            "OME-TIFF: one file, for sharing and desktop software. OME-Zarr: a folder of chunks, "
            "for object storage, in NGFF 0.4 (Zarr v2: what most tools read) or 0.5 (Zarr v3: tiles in shards)"
        )
        self.output = FileEdit(mode="w", filter=OME_TIFF_FILTER, name="output")
        self.folder_label = FolderLabel(name="output_folder")
        self.replace = CheckBox(text="Replace an existing file", value=False, name="replace")
        widgets = [_format_row(self.format), self.output, self.folder_label, self.replace]
        super().__init__(widgets=widgets, labels=False, name="output_section")
        self.margins = (0, 0, 0, 0)
        self.folder = folder
        self._proposed: Path | None = None  # the output path we filled in
        self._layers: list = []  # the layers it was proposed for
        self._show_format()
        self.output.changed.connect(self._on_output)
        self.format.changed.connect(self._on_format)

    def export_format(self) -> tuple[str, str]:
        """Return the chosen format and NGFF version: ``("ome-tiff", "0.4")`` or ``("ome-zarr", "0.5")``...

        The NGFF version matters only for OME-Zarr.
        """
        _text, fmt, ngff = FORMAT_CHOICES[self.format.value]
        return fmt, ngff or "0.4"

    def path(self) -> Path | None:
        """Return the output path as it will be written (with the chosen format's suffix)."""
        typed = self._typed()
        return None if typed is None else naming.with_format(typed, self.export_format()[0])

    def _typed(self) -> Path | None:
        value = self.output.value
        text = str(value).strip() if value is not None else ""
        return None if text in ("", ".") else Path(text).expanduser()

    def set_path(self, path: Path) -> None:
        """Put ``path`` in the field (not a user choice: no change event)."""
        with self.output.changed.blocked():
            self.output.value = path
        self._show()

    def propose(self, layers) -> None:
        """Fill in an output path for ``layers`` unless the user chose one."""
        self._layers = list(layers)
        current = self.path()
        if layers and (current is None or current == self._proposed):
            path = self._default(layers)
            self._proposed = path
            self.set_path(path)

    def _default(self, layers) -> Path:
        """Propose the source's folder and name when read from a file, else the last folder."""
        suffix = naming.format_suffix(self.export_format()[0])
        source = source_path(layers[0])
        if source is not None:
            return naming.free_output_path(source.parent, naming.file_stem_for(naming.stem(source)), suffix)
        folder = Path(self.folder) if self.folder and Path(self.folder).is_dir() else None
        if folder is None:
            from napari.utils.history import get_save_history

            folder = Path(get_save_history()[0])
        return naming.free_output_path(folder, naming.file_stem_for(_stem_for(layers)), suffix)

    def _on_output(self, *_args) -> None:
        """Choose the format a typed name's suffix names, when it names the other one."""
        value = self.output.value
        named = naming.suffix_format(str(value).strip()) if value is not None else None
        if named is not None and named != self.export_format()[0]:
            self.format.value = "ome-tiff" if named == "ome-tiff" else "ngff-0.4"  # renames nothing: they agree
        self._show()

    def _on_format(self, *_args) -> None:
        """Give the name the chosen format's suffix (a proposed name too)."""
        self._show_format()
        typed, renamed = self._typed(), self.path()
        if typed is None or renamed is None:
            return
        if self._proposed is not None and typed == self._proposed and self._layers:
            renamed = self._proposed = self._default(self._layers)  # a name no file or sidecar has
        if renamed != typed:
            self.set_path(renamed)

    def _show_format(self) -> None:
        fmt = self.export_format()[0]
        self.output.filter = OME_ZARR_FILTER if fmt == "ome-zarr" else OME_TIFF_FILTER
        self.output.native.setToolTip(_TIPS[fmt])

    def _show(self, *_args) -> None:
        """Show the folder of the current path under the field (which shows the name's end)."""
        path = self.path()
        self.folder_label.set_path(path)
        if path is not None:
            self.output.tooltip = str(path)


def _format_row(box: ComboBox) -> Container:
    """Put a short "Format" label before ``box``, which takes the rest of the width.

    Narrower than the options' labelled fields, so the choice shows whole
    ("OME-Zarr 0.5") in the narrow dock.
    """
    label = Label(value="Format")
    label.native.setBuddy(box.native)
    line = row(label, box)
    line.native.layout().setStretch(1, 1)
    return line


def _stem_for(layers) -> str:
    """Name layers not read from a file: one layer's name, a shared image name, else "image"."""
    if len(layers) == 1:
        return layers[0].name
    md = layers[0].metadata if isinstance(layers[0].metadata, dict) else {}
    shared = {(lay.metadata or {}).get("name") if isinstance(lay.metadata, dict) else None for lay in layers}
    if len(shared) == 1 and md.get("name"):
        return md["name"]
    return "image"
