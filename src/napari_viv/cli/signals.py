"""Ctrl-C (SIGINT) and SIGTERM for the commands: :class:`Stop`.

``convert`` and ``batch`` hand :meth:`Stop.is_set` to the writer as its
``cancel``; ``serve`` and ``demo`` block in :meth:`Stop.wait` until a signal
comes. A stopped command exits with :attr:`Stop.exit_status`.
"""

from __future__ import annotations

import signal
import threading
import time


class Stop:
    """Ctrl-C (SIGINT) or SIGTERM: the first sets :attr:`event`; with ``twice``, a second one interrupts.

    Used as a context manager (or with :meth:`install` / :meth:`restore`).
    Off the main thread no handler can be installed and none is. The exit
    status of a stopped command is :attr:`exit_status`.

    Parameters
    ----------
    twice : bool
        A second signal raises KeyboardInterrupt (stop at once, not cleanly).

    Examples
    --------
    >>> import os
    >>> with Stop() as stop:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     stop.event.wait(5)
    True
    >>> stop.exit_status
    143
    """

    def __init__(self, *, twice: bool = True) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.twice = twice
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        """Catch SIGINT and SIGTERM (main thread only)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread (e.g. run from a test thread)
                return

    def restore(self) -> None:
        """Put back the handlers there were before :meth:`install`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def __enter__(self) -> Stop:
        """Install the handlers."""
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        """Restore the handlers."""
        self.restore()

    def is_set(self) -> bool:
        """Whether a signal came (a ``cancel`` callable for the writer)."""
        return self.event.is_set()

    #: Seconds between looks at the event in :meth:`wait`.
    poll = 0.1

    def wait(self) -> None:
        """Block until a signal comes.

        It sleeps and looks instead of calling ``event.wait``: the handler runs
        on this thread and sets the event, and ``Event.wait`` holds the event's
        lock as its timeout ends, so a signal arriving then made ``Event.set``
        wait for that lock forever (``napari-viv serve`` once hung on Ctrl-C so).
        """
        while not self.event.is_set():
            time.sleep(self.poll)

    @property
    def exit_status(self) -> int:
        """128 + the signal: 130 for Ctrl-C, 143 for SIGTERM."""
        return 128 + int(self.signum or signal.SIGINT)

    def _handler(self, signum, frame) -> None:
        if self.twice and self.event.is_set():
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()
