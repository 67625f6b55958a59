"""Frame cost of our viewer with 10, 20 and 40 visible channels (issue 20).

Viv 0.21 draws at most 10 channels per layer; the viewer draws more as several
layers added together (viewer/src/channel_layers.js). For each channel count a
synthetic tissue (1024², uint16, 2 levels) is opened in a fresh headless
Chromium (software WebGL2, as in the tests) and measured:

* first frame - the page's ``firstFrameMs`` (navigation to the first frame with
  every visible tile loaded);
* redraw - the time per frame over 20 redraws that need no new tiles (channel 0's
  colour changed through its colour input, waiting for each frame).

    python benchmarks/bench_channels.py [--repeat 3] [--channels 10 20 40] [--redraws 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import viewer_pages as vh  # noqa: E402

SET_COLOUR = """(() => { const el = document.querySelectorAll('li.channel input[type=color]')[0];
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  set.call(el, %r); el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()"""


def measure(chromium: str, site, name: str, profile: Path, redraws: int = 20) -> tuple[float, float]:
    """Return (first frame s, redraw ms per frame) for one fresh browser."""

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        first = await page.evaluate("window.__vivViewer.firstFrameMs") / 1000
        started = time.perf_counter()
        for k in range(redraws):
            frames = await page.evaluate("window.__vivViewer.frames")
            await page.evaluate(SET_COLOUR % ("#ff0000" if k % 2 else "#00ff00"))
            await page.wait_for(f"window.__vivViewer.frames > {frames} && window.__vivViewer.loaded")
        return first, (time.perf_counter() - started) / redraws * 1000

    return vh.run_page(chromium, profile, f"{site.origin}/?image=/{name}", body)


def main() -> None:
    """Export, serve and measure each channel count; print a Markdown table."""
    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--channels", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--redraws", type=int, default=20)
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no Chromium found")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "site"
        folder.mkdir()
        for n in args.channels:
            data, md = synthetic_tissue(1024, channels=n)
            export_pyramid(data, folder / f"c{n}", metadata=md, levels=2)
        site = vh.ViewerSite(folder)
        try:
            for n in args.channels:
                runs = [
                    measure(chromium, site, f"c{n}.ome.tif", Path(tmp) / f"p{n}-{r}", args.redraws)
                    for r in range(args.repeat)
                ]
                first = statistics.median(r[0] for r in runs)
                redraw = statistics.median(r[1] for r in runs)
                layers = -(-n // 10)
                rows.append(f"| {n} | {layers} | {first:.2f} | {redraw:.0f} |")
                print(rows[-1], flush=True)
        finally:
            site.close()
    print("| visible channels | Viv layers | first frame s | redraw ms/frame |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
