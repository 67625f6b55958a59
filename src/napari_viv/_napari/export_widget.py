"""The *Export to Viv* dock widget: one magicgui panel, top to bottom.

* **Layers**: every image layer, ticked (only the visible ones when some
  are hidden), in the viewer's layer order (channel 1 first; napari lists
  it at the bottom); ▲/▼ reorder the channels.
* **Output file**: a save-file picker, proposed in the folder the layers
  were read from, else the last folder used.
* **Options** (collapsed): tile size, compression, levels, downsampling,
  the layers' own levels, pixel size (prefilled from scale and units).
* **Plan**: level shapes, planes and estimated size
  (:func:`napari_viv.write.plan.plan_pyramid`).
* **Export** / **Cancel** with a progress bar: the export runs
  :func:`napari_viv.write.writer.export_pyramid` in a napari
  ``thread_worker``; Cancel (or closing the panel) leaves nothing behind.
* **Viewing**, after a successful export: open in our viewer, open in
  Avivator, copy link, stop serving (:class:`.serve_widget.ViewingSection`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
)

from .. import naming
from ..errors import Cancelled, NapariVivError
from ..text import human_bytes, one_line
from . import settings
from .serve_widget import ViewingSection, _row, _wrapping

log = logging.getLogger(__name__)

UNITS = ("µm", "nm", "mm")
LEVEL_CHOICES = ("auto", *(str(n) for n in range(1, 13)))
#: Progress signals are throttled to about this many per export.
PROGRESS_STEPS = 400
#: The panel's narrowest width: its controls fit in it unclipped, and at
#: 1280 px napari's layer dock, this panel and a half-window canvas fit side by side.
PANEL_WIDTH = 260
_LAYER_EVENTS = ("inserted", "removed", "moved", "reordered")


def compression_choices() -> list[str]:
    """The codecs the writer offers, the default first."""
    from ..write.codecs import DEFAULT_COMPRESSION, TIFF_CODES

    names = list(TIFF_CODES)
    names.remove(DEFAULT_COMPRESSION)
    return [DEFAULT_COMPRESSION, *names]


#: Width of the labels in front of the options, in pixels.
LABEL_WIDTH = 104


def _field(text: str, widget) -> Container:
    """``text`` and ``widget`` side by side; every field's label is as wide."""
    label = Label(value=text)
    label.native.setFixedWidth(LABEL_WIDTH)
    label.native.setBuddy(widget.native)
    row = _row(label, widget)
    row.native.layout().setStretch(1, 1)
    return row


def _heading(text: str) -> Label:
    return Label(value=f"<b>{text}</b>")


def _key(layer) -> str:
    """A stable key for a layer (napari may hand us a new proxy each time)."""
    return str(layer.unique_id)


def _image_layers(viewer) -> list:
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


def _source_path(layer) -> Path | None:
    """The file a layer was read from (our reader records it), if any."""
    md = getattr(layer, "metadata", None) or {}
    path = md.get("path") if isinstance(md, dict) else None
    return Path(path) if path else None


def _relay():
    """A QObject whose signal carries progress from any thread to the GUI."""
    from qtpy.QtCore import QObject, Signal

    class Relay(QObject):
        progressed = Signal(int, int)

    return Relay()


def _run_export(data, path, options, relay, cancel_event):
    """The worker body: never raises, returns ("done"|"cancelled"|"error", x)."""
    from ..write.writer import export_pyramid

    step = [0]

    def progress(done, total):
        every = max(1, total // PROGRESS_STEPS)
        if done >= total or done - step[0] >= every:
            step[0] = done
            relay.progressed.emit(int(done), int(total))

    try:
        paths = export_pyramid(
            data, path, progress=progress, cancel=cancel_event.is_set, **options
        )
    except Cancelled as exc:
        return "cancelled", str(exc)
    except NapariVivError as exc:
        return "error", one_line(exc)
    except MemoryError:
        return "error", f"{path}: not enough memory for this export"
    except Exception as exc:  # a bug: keep the UI alive, log the traceback
        log.exception("export to %s failed", path)
        return "error", one_line(f"{path}: export failed ({type(exc).__name__}: {exc})")
    return "done", [str(p) for p in paths.paths]


class _LayerRow(Container):
    """One image layer: a tick box with its name, and ▲/▼ to move it."""

    def __init__(self, name: str, ticked: bool) -> None:
        self.tick = CheckBox(text=name, value=ticked, name="tick")
        self.up = PushButton(text="▲", name="up")
        self.down = PushButton(text="▼", name="down")
        for button, tip in ((self.up, "earlier channel"), (self.down, "later channel")):
            button.tooltip = tip
            button.native.setFixedWidth(28)
        super().__init__(
            widgets=[self.tick, self.up, self.down], layout="horizontal", labels=False
        )
        self.margins = (0, 0, 0, 0)
        self.native.layout().setStretch(0, 1)


class ExportToViv(Container):
    """Export image layers as one Viv pyramidal OME-TIFF, then view it."""

    def __init__(self, napari_viewer) -> None:
        self.viewer = napari_viewer
        self.plan = None  #: the PyramidPlan for the current choices, or None
        self.exported: list[Path] = []  #: paths written by the last export
        self.worker = None  #: the running thread_worker, if any
        self.note: str | None = None  #: what the last export assumed, if anything
        self._cancel_event = threading.Event()
        # not a child of the widget: the worker may outlive it (and then cancels)
        self._relay = _relay()
        self._relay.progressed.connect(self._on_progress)
        self._rows: dict[str, _LayerRow] = {}
        self._order: list[str] = []
        self._touched: set[str] = set()  # rows whose tick the user set
        self._watched: set[str] = set()  # layers whose events we follow
        self._proposed: Path | None = None  # the output path we filled in
        self._prefilled_for = None
        self._has_z = False  # whether the pixel size has a z (not: is the row shown)
        self._alive = [True]  # False once Qt has destroyed the panel
        remembered = settings.load_settings()
        self._folder = remembered.folder

        # -- Layers -----------------------------------------------------
        self.layer_rows = Container(labels=False, name="layers")
        self.layer_rows.margins = (0, 0, 0, 0)
        # -- Output file ------------------------------------------------
        self.output = FileEdit(
            mode="w", filter="OME-TIFF (*.ome.tif *.ome.tiff)", name="output"
        )
        self.output.native.setToolTip("The .ome.tif to write; offsets.json and view.json go beside it")
        self.replace = CheckBox(text="Replace an existing file", value=False, name="replace")
        # -- Options (collapsed) ----------------------------------------
        self.options_toggle = PushButton(text="▸ Options", name="options_toggle")
        self.options_toggle.native.setCheckable(True)
        self.options_toggle.native.setFlat(True)
        self.options_toggle.native.setStyleSheet("text-align: left; padding-left: 2px")
        self.tile_size = ComboBox(
            choices=list(settings.TILE_SIZES), value=remembered.tile_size,
            label="Tile size", name="tile_size",
        )
        compressions = compression_choices()
        self.compression = ComboBox(
            choices=compressions,
            value=remembered.compression if remembered.compression in compressions else compressions[0],
            label="Compression", name="compression",
        )
        self.levels = ComboBox(
            choices=list(LEVEL_CHOICES),
            value=str(remembered.levels) if 0 < remembered.levels <= 12 else "auto",
            label="Levels", name="levels",
        )
        self.levels.tooltip = "auto: halve until the smallest level fits one tile"
        self.downsample = ComboBox(
            choices=list(settings.DOWNSAMPLING), value=remembered.downsample,
            label="Downsampling", name="downsample",
        )
        self.reuse = CheckBox(text="Copy layers' own levels", value=True, name="reuse")
        self.reuse.tooltip = (
            "For multiscale layers: copy existing levels of the planned sizes instead of "
            "recomputing them from level 0 (faster; keeps the original downsampling)."
        )
        self.reuse.visible = False
        self.pixel_x = self._size_box("x")
        self.pixel_y = self._size_box("y")
        self.pixel_z = self._size_box("z")
        self.unit = ComboBox(choices=list(UNITS), value=UNITS[0], label="Unit", name="unit")
        self.pixel_z_row = _field("Pixel size z", self.pixel_z)
        self.options_box = Container(
            widgets=[
                _field("Tile size", self.tile_size),
                _field("Compression", self.compression),
                _field("Levels", self.levels),
                _field("Downsampling", self.downsample),
                self.reuse,
                _field("Pixel size x", self.pixel_x),
                _field("Pixel size y", self.pixel_y),
                self.pixel_z_row,
                _field("Unit", self.unit),
            ],
            labels=False,
            name="options",
        )
        self.options_box.margins = (0, 0, 0, 0)
        self.options_box.visible = False
        # -- Plan ----------------------------------------------------------
        self.plan_text = _wrapping(Label(value="", name="plan_text"))
        # -- Actions -------------------------------------------------------
        self.export_button = PushButton(text="Export", name="export")
        self.cancel_button = PushButton(text="Cancel", name="cancel")
        self.cancel_button.enabled = False
        self.progress = ProgressBar(min=0, max=1, value=0, name="progress")
        self.status = _wrapping(Label(value="", name="status"))
        # -- Viewing ---------------------------------------------------------
        self.viewing_heading = _heading("Viewing")
        self.viewing = ViewingSection(name="viewing")
        from .scene_panel import SceneRows  # the scene hook: labels, points and shapes tick boxes

        self.scene_rows = SceneRows(self.viewer)
        for widget in (self.viewing_heading, self.viewing):
            widget.visible = False

        super().__init__(
            widgets=[
                _heading("Layers"),
                self.layer_rows,
                _heading("Labels, points and shapes"),
                self.scene_rows,
                _heading("Output file"),
                self.output,
                self.replace,
                self.options_toggle,
                self.options_box,
                _heading("Plan"),
                self.plan_text,
                _row(self.export_button, self.cancel_button),
                self.progress,
                self.status,
                self.viewing_heading,
                self.viewing,
            ],
            labels=False,
            scrollable=True,
            name="export_to_viv",
        )
        scroll = self.root_native_widget
        scroll.setMinimumWidth(PANEL_WIDTH)
        scroll.setFrameShape(scroll.Shape.NoFrame)

        # -- keep the plan current -----------------------------------------
        self.options_toggle.native.toggled.connect(self._on_options_toggled)
        for widget in (self.tile_size, self.compression, self.levels, self.reuse):
            widget.changed.connect(self.update_plan)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        events = self.viewer.layers.events
        for name in _LAYER_EVENTS:
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self._sync_layers)
        self.native.destroyed.connect(self._cancel_event.set)
        self.native.destroyed.connect(self._disconnector(events))
        self._sync_layers()

    @property
    def native(self):
        """The scroll area holding the panel.

        napari docks a magicgui widget's ``native``; for a scrollable
        container magicgui gives the widget inside the scroll area, which
        would be docked without it (and clipped, or stretch the window).
        """
        return self.root_native_widget

    # -- public API --------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """The listed layers' names, in channel order."""
        return [self._rows[k].tick.text for k in self._order]

    def ticked_names(self) -> list[str]:
        """The ticked layers' names, in channel order."""
        return [self._rows[k].tick.text for k in self._order if self._rows[k].tick.value]

    def row(self, name: str) -> _LayerRow:
        """The row of the layer called ``name``."""
        for key in self._order:
            if self._rows[key].tick.text == name:
                return self._rows[key]
        raise KeyError(name)

    def chosen_layers(self) -> list:
        """The ticked image layers, in channel order."""
        by_key = {_key(layer): layer for layer in _image_layers(self.viewer)}
        return [
            by_key[k] for k in self._order if k in by_key and self._rows[k].tick.value
        ]

    def output_path(self) -> Path | None:
        """The output path as it will be written (``.ome.tif`` added)."""
        value = self.output.value
        text = str(value).strip() if value is not None else ""
        if text in ("", "."):
            return None
        return naming.output_path(Path(text).expanduser())

    def update_plan(self, *_args) -> None:
        """Recompute and show the planned levels and estimated size."""
        self._show_plan(self.chosen_layers())

    def _show_plan(self, layers, found=None) -> None:
        """The plan for ``layers``; ``found``: their export input, if already made."""
        self.plan = None
        if not layers:
            self.plan_text.value = "Tick at least one image layer."
            self._update_enabled()
            return
        try:
            if found is None:
                found = self._export_input(layers)
            self.plan = self._plan_for(found)
        except NapariVivError as exc:
            self.plan_text.value = f"Cannot export: {one_line(exc, 400)}"
            self._update_enabled()
            return
        plan = self.plan
        own = set()
        if len(found.levels) > 1:
            own = {tuple(int(n) for n in lv.shape[-2:]) for lv in found.levels[1:]}
        lines = [
            f"Level {i}: {x} × {y}" + (" (copied)" if (y, x) in own else "")
            for i, (y, x) in enumerate(plan.level_shapes)
        ]
        lines.append(f"{plan.nplanes} plane(s) · {plan.dtype} · {plan.tile_size} px tiles")
        lines.append(f"About {human_bytes(plan.estimated_bytes())} ({plan.compression})")
        self.plan_text.value = "\n".join(lines)
        self._update_enabled()

    def start_export(self, *_args) -> bool:
        """Start exporting in the background; False if inputs are wrong."""
        from napari.qt.threading import create_worker

        if self.worker is not None:
            return False
        layers = self.chosen_layers()
        path = self.output_path()
        if not layers:
            self._fail("Export to Viv: tick at least one image layer")
            return False
        if path is None:
            self._fail("Export to Viv: choose an output file")
            return False
        if path.exists() and not self.replace.value:
            self._fail(f"{path}: already exists; tick 'Replace an existing file' or pick another name")
            return False
        try:
            found = self._export_input(layers)
            plan = self._plan_for(found)
        except NapariVivError as exc:
            self._fail(one_line(exc, 400))
            return False
        meta = found.metadata
        if not meta.name:
            meta.name = naming.stem(path)
        # the scene hook: napari's visible field becomes the view file's camera; ticked
        # labels, points and shapes are checked now, before anything is written
        from .scene import camera_for_layers, prepare_scene
        from .writer import _shape_yx

        meta.camera = camera_for_layers(self.viewer, layers, _shape_yx(found)) or meta.camera
        try:
            prepared = prepare_scene(
                [lay.as_layer_data_tuple() for lay in layers],
                [lay.as_layer_data_tuple() for lay in self.scene_rows.chosen()],
                found,
            )
        except NapariVivError as exc:
            self._fail(one_line(exc, 400))
            return False
        sizes, unit = self._physical_size_options()
        options = dict(
            axes=meta.axes,
            metadata=meta,
            tile_size=self.tile_size.value,
            levels=self._levels(),
            compression=self.compression.value,
            downsample=self.downsample.value,
            overwrite=bool(self.replace.value),
            physical_sizes=sizes,
            unit=unit,
        )
        # the note stands only if the export keeps the size the layers gave
        kept = sizes == _rounded(meta.physical_sizes) and unit == meta.unit
        self.note = found.unit_note if kept else None
        if str(self.output.value) != str(path):
            self._set_output(path)
        self._remember(path)
        self._cancel_event.clear()
        self.exported = []
        self._show_viewing(False)
        self.progress.max = max(plan.ntiles, 1)
        self.progress.value = 0
        self.status.value = f"Exporting to {path.name} …"
        from .scene_panel import run_export_with_scene

        worker = create_worker(
            run_export_with_scene, _run_export, found.data, path, options, self._relay, self._cancel_event,
            prepared, meta.axes, _start_thread=False,
        )
        worker.returned.connect(self._on_returned)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._update_enabled()
        worker.start()
        return True

    def cancel_export(self, *_args) -> None:
        """Ask the running export to stop; it removes everything it wrote."""
        if self.worker is not None:
            self._cancel_event.set()
            self.status.value = "Cancelling …"
            self.cancel_button.enabled = False

    # -- internals ---------------------------------------------------------------
    def _size_box(self, axis: str) -> FloatSpinBox:
        box = FloatSpinBox(value=0.0, min=0.0, max=1e4, step=0.001, name=f"pixel_{axis}")
        box.native.setDecimals(4)
        box.native.setSingleStep(0.05)
        box.native.setSpecialValueText("unknown")
        box.native.setButtonSymbols(box.native.ButtonSymbols.NoButtons)
        box.native.setMinimumWidth(60)
        box.tooltip = f"physical size of one pixel along {axis}; 0 = unknown"
        return box

    def _export_input(self, layers):
        from .layers import layer_objects_to_export

        multiscale = any(getattr(layer, "multiscale", False) for layer in layers)
        self.reuse.visible = multiscale
        return layer_objects_to_export(layers, keep_levels=multiscale and bool(self.reuse.value))

    def _plan_for(self, found):
        from ..write.plan import plan_pyramid

        return plan_pyramid(
            found.shape, found.dtype, found.metadata.axes or None,
            tile_size=self.tile_size.value, levels=self._levels(),
            compression=self.compression.value,
        )

    def _levels(self):
        value = self.levels.value
        return "auto" if value == "auto" else int(value)

    def _physical_size_options(self) -> tuple[dict, str]:
        """The pixel size as shown (0 = unknown), overriding the layers'."""
        sizes = {}
        for axis, box in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            if (axis != "z" or self._has_z) and box.value > 0:
                sizes[axis] = round(float(box.value), 4)
        return sizes, self.unit.value

    def _on_options_toggled(self, value) -> None:
        self.options_box.visible = bool(value)
        self.options_toggle.text = "▾ Options" if value else "▸ Options"

    def _disconnector(self, events):
        sync, alive = self._sync_layers, self._alive

        def disconnect(*_args):
            alive[0] = False
            for name in _LAYER_EVENTS:
                emitter = getattr(events, name, None)
                if emitter is not None:
                    emitter.disconnect(sync)

        return disconnect

    def _sync_layers(self, *_args) -> None:
        """Mirror the viewer's image layers; keep the user's order and ticks."""
        if not self._alive[0]:
            return  # a layer event outlived this panel
        self.scene_rows.sync()  # the scene hook
        layers = _image_layers(self.viewer)
        any_visible = any(layer.visible for layer in layers)
        keys = [_key(layer) for layer in layers]
        known = [k for k in self._order if k in keys]
        order = known + [k for k in keys if k not in known]
        for layer in layers:
            key = _key(layer)
            # every layer, or only the visible ones when some are hidden
            default = bool(layer.visible) or not any_visible
            row = self._rows.get(key)
            if row is None:
                row = self._new_row(layer, default)
            else:
                row.tick.text = layer.name
                if key not in self._touched and row.tick.value != default:
                    with row.tick.changed.blocked():
                        row.tick.value = default
        for key in list(self._rows):
            if key not in keys:
                del self._rows[key]
        self._order = order
        self._rebuild_rows()
        self._on_layers_changed()

    def _new_row(self, layer, ticked: bool) -> _LayerRow:
        key = _key(layer)
        row = _LayerRow(layer.name, ticked)
        row.tick.changed.connect(lambda *_a, k=key: self._on_tick(k))
        row.up.clicked.connect(lambda *_a, k=key: self.move(k, -1))
        row.down.clicked.connect(lambda *_a, k=key: self.move(k, +1))
        self._rows[key] = row
        if key not in self._watched:
            self._watched.add(key)
            layer.events.name.connect(self._sync_layers)
            layer.events.visible.connect(self._sync_layers)
        return row

    def _rebuild_rows(self) -> None:
        box = self.layer_rows
        wanted = [self._rows[k] for k in self._order]
        if list(box) == wanted:
            return
        while len(box):
            box.pop()
        box.extend(wanted)
        if not wanted:
            self.layer_rows.append(Label(value="No image layers yet."))

    def move(self, key: str, step: int) -> None:
        """Move a layer's channel up (-1) or down (+1)."""
        i = self._order.index(key)
        j = min(max(i + step, 0), len(self._order) - 1)
        if i != j:
            self._order.insert(j, self._order.pop(i))
            self._rebuild_rows()
            self._on_layers_changed()

    def _on_tick(self, key: str) -> None:
        self._touched.add(key)
        self._on_layers_changed()

    def _on_layers_changed(self, *_args) -> None:
        layers = self.chosen_layers()
        first = layers[0] if layers else None
        found = None
        if first is not None and _key(first) != self._prefilled_for:
            try:
                found = self._export_input(layers)
            except NapariVivError:
                pass  # the plan says why
            else:
                self._prefill_pixel_size(found)
            self._prefilled_for = _key(first)
        self._propose_output(layers)
        self._show_plan(layers, found)  # the layers read once for both

    def _propose_output(self, layers) -> None:
        """Fill in an output path unless the user chose one."""
        current = self.output_path()
        if layers and (current is None or current == self._proposed):
            path = self._default_output(layers)
            self._proposed = path
            self._set_output(path)

    def _set_output(self, path: Path) -> None:
        with self.output.changed.blocked():
            self.output.value = path
        self.output.tooltip = str(path)

    def _default_output(self, layers) -> Path:
        """The source's folder and name when read from a file, else the last folder."""
        source = _source_path(layers[0])
        if source is not None:
            folder, stem = source.parent, naming.stem(source)
        else:
            folder = Path(self._folder) if self._folder and Path(self._folder).is_dir() else None
            if folder is None:
                from napari.utils.history import get_save_history

                folder = Path(get_save_history()[0])
            md = layers[0].metadata if isinstance(layers[0].metadata, dict) else {}
            shared = {
                (lay.metadata or {}).get("name") if isinstance(lay.metadata, dict) else None
                for lay in layers
            }
            if len(layers) == 1:
                stem = layers[0].name
            elif len(shared) == 1 and md.get("name"):
                stem = md["name"]
            else:
                stem = "image"
        return naming.free_output_path(folder, naming.file_stem_for(stem))

    def _prefill_pixel_size(self, found) -> None:
        """Show the pixel size and unit of ``found`` (the chosen layers' export input)."""
        meta = found.metadata
        axes = (meta.axes or "").upper()
        sizes = meta.physical_sizes or {}
        for axis, box in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            box.value = float(sizes.get(axis) or 0.0)
        self._has_z = "Z" in axes
        self.pixel_z_row.visible = self._has_z
        unit = meta.unit or UNITS[0]
        if unit not in self.unit.choices:
            self.unit.choices = (*self.unit.choices, unit)
        self.unit.value = unit

    def _update_enabled(self) -> None:
        busy = self.worker is not None
        # Export stays clickable with a bad plan: clicking says why, as a notification
        self.export_button.enabled = not busy and bool(self._order)
        self.cancel_button.enabled = busy and not self._cancel_event.is_set()
        for widget in (
            self.layer_rows, self.output, self.replace, self.options_box,
        ):
            widget.enabled = not busy

    def _on_progress(self, done: int, total: int) -> None:
        if not self._alive[0]:
            return  # the export outlived its panel (and is being cancelled)
        if self.progress.max != total:
            self.progress.max = max(total, 1)
        self.progress.value = done

    def _on_returned(self, result) -> None:
        from napari.utils.notifications import show_info

        if not self._alive[0]:
            return
        status, value = result
        if status == "done":
            self.exported = [Path(p) for p in value]
            settings.remember_last_export(self.exported[0])
            _update_napari_history(self.exported[0])
            self.progress.value = self.progress.max
            size = sum(p.stat().st_size for p in self.exported if p.exists())
            image = self.exported[0]
            self.status.value = f"Saved {image.name} ({human_bytes(size)})"
            self.status.tooltip = "\n".join(str(p) for p in self.exported)
            sidecars = " and ".join(p.name for p in self.exported[1:])
            message = f"Saved {image.name} ({human_bytes(size)}) in {image.parent}"
            if sidecars:
                message += f", with {sidecars}"
            if self.note:
                message += f"; {self.note}"
                self.status.value += f"\n{self.note[0].upper()}{self.note[1:]}"
            self.viewing.set_file(image)
            self._show_viewing(True)
            show_info(message)
        elif status == "cancelled":
            self.progress.value = 0
            self.status.value = "Export cancelled; nothing was written."
        else:
            self.progress.value = 0
            self._fail(value)

    def _show_viewing(self, shown: bool) -> None:
        self.viewing_heading.visible = shown
        self.viewing.visible = shown
        if not shown:
            self.viewing.set_file(None)

    def _on_finished(self) -> None:
        self.worker = None
        if not self._alive[0]:
            return
        self._update_enabled()

    def _fail(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.value = message
        show_error(message)

    def _remember(self, path: Path) -> None:
        self._folder = str(path.parent)
        settings.save_settings(
            settings.ExportSettings(
                tile_size=self.tile_size.value,
                compression=self.compression.value,
                levels=0 if self.levels.value == "auto" else int(self.levels.value),
                downsample=self.downsample.value,
                folder=self._folder,
            )
        )


def _rounded(sizes) -> dict:
    return {k: round(float(v), 4) for k, v in (sizes or {}).items() if v}


def _update_napari_history(path: Path) -> None:
    """Let napari's own Save dialogs start in the folder we exported to."""
    try:
        from napari.utils.history import update_save_history

        update_save_history(str(path))
    except Exception:  # napari's history is a convenience
        log.debug("could not update napari's save history", exc_info=True)
