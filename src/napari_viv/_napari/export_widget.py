"""The "Save as OME-TIFF pyramid…" dock widget.

Pick image layers (they become the channels, in list order), a file, tile
size, compression, levels, downsampling and pixel size. The widget shows
the planned levels and the estimated file size while you choose, then runs
:func:`napari_viv.write.writer.export_pyramid` in a napari ``thread_worker`` with
a progress bar and a Cancel button. Afterwards "Serve to Avivator" opens the
serve widget with the new file filled in.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import Cancelled, NapariVivError
from ..naming import output_path
from ..text import human_bytes
from . import settings

log = logging.getLogger(__name__)

PLUGIN = "napari-viv"
SERVE_WIDGET = "Serve to Avivator"
UNITS = ("µm", "nm", "mm")
#: Progress signals are throttled to about this many per export.
PROGRESS_STEPS = 400


def compression_choices() -> list[str]:
    """The codecs the writer offers, the default first."""
    from ..write.codecs import DEFAULT_COMPRESSION, TIFF_CODES

    names = list(TIFF_CODES)
    names.remove(DEFAULT_COMPRESSION)
    return [DEFAULT_COMPRESSION, *names]




class _Relay(QObject):
    """Carries progress from the writer's threads to the GUI thread."""

    progressed = Signal(int, int)


def _key(layer) -> str:
    """A stable key for a layer (napari may hand us a new proxy each time)."""
    return str(layer.unique_id)


def _image_layers(viewer) -> list:
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


def _to_image(layers, keep_levels=False):
    """(data, ImageMetadata) for the chosen layers.

    With ``keep_levels`` a multiscale layer's own levels are passed on too;
    the writer copies those whose shape matches a planned level and
    computes the rest from level 0.
    """
    from .layers import layer_objects_to_export

    found = layer_objects_to_export(layers, keep_levels=keep_levels)
    return found.data, found.metadata


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
        return "error", str(exc)
    except MemoryError:
        return "error", f"{path}: not enough memory for this export"
    except Exception as exc:  # a bug: keep the UI alive, log the traceback
        log.exception("export to %s failed", path)
        return "error", f"{path}: export failed ({type(exc).__name__}: {exc})"
    return "done", paths.paths


class ExportWidget(QWidget):
    """Export image layers as a Viv-compatible pyramidal OME-TIFF."""

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.plan = None  #: the PyramidPlan for the current choices, or None
        self.exported: list[Path] = []  #: paths written by the last export
        self.worker = None  #: the running thread_worker, if any
        self._cancel_event = threading.Event()
        # not a child of the widget: the worker may outlive it (and then cancels)
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_progress)
        self._prefilled_for = None
        self._named: set[str] = set()  # keys of layers whose renames we follow
        self._alive = [True]  # False once Qt has destroyed this widget
        remembered = settings.load_settings()
        self._folder = remembered.folder

        # -- inputs -------------------------------------------------------
        self.layer_list = QListWidget()
        self.layer_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.layer_list.setToolTip(
            "Checked image layers become the channels, top to bottom; drag to reorder."
        )
        self.layer_list.setMinimumHeight(100)
        self.layer_list.setMaximumHeight(150)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("output .ome.tif")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        self.overwrite_check = QCheckBox("Replace an existing file")

        self.tile_combo = QComboBox()
        for size in settings.TILE_SIZES:
            self.tile_combo.addItem(str(size), size)
        self.tile_combo.setCurrentIndex(settings.TILE_SIZES.index(remembered.tile_size))

        self.compression_combo = QComboBox()
        self.compression_combo.addItems(compression_choices())
        index = self.compression_combo.findText(remembered.compression)
        self.compression_combo.setCurrentIndex(max(index, 0))

        self.levels_spin = QSpinBox()
        self.levels_spin.setRange(0, 30)
        self.levels_spin.setSpecialValueText("auto")
        self.levels_spin.setValue(remembered.levels)
        self.levels_spin.setToolTip("auto: halve until the smallest level fits one tile")

        self.reuse_check = QCheckBox("Copy the layers' own pyramid levels where they fit")
        self.reuse_check.setChecked(True)
        self.reuse_check.setToolTip(
            "For multiscale layers: copy existing levels of the planned sizes instead of "
            "recomputing them from level 0 (faster; keeps the original downsampling)."
        )
        self.reuse_check.setVisible(False)

        self.downsample_combo = QComboBox()
        self.downsample_combo.addItems(list(settings.DOWNSAMPLING))
        self.downsample_combo.setCurrentText(remembered.downsample)

        self.pixel_x = self._size_spin()
        self.pixel_y = self._size_spin()
        self.pixel_z = self._size_spin()
        self.unit_combo = QComboBox()
        self.unit_combo.addItems(list(UNITS))
        pixel_row = QHBoxLayout()
        for label, spin in (("X", self.pixel_x), ("Y", self.pixel_y), ("Z", self.pixel_z)):
            pixel_row.addWidget(QLabel(label))
            pixel_row.addWidget(spin, 1)
        pixel_row.addWidget(self.unit_combo)

        # -- plan, progress, actions -----------------------------------------
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.export_button = QPushButton("Export")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        action_row = QHBoxLayout()
        action_row.addWidget(self.export_button)
        action_row.addWidget(self.cancel_button)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.serve_button = QPushButton("Serve to Avivator")
        self.serve_button.setVisible(False)
        self.serve_button.clicked.connect(self.open_serve_widget)

        form = QFormLayout()
        form.addRow("Layers", self.layer_list)
        form.addRow("File", path_row)
        form.addRow("", self.overwrite_check)
        form.addRow("Tile size", self.tile_combo)
        form.addRow("Compression", self.compression_combo)
        form.addRow("Levels", self.levels_spin)
        form.addRow("Downsampling", self.downsample_combo)
        form.addRow("", self.reuse_check)
        form.addRow("Pixel size", pixel_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Planned pyramid</b>"))
        layout.addWidget(self.plan_label)
        layout.addWidget(self.progress_bar)
        layout.addLayout(action_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.serve_button)
        layout.addStretch(1)

        # -- keep the plan current -------------------------------------------
        self.layer_list.itemChanged.connect(self._on_layers_changed)
        self.layer_list.model().rowsMoved.connect(self._on_layers_changed)
        self.tile_combo.currentIndexChanged.connect(self.update_plan)
        self.compression_combo.currentIndexChanged.connect(self.update_plan)
        self.levels_spin.valueChanged.connect(self.update_plan)
        self.reuse_check.toggled.connect(self.update_plan)
        events = self.viewer.layers.events
        for name in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self._sync_layers)
        self.destroyed.connect(self._cancel_event.set)
        self.destroyed.connect(self._disconnector(events))
        self._sync_layers()

    # -- public API --------------------------------------------------------------
    def chosen_layers(self) -> list:
        """The checked image layers, in list (= channel) order."""
        by_id = {_key(layer): layer for layer in _image_layers(self.viewer)}
        chosen = []
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            layer = by_id.get(item.data(Qt.ItemDataRole.UserRole))
            if layer is not None and item.checkState() == Qt.CheckState.Checked:
                chosen.append(layer)
        return chosen

    def output_path(self) -> Path | None:
        """The output path as it will be written (``.ome.tif`` added)."""
        text = self.path_edit.text().strip()
        if not text:
            return None
        return output_path(Path(text).expanduser())

    def _plan_for(self, data, meta):
        from ..write.plan import plan_pyramid

        level0 = data[0] if isinstance(data, list | tuple) else data
        return plan_pyramid(
            tuple(level0.shape),
            level0.dtype,
            meta.axes or None,
            tile_size=self.tile_combo.currentData(),
            levels=self._levels(),
            compression=self.compression_combo.currentText(),
        )

    def update_plan(self, *_args) -> None:
        """Recompute and show the planned levels and estimated size."""
        self.plan = None
        layers = self.chosen_layers()
        if not layers:
            self.plan_label.setText("Check at least one image layer.")
            self._update_enabled()
            return
        try:
            data, meta = _to_image(layers, self._keep_levels(layers))
            self.plan = self._plan_for(data, meta)
        except NapariVivError as exc:
            self.plan_label.setText(f"Cannot export: {exc}")
            self._update_enabled()
            return
        plan = self.plan
        own = set()
        if isinstance(data, list | tuple):
            own = {tuple(int(n) for n in lv.shape[-2:]) for lv in data[1:]}
        lines = [
            f"Level {i}: {x} × {y} px" + (" (copied from the layer)" if (y, x) in own else "")
            for i, (y, x) in enumerate(plan.level_shapes)
        ]
        lines.append(
            f"{plan.nplanes} plane(s) · {plan.dtype} · {plan.tile_size}px tiles · "
            f"{plan.compression}"
        )
        lines.append(f"Estimated file size: about {human_bytes(plan.estimated_bytes())}")
        self.plan_label.setText("\n".join(lines))
        self._update_enabled()

    def start_export(self) -> bool:
        """Start exporting in the background; False if inputs are wrong."""
        from napari.qt.threading import create_worker

        if self.worker is not None:
            return False
        layers = self.chosen_layers()
        path = self.output_path()
        if not layers:
            self._fail("Save as OME-TIFF pyramid: check at least one image layer")
            return False
        if path is None:
            self._fail("Save as OME-TIFF pyramid: choose an output file")
            return False
        if path.exists() and not self.overwrite_check.isChecked():
            self._fail(f"{path}: already exists; tick 'Replace an existing file' or pick another name")
            return False
        try:
            data, meta = _to_image(layers, self._keep_levels(layers))
            plan = self._plan_for(data, meta)
        except NapariVivError as exc:
            self._fail(str(exc))
            return False
        options = dict(
            axes=meta.axes,
            metadata=meta,
            tile_size=self.tile_combo.currentData(),
            levels=self._levels(),
            compression=self.compression_combo.currentText(),
            downsample=self.downsample_combo.currentText(),
            overwrite=self.overwrite_check.isChecked(),
            **self._physical_size_options(meta),
        )
        self.path_edit.setText(str(path))
        self._remember(path)
        self._cancel_event.clear()
        self.exported = []
        self.serve_button.setVisible(False)
        total = plan.ntiles
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Exporting to {path} …")
        worker = create_worker(
            _run_export,
            data,
            path,
            options,
            self._relay,
            self._cancel_event,
            _start_thread=False,
        )
        worker.returned.connect(self._on_returned)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._update_enabled()
        worker.start()
        return True

    def cancel_export(self) -> None:
        """Ask the running export to stop; it removes everything it wrote."""
        if self.worker is not None:
            self._cancel_event.set()
            self.status_label.setText("Cancelling …")
            self.cancel_button.setEnabled(False)

    def open_serve_widget(self):
        """Dock the serve widget with the exported file filled in; return it."""
        dock, widget = self.viewer.window.add_plugin_dock_widget(PLUGIN, SERVE_WIDGET)
        dock.show()  # it may have been docked earlier and hidden
        dock.raise_()
        if self.exported and hasattr(widget, "set_file"):
            widget.set_file(self.exported[0])
        return widget

    # -- internals ---------------------------------------------------------------
    @staticmethod
    def _size_spin() -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(4)
        spin.setRange(0.0, 1e6)
        spin.setSingleStep(0.05)
        spin.setSpecialValueText("unknown")
        spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        spin.setMinimumWidth(70)
        spin.setToolTip("physical size of one pixel; 0 = unknown")
        return spin

    def _disconnector(self, events):
        sync, alive = self._sync_layers, self._alive

        def disconnect(*_args):
            alive[0] = False
            for name in ("inserted", "removed", "moved", "reordered"):
                emitter = getattr(events, name, None)
                if emitter is not None:
                    emitter.disconnect(sync)

        return disconnect

    def _keep_levels(self, layers) -> bool:
        multiscale = any(getattr(layer, "multiscale", False) for layer in layers)
        self.reuse_check.setVisible(multiscale)
        return multiscale and self.reuse_check.isChecked()

    def _levels(self):
        value = self.levels_spin.value()
        return "auto" if value == 0 else value

    def _physical_size_options(self, meta) -> dict:
        """The pixel size as shown (0 = unknown), overriding the layers'."""
        sizes = {}
        for axis, spin in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            if spin.isEnabled() and spin.value() > 0:
                sizes[axis] = spin.value()
        return {"physical_sizes": sizes, "unit": self.unit_combo.currentText()}

    def _sync_layers(self, *_args) -> None:
        """Mirror the viewer's image layers; new ones are checked if selected."""
        if not self._alive[0]:
            return  # a renamed layer outlived this widget
        layers = _image_layers(self.viewer)
        old = {}
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            old[item.data(Qt.ItemDataRole.UserRole)] = (row, item.checkState())
        selected = set(map(_key, self.viewer.layers.selection))
        fresh = not old
        if fresh and not any(_key(layer) in selected for layer in layers):
            selected = set(map(_key, layers))  # nothing selected: offer them all
        # keep the user's order for known layers, append new ones
        layers.sort(key=lambda lyr: old.get(_key(lyr), (len(old), None))[0])
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for layer in layers:
            if _key(layer) not in self._named:
                layer.events.name.connect(self._sync_layers)
                self._named.add(_key(layer))
            item = QListWidgetItem(layer.name)
            item.setData(Qt.ItemDataRole.UserRole, _key(layer))
            item.setFlags(
                item.flags()
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            state = old.get(_key(layer), (0, None))[1]
            if state is None:
                state = Qt.CheckState.Checked if _key(layer) in selected else Qt.CheckState.Unchecked
            item.setCheckState(state)
            self.layer_list.addItem(item)
        self.layer_list.blockSignals(False)
        self._on_layers_changed()

    def _on_layers_changed(self, *_args) -> None:
        layers = self.chosen_layers()
        first = layers[0] if layers else None
        if first is not None and _key(first) != self._prefilled_for:
            self._prefill_pixel_size(layers)
            self._prefilled_for = _key(first)
        if not self.path_edit.text() and first is not None:
            folder = Path(self._folder) if self._folder else Path.home()
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in first.name)
            self.path_edit.setText(str(folder / f"{safe or 'image'}.ome.tif"))
        self.update_plan()

    def _prefill_pixel_size(self, layers) -> None:
        try:
            _data, meta = _to_image(layers)
        except NapariVivError:
            return
        axes = (meta.axes or "").upper()
        sizes = meta.physical_sizes or {}
        for axis, spin in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            spin.setValue(float(sizes.get(axis) or 0.0))
        self.pixel_z.setEnabled("Z" in axes)
        unit = meta.unit or UNITS[0]
        if self.unit_combo.findText(unit) < 0:
            self.unit_combo.addItem(unit)
        self.unit_combo.setCurrentText(unit)

    def _update_enabled(self) -> None:
        busy = self.worker is not None
        # Export stays clickable with a bad plan: clicking says why, as a notification
        self.export_button.setEnabled(not busy and self.layer_list.count() > 0)
        self.cancel_button.setEnabled(busy and not self._cancel_event.is_set())
        for widget in (
            self.layer_list, self.path_edit, self.browse_button, self.overwrite_check,
            self.tile_combo, self.compression_combo, self.levels_spin,
            self.downsample_combo, self.reuse_check, self.pixel_x, self.pixel_y, self.unit_combo,
        ):
            widget.setEnabled(not busy)

    def _on_progress(self, done: int, total: int) -> None:
        if self.progress_bar.maximum() != total:
            self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)

    def _on_returned(self, result) -> None:
        from napari.utils.notifications import show_info

        status, value = result
        if status == "done":
            self.exported = [Path(p) for p in value]
            settings.remember_last_export(self.exported[0])
            self.progress_bar.setValue(self.progress_bar.maximum())
            size = sum(p.stat().st_size for p in self.exported if p.exists())
            names = " and ".join(p.name for p in self.exported)
            message = f"Saved {names} in {self.exported[0].parent} ({human_bytes(size)})"
            self.status_label.setText(message)
            self.serve_button.setVisible(True)
            show_info(message)
        elif status == "cancelled":
            self.progress_bar.setValue(0)
            self.status_label.setText("Export cancelled; nothing was written.")
        else:
            self.progress_bar.setValue(0)
            self._fail(value)

    def _on_finished(self) -> None:
        self.worker = None
        self._update_enabled()

    def _fail(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status_label.setText(message)
        show_error(message)

    def _remember(self, path: Path) -> None:
        self._folder = str(path.parent)
        settings.save_settings(
            settings.ExportSettings(
                tile_size=self.tile_combo.currentData(),
                compression=self.compression_combo.currentText(),
                levels=self.levels_spin.value(),
                downsample=self.downsample_combo.currentText(),
                folder=self._folder,
            )
        )

    def _browse(self) -> None:
        start = self.path_edit.text() or self._folder or str(Path.home())
        name, _ = QFileDialog.getSaveFileName(
            self, "Save as OME-TIFF pyramid", start, "OME-TIFF (*.ome.tif *.ome.tiff)"
        )
        if name:
            path = output_path(Path(name))
            self.path_edit.setText(str(path))
            # the dialog already asked before replacing an existing file
            self.overwrite_check.setChecked(path.exists())
