"""Write a LuCa-like test image: 7 channels, uint16, tissue structure with shot noise.

The pixels come from :func:`napari_viv.sample.synthetic_tissue` (7-marker
panel, 0.5 µm pixels). Its background level and noise were chosen so that
codecs behave as on the public LuCa-7color Vectra scan: about 0.6 of the raw
size with libdeflate level 1 + predictor and 0.7-0.8 with LZW (see
docs/benchmarks.md for the measured ratios). ``--scale`` divides intensities
to make the data more (>1) or less (<1) compressible.

The image is rendered block by block straight into a ``.npy`` memory map,
so memory stays bounded whatever ``--size``; ``--tif`` also writes an
uncompressed OME-TIFF copy (the input for bfconvert).

    python benchmarks/make_luca_like.py --size 8192 -o benchmarks/data/luca_8192.npy
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from napari_viv.sample import render_block, synthetic_tissue  # noqa: E402

BLOCK = 1024
CHANNELS = 7


def make(path, size=8192, *, channels=CHANNELS, seed=0, scale=1.0, workers=None, width=None):
    """Render the image into ``path`` (.npy) and return the memory map (``width``: not square)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    width = width or size
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype="uint16", shape=(channels, size, width))
    chans = list(range(channels))

    def one(block):
        y0, x0 = block
        y1, x1 = min(y0 + BLOCK, size), min(x0 + BLOCK, width)
        tile = render_block(seed, chans, y0, y1, x0, x1, np.float32)
        if scale != 1.0:
            tile = tile / np.float32(scale)
        out[:, y0:y1, x0:x1] = np.clip(np.rint(tile), 0, 65535).astype(np.uint16)

    blocks = [(y, x) for y in range(0, size, BLOCK) for x in range(0, width, BLOCK)]
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        list(pool.map(one, blocks))
    out.flush()
    _sync(tmp)
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def _sync(path):
    """Wait until the file is on disk.

    Freshly written (dirty) pages would otherwise stay mapped in the next
    reader and inflate its measured RSS.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_ome_tiff(npy_path, tif_path):
    """Write an uncompressed, tiled OME-TIFF copy with channel names (bfconvert's input)."""
    import tifffile

    data = np.load(npy_path, mmap_mode="r")
    _, meta = synthetic_tissue(16, data.shape[0])
    tmp = Path(str(tif_path) + ".part")
    tifffile.imwrite(
        tmp,
        data,
        bigtiff=True,
        tile=(512, 512),
        photometric="minisblack",
        metadata={
            "axes": "CYX",
            "Channel": {"Name": meta.channel_names},
            "PhysicalSizeX": meta.physical_sizes["x"],
            "PhysicalSizeY": meta.physical_sizes["y"],
        },
    )
    _sync(tmp)
    os.replace(tmp, tif_path)
    return Path(tif_path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192, help="edge length in pixels (default 8192)")
    ap.add_argument("--channels", type=int, default=CHANNELS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="divide intensities by this")
    ap.add_argument("-o", "--output", default=None, help="default benchmarks/data/luca_SIZE.npy")
    ap.add_argument("--tif", action="store_true", help="also write an uncompressed OME-TIFF copy")
    args = ap.parse_args(argv)
    out = Path(args.output or Path(__file__).parent / "data" / f"luca_{args.size}.npy")
    t0 = time.perf_counter()
    arr = make(out, args.size, channels=args.channels, seed=args.seed, scale=args.scale)
    print(f"{out}: {arr.shape} {arr.dtype}, {arr.nbytes / 1e9:.2f} GB in {time.perf_counter() - t0:.1f} s")
    if args.tif:
        t0 = time.perf_counter()
        tif = write_ome_tiff(out, out.with_suffix(".tif"))
        print(f"{tif}: written in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
