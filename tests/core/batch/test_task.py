"""`napari-viv batch --scheduler` on a real dask.distributed cluster on 127.0.0.1.

The test starts `dask scheduler` and two `dask worker` processes (one thread
each, no nanny) and runs the real console command against them; every output
is opened by the real Viv loader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers.batch_files import StallingZarr, assert_viv_reads_it, make_mixed_inputs, make_series_inputs, written_names
from helpers.daskcluster import Cluster
from helpers.source_files import ramp

pytestmark = [pytest.mark.slow]

# The scheduler retries a file whose worker died once, then gives up on it.
ONE_RETRY = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}


def batch(*args, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "batch", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout, proc.stderr


def statuses(report):
    return {os.path.basename(r["input"]): r["status"] for r in json.loads(report.read_text())["files"]}


def rows_by_input(report):
    return {os.path.basename(r["input"]): r for r in json.loads(report.read_text())["files"]}


@pytest.mark.node
def test_mixed_batch_on_two_workers_opens_in_viv_and_second_run_skips(tmp_path, viv):
    files = make_mixed_inputs(tmp_path / "in")
    out, report = tmp_path / "out", tmp_path / "report.json"
    with Cluster(tmp_path / "cluster", workers=2, scheduler_env=ONE_RETRY) as cluster:
        rc, stdout, err = batch(
            tmp_path / "in", "--out-dir", out, "--scheduler", cluster.address, "--tile-size", "128", "--report", report
        )
        assert rc == 1, err  # the corrupt file failed; the others did not
        rows = rows_by_input(report)
        assert {n: r["status"] for n, r in rows.items()} == {
            "slide.ome.tif": "done",
            "slide.tif": "done",
            "plain.tiff": "done",
            "stack.npy": "done",
            "broken.tif": "failed",
        }
        assert "broken.tif: file is truncated" in rows["broken.tif"]["reason"]
        assert f"failed: {files['corrupt'][0]}: file is truncated" in err  # one line, named
        assert "Traceback" not in err
        assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in rows.values())
        # the same stem in two folders: renamed predictably, and said so
        assert rows["slide.ome.tif"]["output"].endswith("caseA_slide.ome.tif")
        assert rows["slide.tif"]["output"].endswith("caseB_slide.ome.tif")
        assert "caseA_slide.ome.tif" in stdout and "renamed" in stdout
        for kind in ("ome", "imagej", "plain", "npy"):
            src, pixels = files[kind]
            tif = next(p for p in (out.iterdir()) if p.name == os.path.basename(rows[src.name]["output"]))
            assert_viv_reads_it(viv, tif, level0=pixels)
        assert not (out / "broken.ome.tif").exists()
        assert not [n for n in written_names(out) if n.startswith(".")]  # no temporary files
        mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

        started = time.perf_counter()
        rc, stdout, err = batch(
            tmp_path / "in", "--out-dir", out, "--scheduler", cluster.address, "--tile-size", "128", "--report", report
        )
        again = time.perf_counter() - started
    assert rc == 1  # the corrupt file is tried again and fails again
    rows = rows_by_input(report)
    assert {n: r["status"] for n, r in rows.items() if n != "broken.tif"} == dict.fromkeys(
        ["slide.ome.tif", "slide.tif", "plain.tiff", "stack.npy"], "skipped"
    )
    assert all(r["worker"] == "" for n, r in rows.items() if n != "broken.tif")  # never sent
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes  # nothing rewritten
    print(f"second run: {again:.2f} s")
    # without the corrupt file, a run skips everything and succeeds; it needs no scheduler
    files["corrupt"][0].unlink()
    rc, stdout, err = batch(
        tmp_path / "in", "--out-dir", out, "--scheduler", cluster.address, "--tile-size", "128", "--report", report
    )
    assert rc == 0, err
    assert set(statuses(report).values()) == {"skipped"}
    assert "4 file(s): 0 done, 4 skipped, 0 failed" in stdout


def test_worker_killed_mid_file_is_retried_on_the_other_and_leaves_nothing(tmp_path):
    import numpy as np

    src = tmp_path / "in"
    src.mkdir()
    big = ramp((2, 2048, 2048), "uint16", seed=7)  # many tiles: the stall is mid-file
    # the first attempt stalls mid-file: a chunk of the second plane is a named pipe
    stall = StallingZarr(src / "big.zarr", big, chunks=(1, 256, 2048), stall_at=(1, 4, 0))
    np.save(src / "small.npy", ramp((1, 100, 120), "uint16", seed=8))
    out, report = tmp_path / "out", tmp_path / "report.json"
    with Cluster(tmp_path / "cluster", workers=2, scheduler_env=ONE_RETRY) as cluster:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "napari_viv",
                "batch",
                str(src),
                "--out-dir",
                str(out),
                "--scheduler",
                cluster.address,
                "--tile-size",
                "256",
                "--report",
                str(report),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            pid = stall.wait_for_reader(lambda: [w.pid for w in cluster.workers], proc)
            victim = next(w for w in cluster.workers if w.pid == pid)
            addresses = cluster.worker_addresses()  # pid -> address
            assert not (out / "big.ome.tif").exists()  # mid-file: tiles written, nothing published
            stall.replace()  # the retry reads a plain chunk file
            os.kill(pid, signal.SIGKILL)
            victim.wait(timeout=30)
        finally:
            stall.close()
        stdout, err = proc.communicate(timeout=240)
        survivor = next(w for w in cluster.workers if w.pid != pid)
        assert survivor.poll() is None
    assert proc.returncode == 0, err
    rows = rows_by_input(report)
    row = rows["big.zarr"]
    assert row["status"] == "done"
    assert row["attempts"] == 2
    assert "retried after a worker was lost" in row["reason"]
    assert "worker was lost" in err
    assert row["worker"] == addresses[survivor.pid]  # retried on the other worker
    assert rows["small.npy"]["status"] == "done"
    import tifffile

    with tifffile.TiffFile(out / "big.ome.tif") as t:
        np.testing.assert_array_equal(t.series[0].asarray(), big)
    assert written_names(out) == {"big.ome.tif", "big.offsets.json", "small.ome.tif", "small.offsets.json"}


def test_local_cluster(tmp_path):
    import numpy as np

    src = tmp_path / "in"
    src.mkdir()
    arrays = {f"s{i}": ramp((2, 200, 150 + i), "uint16", seed=i) for i in range(3)}
    for name, a in arrays.items():
        np.save(src / f"{name}.npy", a)
    out, report = tmp_path / "out", tmp_path / "r.json"
    rc, stdout, err = batch(src, "-o", out, "--scheduler", "local", "--jobs", "2", "--report", report)
    assert rc == 0, err
    rows = rows_by_input(report)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in rows.values())
    import tifffile

    for name, a in arrays.items():
        with tifffile.TiffFile(out / f"{name}.ome.tif") as t:
            np.testing.assert_array_equal(t.series[0].asarray(), a)


def test_local_cluster_all_series_one_task_per_series(tmp_path):
    import numpy as np
    import tifffile

    files = make_series_inputs(tmp_path / "in")
    out, report = tmp_path / "out", tmp_path / "r.json"
    rc, stdout, err = batch(
        tmp_path / "in", "-o", out, "--scheduler", "local", "--jobs", "2", "--all-series", "--report", report
    )
    assert rc == 1, err  # the truncated and the unreadable file
    rows = {(os.path.basename(r["input"]), r["series"]): r for r in json.loads(report.read_text())["files"]}
    assert {k: r["status"] for k, r in rows.items()} == {
        ("two.ome.tif", 0): "done",
        ("two.ome.tif", 1): "done",
        ("one.npy", 0): "done",
        ("broken.tif", 0): "failed",
        ("junk.ome.tif", None): "failed",
    }
    assert "broken.tif [series 0]: file is truncated" in rows[("broken.tif", 0)]["reason"]
    assert all(
        rows[k]["worker"].startswith("tcp://127.0.0.1:")
        for k in [("two.ome.tif", 0), ("two.ome.tif", 1), ("one.npy", 0)]
    )
    for kind, stem in (("multi", "two"), ("single", "one")):
        for i, want in enumerate(files[kind][1]):
            with tifffile.TiffFile(out / f"{stem}_s{i}.ome.tif") as t:
                np.testing.assert_array_equal(t.series[0].asarray(), want)
