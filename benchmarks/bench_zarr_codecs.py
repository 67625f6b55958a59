"""Which Zarr codec for OME-Zarr output: size, encode and decode speed, and what Viv decodes.

Renders LuCa-like 7-channel uint16 pixels (benchmarks/make_luca_like.py's
tissue), cuts them into 512-px single-plane chunks and, for every candidate
codec, measures on one thread the compressed size (fraction of raw), the
encode rate and the decode rate (imagecodecs, what the engine calls). Then it
writes a small NGFF 0.4 (Zarr v2) and 0.5 (Zarr v3) store per codec with
zarr-python, serves them on loopback and opens them with the real Viv loader
(``tests/viv/zarr_codecs.mjs``: ``loadOmeZarr``), comparing every plane's
bytes with the input's.

    python benchmarks/bench_zarr_codecs.py [--size 2048]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from napari_viv.sample import render_block  # noqa: E402

TILE = 512


# name -> (encode, decode, zarr v2 compressor, zarr v3 codec)
def _candidates():
    import imagecodecs
    import numcodecs
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    def blosc(cname, level, shuffle, blocksize=0):
        shuf = {"byte": 1, "bit": 2}[shuffle]
        v2 = numcodecs.Blosc(cname=cname, clevel=level, shuffle=shuf, blocksize=blocksize)
        v3 = BloscCodec(
            cname=cname,
            clevel=level,
            shuffle={"byte": "shuffle", "bit": "bitshuffle"}[shuffle],
            blocksize=blocksize,
            typesize=2,
        )
        enc = functools.partial(
            imagecodecs.blosc_encode,
            level=level,
            compressor=cname,
            shuffle=shuf,
            typesize=2,
            blocksize=blocksize or None,
            numthreads=1,
        )
        return enc, functools.partial(imagecodecs.blosc_decode, numthreads=1), v2, v3

    return {
        "zlib:1": (
            functools.partial(imagecodecs.deflate_encode, level=1),
            imagecodecs.deflate_decode,
            numcodecs.Zlib(level=1),
            GzipCodec(level=1),
        ),
        "zlib:6": (
            functools.partial(imagecodecs.deflate_encode, level=6),
            imagecodecs.deflate_decode,
            numcodecs.Zlib(level=6),
            GzipCodec(level=6),
        ),
        "zstd:1": (
            functools.partial(imagecodecs.zstd_encode, level=1),
            imagecodecs.zstd_decode,
            numcodecs.Zstd(level=1),
            ZstdCodec(level=1),
        ),
        "zstd:3": (
            functools.partial(imagecodecs.zstd_encode, level=3),
            imagecodecs.zstd_decode,
            numcodecs.Zstd(level=3),
            ZstdCodec(level=3),
        ),
        "blosc-zstd:1 byte-shuffle": blosc("zstd", 1, "byte"),
        "blosc-zstd:3 byte-shuffle": blosc("zstd", 3, "byte"),
        "blosc-zstd:5 byte-shuffle": blosc("zstd", 5, "byte"),
        "blosc-zstd:1 bit-shuffle (Blosc's blocks)": blosc("zstd", 1, "bit"),
        "blosc-zstd:1 bit-shuffle, 128 KiB blocks": blosc("zstd", 1, "bit", 128 * 1024),
        "blosc-zstd:1 bit-shuffle, 256 KiB blocks (napari-viv's default)": blosc("zstd", 1, "bit", 256 * 1024),
        "blosc-zstd:1 bit-shuffle, 512 KiB blocks (a whole tile)": blosc("zstd", 1, "bit", 512 * 1024),
        "blosc-zstd:3 bit-shuffle": blosc("zstd", 3, "bit"),
        "blosc-lz4:5 byte-shuffle": blosc("lz4", 5, "byte"),
        "blosc-lz4:5 bit-shuffle": blosc("lz4", 5, "bit"),
        "blosc-lz4:5 bit-shuffle, 256 KiB blocks": blosc("lz4", 5, "bit", 256 * 1024),
    }


def tiles_of(size: int, channels: int = 7) -> list[np.ndarray]:
    """LuCa-like 512-px single-plane tiles of a ``channels`` x size x size image."""
    img = render_block(0, list(range(channels)), 0, size, 0, size, np.float32)
    img = np.clip(np.rint(img), 0, 65535).astype(np.uint16)
    return [
        np.ascontiguousarray(img[c, y : y + TILE, x : x + TILE])
        for c in range(channels)
        for y in range(0, size, TILE)
        for x in range(0, size, TILE)
    ], img


def measure(tiles, encode, decode) -> dict:
    """Return size fraction, encode and decode MB/s of one codec on one thread (best of 3)."""
    raw = sum(t.nbytes for t in tiles)
    best_e = best_d = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        encoded = [encode(t) for t in tiles]
        best_e = min(best_e, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for e in encoded:
            decode(e)
        best_d = min(best_d, time.perf_counter() - t0)
    return {
        "fraction": sum(len(e) for e in encoded) / raw,
        "encode_MBps": raw / best_e / 1e6,
        "decode_MBps": raw / best_d / 1e6,
    }


def _store(folder: Path, name: str, img: np.ndarray, compressor, version: int) -> Path:
    import zarr

    path = folder / f"{name.replace(':', '_').replace(' ', '_')}_v{version}.ome.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=version)
    kwargs = {"compressors": compressor}
    if version == 2:
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    arr = group.create_array("0", shape=img.shape, chunks=(1, TILE, TILE), dtype=img.dtype, **kwargs)
    arr[...] = img
    ms = {
        "axes": [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}],
    }
    if version == 2:
        group.attrs.update({"multiscales": [{"version": "0.4", **ms}]})
    else:
        group.attrs.update({"ome": {"version": "0.5", "multiscales": [ms]}})
    return path


def viv_decodes(stores: dict[str, Path], img: np.ndarray) -> dict[str, bool | str]:
    """Open each store with the real Viv loader over loopback HTTP; True when every plane matches."""
    from helpers.range_http import serve_folder

    folder = next(iter(stores.values())).parent
    with serve_folder(folder) as base:
        urls = {key: f"{base}/{p.name}" for key, p in stores.items()}
        run = subprocess.run(
            ["node", str(ROOT / "tests/viv/zarr_codecs.mjs"), *urls.values()],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        seen = json.loads(run.stdout)
    want = [hashlib.sha256(np.ascontiguousarray(img[c]).tobytes()).hexdigest() for c in range(img.shape[0])]
    return {key: (seen[url]["planes"] == want) if seen[url]["ok"] else seen[url]["error"] for key, url in urls.items()}


def main() -> None:
    """Measure every candidate and print a Markdown table (and JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    tiles, img = tiles_of(args.size)
    cands = _candidates()
    rows = {name: measure(tiles, enc, dec) for name, (enc, dec, _, _) in cands.items()}
    small = img[:, :1024, :1024]
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for name, (_, _, v2, v3) in cands.items():
            stores[(name, 2)] = _store(Path(tmp), name, small, v2, 2)
            stores[(name, 3)] = _store(Path(tmp), name, small, v3, 3)
        viv = viv_decodes(stores, small)
    print("| codec | size / raw | encode MB/s (1 thread) | decode MB/s | Viv 0.4 (v2) | Viv 0.5 (v3) |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        v2, v3 = viv[(name, 2)], viv[(name, 3)]
        print(
            f"| {name} | {r['fraction']:.3f} | {r['encode_MBps']:.0f} | {r['decode_MBps']:.0f} | "
            f"{'yes' if v2 is True else v2} | {'yes' if v3 is True else v3} |"
        )
    print(json.dumps({"rows": rows, "viv": {f"{k[0]} v{k[1]}": v for k, v in viv.items()}}))


if __name__ == "__main__":
    main()
