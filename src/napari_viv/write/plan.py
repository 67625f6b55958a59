"""Plan a Viv pyramid: level shapes, level count, tiles, codec, size estimate.

Every level is exactly ``floor(previous / 2)`` in Y and X (Viv computes level
sizes as ``size >> level``). ``levels="auto"`` adds levels until the largest
side of the last level fits in one tile, never making a side of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codecs import DEFAULT_COMPRESSION, choose_codec
from ..errors import NapariVivError
from .layout import output_dtype, resolve_layout

#: Tile sizes Viv handles best; any power of two >= 16 is accepted.
RECOMMENDED_TILE_SIZES = (256, 512, 1024)


# Rough compressed/raw ratios, for size estimates only.
_RATIO = {"zlib": 0.6, "lzw": 0.75, "none": 1.0, "jpeg": 0.1}


@dataclass(frozen=True)
class PyramidPlan:
    """What will be written; see docs/architecture.md."""

    axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    tile_size: int
    level_shapes: list[tuple[int, int]]
    compression: str
    #: zlib (libdeflate) level; None for lzw/none.
    compression_level: int | None = None
    #: TIFF predictor tag: 1 none, 2 horizontal differencing, 3 floating point.
    predictor: int = 1

    @property
    def rgb(self) -> bool:
        return self.axes == "YXS"

    @property
    def samples(self) -> int:
        return 3 if self.rgb else 1

    @property
    def sizes(self) -> dict[str, int]:
        """Size per OME axis letter (T, C, Z, Y, X), missing ones are 1."""
        d = dict(zip(self.axes, self.shape))
        out = {ax: d.get(ax, 1) for ax in "TCZYX"}
        if self.rgb:
            out["C"] = 3
        return out

    @property
    def nplanes(self) -> int:
        if self.rgb:
            return 1
        s = self.sizes
        return s["T"] * s["C"] * s["Z"]

    @property
    def nlevels(self) -> int:
        return len(self.level_shapes)

    def tiles_in(self, level: int) -> tuple[int, int]:
        """(tile rows, tile columns) of ``level``."""
        h, w = self.level_shapes[level]
        t = self.tile_size
        return -(-h // t), -(-w // t)

    @property
    def ntiles(self) -> int:
        per_plane = sum(r * c for r, c in (self.tiles_in(i) for i in range(self.nlevels)))
        return per_plane * self.nplanes

    def estimated_bytes(self) -> int:
        """A rough size of the written file (compression ratio guessed)."""
        raw = sum(h * w for h, w in self.level_shapes)
        raw *= self.nplanes * self.samples * np.dtype(self.dtype).itemsize
        overhead = 4096 + self.ntiles * 16 + self.nplanes * self.nlevels * 512
        return int(raw * _RATIO.get(self.compression, 1.0)) + overhead


def _whole(value) -> int:
    """``value`` as an int if it is a whole number (or a string of digits)."""
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise ValueError(value)
        return int(value)
    if isinstance(value, bool):
        raise ValueError(value)
    n = int(value)
    if n != value:
        raise ValueError(value)
    return n


def level_shapes_for(height: int, width: int, tile_size: int, levels="auto") -> list[tuple[int, int]]:
    """Level (Y, X) shapes, level 0 first, each floor(previous / 2)."""
    shapes = [(height, width)]
    if levels is None or (isinstance(levels, str) and levels.strip().lower() == "auto"):
        while max(shapes[-1]) > tile_size and min(shapes[-1]) >= 2:
            h, w = shapes[-1]
            shapes.append((h // 2, w // 2))
        return shapes
    try:
        n = _whole(levels)
    except (TypeError, ValueError):
        raise NapariVivError(f"levels must be 'auto' or a whole number, not {levels!r}") from None
    if n < 1:
        raise NapariVivError(f"levels must be at least 1, not {n}")
    for _ in range(n - 1):
        h, w = shapes[-1]
        if h < 2 or w < 2:
            raise NapariVivError(
                f"{n} levels are too many for a {height}x{width} (YxX) image: level "
                f"{len(shapes)} would have a side of 0 (at most {len(shapes)} levels)"
            )
        shapes.append((h // 2, w // 2))
    return shapes


def check_tile_size(tile_size) -> int:
    """Validate a tile size: a power of two, at least 16."""
    try:
        t = _whole(tile_size)
    except (TypeError, ValueError):
        raise NapariVivError(f"tile size must be a whole number, not {tile_size!r}") from None
    if t < 16 or t & (t - 1):
        raise NapariVivError(
            f"tile size {t} is not a power of two >= 16; use 256, 512 or 1024"
        )
    return t


def plan_pyramid(shape, dtype, axes=None, *, tile_size=512, levels="auto",
                 compression=DEFAULT_COMPRESSION) -> PyramidPlan:
    """Plan the pyramid for an array of ``shape``/``dtype`` with ``axes``.

    Raises :class:`NapariVivError` for bad axes, dtype, tile size, level
    count or codec.
    """
    layout = resolve_layout(shape, dtype, axes)
    written = output_dtype(dtype)
    t = check_tile_size(tile_size)
    height, width = (layout.shape[0], layout.shape[1]) if layout.rgb else layout.shape[-2:]
    shapes = level_shapes_for(height, width, t, levels)
    codec = choose_codec(compression, written, 3 if layout.rgb else 1)
    return PyramidPlan(
        axes=layout.axes,
        shape=layout.shape,
        dtype=written,
        tile_size=t,
        level_shapes=shapes,
        compression=codec.name,
        compression_level=codec.level,
        predictor=codec.predictor,
    )
