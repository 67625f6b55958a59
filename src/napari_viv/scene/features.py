"""The points and shapes sidecar ``<stem>.features.geojson``: GeoJSON in the image's pixels.

Why GeoJSON in level-0 pixel coordinates: GeoJSON (RFC 7946) is the one vector
format that web tools (deck.gl's GeoJsonLayer, OpenLayers, Leaflet) and image
analysis tools (QuPath's export and import) all read, and pixel coordinates are
what the image file itself knows: they do not depend on napari's scale and
translate, and a viewer that draws the image in pixels (Viv, QuPath, OpenLayers
with a pixel projection) draws the features on it without any transform. The
file carries no ``crs``; RFC 7946 readers that assume longitude/latitude see
small numbers, which is the convention for images (QuPath does the same).

Layout (documented in docs/view-file.md)::

    {"type": "FeatureCollection",
     "napari_viv": {"version": 1, "layers": [{"name": ..., "type": "points" | "shapes",
                    "opacity": 1.0, "visible": true, "text": {...} | null}, ...]},
     "features": [{"type": "Feature", "geometry": {...},   # [x, y] in level-0 pixels
                   "properties": {"layer": 0, "shape_type": "ellipse", "fill_color": [r, g, b, a],
                                  "edge_color": [...], "edge_width": 1.0, "size": 10.0,
                                  "symbol": "disc", "z": 3, "t": 0, "text": "...",
                                  "vertices": [[x, y], ...], "features": {...}}}]}

Points are ``Point`` geometries (``size`` is the diameter in pixels). Shapes are
``Polygon`` (rectangle, ellipse, polygon) or ``LineString`` (path, line);
an ellipse's geometry is a 64-gon for other tools, and its napari corner
``vertices`` are kept so that it reads back exactly. Colours are 0-255 RGBA.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

VERSION = 1
SHAPE_TYPES = ("rectangle", "ellipse", "polygon", "path", "line")
CLOSED = ("rectangle", "ellipse", "polygon")


def shape_geometry(shape_type: str, vertices) -> dict:
    """Build the GeoJSON geometry of one napari shape from its ``[x, y]`` vertices.

    Parameters
    ----------
    shape_type : str
        One of :data:`SHAPE_TYPES`.
    vertices : sequence of (x, y)
        In level-0 pixels; an ellipse's are the four corners of its box.

    Returns
    -------
    dict
        A ``Polygon`` (closed ring) or a ``LineString``.

    Examples
    --------
    >>> shape_geometry("line", [(0, 0), (3, 4)])
    {'type': 'LineString', 'coordinates': [[0.0, 0.0], [3.0, 4.0]]}
    >>> shape_geometry("rectangle", [(0, 0), (2, 0), (2, 1), (0, 1)])["coordinates"][0][-1]
    [0.0, 0.0]
    """
    pts = [[float(x), float(y)] for x, y in vertices]
    if shape_type not in SHAPE_TYPES:
        raise ValueError(f"unknown shape type {shape_type!r}")
    if shape_type == "ellipse":
        pts = _ellipse_ring(pts)
    if shape_type in CLOSED:
        return {"type": "Polygon", "coordinates": [[*pts, pts[0]]]}
    return {"type": "LineString", "coordinates": pts}


def _ellipse_ring(corners: list[list[float]], n: int = 64) -> list[list[float]]:
    """Return ``n`` points on the ellipse inscribed in a (possibly rotated) box of 4 corners."""
    (x0, y0), (x1, y1), _, (x3, y3) = corners[:4]
    cx = sum(p[0] for p in corners[:4]) / 4
    cy = sum(p[1] for p in corners[:4]) / 4
    ax, ay = (x1 - x0) / 2, (y1 - y0) / 2  # half of one side
    bx, by = (x3 - x0) / 2, (y3 - y0) / 2  # half of the other
    out = []
    for k in range(n):
        a = 2 * math.pi * k / n
        out.append([cx + ax * math.cos(a) + bx * math.sin(a), cy + ay * math.cos(a) + by * math.sin(a)])
    return out


def feature_vertices(feature: dict) -> list[list[float]]:
    """Return a feature's napari vertices ``[x, y]``: the kept ones, else its geometry's.

    Parameters
    ----------
    feature : dict
        One GeoJSON feature of the sidecar.

    Returns
    -------
    list of [x, y]
        Without a polygon's closing point.

    Examples
    --------
    >>> f = {"geometry": shape_geometry("polygon", [(0, 0), (4, 0), (0, 3)]), "properties": {}}
    >>> feature_vertices(f)
    [[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]]
    """
    props = feature.get("properties") or {}
    if isinstance(props.get("vertices"), list):
        return [[float(x), float(y)] for x, y in props["vertices"]]
    geom = feature["geometry"]
    if geom["type"] == "Point":
        return [[float(c) for c in geom["coordinates"][:2]]]
    if geom["type"] == "Polygon":
        ring = geom["coordinates"][0]
        return [[float(x), float(y)] for x, y in ring[:-1]]
    return [[float(x), float(y)] for x, y in geom["coordinates"]]


def features_bytes(layers: list[dict], features: list[dict]) -> bytes:
    """Serialise the sidecar: one feature per line, so it reads and diffs well.

    Parameters
    ----------
    layers : list of dict
        One entry per napari layer (name, type, opacity, visible, text).
    features : list of dict
        GeoJSON features whose ``properties["layer"]`` indexes ``layers``.

    Returns
    -------
    bytes
        UTF-8 JSON.

    Examples
    --------
    >>> doc = json.loads(features_bytes([{"name": "spots", "type": "points"}], []))
    >>> doc["type"], doc["napari_viv"]["layers"][0]["name"]
    ('FeatureCollection', 'spots')
    """
    head = {"version": VERSION, "layers": layers}
    rows = ",\n".join(json.dumps(f, ensure_ascii=False, allow_nan=False) for f in features)
    text = (
        '{"type": "FeatureCollection",\n"napari_viv": '
        + json.dumps(head, ensure_ascii=False, allow_nan=False)
        + ',\n"features": [\n'
        + rows
        + "\n]}\n"
    )
    return text.encode("utf-8")


def write_features(path, data: bytes) -> Path:
    """Write the sidecar atomically (a temporary file renamed into place).

    Parameters
    ----------
    path : path-like
        ``<stem>.features.geojson``.
    data : bytes
        From :func:`features_bytes`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_features(path) -> dict | None:
    """Read a sidecar; None when absent or not a version-1 napari-viv feature collection.

    Parameters
    ----------
    path : path-like
        ``<stem>.features.geojson``.

    Returns
    -------
    dict or None
        ``{"layers": [...], "features": [...]}``.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    head = doc.get("napari_viv") if isinstance(doc, dict) else None
    if not isinstance(head, dict) or head.get("version") != VERSION or not isinstance(doc.get("features"), list):
        return None
    return {"layers": list(head.get("layers") or []), "features": doc["features"]}
