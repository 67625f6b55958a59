"""A static folder server on loopback that answers byte ranges (what zarrita asks of shards).

Python's ``http.server`` ignores ``Range``; zarrita reads a Zarr v3 shard's
index with a suffix range (``bytes=-N``) and each chunk with ``bytes=A-B``, so
a store served without ranges decodes wrongly. This handler answers
``bytes=A-B``, ``bytes=A-`` and ``bytes=-N`` with 206 and ``Content-Range``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files of ``directory``; a single byte range gets 206."""

    def log_message(self, *args) -> None:  # noqa: D102 - quiet
        pass

    def send_head(self):  # noqa: D102 - SimpleHTTPRequestHandler's hook
        match = _RANGE.match(self.headers.get("Range", "").strip())
        path = self.translate_path(self.path)
        if match is None or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(size - 1, int(last)) if last else size - 1
        if start > end or start >= size:
            self.send_error(416)
            return None
        f = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return f

    def copyfile(self, source, outputfile) -> None:  # noqa: D102 - only the range's bytes
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(remaining))
        self._remaining = None
        return None


@contextlib.contextmanager
def serve_folder(folder) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1; yield its base URL; stop on exit."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
