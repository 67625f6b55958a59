"""Run the real Viv loader (tests/viv/load.mjs) from Python tests.

``viv_load`` returns the loader's report as a dict, or raises
``VivLoadError`` with the loader's own error message. ``plane_digest``
computes, for a numpy plane, the digest the report uses for Viv's raster.
``tiff_levels`` reads a pyramid's planes with tifffile, and
``assert_viv_matches_tifffile`` checks that the loader shows exactly those.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import tifffile

HARNESS = Path(__file__).parents[1] / "viv"
SCRIPT = HARNESS / "load.mjs"


class VivLoadError(RuntimeError):
    """The Viv loader refused the file; the message is the loader's."""


def node_missing_reason() -> str | None:
    """Why the Viv harness can't run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (run .ci/run to set up)"
    if not (HARNESS / "node_modules" / "@vivjs" / "loaders").is_dir():
        return "tests/viv/node_modules is missing (run: npm ci --prefix tests/viv)"
    return None


def viv_load(
    source: str | os.PathLike,
    *,
    offsets: str | os.PathLike | None = None,
    pixels: bool = True,
    dump=None,
    timeout: float = 300,
    zarr: bool = False,
) -> dict:
    """Load ``source`` (a path or an http URL) with @vivjs/loaders.

    ``offsets`` is a path to an offsets.json, or ``"auto"`` to fetch it the
    way Avivator does for URLs. ``zarr=True`` opens ``source`` (an http URL
    of an OME-Zarr store) with ``loadOmeZarr`` instead of ``loadOmeTiff``.
    """
    cmd = ["node", str(SCRIPT), str(source)]
    if zarr:
        cmd.append("--zarr")
    if offsets is not None:
        cmd += ["--offsets", str(offsets)]
    if not pixels:
        cmd.append("--no-pixels")
    if dump is not None:
        cmd += ["--dump", str(dump)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HARNESS)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise VivLoadError(f"no report from the Viv loader: {proc.stderr.strip()}")
    report = json.loads(lines[-1])
    if "error" in report:
        raise VivLoadError(report["error"])
    return report


def plane_digest(plane: np.ndarray) -> str:
    """SHA-256 of a plane's pixels as little-endian C-order bytes."""
    arr = np.ascontiguousarray(plane)
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return hashlib.sha256(arr.tobytes()).hexdigest()


def viv_rasters(source, folder, *, offsets=None) -> dict:
    """Every raster the real Viv loader decodes: {(level, z, c, t): array}.

    Arrays are (height, width) or, for interleaved RGB, (height, width, 3), in
    the dtype Viv reports; the bytes are exactly what the loader returned.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    report = viv_load(source, offsets=offsets, dump=folder)
    image = report["images"][0]
    dtypes = {
        "Uint8": np.uint8,
        "Uint16": np.uint16,
        "Uint32": np.uint32,
        "Int8": np.int8,
        "Int16": np.int16,
        "Int32": np.int32,
        "Float32": np.float32,
        "Float64": np.float64,
    }
    out = {}
    for li, level in enumerate(image["levels"]):
        dtype = dtypes[level["dtype"]]
        for plane in level["planes"]:
            raw = (folder / f"0_{li}_{plane['z']}_{plane['c']}_{plane['t']}.raw").read_bytes()
            arr = np.frombuffer(raw, dtype)
            shape = (plane["height"], plane["width"])
            out[li, plane["z"], plane["c"], plane["t"]] = arr.reshape(
                shape + ((3,) if arr.size == 3 * shape[0] * shape[1] else ())
            )
    return out


def tiff_levels(path) -> tuple[list[list[np.ndarray]], int]:
    """[level][plane] arrays of a SubIFD pyramid as tifffile reads them (each
    page's SubIFDs followed by offset), and the file's tile width."""
    with tifffile.TiffFile(path) as tif:
        planes = []
        for i, page in enumerate(tif.pages):
            per = [page.asarray()]
            for lvl, off in enumerate(page.subifds or (), start=1):
                tif.filehandle.seek(off)
                per.append(tifffile.TiffPage(tif, index=(i, lvl)).asarray())
            planes.append(per)
        tile = tif.pages[0].tilewidth
    nlev = len(planes[0])
    return [[planes[p][lvl] for p in range(len(planes))] for lvl in range(nlev)], tile


def assert_viv_matches_tifffile(viv, path, offsets) -> list[dict]:
    """The real Viv loader (``viv``: :func:`viv_load`, as the fixture gives it)
    opens ``path`` with its ``offsets`` file and without it, and each time
    shows what tifffile reads: the tile size, every level floor-halved, every
    plane at its size and with the same pixels (by digest). ``offsets`` must
    list the file's pages. Returns both reports, the one with offsets first."""
    levels, tile = tiff_levels(path)
    with tifffile.TiffFile(path) as tif:
        assert json.loads(Path(offsets).read_text()) == [page.offset for page in tif.pages]
    h, w = levels[0][0].shape[:2]
    reports = [viv(path, offsets=offsets), viv(path)]
    assert reports[0]["offsetsUsed"] == len(levels[0])
    assert reports[1]["offsetsUsed"] == 0
    for rep in reports:
        (img,) = rep["images"]
        assert img["tileSize"] == tile
        assert len(img["levels"]) == len(levels)
        for lvl, (vlev, planes) in enumerate(zip(img["levels"], levels, strict=True)):
            yx = vlev["shape"][-3:-1] if img["interleaved"] else vlev["shape"][-2:]
            assert yx == [h >> lvl, w >> lvl]
            assert yx == list(planes[0].shape[:2])  # floor-halved on disk too
            assert len(vlev["planes"]) == len(planes)
            # Viv's plane order is t, c, z with z fastest: the main-chain order
            for vp, arr in zip(vlev["planes"], planes, strict=True):
                assert (vp["height"], vp["width"]) == arr.shape[:2]
                assert vp["sha256"] == plane_digest(arr)
    return reports
