"""The view file ``<stem>.view.json``: how the image looked, for our viewer and napari.

Format version 1 (documented in docs/view-file.md)::

    {"version": 1,
     "channels": [{"name": "DAPI", "color": [0, 90, 255], "contrast_limits": [120, 3400],
                   "visible": true, "gamma": 0.8}, ...],
     "camera": {"center": [x, y], "extent": [w, h]}}   # or "zoom": z instead of "extent"

Channels are matched by position. Every field is optional; a file is written
only when the metadata carries something to show (colours, limits,
visibility, gamma or a camera), so ``convert`` of a file with no display
information writes none.
"""

from __future__ import annotations

import json
import math

from .metadata import ImageMetadata

VERSION = 1


def _number(x: float):
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def view_document(md: ImageMetadata, nchannels: int) -> dict | None:
    """Return the view file's content for ``md``, or None when there is nothing to say.

    Parameters
    ----------
    md : ImageMetadata
        Channel names, colours, contrast limits, visibility, gamma and camera.
    nchannels : int
        How many channels the image has (entries are matched by position).

    Returns
    -------
    dict or None
        The version-1 document, or None when ``md`` holds nothing to show.

    Examples
    --------
    >>> view_document(ImageMetadata(channel_colors=[(0, 0, 255)]), 1)
    {'version': 1, 'channels': [{'color': [0, 0, 255]}]}
    >>> view_document(ImageMetadata(channel_names=["DAPI"]), 1) is None
    True
    """
    channels = []
    for c in range(nchannels):
        entry: dict = {}
        if md.channel_names and c < len(md.channel_names) and md.channel_names[c]:
            entry["name"] = str(md.channel_names[c])
        color = md.channel_colors[c] if md.channel_colors and c < len(md.channel_colors) else None
        if color is not None:
            entry["color"] = [int(v) for v in color]
        if md.contrast_limits and c < len(md.contrast_limits) and md.contrast_limits[c] is not None:
            lo, hi = md.contrast_limits[c]
            if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
                entry["contrast_limits"] = [_number(lo), _number(hi)]
        if md.channel_visible and c < len(md.channel_visible) and md.channel_visible[c] is not None:
            entry["visible"] = bool(md.channel_visible[c])
        if md.channel_gamma and c < len(md.channel_gamma):
            g = md.channel_gamma[c]
            if g is not None and math.isfinite(g) and g > 0 and g != 1:
                entry["gamma"] = float(g)
        channels.append(entry)
    shown = any(k in e for e in channels for k in ("color", "contrast_limits", "visible", "gamma"))
    doc: dict = {"version": VERSION}
    if shown:
        doc["channels"] = channels
    camera = camera_entry(md.camera)
    if camera:
        doc["camera"] = camera
    return doc if len(doc) > 1 else None


def camera_entry(cam: dict | None) -> dict | None:
    """Build the view file's ``camera`` from ``ImageMetadata.camera``; None when it has none.

    A camera is a ``center`` (x, y) with an ``extent`` (the visible field's width
    and height in level-0 pixels, so a window of any size shows the same region),
    a ``zoom`` (deck.gl's log2 scale, tied to one window size), or both.

    Parameters
    ----------
    cam : dict or None
        ``{"center": (x, y), "extent": (w, h)}`` and/or ``"zoom": z``.

    Returns
    -------
    dict or None
        The JSON-ready entry; None when ``cam`` has no centre or neither
        a positive extent nor a zoom.

    Examples
    --------
    >>> camera_entry({"center": (10.0, 20.5), "extent": (64, 48.0)})
    {'center': [10, 20.5], 'extent': [64, 48]}
    >>> camera_entry({"center": (1, 2)}) is None
    True
    """
    cam = cam or {}
    if "center" not in cam:
        return None
    x, y = cam["center"]
    out: dict = {"center": [_number(x), _number(y)]}
    extent = cam.get("extent")
    if extent is not None and all(math.isfinite(float(v)) and float(v) > 0 for v in extent):
        out["extent"] = [_number(v) for v in extent]
    if cam.get("zoom") is not None:
        out["zoom"] = float(cam["zoom"])
    return out if len(out) > 1 else None


def view_json(doc: dict) -> bytes:
    """Return the bytes written: one channel per line, so the file reads and diffs well.

    Parameters
    ----------
    doc : dict
        A document from :func:`view_document`.

    Returns
    -------
    bytes
        UTF-8 JSON.

    Examples
    --------
    >>> print(view_json({"version": 1, "channels": [{"name": "DAPI"}]}).decode(), end="")
    {"version": 1,
    "channels": [
      {"name": "DAPI"}
    ]}
    """
    parts = [f'"version": {doc["version"]}']
    if "channels" in doc:
        rows = ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in doc["channels"])
        parts.append(f'"channels": [\n{rows}\n]')
    if "camera" in doc:
        parts.append(f'"camera": {json.dumps(doc["camera"])}')
    return ("{" + ",\n".join(parts) + "}\n").encode()


def read_view(path) -> dict | None:
    """Read a view file's content, or None if absent or not a version-1 view file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``<stem>.view.json`` file.

    Returns
    -------
    dict or None
        The document, or None when the file is missing, not JSON or not version 1.

    Examples
    --------
    >>> read_view("/nonexistent/cells.view.json") is None
    True
    """
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return None
    return doc


def apply_view(md: ImageMetadata, doc: dict | None, nchannels: int) -> ImageMetadata:
    """Return ``md`` with the look a view file records (invalid fields are skipped).

    Names from the image itself win; the view's names only fill gaps.

    Parameters
    ----------
    md : ImageMetadata
        The image's own metadata (left unchanged).
    doc : dict or None
        A document from :func:`read_view`.
    nchannels : int
        How many channels the image has.

    Returns
    -------
    ImageMetadata
        A copy with colours, limits, visibility, gamma, camera (and missing names) applied.

    Examples
    --------
    >>> doc = {"version": 1, "channels": [{"color": [255, 0, 0], "name": "CD3"}]}
    >>> md = apply_view(ImageMetadata(channel_names=["DAPI"]), doc, 1)
    >>> md.channel_colors, md.channel_names
    ([(255, 0, 0)], ['DAPI'])
    """
    from dataclasses import replace

    if not doc:
        return md
    out = replace(md)
    listed: list = doc["channels"] if isinstance(doc.get("channels"), list) else []
    entries = [e if isinstance(e, dict) else {} for e in listed[:nchannels]]
    entries += [{}] * (nchannels - len(entries))

    def column(key, check, old):
        old = list(old) if old else [None] * nchannels
        old += [None] * (nchannels - len(old))
        values = [e[key] if key in e and check(e[key]) else old[i] for i, e in enumerate(entries)]
        return values if any(v is not None for v in values) else None

    def is_color(v):
        return isinstance(v, list) and len(v) == 3 and all(isinstance(x, int) and 0 <= x <= 255 for x in v)

    def is_limits(v):
        return isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) and v[0] <= v[1]

    colors = column("color", is_color, md.channel_colors)
    out.channel_colors = [tuple(c) if c is not None else None for c in colors] if colors else md.channel_colors
    limits = column("contrast_limits", is_limits, md.contrast_limits)
    if limits and all(v is not None for v in limits):
        out.contrast_limits = [(float(v[0]), float(v[1])) for v in limits]
    out.channel_visible = column("visible", lambda v: isinstance(v, bool), md.channel_visible)
    out.channel_gamma = column("gamma", lambda v: isinstance(v, (int, float)) and v > 0, md.channel_gamma)
    names = column("name", lambda v: isinstance(v, str) and v, None)
    if names:
        mine = list(md.channel_names or []) + [None] * nchannels
        out.channel_names = [mine[i] or names[i] or f"Channel {i}" for i in range(nchannels)]
    out.camera = _read_camera(doc.get("camera"))
    return out


def _read_camera(cam) -> dict | None:
    """``ImageMetadata.camera`` from a view file's ``camera`` (None when unusable)."""

    def pair(v, positive=False):
        return (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, (int, float)) and (x > 0 or not positive) for x in v)
        )

    if not isinstance(cam, dict) or not pair(cam.get("center")):
        return None
    out: dict = {"center": tuple(float(v) for v in cam["center"])}
    if pair(cam.get("extent"), positive=True):
        out["extent"] = tuple(float(v) for v in cam["extent"])
    if isinstance(cam.get("zoom"), (int, float)):
        out["zoom"] = float(cam["zoom"])
    return out if len(out) > 1 else None
