"""check_file() must agree with the real Viv loader on every corpus file.

For each file of tests/core/corpus.py the verdict "Viv opens it with correct
pixels" is decided independently of napari_viv: the real @vivjs/loaders
0.21 loads the file (with its offsets.json when there is one, as Avivator
does) and every image, level and plane it returns is compared with the
pixels tifffile reads from where the corpus author put that plane.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tifffile

sys.path.insert(0, str(Path(__file__).parent))

import corpus  # noqa: E402
from vivjs import VivLoadError, plane_digest, viv_load  # noqa: E402

from napari_viv.check import CheckReport, Finding, check_file  # noqa: E402
from napari_viv.errors import NapariVivError  # noqa: E402

HARNESS = Path(__file__).parents[1] / "viv"
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

VIV_DTYPE = {"uint8": "Uint8", "uint16": "Uint16", "uint32": "Uint32", "int8": "Int8",
             "int16": "Int16", "int32": "Int32", "float32": "Float32", "float64": "Float64"}


def viv_raster(cf, image, level, key, like: np.ndarray) -> np.ndarray:
    """The raw raster Viv returns, as an array shaped and typed like ``like``."""
    import base64
    import subprocess

    t, c, z = key
    args = [str(cf.path), str(cf.offsets or ""), image, level, t, c, z]
    proc = subprocess.run(["node", "--input-type=module", "-e", RASTER_JS, "--", *map(str, args)],
                          capture_output=True, text=True, cwd=HARNESS, timeout=120, check=True)
    raw = base64.b64decode(proc.stdout)
    return np.frombuffer(raw, like.dtype.newbyteorder("<")).reshape(like.shape)


def true_plane(tif, ifd, sub) -> np.ndarray:
    page = tif.pages[ifd] if sub is None else tif.pages[ifd].pages[sub]
    return page.asarray()


def viv_verdict(cf: corpus.CorpusFile) -> tuple[bool, str]:
    """(Viv shows every image, level and plane with the true pixels, why not)."""
    try:
        report = viv_load(cf.path, offsets=cf.offsets, pixels=True)
    except VivLoadError as exc:
        return False, f"loader error: {exc}"
    if len(report["images"]) != len(cf.where):
        return False, f"Viv shows {len(report['images'])} of {len(cf.where)} images"
    with tifffile.TiffFile(cf.path) as tif:
        for i, (image, where, sizes) in enumerate(zip(report["images"], cf.where, cf.sizes)):
            labels = image["labels"]
            if len(image["levels"]) > len(where):
                return False, f"image {i}: Viv shows {len(image['levels'])} levels, file has {len(where)}"
            base = true_plane(tif, *where[0][(0, 0, 0)])
            h0, w0 = base.shape[-2:] if base.ndim == 2 else base.shape[:2]
            for level, lev in enumerate(image["levels"]):
                shape = dict(zip(labels, lev["shape"]))
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
                        got = viv_raster(cf, i, level, key, truth)
                        err = np.abs(got.astype(float) - truth.astype(float)).max()
                        why = None if err <= LOSSY_TOLERANCE else f"lossy pixels off by {err}"
                    if why:
                        return False, f"image {i} level {level} plane {key}: {why}"
    return True, "ok"


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
        verdicts = dict(zip(files, pool.map(viv_verdict, files.values())))
    return files, verdicts


@pytest.mark.node
@pytest.mark.parametrize("name", list(corpus.CASES))
def test_check_agrees_with_viv(built, name):
    files, verdicts = built
    cf = files[name]
    viv_ok, why = verdicts[name]
    report = check_file(cf.path)
    assert report.ok == viv_ok, (
        f"Viv: {why}; check: {[f.message for f in report.findings]}")
