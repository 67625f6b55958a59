"""A synthetic multiplexed tissue image, for the napari sample, demos and benchmarks.

The tissue is made of cells on a jittered grid (a Voronoi partition): every
cell has a nucleus, a cytoplasm and a membrane, and a cell type that decides
which markers light up (T cells, cytotoxic T cells, macrophages, B cells,
tumour epithelium, ...). Large-scale smooth fields decide where tissue and
tumour are. Intensities get Poisson-like shot noise and a little read noise,
so codecs see data that behaves like a real fluorescence scan.

Everything is a pure function of the seed and the pixel coordinates, so any
block can be rendered on its own: big images come back as lazy dask arrays
whose blocks are computed on demand, with bounded memory.
"""

from __future__ import annotations

import numpy as np

from .metadata import MICROMETRE, ImageMetadata

#: The marker panel, in channel order: (name, colour).
PANEL: list[tuple[str, tuple[int, int, int]]] = [
    ("DAPI", (0, 0, 255)),
    ("CD3", (0, 255, 0)),
    ("CD8", (255, 0, 0)),
    ("PanCK", (0, 255, 255)),
    ("CD68", (255, 0, 255)),
    ("Ki67", (255, 255, 0)),
    ("FoxP3", (255, 128, 0)),
    ("PD-L1", (128, 0, 255)),
    ("CD20", (255, 255, 255)),
    ("Autofluorescence", (128, 128, 128)),
]

#: Pixel size of the synthetic scan (a 20x objective), in micrometres.
PIXEL_SIZE_UM = 0.5

_CELL = 16  # grid pitch of cell centres, pixels
_FIELD = 384  # pitch of the coarse noise fields, pixels
_BLOCK = 1024  # render block edge for in-memory images, pixels
_ROWS, _COLS = 512, 2048  # dask chunk of lazy images: one 512-px tile row band
_LAZY_ABOVE = 2048  # images wider than this come back as dask arrays

# Cell types.
_STROMA, _TUMOUR, _T4, _T8, _TREG, _MACRO, _BCELL = range(7)


def synthetic_tissue(size=2048, channels=6, *, seed=0, dtype="uint16", lazy=None):
    """Return ``(array, ImageMetadata)``: a ``channels`` x ``size`` x ``size`` tissue.

    ``array`` has axes ``"CYX"``; it is a numpy array for sizes up to 2048 and
    a lazy dask array (512 x 2048-pixel chunks, one channel each) above,
    unless ``lazy`` says otherwise. The same seed always gives the same pixels,
    whichever way they are computed.
    """
    size = int(size)
    channels = int(channels)
    if size < 1 or channels < 1:
        raise ValueError("size and channels must be positive")
    dtype = np.dtype(dtype)
    if dtype.kind not in "uif":
        raise ValueError(f"unsupported dtype {dtype} for the synthetic tissue")
    if lazy is None:
        lazy = size > _LAZY_ABOVE
    meta = ImageMetadata(
        axes="CYX",
        name="synthetic tissue",
        channel_names=[_channel_name(c) for c in range(channels)],
        channel_colors=[_channel_color(c) for c in range(channels)],
        physical_sizes={"x": PIXEL_SIZE_UM, "y": PIXEL_SIZE_UM},
        unit=MICROMETRE,
    )
    if lazy:
        return _lazy(size, channels, seed, dtype), meta
    out = np.empty((channels, size, size), dtype)
    chans = list(range(channels))
    for y0 in range(0, size, _BLOCK):
        for x0 in range(0, size, _BLOCK):
            y1, x1 = min(y0 + _BLOCK, size), min(x0 + _BLOCK, size)
            out[:, y0:y1, x0:x1] = render_block(seed, chans, y0, y1, x0, x1, dtype)
    return out, meta


def _channel_name(c: int) -> str:
    return PANEL[c][0] if c < len(PANEL) else f"Marker {c + 1}"


def _channel_color(c: int) -> tuple[int, int, int]:
    if c < len(PANEL):
        return PANEL[c][1]
    rng = np.random.default_rng(c)
    r, g, b = (int(v) for v in rng.integers(64, 256, 3))
    return r, g, b


def _lazy(size, channels, seed, dtype):
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    name = f"synthetic-tissue-{size}-{channels}-{seed}-{dtype}"
    rows = [(s, min(s + _ROWS, size)) for s in range(0, size, _ROWS)]
    cols = [(s, min(s + _COLS, size)) for s in range(0, size, _COLS)]
    dsk = {}
    for c in range(channels):
        for i, (y0, y1) in enumerate(rows):
            for j, (x0, x1) in enumerate(cols):
                dsk[(name, c, i, j)] = (render_block, seed, [c], y0, y1, x0, x1, dtype)
    chunks = ((1,) * channels, tuple(b - a for a, b in rows), tuple(b - a for a, b in cols))
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks, dtype=dtype)


# --- deterministic noise ---------------------------------------------------


def _hash(seed: int, a, b, k: int) -> np.ndarray:
    """Uniform floats in [0, 1) from integer coordinates (splitmix64)."""
    a = np.asarray(a, np.int64).astype(np.uint64)
    b = np.asarray(b, np.int64).astype(np.uint64)
    z = (a * np.uint64(0x9E3779B1)) ^ (b * np.uint64(0x85EBCA77))
    salt = ((seed * 1000003 + k * 7919 + 1) * 0x9E3779B97F4A7C15) % (1 << 64)
    z = z + np.uint64(salt)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _field(seed, k, ys, xs, pitch=_FIELD) -> np.ndarray:
    """Smooth value noise in [0, 1) at the grid ``ys`` x ``xs`` (two octaves)."""
    total = np.zeros((len(ys), len(xs)), np.float32)
    weight = 0.0
    for octave, amp in ((1, 0.7), (3, 0.3)):
        p = pitch / octave
        fy, fx = ys / p, xs / p
        iy, ix = np.floor(fy).astype(np.int64), np.floor(fx).astype(np.int64)
        ty, tx = fy - iy, fx - ix
        ty, tx = ty * ty * (3 - 2 * ty), tx * tx * (3 - 2 * tx)
        gy = np.arange(iy.min(), iy.max() + 2)
        gx = np.arange(ix.min(), ix.max() + 2)
        nodes = _hash(seed, gy[:, None], gx[None, :], k * 10 + octave)
        ry, rx = iy - gy[0], ix - gx[0]
        v00 = nodes[ry][:, rx]
        v01 = nodes[ry][:, rx + 1]
        v10 = nodes[ry + 1][:, rx]
        v11 = nodes[ry + 1][:, rx + 1]
        tyc, txr = ty[:, None], tx[None, :]
        top = v00 + (v01 - v00) * txr
        bot = v10 + (v11 - v10) * txr
        total += (amp * (top + (bot - top) * tyc)).astype(np.float32)
        weight += amp
    return total / weight


# --- rendering -------------------------------------------------------------


def _cells(seed, gy, gx):
    """Per-cell properties on the grid ``gy`` x ``gx`` (1-D index ranges)."""
    GY, GX = gy[:, None], gx[None, :]
    cy = (GY + 0.15 + 0.7 * _hash(seed, GY, GX, 1)) * _CELL
    cx = (GX + 0.15 + 0.7 * _hash(seed, GY, GX, 2)) * _CELL
    ys, xs = gy * _CELL + _CELL / 2, gx * _CELL + _CELL / 2
    tissue = _field(seed, 1, ys, xs) > 0.34
    tumour = _field(seed, 2, ys, xs) > 0.55
    u = _hash(seed, GY, GX, 3)
    kind = np.full(u.shape, _STROMA, np.int8)
    kind[u < 0.55] = _STROMA
    kind[(u >= 0.55) & (u < 0.70)] = _T4
    kind[(u >= 0.70) & (u < 0.80)] = _T8
    kind[(u >= 0.80) & (u < 0.84)] = _TREG
    kind[(u >= 0.84) & (u < 0.94)] = _MACRO
    kind[u >= 0.94] = _BCELL
    # Inside tumour nests most cells are epithelial; a few immune cells infiltrate.
    kind[tumour & (u < 0.85)] = _TUMOUR
    kind[~tissue] = -1
    return {
        "cy": cy.astype(np.float32),
        "cx": cx.astype(np.float32),
        "kind": kind,
        "rnuc": (3.2 + 2.0 * _hash(seed, GY, GX, 4) + 1.2 * (kind == _TUMOUR)).astype(np.float32),
        "bright": (0.6 + 0.8 * _hash(seed, GY, GX, 5)).astype(np.float32),
        "ki67": _hash(seed, GY, GX, 6) < np.where(kind == _TUMOUR, 0.35, 0.05),
        "pdl1": _hash(seed, GY, GX, 7) < np.where(kind == _TUMOUR, 0.5, 0.0),
    }


def _geometry(seed, y0, y1, x0, x1):
    """Nearest-cell geometry for the pixels [y0:y1, x0:x1]."""
    h, w = y1 - y0, x1 - x0
    gy = np.arange(y0 // _CELL - 1, (y1 - 1) // _CELL + 2)
    gx = np.arange(x0 // _CELL - 1, (x1 - 1) // _CELL + 2)
    cells = _cells(seed, gy, gx)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    # local grid index of each pixel (row, column) in `cells`
    ry = (np.arange(y0, y1) // _CELL - gy[0])[:, None]
    rx = (np.arange(x0, x1) // _CELL - gx[0])[None, :]
    d1 = np.full((h, w), np.inf, np.float32)
    d2 = np.full((h, w), np.inf, np.float32)
    best = np.zeros((h, w), np.int64)
    ncol = len(gx)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            flat = (ry + dy) * ncol + (rx + dx)
            cy = cells["cy"].ravel()[flat]
            cx = cells["cx"].ravel()[flat]
            d = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
            closer = d < d1
            d2 = np.where(closer, d1, np.minimum(d2, d))
            d1 = np.where(closer, d, d1)
            best = np.where(closer, flat, best)
    pick = {k: v.ravel()[best] for k, v in cells.items() if k not in ("cy", "cx")}
    return d1, d2, pick


def render_block(seed, chans, y0, y1, x0, x1, dtype):
    """Render channels ``chans`` of the pixels ``[y0:y1, x0:x1]``."""
    dtype = np.dtype(dtype)
    d1, d2, cell = _geometry(seed, y0, y1, x0, x1)
    kind, bright = cell["kind"], cell["bright"]
    present = kind >= 0
    inside = present & (d1 < 7.5)
    nuc = np.clip(cell["rnuc"] + 0.8 - d1, 0, 1.6) / 1.6 * present
    membrane = np.exp(-(((d2 - d1) / 1.6) ** 2)) * inside
    cyto = np.clip(inside - nuc, 0, 1)
    ys = np.arange(y0, y1, dtype=np.float32) + 0.5
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5
    fibres = _field(seed, 3, ys, xs, pitch=24)
    auto = present * 120 + 60 + 140 * fibres * (present & (kind != _TUMOUR))

    def is_(*kinds):
        return np.isin(kind, kinds) * bright

    signals = {
        "DAPI": 2600 * nuc * bright,
        "CD3": 1800 * membrane * is_(_T4, _T8, _TREG),
        "CD8": 1500 * membrane * is_(_T8),
        "PanCK": 1400 * (cyto + 0.5 * membrane) * is_(_TUMOUR),
        "CD68": 1100 * cyto * is_(_MACRO),
        "Ki67": 1700 * nuc * cell["ki67"] * bright,
        "FoxP3": 1300 * nuc * is_(_TREG),
        "PD-L1": 900 * membrane * (cell["pdl1"] * bright + 0.6 * is_(_MACRO)),
        "CD20": 1500 * membrane * is_(_BCELL),
        "Autofluorescence": 2.5 * auto,
    }
    out = np.empty((len(chans), y1 - y0, x1 - x0), dtype)
    for i, c in enumerate(chans):
        name = _channel_name(c)
        if name in signals:
            base = signals[name]
        else:  # an extra marker: a random subset of membranes
            sub = _hash(seed, kind.astype(np.int64), c, 9) < 0.3
            base = 1000 * membrane * sub * bright
        mean = (base + (auto if name != "Autofluorescence" else 0)).astype(np.float32)
        noise = _noise(seed, c, y0, y1, x0, x1)
        # Shot noise (gain 2 counts per photon) plus a little read noise.
        value = mean + noise * np.sqrt(2.0 * mean + 9.0)
        out[i] = _to_dtype(value, dtype)
    return out


_NOISE = 256  # noise is drawn per fixed 256-px cell, whatever the block layout


def _noise(seed, c, y0, y1, x0, x1) -> np.ndarray:
    """Make standard normal noise for [y0:y1, x0:x1] of channel c, independent of blocking."""
    out = np.empty((y1 - y0, x1 - x0), np.float32)
    for cy in range(y0 // _NOISE, (y1 - 1) // _NOISE + 1):
        for cx in range(x0 // _NOISE, (x1 - 1) // _NOISE + 1):
            rng = np.random.default_rng([seed, c, cy, cx, 7])
            cell = rng.standard_normal((_NOISE, _NOISE), np.float32)
            ay, ax = cy * _NOISE, cx * _NOISE
            sy0, sy1 = max(y0, ay), min(y1, ay + _NOISE)
            sx0, sx1 = max(x0, ax), min(x1, ax + _NOISE)
            out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = cell[sy0 - ay : sy1 - ay, sx0 - ax : sx1 - ax]
    return out


def _to_dtype(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "f":
        return np.maximum(value, 0).astype(dtype)
    if dtype.itemsize == 1:
        value = value / 16.0
    info = np.iinfo(dtype)
    return np.clip(np.rint(value), max(info.min, 0), info.max).astype(dtype)


# --- brightfield (H&E) -------------------------------------------------------

#: Optical densities per unit stain (R, G, B): haematoxylin (blue-purple
#: nuclei) and eosin (pink cytoplasm and stroma), after Ruifrok & Johnston.
_HAEMATOXYLIN = np.array([0.65, 0.70, 0.29], np.float32)
_EOSIN = np.array([0.07, 0.99, 0.11], np.float32)
_BLUR_MARGIN = 2  # pixels rendered around a block for the optical blur


def render_he_block(seed, y0, y1, x0, x1) -> np.ndarray:
    """Render the same tissue as H&E-like brightfield, uint8 RGB (Y, X, 3).

    Stain amounts follow the cell geometry (dense haematoxylin in nuclei, eosin
    in cytoplasm and in fibrous stroma, bright glass outside the tissue); light
    is absorbed by Beer-Lambert's law, blurred a little as a microscope's
    optics do and given some sensor noise, so JPEG meets the textures and edges
    of a real slide rather than flat colour. Blocks compose seamlessly.
    """
    m = _BLUR_MARGIN
    ya, yb, xa, xb = y0 - m, y1 + m, x0 - m, x1 + m
    d1, d2, cell = _geometry(seed, ya, yb, xa, xb)
    kind, bright = cell["kind"], cell["bright"]
    present = kind >= 0
    inside = present & (d1 < 7.5)
    nuc = np.clip(cell["rnuc"] + 0.8 - d1, 0, 1.6) / 1.6 * present
    ys = np.arange(ya, yb, dtype=np.float32) + 0.5
    xs = np.arange(xa, xb, dtype=np.float32) + 0.5
    fibres = _field(seed, 3, ys, xs, pitch=24)
    grain = _field(seed, 4, ys, xs, pitch=5)
    haem = nuc * (0.9 + 0.5 * bright) * (0.8 + 0.4 * grain)
    eosin = present * (0.25 + 0.55 * fibres * (kind != _TUMOUR)) + 0.35 * inside * (1 - nuc)
    od = haem[..., None] * _HAEMATOXYLIN + eosin[..., None] * _EOSIN + 0.03
    light = 245.0 * np.exp(-od)
    for _ in range(m):  # a 1-2-1 binomial blur per pass, each pass uses one margin pixel
        light = (light[:-2] + 2 * light[1:-1] + light[2:]) / 4
        light = (light[:, :-2] + 2 * light[:, 1:-1] + light[:, 2:]) / 4
    light += 2.0 * _noise(seed, 99, y0, y1, x0, x1)[..., None]
    return np.clip(np.rint(light), 0, 255).astype(np.uint8)


def synthetic_he(size=2048, *, seed=0) -> np.ndarray:
    """Make a ``size`` x ``size`` H&E-like RGB slide (uint8, (Y, X, 3)), in memory."""
    out = np.empty((size, size, 3), np.uint8)
    for y in range(0, size, _BLOCK):
        for x in range(0, size, _BLOCK):
            y1, x1 = min(y + _BLOCK, size), min(x + _BLOCK, size)
            out[y:y1, x:x1] = render_he_block(seed, y, y1, x, x1)
    return out
