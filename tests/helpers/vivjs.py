"""Run the real Viv loader (tests/viv/load.mjs) from Python tests.

``viv_load`` returns the loader's report as a dict, or raises
``VivLoadError`` with the loader's own error message. ``plane_digest``
computes, for a numpy plane, the digest the report uses for Viv's raster.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

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
) -> dict:
    """Load ``source`` (a path or an http URL) with @vivjs/loaders.

    ``offsets`` is a path to an offsets.json, or ``"auto"`` to fetch it the
    way Avivator does for URLs.
    """
    cmd = ["node", str(SCRIPT), str(source)]
    if offsets is not None:
        cmd += ["--offsets", str(offsets)]
    if not pixels:
        cmd.append("--no-pixels")
    if dump is not None:
        cmd += ["--dump", str(dump)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=HARNESS
    )
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
    dtypes = {"Uint8": np.uint8, "Uint16": np.uint16, "Uint32": np.uint32, "Int8": np.int8,
              "Int16": np.int16, "Int32": np.int32, "Float32": np.float32, "Float64": np.float64}
    out = {}
    for li, level in enumerate(image["levels"]):
        dtype = dtypes[level["dtype"]]
        for plane in level["planes"]:
            raw = (folder / f"0_{li}_{plane['z']}_{plane['c']}_{plane['t']}.raw").read_bytes()
            arr = np.frombuffer(raw, dtype)
            shape = (plane["height"], plane["width"])
            out[li, plane["z"], plane["c"], plane["t"]] = arr.reshape(
                shape + ((3,) if arr.size == 3 * shape[0] * shape[1] else ()))
    return out
