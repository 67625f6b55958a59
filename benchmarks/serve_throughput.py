"""Serving throughput: `napari-viv serve` against `http-server --cors` (npm 14.1.1).

Viv's access pattern: random 64 KiB ranges (bytes=a-(a+65536)), 32 keep-alive
clients, over an uncompressed ~270 MB OME-TIFF. The load generator is
benchmarks/node/load.mjs, a separate Node process using the same seed (so
the same offsets) for both servers; every response is checked (206, length,
Content-Range). Both servers run as subprocesses on 127.0.0.1; rounds
alternate between them; the server process's CPU time is recorded too.

    npm ci --prefix benchmarks/node          # http-server 14.1.1 from the lockfile
    python benchmarks/serve_throughput.py [--seconds 8] [--rounds 3] [--clients 32]

Prints a Markdown table and writes benchmarks/results/serve_throughput.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import psutil
import tifffile

HERE = Path(__file__).resolve().parent
NODE = HERE / "node"
HTTP_SERVER = NODE / "node_modules" / "http-server" / "bin" / "http-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(folder: Path, channels: int) -> Path:
    """Write an uncompressed tiled OME-TIFF of random uint16 (~67 MB per channel)."""
    path = folder / "bench.ome.tif"
    rng = np.random.default_rng(0)
    data = rng.integers(0, 65535, (channels, 8192, 4096), dtype=np.uint16)
    tifffile.imwrite(path, data, tile=(512, 512), bigtiff=True, metadata={"axes": "CYX"})
    return path


def wait_ready(port: int, name: str, proc, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("HEAD", f"/{name}")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError("server did not come up")


def server_command(kind: str, path: Path, port: int) -> list[str]:
    if kind == "napari-viv":
        return [sys.executable, "-m", "napari_viv", "serve", str(path), "--port", str(port)]
    return ["node", str(HTTP_SERVER), str(path.parent), "-a", "127.0.0.1", "-p", str(port), "--cors", "-s", "-c-1"]


def pinned(cpu: int | None):
    """preexec_fn pinning a child to one CPU (server and load generator apart)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def load(port: int, name: str, size: int, args, seconds: float) -> dict:
    out = subprocess.run(
        [
            "node",
            str(NODE / "load.mjs"),
            f"http://127.0.0.1:{port}/{name}",
            str(size),
            "--clients",
            str(args.clients),
            "--seconds",
            str(seconds),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
        preexec_fn=pinned(args.load_cpu),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_one(kind: str, path: Path, args) -> dict:
    port = free_port()
    proc = subprocess.Popen(
        server_command(kind, path, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=pinned(args.server_cpu),
    )
    try:
        wait_ready(port, path.name, proc)
        size = path.stat().st_size
        load(port, path.name, size, args, 2.0)  # warm-up, discarded
        ps = psutil.Process(proc.pid)
        cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in [ps, *ps.children(recursive=True)])
        result = load(port, path.name, size, args, args.seconds)
        cpu1 = sum(p.cpu_times().user + p.cpu_times().system for p in [ps, *ps.children(recursive=True)])
        result["server_cpu_s"] = cpu1 - cpu0
        result["server"] = kind
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def machine() -> dict:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "aiohttp": metadata.version("aiohttp"),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--channels", type=int, default=4, help="file size: ~67 MB per channel")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "serve_throughput.json")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="pin the server to one CPU and the load generator to another (fair only on an otherwise idle machine)",
    )
    args = ap.parse_args()
    can_pin = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    if not args.pin or not can_pin:
        args.server_cpu = args.load_cpu = None
    else:
        cpus = sorted(os.sched_getaffinity(0))
        args.server_cpu, args.load_cpu = cpus[0], cpus[1]
    if not HTTP_SERVER.exists():
        subprocess.run(["npm", "ci", "--prefix", str(NODE), "--no-audit", "--no-fund"], check=True)
    before = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="napari-viv-bench-") as folder:
        path = make_file(Path(folder), args.channels)
        path.read_bytes()  # into the page cache for both servers alike
        for r in range(args.rounds):
            order = ["napari-viv", "http-server"] if r % 2 == 0 else ["http-server", "napari-viv"]
            for kind in order:
                res = run_one(kind, path, args)
                res["round"] = r
                results.append(res)
                print(json.dumps(res), file=sys.stderr)
        file_mb = path.stat().st_size / 1e6
    after = machine()
    summary = {}
    for kind in ("napari-viv", "http-server"):
        rows = [x for x in results if x["server"] == kind]
        summary[kind] = {
            key: float(np.median([x[key] for x in rows]))
            for key in ("mb_per_s", "req_per_s", "p50_ms", "p99_ms", "server_cpu_s")
        }
        summary[kind]["errors"] = sum(x["errors"] for x in rows)
        summary[kind]["req_per_s_range"] = (min(x["req_per_s"] for x in rows), max(x["req_per_s"] for x in rows))
        summary[kind]["cpu_ms_per_request"] = float(
            np.median([1000 * x["server_cpu_s"] / max(1, x["requests"]) for x in rows])
        )
        summary[kind]["cpu_share"] = float(np.median([x["server_cpu_s"] / x["seconds"] for x in rows]))
    report = {
        "file_mb": file_mb,
        "clients": args.clients,
        "seconds": args.seconds,
        "pinned": args.server_cpu is not None,
        "rounds": args.rounds,
        "machine_before": before,
        "machine_after": after,
        "summary": summary,
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(
        f"file {file_mb:.0f} MB, {args.clients} clients, 64 KiB random ranges, "
        f"{args.rounds} x {args.seconds:g} s per server (median)"
    )
    print(
        f"machine: {before['cpu']}, {before['cores']} cores, load average "
        f"{before['loadavg'][0]:.2f} before / {after['loadavg'][0]:.2f} after; "
        f"Python {before['python']}, aiohttp {before['aiohttp']}, Node {before['node']}"
    )
    print("server pinned to one CPU, load generator to another" if report["pinned"] else "not pinned")
    print(
        "| server | MB/s | requests/s (min-max) | p50 ms | p99 ms "
        "| server CPU ms/request | server CPU s per s | errors |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind, s in summary.items():
        lo, hi = s["req_per_s_range"]
        print(
            f"| {kind} | {s['mb_per_s']:.0f} | {s['req_per_s']:.0f} ({lo:.0f}-{hi:.0f}) | "
            f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['cpu_ms_per_request']:.2f} | "
            f"{s['cpu_share']:.2f} | {s['errors']} |"
        )
    ratio = summary["napari-viv"]["req_per_s"] / summary["http-server"]["req_per_s"]
    print(f"napari-viv / http-server, requests/s (medians): {ratio:.2f}")
    for r in range(args.rounds):
        pair = {x["server"]: x["req_per_s"] for x in results if x["round"] == r}
        print(f"  round {r}: {pair['napari-viv'] / pair['http-server']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
