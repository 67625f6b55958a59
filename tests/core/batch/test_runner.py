"""`napari-viv batch` on this machine: inputs, names, faults, resume, report, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from helpers.batch_files import StallingZarr, make_mixed_inputs, make_series_inputs, written_names
from helpers.source_files import ramp

from napari_viv import naming
from napari_viv.batch.inputs import find_inputs
from napari_viv.batch.resume import output_is_current
from napari_viv.cli import main


def batch_cli(*args, timeout=300, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "batch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stdout, proc.stderr


def statuses(report: Path) -> dict[str, str]:
    return {Path(r["input"]).name: r["status"] for r in json.loads(report.read_text())["files"]}


def stack_of(tif: Path) -> np.ndarray:
    with tifffile.TiffFile(tif) as t:
        return t.series[0].asarray()


# --- names and inputs -----------------------------------------------------------------


def test_output_names_are_distinct_and_predictable(tmp_path):
    names = [
        p.name
        for p in naming.batch_output_paths(
            ["/d/caseA/s1/slide.svs", "/d/caseB/s1/slide.svs", "/d/x/Slide.ome.tif", "/d/x/slide.npy", "/d/one.tif"],
            tmp_path,
        )
    ]
    # as many trailing folder names as tell the folders apart (the same number for all
    # files of that name), then extensions for files of one folder
    assert names == [
        "caseA_s1_slide.ome.tif",
        "caseB_s1_slide.ome.tif",
        "d_x_Slide_ome-tif.ome.tif",
        "d_x_slide_npy.ome.tif",
        "one.ome.tif",
    ]
    assert len({n.lower() for n in names}) == len(names)
    # the names depend on the set of inputs, not on their order
    again = naming.batch_output_paths(
        ["/d/x/slide.npy", "/d/caseB/s1/slide.svs", "/d/one.tif", "/d/x/Slide.ome.tif", "/d/caseA/s1/slide.svs"],
        tmp_path,
    )
    assert sorted(p.name for p in again) == sorted(names)
    # a made-up name that is also a real stem gets a number
    clash = [p.name for p in naming.batch_output_paths(["/a/s.tif", "/b/s.tif", "/c/a_s.npy"], tmp_path)]
    assert clash == ["a_s.ome.tif", "b_s.ome.tif", "a_s_2.ome.tif"]


def test_find_inputs_folders_globs_and_files(tmp_path):
    data = tmp_path / "data"
    (data / "sub" / "deeper").mkdir(parents=True)
    (data / ".hidden").mkdir()
    for rel in [
        "a.ome.tif",
        "b.TIF",
        "sub/c.qptiff",
        "sub/deeper/d.svs",
        "e.npy",
        ".hidden/x.tif",
        ".f.tif",
        "a.offsets.json",
        "notes.txt",
        "sub/z.png",
    ]:
        (data / rel).write_bytes(b"x")
    zarr = data / "img.zarr"
    (zarr / "0").mkdir(parents=True)
    (zarr / "zarr.json").write_text("{}")
    out = data / "viv"  # the output folder inside the input folder is never searched
    out.mkdir()
    (out / "old.ome.tif").write_bytes(b"x")

    found = find_inputs([data], exclude=out)
    rel = [p.relative_to(data).as_posix() for p in found.files]
    assert rel == ["a.ome.tif", "b.TIF", "e.npy", "img.zarr", "sub/c.qptiff", "sub/deeper/d.svs"]
    assert not found.missing

    found = find_inputs(
        [
            f"{data}/**/*.svs",
            f"{data}/*.ome.tif",
            data / "notes.txt",
            data / "a.ome.tif",
            tmp_path / "nope.tif",
            f"{data}/*.czi",
            tmp_path,
        ],
        exclude=out,
    )
    rel = [p.relative_to(data).as_posix() for p in found.files]
    # a file named explicitly is taken whatever its name; duplicates once
    assert rel[:3] == ["sub/deeper/d.svs", "a.ome.tif", "notes.txt"]
    assert len(rel) == len(set(rel))
    assert found.missing == [
        (str(tmp_path / "nope.tif"), "no such file or folder"),
        (f"{data}/*.czi", "matches no image file"),
    ]


# --- a batch here ---------------------------------------------------------------------


def test_mixed_batch_faults_report_resume_and_overwrite(tmp_path, capsys):
    files = make_mixed_inputs(tmp_path / "in")
    out, report = tmp_path / "out", tmp_path / "report.json"
    args = ["batch", str(tmp_path / "in"), "--out-dir", str(out), "--tile-size", "128", "--report", str(report)]
    assert main(args) == 1  # one file failed
    text = capsys.readouterr()
    assert "failed: " + str(files["corrupt"][0]) + ": file is truncated" in text.err
    assert "Traceback" not in text.err
    doc = json.loads(report.read_text())
    assert doc["totals"]["done"] == 4 and doc["totals"]["failed"] == 1
    assert statuses(report) == {
        "slide.ome.tif": "done",
        "slide.tif": "done",
        "plain.tiff": "done",
        "stack.npy": "done",
        "broken.tif": "failed",
    }
    by_name = {Path(r["input"]).name: r for r in doc["files"]}
    for kind in ("ome", "imagej", "plain", "npy"):
        src, pixels = files[kind]
        row = by_name[src.name]
        tif = Path(row["output"])
        np.testing.assert_array_equal(stack_of(tif), pixels)
        assert row["output_bytes"] == tif.stat().st_size
        assert row["input_bytes"] == src.stat().st_size
        assert row["seconds"] > 0
        assert str(naming.offsets_path(tif)) in row["written"]
    # the reader's and writer's notes (as convert prints them) are told and reported
    notes = [(Path(r["input"]).name, n) for r in doc["files"] for n in r["notes"]]
    assert notes  # e.g. plain.tiff records no pixel size
    for name, note in notes:
        assert note in text.err and name in text.err
    # the table on stdout has a line per file, with its status and reason
    table = [ln for ln in text.out.splitlines() if ln.startswith(("done", "failed", "skipped"))]
    assert len(table) == 5
    assert any(ln.startswith("failed") and "file is truncated" in ln for ln in table)
    assert "renamed" in text.out and "caseA_slide.ome.tif" in text.out
    stems = ["caseA_slide", "caseB_slide", "plain", "stack"]
    assert {n for n in written_names(out) if not n.endswith(".view.json")} == {
        f"{s}{suffix}" for s in stems for suffix in (".ome.tif", ".offsets.json")
    }

    # the corrupt file fixed: the second run converts only it
    tifffile.imwrite(files["corrupt"][0], ramp((60, 70), "uint16"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(args) == 0
    capsys.readouterr()
    assert statuses(report) == {
        "slide.ome.tif": "skipped",
        "slide.tif": "skipped",
        "plain.tiff": "skipped",
        "stack.npy": "skipped",
        "broken.tif": "done",
    }
    assert all(p.stat().st_mtime_ns == mtimes[p.name] for p in out.iterdir() if p.name in mtimes)

    # an input newer than its output, and a damaged output, are converted again
    later = time.time() + 5
    os.utime(files["npy"][0], (later, later))
    cut = out / "plain.ome.tif"
    cut.write_bytes(cut.read_bytes()[:-100])
    assert output_is_current(files["plain"][0], cut) == "the output is truncated"
    assert main(args) == 0
    capsys.readouterr()
    st = statuses(report)
    assert st["stack.npy"] == "done" and st["plain.tiff"] == "done"
    assert st["slide.ome.tif"] == "skipped"
    np.testing.assert_array_equal(stack_of(cut), files["plain"][1])

    # --overwrite redoes everything
    assert main(args + ["--overwrite"]) == 0
    assert set(statuses(report).values()) == {"done"}


def test_jobs_side_by_side_same_result(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    arrays = {f"img{i}": ramp((2, 260, 200 + 10 * i), "uint16", seed=i) for i in range(4)}
    for name, a in arrays.items():
        np.save(src / f"{name}.npy", a)
    out, report = tmp_path / "out", tmp_path / "r.json"
    assert main(["batch", f"{src}/*.npy", "-o", str(out), "--jobs", "2", "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert set(statuses(report).values()) == {"done"}
    for name, a in arrays.items():
        np.testing.assert_array_equal(stack_of(out / f"{name}.ome.tif"), a)
        # stderr is not a terminal: a line as each file starts and ends, no bars
        assert f"converting {src / name}.npy" in err
        assert f"done {src / name}.npy -> {out / name}.ome.tif" in err
    assert "\r" not in err and "files:" not in err

    # --progress: tqdm's bars even off a terminal (overall files and bytes, one per file)
    assert main(["batch", str(src), "-o", str(out), "--overwrite", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "batch 0/4 files" in err and "B/s" in err
    assert "img0.npy" in err and "tile" in err
    assert "converting" not in err
    # --no-progress: nothing on stderr but the opening line
    assert main(["batch", str(src), "-o", str(out), "--overwrite", "--no-progress"]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"4 file(s): 0 already converted, 4 to convert here, 1 at a time -> {out}"
    ]


def test_own_output_is_refused_and_others_go_on(tmp_path, capsys):
    folder = tmp_path / "d"
    folder.mkdir()
    tifffile.imwrite(folder / "x.ome.tif", ramp((50, 60), "uint16"), metadata={"axes": "YX"})
    np.save(folder / "y.npy", ramp((40, 30), "uint16"))
    rc = main(["batch", str(folder / "x.ome.tif"), str(folder / "y.npy"), "-o", str(folder)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{folder / 'x.ome.tif'}: is its own output" in err
    assert (folder / "y.ome.tif").is_file()


def assert_usage_error(rc, err, text):
    """Exit status 2: the usage line, then one error line holding ``text``."""
    assert rc == 2, err
    usage, error = err.strip().splitlines()
    assert usage.startswith("usage: napari-viv batch ")
    assert error.startswith("napari-viv batch: error: ") and text in error


def test_one_line_errors_before_any_work(tmp_path):
    rc, out, err = batch_cli(tmp_path / "nothing*.tif", "-o", tmp_path / "out")
    assert rc == 1
    assert err.strip().splitlines() == [f"napari-viv batch: error: {tmp_path}/nothing*.tif: matches no image file"]
    assert not (tmp_path / "out").exists()
    np.save(tmp_path / "a.npy", ramp((20, 20), "uint16"))
    rc, out, err = batch_cli(
        tmp_path / "a.npy", "-o", tmp_path / "out", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"
    )
    assert_usage_error(rc, err, "--jobs applies")
    rc, out, err = batch_cli(tmp_path / "a.npy", "-o", tmp_path / "out", "--unit", "nm")
    assert_usage_error(rc, err, "--unit is the unit of --pixel-size")
    rc, out, err = batch_cli(tmp_path / "a.npy", "-o", tmp_path / "out", "--tile-size", "0")
    assert_usage_error(rc, err, "argument --tile-size")
    # option values are checked before any file is opened: nothing blames the input
    for option, value in (("--tile-size", "300"), ("--compression", "zstd")):
        rc, out, err = batch_cli(tmp_path / "a.npy", "-o", tmp_path / "out", option, value)
        assert_usage_error(rc, err, f"argument {option}: ")
        assert "a.npy" not in err and value in err
    assert not (tmp_path / "out").exists()
    rc, out, err = batch_cli(
        tmp_path / "a.npy",
        "-o",
        tmp_path / "out",
        "--scheduler",
        "tcp://127.0.0.1:1",
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
    )
    assert rc == 1
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("napari-viv batch: error: --scheduler tcp://127.0.0.1:1: cannot reach the dask scheduler")
    )


def series_rows(report: Path) -> dict[tuple[str, int | None], dict]:
    return {(Path(r["input"]).name, r["series"]): r for r in json.loads(report.read_text())["files"]}


def test_all_series_one_row_per_series_resumable_and_bad_files_fail_alone(tmp_path, capsys):
    files = make_series_inputs(tmp_path / "in")
    out, report = tmp_path / "out", tmp_path / "report.json"
    args = [
        "batch",
        str(tmp_path / "in"),
        "-o",
        str(out),
        "--all-series",
        "--tile-size",
        "128",
        "--report",
        str(report),
    ]
    assert main(args + ["--jobs", "2"]) == 1  # the two bad files failed; every series did not
    text = capsys.readouterr()
    rows = series_rows(report)
    assert {k: r["status"] for k, r in rows.items()} == {
        ("two.ome.tif", 0): "done",
        ("two.ome.tif", 1): "done",
        ("one.npy", 0): "done",
        ("broken.tif", 0): "failed",
        ("junk.ome.tif", None): "failed",
    }
    # each series to its own file, named as convert --all-series names them (_s0 also for
    # a single series), with the source series' pixels
    for kind in ("multi", "single"):
        src, pixels = files[kind]
        for i, want in enumerate(pixels):
            tif = naming.series_output_path(out / naming.output_path(naming.stem(src)), i)
            assert rows[(src.name, i)]["output"] == str(tif)
            np.testing.assert_array_equal(stack_of(tif), want)
            if kind == "multi":
                with tifffile.TiffFile(src) as t:
                    np.testing.assert_array_equal(stack_of(tif), t.series[i].asarray())
    assert not (out / "two.ome.tif").exists() and not (out / "two_s2.ome.tif").exists()
    # a file whose series cannot be listed fails alone, in one line; a series that cannot
    # be converted is named in its reason
    junk = files["junk"][0]
    assert rows[("junk.ome.tif", None)]["reason"] == f"{junk}: not a TIFF file (and not .npy or .zarr)"
    assert f"failed: {junk}: not a TIFF file" in text.err
    broken = files["truncated"][0]
    assert rows[("broken.tif", 0)]["reason"].startswith(f"{broken} [series 0]: file is truncated")
    assert "Traceback" not in text.err
    assert text.err.startswith("4 file(s), 4 image series: 0 already converted, 4 to convert")
    # progress lines and the table name each series
    src = files["multi"][0]
    assert f"converting {src} [series 1]" in text.err
    assert f"done {src} [series 1] -> {out / 'two_s1.ome.tif'}" in text.err
    table = [ln for ln in text.out.splitlines() if ln.startswith(("done", "failed"))]
    assert len(table) == 5
    assert any(f"{src} [series 1]" in ln and "two_s1.ome.tif" in ln for ln in table)
    assert "renamed" not in text.out
    doc = json.loads(report.read_text())
    assert doc["totals"]["input_bytes_converted"] == (
        src.stat().st_size + files["single"][0].stat().st_size
    )  # each input counted once

    # a second run skips every series already converted, and converts one that is gone
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(args) == 1
    capsys.readouterr()
    assert {k: r["status"] for k, r in series_rows(report).items()} == {
        ("two.ome.tif", 0): "skipped",
        ("two.ome.tif", 1): "skipped",
        ("one.npy", 0): "skipped",
        ("broken.tif", 0): "failed",
        ("junk.ome.tif", None): "failed",
    }
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes
    broken.unlink()
    junk.unlink()
    (out / "two_s1.ome.tif").unlink()
    assert main(args) == 0
    text = capsys.readouterr()
    assert {k: r["status"] for k, r in series_rows(report).items()} == {
        ("two.ome.tif", 0): "skipped",
        ("two.ome.tif", 1): "done",
        ("one.npy", 0): "skipped",
    }
    assert "3 file(s): 1 done, 2 skipped, 0 failed" in text.out
    np.testing.assert_array_equal(stack_of(out / "two_s1.ome.tif"), files["multi"][1][1])

    # without --all-series, an input is one row, its first series, as before
    assert main(["batch", str(src), "-o", str(tmp_path / "plain"), "--report", str(report)]) == 0
    capsys.readouterr()
    assert list(series_rows(report)) == [("two.ome.tif", None)]
    np.testing.assert_array_equal(stack_of(tmp_path / "plain" / "two.ome.tif"), files["multi"][1][0])


def test_series_and_all_series_together_is_a_usage_error(tmp_path, capsys):
    np.save(tmp_path / "a.npy", ramp((20, 20), "uint16"))
    with pytest.raises(SystemExit) as exit_:
        main(["batch", str(tmp_path / "a.npy"), "-o", str(tmp_path / "out"), "--series", "0", "--all-series"])
    assert exit_.value.code == 2
    usage, error = capsys.readouterr().err.splitlines()
    assert usage.startswith("usage: napari-viv batch ")
    assert error.startswith("napari-viv batch: error: ")
    assert "--all-series" in error and "--series" in error and "not allowed with" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_finished_files_and_leaves_nothing_of_the_unfinished(tmp_path, signum):
    src = tmp_path / "in"
    src.mkdir()
    first, second = ramp((300, 300), "uint16", seed=1), ramp((2, 1024, 1024), "uint16", seed=2)
    np.save(src / "a_first.npy", first)
    # the second input stalls mid-file: its second plane's third chunk is a named pipe
    stall = StallingZarr(src / "b_second.zarr", second, chunks=(1, 256, 1024), stall_at=(1, 2, 0))
    np.save(src / "c_third.npy", ramp((100, 100), "uint16", seed=3))
    out, report = tmp_path / "out", tmp_path / "r.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "napari_viv",
            "batch",
            str(src),
            "-o",
            str(out),
            "--tile-size",
            "128",
            "--report",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stall.wait_for_reader(lambda: [proc.pid], proc)
        proc.send_signal(signum)
        stall.replace()
        stall.release()  # the blocked read completes; the conversion then sees the signal
        stdout, err = proc.communicate(timeout=60)
    finally:
        stall.close()
    assert proc.returncode == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err
    assert statuses(report) == {"a_first.npy": "done", "b_second.zarr": "interrupted", "c_third.npy": "interrupted"}
    assert written_names(out) == {"a_first.ome.tif", "a_first.offsets.json"}
    np.testing.assert_array_equal(stack_of(out / "a_first.ome.tif"), first)
    # the same command goes on where it stopped
    rc, stdout, err = batch_cli(src, "-o", out, "--tile-size", "128", "--report", report)
    assert rc == 0, err
    assert statuses(report) == {"a_first.npy": "skipped", "b_second.zarr": "done", "c_third.npy": "done"}
    np.testing.assert_array_equal(stack_of(out / "b_second.ome.tif"), second)


def test_overall_progress_counts_an_input_of_several_series_once(tmp_path):
    import io

    from napari_viv.batch.runner import Progress, plan_batch

    files = make_series_inputs(tmp_path / "in")
    multi, single = files["multi"][0], files["single"][0]
    rows = plan_batch([multi, single], tmp_path / "out", all_series=True)
    assert [r.input for r in rows] == [multi, multi, single]  # two series, then one
    progress = Progress(rows, "lines", stream=io.StringIO())
    assert progress.total_bytes == multi.stat().st_size + single.stat().st_size
    for row in rows:
        progress.started(row)
        progress.update(row, 10, 10)
    assert round(progress.bytes_done) == progress.total_bytes
