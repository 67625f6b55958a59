"""Random test images for the writer tests, reproducible by seed."""

from __future__ import annotations

import numpy as np


def rand(shape, dtype, seed=0, spread=1000):
    """Random pixels of ``dtype``: the full integer range, or floats of about ±``spread``."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) > 0.5
    if dt.kind == "f":
        return (rng.standard_normal(shape) * spread).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)


def pyramid_tiles(planes, height, width, tile):
    """Count the tiles of a pyramid of ``planes`` planes: each level halved (floor) until one tile holds it."""
    n = 0
    while True:
        n += planes * -(-height // tile) * -(-width // tile)
        if height <= tile and width <= tile:
            return n
        height, width = height // 2, width // 2
