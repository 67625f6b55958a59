"""TIFF codecs napari-viv writes: only what Viv decodes, with the right predictor.

A compression spec is a string ``"name"`` or ``"name:level"``:

* ``"zlib"`` - Adobe Deflate (TIFF code 8) encoded with libdeflate, with a
  horizontal-differencing predictor for integers (Predictor 2) and the
  floating-point predictor for floats (Predictor 3, also for float64, where
  Predictor 2 is illegal for Viv). ``"zlib:1"`` .. ``"zlib:12"`` set the level.
* ``"lzw"`` - LZW (code 5) with the same predictors; refused for RGB, which
  Viv's LZW decoder gets wrong.
* ``"none"`` - uncompressed.

zstd, JPEG 2000, WebP, LERC and the like are refused: Viv cannot decode them
(or only in some browsers). Lossy JPEG is refused too: it is not an
exact export, and Viv's JPEG decoder and libjpeg disagree on pixel values,
so a JPEG export could not be verified against the source.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import NapariVivError

#: The codec used when none is given. The benchmark notes (docs/benchmarks.md)
#: say why.
DEFAULT_COMPRESSION = "zlib"
#: libdeflate level used for a bare "zlib".
DEFAULT_ZLIB_LEVEL = 1

_ALIASES = {
    "zlib": "zlib", "deflate": "zlib", "adobe_deflate": "zlib",
    "lzw": "lzw",
    "none": "none", "raw": "none", "": "none",
}
_UNDECODABLE = "cannot be decoded by Viv/Avivator"
_REFUSED = {
    "zstd": _UNDECODABLE, "jpeg2000": _UNDECODABLE, "j2k": _UNDECODABLE,
    "jpegxl": _UNDECODABLE, "jxl": _UNDECODABLE, "jpegxr": _UNDECODABLE,
    "lzma": _UNDECODABLE, "png": _UNDECODABLE, "avif": _UNDECODABLE,
    "webp": "is decoded by Viv only in some browsers (not in Node)",
    "jpeg": "is lossy and decoded differently by Viv than by libjpeg",
    "jpg": "is lossy and decoded differently by Viv than by libjpeg",
    "packbits": "is not offered (it compresses microscopy images poorly)",
    "lerc": "is not offered by napari-viv",
}
#: TIFF Compression tag values.
TIFF_CODES = {"zlib": 8, "lzw": 5, "none": 1}

#: Every TIFF compression code napari-viv names in messages (read or written).
COMPRESSION_NAMES = {
    1: "uncompressed", 5: "LZW", 6: "old-style JPEG", 7: "JPEG", 8: "zlib", 32946: "zlib",
    32773: "PackBits", 33003: "JPEG 2000", 33004: "JPEG 2000", 33005: "JPEG 2000",
    34712: "JPEG 2000", 34887: "LERC", 34925: "LZMA", 34933: "PNG", 34934: "JPEG XR",
    50000: "zstd", 50001: "WebP", 50002: "JPEG XL", 52546: "JPEG XL",
}


@dataclass(frozen=True)
class Codec:
    """A chosen codec for one dtype and layout; ``encode`` is thread-safe."""

    name: str                  # zlib | lzw | none
    level: int | None          # zlib level
    predictor: int             # TIFF Predictor tag: 1 none, 2 horizontal, 3 float
    samples: int = 1

    @property
    def tiff_compression(self) -> int:
        return TIFF_CODES[self.name]

    def encode(self, tile: np.ndarray) -> bytes:
        """Encode one full-size tile (Y, X[, S]) in little-endian order.

        ``tile`` may be a strided view (a tile of a wider band): the
        predictor reads it in place and writes into a buffer this thread
        reuses, which saves a copy and an allocation per tile.
        """
        import imagecodecs

        axis = -2 if tile.ndim == 3 else -1
        if self.predictor == 2:
            tile = imagecodecs.delta_encode(tile, axis=axis, out=_scratch(tile))
        elif self.predictor == 3:
            tile = imagecodecs.floatpred_encode(np.ascontiguousarray(tile), axis=axis,
                                                out=_scratch(tile))
        if self.name == "zlib":
            return imagecodecs.deflate_encode(tile, level=self.level)
        if self.name == "lzw":
            return imagecodecs.lzw_encode(tile)
        return np.ascontiguousarray(tile).tobytes()


_local = threading.local()


def _scratch(like: np.ndarray) -> np.ndarray:
    """A contiguous array shaped like ``like``, reused by this thread."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
        buf = _local.buf = np.empty(like.shape, like.dtype)
    return buf


def parse_spec(spec: str | None) -> tuple[str, int | None]:
    """Split ``"zlib:1"`` into ``("zlib", 1)``; validate the name and level."""
    if spec is None:
        spec = DEFAULT_COMPRESSION
    text = str(spec).strip().lower()
    raw_name, _, raw_level = text.partition(":")
    name = _ALIASES.get(raw_name)
    if name is None:
        why = _REFUSED.get(raw_name.replace("-", "").replace("_", ""))
        if why:
            raise NapariVivError(
                f"compression {spec!r} {why}; use zlib (default), zlib:LEVEL, lzw or none"
            )
        raise NapariVivError(
            f"unknown compression {spec!r}; use zlib, zlib:LEVEL (1-12), lzw or none"
        )
    level = None
    if raw_level:
        if name in ("lzw", "none"):
            raise NapariVivError(f"compression {spec!r}: {name} takes no level")
        try:
            level = int(raw_level)
        except ValueError:
            raise NapariVivError(f"compression {spec!r}: level must be an integer") from None
        if not 1 <= level <= 12:
            raise NapariVivError(f"compression {spec!r}: level must be 1..12")
    elif name == "zlib":
        level = DEFAULT_ZLIB_LEVEL
    return name, level


def choose_codec(spec, dtype, samples: int = 1) -> Codec:
    """The codec for ``spec`` applied to ``dtype`` pixels with ``samples``."""
    name, level = parse_spec(spec)
    dt = np.dtype(dtype)
    if name == "lzw" and samples > 1:
        raise NapariVivError(
            "compression 'lzw' is not decoded correctly by Viv for RGB; use zlib or none"
        )
    if name in ("zlib", "lzw"):
        predictor = 3 if dt.kind == "f" else 2
    else:
        predictor = 1
    return Codec(name, level, predictor, samples)
