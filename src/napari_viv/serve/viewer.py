"""Our own Viv viewer page, served at the root of the same origin as the image.

The page and its bundle are built from ``viewer/`` (npm lockfile + esbuild) into
``viewer_dist/`` inside this package, so users never need Node. The server
routes exactly these names; the page reads ``?image=/<name>.ome.tif`` and
fetches the sidecars beside it (see :mod:`napari_viv.naming`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

#: The built page (committed; ``viewer/build.sh`` rebuilds it from the lockfile).
VIEWER_DIR = Path(__file__).with_name("viewer_dist")

#: URL name (``""`` is ``/``) -> file in VIEWER_DIR.
ASSETS = {"": "index.html", "viewer.js": "viewer.js", "viewer.css": "viewer.css"}

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}

#: Sent with the page: scripts, styles, data and workers from this origin only
#: (geotiff's decoders run in blob: workers; deck.gl needs no eval). Its LZW
#: decoder is WebAssembly, which needs 'wasm-unsafe-eval' (it allows compiling
#: WebAssembly, not JavaScript eval).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def asset_path(url_name: str) -> Path | None:
    """Find the viewer file behind ``/<url_name>``, or None if it is not a viewer route."""
    name = ASSETS.get(url_name)
    return None if name is None else VIEWER_DIR / name


def viewer_link(origin: str, image_name: str) -> str:
    """Build the link that opens ``image_name`` (served beside the page) in our viewer.

    >>> viewer_link("http://127.0.0.1:8000", "LuCa 7.ome.tif")
    'http://127.0.0.1:8000/?image=/LuCa%207.ome.tif'
    """
    return f"{origin}/?image=/{quote(image_name)}"
