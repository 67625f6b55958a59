"""Running one export from the *Export to Viv* panel in the background.

:class:`ExportJob` runs :func:`napari_viv.write.writer.export_pyramid` in a
napari ``thread_worker`` (created with ``create_worker``). Progress goes
through a Qt signal, so it reaches the GUI thread whichever thread the
writer reports from, throttled to about :data:`PROGRESS_STEPS` updates per
export. Cancel sets an event the writer polls; the writer then removes
everything it wrote.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import Cancelled, NapariVivError
from ..text import one_line

log = logging.getLogger(__name__)

#: Progress signals are throttled to about this many per export.
PROGRESS_STEPS = 400


def _relay():
    """Make a QObject whose signal carries progress from any thread to the GUI."""
    from qtpy.QtCore import QObject, Signal

    class Relay(QObject):
        progressed = Signal(int, int)

    return Relay()


def run_export(data, path: Path, options: dict, relay, cancel_event: threading.Event) -> tuple[str, object]:
    """Export ``data`` to ``path``; the worker's body, which never raises.

    Parameters
    ----------
    data : array-like or list of array-likes
        What ``export_pyramid`` takes (a plain list of levels for multiscale layers).
    path : Path
        The ``.ome.tif`` to write.
    options : dict
        The other keyword arguments of ``export_pyramid``.
    relay : QObject
        Its ``progressed(done, total)`` signal carries the progress.
    cancel_event : threading.Event
        Set to cancel.

    Returns
    -------
    tuple
        ``("done", [written paths])``, ``("cancelled", text)`` or ``("error", one line)``.
    """
    from ..write.writer import export_pyramid

    step = [0]

    def progress(done, total):
        every = max(1, total // PROGRESS_STEPS)
        if done >= total or done - step[0] >= every:
            step[0] = done
            relay.progressed.emit(int(done), int(total))

    try:
        result = export_pyramid(data, path, progress=progress, cancel=cancel_event.is_set, **options)
    except Cancelled as exc:
        return "cancelled", str(exc)
    except NapariVivError as exc:
        return "error", one_line(exc)
    except MemoryError:
        return "error", str(NapariVivError("not enough memory for this export", subject=path))
    except Exception as exc:  # a bug: keep the UI alive, log the traceback
        log.exception("export to %s failed", path)
        problem = f"export failed ({type(exc).__name__}: {exc})"
        return "error", one_line(NapariVivError(problem, subject=path))
    return "done", [str(p) for p in result.paths]


class ExportJob:
    """One export at a time, in a napari thread worker.

    Parameters
    ----------
    on_progress : callable
        ``on_progress(done, total)``, on the GUI thread.
    on_returned : callable
        ``on_returned((status, value))`` with what :func:`run_export` returned.
    on_finished : callable
        Called with no argument once the worker has ended.
    """

    def __init__(
        self,
        on_progress: Callable[[int, int], None],
        on_returned: Callable[[tuple], None],
        on_finished: Callable[[], None],
    ) -> None:
        self.worker = None  #: the running thread_worker, if any
        self.cancel_event = threading.Event()
        # not a child of the panel: the worker may outlive it (and then cancels)
        self._relay = _relay()
        self._relay.progressed.connect(on_progress)
        self._on_returned = on_returned
        self._on_finished = on_finished

    @property
    def busy(self) -> bool:
        """Whether an export is running."""
        return self.worker is not None

    @property
    def cancelling(self) -> bool:
        """Whether cancel was asked for."""
        return self.cancel_event.is_set()

    def start(self, data, path: Path, options: dict, scene: tuple | None = None) -> None:
        """Start exporting ``data`` to ``path`` with ``options`` (see :func:`run_export`).

        ``scene``: ``(prepared, axes)`` from :func:`.scene.prepare_scene`, whose labels,
        points and shapes are written after the image (all removed if that fails).
        """
        from napari.qt.threading import create_worker

        from .scene_panel import run_export_with_scene

        self.cancel_event.clear()
        args = (data, path, options, self._relay, self.cancel_event)
        if scene is None:
            worker = create_worker(run_export, *args, _start_thread=False)
        else:
            worker = create_worker(run_export_with_scene, run_export, *args, *scene, _start_thread=False)
        worker.returned.connect(self._on_returned)
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()

    def cancel(self) -> None:
        """Ask the running export to stop."""
        self.cancel_event.set()

    def _finished(self) -> None:
        self.worker = None
        self._on_finished()
