"""JPEG for 8-bit data and level-0 tile copy, judged by the real Viv loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from helpers import realfiles
from helpers.vivjs import viv_rasters

from napari_viv import NapariVivError, check_file, export_pyramid, open_image
from napari_viv.read.jpeg import jpeg_level0
from napari_viv.sample import synthetic_he

REALFILES = realfiles.folder()

pytestmark = pytest.mark.node


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """JFIF YCbCr -> RGB, as Viv's shader converts YCbCr JPEG tiles when it draws."""
    y, cb, cr = (ycc[..., i].astype(float) for i in range(3))
    cb, cr = cb - 128, cr - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    return np.clip(np.rint(rgb), 0, 255)


def halve(a: np.ndarray) -> np.ndarray:
    """An independent 2x2 mean (floor shape), for the reference of each level."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    a = a[:h, :w].astype(float)
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4


@pytest.fixture(scope="module")
def slide():
    return synthetic_he(1024, seed=3)


def test_jpeg_rgb_every_level_close_to_the_source_and_to_libjpeg(slide, tmp_path):
    result = export_pyramid(slide, tmp_path / "he", compression="jpeg", tile_size=256)
    assert check_file(result.image).ok
    with tifffile.TiffFile(result.image) as tif:
        page = tif.pages[0]
        assert int(page.compression) == 7 and int(page.photometric) == 6  # YCbCr
        libjpeg = [level.asarray() for level in tif.series[0].levels]
    assert len(libjpeg) == len(result.level_shapes) == 3
    rasters = viv_rasters(result.image, tmp_path / "dump")
    reference = slide.astype(float)
    for level, lib in enumerate(libjpeg):
        viv = ycbcr_to_rgb(rasters[level, 0, 0, 0])
        assert viv.shape == lib.shape == reference.shape[:2] + (3,)
        # At the default quality: 38 dB at full resolution (the bar); the
        # lower levels hold denser detail per pixel, so JPEG loses more there
        # (measured 38.7 / 34.5 / 30.5 dB; docs/benchmarks.md).
        assert psnr(viv, reference) >= (38 if level == 0 else 30), (level, psnr(viv, reference))
        # Viv's JavaScript decoder and libjpeg agree within a few grey levels.
        assert np.abs(viv - lib).max() <= 4, (level, np.abs(viv - lib).max())
        reference = halve(reference)
    zlib = export_pyramid(slide, tmp_path / "lossless", tile_size=256)
    assert result.nbytes <= 0.2 * zlib.nbytes, (result.nbytes, zlib.nbytes)


def test_jpeg_gray_channels(slide, tmp_path):
    gray = np.stack([slide[..., 0], slide[..., 2]])  # two 8-bit channels
    result = export_pyramid(gray, tmp_path / "g", compression="jpeg:90", tile_size=256)
    with tifffile.TiffFile(result.image) as tif:
        assert int(tif.pages[0].compression) == 7 and int(tif.pages[0].photometric) == 1
        lib = [tif.pages[c].asarray() for c in range(2)]
    rasters = viv_rasters(result.image, tmp_path / "dump")
    for c in range(2):
        viv = rasters[0, 0, c, 0]
        assert psnr(viv, gray[c]) >= 38
        assert np.abs(viv.astype(int) - lib[c]).max() <= 2


@pytest.mark.parametrize(
    "data, why",
    [
        (np.zeros((64, 64), np.uint16), "needs 8-bit data"),
        (np.zeros((64, 64), np.float32), "needs 8-bit data"),
    ],
)
def test_jpeg_refused_for_other_dtypes(tmp_path, data, why):
    with pytest.raises(NapariVivError, match=why):
        export_pyramid(data, tmp_path / "x", compression="jpeg")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["jpeg:0", "jpeg:101", "jpeg:high"])
def test_bad_jpeg_quality(tmp_path, spec):
    with pytest.raises(NapariVivError, match="quality"):
        export_pyramid(np.zeros((64, 64), np.uint8), tmp_path / "x", compression=spec)


def _svs_like(path: Path, rgb: np.ndarray, tile: int) -> Path:
    """A JPEG-tiled RGB TIFF the way scanners write level 0 (YCbCr, 2x2 subsampling)."""
    tifffile.imwrite(
        path,
        rgb,
        tile=(tile, tile),
        compression="jpeg",
        photometric="rgb",
        description="Aperio Image Library v10.0.51\r\n1024x1024 |MPP = 0.5",
    )
    return path


def _stored_tiles(path: Path, page_index: int = 0) -> list[bytes]:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[page_index]
        return [d for d, _ in tif.filehandle.read_segments(page.dataoffsets, page.databytecounts)]


def test_level0_jpeg_tiles_are_copied_byte_for_byte(slide, tmp_path):
    src = _svs_like(tmp_path / "slide.tif", slide, 256)
    tiles, why = jpeg_level0(src)
    assert why is None and tiles.tile == 256 and tiles.photometric == "ycbcr"
    source = open_image(src, streaming=True)
    result = export_pyramid(
        source.levels[0],
        tmp_path / "copy",
        metadata=source.metadata,
        compression="jpeg",
        tile_size=256,
        copy_level0=tiles,
    )
    assert _stored_tiles(result.image) == _stored_tiles(src)
    with tifffile.TiffFile(result.image) as tif:
        page = tif.pages[0]
        assert int(page.photometric) == 6 and tuple(page.tags["YCbCrSubSampling"].value) == (2, 2)
        assert len(page.subifds) == 2  # lower levels computed
    rasters = viv_rasters(result.image, tmp_path / "dump")
    with tifffile.TiffFile(src) as tif:
        lib = tif.pages[0].asarray().astype(float)
    # Viv decodes the copied tiles (its chroma upsampling differs from libjpeg's).
    assert psnr(ycbcr_to_rgb(rasters[0, 0, 0, 0]), lib) >= 30
    assert psnr(ycbcr_to_rgb(rasters[1, 0, 0, 0]), halve(lib)) >= 33


@pytest.mark.skipif(
    bool(realfiles.file_missing_reason("slide_openslide_small.svs")),
    reason=realfiles.file_missing_reason("slide_openslide_small.svs") or "",
)
def test_real_svs_with_jpeg_tables_is_copied_and_decoded_by_viv(tmp_path):
    src = REALFILES / "slide_openslide_small.svs"
    tiles, why = jpeg_level0(src)
    assert why is None and tiles.jpegtables is not None
    source = open_image(src, streaming=True)
    result = export_pyramid(
        source.levels[0],
        tmp_path / "svs",
        metadata=source.metadata,
        compression="jpeg",
        tile_size=tiles.tile,
        copy_level0=tiles,
    )
    assert _stored_tiles(result.image) == _stored_tiles(src)
    with tifffile.TiffFile(result.image) as out, tifffile.TiffFile(src) as ref:
        assert out.pages[0].jpegtables == ref.pages[0].jpegtables
        # Aperio's tiles are RGB-coded: labelled YCbCr, every reader would convert colours.
        assert int(ref.pages[0].photometric) == int(out.pages[0].photometric) == 2
        lib = ref.pages[0].asarray().astype(int)
        assert np.abs(out.pages[0].asarray().astype(int) - lib).max() == 0
    viv = viv_rasters(result.image, tmp_path / "dump")[0, 0, 0, 0].astype(int)
    assert np.abs(viv - lib).max() <= 2


def test_non_power_of_two_jpeg_tiles_are_named_and_re_encoded(slide, tmp_path):
    src = _svs_like(tmp_path / "old.tif", slide[:960, :960], 240)
    tiles, why = jpeg_level0(src)
    assert tiles is None and "240x240" in why and "re-encoded" in why


def test_copy_refused_when_it_would_not_match(slide, tmp_path):
    src = _svs_like(tmp_path / "slide.tif", slide, 256)
    tiles, _ = jpeg_level0(src)
    with pytest.raises(NapariVivError, match="512 px"):
        export_pyramid(slide, tmp_path / "x", compression="jpeg", tile_size=512, copy_level0=tiles)
    with pytest.raises(NapariVivError, match="must be JPEG"):
        export_pyramid(slide, tmp_path / "x", compression="zlib", tile_size=256, copy_level0=tiles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slide.tif"]


def test_convert_keeps_jpeg_input_jpeg_and_copies_its_tiles(slide, tmp_path, capsys):
    from napari_viv.cli import main

    src = _svs_like(tmp_path / "slide.tif", slide, 256)
    assert main(["convert", str(src), str(tmp_path / "out.ome.tif")]) == 0
    assert _stored_tiles(tmp_path / "out.ome.tif") == _stored_tiles(src)
    old = _svs_like(tmp_path / "old.tif", slide[:960, :960], 240)
    assert main(["convert", str(old), str(tmp_path / "old.ome.tif")]) == 0
    err = capsys.readouterr().err
    assert "old.tif: JPEG tiles are 240x240" in err and "re-encoded" in err
    with tifffile.TiffFile(tmp_path / "old.ome.tif") as tif:
        assert int(tif.pages[0].compression) == 7 and tif.pages[0].tilewidth == 512
    assert main(["convert", str(src), str(tmp_path / "lossless.ome.tif"), "--compression", "zlib"]) == 0
    with tifffile.TiffFile(tmp_path / "lossless.ome.tif") as tif:
        assert int(tif.pages[0].compression) == 8
