"""Export benchmark: napari-viv against the encoding floor, a naive writer and bfconvert.

For a LuCa-like image (7 x SIZE x SIZE uint16, see make_luca_like.py) it runs,
each in a fresh Python (or Java) process so peak RSS is per run:

* export   - ``open_image(.npy)`` + ``export_pyramid`` (what ``napari-viv convert`` does)
* export-raw - ``export_pyramid`` fed the memory map directly (no dask; first codec only)
* export-tif - the same as export, from the uncompressed OME-TIFF that bfconvert reads
* naive    - the whole level in RAM, numpy 2x2 means, tifffile writes tiles
             with SubIFDs on all cores (what a short script would do)
* floor    - every tile of every level already in RAM, encoded with the same
             imagecodecs calls (predictor + codec) by a thread pool on all
             cores; no reading, downsampling or writing
* bfconvert - Bio-Formats ImageConverter from the OME-TIFF (when java and the
             jar are there; NAPARI_VIV_BIOFORMATS_JAR or .cache/bioformats/)

and peak RSS of the default export at SIZE and 2*SIZE (4x the pixels).
Results go to benchmarks/export_results.json and, with ``--docs``, to the
export section of docs/benchmarks.md.

    python benchmarks/bench_export.py --size 4096            # quick (a few minutes)
    python benchmarks/bench_export.py --size 8192 --docs     # the full run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

CODECS = ["zlib:1", "zlib:6", "lzw", "none"]
TILE = 512
BEGIN, END = "<!-- export-benchmark:begin -->", "<!-- export-benchmark:end -->"


# --- the measured runs (each in its own process) ------------------------------------
# Each returns (wall seconds, CPU seconds of this process over the same span).
# CPU time (user + system, all threads) is the steadier number on a shared
# machine: it counts work done, not time spent waiting for a core.


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Span:
    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.cpu = _cpu() - self.c0

    def result(self):
        return self.seconds, self.cpu


def child_export(src, out, codec):
    from napari_viv.read import open_image
    from napari_viv.write.writer import export_pyramid

    with Span() as span:
        image = open_image(src, streaming=True)  # as napari-viv convert does
        export_pyramid(
            image.levels if len(image.levels) > 1 else image.levels[0],
            out,
            metadata=image.metadata,
            tile_size=TILE,
            compression=codec,
            overwrite=True,
        )
    return span.result()


def child_export_raw(src, out, codec):
    """Feed the writer the .npy memory map directly (no open_image, no dask): isolates the source."""
    from napari_viv.write.writer import export_pyramid

    with Span() as span:
        export_pyramid(np.load(src, mmap_mode="r"), out, axes="CYX", tile_size=TILE, compression=codec, overwrite=True)
    return span.result()


def pyramid_levels(level0):
    """Mean 2x2 pyramid (floor sizes) down to one tile, all in RAM."""
    levels = [level0]
    while max(levels[-1].shape[-2:]) > TILE:
        a = levels[-1]
        h, w = a.shape[-2] // 2 * 2, a.shape[-1] // 2 * 2
        a = a[..., :h, :w].astype(np.uint32)
        s = a[..., 0::2, 0::2] + a[..., 1::2, 0::2] + a[..., 0::2, 1::2] + a[..., 1::2, 1::2]
        levels.append(((s + 2) // 4).astype(level0.dtype))
    return levels


def _tiff_codec(codec):
    name, _, level = codec.partition(":")
    if name == "none":
        return {"compression": None}
    if name == "zlib":
        return {"compression": "zlib", "compressionargs": {"level": int(level or 1)}, "predictor": True}
    return {"compression": "lzw", "predictor": True}


def child_naive(src, out, codec):
    import tifffile

    with Span() as span:
        level0 = np.array(np.load(src, mmap_mode="r"))
        levels = pyramid_levels(level0)
        kw = dict(tile=(TILE, TILE), photometric="minisblack", maxworkers=os.cpu_count(), **_tiff_codec(codec))
        with tifffile.TiffWriter(out, bigtiff=True) as tw:
            tw.write(levels[0], subifds=len(levels) - 1, metadata={"axes": "CYX"}, **kw)
            for lv in levels[1:]:
                tw.write(lv, subfiletype=1, metadata=None, **kw)
    return span.result()


def child_floor(src, out, codec):
    from concurrent.futures import ThreadPoolExecutor

    from napari_viv.write.codecs import choose_codec

    level0 = np.array(np.load(src, mmap_mode="r"))
    tiles = []
    for lv in pyramid_levels(level0):
        for plane in lv:
            for y in range(0, plane.shape[0], TILE):
                for x in range(0, plane.shape[1], TILE):
                    t = np.zeros((TILE, TILE), plane.dtype)
                    part = plane[y : y + TILE, x : x + TILE]
                    t[: part.shape[0], : part.shape[1]] = part
                    tiles.append(t)
    del level0
    enc = choose_codec(codec, tiles[0].dtype)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(enc.encode, tiles[:64]))  # warm up the pool and the codec
        with Span() as span:
            sizes = list(pool.map(lambda t: len(enc.encode(t)), tiles))
    Path(out).write_text(json.dumps({"bytes": sum(sizes), "tiles": len(tiles)}))
    return span.result()


CHILDREN = {"export": child_export, "export-raw": child_export_raw, "naive": child_naive, "floor": child_floor}


#: Runs per measurement; the fastest is reported (its peak RSS is the largest
#: seen). Set by --repeat.
REPEAT = 1


def best_of(measure, repeat=None):
    """Call ``measure()`` ``repeat`` times (default REPEAT); return the fastest run's report.

    Its peak RSS is the highest of all runs.
    """
    reports = [measure() for _ in range(max(1, REPEAT if repeat is None else repeat))]
    best = dict(min(reports, key=lambda r: r["seconds"]))
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in reports)
    best["runs"] = [round(r["seconds"], 2) for r in reports]
    return best


def run_child(kind, src, out, codec):
    """Run one measurement in fresh interpreters (best of REPEAT); return its report."""
    return best_of(lambda: _run_child_once(kind, src, out, codec))


def _run_child_once(kind, src, out, codec):
    # Remove the previous run's output first: deleting a big file takes a
    # while and is not part of an export.
    Path(out).unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", kind, "--src", str(src), "--out", str(out), "--codec", codec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {codec} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_main(kind, src, out, codec):
    # Imports are start-up cost, paid once per command; keep them out of the spans.
    import importlib

    # (dask is not among them: the export streams without it, see open_image(streaming=True))
    for name in ("tifffile", "zarr", "napari_viv.read", "napari_viv.write.writer"):
        importlib.import_module(name)

    seconds, cpu = CHILDREN[kind](src, out, codec)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": hwm_mb("self")}))


def hwm_mb(pid) -> float:
    """Peak RSS (VmHWM) of a live process, in MB.

    Not ``ru_maxrss``: Linux carries the parent's peak across fork + exec,
    so a child started by a big parent would report the parent's size.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- bfconvert ------------------------------------------------------------------------


def find_jar():
    for cand in (os.environ.get("NAPARI_VIV_BIOFORMATS_JAR"), ROOT / ".cache/bioformats/bioformats_package.jar"):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def run_bfconvert(jar, src_tif, out, codec, nlevels):
    return best_of(lambda: _run_bfconvert_once(jar, src_tif, out, codec, nlevels))


def bfconvert_command(jar, src, out, nlevels, compression, tile=TILE) -> list[str]:
    """Build bfconvert's command for a tiled BigTIFF pyramid (the peer of every export benchmark)."""
    return [
        "java",
        "-Xmx8g",
        "-cp",
        str(jar),
        "loci.formats.tools.ImageConverter",
        "-noflat",
        "-pyramid-resolutions",
        str(nlevels),
        "-pyramid-scale",
        "2",
        "-tilex",
        str(tile),
        "-tiley",
        str(tile),
        "-compression",
        compression,
        "-bigtiff",
        str(src),
        str(out),
    ]


def _run_bfconvert_once(jar, src_tif, out, codec, nlevels):
    comp = {"lzw": "LZW", "zlib:6": "zlib", "zlib:1": "zlib", "none": "Uncompressed"}[codec]
    if out.exists():
        out.unlink()
    return watch(bfconvert_command(jar, src_tif, out, nlevels, comp))[0]


def watch(cmd):
    """Run ``cmd``; return ({seconds, cpu_s, peak_rss_mb}, stdout).

    Peak RSS is sampled from /proc (VmHWM only grows) until the process exits;
    a failure raises.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0.0
    while True:
        with contextlib.suppress(OSError, ValueError):  # the process may be gone
            peak = max(peak, hwm_mb(proc.pid))
        done, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {err.strip()[-1500:]}")
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak}, out


# --- orchestration -------------------------------------------------------------------


def machine():
    import dask
    import imagecodecs
    import tifffile

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) / 1024 / 1024
    java = None
    if shutil.which("java"):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
        java = out.splitlines()[0] if out else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem, 1),
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "tifffile": tifffile.__version__,
        "imagecodecs": imagecodecs.__version__,
        "dask": dask.__version__,
        "numpy": np.__version__,
        "java": java,
    }


def ensure_data(size):
    from make_luca_like import make

    npy = HERE / "data" / f"luca_{size}.npy"
    if not npy.exists():
        print(f"generating {npy} ...", flush=True)
        make(npy, size)
    return npy


def ensure_tif(npy):
    from make_luca_like import write_ome_tiff

    tif = npy.with_suffix(".ome.tiff")
    if not tif.exists():
        print(f"writing {tif} ...", flush=True)
        write_ome_tiff(npy, tif)
    return tif


def bench(size, codecs, *, bfconvert=True, naive=True, rss_scale=True, bf_codecs=("lzw", "zlib:6")):
    info = machine()
    npy = ensure_data(size)
    raw0 = np.load(npy, mmap_mode="r").nbytes
    work = HERE / "data" / "out"
    work.mkdir(parents=True, exist_ok=True)
    results = {
        "size": size,
        "shape": list(np.load(npy, mmap_mode="r").shape),
        "raw_bytes": raw0,
        "machine": info,
        "runs": [],
    }

    def record(kind, codec, rep, out_file=None, extra=None):
        row = {"kind": kind, "codec": codec, "size": size, **rep}
        row["mb_per_s"] = raw0 / 1e6 / rep["seconds"]
        if out_file is not None and Path(out_file).exists():
            row["bytes"] = Path(out_file).stat().st_size
            row["ratio"] = row["bytes"] / raw0
        row.update(extra or {})
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
        return row

    nlevels = None
    for codec in codecs:
        out = work / f"export_{codec.replace(':', '')}.ome.tif"
        rep = run_child("export", npy, out, codec)
        record("export", codec, rep, out)
        if nlevels is None:
            import tifffile

            with tifffile.TiffFile(out) as t:
                nlevels = 1 + len(t.pages.first.subifds or ())
        if codec == codecs[0]:
            out_r = work / "export_raw.ome.tif"
            record("export-raw", codec, run_child("export-raw", npy, out_r, codec), out_r)
            out_r.unlink(missing_ok=True)
            (work / "export_raw.offsets.json").unlink(missing_ok=True)
        if codec != "none":
            fl = work / "floor.json"
            rep = run_child("floor", npy, fl, codec)
            extra = json.loads(fl.read_text())
            record("floor", codec, rep, None, {"bytes": extra["bytes"], "ratio": extra["bytes"] / raw0})
        if naive:
            out_n = work / f"naive_{codec.replace(':', '')}.ome.tif"
            rep = run_child("naive", npy, out_n, codec)
            record("naive", codec, rep, out_n)
            out_n.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        (work / f"export_{codec.replace(':', '')}.offsets.json").unlink(missing_ok=True)

    jar = find_jar()
    if bfconvert and jar and shutil.which("java"):
        tif = ensure_tif(npy)
        for codec in ("zlib:1", *bf_codecs):
            out = work / f"export_tif_{codec.replace(':', '')}.ome.tif"
            rep = run_child("export", tif, out, codec)
            record("export-tif", codec, rep, out)
            out.unlink(missing_ok=True)
            out.with_name(out.name.replace(".ome.tif", ".offsets.json")).unlink(missing_ok=True)
            if codec not in bf_codecs:
                continue
            bf_out = work / f"bf_{codec.replace(':', '')}.ome.tif"
            rep = run_bfconvert(jar, tif, bf_out, codec, nlevels)
            record("bfconvert", codec, rep, bf_out, {"levels": nlevels})
            bf_out.unlink(missing_ok=True)
    elif bfconvert:
        results["bfconvert_skipped"] = "java or bioformats_package.jar not found"

    if rss_scale:
        big = ensure_data(size * 2)
        out = work / "export_big.ome.tif"
        rep = run_child("export", big, out, "zlib:1")
        raw_big = np.load(big, mmap_mode="r").nbytes
        row = {
            "kind": "export",
            "codec": "zlib:1",
            "size": size * 2,
            **rep,
            "mb_per_s": raw_big / 1e6 / rep["seconds"],
            "bytes": out.stat().st_size,
            "ratio": out.stat().st_size / raw_big,
        }
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
        out.unlink(missing_ok=True)
        out.with_name("export_big.offsets.json").unlink(missing_ok=True)

    info["loadavg_end"] = os.getloadavg()
    return results


def summarize(results):
    """Ratios the targets are stated in."""
    runs = results["runs"]
    size = results["size"]

    def get(kind, codec, s=size):
        for r in runs:
            if r["kind"] == kind and r["codec"] == codec and r["size"] == s:
                return r
        return None

    out = {}
    for codec in sorted({r["codec"] for r in runs}):
        e, f, n = get("export", codec), get("floor", codec), get("naive", codec)
        et, b = get("export-tif", codec), get("bfconvert", codec)
        row = {}
        if e and f:
            row["export_over_floor"] = e["seconds"] / f["seconds"]
            row["export_over_floor_cpu"] = e["cpu_s"] / f["cpu_s"]
        if e and n:
            row["export_over_naive"] = e["seconds"] / n["seconds"]
            row["naive_rss_over_export_rss"] = n["peak_rss_mb"] / e["peak_rss_mb"]
        if b and et:
            row["bfconvert_over_export"] = b["seconds"] / et["seconds"]
            row["bfconvert_over_export_cpu"] = b["cpu_s"] / et["cpu_s"]
        d = get("export-tif", "zlib:1")
        if b and d:
            row["bfconvert_over_default_export"] = b["seconds"] / d["seconds"]
        out[codec] = row
    small, big = get("export", "zlib:1"), get("export", "zlib:1", 2 * size)
    if small and big:
        out["rss_growth_2x_size"] = big["peak_rss_mb"] / small["peak_rss_mb"]
    results["summary"] = out
    return out


def markdown(results):
    m = results["machine"]
    lines = [
        f"Image: LuCa-like {' x '.join(map(str, results['shape']))} uint16 "
        f"({results['raw_bytes'] / 1e9:.2f} GB raw), tiles {TILE}, pyramid down to one tile.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
        f"{m['loadavg_start'][0]:.1f} at start, {m.get('loadavg_end', [float('nan')])[0]:.1f} at end. "
        f"Each row is the fastest of {results.get('repeat', 1)} run(s) (peak RSS: the largest). "
        f"Python {m['python']}, tifffile {m['tifffile']}, imagecodecs {m['imagecodecs']}, "
        f"dask {m['dask']}, numpy {m['numpy']}, {m['java'] or 'no java'}.",
        "",
        "| run | codec | pixels | time (s) | CPU (s) | MB/s | peak RSS (MB) | size / raw level 0 |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else ""
        lines.append(
            f"| {r['kind']} | {r['codec']} | {r['size']}² | {r['seconds']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['mb_per_s']:.0f} | {r['peak_rss_mb']:.0f} | {ratio} |"
        )
    lines += [
        "",
        "| codec | export / floor (wall) | export / floor (CPU) | export / naive | "
        "naive RSS / export RSS | bfconvert / export-tif, same codec (wall, CPU) | "
        "bfconvert / default export-tif |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for codec, row in results["summary"].items():
        if not isinstance(row, dict):
            continue

        def f(key, row=row):
            return f"{row[key]:.2f}" if key in row else "–"

        bf = (
            f"{f('bfconvert_over_export')}, {f('bfconvert_over_export_cpu')}" if "bfconvert_over_export" in row else "–"
        )
        lines.append(
            f"| {codec} | {f('export_over_floor')} | {f('export_over_floor_cpu')} | "
            f"{f('export_over_naive')} | {f('naive_rss_over_export_rss')} | {bf} | "
            f"{f('bfconvert_over_default_export')} |"
        )
    if "rss_growth_2x_size" in results["summary"]:
        lines += [
            "",
            f"Peak RSS of the default export at {2 * results['size']}² (4x the pixels) is "
            f"{results['summary']['rss_growth_2x_size']:.2f}x the RSS at {results['size']}².",
        ]
    return "\n".join(lines)


def write_docs(md_table, begin=BEGIN, end=END, heading=None):
    """Replace the generated block between ``begin`` and ``end`` in docs/benchmarks.md.

    The file is re-read right before writing; a missing block is appended under ``heading``.
    """
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else ""
    block = f"{begin}\n{md_table}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        title = f"## {heading}\n\n" if heading else ""
        text = text.rstrip() + "\n\n" + title + block + "\n"
    doc.write_text(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description="napari-viv export benchmark")
    ap.add_argument("--size", type=int, default=8192, help="edge of the LuCa-like image (4096 = quick)")
    ap.add_argument("--codecs", default=",".join(CODECS))
    ap.add_argument("--no-bfconvert", action="store_true")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-rss-scale", action="store_true", help="skip the 2*SIZE export")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is reported (default 1)")
    ap.add_argument("--json", default=str(HERE / "export_results.json"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--codec", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child, args.src, args.out, args.codec)
        return
    global REPEAT
    REPEAT = max(1, args.repeat)
    results = bench(
        args.size,
        args.codecs.split(","),
        bfconvert=not args.no_bfconvert,
        naive=not args.no_naive,
        rss_scale=not args.no_rss_scale,
    )
    results["repeat"] = REPEAT
    summarize(results)
    Path(args.json).write_text(json.dumps(results, indent=1))
    table = markdown(results)
    print(table)
    if args.docs:
        write_docs(table)


if __name__ == "__main__":
    main()
