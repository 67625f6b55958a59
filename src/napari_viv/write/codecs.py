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

An OME-Zarr store takes other codecs (:data:`ZARR_CODECS`), all decoded by
Viv's Zarr loader (zarrita) and by our own viewer (its own eval-free decoders,
viewer/src/codecs/); none has a predictor:

* ``"blosc"`` = ``"blosc-zstd:1"`` (the default) - Blosc with zstd at level 1
  and bit-shuffle: smaller than zlib, 5-6x faster to encode and 6x faster to
  decode; ``"blosc-zstd:LEVEL"``, and ``"blosc-lz4[:LEVEL]"`` the same with
  LZ4 (faster, larger);
* ``"zstd[:LEVEL]"``;
* ``"zlib[:LEVEL]"`` (written as gzip in Zarr v3, the one compressor Zarr v3
  lists as a core codec);
* ``"none"``.

docs/benchmarks.md has the measurements.

In a TIFF, zstd, JPEG 2000, WebP and the like are refused: Viv cannot decode them
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
_ZARR_ONLY = "is an OME-Zarr codec (for a .ome.zarr output), not a TIFF one"
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
    "blosc": _ZARR_ONLY,
    "blosczstd": _ZARR_ONLY,
    "blosclz4": _ZARR_ONLY,
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


#: Zarr codec names (after aliases) and their level range; "blosc" alone is blosc-zstd.
_ZARR_ALIASES = {
    "blosc": "blosc-zstd",
    "blosc-zstd": "blosc-zstd",
    "blosc-lz4": "blosc-lz4",
    "zstd": "zstd",
    "zlib": "zlib",
    "deflate": "zlib",
    "gzip": "zlib",
    "none": "none",
    "raw": "none",
    "": "none",
}
#: Levels each Zarr codec takes, and its level when none is given.
_ZARR_LEVELS = {"blosc-zstd": (1, 9, 1), "blosc-lz4": (1, 9, 5), "zstd": (1, 22, 1), "zlib": (1, 9, 1)}
#: The codec an OME-Zarr store gets when none is given: Blosc zstd:1 with bit-shuffle, the
#: smallest and fastest in docs/benchmarks.md ("OME-Zarr codec"), decoded by every Viv page.
DEFAULT_ZARR_COMPRESSION = "blosc-zstd"
#: Blosc's shuffle written (2: bit-shuffle, measured smaller and faster than byte-shuffle).
BLOSC_SHUFFLE = 2
#: Bytes Blosc compresses as one block (0 would let Blosc pick: 32 KiB for zstd:1 and
#: 16-bit pixels). Measured on LuCa-like 512-px tiles (docs/benchmarks.md, "OME-Zarr
#: codec"): 256 KiB blocks are 1.4 % smaller and encode about 1.2x, decode 1.3x faster.
BLOSC_BLOCKSIZE = 256 * 1024
_ZARR_CHOICES = (
    "blosc (= blosc-zstd:1, the default), blosc-zstd[:1-9], blosc-lz4[:1-9], zstd[:1-22], zlib[:1-9] or none"
)


@dataclass(frozen=True)
class Codec:
    """A chosen codec for one dtype and layout; ``encode`` is thread-safe."""

    name: str  # zlib | lzw | none | jpeg; Zarr: gzip (v3's zlib) | zstd | blosc-zstd | blosc-lz4
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
        if self.name.startswith("blosc-"):
            tile = np.ascontiguousarray(tile)
            return imagecodecs.blosc_encode(
                tile,  # type: ignore[arg-type]
                level=self.level,
                compressor=self.name[len("blosc-") :],
                shuffle=BLOSC_SHUFFLE,
                typesize=tile.dtype.itemsize,
                blocksize=BLOSC_BLOCKSIZE,
                numthreads=1,  # the stream's pool runs one tile per thread
            )
        if self.name == "zstd":
            return imagecodecs.zstd_encode(np.ascontiguousarray(tile), level=self.level)  # type: ignore[arg-type]
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


#: Codecs a Zarr store may use (Viv's zarrita loader decodes them: tests/viv/zarr_codecs.mjs).
ZARR_CODECS = ("blosc-zstd", "blosc-lz4", "zstd", "zlib", "none")


def parse_zarr_spec(spec: str | None) -> tuple[str, int | None]:
    """Split a Zarr compression spec into (codec, level); None gives the Zarr default.

    Parameters
    ----------
    spec : str or None
        ``"blosc"``, ``"blosc-zstd:3"``, ``"blosc-lz4"``, ``"zstd:5"``, ``"zlib"``, ``"none"``...

    Returns
    -------
    tuple of (str, int or None)
        The codec (one of :data:`ZARR_CODECS`) and its level.

    Raises
    ------
    NapariVivError
        A codec OME-Zarr output does not offer, or a level out of range.

    Examples
    --------
    >>> parse_zarr_spec(None), parse_zarr_spec("blosc"), parse_zarr_spec("zstd:5"), parse_zarr_spec("gzip")
    (('blosc-zstd', 1), ('blosc-zstd', 1), ('zstd', 5), ('zlib', 1))
    """
    text = str(DEFAULT_ZARR_COMPRESSION if spec is None else spec).strip().lower()
    raw_name, _, raw_level = text.partition(":")
    name = _ZARR_ALIASES.get(raw_name.replace("_", "-"))
    if name is None:
        raise NapariVivError(f"compression {spec!r} is not offered for OME-Zarr; use {_ZARR_CHOICES}")
    if name == "none":
        if raw_level:
            raise NapariVivError(f"compression {spec!r}: none takes no level")
        return name, None
    low, top, default = _ZARR_LEVELS[name]
    if not raw_level:
        return name, default
    try:
        level = int(raw_level)
    except ValueError:
        raise NapariVivError(f"compression {spec!r}: level must be an integer") from None
    if not low <= level <= top:
        raise NapariVivError(f"compression {spec!r}: level must be {low}..{top} for {name}")
    return name, level


def choose_codec(spec, dtype, samples: int = 1, *, container: str = "tiff") -> Codec:
    """Choose the codec for ``spec`` applied to ``dtype`` pixels with ``samples``.

    ``container`` is "tiff", "zarr" (Zarr v2) or "zarr3": a Zarr store
    takes only :data:`ZARR_CODECS` (default :data:`DEFAULT_ZARR_COMPRESSION`),
    without a predictor (Zarr has no per-row one that Viv decodes); Zarr v3
    writes zlib's deflate as gzip.
    """
    if container in ("zarr", "zarr3"):
        name, level = parse_zarr_spec(spec)
        if container == "zarr3" and name == "zlib":  # Zarr v3 names deflate only in its gzip wrapper
            name = "gzip"
        return Codec(name, level, 1, samples)
    name, level = parse_spec(spec)
    dt = np.dtype(dtype)
    if name == "lzw" and samples > 1:
        raise NapariVivError("compression 'lzw' is not decoded correctly by Viv for RGB; use zlib or none")
    if name == "jpeg" and (dt != np.uint8 or samples not in (1, 3)):
        raise NapariVivError(
            f"compression 'jpeg' needs 8-bit data (gray or RGB), not {dt} with {samples} "
            "sample(s): Viv decodes JPEG only at 8 bits; use zlib (lossless) instead"
        )
    predictor = (3 if dt.kind == "f" else 2) if name in ("zlib", "lzw") else 1
    return Codec(name, level, predictor, samples)
