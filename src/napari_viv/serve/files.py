"""Answering GET and HEAD for one served file: validators, Range, body.

aiohttp parses the request (``http_range``, ``if_match``,
``if_none_match``, ``if_modified_since``, ``if_unmodified_since``,
``if_range``); this module applies that to the file, opened anew for each
request, and answers (200/206/304/412/416, HEAD). A 64 KiB range is one
``read`` on the loop and one write, with no thread hop; long bodies are
streamed from a worker thread.

Why not ``aiohttp.web.FileResponse``, which handles Range and the
conditional headers itself? As of aiohttp 3.14 it breaks four promises
this server makes (each pinned by ``tests/core/serve/test_server.py``):

* with ``Accept-Encoding: gzip`` or ``br`` it sends a ``.gz``/``.br``
  sibling of the file instead of the file, if one exists;
* its ETag is mtime and size only, so a re-export of the same size within
  the clock's resolution keeps the old ETag (304 for a stale cache); ours
  includes the inode, which ``os.replace()`` changes;
* it ignores an entity tag in ``If-Range`` (dates only), so a client
  holding the old version gets a range of the new one, where RFC 9110
  section 13.1.5 sends the whole new file (fixed upstream after 3.14);
* a file cut short while ``sendfile`` runs leaves a keep-alive connection
  waiting for bytes that never come; we close it and log why.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import stat
from collections.abc import Callable
from pathlib import Path

from . import viewer

log = logging.getLogger("napari_viv.serve.server")  # one logger for the whole server

#: Bodies up to this size are read in one piece on the event loop (Viv's
#: 64 KiB tiles, the sidecars, the viewer); longer ones are streamed.
INLINE_BODY = 1 << 20
_CHUNK = 1 << 20
#: O_NONBLOCK: a served name replaced by a FIFO must not hang the loop in open().
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def plain(status: int, headers: dict[str, str], text: str | None = None):
    """Make a short answer with no file behind it (errors, preflight).

    Parameters
    ----------
    status : int
        The HTTP status.
    headers : dict
        Headers to send (CORS included).
    text : str, optional
        A one-line body.

    Returns
    -------
    aiohttp.web.Response
    """
    from aiohttp import web

    return web.Response(status=status, text=text, headers=headers)


async def send_file(request, path: Path, headers: dict[str, str], count: Callable[[int], None]):
    """Answer GET/HEAD for ``path``, opened anew for this request.

    Parameters
    ----------
    request : aiohttp.web.BaseRequest
        The request (its Range and conditional headers are honoured).
    path : Path
        The file (a served file, sidecar or viewer asset).
    headers : dict
        Headers every answer carries (CORS).
    count : callable
        ``count(body_bytes)``, called once the answer is complete; not
        called when the client hung up or the body was cut short.

    Returns
    -------
    aiohttp.web.StreamResponse
        The answer, already sent.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (PermissionError, IsADirectoryError):
        return _empty(403, headers, count)
    except OSError:  # gone (a sidecar not written yet), a dangling link, ...
        return _empty(404, headers, count)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # turned into a folder, a FIFO, a device
        os.close(fd)
        return _empty(403, headers, count)
    with open(fd, "rb", buffering=0) as f:  # noqa: ASYNC230 (an fd, already open)
        etag = _etag(st)
        status, span = decide(request, st, etag)
        if status == 412:
            return _empty(status, headers, count)
        if status == 416:
            return _empty(status, {**headers, "Content-Range": f"bytes */{st.st_size}"}, count)
        return await _respond(request, f, path, st, status, span, headers, count)


async def _respond(request, f, path: Path, st, status: int, span: range, headers, count):
    """Send the headers and, for GET, the bytes in ``span`` of the open file ``f``."""
    from aiohttp import web

    headers = {**headers, "Accept-Ranges": "bytes"}
    if status == 206:
        headers["Content-Range"] = f"bytes {span.start}-{span.stop - 1}/{st.st_size}"
    length = len(span)
    body = request.method == "GET" and status != 304 and length > 0
    if body and length <= INLINE_BODY:  # Viv's ranges: one read, one write
        f.seek(span.start)
        data = f.read(length)
        if len(data) != length:
            raise OSError(f"{path} shrank while being read")
        response: web.StreamResponse = web.Response(body=data, status=status, headers=headers)
    else:
        response = web.StreamResponse(status=status, headers=headers)
        if status != 304:
            response.content_length = length
    response.etag = _etag(st)
    response.last_modified = st.st_mtime
    set_content_type(response, path)
    try:
        await response.prepare(request)
        if body and length > INLINE_BODY and not await _stream(response, f, span, path):
            return response  # cut short: not counted
        await response.write_eof()
    except ConnectionError:  # the client hung up: nothing to answer, not counted
        return response
    count(length if body else 0)
    return response


def _empty(status: int, headers: dict[str, str], count: Callable[[int], None]):
    count(0)
    return plain(status, headers)


def set_content_type(response, path: Path) -> None:
    """Set the Content-Type of ``path`` (and the page's CSP for our viewer's page).

    Parameters
    ----------
    response : aiohttp.web.StreamResponse
        The response, not yet prepared.
    path : Path
        The file it sends.
    """
    name = path.name.lower()
    if name.endswith(".json"):
        response.content_type = "application/json"
    elif name.endswith((".tif", ".tiff")):
        response.content_type = "image/tiff"
    elif path.parent == viewer.VIEWER_DIR:
        response.content_type = viewer.CONTENT_TYPES[path.suffix]
        response.charset = "utf-8"
        if path.suffix == ".html":
            response.headers["Content-Security-Policy"] = viewer.CONTENT_SECURITY_POLICY
    else:
        kind, encoding = mimetypes.guess_type(path.name)
        response.content_type = kind if kind and not encoding else "application/octet-stream"


async def _stream(response, f, span: range, path: Path) -> bool:
    """Send a long body in pieces read on a worker thread.

    The loop keeps answering Viv's small ranges meanwhile. False if it was
    cut short: the file shrank or could not be read after the headers went
    out, so the connection is closed to tell the client.
    """
    loop = asyncio.get_running_loop()
    offset, end = span.start, span.stop
    while offset < end:
        try:
            data = await loop.run_in_executor(None, _read_at, f, offset, min(_CHUNK, end - offset))
        except OSError as exc:
            data, problem = b"", exc.strerror or str(exc)
        else:
            problem = "it shrank while being sent"
        if not data:
            log.warning("%s: %s; closing the connection", path, problem)
            response.force_close()
            return False
        await response.write(data)
        offset += len(data)
    return True


def _read_at(f, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _etag(st: os.stat_result) -> str:
    """Name this version of the file: a replacement (new inode) or a rewrite (new mtime or size) changes it."""
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def decide(request, st: os.stat_result, etag: str) -> tuple[int, range]:
    """Decide the status of a GET/HEAD and the bytes to send (RFC 9110 sections 13-14).

    Parameters
    ----------
    request : aiohttp.web.BaseRequest
        Its headers, as aiohttp parses them.
    st : os.stat_result
        The opened file's stat.
    etag : str
        The file's entity tag.

    Returns
    -------
    tuple
        ``(status, range of byte offsets)``: 200, 206, 304, 412 or 416.
    """
    everything = range(st.st_size)

    def listed(tags, *, weak: bool) -> bool:
        return any(t.value in ("*", etag) and (weak or not t.is_weak) for t in tags)

    if_match = request.if_match
    if if_match is not None and not listed(if_match, weak=False):
        return 412, everything
    since = None if if_match is not None else request.if_unmodified_since
    if since is not None and st.st_mtime > since.timestamp():
        return 412, everything
    if_none_match = request.if_none_match
    if if_none_match is not None and listed(if_none_match, weak=True):
        return 304, everything
    since = None if if_none_match is not None else request.if_modified_since
    if since is not None and st.st_mtime <= since.timestamp():
        return 304, everything
    if "Range" not in request.headers or not _if_range_holds(request, st, etag):
        return 200, everything
    try:
        wanted = request.http_range
    except ValueError:  # malformed, or several ranges: not served
        return 416, everything
    span = everything[wanted]  # clips the end and resolves a suffix range
    if not span:
        return 416, everything
    return 206, span


def _if_range_holds(request, st: os.stat_result, etag: str) -> bool:
    """Tell whether the Range applies: no If-Range, or it names this version."""
    value = request.headers.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"'):
        return value == f'"{etag}"'
    if value.startswith("W/"):
        return False  # a weak tag never validates a range
    date = request.if_range
    return date is not None and st.st_mtime <= date.timestamp()
