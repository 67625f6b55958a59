"""codecs: which codec/predictor per dtype, refusals, and tiles that decode back."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest

from napari_viv.errors import NapariVivError
from napari_viv.write.codecs import DEFAULT_ZLIB_LEVEL, choose_codec, parse_spec


def test_parse_spec():
    assert parse_spec("zlib") == ("zlib", DEFAULT_ZLIB_LEVEL)
    assert parse_spec("ZLIB:6") == ("zlib", 6)
    assert parse_spec("deflate:12") == ("zlib", 12)
    assert parse_spec("lzw") == ("lzw", None)
    assert parse_spec("none") == ("none", None)
    assert parse_spec(None)[0] == "zlib"


@pytest.mark.parametrize(
    "bad,match",
    [
        ("zstd", "Viv"),
        ("jpeg2000", "Viv"),
        ("webp", "Viv"),
        ("jpeg:0", "1..100"),
        ("jpeg:101", "1..100"),
        ("jpg:x", "quality must be an integer"),
        ("brotli", "unknown"),
        ("zlib:0", "1..12"),
        ("zlib:13", "1..12"),
        ("zlib:x", "integer"),
        ("lzw:3", "no level"),
    ],
)
def test_refusals(bad, match):
    with pytest.raises(NapariVivError, match=match):
        parse_spec(bad)


def test_jpeg_spec_and_codec():
    from napari_viv.write.codecs import DEFAULT_JPEG_QUALITY

    assert parse_spec("jpeg") == ("jpeg", DEFAULT_JPEG_QUALITY)
    assert parse_spec("JPG:70") == ("jpeg", 70)
    rgb = choose_codec("jpeg", "uint8", 3)
    assert (rgb.tiff_compression, rgb.photometric, rgb.predictor) == (7, "ycbcr", 1)
    assert choose_codec("jpeg", "uint8").photometric == "minisblack"
    for dtype, samples in (("uint16", 1), ("int8", 1), ("float32", 1), ("uint8", 4)):
        with pytest.raises(NapariVivError, match="8-bit"):
            choose_codec("jpeg", dtype, samples)


def test_predictors_follow_dtype():
    for dt in ("uint8", "int16", "uint32", "int32"):
        assert choose_codec("zlib", dt).predictor == 2
        assert choose_codec("lzw", dt).predictor == 2
    for dt in ("float32", "float64"):  # never predictor 2 on 64-bit samples
        assert choose_codec("zlib", dt).predictor == 3
    assert choose_codec("none", "uint16").predictor == 1


def test_lzw_refused_for_rgb():
    with pytest.raises(NapariVivError, match="RGB"):
        choose_codec("lzw", "uint8", samples=3)
    assert choose_codec("zlib", "uint8", samples=3).predictor == 2


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32", "float32", "float64"])
@pytest.mark.parametrize("spec", ["zlib", "zlib:9", "lzw", "none"])
def test_encoded_tiles_decode_to_the_input(dtype, spec):
    rng = np.random.default_rng(3)
    tile = (rng.standard_normal((32, 32)) * 50).astype(dtype)
    codec = choose_codec(spec, dtype)
    data = codec.encode(tile)
    if codec.name == "zlib":
        raw = imagecodecs.zlib_decode(data)
    elif codec.name == "lzw":
        raw = imagecodecs.lzw_decode(data)
    else:
        raw = data
    if codec.predictor == 2:
        got = imagecodecs.delta_decode(np.frombuffer(raw, dtype).reshape(32, 32), axis=-1)
    elif codec.predictor == 3:
        got = imagecodecs.floatpred_decode(
            np.frombuffer(raw, dtype=np.uint8).copy().view(dtype).reshape(32, 32), axis=-1
        )
    else:
        got = np.frombuffer(raw, dtype).reshape(32, 32)
    np.testing.assert_array_equal(got, tile)


def test_rgb_tile_predictor_is_per_sample():
    rng = np.random.default_rng(4)
    tile = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    data = choose_codec("zlib", "uint8", samples=3).encode(tile)
    diff = np.frombuffer(imagecodecs.zlib_decode(data), np.uint8).reshape(16, 16, 3)
    # TIFF horizontal differencing: each sample minus the same sample one pixel left
    expected = tile.copy()
    expected[:, 1:] = tile[:, 1:] - tile[:, :-1]
    np.testing.assert_array_equal(diff, expected)


@pytest.mark.parametrize("container", ["zarr", "zarr3"])
def test_the_zarr_default_is_blosc_zstd_1_with_bit_shuffle(container):
    """Without a spec an OME-Zarr chunk is Blosc (zstd inside, level 1, bit-shuffle), which
    numcodecs decodes back exactly."""
    import numcodecs

    codec = choose_codec(None, "uint16", container=container)
    assert (codec.name, codec.level) == ("blosc-zstd", 1)
    tile = (np.arange(256 * 256, dtype=np.uint16).reshape(256, 256) * 7) % 4093
    chunk = bytes(codec.encode(tile))
    flags = chunk[2]
    assert flags >> 5 == 4, flags  # Blosc's compressor code 4: zstd
    assert flags & 0x04 and not flags & 0x01, flags  # bit-shuffle, not byte-shuffle
    assert chunk[3] == 2  # typesize
    np.testing.assert_array_equal(np.frombuffer(numcodecs.Blosc().decode(chunk), np.uint16).reshape(256, 256), tile)
