"""JPEG-tiled TIFF levels read fast: tiles decoded in parallel, and a half-scale level.

A whole-slide image's levels are 8-bit RGB JPEG tiles. Reading them through
tifffile's Zarr store decodes one tile after the other (the store serialises
its reads), and making the next pyramid level needs every pixel of level 0.
This module offers two array-likes (``shape``, ``dtype``, ``chunks``,
``__getitem__``) the export engine reads like any other source:

* :class:`JpegTileLevel` with ``scale=1`` reads the bytes of the tiles a
  slice covers through tifffile's file handle, then decodes them on a thread
  pool with the page's own decode function: exactly tifffile's pixels, on
  every core.
* ``scale=2`` decodes each tile at half size in the DCT domain
  (libjpeg-turbo's scaled IDCT, through simplejpeg): the next pyramid level
  without decoding the full-size pixels. It is a low-pass reduction, not the
  2x2 mean, so it is used only where that is allowed and good: convert's
  default when level 0 is copied (the tiles' full-size pixels are never
  needed) and sample tiles reach :data:`HALF_PSNR_BOUND` dB against the
  exact mean; never with ``--downsample mean`` or ``nearest`` (measured in
  docs/benchmarks.md and tests/core/test_jpeg_tiles.py).

:func:`fast_jpeg_levels` picks the sources for ``napari-viv convert``.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..system import cpu_count

#: The PSNR (dB) against the exact 2x2 mean of the full decode that a
#: half-scale level must reach on a slide's sample tiles before convert
#: uses it. Whole slides measured 54.5 (CMU-1, a real Aperio slide), 49.5
#: (OpenSlide's small SVS) and 43.6-43.9 (synthetic H&E); noise gives 24.
HALF_PSNR_BOUND = 40.0

#: Photometric values (TIFF codes) of RGB JPEG tiles: RGB, YCbCr.
_RGB_PHOTOMETRIC = (2, 6)

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Return the decoding threads shared by every reader (one per core)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(cpu_count(), thread_name_prefix="napari-viv-jpeg")
        return _POOL


def is_rgb_jpeg_tiled(page) -> bool:
    """Tell whether a tifffile page is 8-bit interleaved RGB in JPEG tiles.

    Parameters
    ----------
    page : tifffile.TiffPage
        The page (one pyramid level) to test.

    Returns
    -------
    bool
        True for JPEG (code 7), 3 samples of 8 bits, RGB or YCbCr photometric,
        interleaved, tiled.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.tif"
    >>> tifffile.imwrite(path, np.zeros((32, 32, 3), np.uint8), tile=(16, 16), compression="jpeg")
    >>> with tifffile.TiffFile(path) as tif:
    ...     is_rgb_jpeg_tiled(tif.pages[0])
    True
    """
    try:
        return (
            int(page.compression) == 7
            and page.is_tiled
            and page.samplesperpixel == 3
            and page.dtype == np.uint8
            and int(page.photometric) in _RGB_PHOTOMETRIC
            and int(page.planarconfig) == 1
            and page.tiledepth == 1
        )
    except (AttributeError, TypeError, ValueError):
        return False


class JpegTileLevel:
    """One JPEG-tiled RGB level of a TIFF as an array (Y, X, 3) of uint8.

    Parameters
    ----------
    path : str or Path
        The TIFF file.
    series : int, optional
        tifffile's series index (0 by default).
    level : int, optional
        The pyramid level of that series (0 by default).
    scale : {1, 2}, optional
        1: the level's pixels, exactly as tifffile decodes them. 2: every tile
        decoded at half size in the DCT domain; the shape is then the floor
        half of the level's, like the next level of an export's pyramid.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.tif"
    >>> rgb = np.random.default_rng(0).integers(0, 255, (64, 48, 3), np.uint8)
    >>> tifffile.imwrite(path, rgb, tile=(16, 16), compression="jpeg")
    >>> level = JpegTileLevel(path)
    >>> level.shape, level.chunks
    ((64, 48, 3), (16, 16, 3))
    >>> bool((level[10:40, 5:30] == tifffile.imread(path)[10:40, 5:30]).all())
    True
    >>> JpegTileLevel(path, scale=2).shape
    (32, 24, 3)
    >>> level.close()
    """

    dtype = np.dtype(np.uint8)
    ndim = 3

    def __init__(self, path, series: int | None = None, level: int = 0, *, scale: int = 1):
        import tifffile

        if scale not in (1, 2):
            raise ValueError(f"scale must be 1 or 2, not {scale!r}")
        self.path = Path(path)
        self.scale = scale
        tif = tifffile.TiffFile(self.path)
        try:
            page = tif.series[series or 0].levels[level].pages[0]
            if not isinstance(page, tifffile.TiffPage) or not is_rgb_jpeg_tiled(page):
                raise ValueError(f"{self.path.name}: level {level} is not RGB in JPEG tiles")
            self._decode = page.decode  # tifffile's public per-tile decoder
            self._tables = page.jpegtables
            self._offsets = tuple(page.dataoffsets)
            self._counts = tuple(page.databytecounts)
            self._height, self._width = int(page.imagelength), int(page.imagewidth)
            self._tile = (int(page.tilelength), int(page.tilewidth))
        except BaseException:
            tif.close()
            raise
        self._tif = tif
        self._lock = threading.Lock()  # one reader of the file handle at a time
        self._finalizer = weakref.finalize(self, tif.close)
        self._across = -(-self._width // self._tile[1])
        th, tw = self._tile
        self._out_tile = (th // scale, tw // scale)
        self.shape = (self._height // scale, self._width // scale, 3)
        self.chunks = self._out_tile + (3,)
        #: Whether the tiles hold RGB-coded JPEG that libjpeg would take for
        #: YCbCr (Aperio's): an Adobe marker then tells it so (scale 2 only).
        self._rgb_coded = False
        if scale == 2:
            try:
                self._rgb_coded = self._calibrate()
            except BaseException:
                self.close()
                raise

    def _calibrate(self) -> bool:
        """Find how libjpeg must be told the tiles' colour space to agree with tifffile.

        The first stored tile is decoded at full size by tifffile and by
        simplejpeg, as stored and with an Adobe "no transform" marker; the
        variant that gives tifffile's pixels is the one used at half size.
        """
        import simplejpeg

        th, tw = self._tile
        if th % 16 or tw % 16:
            raise ValueError(f"{self.path.name}: {tw}x{th} tiles cannot be decoded at half size")
        k = next((i for i, n in enumerate(self._counts) if n), None)
        if k is None:
            return False
        (data,) = self._read([k])
        assert data is not None
        want = self._full(data, k).astype(np.int16)
        for rgb_coded in (False, True):
            got = simplejpeg.decode_jpeg(_stream(data, self._tables, rgb_coded), colorspace="RGB")
            if got.shape == want.shape and int(np.abs(got - want).max()) <= 1:
                return rgb_coded
        raise ValueError(f"{self.path.name}: libjpeg and tifffile disagree on the tiles' colours")

    def close(self) -> None:
        """Close the file (also done when the reader is garbage-collected)."""
        self._finalizer()

    def __len__(self) -> int:
        """Return the number of rows."""
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        """Decode the whole level (numpy's conversion)."""
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key) -> np.ndarray:
        """Decode the tiles under ``key`` (parallel) and return its pixels."""
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > 3 or any(k is Ellipsis or k is None for k in key):
            return self[:, :][key]  # unusual keys: decode everything, index in numpy
        key = key + (slice(None),) * (3 - len(key))
        (y0, y1), (x0, x1) = self._span(key[0], 0), self._span(key[1], 1)
        region = self._region(y0, y1, x0, x1)
        local = tuple(slice(None, None, k.step) if isinstance(k, slice) else 0 for k in key[:2]) + (key[2],)
        out = region[local]
        return out if out.base is None else np.ascontiguousarray(out)

    def _span(self, k, axis: int) -> tuple[int, int]:
        """Rows or columns [start, stop) that index ``k`` of ``axis`` touches."""
        n = self.shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            rng = range(start, stop, step)
            if not len(rng):
                return 0, 0
            return min(rng[0], rng[-1]), max(rng[0], rng[-1]) + 1
        i = int(k)
        i = i + n if i < 0 else i
        if not 0 <= i < n:
            raise IndexError(f"index {k} is out of bounds for size {n}")
        return i, i + 1

    def _region(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Decode rows [y0, y1) and columns [x0, x1), tiles in parallel."""
        out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        if y1 <= y0 or x1 <= x0:
            return out
        th, tw = self._out_tile
        tiles = [(r, c) for r in range(y0 // th, (y1 - 1) // th + 1) for c in range(x0 // tw, (x1 - 1) // tw + 1)]
        index = [r * self._across + c for r, c in tiles]
        data = self._read(index)

        def place(k: int) -> None:
            r, c = tiles[k]
            tile = self._tile_pixels(data[k], index[k])
            ty, tx = r * th, c * tw
            a, b = max(y0, ty), min(y1, ty + th)
            e, f = max(x0, tx), min(x1, tx + tw)
            out[a - y0 : b - y0, e - x0 : f - x0] = tile[a - ty : b - ty, e - tx : f - tx]

        for job in [_pool().submit(place, k) for k in range(len(tiles))]:
            job.result()
        return out

    def _read(self, index: list[int]) -> list[bytes | None]:
        """Return the stored bytes of tiles ``index``, through tifffile's file handle."""
        with self._lock:
            fh = self._tif.filehandle
            got = fh.read_segments([self._offsets[i] for i in index], [self._counts[i] for i in index], sort=False)
            return [d for d, _ in got]  # type: ignore[misc]

    def _full(self, data: bytes, index: int) -> np.ndarray:
        """Decode one tile at full size with tifffile's decoder."""
        pixels = self._decode(data, index, jpegtables=self._tables)[0]
        if pixels is None:
            raise ValueError(f"{self.path.name}: tile {index} did not decode")
        return pixels.reshape(self._tile[0], self._tile[1], 3)

    def _tile_pixels(self, data: bytes | None, index: int) -> np.ndarray:
        th, tw = self._out_tile
        if not data:  # a sparse tile: tifffile reads it as zeros
            return np.zeros((th, tw, 3), np.uint8)
        if self.scale == 1:
            return self._full(data, index)
        return half_decode(data, self._tables, self._tile, rgb_coded=self._rgb_coded)


#: An Adobe APP14 segment whose transform flag is 0: the three components are
#: R, G and B, not YCbCr (how a TIFF's Photometric RGB is told to libjpeg).
_ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"


def _stream(data: bytes, tables: bytes | None, rgb_coded: bool) -> bytes:
    """Return one complete JPEG stream for a tile.

    The JPEGTables are merged in, and the Adobe marker added for RGB-coded tiles.
    """
    if tables is not None and len(tables) > 4 and data[:2] == b"\xff\xd8":
        data = tables[:-2] + data[2:]  # the tables' SOI + tables, then the tile after its SOI
    if rgb_coded:
        data = data[:2] + _ADOBE_RGB + data[2:]
    return data


def half_decode(data: bytes, tables: bytes | None, tile: tuple[int, int], *, rgb_coded: bool = False) -> np.ndarray:
    """Decode one JPEG tile at half size in the DCT domain.

    Parameters
    ----------
    data : bytes
        The tile as stored (an abbreviated stream when ``tables`` is given).
    tables : bytes or None
        The TIFF's JPEGTables (quantisation and Huffman tables), or None.
    tile : (int, int)
        The tile's full size (rows, columns).
    rgb_coded : bool, optional
        True when the components are R, G, B although the stream does not
        say so (libjpeg would otherwise convert them from YCbCr).

    Returns
    -------
    numpy.ndarray
        (rows // 2, columns // 2, 3) uint8 RGB.

    Examples
    --------
    >>> import imagecodecs, numpy as np
    >>> tile = imagecodecs.jpeg8_encode(np.full((32, 32, 3), 200, np.uint8), level=90)
    >>> small = half_decode(tile, None, (32, 32))
    >>> small.shape, int(abs(small.astype(int) - 200).max()) <= 1
    ((16, 16, 3), True)
    """
    import simplejpeg

    th, tw = tile
    data = _stream(data, tables, rgb_coded)
    pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=th // 2, min_width=tw // 2)
    if pixels.shape != (th // 2, tw // 2, 3):
        raise ValueError(f"a {tw}x{th} JPEG tile decoded at half size gave {pixels.shape}")
    return pixels


def _half_scale_agrees(full: JpegTileLevel, half: JpegTileLevel) -> bool:
    """Check sample tiles: the half-scale decode is close enough to the 2x2 mean.

    Five tiles (the centre and four quarter points) are decoded both ways;
    their PSNR against the exact mean, over all five, must reach
    :data:`HALF_PSNR_BOUND`, or the slide's levels are computed as exact means.
    A colour-space guess that differs from tifffile's would fail too (11 dB).
    """
    th, tw = half.chunks[0], half.chunks[1]
    rows, cols = -(-half.shape[0] // th), -(-half.shape[1] // tw)
    spots = {(rows * a // 4, cols * b // 4) for a, b in ((2, 2), (1, 1), (1, 3), (3, 1), (3, 3))}
    squares, count = 0.0, 0
    for r, c in sorted(spots):
        y, x = r * th, c * tw
        small = half[y : y + th, x : x + tw].astype(np.float64)
        f = full[2 * y : 2 * y + 2 * small.shape[0], 2 * x : 2 * x + 2 * small.shape[1]].astype(np.float64)
        mean = (f[0::2, 0::2] + f[1::2, 0::2] + f[0::2, 1::2] + f[1::2, 1::2]) / 4
        squares += float(np.sum((mean - small) ** 2))
        count += small.size
    if not count or squares == 0:
        return True
    return 10 * float(np.log10(255.0**2 * count / squares)) >= HALF_PSNR_BOUND


def fast_jpeg_levels(
    path, series: int | None = None, downsample: str | None = None, *, level0_copied: bool = False
) -> list | None:
    """Return the sources ``napari-viv convert`` reads for a JPEG slide, or None.

    Parameters
    ----------
    path : str or Path
        The input file.
    series : int, optional
        tifffile's series index (convert's ``--series``).
    downsample : {None, "mean", "nearest"}
        convert's ``--downsample``. None (the default) lets the slide's own
        JPEG levels be reused and, when ``level0_copied`` and the slide has no
        level 1 of its own, makes level 1 by half-scale decoding; "mean" or "nearest" give level 0 alone, so every
        lower level is computed exactly as asked.
    level0_copied : bool, optional
        True when the export copies level 0's tiles: their full-size pixels
        are then never needed, and level 1 comes from the half-scale decode.

    Returns
    -------
    list or None
        Levels for ``export_pyramid`` (level 0 first, then the optional
        half-scale level and the slide's own levels, each (Y, X, 3) uint8),
        or None when level 0 is not 8-bit RGB in JPEG tiles, or (without
        ``downsample``) another of the slide's levels is not: read it the
        usual way.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.svs"
    >>> tifffile.imwrite(path, np.zeros((64, 64, 3), np.uint8), tile=(16, 16), compression="jpeg")
    >>> [lv.shape for lv in fast_jpeg_levels(path, level0_copied=True)]
    [(64, 64, 3), (32, 32, 3)]
    >>> [lv.shape for lv in fast_jpeg_levels(path, downsample="mean", level0_copied=True)]
    [(64, 64, 3)]
    >>> fast_jpeg_levels(path.with_suffix(".missing")) is None
    True
    """
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            s = tif.series[series or 0]
            shapes = [tuple(lv.shape) for lv in s.levels]
            pages = [lv.pages[0] if len(lv.pages) == 1 else None for lv in s.levels]
            usable = [
                isinstance(page, tifffile.TiffPage) and is_rgb_jpeg_tiled(page) and tuple(page.shape) == shape
                for page, shape in zip(pages, shapes, strict=True)
            ]
    except Exception:  # noqa: BLE001 - not a TIFF tifffile reads: the usual path reports it
        return None
    if not usable or not usable[0]:
        return None
    levels: list = [JpegTileLevel(path, series, 0)]
    if downsample is not None:
        return levels
    if not all(usable):  # a level of another kind: the usual path reuses it
        levels[0].close()
        return None
    own = [JpegTileLevel(path, series, k) for k in range(1, len(shapes)) if usable[k]]
    half_shape = (shapes[0][0] // 2, shapes[0][1] // 2, 3)
    if level0_copied and all(lv.shape != half_shape for lv in own):  # the slide's own level 1 wins
        try:
            half = JpegTileLevel(path, series, 0, scale=2)
        except (ValueError, ImportError):
            half = None
        if half is not None and _half_scale_agrees(levels[0], half):
            levels.append(half)
    return levels + own
