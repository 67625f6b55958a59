"""The *Export to Viv* dock widget: one magicgui panel, top to bottom.

* **Layers** (:class:`.export_layers.LayerList`): every image layer, ticked
  (only the visible ones when some are hidden), in channel order; ▲/▼
  reorder the channels.
* **Output file** (:class:`.export_output.OutputSection`): the format
  (OME-TIFF, OME-Zarr NGFF 0.4 or 0.5; it and the name's suffix always
  agree) and a save-file picker with the folder shown under it, proposed in
  the folder the layers were read from, else the last folder used.
* **Options** (:class:`.export_options.ExportOptions`, collapsed): tile
  size, compression (the chosen format's codecs), levels, downsampling, the layers' own levels, pixel
  size (prefilled from scale and units).
* **Plan**: level shapes, planes and estimated size
  (:func:`napari_viv.write.plan.plan_pyramid`).
* **Export** / **Cancel** with a progress bar (:class:`.export_run.ExportJob`):
  the export runs in a napari thread worker; Cancel (or closing the panel)
  leaves nothing behind.
* **Viewing**, after a successful export: open in our viewer, open in
  Avivator, copy link, stop serving (:class:`.serve_widget.ViewingSection`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from magicgui.widgets import Container, Label, ProgressBar, PushButton

from .. import naming
from ..errors import NapariVivError
from ..text import human_bytes, one_line
from . import settings
from .export_layers import LayerList, layer_key
from .export_options import ExportOptions
from .export_output import OutputSection
from .export_run import ExportJob
from .serve_widget import ViewingSection
from .widgets import heading, notify_error, notify_info, row, wrapping

log = logging.getLogger(__name__)

#: The panel's narrowest width: its controls fit in it unclipped, and at
#: 1280 px napari's layer dock, this panel and a half-window canvas fit side by side.
PANEL_WIDTH = 260


def plan_lines(plan, found) -> list[str]:
    """Describe ``plan`` for the chosen layers' export input ``found``, one line each.

    Parameters
    ----------
    plan : PyramidPlan
        The planned pyramid.
    found : ExportInput
        The layers' levels; levels of a planned size are marked as copied.

    Returns
    -------
    list of str
        One line per level, then planes, dtype and tiles, then the estimated size.
    """
    own = {tuple(int(n) for n in lv.shape[-2:]) for lv in found.levels[1:]}
    lines = [
        f"Level {i}: {x} × {y}" + (" (copied)" if (y, x) in own else "") for i, (y, x) in enumerate(plan.level_shapes)
    ]
    lines.append(f"{plan.nplanes} plane(s) · {plan.dtype} · {plan.tile_size} px tiles")
    lines.append(f"About {human_bytes(plan.estimated_bytes())} ({plan.compression})")
    return lines


class ExportToViv(Container):
    """Export image layers as one Viv pyramidal OME-TIFF or OME-Zarr store, then view it."""

    def __init__(self, napari_viewer) -> None:
        self.viewer = napari_viewer
        self.plan = None  #: the PyramidPlan for the current choices, or None
        self.exported: list[Path] = []  #: paths written by the last export
        self.note: str | None = None  #: what the last export assumed, if anything
        self._prefilled_for = None
        self._alive = [True]  # False once Qt has destroyed the panel
        self._job = ExportJob(self._on_progress, self._on_returned, self._on_finished)
        self.layer_rows = LayerList(napari_viewer, self._on_layers_changed)
        remembered = settings.load_settings()
        self.output_section = OutputSection(remembered.folder, remembered.format)
        self.output, self.replace = self.output_section.output, self.output_section.replace
        self.format = self.output_section.format
        self.options_section = ExportOptions(*self.output_section.export_format())
        for name in ("options_toggle", "options_box", "tile_size", "compression", "levels", "downsample", "reuse"):
            setattr(self, name, getattr(self.options_section, name))
        for name in ("pixel_x", "pixel_y", "pixel_z", "pixel_z_row", "unit"):
            setattr(self, name, getattr(self.options_section, name))
        self.plan_text = wrapping(Label(value="", name="plan_text"))
        self.export_button = PushButton(text="Export", name="export")
        self.cancel_button = PushButton(text="Cancel", name="cancel")
        self.cancel_button.enabled = False
        self.progress = ProgressBar(min=0, max=1, value=0, name="progress")
        self.status = wrapping(Label(value="", name="status"))
        self.viewing_heading = heading("Viewing")
        self.viewing = ViewingSection(name="viewing")
        from .publish_widget import PublishSection
        from .scene_panel import SceneRows  # the scene hook: labels, points and shapes tick boxes

        self.publishing = PublishSection(name="publishing")
        self.scene_rows = SceneRows(self.viewer)
        super().__init__(widgets=self._parts(), labels=False, scrollable=True, name="export_to_viv")
        self._show_viewing(False)
        scroll = self.root_native_widget
        scroll.setMinimumWidth(PANEL_WIDTH)
        scroll.setFrameShape(scroll.Shape.NoFrame)
        self._connect()
        self.layer_rows.sync()

    def _parts(self) -> list:
        """List the panel's widgets, top to bottom."""
        return [
            heading("Layers"),
            self.layer_rows,
            heading("Labels, points and shapes"),
            self.scene_rows,
            heading("Output file"),
            self.output_section,
            self.options_section,
            heading("Plan"),
            self.plan_text,
            row(self.export_button, self.cancel_button),
            self.progress,
            self.status,
            self.viewing_heading,
            self.viewing,
            self.publishing,
        ]

    def _connect(self) -> None:
        """Keep the plan current; wire the buttons; cancel when Qt destroys the panel."""
        for widget in self.options_section.plan_widgets():
            widget.changed.connect(self.update_plan)
        self.format.changed.connect(self._on_format)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        alive = self._alive

        def gone(*_args):
            alive[0] = False

        self.native.destroyed.connect(self._job.cancel_event.set)
        self.native.destroyed.connect(gone)

    @property
    def native(self):
        """The scroll area holding the panel.

        napari docks a magicgui widget's ``native``; for a scrollable
        container magicgui gives the widget inside the scroll area, which
        would be docked without it (and clipped, or stretch the window).
        """
        return self.root_native_widget

    @property
    def worker(self):
        """The running thread_worker, if any."""
        return self._job.worker

    # -- public API --------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """Return the listed layers' names, in channel order."""
        return self.layer_rows.names()

    def ticked_names(self) -> list[str]:
        """Return the ticked layers' names, in channel order."""
        return self.layer_rows.ticked_names()

    def row(self, name: str):
        """Return the row of the layer called ``name``."""
        return self.layer_rows.row(name)

    def move(self, key: str, step: int) -> None:
        """Move a layer's channel up (-1) or down (+1)."""
        self.layer_rows.move(key, step)

    def chosen_layers(self) -> list:
        """Return the ticked image layers, in channel order."""
        return self.layer_rows.chosen()

    def output_path(self) -> Path | None:
        """Return the output path as it will be written (the format's suffix added)."""
        return self.output_section.path()

    def export_format(self) -> tuple[str, str]:
        """Return the chosen format and NGFF version, e.g. ``("ome-zarr", "0.5")``."""
        return self.output_section.export_format()

    def update_plan(self, *_args) -> None:
        """Recompute and show the planned levels and estimated size."""
        self._show_plan(self.chosen_layers())

    def start_export(self, *_args) -> bool:
        """Start exporting in the background; False if inputs are wrong."""
        if self._job.busy:
            return False
        try:
            found, path = self._checked_input()
            plan = self.options_section.plan_for(found)
        except NapariVivError as exc:
            self._fail(one_line(exc, 400))
            return False
        meta = found.metadata
        if not meta.name:
            meta.name = naming.stem(path)
        # the scene hook: napari's visible field becomes the view file's camera; ticked
        # labels, points and shapes are checked now, before anything is written
        from .scene import camera_for_layers, prepare_scene
        from .writer import shape_yx

        layers = self.chosen_layers()
        meta.camera = camera_for_layers(self.viewer, layers, shape_yx(found)) or meta.camera
        try:
            prepared = prepare_scene(
                [lay.as_layer_data_tuple() for lay in layers],
                [lay.as_layer_data_tuple() for lay in self.scene_rows.chosen()],
                found,
            )
        except NapariVivError as exc:
            self._fail(one_line(exc, 400))
            return False
        options = self.options_section.export_options(meta, overwrite=bool(self.replace.value))
        # the note stands only if the export keeps the size the layers gave
        kept = options["physical_sizes"] == _rounded(meta.physical_sizes) and options["unit"] == meta.unit
        self.note = found.unit_note if kept else None
        if str(self.output.value) != str(path):
            self.output_section.set_path(path)
        self._remember(path)
        self.exported = []
        self._show_viewing(False)
        self.progress.max = max(plan.ntiles, 1)
        self.progress.value = 0
        self.status.value = f"Exporting to {path.name} …"
        self._job.start(found.data, path, options, scene=(prepared, meta.axes))
        self._update_enabled()
        return True

    def cancel_export(self, *_args) -> None:
        """Ask the running export to stop; it removes everything it wrote."""
        if self._job.busy:
            self._job.cancel()
            self.status.value = "Cancelling …"
            self.cancel_button.enabled = False

    # -- internals ---------------------------------------------------------------
    def _checked_input(self):
        """Return the chosen layers' export input and the output path; NapariVivError if not ready."""
        layers = self.chosen_layers()
        path = self.output_path()
        if not layers:
            raise NapariVivError("tick at least one image layer", subject="Export to Viv")
        if path is None:
            raise NapariVivError("choose an output file", subject="Export to Viv")
        # the view file too: x.ome.tif and x.ome.zarr share x.view.json
        for taken in (path, naming.view_path(path)):
            if taken.exists() and not self.replace.value:
                problem = "already exists; tick 'Replace an existing file' or pick another name"
                raise NapariVivError(problem, subject=taken)
        return self._export_input(layers), path

    def _export_input(self, layers):
        from .layers import layer_objects_to_export

        multiscale = any(getattr(layer, "multiscale", False) for layer in layers)
        self.reuse.visible = multiscale
        return layer_objects_to_export(layers, keep_levels=multiscale and bool(self.reuse.value))

    def _show_plan(self, layers, found=None) -> None:
        """Show the plan for ``layers``; ``found``: their export input, if already made."""
        self.plan = None
        if not layers:
            self.plan_text.value = "Tick at least one image layer."
        else:
            try:
                found = found if found is not None else self._export_input(layers)
                self.plan = self.options_section.plan_for(found)
            except NapariVivError as exc:
                self.plan_text.value = f"Cannot export: {one_line(exc, 400)}"
            else:
                self.plan_text.value = "\n".join(plan_lines(self.plan, found))
        self._update_enabled()

    def _on_format(self, *_args) -> None:
        """Offer the chosen format's codecs and plan for it (the output section renames the file)."""
        self.options_section.set_format(*self.export_format())
        self.update_plan()

    def _on_layers_changed(self) -> None:
        self.scene_rows.sync()  # the scene hook: labels, points and shapes follow the viewer too
        layers = self.chosen_layers()
        first = layers[0] if layers else None
        found = None
        if first is not None and layer_key(first) != self._prefilled_for:
            try:
                found = self._export_input(layers)
            except NapariVivError:
                pass  # the plan says why
            else:
                self.options_section.prefill(found)
            self._prefilled_for = layer_key(first)
        self.output_section.propose(layers)
        self._show_plan(layers, found)  # the layers read once for both

    def _update_enabled(self) -> None:
        busy = self._job.busy
        # Export stays clickable with a bad plan: clicking says why, as a notification
        self.export_button.enabled = not busy and self.layer_rows.has_layers()
        self.cancel_button.enabled = busy and not self._job.cancelling
        for widget in (self.layer_rows, self.output_section, self.options_box):
            widget.enabled = not busy

    def _on_progress(self, done: int, total: int) -> None:
        if not self._alive[0]:
            return  # the export outlived its panel (and is being cancelled)
        if self.progress.max != total:
            self.progress.max = max(total, 1)
        self.progress.value = done

    def _on_returned(self, result) -> None:
        if not self._alive[0]:
            return
        status, value = result
        if status == "done":
            self._on_done([Path(p) for p in value])
            return
        self.progress.value = 0
        if status == "cancelled":
            self.status.value = "Export cancelled; nothing was written."
        else:
            self._fail(value)

    def _on_done(self, written: list[Path]) -> None:
        """Report the written files and offer them for viewing."""
        self.exported = written
        image = written[0]
        settings.remember_last_export(image)
        _update_napari_history(image)
        self.progress.value = self.progress.max
        size = human_bytes(sum(_size(p) for p in written))
        self.status.value = f"Saved {image.name} ({size})"
        self.status.tooltip = "\n".join(str(p) for p in written)
        message = f"Saved {image.name} ({size}) in {image.parent}"
        sidecars = " and ".join(p.name for p in written[1:])
        if sidecars:
            message += f", with {sidecars}"
        if self.note:
            message += f"; {self.note}"
            self.status.value += f"\n{self.note[0].upper()}{self.note[1:]}"
        self.viewing.set_file(image)
        self.publishing.set_file(image)
        self._show_viewing(True)
        notify_info(message)

    def _show_viewing(self, shown: bool) -> None:
        self.viewing_heading.visible = shown
        self.viewing.visible = shown
        self.publishing.visible = shown
        if not shown:
            self.viewing.set_file(None)
            self.publishing.set_file(None)

    def _on_finished(self) -> None:
        if self._alive[0]:
            self._update_enabled()

    def _fail(self, message: str) -> None:
        self.status.value = message
        notify_error(message)

    def _remember(self, path: Path) -> None:
        self.output_section.folder = str(path.parent)
        self.options_section.remember(self.output_section.folder, self.format.value)


def _size(path: Path) -> int:
    """Bytes of a written file, or of every file in a written OME-Zarr store (a folder)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _rounded(sizes) -> dict:
    return {k: round(float(v), 4) for k, v in (sizes or {}).items() if v}


def _update_napari_history(path: Path) -> None:
    """Let napari's own Save dialogs start in the folder we exported to."""
    try:
        from napari.utils.history import update_save_history

        update_save_history(str(path))
    except Exception:  # napari's history is a convenience
        log.debug("could not update napari's save history", exc_info=True)
