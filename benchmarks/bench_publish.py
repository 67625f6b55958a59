"""Publish versus a bare upload of the same files, to a local S3 server (moto, server mode).

Makes (or reuses) the LuCa-like image, exports it, starts moto's S3 server in
its own process on 127.0.0.1, then times, alternately and ``--repeat`` times:

- bare: s3fs ``put_file`` of the export's files (image, offsets, view), each
  with s3fs's own multipart concurrency, to a fresh prefix;
- publish: ``napari_viv.publish.publish()`` of the same export to a fresh
  prefix: checksums, the destination check, the probe, the same files plus the
  viewer and the page, ACLs, and the checks over HTTP.

    python benchmarks/bench_publish.py --size 8192 [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    """Start moto's S3 server in its own process and wait until it answers."""
    code = (
        "from moto.server import ThreadedMotoServer; import time; "
        f"s = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False); s.start(); "
        "time.sleep(10**6)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("MOTO_LOG", os.devnull), "w"),  # noqa: SIM115 - the child keeps it open
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto did not start")


def main() -> None:
    """Run the comparison and print one line per run and the ratio of the medians."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    args = ap.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)

    import s3fs
    from make_luca_like import make

    from napari_viv import export_pyramid, naming, open_image
    from napari_viv.publish import PublishOptions, StoreOptions, publish

    npy = args.data / f"luca_{args.size}.npy"
    if not npy.exists():
        make(npy, args.size)
    export = args.data / f"luca_{args.size}.ome.tif"
    if not export.exists():
        src = open_image(npy, streaming=True)
        export_pyramid(src.levels[0], export, metadata=src.metadata)
    # The export and its sidecars only: the data folder also holds bench_export's uncompressed
    # luca_<size>.ome.tiff (bfconvert's input), which publish does not upload either.
    files = [p for p in [export, *naming.sidecar_paths(export)] if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"files: {[p.name for p in files]}, {total / 1e6:.0f} MB")

    times: dict[str, list[float]] = {"bare": [], "publish": []}
    for run in range(args.repeat):
        for kind in ("bare", "publish") if run % 2 == 0 else ("publish", "bare"):
            # A fresh server for every upload: moto slows down as it serves more (measured: the
            # same upload took 19 s, then 31 s, then 36 s on one server), and even a fresh server
            # per pair favoured whichever kind ran first (0.82-0.99 against 1.27-1.52).
            port = free_port()
            moto = start_moto(port)
            endpoint = f"http://127.0.0.1:{port}"
            try:
                fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
                fs.mkdir("bench")
                prefix = f"bench/{kind}-{run}"
                started = time.perf_counter()
                if kind == "bare":
                    for p in files:
                        fs.put_file(str(p), f"{prefix}/{p.name}")
                else:
                    publish([export], f"s3://{prefix}", PublishOptions(store=StoreOptions(endpoint_url=endpoint)))
                took = time.perf_counter() - started
                times[kind].append(took)
                print(f"run {run} {kind}: {took:.2f} s ({total / took / 1e6:.0f} MB/s)", flush=True)
            finally:
                moto.kill()
                moto.wait()
        ratio = times["publish"][-1] / times["bare"][-1]
        print(f"run {run}: publish / bare = {ratio:.3f}, load average {os.getloadavg()[0]:.1f}", flush=True)
    ratios = sorted(p / b for p, b in zip(times["publish"], times["bare"], strict=True))
    print(f"publish / bare per run: {', '.join(f'{r:.3f}' for r in ratios)}; median {ratios[len(ratios) // 2]:.3f}")


if __name__ == "__main__":
    main()
