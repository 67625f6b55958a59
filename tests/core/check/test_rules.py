"""check_file() must agree with the real Viv loader on every corpus file.

For each file of tests/core/corpus.py the verdict "Viv opens it with correct
pixels" is decided independently of napari_viv: the real @vivjs/loaders
0.21 loads the file (with its offsets.json when there is one, as Avivator
does) and every image, level and plane it returns is compared with the
pixels tifffile reads from where the corpus author put that plane.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tifffile
from helpers import corpus  # noqa: E402
from helpers.vivjs import VivLoadError, plane_digest, viv_load  # noqa: E402

from napari_viv.check.rules import check_file  # noqa: E402
from napari_viv.errors import NapariVivError  # noqa: E402

HARNESS = Path(__file__).parents[2] / "viv"
# Prints, as base64, the raw raster Viv returns for one image/level/plane.
RASTER_JS = """
import { DOMParser } from '@xmldom/xmldom';
import { loadOmeTiff } from '@vivjs/loaders';
import fs from 'node:fs';
globalThis.DOMParser = DOMParser;
const [file, offsets, image, level, t, c, z] = process.argv.slice(1);
const opts = { images: 'all' };
if (offsets) opts.offsets = JSON.parse(fs.readFileSync(offsets, 'utf8'));
const images = await loadOmeTiff(`file://${file}`, opts);
const r = await images[+image].data[+level].getRaster({ selection: { t: +t, c: +c, z: +z } });
process.stdout.write(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('base64'));
"""
#: Two conforming JPEG decoders may round differently; allow this much.
LOSSY_TOLERANCE = 2
#: YCbCr tiles: Viv's luma against the luma of libjpeg's RGB (the colour
#: conversion rounds twice). With 2x2 chroma subsampling, chroma differs more
#: (Viv upsamples it more crudely: mean RGB error 1.5-5 per level, max 37, on the
#: corpus images; 4:4:4 tiles: mean 0.14, max 3); check warns about that.
YCBCR_LUMA = 3

VIV_DTYPE = {
    "uint8": "Uint8",
    "uint16": "Uint16",
    "uint32": "Uint32",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "float32": "Float32",
    "float64": "Float64",
}


def viv_raster(cf, image, level, key, like: np.ndarray) -> np.ndarray:
    """The raw raster Viv returns, as an array shaped and typed like ``like``."""
    import base64
    import subprocess

    t, c, z = key
    args = [str(cf.path), str(cf.offsets or ""), image, level, t, c, z]
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", RASTER_JS, "--", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=HARNESS,
        timeout=120,
        check=True,
    )
    raw = base64.b64decode(proc.stdout)
    return np.frombuffer(raw, like.dtype.newbyteorder("<")).reshape(like.shape)


def true_plane(tif, ifd, sub) -> np.ndarray:
    """A plane as tifffile reads it: (H, W), or (H, W, S) for several samples."""
    page = tif.pages[ifd] if sub is None else tif.pages[ifd].pages[sub]
    data = page.asarray()
    if page.samplesperpixel > 1 and int(page.planarconfig) == 2:
        data = np.moveaxis(data, 0, -1)  # planar (S, H, W) -> (H, W, S)
    return data


def viv_verdict(cf: corpus.CorpusFile) -> tuple[bool, str]:
    """(Viv shows every image, level and plane with the true pixels, why not)."""
    try:
        report = viv_load(cf.path, offsets=cf.offsets, pixels=True)
    except VivLoadError as exc:
        return False, f"loader error: {exc}"
    if len(report["images"]) != len(cf.where):
        return False, f"Viv shows {len(report['images'])} of {len(cf.where)} images"
    with tifffile.TiffFile(cf.path) as tif:
        for i, (image, where, sizes) in enumerate(zip(report["images"], cf.where, cf.sizes, strict=False)):
            labels = image["labels"]
            if len(image["levels"]) > len(where):
                return False, f"image {i}: Viv shows {len(image['levels'])} levels, file has {len(where)}"
            base = true_plane(tif, *where[0][(0, 0, 0)])
            h0, w0 = base.shape[-2:] if base.ndim == 2 else base.shape[:2]
            for level, lev in enumerate(image["levels"]):
                shape = dict(zip(labels, lev["shape"], strict=False))
                if (shape["t"], shape["c"] if "_c" not in labels else 1, shape["z"]) != sizes:
                    return False, f"image {i}: Viv's T/C/Z {shape} differ from {sizes}"
                planes = lev["planes"]
                if len(planes) != len(where[level]):
                    return False, f"image {i} level {level}: {len(planes)} planes"
                for pl in planes:
                    key = (pl["t"], pl["c"], pl["z"])
                    truth = true_plane(tif, *where[level][key])
                    why = compare(truth, pl, shape, lev["dtype"], level, (h0, w0))
                    if why == "pixels differ" and lossy(tif, *where[level][key]):
                        got = viv_raster(cf, i, level, key, truth).astype(float)
                        if ycbcr(tif, *where[level][key]):
                            # Viv returns YCbCr samples (its shader turns them into RGB
                            # when it draws). Luma must match; how chroma is upsampled
                            # is each decoder's choice (the JPEG standard leaves it
                            # open), and Viv's is cruder than libjpeg's: check warns.
                            luma = truth.astype(float) @ np.array([0.299, 0.587, 0.114])
                            err = np.abs(got[..., 0] - luma).max()
                            why = None if err <= YCBCR_LUMA else f"YCbCr luma off by {err:.1f}"
                        else:
                            err = np.abs(got - truth.astype(float)).max()
                            why = None if err <= LOSSY_TOLERANCE else f"lossy pixels off by {err}"
                    if why:
                        return False, f"image {i} level {level} plane {key}: {why}"
    return True, "ok"


def ycbcr(tif, ifd, sub) -> bool:
    page = tif.pages[ifd] if sub is None else tif.pages[ifd].pages[sub]
    return int(page.photometric) == 6


def lossy(tif, ifd, sub) -> bool:
    page = tif.pages[ifd] if sub is None else tif.pages[ifd].pages[sub]
    return int(page.compression) == 7  # JPEG


def compare(truth, plane, shape, dtype, level, size0) -> str | None:
    """Why Viv's plane differs from the true one (None when it does not)."""
    if truth.ndim == 3:  # chunky samples, (H, W, S)
        if shape.get("_c") != truth.shape[2]:
            return f"Viv has {shape.get('_c')} samples per pixel, file has {truth.shape[2]}"
    elif "_c" in shape:
        return "Viv adds a sample axis the file does not have"
    h, w = truth.shape[:2]
    # The level must cover the same field of view as level 0 (within a pixel),
    # and Viv's idea of its size must lie inside it (else empty tiles).
    for real, viv_size, full in ((h, shape["y"], size0[0]), (w, shape["x"], size0[1])):
        if abs(full / 2**level - real) >= 1:
            return f"level is {w}x{h}, not level 0 / 2**{level}"
        if not 0 <= real - viv_size <= 1:
            return f"Viv thinks the level is {shape['x']}x{shape['y']}, it is {w}x{h}"
    if VIV_DTYPE.get(truth.dtype.name) != dtype:
        return f"Viv's dtype {dtype} is not the file's {truth.dtype}"
    crop = truth[: plane["height"], : plane["width"]]
    if plane_digest(crop) != plane["sha256"]:
        return "pixels differ"
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole corpus, each file with Viv's verdict (loaded 2 at a time)."""
    folder = tmp_path_factory.mktemp("corpus")
    files = corpus.build(folder)
    with ThreadPoolExecutor(2) as pool:
        verdicts = dict(zip(files, pool.map(viv_verdict, files.values()), strict=False))
    return files, verdicts


@pytest.mark.node
@pytest.mark.parametrize("name", list(corpus.CASES))
def test_check_agrees_with_viv(built, name):
    files, verdicts = built
    cf = files[name]
    viv_ok, why = verdicts[name]
    report = check_file(cf.path)
    assert report.ok == viv_ok, f"Viv: {why}; check: {[f.message for f in report.findings]}"


def test_findings_are_well_formed(built):
    files, _ = built
    for name, cf in files.items():
        for f in check_file(cf.path).findings:
            assert f.severity in ("error", "warning"), name
            assert f.message and "\n" not in f.message, name
            assert f.fix, name


#: The reason each bad file must be reported with (a word of its message).
REASONS = {
    "codec_zstd": "zstd",
    "codec_jpeg2000": "JPEG 2000",
    "dtype_bool": "'bit'",
    "dtype_mismatch": "SampleFormat",
    "dtype_float64_pred2": "predictor",
    "rgb_lzw": "LZW",
    "rgb_planar_tifffile": "stored planar",
    "rgba": "4 samples",
    "rgb_not_interleaved": "Interleaved",
    "rgb_interleaved_z2_xyczt": "XYCZT",
    "rgb_interleaved_zt_xyzct": "XYZCT",
    "unit_um": "'um'",
    "unit_greek_mu": "\u03bcm",
    "xml_channel_no_id": "Channel 0 has no ID",
    "xml_no_channel": "no <Channel>",
    "xml_image_no_id": "<Image> 0 has no ID",
    "xml_type_upper": "lowercase",
    "xml_color_hex": "#FF0000",
    "xml_multifile": "other.ome.tif",
    "xml_prefix": "prefix",
    "xml_tiffdata_nan": "'first'",
    "xml_uuid_without_filename": "FileName",
    "xml_not_ome": "'ImageJ=1.54f'",
    "xml_size_mismatch": "340x200",
    "xml_missing_planes": "only 2 IFDs",
    "layout_legacy": "legacy",
    "layout_multi_nosubifds": "without SubIFD",
    "layout_multi_fewer_levels": "1 SubIFDs",
    "layout_plane_without_subifds": "no SubIFDs",
    "endian_big_lzw_pred": "big-endian with a predictor",
    "endian_big_zlib_pred": "big-endian with a predictor",
    "endian_big_float_pred3": "big-endian with a predictor",
    "levels_x4": "4x",
    "offsets_wrong": "does not match",
    "offsets_garbage": "not valid JSON",
}
#: Warnings good files must carry.
CAVEATS = {
    "rgb_uint16": "16-bit",
    "layout_strips": "strips",
    "layout_tile_rect": "64x128",
    "endian_big_raw": "big-endian",
    "levels_ceil": "rounded up",
    "offsets_missing": "no ",
    "offsets_short": "1 entries",
    "xml_channel_count": "describe 1",
    "xml_tiffdata_disagrees": "TiffData",
    "xml_uuid_renamed": "renamed",
    "xml_size_fraction": "truncates",
    "unit_only_x": "scale bar",
    "dtype_uint8_3ch": "as RGB",
    "layout_thumbnail": "3 IFDs",
    "layout_multi_more_levels": "3 SubIFDs",
    # issue 10's layouts
    "rgb_jpeg_ycbcr": "chroma subsampling",
    "rgb_jpeg_ycbcr_tables": "chroma subsampling",
    "layout_tile_240_rgb_jpeg": "chroma subsampling",
    "layout_tile_240": "240x240",
    "rgb_uint16_zlib": "16-bit",
    "rgb_uint16_raw": "16-bit",
    "rgb_float32": "32-bit",
}


@pytest.mark.parametrize("name", sorted(REASONS))
def test_bad_files_name_the_reason(built, name):
    files, _ = built
    errors = [f.message for f in check_file(files[name].path).errors]
    assert any(REASONS[name] in m for m in errors), errors


@pytest.mark.parametrize("name", sorted(CAVEATS))
def test_good_files_carry_their_caveat(built, name):
    files, _ = built
    report = check_file(files[name].path)
    assert report.ok
    assert any(CAVEATS[name] in f.message for f in report.warnings), report.findings


def avivator_routes_as_ome_tiff(name: str) -> bool:
    """Avivator's routing rule (sites/avivator/src/utils.js), written out here."""
    return "ome.tiff" in name or "ome.tif" in name


@pytest.mark.parametrize(
    "name",
    ["a.ome.tif", "a.ome.tiff", "A.OME.TIF", "a.Ome.Tiff", "a.OME.tif", "a.tif", "a.tiff", "ome.tif.copy", "a.ometif"],
)
def test_name_rule_agrees_with_avivator_routing(built, tmp_path, name):
    files, verdicts = built
    assert verdicts["codec_zlib_pred"][0]  # the content is fine for Viv
    target = tmp_path / name
    target.write_bytes(files["codec_zlib_pred"].path.read_bytes())
    assert check_file(target).ok == avivator_routes_as_ome_tiff(name)


def test_reads_no_pixel_data(built, tmp_path):
    """Garbage in every tile must not change the verdict: only metadata is read."""
    src = built[0]["codec_zlib_pred"].path
    dst = tmp_path / "garbage.ome.tif"
    blob = bytearray(src.read_bytes())
    with tifffile.TiffFile(src) as tif:
        pages = [p for top in tif.pages for p in [top, *top.pages]]
        for page in pages:
            for off, n in zip(page.dataoffsets, page.databytecounts, strict=False):
                blob[off : off + n] = b"\xa5" * n
    dst.write_bytes(bytes(blob))
    dst.with_name("garbage.offsets.json").write_bytes(built[0]["codec_zlib_pred"].offsets.read_bytes())
    with tifffile.TiffFile(dst) as tif, pytest.raises(Exception):  # noqa: B017 - any decoder error: the pixels are broken
        tif.pages[0].asarray()  # really broken pixels
    assert check_file(src).findings == []
    assert check_file(dst).findings == []


@pytest.mark.parametrize("height,severity", [(300, None), (5000, "warning"), (17000, "error")])
def test_smallest_level_must_fit_a_texture(tmp_path, height, severity):
    """Viv uploads the whole lowest level as one texture (GPU limit, not the loader)."""
    path = tmp_path / "tall.ome.tif"
    corpus.simple(
        path,
        "uint8",
        C=1,
        nlevels=1,
        size=(height, 32),
        data=lambda n: np.zeros((height, 32), np.uint8),
        offsets="good",
    )
    found = [f for f in check_file(path).findings if "smallest pyramid level" in f.message]
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_webp_is_only_a_warning(tmp_path):
    """WebP decodes in browsers only (Node's loader can't judge it)."""
    path = tmp_path / "webp.ome.tif"
    corpus.rgb(path, compression="webp", compressionargs={"lossless": True})
    report = check_file(path)
    assert report.ok
    assert any("WebP" in f.message for f in report.warnings)


def test_offsets_written_by_napari_viv_match(built, tmp_path):
    from napari_viv.naming import offsets_path as offsets_path_for
    from napari_viv.write.offsets import write_offsets

    path = tmp_path / "x.ome.tif"
    path.write_bytes(built[0]["offsets_missing"].path.read_bytes())
    assert any("offsets.json" in f.message for f in check_file(path).warnings)
    sidecar = write_offsets(path)
    assert sidecar == offsets_path_for(path)
    assert check_file(path).findings == []
    sidecar.write_text(json.dumps(list(reversed(json.loads(sidecar.read_text())))))
    assert not check_file(path).ok


def test_offsets_sidecar_of_ome_tiff_name(built, tmp_path):
    """x.ome.tiff pairs with x.offsets.json, as Avivator derives it."""
    cf = built[0]["codec_zlib_pred"]
    path = tmp_path / "x.ome.tiff"
    path.write_bytes(cf.path.read_bytes())
    (tmp_path / "x.offsets.json").write_bytes(cf.offsets.read_bytes())
    assert check_file(path).findings == []
    (tmp_path / "x.offsets.json").unlink()
    (tmp_path / "x.ome.offsets.json").write_bytes(cf.offsets.read_bytes())  # wrong name
    assert any("no x.offsets.json" in f.message for f in check_file(path).warnings)


@pytest.mark.parametrize(
    "make,words",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b"GIF89a" + bytes(100)), "not a readable TIFF"),
        (lambda p: p.write_bytes(b"II*\x00" + (10**6).to_bytes(4, "little")), "TIFF"),
    ],
)
def test_unreadable_input_raises_one_line(tmp_path, make, words):
    path = tmp_path / "bad.ome.tif"
    make(path)
    with pytest.raises(NapariVivError) as info:
        check_file(path)
    msg = str(info.value)
    assert str(path) in msg and words in msg and "\n" not in msg


WRITER_CASES = {
    "cyx_uint16": (lambda: corpus.pixels("uint16", (2, 500, 700)), {"axes": "CYX"}),
    "rgb_uint8": (lambda: corpus.smooth((500, 700, 3)), {"axes": "YXS"}),
    "tczyx_float32": (lambda: corpus.pixels("float32", (2, 2, 2, 260, 300)), {"axes": "TCZYX"}),
    "lzw_int16": (lambda: corpus.pixels("int16", (3, 300, 500)), {"axes": "CYX", "compression": "lzw"}),
}


@pytest.mark.node
@pytest.mark.parametrize("case", sorted(WRITER_CASES))
def test_writer_output_passes_check_and_viv(tmp_path, case):
    """Files from napari_viv's own writer: Viv shows them right, check finds nothing."""
    from napari_viv.write.writer import export_pyramid

    make, kw = WRITER_CASES[case]
    data = make()
    tif_path, json_path = export_pyramid(data, tmp_path / f"{case}.ome.tif", tile_size=128, **kw).paths[:2]
    cf = corpus.describe(tif_path, offsets=json_path)
    with tifffile.TiffFile(tif_path) as tif:  # tifffile's reading is the truth
        level0 = tif.series[0].levels[0].asarray()
    assert np.array_equal(level0, data)
    assert len(cf.where[0]) > 1
    ok, why = viv_verdict(cf)
    assert ok, why
    assert check_file(tif_path).findings == []


BFCONVERT = {  # name -> ImageConverter options (Bio-Formats, the peer tool)
    "bf_pyramid_zlib": [
        "-pyramid-resolutions",
        "3",
        "-pyramid-scale",
        "2",
        "-tilex",
        "128",
        "-tiley",
        "128",
        "-compression",
        "zlib",
    ],
    "bf_pyramid_bigtiff": [
        "-pyramid-resolutions",
        "3",
        "-pyramid-scale",
        "2",
        "-tilex",
        "128",
        "-tiley",
        "128",
        "-bigtiff",
    ],
    "bf_pyramid_scale4": ["-pyramid-resolutions", "2", "-pyramid-scale", "4", "-tilex", "128", "-tiley", "128"],
    "bf_jpeg2000": [
        "-pyramid-resolutions",
        "2",
        "-pyramid-scale",
        "2",
        "-tilex",
        "128",
        "-tiley",
        "128",
        "-compression",
        "JPEG-2000",
    ],
    "bf_flat_strips": [],
}


def bioformats_jar() -> Path:
    import os
    import shutil

    env = os.environ.get("NAPARI_VIV_BIOFORMATS_JAR")
    jar = Path(env) if env else Path(__file__).parents[3] / ".cache/bioformats/bioformats_package.jar"
    if shutil.which("java") is None or not jar.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"java or {jar} missing in CI")
        pytest.skip(f"java or {jar} missing (run .ci/run)")
    return jar


@pytest.mark.node
@pytest.mark.bioformats
@pytest.mark.parametrize("case", sorted(BFCONVERT))
def test_bfconvert_files_agree_with_viv(tmp_path, case):
    """Files written by Bio-Formats' bfconvert: the checker agrees with Viv."""
    import subprocess

    jar = bioformats_jar()
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, corpus.pixels("uint16", (2, 500, 700)), metadata={"axes": "CYX"})
    out = tmp_path / f"{case}.ome.tif"
    subprocess.run(
        [
            "java",
            "-cp",
            str(jar),
            "loci.formats.tools.ImageConverter",
            "-no-upgrade",
            *BFCONVERT[case],
            str(src),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    cf = corpus.describe(out)
    ok, why = viv_verdict(cf)
    report = check_file(out)
    assert report.ok == ok, (why, report.findings)


def test_repeated_image_description_is_read_as_viv_reads_it(tmp_path):
    """geotiff keeps the last of repeated ImageDescription tags: that one must be OME-XML."""
    ome = tmp_path / "ome.ome.tif"
    tifffile.imwrite(ome, np.zeros((64, 64), np.uint8), ome=True)
    xml = tifffile.TiffFile(ome).pages[0].description
    path = tmp_path / "two.ome.tif"
    tifffile.imwrite(
        path,
        np.zeros((64, 64), np.uint8),
        description=xml,
        metadata=None,
        extratags=[(271, "s", 0, "ImageJ=1.54f", True)],
    )
    with tifffile.TiffFile(path) as tif:  # tifffile writes one 270 tag: retag Make (271)
        at = tif.pages[0].tags[271].offset
    raw = bytearray(path.read_bytes())
    raw[at : at + 2] = (270).to_bytes(2, "little")
    path.write_bytes(bytes(raw))
    assert len(tifffile.TiffFile(path).pages[0].tags.getall(270)) == 2
    found = [f for f in check_file(path).errors if "ImageDescription tags" in f.message]
    assert len(found) == 1 and "has 2 ImageDescription tags" in found[0].message


# -- rough edges a new user met (issue 17) ---------------------------------------------


def test_folder_is_called_a_folder(tmp_path):
    plain = tmp_path / "images"
    plain.mkdir()
    with pytest.raises(NapariVivError) as info:
        check_file(plain)
    assert "folder" in info.value.problem and "no such file" not in str(info.value)
    assert info.value.subject == str(plain)
    store = tmp_path / "cells.zarr"
    store.mkdir()
    with pytest.raises(NapariVivError) as info:
        check_file(store)
    # a .zarr folder goes to the OME-Zarr checks, which say it holds no Zarr store
    assert "folder" in info.value.problem and "not a Zarr store" in info.value.problem
    assert info.value.subject == str(store)


def _exported(tmp_path) -> Path:
    from napari_viv.write.writer import export_pyramid

    rng = np.random.default_rng(1)
    return export_pyramid(
        rng.integers(0, 60000, (2, 600, 700), dtype=np.uint16), tmp_path / "whole.ome.tif", tile_size=128
    ).image


@pytest.mark.parametrize("keep", [0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_has_one_message_in_check_and_open(tmp_path, keep):
    """convert (open_image) and check say the same, naming the file, without tifffile's internals."""
    from napari_viv.read import open_image

    data = _exported(tmp_path).read_bytes()
    cut = tmp_path / "cut.ome.tif"
    cut.write_bytes(data[: int(len(data) * keep)])
    problems = []
    for opener in (check_file, open_image):
        with pytest.raises(NapariVivError) as info:
            opener(cut)
        assert info.value.subject == str(cut)
        problems.append(info.value.problem)
    for problem in problems:
        assert problem.startswith("file is truncated or damaged"), problem
        assert not any(bit in problem for bit in ("range(", "@", "<", "index")), problem


def test_stripped_pyramid_is_not_called_tiled(tmp_path):
    path = tmp_path / "overview.tif"
    image = np.zeros((256, 256), np.uint8)
    with tifffile.TiffWriter(path) as tw:
        tw.write(image, subifds=1, rowsperstrip=16, metadata=None)
        tw.write(image[::2, ::2], subfiletype=1, rowsperstrip=16, metadata=None)
    with tifffile.TiffFile(path) as tif:
        assert not tif.pages.first.is_tiled and len(tif.series[0].levels) == 2
    message = check_file(path).errors[0].message
    assert "stripped" in message and "tiled" not in message


def test_rgb16_is_not_called_ok(tmp_path):
    """Viv loads 16-bit interleaved RGB (ok), but Avivator shows wrong colours: the verdict says so."""
    from napari_viv.cli.check import format_report

    path = tmp_path / "rgb16.ome.tif"
    corpus.rgb(path, dtype="uint16", compression="zlib")
    report = check_file(path)
    assert report.ok and not report.avivator_ok
    assert report.to_dict()["avivator_ok"] is False
    text = format_report(report)
    assert "correct pixels" not in text and "NOT OK for Avivator" in text.splitlines()[0]
    good = check_file(corpus.rgb(tmp_path / "rgb8.ome.tif").path)
    assert good.avivator_ok and "OK - Viv and Avivator" in format_report(good)
