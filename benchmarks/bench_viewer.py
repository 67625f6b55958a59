"""Viewer benchmark: time to the first complete frame of our viewer in headless Chromium.

For each image and codec, the export is served by napari-viv's RangeServer and
opened by a fresh headless Chromium (software WebGL2, as in the tests) at the
link ``napari-viv serve`` prints. Measured:

* first frame - ``performance.now()`` when the page drew its first frame with
  every visible tile loaded (the page's own ``firstFrameMs``, i.e. from the
  start of navigation);
* requests and bytes - what the server sent until then (page, bundle and
  every Range request; the bundle alone is about 1.3 MB);

with and without ``offsets.json`` beside the file. Images: the demo sample
(6 x 2048² uint16) and a LuCa-like 7 x SIZE² uint16 export with each lossless
codec (zlib, lzw, none), and an H&E-like 4096² RGB slide with zlib and JPEG
(JPEG is for 8-bit data only). Results go to
benchmarks/results/viewer.json and, with --docs, to docs/benchmarks.md.

    python benchmarks/bench_viewer.py --size 4096            # quick
    python benchmarks/bench_viewer.py --size 8192 --docs     # the LuCa-like size of the issue
    python benchmarks/bench_viewer.py --timeline FILE.ome.tif  # where one load spends its time
    python benchmarks/bench_viewer.py --vs-bare --repeat 5     # our viewer against a bare Viv page

``--vs-bare`` builds the bare Viv page of benchmarks/bare_viv/ (loadOmeTiff,
getChannelStats, PictureInPictureViewer; same lockfile, node_modules and
esbuild flags as the viewer) and opens it and our viewer alternately, a fresh
browser each, on one 3 x 2048² uint16 export served by one site: the ratio of
the medians of the first frames is the figure of issue 21.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

CODECS = ("zlib", "lzw", "none")
RGB_CODECS = ("zlib", "jpeg")
RGB_SIZE = 4096
BEGIN, END = "<!-- viewer-benchmark:begin -->", "<!-- viewer-benchmark:end -->"
BARE_BEGIN, BARE_END = "<!-- viewer-vs-bare:begin -->", "<!-- viewer-vs-bare:end -->"
BARE = HERE / "bare_viv"


def exports(size: int) -> dict:
    """{(image, codec): path}, written once into benchmarks/data/viewer/."""
    import numpy as np

    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue

    folder = HERE / "data" / "viewer"
    folder.mkdir(parents=True, exist_ok=True)
    demo, demo_meta = synthetic_tissue(2048, 6)
    luca_npy = HERE / "data" / f"luca_{size}.npy"
    if not luca_npy.exists():
        from make_luca_like import make

        make(luca_npy, size)
    luca = np.load(luca_npy, mmap_mode="r")
    out = {}
    for image, data, meta in (("demo 6x2048²", demo, demo_meta), (f"LuCa-like 7x{size}²", luca, None)):
        for codec in CODECS:
            path = folder / f"{image.split()[0]}_{data.shape[-1]}_{codec}.ome.tif"
            if not path.exists():
                export_pyramid(data, path, compression=codec, metadata=meta)
            out[image, codec] = path
    he = None
    for codec in RGB_CODECS:
        path = folder / f"he_{RGB_SIZE}_{codec}.ome.tif"
        if not path.exists():
            if he is None:
                from napari_viv.sample import synthetic_he

                he = synthetic_he(RGB_SIZE)
            export_pyramid(he, path, axes="YXS", compression=codec, name="H&E-like")
        out[f"H&E-like RGB {RGB_SIZE}²", codec] = path
    return out


def first_frame(chromium: str, path: Path, offsets: bool, profile: Path) -> dict:
    from helpers.viewer_pages import run_page

    from napari_viv import RangeServer
    from napari_viv.naming import offsets_path

    side = offsets_path(path)
    hidden = side.with_name(side.name + ".hidden")
    if not offsets:
        side.rename(hidden)
    try:
        with RangeServer(path) as server:
            link = server.viewer_url_for(path)

            async def body(page):
                status = await page.wait_status(timeout=180)
                ms = await page.evaluate("window.__vivViewer?.firstFrameMs")
                return status, ms

            shutil.rmtree(profile, ignore_errors=True)  # a fresh, empty browser profile
            t0 = time.perf_counter()
            status, ms = run_page(chromium, profile, link, body)
            wall = time.perf_counter() - t0
            stats = server.stats
    finally:
        if hidden.exists():
            hidden.rename(side)
    if status != "ready":
        raise RuntimeError(f"{path.name}: the page ended in {status!r}")
    return {
        "first_frame_s": ms / 1000,
        "requests": stats.requests,
        "bytes": stats.bytes_sent,
        "wall_with_browser_start_s": wall,
    }


TIMELINE_JS = """JSON.stringify({first: window.__vivViewer.firstFrameMs,
  dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
  requests: performance.getEntriesByType('resource').map(e => [
    e.name.split('?')[0].split('/').pop(), e.startTime, e.responseEnd, e.transferSize])})"""


def timeline(path: Path) -> None:
    """Print where one page load of ``path`` spends its time until the first frame.

    The page's own requests (start and end, ms from navigation) and the gaps between them.
    """
    from helpers.viewer_pages import run_page

    from napari_viv import RangeServer

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = HERE / "results" / "profile-timeline"
    shutil.rmtree(profile, ignore_errors=True)
    with RangeServer(path) as server:

        async def body(page):
            await page.wait_status(timeout=180)
            return await page.evaluate(TIMELINE_JS)

        got = json.loads(run_page(chromium, profile, server.viewer_url_for(path), body))
    print(f"{path.name}: first complete frame at {got['first']} ms; DOMContentLoaded at {got['dcl']:.0f} ms")
    last = 0.0
    for name, start, end, size in got["requests"]:
        gap = f"  (+{start - last:.0f} ms idle)" if start - last > 50 else ""
        print(f"{start:7.0f} - {end:7.0f} ms  {size / 1e3:8.1f} kB  {name}{gap}")
        last = max(last, end)
    print(f"{last:7.0f} - {got['first']:7.0f} ms  decoding, uploading and drawing the last tiles")


def bare_site(folder: Path, candidates: list[Path] = ()):
    """Serve the pages to compare and the image, all on one origin.

    Our committed viewer at ``/``, ``folder``'s files at ``/<name>``, the bare Viv
    page at ``/bare/`` and other builds of our viewer (folders like viewer_dist) at
    ``/candidate1/``, ``/candidate2/``...
    """
    from helpers.viewer_pages import ViewerSite

    subprocess.run(["sh", str(BARE / "build.sh")], check=True)
    prefixes = {"/bare/": BARE / "dist"}
    for i, candidate in enumerate(candidates, 1):
        prefixes[f"/candidate{i}/"] = candidate
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}

    class Site(ViewerSite):
        async def _respond(self, web, path: str):
            for prefix, dist in prefixes.items():
                if path.startswith(prefix):
                    name = path[len(prefix) :] or "index.html"
                    if "/" in name or not (dist / name).is_file():
                        break
                    return web.Response(
                        body=(dist / name).read_bytes(),
                        headers={"Content-Type": types[Path(name).suffix], "Cache-Control": "no-store"},
                    )
            return await super()._respond(web, path)

    return Site(folder)


def bare_image(folder: Path) -> str:
    """Write a 3 x 2048² uint16 export (like the issue's) once; return its name.

    It has a view file giving the contrast limits, as napari-viv's writer writes
    it, and the same pixels are also there without a view file (``noview``).
    """
    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue
    from napari_viv.viewfile import view_document, view_json

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tissue3.ome.tif"
    if not path.exists():
        data, meta = synthetic_tissue(2048, 3)
        export_pyramid(data, path, metadata=meta)
        lows = [float(data[c].min()) for c in range(3)]
        highs = [float(data[c].max()) for c in range(3)]
        meta.contrast_limits = list(zip(lows, highs, strict=True))
        doc = view_document(meta, 3)
        (folder / "tissue3.view.json").write_bytes(view_json(doc))
        # The same file and offsets under a second name, without a view file.
        os.link(path, folder / "noview.ome.tif")
        os.link(folder / "tissue3.offsets.json", folder / "noview.offsets.json")
    return path.name


VIEWER_DONE = "window.__vivViewer?.firstFrameMs"


def bare_pages(candidates: list[Path] = (), variants: bool = False) -> dict:
    """Label -> (link, expression giving the first-frame time in ms)."""
    pages = {
        "our viewer, view file with limits": ("/?image=/tissue3.ome.tif", VIEWER_DONE),
        "our viewer, no view file": ("/?image=/noview.ome.tif", VIEWER_DONE),
    }
    for i, dist in enumerate(candidates, 1):  # labelled by their folder's name
        pages[f"{dist.name}, view file with limits"] = (f"/candidate{i}/?image=/tissue3.ome.tif", VIEWER_DONE)
        pages[f"{dist.name}, no view file"] = (f"/candidate{i}/?image=/noview.ome.tif", VIEWER_DONE)
    pages["bare Viv page"] = ("/bare/?image=/tissue3.ome.tif", "window.__bare?.firstFrameMs")
    if variants:
        pages["bare Viv page, no scale bar"] = (
            "/bare/?scalebar=0&image=/tissue3.ome.tif",
            "window.__bare?.firstFrameMs",
        )
        pages["bare Viv page, Viv's own camera"] = (
            "/bare/?camera=viv&image=/tissue3.ome.tif",
            "window.__bare?.firstFrameMs",
        )
    return pages


def first_frame_ms(chromium: str, profile: Path, url: str, expr: str) -> float:
    """Open ``url`` in a fresh browser; the page's first-frame time (``expr``), in ms."""
    from helpers.viewer_pages import run_page

    async def body(page):
        return await page.wait_for(
            f"({expr}) || window.__bare?.error || (document.body?.dataset.status === 'error' && 'error')", timeout=180
        )

    shutil.rmtree(profile, ignore_errors=True)
    ms = run_page(chromium, profile, url, body)
    if not isinstance(ms, (int, float)):
        raise RuntimeError(f"{url}: {ms}")
    return ms


def vs_bare(repeat: int, candidates: list[Path] = (), variants: bool = False) -> dict:
    """Our viewer against the bare Viv page, alternated, a fresh browser each."""
    from bench_export import machine

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    folder = HERE / "data" / "viewer_vs_bare"
    bare_image(folder)
    pages = bare_pages(candidates, variants)
    site = bare_site(folder, candidates)
    times: dict[str, list[float]] = {label: [] for label in pages}
    result = {"repeat": repeat, "machine": machine()}
    try:
        for i in range(repeat):
            order = list(pages) if i % 2 == 0 else list(reversed(pages))
            for label in order:
                link, expr = pages[label]
                ms = first_frame_ms(chromium, HERE / "results" / "profile-bare", site.origin + link, expr)
                times[label].append(ms / 1000)
                print(f"round {i + 1}: {label}: {ms / 1000:.3f} s", flush=True)
    finally:
        site.close()
    result["loadavg_end"] = os.getloadavg()
    result["pages"] = {label: {"median_s": statistics.median(t), "all_s": t} for label, t in times.items()}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "viewer_vs_bare.json").write_text(json.dumps(result, indent=1))
    return result


def bare_markdown(res: dict) -> str:
    """Make the --vs-bare table: median and all runs of each page, and the ratios to the bare page.

    With ``--variants`` a second ratio is to the bare page without Viv's scale bar.
    """
    m = res["machine"]
    pages = res["pages"]
    bare = pages["bare Viv page"]["median_s"]
    plain = pages.get("bare Viv page, no scale bar", {}).get("median_s")
    head = "| page | first frame, median s | all runs s | ratio to the bare page |"
    rule = "|---|---|---|---|"
    if plain:
        head, rule = head + " ratio to the bare page without scale bar |", rule + "---|"
    lines = [
        f"3 x 2048² uint16 (synthetic tissue, zlib, 512-px tiles, 3 levels), served on 127.0.0.1; "
        f"headless Chromium, software WebGL2. {res['repeat']} rounds, pages alternated, a fresh browser "
        f"each. Machine: {m.get('cpu')}, {m.get('cores')} cores; load average "
        f"{m['loadavg_start'][0]:.1f} at the start, {res['loadavg_end'][0]:.1f} at the end.",
        "",
        head,
        rule,
    ]
    for label, r in pages.items():
        runs = ", ".join(f"{t:.2f}" for t in r["all_s"])
        row = f"| {label} | {r['median_s']:.2f} | {runs} | {r['median_s'] / bare:.2f} |"
        lines.append(row + (f" {r['median_s'] / plain:.2f} |" if plain else ""))
    return "\n".join(lines)


def bench(size: int, repeat: int) -> dict:
    from bench_export import machine

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    files = exports(size)
    results = {"size": size, "repeat": repeat, "machine": machine(), "runs": []}
    for (image, codec), path in files.items():
        for offsets in (True, False):
            reps = [first_frame(chromium, path, offsets, HERE / "results" / f"profile-{i}") for i in range(repeat)]
            best = min(reps, key=lambda r: r["first_frame_s"])
            row = {
                "image": image,
                "codec": codec,
                "offsets": offsets,
                "first_frame_s": best["first_frame_s"],
                "median_s": statistics.median(r["first_frame_s"] for r in reps),
                "requests": best["requests"],
                "bytes": best["bytes"],
                "file_bytes": path.stat().st_size,
            }
            results["runs"].append(row)
            print(row, flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "viewer.json").write_text(json.dumps(results, indent=1))
    return results


def to_markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"Our viewer in headless Chromium (software WebGL2), served by RangeServer on "
        f"127.0.0.1. Machine: {m.get('cpu')}, {m.get('cores')} cores. Best of "
        f"{res['repeat']} fresh browsers (median in brackets). Requests and bytes "
        "include the page and its 1.3 MB bundle.",
        "",
        "| image | codec | offsets.json | first frame s | requests | MB sent | file MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in res["runs"]:
        lines.append(
            f"| {r['image']} | {r['codec']} | {'yes' if r['offsets'] else 'no'} | "
            f"{r['first_frame_s']:.2f} ({r['median_s']:.2f}) | {r['requests']} | "
            f"{r['bytes'] / 1e6:.1f} | {r['file_bytes'] / 1e6:.0f} |"
        )
    return "\n".join(lines)


def write_docs(res: dict) -> None:
    from bench_export import write_docs as write_block

    write_block(to_markdown(res), BEGIN, END, "Our viewer: time to the first frame")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--docs", action="store_true")
    ap.add_argument(
        "--vs-bare",
        action="store_true",
        help="our viewer against the bare Viv page of benchmarks/bare_viv/, alternated",
    )
    ap.add_argument(
        "--variants",
        action="store_true",
        help="with --vs-bare: also the bare page without Viv's scale bar, and with Viv's own initial view",
    )
    ap.add_argument(
        "--candidate",
        type=Path,
        metavar="DIST",
        action="append",
        default=[],
        help="with --vs-bare: also another build of the viewer (repeatable), e.g. "
        "VIEWER_OUT=/tmp/dist viewer/build.sh --no-install, for before/after",
    )
    ap.add_argument(
        "--timeline", type=Path, metavar="FILE.ome.tif", help="print one load's requests and gaps for FILE instead"
    )
    args = ap.parse_args()
    if args.timeline:
        timeline(args.timeline)
        return
    if args.vs_bare:
        res = vs_bare(args.repeat, args.candidate, args.variants)
        print(bare_markdown(res))
        if args.docs:
            from bench_export import write_docs as write_block

            write_block(bare_markdown(res), BARE_BEGIN, BARE_END, "Our viewer against a bare Viv page")
        return
    res = bench(args.size, args.repeat)
    print(to_markdown(res))
    if args.docs:
        write_docs(res)


if __name__ == "__main__":
    main()
