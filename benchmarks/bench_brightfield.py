"""Brightfield benchmark: JPEG, tile copy and lossless on a slide-like 8-bit RGB image.

The source is an SVS-like pyramid level 0: SIZE x SIZE RGB, 512-px JPEG tiles
(YCbCr, 2x2 subsampling, quality 90, as slide scanners write), with H&E-like
texture from napari_viv.sample.render_he_block (a 4096-px rendered field
repeated; rendering 30000^2 pixels of it would take half an hour).

Each run is a fresh process (peak RSS per run, VmHWM):

* zlib      - lossless (the default for non-JPEG input): export_pyramid(..., "zlib")
* jpeg      - re-encode level 0 and the levels below as JPEG (quality 85)
* copy      - level-0 JPEG tiles copied byte for byte, lower levels computed
              (what ``napari-viv convert`` does for this input)
* bfconvert - Bio-Formats ImageConverter -compression JPEG (when java and the jar are there)

PSNR is measured against the decoded source on 16 tiles spread over level 0,
and on the whole of level 3 against an 8x block mean of the decoded source.
Results go to benchmarks/results/brightfield.json and, with --docs,
to docs/benchmarks.md.

    python benchmarks/bench_brightfield.py --size 8192              # quick
    python benchmarks/bench_brightfield.py --size 30720 --docs      # the issue's size

``--vs-libvips`` runs the comparison with libvips instead (issue 21; see
benchmarks/bench_slides.py, which needs ``pip install "napari-viv[bench]"``).
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

TILE = 512
#: Children of the libvips comparison (benchmarks/bench_slides.py).
PEER_KINDS = ("convert", "convert-mean", "before", "libvips")
BASE = 4096
BEGIN, END = "<!-- brightfield-benchmark:begin -->", "<!-- brightfield-benchmark:end -->"


def make_source(path: Path, size: int, tile: int = TILE) -> Path:
    """Make the SVS-like JPEG source (cached in benchmarks/data), in ``tile``-px JPEG tiles."""
    import tifffile

    from napari_viv.sample import synthetic_he

    if path.exists():
        return path
    base = synthetic_he(BASE, seed=7)
    n = size // tile

    def tiles():
        import imagecodecs

        for r in range(n):
            for c in range(n):
                y, x = (r * tile) % BASE, (c * tile) % BASE
                yield imagecodecs.jpeg8_encode(
                    base[y : y + tile, x : x + tile],
                    level=90,
                    colorspace="rgb",
                    outcolorspace="ycbcr",
                    subsampling=(2, 2),
                )

    tmp = path.with_suffix(".part")
    with tifffile.TiffWriter(tmp, bigtiff=True) as tw:
        tw.write(
            tiles(),
            shape=(n * tile, n * tile, 3),
            dtype=np.uint8,
            tile=(tile, tile),
            compression=7,
            photometric="ycbcr",
            subsampling=(2, 2),
            metadata=None,
            description="Aperio Image Library v12.0.15\r\nsynthetic H&E |MPP = 0.25",
        )
    tmp.rename(path)
    return path


# --- children ------------------------------------------------------------------------------


def child(kind: str, src: str, out: str, tile: str = str(TILE)) -> None:
    from bench_slides import peer_job

    job = peer_job(kind, src, out, int(tile)) if kind in PEER_KINDS else None
    t0 = time.perf_counter()  # the interpreter and the peers' imports excluded
    c0 = os.times()
    if job is not None:
        job()
    else:
        own_child(kind, src, out)
    c1 = os.times()
    seconds = time.perf_counter() - t0
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    from bench_export import hwm_mb

    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": hwm_mb("self")}))


def own_child(kind: str, src: str, out: str) -> None:
    from napari_viv import export_pyramid, open_image
    from napari_viv.read.jpeg import jpeg_level0

    source = open_image(src, streaming=True)
    kwargs = {"metadata": source.metadata, "tile_size": TILE, "overwrite": True}
    if kind == "zlib":
        export_pyramid(source.levels[0], out, compression="zlib", **kwargs)
    elif kind == "jpeg":
        export_pyramid(source.levels[0], out, compression="jpeg", **kwargs)
    elif kind == "copy":
        tiles, why = jpeg_level0(src)
        assert tiles is not None, why
        export_pyramid(source.levels[0], out, compression="jpeg", copy_level0=tiles, **kwargs)


def _watch(cmd) -> dict:
    """``bench_export.watch``, with the export's own timing when a child prints it."""
    from bench_export import watch

    report, out = watch(cmd)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if lines:  # our children time the export alone (not the interpreter start)
        peak = report["peak_rss_mb"]
        report.update(json.loads(lines[-1]))
        report["peak_rss_mb"] = max(report["peak_rss_mb"], peak)
    return report


def run_ours(kind, src, out) -> dict:
    return _watch([sys.executable, __file__, "--child", kind, str(src), str(out)])


def run_bfconvert(jar, src, out, nlevels) -> dict:
    from bench_export import bfconvert_command

    if out.exists():
        out.unlink()
    return _watch(bfconvert_command(jar, src, out, nlevels, "JPEG", tile=TILE))


# --- quality -----------------------------------------------------------------------------


def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def quality(src: Path, out: Path) -> dict:
    """PSNR of level 0 (16 tiles) and level 3 (whole) against the decoded source."""
    import tifffile

    with tifffile.TiffFile(src) as s, tifffile.TiffFile(out) as o:
        ref = s.series[0].levels[0].asarray()  # the whole decoded source
        levels = o.series[0].levels
        got = levels[0].asarray()
        h = ref.shape[0]
        spots = np.linspace(0, h - TILE, 4).astype(int) // TILE * TILE
        a = np.concatenate([ref[y : y + TILE, x : x + TILE] for y in spots for x in spots])
        b = np.concatenate([got[y : y + TILE, x : x + TILE] for y in spots for x in spots])
        del got
        result = {"psnr_level0_db": round(psnr(a, b), 2)}
        if len(levels) > 3:
            small = levels[3].asarray().astype(np.float32)
            step = 8
            hh, ww = small.shape[0] * step, small.shape[1] * step
            ref3 = (
                ref[:hh, :ww]
                .astype(np.float32)
                .reshape(small.shape[0], step, small.shape[1], step, 3)
                .mean(axis=(1, 3))
            )
            result["psnr_level3_db"] = round(psnr(ref3, small), 2)
    return result


# --- orchestration ------------------------------------------------------------------------


def bench(size: int, *, bf: bool = True, repeat: int = 1) -> dict:
    from bench_export import find_jar, machine

    data = HERE / "data"
    data.mkdir(exist_ok=True)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    src = make_source(data / f"he_{size}.svs", size)
    made = time.perf_counter() - t0
    results = {
        "size": size,
        "source_bytes": src.stat().st_size,
        "source_seconds": made,
        "machine": machine(),
        "repeat": repeat,
        "runs": {},
    }
    kinds = ("zlib", "jpeg", "copy")
    # rounds interleave the kinds; each keeps its fastest run (the machine is shared)
    tries = {kind: [] for kind in kinds}
    for r in range(repeat):
        for kind in kinds:
            rep = run_ours(kind, src, data / f"he_{size}_{kind}.ome.tif")
            tries[kind].append(rep)
            print(f"round {r + 1}", kind, rep, flush=True)
    for kind in kinds:
        out = data / f"he_{size}_{kind}.ome.tif"
        rep = dict(min(tries[kind], key=lambda t: t["seconds"]))
        rep["all_seconds"] = [round(t["seconds"], 2) for t in tries[kind]]
        rep["bytes"] = out.stat().st_size
        rep.update(quality(src, out))
        results["runs"][kind] = rep
        print(kind, rep, flush=True)
    jar = find_jar()
    if bf and jar is not None:
        import tifffile

        with tifffile.TiffFile(data / f"he_{size}_copy.ome.tif") as t:
            nlevels = 1 + len(t.pages[0].subifds or ())
        out = data / f"he_{size}_bfconvert.ome.tif"
        try:
            rep = run_bfconvert(jar, src, out, nlevels)
            rep["bytes"] = out.stat().st_size
            rep.update(quality(src, out))
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal
            rep = {"error": str(exc)[-300:]}
        results["runs"]["bfconvert"] = rep
        print("bfconvert", rep, flush=True)
    (out_dir / "brightfield.json").write_text(json.dumps(results, indent=1))
    return results


def _all(run: dict) -> str:
    times = run.get("all_seconds") or []
    return f" ({', '.join(f'{t:.1f}' for t in times)})" if len(times) > 1 else ""


def _reason(error: str) -> str:
    """Return the last exception message of a Java stack trace (or the text), on one line."""
    causes = [ln.strip() for ln in error.splitlines() if "Exception:" in ln or "Error:" in ln]
    text = causes[-1] if causes else error
    return " ".join(text.replace("|", "/").split())[:160]


def to_markdown(res: dict) -> str:
    runs = res["runs"]
    z, j, c = runs["zlib"], runs["jpeg"], runs["copy"]
    m = res["machine"]
    lines = [
        f"Slide-like 8-bit RGB, {res['size']} x {res['size']} (H&E-like texture), source: "
        f"SVS-like JPEG level 0, 512-px YCbCr 2x2 tiles, {res['source_bytes'] / 1e6:.0f} MB. "
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores. Fresh processes; "
        + (
            f"the fastest of {res['repeat']} interleaved rounds (all times in brackets)."
            if res.get("repeat", 1) > 1
            else "one run each."
        ),
        "",
        "| run | wall s | CPU s | peak RSS MB | output MB | PSNR level 0 dB | PSNR level 3 dB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {_reason(r['error'])} | | | | | |")
            continue
        lines.append(
            f"| {name} | {r['seconds']:.1f}{_all(r)} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['bytes'] / 1e6:.0f} | {r.get('psnr_level0_db', '')} | {r.get('psnr_level3_db', '')} |"
        )
    lines += [
        "",
        f"- JPEG / lossless size: **{j['bytes'] / z['bytes']:.3f}x** (re-encode), "
        f"**{c['bytes'] / z['bytes']:.3f}x** (tile copy); goal at most 0.2x.",
        f"- Tile copy vs re-encode, wall time: **{j['seconds'] / c['seconds']:.2f}x** faster "
        f"(CPU {j['cpu_s'] / c['cpu_s']:.2f}x); goal at least 3x.",
        f"- Tile copy output / source size: {c['bytes'] / res['source_bytes']:.2f}x.",
    ]
    if "bfconvert" in runs and "error" not in runs["bfconvert"]:
        b = runs["bfconvert"]
        lines.append(
            f"- bfconvert -compression JPEG: {b['seconds'] / c['seconds']:.1f}x the tile "
            f"copy's wall time, {b['peak_rss_mb'] / c['peak_rss_mb']:.1f}x its peak RSS."
        )
    return "\n".join(lines)


def write_docs(res: dict) -> None:
    from bench_export import write_docs as write_block

    write_block(to_markdown(res), BEGIN, END, "Brightfield slides: JPEG and tile copy")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    if "--vs-libvips" in sys.argv:
        from bench_slides import main as vs_libvips

        vs_libvips([a for a in sys.argv[1:] if a != "--vs-libvips"])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--docs", action="store_true")
    ap.add_argument("--no-bfconvert", action="store_true")
    ap.add_argument(
        "--repeat", type=int, default=1, help="interleaved rounds of our three runs; each keeps its fastest"
    )
    args = ap.parse_args()
    size = args.size // TILE * TILE
    res = bench(size, bf=not args.no_bfconvert, repeat=args.repeat)
    print(to_markdown(res))
    if args.docs:
        write_docs(res)


if __name__ == "__main__":
    main()
