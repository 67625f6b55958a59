"""Every real file (``../shared/realfiles/files``, written by other people's
software) reads, checks and converts right, or is refused for a documented reason.

For each file:

* ``napari-viv check`` agrees with the real Viv loader on the original file
  (Viv's pixels compared with tifffile's, as in tests/core/check/test_rules.py);
* ``napari-viv convert`` writes a file that the real Viv loader shows exactly
  as written, whose level 0 is the input's pixels (tifffile's reading), and
  whose Z/C/T sizes, channel names and physical sizes are what Bio-Formats
  reports for the input, except where :data:`DIFFERS` says in one line why
  we deliberately differ;
* the napari reader's core (``open_image``) opens the files the reader claims
  with the axes and sizes of that export;
* or the file is refused in one line, and ``docs/troubleshooting.md`` lists it.

The inputs are never copied into the repository; without the folder (a clone
without ``../shared``) the module is skipped, saying so.
"""

from __future__ import annotations

import contextlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from helpers import bioformats, realfiles
from helpers.vivjs import node_missing_reason

pytestmark = [pytest.mark.node, pytest.mark.bioformats, pytest.mark.slow]

_REASON = realfiles.missing_reason()
if _REASON:
    print(f"skipping the real-file suite: {_REASON}")
    pytest.skip(_REASON, allow_module_level=True)

ROOT = realfiles.folder()
FILES = realfiles.inputs()
#: The files the napari reader claims by name (npe2's filename_patterns).
READER_FILES = [f for f in FILES if Path(f).name.lower().endswith((".ome.tif", ".ome.tiff", ".qptiff"))]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"

#: Lossy level 0 (JPEG input compared with its lossless twin, or JPEG output at
#: quality 85): mean and largest absolute difference allowed, in 8-bit steps.
JPEG_MEAN, JPEG_MAX = 3.0, 64
#: Known bugs of other areas this suite found, each failing until fixed (strict xfail).
KNOWN_BUGS: dict = {}

_IJ = (
    "ImageJ's calibration (unit and XResolution) is the instrument's pixel size; Bio-Formats 7.3's TIFF reader drops it"
)
_SVS = "Aperio's ImageDescription says MPP = 0.499; Bio-Formats 7.3 reports no size for this file"
_ND = "NDTiff's per-image Axes arrange the pages as T, C, Z; Bio-Formats' TIFF reader sees a plain page stack (all T)"
_ND_NAMES = "the channel names come from NDTiff's per-image Axes; Bio-Formats has none"
_ND_SIZE = "Micro-Manager recorded PixelSize_um = 1; Bio-Formats' TIFF reader drops it"
#: {file: {"sizes" | "names" | "physical": why we deliberately differ from Bio-Formats}}
DIFFERS = {
    "aics_BBBC034_AICS_12_134_C0.tif": {"physical": _IJ},
    "qupath_cells-gray16.tif": {"physical": _IJ + " (unit written as \\u00B5m)"},
    "qupath_cells-gray32.tif": {"physical": _IJ + " (unit written as \\u00B5m)"},
    "ij_mini-t1-head.tif": {
        "physical": "ImageJ says unit=mm, spacing=1.5: 1.5 mm voxels; Bio-Formats keeps only Z and calls it 1.5 µm"
    },
    "fei_sem-rbc.tif": {
        "physical": "FEI's [Scan] PixelWidth is 7.7 nm; Bio-Formats' FEI "
        "reader reports no size (the 96-dpi tag is no measurement)"
    },
    "metaxpress_BBBC022_IXMtest_A02_s9.tif": {
        "names": "ImageJ's slice labels name the 3 channels; Bio-Formats drops them"
    },
    "ndtiff_NDTiff3.2_multichannel_NDTiffStack.tif": {"sizes": _ND, "names": _ND_NAMES, "physical": _ND_SIZE},
    "ndtiff_12_bit_pycromanager_mda_NDTiffStack.tif": {"sizes": _ND, "names": _ND_NAMES, "physical": _ND_SIZE},
    "slide_CMU-1-Small-Region.svs": {"physical": _SVS},
    "slide_openslide_small.svs": {"physical": _SVS},
    "hubmap_output_ome.ome.tiff": {
        "names": "one OME Channel with SamplesPerPixel=4 names 4 "
        "samples; Viv needs a <Channel> per channel, so "
        "they get default names"
    },
}
#: Files Bio-Formats itself cannot read: there is nothing to compare with.
BIOFORMATS_FAILS = {
    "pillow_10ct_32bit_128.tiff": "Bio-Formats 7.3 throws a NullPointerException (no PhotometricInterpretation tag)"
}
#: Lossy input without a lossless twin to compare with: (twin file, why).
LOSSY_TWIN = {"bfderived/bf_CMU-1_jpeg-pyramid.ome.tif": "bfderived/bf_CMU-1-Small-Region_subifd-pyramid.ome.tif"}


def _need_tools():
    reason = node_missing_reason()
    jar, why = bioformats.jar_or_reason()
    problem = reason or why
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-file suite cannot run in CI: {problem}")
        pytest.skip(problem)
    return jar


@pytest.fixture(scope="module")
def bf():
    """Bio-Formats' report for every input's metadata file (one JVM for all when it can)."""
    jar = _need_tools()
    targets = sorted({realfiles.metadata_file(ROOT / f) for f in FILES})
    return bioformats.reports(jar, targets)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """``napari-viv convert`` of every input: {file: (exit status, stderr, output)}."""
    from napari_viv.cli import main

    out_dir = tmp_path_factory.mktemp("converted")
    done = {}
    for i, rel in enumerate(FILES):
        out = out_dir / f"{i:02d}_{Path(rel).name.split('.')[0]}.ome.tif"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["convert", str(ROOT / rel), str(out), "--no-progress"])
        done[rel] = (rc, err.getvalue(), out)
    return done


@pytest.fixture(scope="module")
def viv_reports(converted):
    """Viv's verdict on every original file and on every export, two loaders at a time."""
    _need_tools()
    jobs = [("in", rel, ROOT / rel) for rel in FILES]
    jobs += [("out", rel, out) for rel, (rc, _, out) in converted.items() if rc == 0]
    lossy = [path for kind, _, path in jobs if kind == "out" and realfiles.is_jpeg(path)]
    half = len(jobs) // 2  # two loader processes, one per core
    with ThreadPoolExecutor(2) as pool:
        parts = pool.map(lambda js: realfiles.viv_many([p for _, _, p in js], lossy), [jobs[:half], jobs[half:]])
        reports = [r for part in parts for r in part]
    run = {"in": realfiles.viv_verdict, "out": realfiles.output_conforms}
    return {(kind, rel): run[kind](path, rep) for (kind, rel, path), rep in zip(jobs, reports, strict=False)}


def _refused(rel, converted) -> str | None:
    rc, err, _ = converted[rel]
    return None if rc == 0 else err


def _bf_series(bf, rel, series=0):
    report = bf[realfiles.metadata_file(ROOT / rel)]
    if rel in BIOFORMATS_FAILS:
        assert report.error, f"{rel}: Bio-Formats now reads it; compare with it"
        return None
    assert report.error is None, f"{rel}: Bio-Formats failed: {report.error}"
    return report.series[series]


# -- check agrees with Viv ---------------------------------------------------


@pytest.mark.parametrize("rel", FILES)
def test_check_agrees_with_viv(rel, viv_reports):
    from napari_viv.check.rules import check_file
    from napari_viv.errors import NapariVivError

    viv_ok, why = viv_reports[("in", rel)]
    try:
        report = check_file(ROOT / rel)
    except NapariVivError as exc:
        assert "\n" not in str(exc)
        assert not viv_ok, f"check refuses a file Viv shows right: {exc}"
        return
    assert report.ok == viv_ok, (why, [f.message for f in report.findings])
    for finding in report.errors:
        assert "rename it" not in finding.fix or "ome.tif" in Path(rel).name.lower(), finding


# -- convert -----------------------------------------------------------------


@pytest.mark.parametrize("rel", FILES)
def test_convert_is_conformant_or_refused(rel, converted, viv_reports):
    refusal = _refused(rel, converted)
    if refusal is not None:
        lines = [ln for ln in refusal.splitlines() if ln.startswith("napari-viv convert: error:")]
        assert len(lines) == 1, refusal
        assert Path(rel).name in DOCS.read_text(encoding="utf-8"), (
            f"{rel} is refused but docs/troubleshooting.md does not list it: {lines[0]}"
        )
        return
    why = viv_reports[("out", rel)]
    assert why is None, f"{rel}: {why}"


@pytest.mark.parametrize("rel", FILES)
def test_export_level0_is_the_input(rel, converted, request):
    if ("level0", rel) in KNOWN_BUGS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_BUGS[("level0", rel)], strict=True))
    if _refused(rel, converted) is not None:
        pytest.skip(f"{rel} is refused (see test_convert_is_conformant_or_refused)")
    out = converted[rel][2]
    info = realfiles.output_ome(out)
    got = realfiles.output_level0(out)
    source = ROOT / LOSSY_TWIN.get(rel, rel)
    want = realfiles.expected_level0(source, 0, info["interleaved"], info["sizes"])
    assert got.shape == want.shape, (got.shape, want.shape)
    if rel in LOSSY_TWIN or info["compression"] == 7:  # JPEG in or out: lossy
        err = np.abs(got.astype(float) - want.astype(float))
        assert err.mean() <= JPEG_MEAN and err.max() <= JPEG_MAX, (err.mean(), err.max())
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("rel", FILES)
def test_export_metadata_matches_bioformats(rel, converted, bf):
    if _refused(rel, converted) is not None:
        pytest.skip(f"{rel} is refused (see test_convert_is_conformant_or_refused)")
    info = realfiles.output_ome(converted[rel][2])
    ref = _bf_series(bf, rel)
    if ref is None:  # nothing to compare with: tifffile's reading is the reference
        with realfiles.open_tifffile(ROOT / rel) as tif:
            shape = tif.series[0].shape
        assert (info["sizes"]["Y"], info["sizes"]["X"]) == shape[-2:]
        assert info["sizes"]["T"] * info["sizes"]["C"] * info["sizes"]["Z"] == int(np.prod(shape[:-2]))
        return
    differs = DIFFERS.get(rel, {})
    _compare(rel, info, ref, differs)


def _compare(rel, info, ref, differs):
    mine = info["sizes"]
    assert (mine["X"], mine["Y"]) == (ref.sizes["X"], ref.sizes["Y"])
    if "sizes" in differs:
        assert mine["T"] * mine["C"] * mine["Z"] == ref.sizes["T"] * ref.sizes["C"] * ref.sizes["Z"]
        assert (mine["T"], mine["C"], mine["Z"]) != (ref.sizes["T"], ref.sizes["C"], ref.sizes["Z"]), (
            f"{rel}: now agrees with Bio-Formats; drop the DIFFERS entry"
        )
    else:
        assert {a: mine[a] for a in "TCZ"} == {a: ref.sizes[a] for a in "TCZ"}
    named = [n for n in ref.names if n]
    if "names" not in differs:
        if named and not info["interleaved"]:
            assert info["names"] == ref.names, (info["names"], ref.names)
        elif not info["interleaved"]:
            assert info["names"] == [f"Channel {i}" for i in range(mine["C"])], info["names"]
    axes = "xyz" if mine["Z"] > 1 else "xy"
    want = {a: v for a, v in ref.physical_um.items() if a in axes}
    have = {a: v for a, v in info["physical_um"].items() if a in axes}
    if "physical" in differs:
        assert have and have != pytest.approx(want), f"{rel}: agrees now; drop the DIFFERS entry"
    else:
        assert have == pytest.approx(want, rel=1e-6), (have, want)


# -- the napari reader's core ------------------------------------------------


def test_reader_claims_what_the_suite_says():
    from napari_viv import naming

    assert [f for f in FILES if Path(f).name.lower().endswith(naming.READER_SUFFIXES)] == READER_FILES


@pytest.mark.parametrize("rel", READER_FILES)
def test_reader_core_opens_what_the_reader_claims(rel, converted):
    from napari_viv.read import open_image

    if _refused(rel, converted) is not None:
        pytest.skip(f"{rel} is refused")
    lazy = open_image(ROOT / rel)
    streamed = open_image(ROOT / rel, streaming=True)
    assert lazy.metadata.axes == streamed.metadata.axes
    assert [lv.shape for lv in lazy.levels] == [tuple(lv.shape) for lv in streamed.levels]
    info = realfiles.output_ome(converted[rel][2])
    sizes = dict(zip(lazy.metadata.axes, lazy.shape, strict=False))
    if "S" in sizes:
        assert info["interleaved"] and sizes["S"] == info["sizes"]["C"]
    for a in "TCZ":
        if a != "C" or "S" not in sizes:
            assert sizes.get(a, 1) == info["sizes"][a], (a, sizes, info["sizes"])
    assert (sizes["Y"], sizes["X"]) == (info["sizes"]["Y"], info["sizes"]["X"])


# -- series and positions ----------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    [
        "mm_181003_multi_pos_time_course_1_MMStack.ome.tif",
        "multifile_prairie/TSeries-camp-005_Cycle00001_Ch1_000001.ome.tif",
    ],
)
def test_all_series_writes_each_series_as_bioformats_counts_them(rel, bf, tmp_path):
    from napari_viv.cli import main
    from napari_viv.naming import series_output_path
    from napari_viv.read import list_series

    if rel not in FILES:
        pytest.skip(realfiles.file_missing_reason(rel))
    report = bf[realfiles.metadata_file(ROOT / rel)]
    assert len(list_series(ROOT / rel)) == len(report.series)
    out = tmp_path / "all.ome.tif"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["convert", str(ROOT / rel), str(out), "--all-series", "--no-progress"]) == 0
    outputs = [series_output_path(out, i) for i in range(len(report.series))]
    for one, rep, ref, i in zip(outputs, realfiles.viv_many(outputs), report.series, range(99), strict=False):
        assert realfiles.output_conforms(one, rep) is None
        info = realfiles.output_ome(one)
        _compare(rel, info, ref, {})
        want = realfiles.expected_level0(ROOT / rel, i, info["interleaved"], info["sizes"])
        np.testing.assert_array_equal(realfiles.output_level0(one), want)
    assert not series_output_path(out, len(report.series)).exists()


def test_all_series_leaves_out_a_slides_label_and_macro(tmp_path, capsys):
    """A whole-slide file's thumbnail, label and macro are not exported by --all-series
    (napari's reader leaves them out too; a label often carries patient identifiers)."""
    from napari_viv.cli import main
    from napari_viv.naming import series_output_path
    from napari_viv.read import list_series

    rel = "slide_CMU-1-Small-Region.svs"
    if rel not in FILES:
        pytest.skip(realfiles.file_missing_reason(rel))
    listed = list_series(ROOT / rel)
    kept = [s.index for s in listed if s.kind != "associated"]
    left = [s for s in listed if s.kind == "associated"]
    assert kept == [0] and {s.name for s in left} == {"Thumbnail", "Label", "Macro"}
    out = tmp_path / "slide.ome.tif"
    assert main(["convert", str(ROOT / rel), str(out), "--all-series", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert series_output_path(out, 0).exists()
    assert not any(series_output_path(out, s.index).exists() for s in left)
    assert "left out the slide's associated images" in err
    assert all(f"{s.name} (series {s.index})" in err for s in left)
    # batch names the input in the same note, and converts the same one series
    assert main(["batch", str(ROOT / rel), "-o", str(tmp_path / "b"), "--all-series"]) == 0
    err = capsys.readouterr().err
    assert f"napari-viv batch: note: {ROOT / rel}: left out the slide's associated images" in err
    assert sorted(p.name for p in (tmp_path / "b").glob("*.ome.tif")) == [
        series_output_path(Path("slide_CMU-1-Small-Region.ome.tif"), 0).name
    ]
    # one of them can still be converted on purpose
    label = next(s.index for s in left if s.name == "Label")
    assert (
        main(["convert", str(ROOT / rel), str(tmp_path / "label.ome.tif"), "--series", str(label), "--no-progress"])
        == 0
    )


def test_series_out_of_range_names_the_count(tmp_path):
    from napari_viv.cli import main

    rel = "mm_181003_multi_pos_time_course_1_MMStack.ome.tif"
    if rel not in FILES:
        pytest.skip(realfiles.file_missing_reason(rel))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["convert", str(ROOT / rel), str(tmp_path / "x.ome.tif"), "--series", "2"])
    assert rc == 1 and "has 2 image series" in err.getvalue()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("keep", [100, 300, 1000, 1500])
def test_damaged_member_of_a_set_is_one_message(tmp_path, keep):
    """A cut file of a multi-file set: check and open_image say the same about the companion."""
    import shutil

    from napari_viv.check.rules import check_file
    from napari_viv.errors import NapariVivError
    from napari_viv.read import open_image

    src = ROOT / "multifile_companion"
    if not src.is_dir():
        pytest.skip(f"multifile_companion is not in {ROOT} (set NAPARI_VIV_REALFILES)")
    for f in src.iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    member = tmp_path / "multifile-Z3.ome.tiff"
    member.write_bytes(member.read_bytes()[:keep])
    companion = tmp_path / "multifile.companion.ome"
    problems = set()
    for opener in (check_file, open_image):
        with pytest.raises(NapariVivError) as info:
            opener(companion)
        assert info.value.subject == str(companion)
        problems.add(info.value.problem)
    assert len(problems) == 1 and problems.pop().startswith("a file of the set is truncated or damaged")
