"""napari Points and Shapes <-> the features sidecar (:mod:`napari_viv.scene.features`).

Saving: the writer's and the panel's non-image layers become one GeoJSON
feature collection in the image's level-0 pixels (a layer's data coordinates,
since it must share the image's scale and translate). Reading: the sidecar
becomes Points and Shapes layers placed like the image layers.

Refused, with a message naming the layer (nothing is written): a layer in
another coordinate space (other scale or translate), points or shapes with more
dimensions than the image, a shape whose vertices lie on different planes, and
layer types the sidecar cannot hold (Vectors, Tracks, Surface).
"""

from __future__ import annotations

import contextlib
from enum import Enum
from typing import Any

import numpy as np

from ..errors import NapariVivError
from ..scene.features import SHAPE_TYPES, feature_vertices, features_bytes, shape_geometry

KINDS = ("points", "shapes")
#: What Save Selected Layers carries besides images (labels: see labels.py).
SCENE_TYPES = (*KINDS, "labels")


def split_layer_data(layer_data) -> tuple[list, list]:
    """Split a writer's ``LayerData`` into (image layers, points and shapes layers).

    Parameters
    ----------
    layer_data : list of (data, meta, type)
        What napari hands the writer.

    Returns
    -------
    tuple of list
        The image tuples (and anything else, for the image code to refuse) and
        the points / shapes tuples.
    """
    images, scene = [], []
    for item in layer_data:
        (scene if len(item) > 2 and item[2] in SCENE_TYPES else images).append(item)
    return images, scene


def _rgba(colors, n: int) -> list[list[int]]:
    arr = np.asarray(colors, float).reshape(-1, 4) if len(np.asarray(colors)) else np.zeros((0, 4))
    if len(arr) == 1 and n > 1:
        arr = np.repeat(arr, n, axis=0)
    return [[int(round(v * 255)) for v in row] for row in np.clip(arr, 0, 1)]


def _json_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def _rows(features, n: int) -> tuple[list[str], list[dict]]:
    if features is None or not hasattr(features, "columns") or len(features.columns) == 0:
        return [], [{} for _ in range(n)]
    cols = [str(c) for c in features.columns]
    rows = [{c: _json_value(v) for c, v in zip(cols, rec, strict=True)} for rec in features.itertuples(index=False)]
    return cols, rows


def _text_props(text, features, n: int) -> list[dict]:
    """Return each feature's ``text`` and ``text_color`` (0-255 RGBA) when the layer shows text.

    The strings and colours come from napari's own encodings (format strings,
    feature columns, constants, arrays, colour maps), so they are what napari drew.
    """
    if not isinstance(text, dict) or not text.get("visible", True) or n == 0:
        return [{} for _ in range(n)]
    import pandas as pd
    from napari.layers.utils.color_encoding import ColorEncoding
    from napari.layers.utils.string_encoding import StringEncoding

    table = features if features is not None and len(features) == n else pd.DataFrame(index=range(n))
    try:
        strings = StringEncoding.validate(text.get("string", ""))(table)
        colors = _rgba(ColorEncoding.validate(text.get("color", "cyan"))(table), n)
    except (TypeError, ValueError, KeyError):
        return [{} for _ in range(n)]
    strings = np.broadcast_to(np.asarray(strings, object), (n,))
    if not any(strings):
        return [{} for _ in range(n)]
    return [{"text": str(s), "text_color": c} for s, c in zip(strings, colors, strict=True)]


def _plain(value):
    """Return napari's dumped setting as JSON values (numpy arrays and scalars, enums); TypeError if it has none."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"not a JSON value: {value!r}")


def _text_entry(text) -> dict | None:
    """Return the layer's text settings that the sidecar keeps, as JSON values (a setting without one is left out)."""
    if not isinstance(text, dict):
        return None
    out = {}
    for key in ("string", "size", "visible", "anchor", "scaling", "translation"):
        if key in text:
            with contextlib.suppress(TypeError):
                out[key] = _plain(text[key])
    return out or None


def _check_space(name: str, meta: dict, ndim: int, image_meta: dict, lead_axes: str) -> str:
    """Return the letters (from ``lead_axes``) of the layer's leading dims; raise if it cannot sit on the image."""
    extra = ndim - 2
    if extra > len(lead_axes):
        plane = "2-D" if not lead_axes else f"{len(lead_axes) + 2}-D"
        raise NapariVivError(
            f"it has {ndim}-D coordinates but the image is {plane}; save it with a matching image", subject=name
        )
    img_scale = list(image_meta.get("scale") or [])
    img_translate = list(image_meta.get("translate") or [])
    scale = list(meta.get("scale") or [1.0] * ndim)
    translate = list(meta.get("translate") or [0.0] * ndim)
    for mine, theirs, what in ((scale, img_scale, "scale"), (translate, img_translate, "translate")):
        k = min(ndim, len(theirs))
        if k and not np.allclose(mine[-k:], theirs[-k:], rtol=1e-6, atol=1e-9):
            raise NapariVivError(
                f"its {what} {tuple(mine)} differs from the image's {tuple(theirs)}: points and shapes must "
                "be in the image's coordinate space (same scale and translate)",
                subject=name,
            )
    return lead_axes[len(lead_axes) - extra :]


def _planes(lead: str, coords) -> dict:
    return {ax.lower(): int(round(float(v))) for ax, v in zip(lead, coords, strict=True)}


def _points(index: int, data, meta: dict, lead: str) -> list[dict]:
    pts = np.asarray(data, float).reshape(-1, len(lead) + 2)
    n = len(pts)
    cols, rows = _rows(meta.get("features"), n)
    texts = _text_props(meta.get("text"), meta.get("features"), n)
    face, edge = _rgba(meta.get("face_color", [[1, 1, 1, 1]]), n), _rgba(meta.get("border_color", [[0, 0, 0, 1]]), n)
    size = np.broadcast_to(np.asarray(meta.get("size", 10), float), (n,)) if n else []
    width = np.broadcast_to(np.asarray(meta.get("border_width", 0.05), float), (n,)) if n else []
    relative = bool(meta.get("border_width_is_relative", True))
    symbols = np.broadcast_to(np.asarray(meta.get("symbol", "disc"), object), (n,)) if n else []
    out = []
    for i, p in enumerate(pts):
        props: dict[str, Any] = {"layer": index, "fill_color": face[i], "edge_color": edge[i]}
        props.update(size=float(size[i]), edge_width=float(width[i]) * (float(size[i]) if relative else 1.0))
        props["symbol"] = str(getattr(symbols[i], "value", symbols[i]))
        props.update(_planes(lead, p[:-2]))
        props.update(texts[i])
        props["features"] = rows[i]
        geometry = {"type": "Point", "coordinates": [float(p[-1]), float(p[-2])]}
        out.append({"type": "Feature", "geometry": geometry, "properties": props})
    return out


def _shapes(index: int, name: str, data, meta: dict, lead: str) -> list[dict]:
    shapes = [np.asarray(s, float) for s in data]
    n = len(shapes)
    cols, rows = _rows(meta.get("features"), n)
    texts = _text_props(meta.get("text"), meta.get("features"), n)
    types = list(meta.get("shape_type") or ["polygon"] * n)
    face, edge = _rgba(meta.get("face_color", [[1, 1, 1, 1]]), n), _rgba(meta.get("edge_color", [[0, 0, 0, 1]]), n)
    widths = np.broadcast_to(np.asarray(meta.get("edge_width", 1.0), float), (n,)) if n else []
    out = []
    for i, verts in enumerate(shapes):
        kind = str(types[i])
        if kind not in SHAPE_TYPES:
            raise NapariVivError(f"shape {i} is a {kind!r}, which the sidecar cannot hold", subject=name)
        lead_coords = verts[:, :-2]
        if len(lead_coords) and not np.allclose(lead_coords, lead_coords[0]):
            raise NapariVivError(
                f"shape {i} spans several planes; the sidecar holds shapes lying in one Z/T plane", subject=name
            )
        xy = [(float(v[-1]), float(v[-2])) for v in verts]
        props: dict[str, Any] = {"layer": index, "shape_type": kind, "fill_color": face[i], "edge_color": edge[i]}
        props["edge_width"] = float(widths[i])
        props.update(_planes(lead, lead_coords[0] if len(lead_coords) else []))
        if kind == "ellipse":
            props["vertices"] = [list(p) for p in xy]
        props.update(texts[i])
        props["features"] = rows[i]
        out.append({"type": "Feature", "geometry": shape_geometry(kind, xy), "properties": props})
    return out


def scene_sidecar(scene_data: list, image_meta: dict, lead_axes: str) -> bytes | None:
    """Build the sidecar's bytes for points and shapes layers, or None without any.

    Parameters
    ----------
    scene_data : list of (data, meta, type)
        Points and Shapes ``LayerData``.
    image_meta : dict
        The first image layer's ``LayerData`` meta (its scale and translate).
    lead_axes : str
        The image's axes before Y and X, without C (e.g. ``"TZ"``).

    Returns
    -------
    bytes or None
        Raises :class:`NapariVivError` naming the layer on bad input.
    """
    if not scene_data:
        return None
    layers, features = [], []
    for index, (data, meta, ltype) in enumerate(scene_data):
        name = str(meta.get("name") or f"{ltype} {index}")
        ndim = int(meta.get("ndim") or (np.asarray(data).shape[-1] if ltype == "points" else 2))
        lead = _check_space(name, meta, ndim, image_meta, lead_axes)
        entry = {"name": name, "type": ltype, "opacity": float(meta.get("opacity", 1.0))}
        entry.update(visible=bool(meta.get("visible", True)), dims=[a.lower() for a in lead])
        entry["columns"] = _rows(meta.get("features"), 0)[0]
        entry["text"] = _text_entry(meta.get("text"))
        layers.append(entry)
        make = _points(index, data, meta, lead) if ltype == "points" else _shapes(index, name, data, meta, lead)
        features.extend(make)
    return features_bytes(layers, features)


def _table(entry: dict, feats: list[dict]):
    import pandas as pd

    cols = list(entry.get("columns") or [])
    if not cols:
        return None
    return pd.DataFrame(
        [{c: (f["properties"].get("features") or {}).get(c) for c in cols} for f in feats], columns=cols
    )


def _coords(entry: dict, f: dict, xy) -> list[float]:
    props = f.get("properties") or {}
    return [float(props.get(d, 0)) for d in entry.get("dims") or []] + [float(xy[1]), float(xy[0])]


def scene_layer_data(doc: dict, scale, translate) -> list[tuple]:
    """Turn a read sidecar into Points and Shapes ``LayerData``, placed with the image's ``scale``/``translate``.

    Parameters
    ----------
    doc : dict
        From :func:`napari_viv.scene.features.read_features`.
    scale, translate : sequence of float
        The image layers' (their last entries are used).

    Returns
    -------
    list of (data, meta, type)
    """
    out = []
    for index, entry in enumerate(doc["layers"]):
        if entry.get("type") not in KINDS:
            continue
        feats = [f for f in doc["features"] if (f.get("properties") or {}).get("layer") == index]
        ndim = len(entry.get("dims") or []) + 2
        meta: dict[str, Any] = {"name": entry.get("name"), "opacity": float(entry.get("opacity", 1.0))}
        meta.update(visible=bool(entry.get("visible", True)), ndim=ndim)
        meta.update(scale=list(scale)[-ndim:], translate=list(translate)[-ndim:])
        table = _table(entry, feats)
        if table is not None:
            meta["features"] = table
        props = [f.get("properties") or {} for f in feats]
        if entry.get("text"):
            meta["text"] = dict(entry["text"])
            colors = [p.get("text_color") for p in props]
            if colors and all(isinstance(c, list) and len(c) == 4 for c in colors):
                meta["text"]["color"] = np.array(colors, float) / 255
        face = np.array([p.get("fill_color", [255] * 4) for p in props], float).reshape(-1, 4) / 255
        edge = np.array([p.get("edge_color", [0, 0, 0, 255]) for p in props], float).reshape(-1, 4) / 255
        if entry["type"] == "points":
            data = np.array([_coords(entry, f, feature_vertices(f)[0]) for f in feats], float).reshape(-1, ndim)
            meta.update(face_color=face, border_color=edge, symbol=[p.get("symbol", "disc") for p in props])
            meta["size"] = np.array([p.get("size", 10) for p in props], float)
            meta["border_width"] = np.array([p.get("edge_width", 0) for p in props], float)
            meta["border_width_is_relative"] = False
        else:
            data = [np.array([_coords(entry, f, v) for v in feature_vertices(f)], float) for f in feats]
            meta.update(face_color=face, edge_color=edge, shape_type=[p.get("shape_type", "polygon") for p in props])
            meta["edge_width"] = [float(p.get("edge_width", 1)) for p in props]
        out.append((data, meta, entry["type"]))
    return out
