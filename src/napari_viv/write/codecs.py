"""TIFF codecs napari-viv writes: only what Viv decodes, with the right predictor.

A compression spec is a string ``"name"`` or ``"name:level"``:

* ``"zlib"`` - Adobe Deflate (TIFF code 8) encoded with libdeflate, with a
  horizontal-differencing predictor for integers (Predictor 2) and the
  floating-point predictor for floats (Predictor 3, also for float64, where
  Predictor 2 is illegal for Viv). ``"zlib:1"`` .. ``"zlib:12"`` set the level.
* ``"lzw"`` - LZW (code 5) with the same predictors; refused for RGB, which
  Viv's LZW decoder gets wrong.
* ``"none"`` - uncompressed.
* ``"jpeg"`` / ``"jpeg:QUALITY"`` (1-100, default 85) - baseline JPEG (code 7),
  lossy, for uint8 only: grayscale channels, or RGB stored as YCbCr
  (Photometric 6; Viv converts YCbCr to RGB when it draws) without chroma
  subsampling: on slide-like images 2x2 subsampling costs about 4 dB of PSNR
  at the same quality, and Viv's JavaScript decoder upsamples chroma unlike
  libjpeg. Each tile is a complete JPEG stream.

zstd, JPEG 2000, WebP and the like are refused: Viv cannot decode them
(or only in some browsers). LERC is refused too, for now: the Viv loader
decodes it exactly in Node (except 8-bit noise), but in the browser its decoder
module fails to load from our single-file bundle, and Bio-Formats cannot read it.
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
    "zlib": "zlib",
    "deflate": "zlib",
    "adobe_deflate": "zlib",
    "lzw": "lzw",
    "none": "none",
    "raw": "none",
    "": "none",
    "jpeg": "jpeg",
    "jpg": "jpeg",
}
_UNDECODABLE = "cannot be decoded by Viv/Avivator"
_REFUSED = {
    "zstd": _UNDECODABLE,
    "jpeg2000": _UNDECODABLE,
    "j2k": _UNDECODABLE,
    "jpegxl": _UNDECODABLE,
    "jxl": _UNDECODABLE,
    "jpegxr": _UNDECODABLE,
    "lzma": _UNDECODABLE,
    "png": _UNDECODABLE,
    "avif": _UNDECODABLE,
    "webp": "is decoded by Viv only in some browsers (not in Node)",
    "packbits": "is not offered (it compresses microscopy images poorly)",
    "lerc": (
        "is not offered: the Viv loader decodes it (not 8-bit noise), but the browser "
        "viewer cannot load its decoder yet (docs/viv-rules.md)"
    ),
}
#: TIFF Compression tag values.
TIFF_CODES = {"zlib": 8, "lzw": 5, "none": 1, "jpeg": 7}
#: JPEG quality used for a bare "jpeg" (PSNR in docs/benchmarks.md).
DEFAULT_JPEG_QUALITY = 85
#: YCbCrSubSampling of JPEG RGB tiles napari-viv encodes (none: 4:4:4).
JPEG_SUBSAMPLING = (1, 1)
#: Codecs that lose information (the CLI and the panel say so).
LOSSY = frozenset({"jpeg"})

#: Every TIFF compression code napari-viv names in messages (read or written).
COMPRESSION_NAMES = {
    1: "uncompressed",
    5: "LZW",
    6: "old-style JPEG",
    7: "JPEG",
    8: "zlib",
    32946: "zlib",
    32773: "PackBits",
    33003: "JPEG 2000",
    33004: "JPEG 2000",
    33005: "JPEG 2000",
    34712: "JPEG 2000",
    34887: "LERC",
    34925: "LZMA",
    34933: "PNG",
    34934: "JPEG XR",
    50000: "zstd",
    50001: "WebP",
    50002: "JPEG XL",
    52546: "JPEG XL",
}


@dataclass(frozen=True)
class Codec:
    """A chosen codec for one dtype and layout; ``encode`` is thread-safe."""

    name: str  # zlib | lzw | none | jpeg | gzip (Zarr v3)
    level: int | None  # zlib level or JPEG quality
    predictor: int  # TIFF Predictor tag: 1 none, 2 horizontal, 3 float
    samples: int = 1

    @property
    def tiff_compression(self) -> int:
        """The TIFF Compression tag value."""
        return TIFF_CODES[self.name]

    @property
    def photometric(self) -> str:
        """The TIFF Photometric written with this codec."""
        if self.samples == 3:
            return "ycbcr" if self.name == "jpeg" else "rgb"
        return "minisblack"

    @property
    def subsampling(self) -> tuple[int, int] | None:
        """YCbCrSubSampling for JPEG RGB, else None."""
        return JPEG_SUBSAMPLING if self.name == "jpeg" and self.samples == 3 else None

    def encode(self, tile: np.ndarray) -> bytes | bytearray:
        """Encode one full-size tile (Y, X[, S]) in little-endian order.

        ``tile`` may be a strided view (a tile of a wider band): the
        predictor reads it in place and writes into a buffer this thread
        reuses, which saves a copy and an allocation per tile.
        """
        import imagecodecs

        if self.name == "jpeg":
            if self.samples == 3:
                return imagecodecs.jpeg8_encode(
                    np.ascontiguousarray(tile),
                    level=self.level,
                    colorspace="rgb",
                    outcolorspace="ycbcr",
                    subsampling=JPEG_SUBSAMPLING,
                )
            return imagecodecs.jpeg8_encode(np.ascontiguousarray(tile), level=self.level)
        axis = -2 if tile.ndim == 3 else -1
        if self.predictor == 2:
            tile = imagecodecs.delta_encode(tile, axis=axis, out=_scratch(tile))
        elif self.predictor == 3:
            tile = imagecodecs.floatpred_encode(np.ascontiguousarray(tile), axis=axis, out=_scratch(tile))
        # imagecodecs encodes any buffer (its type hints name only bytes)
        if self.name == "zlib":
            return imagecodecs.deflate_encode(tile, level=self.level)  # type: ignore[arg-type]
        if self.name == "gzip":
            return imagecodecs.gzip_encode(np.ascontiguousarray(tile), level=self.level)  # type: ignore[arg-type]
        if self.name == "lzw":
            return imagecodecs.lzw_encode(tile)  # type: ignore[arg-type]
        return np.ascontiguousarray(tile).tobytes()


_local = threading.local()


def _scratch(like: np.ndarray) -> np.ndarray:
    """Return a contiguous array shaped like ``like``, reused by this thread."""
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
            raise NapariVivError(f"compression {spec!r} {why}; use zlib (default), zlib:LEVEL, lzw or none")
        raise NapariVivError(
            f"unknown compression {spec!r}; use zlib, zlib:LEVEL (1-12), lzw, none or (8-bit only) jpeg[:QUALITY]"
        )
    level = None
    if raw_level:
        if name in ("lzw", "none"):
            raise NapariVivError(f"compression {spec!r}: {name} takes no level")
        what, top = ("quality", 100) if name == "jpeg" else ("level", 12)
        try:
            level = int(raw_level)
        except ValueError:
            raise NapariVivError(f"compression {spec!r}: {what} must be an integer") from None
        if not 1 <= level <= top:
            raise NapariVivError(f"compression {spec!r}: {what} must be 1..{top}")
    elif name == "zlib":
        level = DEFAULT_ZLIB_LEVEL
    elif name == "jpeg":
        level = DEFAULT_JPEG_QUALITY
    return name, level


#: Codecs a Zarr store may use (Viv's zarrita loader decodes them in every browser).
ZARR_CODECS = ("zlib", "none")


def choose_codec(spec, dtype, samples: int = 1, *, container: str = "tiff") -> Codec:
    """Choose the codec for ``spec`` applied to ``dtype`` pixels with ``samples``.

    ``container`` is "tiff", "zarr" (Zarr v2) or "zarr3": a Zarr store
    takes only :data:`ZARR_CODECS`, without a predictor (Zarr has no per-row
    one that Viv decodes); Zarr v3 writes zlib's deflate as gzip.
    """
    name, level = parse_spec(spec)
    dt = np.dtype(dtype)
    if container in ("zarr", "zarr3"):
        if name not in ZARR_CODECS:
            raise NapariVivError(f"compression {spec!r} is not offered for OME-Zarr; use zlib (default) or none")
        if container == "zarr3" and name == "zlib":  # Zarr v3 names deflate only in its gzip wrapper
            name = "gzip"
        return Codec(name, level, 1, samples)
    if name == "lzw" and samples > 1:
        raise NapariVivError("compression 'lzw' is not decoded correctly by Viv for RGB; use zlib or none")
    if name == "jpeg" and (dt != np.uint8 or samples not in (1, 3)):
        raise NapariVivError(
            f"compression 'jpeg' needs 8-bit data (gray or RGB), not {dt} with {samples} "
            "sample(s): Viv decodes JPEG only at 8 bits; use zlib (lossless) instead"
        )
    predictor = (3 if dt.kind == "f" else 2) if name in ("zlib", "lzw") else 1
    return Codec(name, level, predictor, samples)
