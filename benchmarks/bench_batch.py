"""Batch benchmark: files and GB per minute for many LuCa-like files, and the scheduler's cost.

For FILES LuCa-like images (7 x SIZE x SIZE uint16 ``.npy``, see
make_luca_like.py; one is rendered, the others are copies) it times, each as
the real console command in a fresh process (interpreter start-up included,
as a user pays it):

* loop        - a shell loop of ``napari-viv convert`` (the baseline)
* batch       - ``napari-viv batch DIR -o OUT`` (one file at a time, all cores)
* batch-j2    - ``napari-viv batch --jobs 2`` (two files side by side)
* cluster-2x1 - ``batch --scheduler tcp://...``: a ``dask scheduler`` and two
                ``dask worker --nthreads 1`` (started before, not timed; each
                file is encoded with both cores)
* cluster-1x2 - the same with one ``dask worker --nthreads 2`` (two files at
                once in one process, one encoding thread each)

and the scheduler's overhead per file: TINY 64x64 files through a 1-thread
worker, (batch wall time from the report - the tasks' own conversion
times) / TINY, against the same for ``batch`` without a scheduler.
Results go to benchmarks/results/batch.json and, with ``--docs``, to the
batch section of docs/benchmarks.md.

    python benchmarks/bench_batch.py                  # 8 files of 4096², one round (~3 min)
    python benchmarks/bench_batch.py --repeat 3 --docs   # the recorded run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

BIN = Path(sys.executable).parent
NAPARI_VIV = str(BIN / "napari-viv")
DASK = str(BIN / "dask")
BEGIN, END = "<!-- batch-benchmark:begin -->", "<!-- batch-benchmark:end -->"


def machine() -> dict:
    import dask
    import distributed

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "unknown",
    )
    mem = next(
        (
            int(ln.split()[1]) / 1024 / 1024
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem, 1),
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "dask": dask.__version__,
        "distributed": distributed.__version__,
    }


def make_inputs(folder: Path, size: int, files: int) -> list[Path]:
    from make_luca_like import make

    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "luca_00.npy"
    if not first.exists():
        make(first, size)
    paths = [first]
    for i in range(1, files):
        p = folder / f"luca_{i:02d}.npy"
        if not p.exists() or p.stat().st_size != first.stat().st_size:
            shutil.copyfile(first, p)
        paths.append(p)
    return paths


class Cluster:
    """`dask scheduler` + `dask worker` processes on 127.0.0.1 (started by us, ended by id)."""

    def __init__(self, folder: Path, workers: int, nthreads: int):
        self.folder, self.n, self.nthreads = folder, workers, nthreads
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        sched = self.folder / "scheduler.json"
        sched.unlink(missing_ok=True)
        log = open(self.folder / "cluster.log", "a")
        self.procs.append(
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched),
                ],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
        while not sched.exists():
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(sched.read_text())["address"]
        for i in range(self.n):
            self.procs.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        "--scheduler-file",
                        str(sched),
                        "--nthreads",
                        str(self.nthreads),
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{i}",
                    ],
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(self.address) as c:
            c.wait_for_workers(self.n, timeout=120)
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            p.wait(timeout=60)


def timed(cmd, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(args) -> dict:
    data = Path(args.data or HERE / "data" / f"batch_{args.size}")
    inputs = make_inputs(data, args.size, args.files)
    gb = sum(p.stat().st_size for p in inputs) / 1e9
    work = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=args.scratch))
    info = {"machine": machine(), "size": args.size, "files": args.files, "input_gb": round(gb, 3), "runs": {}}
    out = work / "out"
    loop = f'for f in "$0"/*.npy; do b=$(basename "$f" .npy); {NAPARI_VIV} convert "$f" "$1/$b.ome.tif" || exit 1; done'
    runs = {
        "loop": ["bash", "-c", loop, str(data), str(out)],
        "batch": [NAPARI_VIV, "batch", str(data), "-o", str(out)],
        "batch-j2": [NAPARI_VIV, "batch", str(data), "-o", str(out), "--jobs", "2"],
    }
    # Both clusters stay up (idle) the whole time, so the runs can be interleaved:
    # round after round of every run, keeping each run's fastest (the machine is shared).
    with Cluster(work / "c2x1", 2, 1) as c2x1, Cluster(work / "c1x2", 1, 2) as c1x2:
        runs["cluster-2x1"] = runs["batch"] + ["--scheduler", c2x1.address]
        runs["cluster-1x2"] = runs["batch"] + ["--scheduler", c1x2.address]
        times = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, cmd in runs.items():
                times[name].append(timed(cmd, out))
                print(f"{name}: {times[name][-1]:.1f} s", flush=True)
    for name, ts in times.items():
        info["runs"][name] = {"seconds": round(min(ts), 2), "all": [round(t, 2) for t in ts]}
    for r in info["runs"].values():
        r["files_per_min"] = round(args.files / r["seconds"] * 60, 2)
        r["gb_per_min"] = round(gb / r["seconds"] * 60, 3)

    # scheduler overhead per file: tiny files, so conversion time is small
    tiny = work / "tiny"
    tiny.mkdir()
    rng = np.random.default_rng(0)
    for i in range(args.tiny):
        np.save(tiny / f"t{i:03d}.npy", rng.integers(0, 4000, (64, 64)).astype("uint16"))

    def overhead(extra) -> dict:
        report = work / "tiny.json"
        timed(
            [NAPARI_VIV, "batch", str(tiny), "-o", str(work / "tiny_out"), "--report", str(report), *extra],
            work / "tiny_out",
        )
        doc = json.loads(report.read_text())
        total = doc["totals"]["seconds"]
        inside = sum(f["seconds"] for f in doc["files"])
        return {
            "batch_seconds": total,
            "task_seconds": round(inside, 3),
            "overhead_per_file": round((total - inside) / args.tiny, 4),
        }

    info["overhead_local"] = overhead([])
    with Cluster(work / "c1x1", 1, 1) as c:
        overhead(["--scheduler", c.address])  # warm the worker's imports
        info["overhead_cluster"] = overhead(["--scheduler", c.address])
    print("overhead per file:", info["overhead_local"], info["overhead_cluster"])
    info["machine"]["loadavg_end"] = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)
    return info


def markdown(info: dict) -> str:
    m = info["machine"]
    r = info["runs"]
    loop = r["loop"]["seconds"]
    lines = [
        f"{info['files']} LuCa-like files of 7 x {info['size']}² uint16 "
        f"({info['input_gb']:.2f} GB of input), default options (zlib level 1, 512-px tiles).",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
        f"{m['loadavg_start'][0]:.1f} at start, {m['loadavg_end'][0]:.1f} at end. "
        f"Each time is the fastest of {len(r['loop']['all'])} interleaved round(s). "
        f"Python {m['python']}, dask {m['dask']}, distributed {m['distributed']}.",
        "",
        "| run | what runs | time (s) | files/min | GB/min | loop time / this |",
        "|---|---|---:|---:|---:|---:|",
    ]
    what = {
        "loop": "shell loop of `napari-viv convert`",
        "batch": "`napari-viv batch` (one file at a time, all cores)",
        "batch-j2": "`napari-viv batch --jobs 2`",
        "cluster-2x1": "`batch --scheduler`, two 1-thread workers",
        "cluster-1x2": "`batch --scheduler`, one 2-thread worker",
    }
    for name, row in r.items():
        lines.append(
            f"| {name} | {what[name]} | {row['seconds']:.1f} | "
            f"{row['files_per_min']:.1f} | {row['gb_per_min']:.2f} | "
            f"{loop / row['seconds']:.2f} |"
        )
    lo, cl = info["overhead_local"], info["overhead_cluster"]
    lines += [
        "",
        f"Overhead per file ({info.get('tiny', 32)} files of 64 x 64, one 1-thread worker): "
        f"{cl['overhead_per_file'] * 1000:.0f} ms through the scheduler "
        f"({cl['batch_seconds']:.2f} s of batch, {cl['task_seconds']:.2f} s inside the tasks), "
        f"{lo['overhead_per_file'] * 1000:.0f} ms without one.",
    ]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--tiny", type=int, default=32, help="files for the overhead run")
    ap.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    ap.add_argument("--data", default=None, help="input folder (default benchmarks/data/)")
    ap.add_argument("--scratch", default=None, help="where outputs go (default: /tmp)")
    ap.add_argument("--docs", action="store_true", help="rewrite the section in docs/benchmarks.md")
    args = ap.parse_args(argv)
    info = run(args)
    info["tiny"] = args.tiny
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "batch.json").write_text(json.dumps(info, indent=2) + "\n")
    text = markdown(info)
    print(text)
    if args.docs:
        doc = ROOT / "docs" / "benchmarks.md"
        body = doc.read_text()
        if BEGIN in body and END in body:
            head, rest = body.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
        else:
            print(f"{doc}: no {BEGIN} ... {END} markers; not rewritten", file=sys.stderr)


if __name__ == "__main__":
    main()
