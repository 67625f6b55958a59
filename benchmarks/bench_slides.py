"""JPEG slides against libvips (issue 21): ``napari-viv convert`` and libvips's tiffsave.

Run through ``python benchmarks/bench_brightfield.py --vs-libvips [options]``
(or this file directly). Needs the peer: ``pip install "napari-viv[bench]"``
(pyvips + pyvips-binary: libvips 8.18 with no system library).

For each slide (synthetic SVS-like sources of --size, in --tile-px q90 YCbCr
4:2:0 JPEG tiles, and with --real the real SVS files), the kinds below run in
fresh processes, in alternated rounds; each keeps its fastest round. Times are
the conversion alone (the interpreter and imports excluded, for every kind:
pyvips, and the modules convert imports lazily, are imported before the clock
starts); "process s" is the whole child process, start-up included.

* convert      - ``napari-viv convert`` (default: level-0 tiles copied, level 1
                 by half-scale DCT decoding, the rest 2x2 means, JPEG q85)
* convert-mean - ``napari-viv convert --downsample mean`` (exact 2x2 means of
                 level 0 decoded on every core)
* before       - the conversion as it was before issue 21 (level 0 read through
                 tifffile's Zarr store, one tile after the other)
* libvips      - ``tiffsave(compression="jpeg", Q=85, tile=True, tile_width=T,
                 pyramid=True, subifd=True, bigtiff=True)``

Quality: PSNR of level 0 against the decoded source, and of level 1 against
the exact 2x2 mean of the decoded source (on up to 4096 x 4096 source pixels).
The decoding costs per tile (CPU, one thread) of the candidate bindings are
measured on the first synthetic slide.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

BEGIN, END = "<!-- slides-vs-libvips:begin -->", "<!-- slides-vs-libvips:end -->"
KINDS = ("convert", "convert-mean", "before", "libvips")
REAL_SVS = ("slide_CMU-1-Small-Region.svs",)
CROP = 4096


def peer_job(kind: str, src: str, out: str, tile: int):
    """Return one conversion of ``kind`` as a function, its modules already imported."""
    if kind == "libvips":
        import pyvips

        def job():
            im = pyvips.Image.new_from_file(src, access="sequential")
            im.tiffsave(
                out,
                compression="jpeg",
                Q=85,
                tile=True,
                tile_width=tile,
                tile_height=tile,
                pyramid=True,
                subifd=True,
                bigtiff=True,
            )

    elif kind == "before":
        from napari_viv import export_pyramid, open_image
        from napari_viv.read.jpeg import jpeg_level0

        def job():
            source = open_image(src, streaming=True)
            tiles, _ = jpeg_level0(src)
            export_pyramid(
                source.levels if len(source.levels) > 1 else source.levels[0],
                out,
                metadata=source.metadata,
                compression="jpeg",
                tile_size=tile,
                overwrite=True,
                copy_level0=tiles if tiles is not None and tiles.tile == tile else None,
            )

    else:
        # what convert imports lazily, imported before the clock starts
        import imagecodecs  # noqa: F401
        import simplejpeg  # noqa: F401
        import zarr  # noqa: F401

        import napari_viv.convert  # noqa: F401
        import napari_viv.read.jpeg_tiles  # noqa: F401
        import napari_viv.write.writer  # noqa: F401
        from napari_viv.cli import main

        extra = ["--downsample", "mean"] if kind == "convert-mean" else []

        def job():
            if main(["convert", src, out, "--overwrite", "--no-progress", "--tile-size", str(tile), *extra]) != 0:
                raise SystemExit(f"convert failed on {src}")

    return job


def _run(kind: str, src: Path, out: Path, tile: int) -> dict:
    from bench_export import watch

    if out.exists():
        out.unlink()
    report, text = watch(
        [sys.executable, str(HERE / "bench_brightfield.py"), "--child", kind, str(src), str(out), str(tile)]
    )
    process = report["seconds"]
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    peak = report["peak_rss_mb"]
    report.update(json.loads(lines[-1]))
    report["peak_rss_mb"] = max(peak, report["peak_rss_mb"])
    report["process_s"] = process
    return report


# --- quality -------------------------------------------------------------------------------


def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _crop(page, rows: int, cols: int) -> np.ndarray:
    """Read the top-left corner of a tifffile page (through its Zarr store, not all of it)."""
    import zarr

    with page.aszarr() as store:
        data = zarr.open_array(store, mode="r")[:rows, :cols]
    return np.moveaxis(data, 0, -1) if data.ndim == 3 and data.shape[0] == 3 else data


def _levels(tif) -> list:
    """Level pages, level 0 first: the series' levels, or SubIFDs (libvips)."""
    levels = [lv.pages[0] for lv in tif.series[0].levels]
    if len(levels) > 1:
        return levels
    return [tif.pages[0], *list(tif.pages[0].pages or [])]


def quality(src: Path, out: Path) -> dict:
    import tifffile

    with tifffile.TiffFile(src) as s, tifffile.TiffFile(out) as o:
        page = s.series[0].levels[0].pages[0]
        rows, cols = min(CROP, page.shape[0]) // 2 * 2, min(CROP, page.shape[1]) // 2 * 2
        ref = _crop(page, rows, cols).astype(np.float32)
        levels = _levels(o)
        result = {"psnr_level0_db": round(psnr(ref, _crop(levels[0], rows, cols)), 2)}
        mean = (ref[0::2, 0::2] + ref[1::2, 0::2] + ref[0::2, 1::2] + ref[1::2, 1::2]) / 4
        if len(levels) > 1:
            result["psnr_level1_db"] = round(psnr(mean, _crop(levels[1], rows // 2, cols // 2)), 2)
    return result


# --- the decoders, tile by tile -----------------------------------------------------------------


def decode_costs(src: Path, ntiles: int = 512) -> dict:
    """CPU ms per tile on one thread, and the wall time on every core, of each decoder."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import tifffile
    from PIL import Image

    from napari_viv.read.jpeg_tiles import half_decode

    with tifffile.TiffFile(src) as tif:
        page = tif.pages[0]
        n = min(ntiles, len(page.dataoffsets))
        data = [d for d, _ in tif.filehandle.read_segments(page.dataoffsets[:n], page.databytecounts[:n])]
        tables, th, tw = page.jpegtables, page.tilelength, page.tilewidth

        def pillow(mode):
            def run(d, i):
                im = Image.open(io.BytesIO(d if tables is None else tables[:-2] + d[2:]))
                im.draft(mode, (tw // 2, th // 2))
                return np.asarray(im)

            return run

        decoders = {
            "full (tifffile page.decode)": lambda d, i: page.decode(d, i, jpegtables=tables)[0],
            "half (simplejpeg, DCT scaled)": lambda d, i: half_decode(d, tables, (th, tw)),
            "half (Pillow draft, RGB)": pillow("RGB"),
            "half (Pillow draft, YCbCr)": pillow("YCbCr"),
        }
        out = {}
        for name, fn in decoders.items():
            c0 = time.thread_time()
            for i, d in enumerate(data):
                fn(d, i)
            cpu = (time.thread_time() - c0) / n * 1e3
            cores = len(os.sched_getaffinity(0))
            with ThreadPoolExecutor(cores) as pool:
                t0 = time.perf_counter()
                list(pool.map(fn, data, range(n)))
                wall = (time.perf_counter() - t0) / n * 1e3
            out[name] = {"cpu_ms": round(cpu, 3), "wall_ms_all_cores": round(wall, 3)}
    return out


# --- orchestration -----------------------------------------------------------------------------


def bench_one(src: Path, tile: int, repeat: int, work: Path) -> dict:
    tries = {kind: [] for kind in KINDS}
    for r in range(repeat):
        for kind in KINDS:
            rep = _run(kind, src, work / f"{src.stem}_{kind}.ome.tif", tile)
            tries[kind].append(rep)
            print(f"{src.name} round {r + 1} {kind}: {rep['seconds']:.2f} s", flush=True)
    runs = {}
    for kind in KINDS:
        out = work / f"{src.stem}_{kind}.ome.tif"
        rep = dict(min(tries[kind], key=lambda t: t["seconds"]))
        rep["all_seconds"] = [round(t["seconds"], 2) for t in tries[kind]]
        rep["bytes"] = out.stat().st_size
        rep.update(quality(src, out))
        runs[kind] = rep
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"source": src.name, "source_bytes": src.stat().st_size, "tile": tile, "runs": runs, "loadavg_after": load}


def to_markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, shared with other work "
        f"(load averages after each slide below). Fresh processes; the fastest of {res['repeat']} "
        "alternated rounds (all rounds in brackets); s excludes the interpreter start and imports, "
        "process s is the whole process in that round.",
        "",
        "| slide | run | s | process s | CPU s | peak RSS MB | output MB | PSNR L0 dB | PSNR L1 vs mean dB "
        "| speed vs libvips |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for one in res["slides"]:
        v = one["runs"]["libvips"]["seconds"]
        for kind, r in one["runs"].items():
            rounds = ", ".join(f"{t:.2f}" for t in r["all_seconds"])
            lines.append(
                f"| {one['source']} ({one['tile']}-px tiles) | {kind} | {r['seconds']:.2f} ({rounds}) | "
                f"{r['process_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | {r['bytes'] / 1e6:.1f} | "
                f"{r['psnr_level0_db']} | {r.get('psnr_level1_db', '')} | {v / r['seconds']:.2f}x |"
            )
    lines += [
        "",
        "Load average after each slide: "
        + "; ".join(f"{one['source']}: {' '.join(one['loadavg_after'])}" for one in res["slides"]),
    ]
    if res.get("decoders"):
        lines += [
            "",
            f"Decoding one tile of {res['decoders_source']} (first 512 tiles):",
            "",
            "| decoder | CPU ms per tile, one thread | wall ms per tile, all cores |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v['cpu_ms']} | {v['wall_ms_all_cores']} |" for k, v in res["decoders"].items()]
    return "\n".join(lines)


def main(argv=None) -> None:
    from bench_brightfield import make_source
    from bench_export import machine
    from bench_export import write_docs as write_block

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs="+", default=[16384], help="synthetic slides' edges")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--real", action="store_true", help="also the real SVS files (../shared/realfiles)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--docs", action="store_true")
    ap.add_argument("--from-json", type=Path, help="render a saved results file instead of running")
    args = ap.parse_args(argv)
    if args.from_json:
        text = to_markdown(json.loads(args.from_json.read_text()))
        print(text)
        if args.docs:
            write_block(text, BEGIN, END, "JPEG slides against libvips")
        return
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    sources = [
        make_source(data / f"he_{n // args.tile * args.tile}_{args.tile}.svs", n // args.tile * args.tile, args.tile)
        for n in args.size
    ]
    if args.real:
        folder = Path(os.environ.get("NAPARI_VIV_REALFILES", ROOT.parent / "shared" / "realfiles" / "files"))
        sources += [folder / name for name in REAL_SVS if (folder / name).is_file()]
    res = {"machine": machine(), "repeat": args.repeat, "slides": []}
    res["decoders_source"] = sources[0].name
    res["decoders"] = decode_costs(sources[0])
    for src in sources:
        res["slides"].append(bench_one(src, args.tile, args.repeat, data))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "slides_vs_libvips.json").write_text(json.dumps(res, indent=1))
    text = to_markdown(res)
    print(text)
    if args.docs:
        write_block(text, BEGIN, END, "JPEG slides against libvips")


if __name__ == "__main__":
    main()
