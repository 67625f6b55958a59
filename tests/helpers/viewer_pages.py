"""The bundled viewer page in a real headless Chromium, on a throwaway site.

Nothing here uses napari_viv: the site is a small aiohttp app (its
FileResponse answers Range requests with 206) that serves the built page
from src/napari_viv/serve/viewer_dist/ at ``/`` and the files of one folder
at ``/<name>``. Chromium runs with SwiftShader, so WebGL2 works without a GPU,
and is driven over the DevTools protocol. Test images are written with
tifffile: tiled, pyramidal (SubIFDs), OME-XML in the first IFD.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
VIEWER_DIST = REPO / "src" / "napari_viv" / "serve" / "viewer_dist"
PAGE_FILES = {
    "/": ("text/html; charset=utf-8", "index.html"),
    "/index.html": ("text/html; charset=utf-8", "index.html"),
    "/viewer.js": ("text/javascript; charset=utf-8", "viewer.js"),
    "/viewer.css": ("text/css; charset=utf-8", "viewer.css"),
}
# WebGL2 in software; and no attempt to reach anything but the test site.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--window-size=1280,800",
]
VIEWPORT = (1280, 800)
PANEL_WIDTH = 280  # the viewer's side panel; the canvas is to its right
TIMEOUT = 60.0


# OME Channel Color is a signed 32-bit RGBA integer.
def ome_color(r: int, g: int, b: int, a: int = 255) -> int:
    value = (r << 24) | (g << 16) | (b << 8) | a
    return value - (1 << 32) if value >= 1 << 31 else value


# ---------------------------------------------------------------- test images


def write_pyramid(
    path: Path,
    data: np.ndarray,
    axes: str,
    *,
    levels: int,
    tile: int = 256,
    channel: dict | None = None,
    rgb: bool = False,
    extra: dict | None = None,
    offsets: bool = True,
) -> Path:
    """A Viv-readable pyramid: level 0 plus ``levels - 1`` SubIFDs, each half the size."""
    import tifffile

    pyramid = [data]
    for _ in range(levels - 1):
        prev = pyramid[-1]
        y, x = (axes.index("Y"), axes.index("X"))
        index = [slice(None)] * prev.ndim
        index[y] = slice(0, prev.shape[y] // 2 * 2, 2)
        index[x] = slice(0, prev.shape[x] // 2 * 2, 2)
        pyramid.append(np.ascontiguousarray(prev[tuple(index)]))
    metadata = {
        "axes": axes,
        "Name": path.name.split(".")[0],
        "PhysicalSizeX": 0.5,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": 0.5,
        "PhysicalSizeYUnit": "µm",
    }
    if channel:
        metadata["Channel"] = channel
    metadata.update(extra or {})
    kw = dict(tile=(tile, tile), compression="zlib", photometric="rgb" if rgb else "minisblack")
    if not rgb:
        kw["predictor"] = True
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(pyramid[0], subifds=levels - 1, metadata=metadata, **kw)
        for level in pyramid[1:]:
            tif.write(level, subfiletype=1, metadata=None, **kw)
    if offsets:
        with tifffile.TiffFile(path) as t:
            offs = [page.offset for page in t.pages]
        stem = str(path)[: -len(".ome.tif")]
        Path(stem + ".offsets.json").write_text(json.dumps(offs))
    return path


BRIGHT = 40000  # the lit third of each channel of the stripes image


def stripes_image(path: Path, *, size: int = 1024, offsets: bool = True) -> Path:
    """3 uint16 channels: 0 lit in the left third, 1 in the middle, 2 on the right;
    OME colours red, green, blue."""
    data = np.zeros((3, size, size), np.uint16)
    third = size // 3
    for c in range(3):
        data[c, :, c * third : (c + 1) * third if c < 2 else size] = BRIGHT
    return write_pyramid(
        path,
        data,
        "CYX",
        levels=3,
        offsets=offsets,
        channel={
            "Name": ["left", "middle", "right"],
            "Color": [ome_color(255, 0, 0), ome_color(0, 255, 0), ome_color(0, 0, 255)],
        },
    )


# ---------------------------------------------------------------- the site


class ViewerSite:
    """The built page at ``/`` and the files of ``folder`` at ``/<name>``, on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.log: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the test site did not start")
        self.origin = f"http://127.0.0.1:{self.port}"

    def _run(self):
        from aiohttp import web

        async def handle(request: web.Request):
            path = request.path
            response = await self._respond(web, path)
            self.log.append((path, request.headers.get("Range"), response.status))
            return response

        async def start():
            app = web.Application()
            app.router.add_get("/{tail:.*}", handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]

        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _respond(self, web, path: str):
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if path in PAGE_FILES:
            ctype, name = PAGE_FILES[path]
            return web.Response(body=(VIEWER_DIST / name).read_bytes(), headers={**headers, "Content-Type": ctype})
        name = path.lstrip("/")
        target = (self.folder / name).resolve()
        if "/" in name or not target.is_file() or target.parent != self.folder.resolve():
            return web.Response(status=404, text="not found", headers=headers)
        ctype = "application/json" if name.endswith(".json") else "image/tiff"
        return web.FileResponse(target, headers={**headers, "Content-Type": ctype})

    def close(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(20)


# ---------------------------------------------------------------- Chromium


class Page:
    """One tab, over the DevTools websocket: evaluate, wait, screenshot; records requests."""

    def __init__(self, ws, session: str):
        self._ws = ws
        self.session = session  # the DevTools session of the tab; set once attached
        self._counter = 0
        self._pending: dict[int, asyncio.Future] = {}
        self.requests: list[str] = []
        self.console: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append(str(data["params"]["exceptionDetails"].get("exception", {}).get("description")))

    def stop_reading(self) -> None:
        """Stop listening to the websocket (before it closes)."""
        self._reader.cancel()

    async def call(self, method: str, params: dict | None = None, *, browser: bool = False):
        self._counter += 1
        message = {"id": self._counter, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        future = asyncio.get_running_loop().create_future()
        self._pending[self._counter] = future
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, TIMEOUT)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def evaluate(self, expression: str):
        answer = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {expression}; console: {self.console[-5:]}")
            await asyncio.sleep(0.05)

    async def goto(self, url: str):
        await self.call("Page.navigate", {"url": url})

    async def wait_status(self, timeout: float = TIMEOUT) -> str:
        """Wait until the viewer says ``ready`` or ``error``; return which."""
        return await self.wait_for(
            "(() => { const s = document.body && document.body.dataset.status;"
            " return ['ready', 'error'].includes(s) && s; })()",
            timeout,
        )

    async def change(self, expression: str):
        """Evaluate ``expression`` (a change to the view), then wait for a complete frame after it.

        The frame count is read in the same evaluation as the change, so a
        frame drawn before this call returns is not missed (deck.gl draws only
        when something changes: waiting for "one more" frame could wait forever).
        """
        before, result = await self.evaluate(
            f"(() => {{ const f = window.__vivViewer.frames; return [f, ({expression})]; }})()"
        )
        await self.wait_for(f"window.__vivViewer.frames > {before} && window.__vivViewer.loaded")
        return result

    async def screenshot_png(self) -> bytes:
        import base64

        shot = await self.call("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(shot["data"])

    async def screenshot(self) -> np.ndarray:
        import imagecodecs

        return imagecodecs.png_decode(await self.screenshot_png())[..., :3]

    async def image_to_screen(self):
        """A function (x, y) in level-0 pixels -> (column, row) in the screenshot."""
        s = await self.evaluate(
            "(() => { const r = document.querySelector('.viewport').getBoundingClientRect();"
            " const s = window.__vivViewer.state();"
            " return {left: r.left, top: r.top, width: r.width, height: r.height, camera: s.camera}; })()"
        )
        scale = 2 ** s["camera"]["zoom"]
        cx, cy = s["camera"]["center"]

        def to_screen(x: float, y: float) -> tuple[int, int]:
            col = s["left"] + s["width"] / 2 + (x - cx) * scale
            row = s["top"] + s["height"] / 2 + (y - cy) * scale
            return int(round(col)), int(round(row))

        return to_screen


@contextlib.asynccontextmanager
async def devtools_browser(chromium: str, profile: Path, flags=CHROMIUM_FLAGS, *, timeout: float = TIMEOUT):
    """Start headless Chromium with the empty profile folder ``profile`` and
    ``flags`` (which must include ``--remote-debugging-port=0``) and attach
    over DevTools.

    Yields a :class:`Page` attached to no tab yet: its ``call(...,
    browser=True)`` reaches the browser; set ``page.session`` to talk to a
    tab. Afterwards the browser is closed (killed if it does not exit).
    Chromium's output goes to ``<profile>.log`` beside the profile.
    """
    import aiohttp

    log = (profile.parent / f"{profile.name}.log").open("wb")
    proc = subprocess.Popen(
        [chromium, *flags, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not open its DevTools port")
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().split()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as ws,
        ):
            page = Page(ws, "")
            try:
                yield page
            finally:
                # the browser may close the socket before it answers
                with contextlib.suppress(Exception):
                    await page.call("Browser.close", browser=True)
                page.stop_reading()
    finally:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


async def _session(chromium: str, profile: Path, url: str, body, flags=CHROMIUM_FLAGS):
    async with devtools_browser(chromium, profile, flags) as page:
        target = (await page.call("Target.createTarget", {"url": "about:blank"}, browser=True))["targetId"]
        page.session = (await page.call("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True))[
            "sessionId"
        ]
        await page.call("Network.enable")
        await page.call("Runtime.enable")
        await page.call("Page.enable")
        await page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
        )
        await page.goto(url)
        return await body(page)


def run_page(chromium: str, profile: Path, url: str, body, flags=CHROMIUM_FLAGS):
    """Fresh Chromium with an empty profile, open ``url``, ``await body(page)``, close.

    ``flags`` are Chromium's command-line flags (they must include
    ``--remote-debugging-port=0``).
    """
    profile.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_session(chromium, profile, url, body, flags))


def mean_rgb(shot: np.ndarray, col: int, row: int, radius: int = 3) -> np.ndarray:
    patch = shot[row - radius : row + radius + 1, col - radius : col + radius + 1]
    return patch.reshape(-1, 3).mean(axis=0)
