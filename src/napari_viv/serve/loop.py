"""An aiohttp server on its own asyncio loop in a daemon thread.

:class:`ServerThread` binds a low-level ``aiohttp.web.Server`` to a host
and port and runs it until :meth:`ServerThread.stop`; both may be called
from any thread (a Qt widget, a CLI, a test). Stopping closes every
connection and releases the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from ..errors import NapariVivError

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class ServerThread:
    """Serve ``handler`` on ``host:port`` from a background thread.

    Parameters
    ----------
    handler : callable
        ``async handler(request) -> response``, for aiohttp's ``web.Server``.
    host : str
        The address to bind.
    port : int
        The port; 0 for a free one.
    """

    def __init__(self, handler: Callable[..., Awaitable], host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None  # the aiohttp ServerRunner while serving

    @property
    def running(self) -> bool:
        """Tell whether the loop's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> int:
        """Bind and serve; return the bound port.

        Returns
        -------
        int
            The port the socket is bound to.

        Raises
        ------
        NapariVivError
            When the address cannot be bound (the port is taken, say).
        """
        ready: Future = Future()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, args=(loop, ready), name="napari-viv-server", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            return ready.result(timeout=_START_TIMEOUT)
        except BaseException as exc:
            thread.join(timeout=_STOP_TIMEOUT)
            self._loop = self._thread = None
            if isinstance(exc, OSError):
                problem = f"cannot listen: {exc.strerror or exc}"
                raise NapariVivError(problem, subject=f"{self.host}:{self.requested_port}") from None
            raise

    def stop(self) -> None:
        """Stop the loop, close every connection and release the port (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("RangeServer.stop() cannot be called from its own loop")
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_STOP_TIMEOUT)
        self._loop = self._thread = None

    def _run(self, loop: asyncio.AbstractEventLoop, ready: Future) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                port = loop.run_until_complete(self._setup())
            except BaseException as exc:  # noqa: BLE001 - handed to the thread waiting in start()
                ready.set_exception(exc)
                return
            ready.set_result(port)
            loop.run_forever()
        finally:
            try:
                if self._runner is not None:
                    loop.run_until_complete(self._runner.cleanup())
                    self._runner = None
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    async def _setup(self) -> int:
        from aiohttp import web

        server = web.Server(self.handler, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=0.25, handle_signals=False)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self.requested_port, backlog=512)
        await site.start()
        return int(runner.addresses[0][1])
