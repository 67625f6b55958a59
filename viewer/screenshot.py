"""Save docs/screenshots/viewer.png, the bundled viewer page as a user sees it in Chromium.

It shows a synthetic 3-channel fluorescence-like image.

    python3 viewer/screenshot.py [output.png]

Needs Chromium, aiohttp, tifffile and imagecodecs (as tests/browser does).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from helpers import viewer_pages as vh  # noqa: E402


def synthetic_cells(size=(1536, 2048), cells=70, seed=3) -> np.ndarray:
    """Nuclei, cytoplasm and bright spots: uint16, CYX."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nuclei = np.zeros(size, np.float32)
    cyto = np.zeros(size, np.float32)
    spots = np.zeros(size, np.float32)
    for _ in range(cells):
        cy, cx = rng.uniform(60, h - 60), rng.uniform(60, w - 60)
        r = rng.uniform(18, 30)
        sl = (slice(max(0, int(cy - 6 * r)), int(cy + 6 * r)), slice(max(0, int(cx - 6 * r)), int(cx + 6 * r)))
        d2 = ((yy[sl] - cy) ** 2 + (xx[sl] - cx) ** 2) / r**2
        nuclei[sl] += rng.uniform(0.6, 1.0) / (1 + np.exp(np.minimum((d2 - 1) * 6, 50)))
        cyto[sl] += rng.uniform(0.3, 0.7) * np.exp(-d2 / 9)
        for _ in range(rng.integers(3, 9)):
            sy, sx = cy + rng.normal(0, 2 * r), cx + rng.normal(0, 2 * r)
            win = (slice(max(0, int(sy - 8)), int(sy + 8)), slice(max(0, int(sx - 8)), int(sx + 8)))
            spots[win] += rng.uniform(0.5, 1) * np.exp(-((yy[win] - sy) ** 2 + (xx[win] - sx) ** 2) / 8)
    stack = np.stack([nuclei, cyto, spots])
    stack += rng.normal(0.03, 0.01, stack.shape).astype(np.float32)
    return (np.clip(stack, 0, 1.2) * 30000).astype(np.uint16)


def main(out: Path) -> None:
    """Write the screenshot to ``out``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "site"
        folder.mkdir()
        vh.write_pyramid(
            folder / "cells.ome.tif",
            synthetic_cells(),
            "CYX",
            levels=4,
            channel={
                "Name": ["DAPI", "Actin", "FISH spots"],
                "Color": [vh.ome_color(40, 120, 255), vh.ome_color(0, 230, 90), vh.ome_color(255, 60, 200)],
            },
        )
        site = vh.ViewerSite(folder)

        async def body(page):
            started = time.monotonic()
            status = await page.wait_status()
            took = time.monotonic() - started
            if status != "ready":
                raise SystemExit(f"viewer error: {await page.evaluate('window.__vivViewer.error')}")
            out.write_bytes(await page.screenshot_png())
            return took

        try:
            took = vh.run_page(chromium, Path(tmp) / "profile", f"{site.origin}/?image=/cells.ome.tif", body)
        finally:
            site.close()
    print(f"wrote {out} (ready {took:.2f} s after navigation)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots" / "viewer.png")
