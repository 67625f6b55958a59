"""The published site's layout and its viewer page.

One image: the page (``index.html``), the viewer's script and style, the
image and its sidecars, all side by side. An OME-Zarr store goes up key by
key, as a folder of the same name (``x.ome.zarr/...``), its view file beside it. Several images: the viewer's assets
and a gallery at the top, and one folder per image holding its page, its
files and a thumbnail. Every URL in a page is relative, so the site works
wherever it is copied. The page names its image in a small JSON block
(``<script type="application/json" id="napari-viv-site">``), so it opens with
no query string. A private (presigned) page carries the script and style
inline, because its neighbours cannot be fetched without a signature.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .. import naming
from ..serve.viewer import VIEWER_DIR

#: Content types the checks expect and the uploads declare.
CONTENT_TYPES = {
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: Zarr v2's metadata documents: JSON, though their names have no suffix.
ZARR_JSON_NAMES = (".zattrs", ".zarray", ".zgroup", ".zmetadata")
PAGE = "index.html"
ASSETS = ("viewer.js", "viewer.css")
CONFIG_ID = "napari-viv-site"

_CSP = (
    "default-src 'self'; connect-src {connect}; script-src {script} 'wasm-unsafe-eval'; style-src {style}; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'"
)


def content_type(name: str) -> str:
    """Give the Content-Type of a published file name.

    Examples
    --------
    >>> content_type("a b.ome.tif"), content_type("viewer.js"), content_type("a.ome.zarr/0/.zarray")
    ('image/tiff', 'text/javascript; charset=utf-8', 'application/json')
    """
    if Path(name).name in ZARR_JSON_NAMES:
        return CONTENT_TYPES[".json"]
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class SiteFile:
    """One file of the site: its name at the destination and where its bytes are here."""

    name: str
    source: Path
    role: str  # "data" (image, sidecars, thumbnails), "asset" (viewer), "page" (pages, gallery: last)

    @property
    def content_type(self) -> str:
        """The Content-Type it is uploaded with."""
        return content_type(self.name)


@dataclass(frozen=True)
class ImageEntry:
    """One published image (an ``.ome.tif`` or an OME-Zarr store): its folder in the site ("" for one image)."""

    image: Path
    folder: str

    @property
    def is_store(self) -> bool:
        """Whether the image is an OME-Zarr store (a folder published key by key)."""
        return self.image.is_dir()

    def store_files(self) -> list[Path]:
        """Every file of the store, sorted (none for an ``.ome.tif``)."""
        return sorted(p for p in self.image.rglob("*") if p.is_file()) if self.is_store else []

    @property
    def nbytes(self) -> int:
        """The image's size: the file's, or the sum of the store's files."""
        return sum(p.stat().st_size for p in self.store_files()) if self.is_store else self.image.stat().st_size

    def name(self, filename: str) -> str:
        """``filename`` inside this image's folder."""
        return f"{self.folder}/{filename}" if self.folder else filename

    @property
    def sidecars(self) -> dict[str, Path | None]:
        """The offsets and view files beside the image (None when missing)."""
        offsets, view = naming.offsets_path(self.image), naming.view_path(self.image)
        return {
            "offsets": offsets if offsets.is_file() and not self.is_store else None,  # a store has none
            "viewfile": view if view.is_file() else None,
        }

    def data_files(self) -> list[SiteFile]:
        """List the image and every sidecar beside it as site files.

        Besides the offsets and view files, the scene's sidecars travel too
        (:func:`napari_viv.naming.sidecar_paths`: points and shapes, label
        pyramids and their offsets), so a published page draws them as ``serve`` does.
        A store contributes every key, each its own file (``x.ome.zarr/0/0/0/0``).
        """
        if self.is_store:
            files = [
                SiteFile(self.name(f"{self.image.name}/{p.relative_to(self.image).as_posix()}"), p, "data")
                for p in self.store_files()
            ]
        else:
            files = [SiteFile(self.name(self.image.name), self.image, "data")]
        known = [p for p in self.sidecars.values() if p is not None]
        files += [SiteFile(self.name(p.name), p, "data") for p in known]
        files += [
            SiteFile(self.name(p.name), p, "data")
            for p in naming.sidecar_paths(self.image)
            if p.is_file() and p not in known and not (self.is_store and p == naming.offsets_path(self.image))
        ]
        return files


def entries_for(images: list[Path]) -> list[ImageEntry]:
    """Lay out ``images``: at the top for one, one folder per image (by its stem) for several."""
    if len(images) == 1:
        return [ImageEntry(images[0], "")]
    used: set[str] = set()
    entries = []
    for image in images:
        folder = naming.file_stem_for(naming.stem(image))
        base, n = folder, 2
        while folder in used:
            folder, n = f"{base}-{n}", n + 1
        used.add(folder)
        entries.append(ImageEntry(image, folder))
    return entries


def asset_files(folder: str = "") -> list[SiteFile]:
    """List the viewer's script and style (shared by every page of the site)."""
    return [SiteFile(f"{folder}/{a}" if folder else a, VIEWER_DIR / a, "asset") for a in ASSETS]


def _sha(data: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode() + "'"


def viewer_page(config: dict, *, assets: str = "", inline: bool = False, title: str = "napari-viv viewer") -> bytes:
    """Make the viewer page for one image, named in its embedded ``config``.

    Parameters
    ----------
    config : dict
        ``image`` (required), ``offsets`` and ``viewfile``: URLs relative to the
        page, or absolute (presigned ones, for example).
    assets : str
        The relative folder of ``viewer.js`` and ``viewer.css`` ("" or "../").
    inline : bool
        Put the script and style in the page (a presigned page has no readable neighbours).
    title : str
        The page's title until the image is read.

    Returns
    -------
    bytes
        The HTML page.

    Examples
    --------
    >>> page = viewer_page({"image": "a.ome.tif"}, assets="../").decode()
    >>> '<script src="../viewer.js"></script>' in page and '"image": "a.ome.tif"' in page
    True
    """
    # Data may come from any origin: the config's, or one named in the link's fragment
    # (#image=URL), as with Avivator. Scripts and styles stay the page's own.
    connect = "*"
    data = json.dumps(config, indent=1).replace("<", "\\u003c")
    block = f'<script type="application/json" id="{CONFIG_ID}">\n{data}\n</script>'
    if inline:
        script = (VIEWER_DIR / "viewer.js").read_bytes()
        style = (VIEWER_DIR / "viewer.css").read_bytes()
        csp = _CSP.format(connect=connect, script=_sha(script), style=_sha(style))
        head = f"<style>{style.decode()}</style>"
        body = f"<script>{script.decode()}</script>"
    else:
        csp = _CSP.format(connect=connect, script="'self'", style="'self'")
        head = f'<link rel="stylesheet" href="{assets}viewer.css">'
        body = f'<script src="{assets}viewer.js"></script>'
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
            f"<title>{html.escape(title)}</title>",
            '<link rel="icon" href="data:,">',
            head,
            "</head>",
            '<body data-status="loading">',
            '<div id="app"></div>',
            '<noscript><p id="error">This viewer needs JavaScript.</p></noscript>',
            block,
            body,
            "</body>",
            "</html>",
            "",
        ]
    ).encode()


def relative_config(entry: ImageEntry) -> dict:
    """Make the page config naming the image and its sidecars relative to the page beside them."""
    side = entry.sidecars
    return {
        "image": quote(entry.image.name),
        "offsets": quote(side["offsets"].name) if side["offsets"] else "",
        "viewfile": quote(side["viewfile"].name) if side["viewfile"] else "",
    }
