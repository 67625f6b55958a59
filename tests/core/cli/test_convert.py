"""`napari-viv convert` as users run it: the real console script in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from helpers.source_files import halves, ramp, write_qptiff, write_subifd_pyramid

from napari_viv.cli import main  # noqa: E402

EXE = shutil.which("napari-viv") or "napari-viv"


def convert(*args, cwd=None, timeout=240):
    proc = subprocess.run([EXE, "convert", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def folder_listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def assert_one_line_error(rc, err):
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("napari-viv convert: error: ")


# --- success, each input kind -----------------------------------------------------------


def test_convert_ome_pyramid_keeps_metadata_and_pixels(tmp_path):
    data = ramp((3, 700, 900))
    src = tmp_path / "in.ome.tif"
    write_subifd_pyramid(
        src,
        data,
        2,
        tile=256,
        metadata={
            "axes": "CYX",
            "PhysicalSizeX": 0.325,
            "PhysicalSizeY": 0.325,
            "Channel": {"Name": ["DAPI", "CD8", "PanCK"]},
        },
    )
    out = tmp_path / "out.ome.tif"
    rc, stdout, err = convert(src, out, "--tile-size", "256")
    assert rc == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    assert f"napari-viv serve {out}" in stdout
    assert (tmp_path / "out.offsets.json").is_file()
    with tifffile.TiffFile(out) as t:
        assert t.is_ome
        page = t.pages.first
        assert page.tilewidth == 256
        assert len(t.pages) == 3  # one IFD per plane; levels are SubIFDs
        assert len(page.subifds) >= 1
        xml = t.ome_metadata
        np.testing.assert_array_equal(t.series[0].asarray(), data)
    for name in ("DAPI", "CD8", "PanCK"):
        assert f'Name="{name}"' in xml
    assert 'PhysicalSizeX="0.325"' in xml


def test_convert_options_override(tmp_path):
    data = ramp((2, 300, 400))
    src = tmp_path / "in.npy"
    np.save(src, data)
    out = tmp_path / "o.ome.tif"
    rc, _, err = convert(
        src,
        out,
        "--channel-names",
        "alpha, beta",
        "--pixel-size",
        "0.5,0.6",
        "--unit",
        "um",
        "--levels",
        "2",
        "--compression",
        "lzw",
        "--downsample",
        "nearest",
        "--tile-size",
        "128",
    )
    assert rc == 0, err
    with tifffile.TiffFile(out) as t:
        xml = t.ome_metadata
        page = t.pages.first
        assert page.compression == 5  # LZW
        assert len(page.subifds) == 1  # --levels 2
        level1 = t.series[0].levels[1].asarray()
        np.testing.assert_array_equal(level1, halves(data))  # nearest = every 2nd pixel
    assert 'Name="alpha"' in xml and 'Name="beta"' in xml
    assert 'PhysicalSizeX="0.5"' in xml and 'PhysicalSizeY="0.6"' in xml
    assert 'PhysicalSizeXUnit="\u00b5m"' in xml


@pytest.mark.parametrize("kind", ["qptiff", "imagej", "plain", "zarr", "svs"])
def test_convert_each_input_kind(tmp_path, kind):
    data = ramp((2, 260, 300))
    if kind == "qptiff":
        src = tmp_path / "s.qptiff"
        write_qptiff(src, data, ["DAPI", "FITC"], [(0, 0, 255), (0, 255, 0)], nlevels=2, tile=128)
        expect, names = data, ["DAPI", "FITC"]
    elif kind == "imagej":
        src = tmp_path / "ij.tif"
        tifffile.imwrite(src, data[None], imagej=True, metadata={"axes": "ZCYX", "Labels": ["a", "b"]})
        expect, names = data, ["a", "b"]
    elif kind == "plain":
        src = tmp_path / "p.tif"
        tifffile.imwrite(src, data, photometric="minisblack", compression="zlib")
        expect, names = data, None
    elif kind == "zarr":
        import zarr

        src = tmp_path / "z.zarr"
        z = zarr.create_array(str(src), shape=data.shape, chunks=(1, 100, 100), dtype=data.dtype)
        z[:] = data
        expect, names = data, None
    else:
        src = tmp_path / "slide.svs"
        rgb = ramp((260, 300, 3), dtype="uint8")
        tifffile.imwrite(
            src, rgb, tile=(128, 128), photometric="rgb", metadata=None, description="Aperio Image Library v1|MPP = 0.5"
        )
        expect, names = rgb, None
    out = tmp_path / "out.ome.tif"
    rc, _, err = convert(src, out)
    assert rc == 0, err
    with tifffile.TiffFile(out) as t:
        got = t.series[0].asarray()
        xml = t.ome_metadata
    if got.shape != expect.shape and expect.ndim == 3 and expect.shape[-1] == 3:
        got = np.moveaxis(got, 0, -1)  # RGB written as 3 channels
    np.testing.assert_array_equal(got, expect)
    for name in names or []:
        assert f'Name="{name}"' in xml
    if kind == "svs":
        assert 'PhysicalSizeX="0.5"' in xml


def test_main_from_a_worker_thread(tmp_path):
    """No SIGINT handler can be installed off the main thread; convert still works."""
    import threading

    src = tmp_path / "a.npy"
    np.save(src, ramp((2, 64, 80)))
    result = []
    worker = threading.Thread(
        target=lambda: result.append(main(["convert", str(src), str(tmp_path / "t.ome.tif"), "--no-progress"]))
    )
    worker.start()
    worker.join()
    assert result == [0]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t.ome.tif"), np.load(src))


def test_in_process_main_and_output_name_fixup(tmp_path, capsys):
    src = tmp_path / "a.npy"
    np.save(src, ramp((64, 80), dtype="uint8"))
    assert main(["convert", str(src), str(tmp_path / "plain.tif"), "--no-progress"]) == 0
    # a .tif name becomes .ome.tif so Avivator recognises it
    assert (tmp_path / "plain.ome.tif").is_file()
    assert (tmp_path / "plain.offsets.json").is_file()
    assert "plain.ome.tif" in capsys.readouterr().out


@pytest.mark.node
def test_converted_file_opens_in_viv(tmp_path, viv):
    from helpers.vivjs import plane_digest

    data = ramp((3, 1100, 900))
    src = tmp_path / "in.ome.tif"
    write_subifd_pyramid(
        src,
        data,
        1,
        tile=256,
        metadata={
            "axes": "CYX",
            "PhysicalSizeX": 0.65,
            "PhysicalSizeY": 0.7,
            "Channel": {"Name": ["DAPI", "CD3", "Ki67"]},
        },
    )
    out = tmp_path / "viv.ome.tif"
    rc, _, err = convert(src, out, "--tile-size", "256")
    assert rc == 0, err
    report = viv(out, offsets=tmp_path / "viv.offsets.json")
    assert report["offsetsUsed"] == 3
    (image,) = report["images"]
    assert [ch["name"] for ch in image["channels"]] == ["DAPI", "CD3", "Ki67"]
    assert image["physical"]["x"] == pytest.approx(0.65)
    assert image["physical"]["y"] == pytest.approx(0.7)
    assert image["physical"]["xUnit"] == "\u00b5m"
    assert image["tileSize"] == 256
    assert image["sizes"] == {"x": 900, "y": 1100, "z": 1, "c": 3, "t": 1}
    level0 = image["levels"][0]
    assert {p["c"]: p["sha256"] for p in level0["planes"]} == {c: plane_digest(data[c]) for c in range(3)}
    # the smallest level is a floor(/2) chain of level 0
    h, w = 1100, 900
    for level in image["levels"][1:]:
        h, w = h // 2, w // 2
        assert level["shape"][-2:] == [h, w]


# --- bad input ----------------------------------------------------------------------------


def _bad_inputs(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, ramp((2, 64, 64)))
    text = tmp_path / "text.ome.tif"
    text.write_text("not an image")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.ome.tif"
    write_subifd_pyramid(cut, ramp((2, 512, 512)), 2, tile=256, metadata={"axes": "CYX"})
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    return good, text, empty, cut


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not-tiff",
        "empty",
        "truncated",
        "no-out-folder",
        "out-is-folder",
        "unwritable",
        "exists",
        "same-file",
        "too-many-levels",
        "channel-count",
        "series",
    ],
)
def test_bad_input_one_line_and_nothing_written(tmp_path, case):
    good, text, empty, cut = _bad_inputs(tmp_path)
    out = tmp_path / "out.ome.tif"
    args = {
        "missing": [tmp_path / "nope.tif", out],
        "not-tiff": [text, out],
        "empty": [empty, out],
        "truncated": [cut, out],
        "no-out-folder": [good, tmp_path / "no" / "such" / "x.ome.tif"],
        "out-is-folder": [good, tmp_path],
        "unwritable": [good, "/proc/napari-viv-test.ome.tif"],
        "exists": [good, cut],
        "same-file": [cut, cut, "--overwrite"],
        "too-many-levels": [good, out, "--levels", "30"],
        "channel-count": [good, out, "--channel-names", "a,b,c"],
        "series": [cut, out, "--series", "7"],
    }[case]
    before = folder_listing(tmp_path)
    cut_bytes = cut.read_bytes()
    rc, stdout, err = convert(*args)
    assert rc == 1
    assert_one_line_error(rc, err)
    assert folder_listing(tmp_path) == before  # nothing new, no temporary left behind
    assert cut.read_bytes() == cut_bytes  # an existing file is never touched on error
    if case in ("missing", "not-tiff", "empty", "truncated", "too-many-levels", "channel-count", "series"):
        assert Path(args[0]).name in err  # the message names the file
    assert stdout == ""


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("tile-size", ["--tile-size", "300"]),
        ("compression", ["--compression", "zstd"]),
        ("levels", ["--levels", "0"]),
        ("pixel-size", ["--pixel-size", "-1"]),
        ("unit", ["--pixel-size", "1", "--unit", "parsec"]),
        ("unit-alone", ["--unit", "nm"]),
        ("downsample", ["--downsample", "median"]),
        ("series-and-all-series", ["--series", "1", "--all-series"]),
    ],
)
def test_bad_option_is_a_usage_error_before_any_file_is_opened(tmp_path, case, options):
    """A bad option value or a conflict: exit 2, the usage line, one error line; the input is not blamed."""
    good, *_ = _bad_inputs(tmp_path)
    before = folder_listing(tmp_path)
    rc, stdout, err = convert(good, tmp_path / "out.ome.tif", *options)
    assert rc == 2, err
    usage, error = err.strip().splitlines()
    assert usage == "usage: napari-viv convert [options] INPUT OUTPUT"
    assert error.startswith("napari-viv convert: error: ")
    assert "good.npy" not in err  # the input was never opened, so it is not to blame
    assert any(o in error for o in options if o.startswith("--"))  # names the option
    assert "Traceback" not in err and stdout == ""
    assert folder_listing(tmp_path) == before


def test_unwritable_folder(tmp_path, readonly_folder):
    good, *_ = _bad_inputs(tmp_path)
    rc, _, err = convert(good, readonly_folder / "x.ome.tif")
    assert_one_line_error(rc, err)
    assert "readonly" in err
    assert list(readonly_folder.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_cancels_cleanly(tmp_path, signum):
    # A 1 GiB sparse .npy: instant to create, long enough to convert.
    src = tmp_path / "zeros.npy"
    np.lib.format.open_memmap(src, mode="w+", dtype="uint16", shape=(8, 8192, 8192)).flush()
    out = tmp_path / "z.ome.tif"
    proc = subprocess.Popen(
        [EXE, "convert", str(src), str(out), "--progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    seen = b""
    deadline = time.monotonic() + 120
    while b"converting" not in seen and time.monotonic() < deadline:
        chunk = os.read(proc.stderr.fileno(), 256)
        if not chunk:
            break
        seen += chunk
    assert b"converting" in seen, seen
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum  # 130 for Ctrl-C, 143 for SIGTERM
    assert b"Traceback" not in seen + err
    assert b"interrupted" in err
    assert folder_listing(tmp_path) == {"zeros.npy"}


def test_input_pyramid_copied_unless_downsample_given(tmp_path):
    data = ramp((2, 512, 512))
    fake1 = np.full((2, 256, 256), 7, np.uint16)  # a level 1 no downsampling would produce
    src = tmp_path / "pyr.ome.tif"
    kw = {"tile": (256, 256), "compression": "zlib", "photometric": "minisblack"}
    with tifffile.TiffWriter(src, bigtiff=True) as tw:
        tw.write(data, subifds=1, metadata={"axes": "CYX"}, **kw)
        tw.write(fake1, subfiletype=1, **kw)
    copied, recomputed = tmp_path / "copied.ome.tif", tmp_path / "recomputed.ome.tif"
    assert convert(src, copied, "--tile-size", "256", "--levels", "2")[0] == 0
    assert convert(src, recomputed, "--tile-size", "256", "--levels", "2", "--downsample", "mean")[0] == 0
    with tifffile.TiffFile(copied) as t:
        np.testing.assert_array_equal(t.series[0].levels[0].asarray(), data)
        np.testing.assert_array_equal(t.series[0].levels[1].asarray(), fake1)
    with tifffile.TiffFile(recomputed) as t:
        level1 = t.series[0].levels[1].asarray().astype(float)
    mean = data.astype(float).reshape(2, 256, 2, 256, 2).mean(axis=(2, 4))
    assert np.abs(level1 - mean).max() <= 1


# --- what the summary says -------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "written", "how"),
    [
        ("float16", "float32", "exact"),
        ("bool", "uint8", "True -> 255"),
        ("uint16", "uint16", None),
    ],
)
def test_summary_names_the_written_dtype_and_the_conversion(tmp_path, dtype, written, how):
    src = tmp_path / "a.npy"
    np.save(src, (ramp((2, 64, 64)) % 2).astype(dtype))
    out = tmp_path / "a.ome.tif"
    rc, stdout, err = convert(src, out)
    assert rc == 0, err
    with tifffile.TiffFile(out) as t:
        assert t.pages.first.dtype == np.dtype(written)
    assert f"C=2 Y=64 X=64 {written}:" in stdout  # the dtype written, not the input's
    notes = [ln for ln in err.splitlines() if ln.startswith("napari-viv convert: note: a.npy: ")]
    if how is None:
        assert notes == [] and err == ""
    else:
        assert len(notes) == 1, err
        assert f"{dtype} pixels are written as {written}" in notes[0] and how in notes[0]


def test_summary_gives_no_meaningless_rate_for_a_tiny_file(tmp_path):
    src = tmp_path / "tiny.npy"
    np.save(src, ramp((16, 16)))
    rc, stdout, err = convert(src, tmp_path / "tiny.ome.tif")
    assert rc == 0, err
    assert "(0 MB/s)" not in stdout
    timing = next(ln for ln in stdout.splitlines() if " on disk, " in ln)
    rate = re.search(r"\(([\d.]+) [KMGT]?B/s\)", timing)
    assert rate is None or float(rate.group(1)) > 0, timing


def test_convert_and_check_name_a_truncated_file_with_the_same_problem(tmp_path):
    """Until read/ and check/ word truncation at one source, the two commands differ here."""
    from napari_viv import export_pyramid

    cases = []
    half = tmp_path / "half.ome.tif"
    write_subifd_pyramid(half, ramp((2, 512, 512)), 2, tile=256, metadata={"axes": "CYX"})
    cases.append((half, 0.5))
    ours = tmp_path / "ours.ome.tif"
    export_pyramid(ramp((2, 512, 512)), ours, axes="CYX", tile_size=128)
    cases.append((ours, 0.9))
    for path, keep in cases:
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])
        rc, _, converted = convert(path, tmp_path / "x.ome.tif")
        assert rc == 1
        checked = subprocess.run([EXE, "check", str(path)], capture_output=True, text=True, timeout=120)
        assert checked.returncode == 1
        head = f": error: {path}: "
        problems = [text.strip().split(head, 1)[-1] for text in (converted, checked.stderr)]
        assert all(head in text for text in (converted, checked.stderr)), (converted, checked.stderr)
        assert problems[0] == problems[1], problems
        assert "out of range" not in problems[0] and "Tiff" not in problems[0], problems
