"""Save docs/screenshots/viewer-zarr.png: our viewer on an OME-Zarr store, as a user sees it.

    python3 viewer/screenshot_zarr.py [output.png]

The synthetic tissue (napari_viv.sample) is written as a sharded NGFF 0.5
store with Blosc (zstd level 1, bit-shuffle: decoded by the page's own
decoder) by ome-zarr-py (with omero channel labels, colours and windows),
served by napari-viv's own RangeServer, and opened in headless Chromium at
``/?image=/tissue.ome.zarr``. Needs Chromium, ome-zarr, and the repository's
tests/ folder (helpers) on the path, as tests/browser does.
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
from helpers.zarr_judges import write_reference_store  # noqa: E402


def write_store(folder: Path) -> Path:
    """Write the synthetic tissue's first four channels as ``tissue.ome.zarr`` (NGFF 0.5, sharded, Blosc)."""
    from zarr.codecs import BloscCodec

    from napari_viv.sample import synthetic_tissue

    data, meta = synthetic_tissue(size=1536, channels=4)
    data = np.asarray(data)
    channels = []
    for c, (name, rgb) in enumerate(zip(meta.channel_names, meta.channel_colors, strict=True)):
        hi = float(np.percentile(data[c, ::8, ::8], 99.5))
        channels.append(
            {
                "label": name,
                "color": "".join(f"{v:02X}" for v in rgb),
                "window": {"start": 0, "end": hi, "min": 0, "max": 65535},
            }
        )
    size = meta.physical_sizes["x"]
    return write_reference_store(
        folder / "tissue.ome.zarr",
        data,
        version="0.5",
        channels=channels,
        chunks=(1, 256, 256),
        shards=(1, 512, 512),
        compressor=BloscCodec(cname="zstd", clevel=1, shuffle="bitshuffle"),
        levels=4,
        scale={"y": size, "x": size},
        units={"y": "micrometer", "x": "micrometer"},
    )


def main(out: Path) -> None:
    """Write the store, serve it, open our viewer on it and save the screenshot to ``out``."""
    from napari_viv.serve.server import RangeServer

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        store = write_store(Path(tmp))

        async def body(page):
            started = time.monotonic()
            status = await page.wait_status()
            took = time.monotonic() - started
            if status != "ready":
                raise SystemExit(f"viewer error: {await page.evaluate('window.__vivViewer.error')}")
            out.write_bytes(await page.screenshot_png())
            return took

        with RangeServer([store]) as server:
            took = vh.run_page(chromium, Path(tmp) / "profile", server.viewer_url_for(store), body)
    print(f"wrote {out} (ready {took:.2f} s after navigation)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots" / "viewer-zarr.png")
