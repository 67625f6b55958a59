"""TIFF codecs napari-viv writes: only what Viv decodes, with the right predictor.

A compression spec is a string ``"name"`` or ``"name:level"``:

* ``"zlib"`` - Adobe Deflate (TIFF code 8) encoded with libdeflate, with a
  horizontal-differencing predictor for integers (Predictor 2) and the
  floating-point predictor for floats (Predictor 3, also for float64, where
  Predictor 2 is illegal for Viv). ``"zlib:1"`` .. ``"zlib:12"`` set the level.
* ``"lzw"`` - LZW (code 5) with the same predictors; refused for RGB, which
  Viv's LZW decoder gets wrong.
* ``"jpeg"`` / ``"jpeg:Q"`` - lossy JPEG (code 7) for uint8 only, quality Q
  (default 90).
* ``"none"`` - uncompressed.

zstd, JPEG 2000, WebP, LERC and the like are refused: Viv cannot decode them
(or only in some browsers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NapariVivError

#: The codec used when none is given. The benchmark notes (docs/benchmarks.md)
#: say why.
DEFAULT_COMPRESSION = "zlib"
#: libdeflate level used for a bare "zlib".
DEFAULT_ZLIB_LEVEL = 1
DEFAULT_JPEG_QUALITY = 90

_ALIASES = {
    "zlib": "zlib", "deflate": "zlib", "adobe_deflate": "zlib",
    "lzw": "lzw",
    "jpeg": "jpeg", "jpg": "jpeg",
    "none": "none", "raw": "none", "": "none",
}
_REFUSED = ("zstd", "jpeg2000", "j2k", "jpeg_2000", "jpegxl", "jxl", "webp", "lerc",
            "lzma", "packbits", "png", "avif", "jpegxr")
#: TIFF Compression tag values.
TIFF_CODES = {"zlib": 8, "lzw": 5, "jpeg": 7, "none": 1}


@dataclass(frozen=True)
class Codec:
    """A chosen codec for one dtype and layout; ``encode`` is thread-safe."""

    name: str                  # zlib | lzw | jpeg | none
    level: int | None          # zlib level or jpeg quality
    predictor: int             # TIFF Predictor tag: 1 none, 2 horizontal, 3 float
    samples: int = 1

    @property
    def tiff_compression(self) -> int:
        return TIFF_CODES[self.name]

    def encode(self, tile: np.ndarray) -> bytes:
        """Encode one full-size tile (Y, X[, S]) in little-endian order."""
        import imagecodecs

        axis = -2 if tile.ndim == 3 else -1
        if self.predictor == 2:
            tile = imagecodecs.delta_encode(tile, axis=axis)
        elif self.predictor == 3:
            tile = imagecodecs.floatpred_encode(tile, axis=axis)
        if self.name == "zlib":
            return imagecodecs.deflate_encode(tile, level=self.level)
        if self.name == "lzw":
            return imagecodecs.lzw_encode(tile)
        if self.name == "jpeg":
            return imagecodecs.jpeg8_encode(tile, level=self.level)
        return np.ascontiguousarray(tile).tobytes()


def parse_spec(spec: str | None) -> tuple[str, int | None]:
    """Split ``"zlib:1"`` into ``("zlib", 1)``; validate the name and level."""
    if spec is None:
        spec = DEFAULT_COMPRESSION
    text = str(spec).strip().lower()
    raw_name, _, raw_level = text.partition(":")
    name = _ALIASES.get(raw_name)
    if name is None:
        if raw_name in _REFUSED or raw_name.replace("-", "") in _REFUSED:
            raise NapariVivError(
                f"compression {spec!r} cannot be decoded by Viv/Avivator; "
                "use zlib (default), lzw, jpeg (uint8) or none"
            )
        raise NapariVivError(
            f"unknown compression {spec!r}; use zlib, zlib:LEVEL, lzw, jpeg, jpeg:QUALITY or none"
        )
    level = None
    if raw_level:
        if name in ("lzw", "none"):
            raise NapariVivError(f"compression {spec!r}: {name} takes no level")
        try:
            level = int(raw_level)
        except ValueError:
            raise NapariVivError(f"compression {spec!r}: level must be an integer") from None
        lo, hi = (1, 12) if name == "zlib" else (1, 100)
        if not lo <= level <= hi:
            raise NapariVivError(f"compression {spec!r}: level must be {lo}..{hi}")
    elif name == "zlib":
        level = DEFAULT_ZLIB_LEVEL
    elif name == "jpeg":
        level = DEFAULT_JPEG_QUALITY
    return name, level


def choose_codec(spec, dtype, samples: int = 1) -> Codec:
    """The codec for ``spec`` applied to ``dtype`` pixels with ``samples``."""
    name, level = parse_spec(spec)
    dt = np.dtype(dtype)
    if name == "lzw" and samples > 1:
        raise NapariVivError(
            "compression 'lzw' is not decoded correctly by Viv for RGB; use zlib or none"
        )
    if name == "jpeg" and dt != np.uint8:
        raise NapariVivError(f"compression 'jpeg' needs uint8 pixels, not {dt.name}; use zlib")
    if name in ("zlib", "lzw"):
        predictor = 3 if dt.kind == "f" else 2
    else:
        predictor = 1
    return Codec(name, level, predictor, samples)
