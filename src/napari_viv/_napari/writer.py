"""npe2 writer: save the selected image layers as one Viv pyramidal OME-TIFF.

napari calls :func:`write_layers` from File > Save Selected Layers… (filter
"napari-viv pyramidal OME-TIFF for Viv") and from
``viewer.layers.save(path, plugin="napari-viv")``. The layers become the
channels of one file (see :mod:`.layers`), written by
:func:`napari_viv.write.writer.export_pyramid` with its defaults, next to an
``offsets.json``. Progress shows in napari's activity dock.

Problems (a non-image layer, mismatched shapes, an unwritable folder) are
shown as a napari error notification naming the layers or folder; nothing
is written and the writer returns ``[]``, which napari reports as a failed
save.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .. import naming
from ..errors import Cancelled, NapariVivError


def viv_path(path) -> Path:
    """Return the ``.ome.tif`` path napari-viv writes for what the user typed.

    Same rule as the core writer: a lowercase ``.ome.tif``/``.ome.tiff``
    (Avivator matches it case-sensitively); ``x.tif`` becomes ``x.ome.tif``
    and a name without extension gets ``.ome.tif``.
    """
    return naming.output_path(Path(os.fspath(path)).expanduser())


def write_layers(path: str, layer_data: list[tuple]) -> list[str]:
    """npe2 multi-layer writer; returns the written .ome.tif, offsets.json and view.json."""
    from napari.utils.notifications import show_error, show_info

    from ..text import one_line

    target = viv_path(path)
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
    written = _export_with_progress(inp, target)
    from .scene import publish_scene

    written += publish_scene(target, prepared, inp.metadata.axes, written)
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


def _export_with_progress(inp, target: Path) -> list[Path]:
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
