"""npe2 writers: save the selected layers as one Viv pyramidal OME-TIFF, or one OME-Zarr store.

napari calls :func:`write_layers` from File > Save Selected Layers… (filter
"napari-viv pyramidal OME-TIFF for Viv") and from
``viewer.layers.save(path, plugin="napari-viv")`` for a ``.ome.tif`` name;
:func:`write_zarr_layers` for the filter "napari-viv OME-Zarr for Viv" and a
``.ome.zarr`` or ``.zarr`` name. The image layers become the channels of one
image (see :mod:`.layers`), written by
:func:`napari_viv.write.writer.export_pyramid` with its defaults (an OME-TIFF
next to its ``offsets.json``; a store in NGFF 0.4); Labels, Points and Shapes
layers travel with it (:mod:`.scene`). Progress shows in napari's activity dock.

Problems (a layer the export cannot hold, mismatched shapes, an unwritable
folder) are shown as a napari error notification naming the layers or
folder; nothing is written and the writer returns ``[]``, which napari
reports as a failed save.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .. import naming
from ..errors import Cancelled, NapariVivError


def viv_path(path, default_format: str = "ome-tiff") -> Path:
    """Return the path napari-viv writes for what the user typed.

    The name's suffix decides the format (``.ome.zarr``/``.zarr``: a store;
    ``.tif``/``.tiff``: an OME-TIFF); a name with neither is written in
    ``default_format``, the format of the writer napari chose. Same rule as
    the core writer: ``x.tif`` becomes ``x.ome.tif`` (lowercase: Avivator
    matches it case-sensitively) and a name without a suffix gets the format's.
    """
    p = Path(os.fspath(path)).expanduser()
    return naming.export_path(p, naming.suffix_format(p) or default_format)


def write_layers(path: str, layer_data: list[tuple]) -> list[str]:
    """npe2 multi-layer writer; returns the written .ome.tif, offsets.json and view.json (and the scene's files)."""
    return _write(viv_path(path), layer_data)


def write_zarr_layers(path: str, layer_data: list[tuple]) -> list[str]:
    """npe2 multi-layer writer for OME-Zarr (NGFF 0.4); returns the store, view.json and the scene's files."""
    return _write(viv_path(path, "ome-zarr"), layer_data)


def _write(target: Path, layer_data: list[tuple]) -> list[str]:
    from napari.utils.notifications import show_error, show_info

    from ..text import one_line

    notes: list[str] = []
    try:
        written = save_layer_data(target, layer_data, notes=notes)
    except Cancelled as exc:
        show_info(f"{target.name}: {exc}")
        return []
    except (NapariVivError, OSError) as exc:
        show_error(f"Could not save {target.name}: {one_line(exc)}")
        return []
    for note in notes:
        show_info(f"Saved {target.name}; {note}")
    return [str(p) for p in written]


def save_layer_data(target: Path, layer_data, notes: list[str] | None = None) -> list[Path]:
    """Translate, check the folder, export with a progress bar.

    Sentences for the user about assumptions made (a scale without units
    written as µm) are appended to ``notes``.
    """
    from .layers import layers_to_export
    from .scene import prepare_scene

    images, scene = _split(layer_data)
    inp = layers_to_export(images)
    prepared = prepare_scene(images, scene, inp)  # the scene hook: labels, points, shapes checked before writing
    from ..write.atomic import check_folder

    check_folder(target.parent)
    md = inp.metadata
    if not md.name:
        md.name = naming.stem(target)
    # the scene hook: napari's visible field becomes the view file's camera
    from .scene import camera_for_layer_data

    md.camera = camera_for_layer_data(layer_data, shape_yx(inp)) or md.camera
    from .scene import labels_into_store, publish_scene

    extra, prepared, entries = labels_into_store(target, prepared, md.axes)  # a store holds its labels inside
    written = _export_with_progress(inp, target, extra)
    written += publish_scene(target, prepared, inp.metadata.axes, written, entries)
    if notes is not None and inp.unit_note:
        notes.append(inp.unit_note)
    return written


def _split(layer_data):
    from .features import split_layer_data

    return split_layer_data(layer_data)


def shape_yx(inp) -> tuple[int, int]:
    """Return (Y, X) of an export input's level 0."""
    axes = inp.metadata.axes
    return inp.shape[axes.index("Y")], inp.shape[axes.index("X")]


def _export_with_progress(inp, target: Path, extra: dict) -> list[Path]:
    """Run export_pyramid in a thread; the GUI thread drives the progress bar.

    The core may report progress from its worker threads, and napari's
    progress bars must only be touched from the GUI thread, so the callback
    only records the numbers.
    """
    from concurrent.futures import ThreadPoolExecutor, wait

    from napari.utils import progress

    from ..write.writer import export_pyramid

    latest = [0, 0]
    lock = threading.Lock()

    def on_progress(done, total):
        with lock:
            latest[0], latest[1] = int(done), int(total)

    pbar = progress(total=0, desc=f"Saving {target.name}")
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="napari-viv-save") as ex:
            fut = ex.submit(
                export_pyramid,
                inp.data,
                target,
                overwrite=True,
                progress=on_progress,
                **inp.export_kwargs(),
                **extra,
            )
            while True:
                finished, _ = wait([fut], timeout=0.1)
                with lock:
                    done, total = latest
                if total and pbar.total != total:
                    pbar.total = total
                if done > pbar.n:
                    pbar.update(done - pbar.n)
                _process_events()
                if finished:
                    break
            return list(fut.result().paths)
    finally:
        pbar.close()


def _process_events() -> None:
    """Let Qt repaint the progress bar (no user input: no re-entry)."""
    try:
        from qtpy.QtCore import QEventLoop
        from qtpy.QtWidgets import QApplication
    except ImportError:  # no Qt binding: nothing to repaint
        return
    app = QApplication.instance()
    # only the GUI thread may pump its event loop
    if app is not None and threading.current_thread() is threading.main_thread():
        app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
