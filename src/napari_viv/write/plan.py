"""The export plan, built once: layout, levels, tiles, codec, reuse, size.

:func:`plan_export` works out everything an export needs to know from the
source levels, the metadata and the options, and nothing else does it again:
the stream reads it, the sink lays the file out from it, the OME-XML is built
from it. The plan does not know which sink it feeds (a TIFF today).

Every level is exactly ``floor(previous / 2)`` in Y and X (Viv computes level
sizes as ``size >> level``). ``levels="auto"`` adds levels until the largest
side of the last level fits in one tile, never making a side of 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..axes import CANONICAL
from ..errors import NapariVivError
from ..naming import FORMATS
from ..tiles import EncodedTiles
from .codecs import DEFAULT_COMPRESSION, Codec, choose_codec
from .downsample import METHODS
from .layout import Layout, output_dtype, resolve_layout

#: NGFF versions an OME-Zarr is written in: 0.4 on Zarr v2, 0.5 on Zarr v3 with sharding.
NGFF_VERSIONS = ("0.4", "0.5")

#: Tile sizes Viv handles best; any power of two >= 16 is accepted.
RECOMMENDED_TILE_SIZES = (256, 512, 1024)


# Rough compressed/raw ratios, for size estimates only.
_RATIO = {
    "zlib": 0.6,
    "gzip": 0.6,
    "lzw": 0.75,
    "none": 1.0,
    "jpeg": 0.1,
    "blosc-zstd": 0.57,
    "blosc-lz4": 0.59,
    "zstd": 0.6,
}


@dataclass(frozen=True)
class ExportOptions:
    """What the caller chose about the pyramid (not about names or colours).

    ``tile_size`` and ``levels`` may be given as text ("512", "3", "auto"),
    ``compression`` as ``"zlib"``, ``"zlib:N"`` (N = 1..12), ``"lzw"``,
    ``"none"``, ``"jpeg"`` or ``"jpeg:Q"`` (8-bit only); for OME-Zarr one of
    the Zarr codecs (see :mod:`napari_viv.write.codecs`).
    """

    #: Axis letters of the source from ``TCZYXS``, or None to guess them.
    axes: str | None = None
    tile_size: int | str = 512
    levels: int | str | None = "auto"
    #: None: the format's default (zlib for OME-TIFF, blosc for OME-Zarr).
    compression: str | None = None
    #: How each level is made from the one above: "mean" or "nearest".
    downsample: str = "mean"
    #: The container the tiles go to, "ome-tiff" or "ome-zarr": it decides
    #: which codecs are allowed and whether RGB is interleaved.
    format: str = "ome-tiff"
    #: NGFF version of an OME-Zarr: "0.4" (Zarr v2) or "0.5" (Zarr v3, sharded).
    ngff: str = "0.4"


@dataclass(frozen=True)
class PyramidPlan:
    """Everything an export writes, worked out once; see docs/architecture.md."""

    #: Source axes -> written (canonical) axes, and how to index the source.
    layout: Layout
    #: The dtype written (after the dtype rules), little-endian.
    dtype: np.dtype
    tile_size: int
    #: (Y, X) per level, level 0 first, each floor(previous / 2).
    level_shapes: list[tuple[int, int]]
    #: The codec every computed tile is encoded with (name, level, predictor).
    codec: Codec
    #: "mean" or "nearest".
    downsample: str = "mean"
    #: Pyramid level -> index of the source level read for it (0 -> 0 always);
    #: the levels between are computed from the nearest one above.
    reused: dict[int, int] = field(default_factory=lambda: {0: 0})
    #: The source's own encoded tiles written as level 0, or None.
    copy_level0: EncodedTiles | None = None
    #: What errors name: the image's name or the output file.
    subject: str = "image"

    @property
    def axes(self) -> str:
        """Written axes: a subsequence of "TCZYX", or "YXS" for RGB."""
        return self.layout.axes

    @property
    def shape(self) -> tuple[int, ...]:
        """Level-0 shape in :attr:`axes` order."""
        return self.layout.shape

    @property
    def compression(self) -> str:
        """The codec's name, e.g. "zlib"."""
        return self.codec.name

    @property
    def compression_level(self) -> int | None:
        """Zlib (libdeflate) level or JPEG quality; None for lzw/none."""
        return self.codec.level

    @property
    def predictor(self) -> int:
        """Differencing before compression: 1 none, 2 horizontal, 3 floating point."""
        return self.codec.predictor

    @property
    def rgb(self) -> bool:
        """Whether the image is written as interleaved RGB."""
        return self.layout.rgb

    @property
    def samples(self) -> int:
        """Samples per pixel: 3 for RGB, else 1."""
        return 3 if self.rgb else 1

    @property
    def sizes(self) -> dict[str, int]:
        """Size per OME axis letter (T, C, Z, Y, X), missing ones are 1."""
        d = dict(zip(self.axes, self.shape, strict=True))
        out = {ax: d.get(ax, 1) for ax in CANONICAL}
        if self.rgb:
            out["C"] = 3
        return out

    @property
    def nplanes(self) -> int:
        """Planes per level: T * C * Z (1 for RGB)."""
        if self.rgb:
            return 1
        s = self.sizes
        return s["T"] * s["C"] * s["Z"]

    @property
    def nlevels(self) -> int:
        """Number of pyramid levels."""
        return len(self.level_shapes)

    def tiles_in(self, level: int) -> tuple[int, int]:
        """(tile rows, tile columns) of ``level``."""
        h, w = self.level_shapes[level]
        t = self.tile_size
        return -(-h // t), -(-w // t)

    @property
    def ntiles(self) -> int:
        """Tiles of every level of every plane (the progress total)."""
        per_plane = sum(r * c for r, c in (self.tiles_in(i) for i in range(self.nlevels)))
        return per_plane * self.nplanes

    def estimated_bytes(self) -> int:
        """Estimate the size of the written file (compression ratio guessed)."""
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
        raise NapariVivError(f"tile size {t} is not a power of two >= 16; use 256, 512 or 1024")
    return t


def plan_export(
    sources: list, options: ExportOptions, *, copy_level0: EncodedTiles | None = None, subject: str = "image"
) -> PyramidPlan:
    """Plan the export of ``sources`` (level 0 first) with ``options``.

    Parameters
    ----------
    sources : list of array-like
        The source levels, level 0 first; each needs ``shape`` and ``dtype``.
        Further levels whose shape is exactly a pyramid level are read
        instead of computed.
    options : ExportOptions
        Axes, tile size, level count, compression and downsampling.
    copy_level0 : EncodedTiles, optional
        The source's JPEG tiles to write as level 0 unchanged; refused
        unless they describe the image being written.
    subject : str, default "image"
        What errors are about (the image's name or the output file).

    Returns
    -------
    PyramidPlan
        The layout, dtype, level shapes, tile size, codec, downsampling,
        reused source levels and level-0 tiles to copy.

    Raises
    ------
    NapariVivError
        For bad axes, dtype, tile size, level count, codec, downsampling or
        tiles to copy, about ``subject``.

    Examples
    --------
    >>> import numpy as np
    >>> plan = plan_export([np.zeros((3, 1000, 1500), np.uint16)], ExportOptions(tile_size=512))
    >>> plan.axes, plan.level_shapes, plan.compression, plan.predictor
    ('CYX', [(1000, 1500), (500, 750), (250, 375)], 'zlib', 2)
    """
    try:
        return _plan(sources, options, copy_level0, subject)
    except NapariVivError as exc:
        raise (exc if exc.subject else exc.about(subject)) from None


def _plan(sources: list, options: ExportOptions, copy_level0, subject: str) -> PyramidPlan:
    src0 = sources[0]
    if options.downsample not in METHODS:
        raise NapariVivError(f"unknown downsample {options.downsample!r}; use 'mean' or 'nearest'")
    if options.format not in FORMATS:
        raise NapariVivError(f"unknown format {options.format!r}; use {' or '.join(FORMATS)}")
    tiff = options.format == "ome-tiff"
    layout = resolve_layout(src0.shape, src0.dtype, options.axes, interleave=tiff)
    written = output_dtype(src0.dtype)
    t = check_tile_size(options.tile_size)
    height, width = (layout.shape[0], layout.shape[1]) if layout.rgb else layout.shape[-2:]
    shapes = level_shapes_for(height, width, t, options.levels)
    if not tiff and options.ngff not in NGFF_VERSIONS:
        raise NapariVivError(f"unknown NGFF version {options.ngff!r}; use {' or '.join(NGFF_VERSIONS)}")
    container = "tiff" if tiff else ("zarr3" if options.ngff == "0.5" else "zarr")
    codec = choose_codec(options.compression, written, 3 if layout.rgb else 1, container=container)
    plan = PyramidPlan(
        layout=layout,
        dtype=written,
        tile_size=t,
        level_shapes=shapes,
        codec=codec,
        downsample=options.downsample,
        reused=_reusable_levels(sources, layout, shapes),
        copy_level0=copy_level0,
        subject=subject,
    )
    if copy_level0 is not None:
        _check_copy(copy_level0, plan)
    return plan


def plan_pyramid(
    shape,
    dtype,
    axes=None,
    *,
    tile_size=512,
    levels="auto",
    compression=DEFAULT_COMPRESSION,
    format="ome-tiff",  # noqa: A002 - ExportOptions' name
    ngff="0.4",
) -> PyramidPlan:
    """Plan the pyramid of one array of ``shape`` and ``dtype`` (no source levels to reuse).

    A shorthand for :func:`plan_export` when only the shape is known.

    Parameters
    ----------
    shape : tuple of int
        The array's shape, in ``axes`` order.
    dtype : numpy dtype or str
        The array's dtype.
    axes : str, optional
        Axis letters from ``TCZYXS``; guessed from ``shape`` when omitted.
    tile_size, levels, compression, format, ngff
        As in :class:`ExportOptions`.

    Returns
    -------
    PyramidPlan
        The plan, with the mean downsampling.

    Examples
    --------
    >>> plan_pyramid((600, 800, 3), "uint8", tile_size=256).axes
    'YXS'
    >>> plan_pyramid((600, 800, 3), "uint8", compression="blosc", format="ome-zarr").axes
    'CYX'
    """
    options = ExportOptions(
        axes=axes, tile_size=tile_size, levels=levels, compression=compression, format=format, ngff=ngff
    )
    return plan_export([_Shape(tuple(shape), np.dtype(dtype))], options)


@dataclass(frozen=True)
class _Shape:
    """A source known only by its shape and dtype."""

    shape: tuple[Any, ...]
    dtype: np.dtype


def _reusable_levels(sources: list, layout: Layout, level_shapes: list[tuple[int, int]]) -> dict[int, int]:
    """Map pyramid level -> source level to read (level 0 is always source 0)."""
    roots = {0: 0}
    if len(sources) < 2:
        return roots
    base = dict(zip(layout.source_axes, layout.source_shape, strict=True))
    for k, src in enumerate(sources[1:], start=1):
        shape = tuple(int(n) for n in src.shape)
        if len(shape) != len(base) or np.dtype(src.dtype) != np.dtype(sources[0].dtype):
            continue
        sizes = dict(zip(layout.source_axes, shape, strict=True))
        if any(sizes[ax] != base[ax] for ax in layout.source_axes if ax not in "YX"):
            continue
        yx = (sizes["Y"], sizes["X"])
        for level in range(1, len(level_shapes)):
            if level_shapes[level] == yx and level not in roots:
                roots[level] = k
    return roots


def _check_copy(copied: EncodedTiles, plan: PyramidPlan) -> None:
    """Refuse a level-0 tile copy that would not describe the image being written."""
    problems = []
    if plan.codec.name != "jpeg" or copied.compression != 7:
        problems.append("the export must be JPEG")
    if not plan.rgb or tuple(copied.shape) != (*plan.level_shapes[0], 3):
        problems.append(
            f"the tiles are {copied.shape}, the image {plan.level_shapes[0]} {'RGB' if plan.rgb else 'channels'}"
        )
    if copied.tile != plan.tile_size:
        problems.append(f"the tiles are {copied.tile} px, the export's {plan.tile_size} px")
    if problems:
        raise NapariVivError("cannot copy the source's tiles: " + "; ".join(problems))
