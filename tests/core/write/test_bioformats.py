"""Bio-Formats reads our files and the OME-XML is schema-valid.

Two checks, because Bio-Formats' ImageInfo validates the XML it *regenerates*,
not the file's own: (1) ``ImageInfo -omexml`` reads the file (levels, sizes,
type, no validation errors); (2) the file's own XML is validated against the
OME 2016-06 XSD shipped inside bioformats_package.jar.

Needs Java and the jar (NAPARI_VIV_BIOFORMATS_JAR, or .cache/bioformats/ as
set up by .ci/run). Missing outside CI: skipped with the reason; with
CI=true: a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_viv.write.writer import export_pyramid

pytestmark = pytest.mark.bioformats

REPO = Path(__file__).resolve().parents[3]


def _jar() -> Path:
    env = os.environ.get("NAPARI_VIV_BIOFORMATS_JAR")
    jar = Path(env) if env else REPO / ".cache" / "bioformats" / "bioformats_package.jar"
    problem = None
    if shutil.which("java") is None:
        problem = "java is not installed"
    elif not jar.is_file():
        problem = f"bioformats_package.jar not found at {jar} (run .ci/run)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Bio-Formats check cannot run in CI: {problem}")
        print(f"skipping Bio-Formats validation: {problem}")
        pytest.skip(problem)
    return jar


@pytest.fixture(scope="module")
def jar():
    return _jar()


@pytest.fixture(scope="module")
def ome_xsd(jar):
    with zipfile.ZipFile(jar) as z:
        return z.read("released-schema/2016-06/ome.xsd")


def image_info(jar, path) -> str:
    proc = subprocess.run(
        [
            "java",
            "-cp",
            str(jar),
            "loci.formats.tools.ImageInfo",
            "-nopix",
            "-omexml",
            "-noflat",
            "-no-upgrade",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def own_xml(path) -> str:
    with tifffile.TiffFile(path) as tif:
        return tif.pages[0].description


def rand(shape, dtype):
    rng = np.random.default_rng(2)
    return (rng.random(shape) * 200).astype(dtype)


CASES = {
    "cyx": dict(data=("u2", (3, 300, 250)), axes="CYX", expect=dict(C=3, Z=1, T=1, type="uint16")),
    "tczyx": dict(data=("f8", (2, 2, 3, 80, 90)), axes="TCZYX", expect=dict(C=2, Z=3, T=2, type="double")),
    "rgb": dict(data=("u1", (200, 150, 3)), axes="YXS", expect=dict(C=3, Z=1, T=1, type="uint8")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bioformats_reads_and_validates(jar, ome_xsd, tmp_path, case):
    spec = CASES[case]
    dtype, shape = spec["data"]
    a = rand(shape, dtype)
    names = None if case == "rgb" else [f"ch <{i}> & µ" for i in range(spec["expect"]["C"])]
    tif = export_pyramid(
        a,
        tmp_path / f"{case}.ome.tif",
        axes=spec["axes"],
        tile_size=32,
        channel_names=names,
        channel_colors=None if names is None else [(255, 0, 0)] * len(names),
        physical_sizes={"x": 0.5, "y": 0.5, "z": 2.0},
        unit="um",
    ).image
    xml = own_xml(tif)
    assert tifffile.OmeXml.validate(xml, omexsd=ome_xsd, assert_=False) is True
    out = image_info(jar, tif)
    assert "No validation errors found." in out
    assert "Series count = 1" in out
    with tifffile.TiffFile(tif) as t:
        nlevels = 1 + len(t.pages[0].subifds)
    assert f"Resolutions = {nlevels}" in out
    h, w = (shape[0], shape[1]) if case == "rgb" else shape[-2:]
    e = spec["expect"]
    assert f"Width = {w}" in out and f"Height = {h}" in out
    assert f"SizeC = {e['C']}" in out and f"SizeZ = {e['Z']}" in out
    assert f"SizeT = {e['T']}" in out
    assert f"Pixel type = {e['type']}" in out


def test_schema_check_catches_a_broken_unit(ome_xsd, tmp_path):
    # proves the XSD check above can fail: a "um" unit is not OME
    tif = export_pyramid(rand((40, 40), "u2"), tmp_path / "u.ome.tif", physical_sizes={"x": 1, "y": 1}).image
    xml = own_xml(tif)
    assert tifffile.OmeXml.validate(xml.replace("\u00b5m", "um"), omexsd=ome_xsd, assert_=False) is False
