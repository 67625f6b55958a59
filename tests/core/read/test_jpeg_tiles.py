"""JPEG slides read fast (read/jpeg_tiles.py): the same pixels as tifffile, a bounded half scale."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from helpers import realfiles

from napari_viv import export_pyramid, open_image
from napari_viv.read.jpeg import jpeg_level0
from napari_viv.read.jpeg_tiles import HALF_PSNR_BOUND, JpegTileLevel, fast_jpeg_levels, is_rgb_jpeg_tiled
from napari_viv.sample import synthetic_he

REAL_SVS = ["slide_CMU-1-Small-Region.svs", "slide_openslide_small.svs"]


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def mean2(a: np.ndarray) -> np.ndarray:
    """An independent 2x2 mean (floor shape), in float."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    a = a[:h, :w].astype(float)
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4


def write_slide(path: Path, rgb: np.ndarray, tile: int) -> Path:
    """Level 0 as scanners write it: one complete YCbCr 2x2 JPEG stream per tile, q90."""
    n_y, n_x = -(-rgb.shape[0] // tile), -(-rgb.shape[1] // tile)
    padded = np.zeros((n_y * tile, n_x * tile, 3), np.uint8)
    padded[: rgb.shape[0], : rgb.shape[1]] = rgb

    def tiles():
        for r in range(n_y):
            for c in range(n_x):
                yield imagecodecs.jpeg8_encode(
                    padded[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile],
                    level=90,
                    colorspace="rgb",
                    outcolorspace="ycbcr",
                    subsampling=(2, 2),
                )

    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        tw.write(
            tiles(),
            shape=rgb.shape,
            dtype=np.uint8,
            tile=(tile, tile),
            compression=7,
            photometric="ycbcr",
            subsampling=(2, 2),
            metadata=None,
            description="Aperio Image Library v12.0.15\r\nsynthetic |MPP = 0.5",
        )
    return path


@pytest.fixture(scope="module")
def he():
    return synthetic_he(1024, seed=5)


@pytest.fixture(scope="module")
def slide(he, tmp_path_factory):
    """A 1000 x 872 slide (edge tiles cut) in 128-px JPEG tiles."""
    return write_slide(tmp_path_factory.mktemp("slide") / "he.svs", he[:1000, :872], 128)


def real(name: str) -> Path:
    path = realfiles.folder() / name
    if not path.is_file():
        pytest.skip(f"{name} is not at {path}: {realfiles.missing_reason() or 'file missing'}")
    return path


KEYS = [
    (slice(None), slice(None)),
    (slice(5, 300), slice(100, 871)),
    (slice(127, 129), slice(None, None, 3)),
    (slice(999, 1000),),
    (np.s_[-200:-3, -50:], None),
    (np.s_[10, :, 1], None),
    (np.s_[700:0:-7, 3:900:5, ::-1], None),
]


@pytest.mark.parametrize("key", KEYS)
def test_parallel_reader_gives_tifffiles_pixels(slide, key):
    key = key[0] if len(key) == 2 and key[1] is None else key
    want = tifffile.imread(slide)
    level = JpegTileLevel(slide)
    assert level.shape == want.shape and level.chunks == (128, 128, 3)
    np.testing.assert_array_equal(level[key], want[key])
    level.close()


@pytest.mark.parametrize("name", REAL_SVS)
def test_parallel_reader_on_real_svs(name):
    path = real(name)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].jpegtables is not None and is_rgb_jpeg_tiled(tif.pages[0])
        want = tif.series[0].asarray()
    level = JpegTileLevel(path)
    np.testing.assert_array_equal(level[:, :], want)
    np.testing.assert_array_equal(level[13:-7, 101:], want[13:-7, 101:])


def half_psnr(path: Path) -> float:
    full, half = JpegTileLevel(path)[:, :], JpegTileLevel(path, scale=2)[:, :]
    assert half.shape == (full.shape[0] // 2, full.shape[1] // 2, 3)
    return psnr(half, mean2(full))


def test_half_scale_against_the_mean_on_a_synthetic_slide(slide):
    value = half_psnr(slide)
    print(f"half scale vs 2x2 mean, synthetic H&E: {value:.2f} dB")
    assert value >= HALF_PSNR_BOUND


@pytest.mark.parametrize("name", REAL_SVS)
def test_half_scale_against_the_mean_on_a_real_svs(name):
    """Aperio's RGB-coded tiles decode in the right colours at half size too."""
    value = half_psnr(real(name))
    print(f"half scale vs 2x2 mean, {name}: {value:.2f} dB")
    assert value >= HALF_PSNR_BOUND


def test_fast_levels_follow_downsample(slide, tmp_path):
    default = fast_jpeg_levels(slide, level0_copied=True)
    assert [lv.shape for lv in default] == [(1000, 872, 3), (500, 436, 3)]
    assert [lv.scale for lv in default] == [1, 2]
    assert [lv.shape for lv in fast_jpeg_levels(slide)] == [(1000, 872, 3)]  # level 0 re-encoded
    for method in ("mean", "nearest"):
        assert [lv.scale for lv in fast_jpeg_levels(slide, downsample=method, level0_copied=True)] == [1]
    lossless = tmp_path / "zlib.tif"
    tifffile.imwrite(lossless, np.zeros((64, 64, 3), np.uint8), tile=(16, 16), compression="zlib")
    assert fast_jpeg_levels(lossless, level0_copied=True) is None
    assert fast_jpeg_levels(tmp_path / "missing.svs") is None


def test_half_scale_is_refused_where_it_is_far_from_the_mean(tmp_path):
    """Noise has detail at every frequency: the half-size decode is far from the 2x2 mean
    there, so the sample tiles fail the bound and the levels stay exact means."""
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), np.uint8)
    src = write_slide(tmp_path / "noise.svs", noise, 128)
    assert half_psnr(src) < HALF_PSNR_BOUND
    assert [lv.scale for lv in fast_jpeg_levels(src, level0_copied=True)] == [1]


def test_a_slides_own_level1_is_reused_not_decoded_at_half_size(he, tmp_path):
    """A pyramid that has its own JPEG level 1 keeps it: the result equals the path before."""
    src = tmp_path / "pyr.ome.tif"
    with tifffile.TiffWriter(src, bigtiff=True) as tw:
        kw = {"tile": (128, 128), "compression": "jpeg", "photometric": "rgb"}
        tw.write(he, subifds=1, **kw)
        tw.write(he[::2, ::2], subfiletype=1, **kw)
    levels = fast_jpeg_levels(src, level0_copied=True)
    assert [(lv.shape, lv.scale) for lv in levels] == [((1024, 1024, 3), 1), ((512, 512, 3), 1)]
    out = convert(src, tmp_path / "fast.ome.tif")
    source = open_image(src, streaming=True)
    tiles = jpeg_level0(src)[0]
    ref = export_pyramid(
        source.levels,
        tmp_path / "ref.ome.tif",
        metadata=source.metadata,
        compression="jpeg",
        tile_size=128,
        copy_level0=tiles,
    )
    for a, b in zip(levels_of(out), levels_of(ref.image), strict=True):
        np.testing.assert_array_equal(a, b)
    lzw = tmp_path / "mixed.ome.tif"
    with tifffile.TiffWriter(lzw, bigtiff=True) as tw:
        tw.write(he, subifds=1, tile=(128, 128), compression="jpeg", photometric="rgb")
        tw.write(he[::2, ::2], subfiletype=1, tile=(128, 128), compression="lzw", photometric="rgb")
    assert fast_jpeg_levels(lzw, level0_copied=True) is None  # the usual path reuses the LZW level
    assert len(fast_jpeg_levels(lzw, downsample="mean")) == 1


def test_copied_level0_is_not_decoded_when_level1_is_given(slide, tmp_path):
    """The producer reads no level-0 pixels when its tiles are copied and level 1 has a source."""

    class Counting:
        def __init__(self, level):
            self.level, self.shape, self.dtype, self.chunks = level, level.shape, level.dtype, level.chunks
            self.reads = 0

        def __getitem__(self, key):
            self.reads += 1
            return self.level[key]

    src = write_slide(tmp_path / "s.svs", synthetic_he(512, seed=2), 128)
    tiles, why = jpeg_level0(src)
    assert why is None
    level0 = Counting(JpegTileLevel(src))
    out = export_pyramid(
        [level0, JpegTileLevel(src, scale=2)], tmp_path / "a", compression="jpeg", tile_size=128, copy_level0=tiles
    )
    assert level0.reads == 0
    level0 = Counting(JpegTileLevel(src))
    export_pyramid(level0, tmp_path / "b", compression="jpeg", tile_size=128, copy_level0=tiles)
    assert level0.reads > 0  # the lower levels need it
    with tifffile.TiffFile(out.image) as a, tifffile.TiffFile(src) as s:
        assert a.pages[0].dataoffsets and list(a.pages[0].databytecounts) == list(s.pages[0].databytecounts)


def convert(src: Path, out: Path, *extra: str) -> Path:
    from napari_viv.cli import main

    assert main(["convert", str(src), str(out), "--no-progress", *extra]) == 0
    return out


def reference(src: Path, out: Path, copy: bool) -> Path:
    """The export as convert made it before the fast path: tifffile's Zarr level 0, mean."""
    source = open_image(src, streaming=True)
    tiles = jpeg_level0(src)[0] if copy else None
    export_pyramid(
        source.levels[0],
        out,
        metadata=source.metadata,
        compression="jpeg",
        tile_size=tiles.tile if copy else 512,
        copy_level0=tiles,
    )
    return out


def levels_of(path: Path) -> list[np.ndarray]:
    with tifffile.TiffFile(path) as tif:
        return [lv.asarray() for lv in tif.series[0].levels]


def stored(path: Path) -> list[bytes]:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return [d for d, _ in tif.filehandle.read_segments(page.dataoffsets, page.databytecounts)]


def test_mean_export_through_the_fast_path_equals_the_reference(slide, tmp_path):
    fast = levels_of(convert(slide, tmp_path / "fast.ome.tif", "--downsample", "mean"))
    ref = levels_of(reference(slide, tmp_path / "ref.ome.tif", copy=True))
    assert len(fast) == len(ref) >= 3
    for a, b in zip(fast, ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_default_export_copies_level0_and_bounds_the_half_scale(slide, tmp_path):
    out = convert(slide, tmp_path / "fast.ome.tif")
    ref = reference(slide, tmp_path / "ref.ome.tif", copy=True)
    assert stored(out) == stored(slide)  # level 0 byte for byte
    fast, want = levels_of(out), levels_of(ref)
    exact = mean2(tifffile.imread(slide))
    np.testing.assert_array_equal(fast[0], want[0])
    got, base = psnr(fast[1], exact), psnr(want[1], exact)
    print(f"level 1 against the exact mean: half-scale path {got:.2f} dB, mean path {base:.2f} dB")
    assert got >= base - 1.0  # after the JPEG re-encode, within 1 dB of the exact path
    assert psnr(fast[1], want[1]) >= 33  # two q85 encodes of inputs that differ by 43 dB


def test_real_svs_with_odd_tiles_is_read_in_parallel_and_exact(tmp_path):
    """CMU-1's 240-px tiles cannot be copied: level 0 is re-encoded from the parallel reader,
    and the whole pyramid equals the reference path's."""
    src = real("slide_CMU-1-Small-Region.svs")
    fast = levels_of(convert(src, tmp_path / "fast.ome.tif"))
    ref = levels_of(reference(src, tmp_path / "ref.ome.tif", copy=False))
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_examples_run(tmp_path, monkeypatch):
    """The module's doctests (its public functions' Examples) run and pass."""
    import doctest

    import napari_viv.read.jpeg_tiles as module

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
