"""Fingerprint a few exports: sha256 of every file written, for before/after refactors.

Run with the tree under test first on PYTHONPATH; prints one line per file.
The same inputs and options must give the same bytes whatever the writer's
internals (its tuning changes memory and read order, never the output).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

import napari_viv
from napari_viv.write import writer


def _export(data, path, tuning=None, **kwargs):
    if tuning is None:
        return napari_viv.export_pyramid(data, path, **kwargs)
    from napari_viv.write.stream import Tuning

    small = Tuning(**tuning)
    if hasattr(writer, "export_tuned"):  # the API before the single export function
        return writer.export_tuned(data, path, tuning=small, **kwargs)
    return napari_viv.export_pyramid(data, path, tuning=small, **kwargs)


def _jpeg_level0(path):
    try:
        from napari_viv.read.jpeg import jpeg_level0
    except ImportError:  # the name before the rename
        from napari_viv.read.encoded import jpeg_level0
    return jpeg_level0(path)


def _copied(folder: Path, rgb: np.ndarray) -> None:
    """Export RGB as JPEG, then again copying the first export's level-0 tiles."""
    first = napari_viv.export_pyramid(rgb, folder / "jpegsource", tile_size=256, compression="jpeg:70")
    tiles, why = _jpeg_level0(first.image)
    assert tiles is not None, why
    try:
        result = napari_viv.export_pyramid(rgb, folder / "copied", tile_size=256, compression="jpeg", copy_level0=tiles)
    finally:
        tiles.close()
    for p in (result.image, result.offsets):
        print(f"{'copied':12s} {p.name:28s} {hashlib.sha256(p.read_bytes()).hexdigest()}")


def main() -> None:
    """Write the fingerprint exports into a temporary folder and print their hashes."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:700, 0:900]
    smooth = ((yy * 37 + xx * 11) % 4096).astype(np.uint16)
    gray = smooth + rng.integers(0, 64, smooth.shape, dtype=np.uint16)
    cyx = np.stack([np.roll(gray, 13 * c, axis=1) // (c + 1) for c in range(5)])
    rgb = np.stack([(smooth % 256), (smooth // 16) % 256, (xx % 256)], axis=-1).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb)
    level1 = (gray[0::2, 0::2][:350, :450] // 2).astype(np.uint16)  # not the mean: proves reuse
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [
            ("gray2d", gray, {"tile_size": 256}),
            (
                "cyx5",
                cyx,
                {
                    "tile_size": 256,
                    "channel_names": list("ABCDE"),
                    "tuning": {"columns": 256, "spill_threshold": 4096, "memmap_span": 4096},
                },
            ),
            (
                "rgbjpeg",
                rgb,
                {
                    "tile_size": 256,
                    "compression": "jpeg",
                    "channel_colors": None,
                    "physical_sizes": {"X": 0.5, "Y": 0.5},
                },
            ),
            ("multiscale", [gray, level1], {"tile_size": 128, "compression": "zlib:6"}),
            (
                "nearest_lzw",
                cyx[:2],
                {
                    "tile_size": 128,
                    "compression": "lzw",
                    "downsample": "nearest",
                    "channel_colors": [(255, 0, 0), (0, 255, 0)],
                },
            ),
        ]
        for label, data, kwargs in cases:
            kwargs = dict(kwargs)
            tuning = kwargs.pop("tuning", None)
            result = _export(data, folder / label, tuning, **kwargs)
            paths = [result.image, result.offsets] + ([result.view] if result.view else [])
            for p in paths:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                print(f"{label:12s} {p.name:28s} {digest}")
        _copied(folder, rgb)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
