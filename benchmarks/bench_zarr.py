"""OME-Zarr export benchmark: napari-viv against ome-zarr-py, ngff-zarr and the codec's floor.

For a LuCa-like image (7 x SIZE x SIZE uint16, see make_luca_like.py) it
writes the same pyramid (2x2 levels down to one 512-px tile, 512-px
single-plane chunks, one codec for every run: ``--codec blosc`` (Blosc zstd
level 1 with bit-shuffle and 256 KiB blocks, napari-viv's Zarr default and
the default here) or ``--codec zlib`` (zlib level 1)) with, each in a fresh
Python process so peak RSS is per run:

* napari-viv 0.4 / 0.5 - ``open_image(.npy)`` + ``export_pyramid(format="ome-zarr")``
  (what ``napari-viv convert in.npy out.ome.zarr`` does; 0.5 with 4096-px shards)
* ome-zarr-py - ``write_image`` of a dask array over the memory map (its default
  downsampling), NGFF 0.4
* ngff-zarr   - ``to_ngff_image`` + ``to_multiscales(method=ITKWASM_BIN_SHRINK)``
  (local means, as ours) + ``to_ngff_zarr``, NGFF 0.4 (with ``--codec zlib`` it
  writes gzip level 1: the same deflate, as its writer offers no zlib)
* floor       - every tile of every level already in RAM, encoded with the same
  codec by a thread pool on all cores; no reading, downsampling or writing
* floor with files - the same, each encoded chunk also written to its own
  file in the NGFF 0.4 layout (folders made once, one open/write/close per
  chunk): what any writer of this store must do besides reading and halving
* reading and halving - no encoding or writing: every level-0 pixel read
  once from the memory map and halved down the levels (napari-viv's own
  2 x 2 means, a channel per thread). With the floor with files it gives
  the least CPU time any writer of this store spends:
  CPU(floor with files) + CPU(reading and halving)

at SIZE, and napari-viv 0.4 again at 2*SIZE (4x the pixels) for its peak RSS.
Prints a Markdown table and JSON (benchmarks/zarr_results.json for the
default codec, zarr_results_zlib.json for zlib; ``--tag T`` adds ``_T``).

    python benchmarks/bench_zarr.py --size 4096 --repeat 3                                   # stores on this disk
    python benchmarks/bench_zarr.py --size 4096 --repeat 3 --work /dev/shm/zarr_out --tag tmpfs
    python benchmarks/bench_zarr.py --size 4096 --repeat 3 --codec zlib                      # zlib:1 for all
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from bench_export import Span, best_of, ensure_data, hwm_mb, machine, pyramid_levels  # noqa: E402 - the same helpers as the TIFF bench

TILE = 512
SHARD = 4096
#: Seconds a run may take before it is stopped and reported as timed out.
TIMEOUT = 900


def _nlevels(size: int) -> int:
    n = 1
    while size > TILE:
        size //= 2
        n += 1
    return n


#: --codec: napari-viv's compression spec for each choice (the same codec the peers get).
#: blosc3 and blosc5 (Blosc zstd at levels 3 and 5) show how the ratios to the peer and
#: to the floor move as the codec costs more.
CODECS = {"zlib": "zlib:1", "blosc": "blosc-zstd:1", "blosc3": "blosc-zstd:3", "blosc5": "blosc-zstd:5"}


def default_codec() -> str:
    """Give the --codec matching napari-viv's default Zarr compression."""
    from napari_viv.write.codecs import DEFAULT_ZARR_COMPRESSION, parse_zarr_spec

    default = parse_zarr_spec(DEFAULT_ZARR_COMPRESSION)
    return next(name for name, spec in CODECS.items() if parse_zarr_spec(spec) == default)


def _numcodecs(codec, *, gzip=False):
    """Give the numcodecs compressor the peers write: the codec napari-viv writes for ``codec``.

    ``gzip``: zlib's deflate in a gzip wrapper (the same deflate, 18 bytes
    more per chunk), for ngff-zarr, whose writer offers gzip but not zlib.
    """
    import numcodecs

    from napari_viv.write.codecs import BLOSC_BLOCKSIZE, BLOSC_SHUFFLE, parse_zarr_spec

    name, level = parse_zarr_spec(CODECS[codec])
    if name == "zlib":
        return numcodecs.GZip(level=level) if gzip else numcodecs.Zlib(level=level)
    return numcodecs.Blosc(
        cname=name.removeprefix("blosc-"), clevel=level, shuffle=BLOSC_SHUFFLE, blocksize=BLOSC_BLOCKSIZE
    )


def child_napari_viv(src, out, ngff, codec):
    from napari_viv.read import open_image
    from napari_viv.write.writer import export_pyramid

    with Span() as span:
        image = open_image(src, streaming=True)
        export_pyramid(
            image.levels[0],
            out,
            metadata=image.metadata,
            tile_size=TILE,
            format="ome-zarr",
            compression=CODECS[codec],
            ngff=ngff,
            shard_size=SHARD if ngff == "0.5" else None,
            overwrite=True,
        )
    return span.result()


def child_ome_zarr_py(src, out, _, codec):
    import dask.array as da
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    with Span() as span:
        data = np.load(src, mmap_mode="r")
        arr = da.from_array(data, chunks=(1, TILE, TILE))
        group = zarr.open_group(out, mode="w", zarr_format=2)
        factors = tuple(2**i for i in range(1, _nlevels(data.shape[-1])))
        write_image(
            arr,
            group,
            axes="cyx",
            fmt=FormatV04(),
            scale_factors=factors,
            storage_options={"chunks": (1, TILE, TILE), "compressor": _numcodecs(codec)},
        )
    return span.result()


def child_ngff_zarr(src, out, _, codec):
    import dask.array as da
    from ngff_zarr import Methods, to_multiscales, to_ngff_image, to_ngff_zarr

    with Span() as span:
        data = np.load(src, mmap_mode="r")
        image = to_ngff_image(da.from_array(data, chunks=(1, TILE, TILE)), dims=["c", "y", "x"])
        factors = [2**i for i in range(1, _nlevels(data.shape[-1]))]
        multiscales = to_multiscales(
            image, scale_factors=factors, method=Methods.ITKWASM_BIN_SHRINK, chunks={"c": 1, "y": TILE, "x": TILE}
        )
        to_ngff_zarr(out, multiscales, version="0.4", compressor=_numcodecs(codec, gzip=True))
    return span.result()


def _pyramid_tiles(src):
    """Give every tile of every level in RAM, zero-padded to full size, with its NGFF 0.4 chunk key."""
    tiles = []
    for n, lv in enumerate(pyramid_levels(np.array(np.load(src, mmap_mode="r")))):
        for c, plane in enumerate(lv):
            for y in range(0, plane.shape[0], TILE):
                for x in range(0, plane.shape[1], TILE):
                    t = np.zeros((TILE, TILE), plane.dtype)
                    part = plane[y : y + TILE, x : x + TILE]
                    t[: part.shape[0], : part.shape[1]] = part
                    tiles.append((f"{n}/{c}/{y // TILE}/{x // TILE}", t))
    return tiles


def child_floor(src, out, _, codec):
    from concurrent.futures import ThreadPoolExecutor

    from napari_viv.write.codecs import choose_codec

    tiles = [t for _, t in _pyramid_tiles(src)]
    enc = choose_codec(CODECS[codec], tiles[0].dtype, container="zarr")
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(enc.encode, tiles[:64]))  # warm up the pool and the codec
        with Span() as span:
            sizes = list(pool.map(lambda t: len(enc.encode(t)), tiles))
    Path(out).write_text(json.dumps({"bytes": sum(sizes), "tiles": len(tiles)}))
    return span.result()


def _chunk_writer(root: Path, keys):
    """Make the chunk folders of ``keys`` once; give a function writing one chunk's bytes under its key."""
    for folder in {os.path.dirname(k) for k in keys}:
        os.makedirs(root / folder, exist_ok=True)

    def write(key, data):
        fd = os.open(root / key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    return write


def child_floor_files(src, out, _, codec):
    """Time the floor plus the store's files: encode every chunk and write it to its own file (NGFF 0.4 layout)."""
    from concurrent.futures import ThreadPoolExecutor

    from napari_viv.write.codecs import choose_codec

    tiles = _pyramid_tiles(src)
    enc = choose_codec(CODECS[codec], tiles[0][1].dtype, container="zarr")

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(enc.encode, [t for _, t in tiles[:64]]))  # warm up the pool and the codec
        with Span() as span:
            write = _chunk_writer(Path(out), [k for k, _ in tiles])
            list(pool.map(lambda item: write(item[0], enc.encode(item[1])), tiles))
    return span.result()


def child_read_halve(src, out, _, codec):
    """Time reading and halving alone: every level-0 pixel read once from the memory map, every level halved."""
    from concurrent.futures import ThreadPoolExecutor

    from napari_viv.write.downsample import halve

    mapped = np.load(src, mmap_mode="r")
    nlevels = _nlevels(mapped.shape[-1])

    def channel(c):  # napari-viv's own 2 x 2 means, straight from the memory map, down to one tile
        level = mapped[c]
        for _ in range(1, nlevels):
            level = halve(level)
        return level.shape

    with ThreadPoolExecutor(os.cpu_count()) as pool, Span() as span:
        list(pool.map(channel, range(mapped.shape[0])))
    Path(out).write_text(json.dumps({"bytes": 0}))
    return span.result()


CHILDREN = {
    "napari-viv": child_napari_viv,
    "ome-zarr-py": child_ome_zarr_py,
    "ngff-zarr": child_ngff_zarr,
    "floor": child_floor,
    "floor with files": child_floor_files,
    "reading and halving": child_read_halve,
}


def _bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return json.loads(path.read_text())["bytes"] if path.is_file() else 0


def run_child(kind, src, out, arg="", codec="zlib"):
    """Run one measurement in a fresh interpreter; return its report (seconds, cpu_s, peak_rss_mb, bytes)."""
    out = Path(out)
    if out.is_dir():
        shutil.rmtree(out)
    out.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", kind, "--src", str(src), "--out", str(out), "--arg", arg]
    cmd += ["--codec", codec]
    load = os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {
            "seconds": float("inf"),
            "cpu_s": float("nan"),
            "peak_rss_mb": float("nan"),
            "bytes": 0,
            "load_before": round(load, 1),
            "timed_out": TIMEOUT,
        }
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed: {proc.stderr.strip()[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report.update(bytes=_bytes(out), load_before=round(load, 1), raw_bytes=int(np.load(src, mmap_mode="r").nbytes))
    return report


def child_main(kind, src, out, arg, codec):
    import importlib

    for name in ("zarr", "numcodecs", "napari_viv.read", "napari_viv.write.writer"):
        importlib.import_module(name)
    seconds, cpu = CHILDREN[kind](src, out, arg, codec)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": hwm_mb("self")}))


def seed_luca(codec, work):
    """Time napari-viv at the seed's LuCa size (bioformats2raw published 50 s for 0.4, 122-150 s for 0.5)."""
    from make_luca_like import make

    src = HERE / "data" / "luca_seed_12480x17280.npy"
    if not src.exists():
        print(f"generating {src} ...", flush=True)
        make(src, 12480, width=17280)
    work.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "shape": [7, 12480, 17280], "codec": CODECS[codec], "out": str(work)}
    for ngff in ("0.4", "0.5"):
        results[f"napari-viv {ngff}"] = run_child("napari-viv", src, work / f"seed_{ngff}.ome.zarr", ngff, codec)
        print(ngff, results[f"napari-viv {ngff}"], flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    (HERE / _results_name("zarr_seed_results", codec)).write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def _results_name(stem: str, codec: str, tag: str = "") -> str:
    """``stem[_TAG].json`` for napari-viv's default codec, ``stem_CODEC[_TAG].json`` for another."""
    name = stem if codec == default_codec() else f"{stem}_{codec}"
    return f"{name}_{tag}.json" if tag else f"{name}.json"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--child")
    ap.add_argument("--src")
    ap.add_argument("--out")
    ap.add_argument("--arg", default="")
    ap.add_argument(
        "--codec",
        choices=sorted(CODECS),
        default=None,
        help="the codec of every run: zlib (zlib:1), blosc (blosc zstd:1, bit-shuffle), blosc3 or blosc5 "
        "(blosc zstd:3 or :5); default: napari-viv's Zarr default",
    )
    ap.add_argument("--skip", default="", help="comma-separated runs to leave out")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs of each kind: the fastest, with the largest peak RSS (default 1)"
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=HERE / "data" / "zarr_out",
        help="folder for the stores (e.g. /dev/shm/zarr_out to leave the disk's file system out)",
    )
    ap.add_argument("--tag", default="", help="suffix of the results file, e.g. tmpfs: zarr_results_tmpfs.json")
    ap.add_argument("--seed-luca", action="store_true", help="napari-viv 0.4 and 0.5 at 7 x 12480 x 17280 only")
    args = ap.parse_args()
    codec = args.codec or default_codec()
    if args.child:
        child_main(args.child, args.src, args.out, args.arg, codec)
        return
    if args.seed_luca:
        seed_luca(codec, args.work)
        return
    skip = set(filter(None, args.skip.split(",")))
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    src = ensure_data(args.size)
    runs = [
        ("napari-viv 0.4", "napari-viv", "0.4"),
        ("napari-viv 0.5", "napari-viv", "0.5"),
        ("ome-zarr-py", "ome-zarr-py", ""),
        ("ngff-zarr", "ngff-zarr", ""),
        ("floor", "floor", ""),
        ("floor with files", "floor with files", ""),
        ("reading and halving", "reading and halving", ""),
    ]
    results = {
        "machine": machine(),
        "size": args.size,
        "codec": CODECS[codec],
        "raw_bytes": int(np.load(src, mmap_mode="r").nbytes),
        "out": str(work),
        "repeat": args.repeat,
    }
    for label, kind, arg in runs:
        if label in skip:
            continue
        out = work / (
            f"{kind.replace(' ', '_')}.json"
            if kind in ("floor", "reading and halving")
            else f"{kind.replace(' ', '_')}_{arg or 'x'}.ome.zarr"
        )
        results[label] = best_of(functools.partial(run_child, kind, src, out, arg, codec), args.repeat)
        print(label, results[label], flush=True)
    if "4x" not in skip:
        big = ensure_data(args.size * 2)
        big_out = work / "big.ome.zarr"
        results["napari-viv 0.4 at 4x pixels"] = best_of(
            lambda: run_child("napari-viv", big, big_out, "0.4", codec), args.repeat
        )
        print("4x", results["napari-viv 0.4 at 4x pixels"], flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    (HERE / _results_name("zarr_results", codec, args.tag)).write_text(json.dumps(results, indent=2) + "\n")
    print(f"codec: {CODECS[codec]} for every run")
    print("| run | wall s | CPU s | peak RSS MB | size / raw | load before |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        if isinstance(r, dict) and "seconds" in r:
            print(
                f"| {label} | {r['seconds']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | "
                f"{r['bytes'] / r['raw_bytes']:.3f} | {r['load_before']} |"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
