"""The real files of ``../shared/realfiles/files`` (other people's software wrote
them), and oracles for them that do not use napari_viv: tifffile's reading
of every image, level and plane, and the real Viv loader's view of a file.

The folder sits beside the repository (``<repo>/../shared/realfiles/files``,
as in CI); ``NAPARI_VIV_REALFILES`` overrides it. The files are never copied
into the repository.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import tifffile

from helpers.vivjs import VivLoadError, plane_digest, tiff_levels

REPO = Path(__file__).resolve().parents[2]
ENV = "NAPARI_VIV_REALFILES"


def folder() -> Path:
    env = os.environ.get(ENV)
    return Path(env) if env else REPO.parent / "shared" / "realfiles" / "files"


def missing_reason() -> str | None:
    """Why the real files cannot be used (a skip reason), or None."""
    f = folder()
    if not f.is_dir():
        return f"the real files are not at {f} (set {ENV} to their folder)"
    return None


def file_missing_reason(rel: str) -> str | None:
    """Why the real file ``rel`` cannot be used (a skip reason naming the variable ENV), or None."""
    path = folder() / rel
    if not path.is_file():
        return f"{rel} is not among the real files at {folder()} (set {ENV} to their folder)"
    return None


def inputs() -> list[str]:
    """Every real file, relative to :func:`folder` (SOURCES.md is not an image)."""
    root = folder()
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def metadata_file(path: Path) -> Path:
    """The file holding a multi-file set's metadata: a BinaryOnly member's
    MetadataFile, else the file itself."""
    if path.name.endswith(".companion.ome"):
        return path
    with tifffile.TiffFile(path) as tif:
        desc = tif.pages.first.description or ""
    if "BinaryOnly" in desc:
        root = ET.fromstring(desc.encode("utf-8"))
        for el in root.iter():
            if _local(el.tag) == "BinaryOnly":
                return path.parent / el.get("MetadataFile")
    return path


def open_tifffile(path: Path) -> tifffile.TiffFile:
    """tifffile's view of a file or set (a companion's XML read through its first TIFF)."""
    path = metadata_file(path)
    if path.name.endswith(".companion.ome"):
        xml = path.read_text(encoding="utf-8")
        root = ET.fromstring(xml.encode("utf-8"))
        first = next(el.get("FileName") for el in root.iter() if _local(el.tag) == "UUID")
        return tifffile.TiffFile(path.parent / first, omexml=xml)
    return tifffile.TiffFile(path)


def planes(level) -> dict:
    """``{(t, c, z): plane}`` of a tifffile series level; planes are (H, W) or (H, W, S)."""
    arr = level.asarray()
    axes = level.axes
    if "S" in axes and not axes.endswith("S"):  # planar samples -> last
        arr = np.moveaxis(arr, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    outer = axes[: -3 if axes.endswith("S") else -2]
    out = {}
    for idx in np.ndindex(*arr.shape[: len(outer)]):
        pos = dict(zip(outer, idx, strict=True))
        out[(pos.get("T", 0), pos.get("C", 0), pos.get("Z", 0))] = arr[idx]
    return out


#: Loads many sources in one Node process (as tests/viv/load.mjs does one):
#: one JSON line per source with sizes, labels and each plane's SHA-256, or
#: the raw raster (base64) of each plane for sources marked lossy.
_MANY_JS = r"""
import { DOMParser } from '@xmldom/xmldom';
import { loadOmeTiff } from '@vivjs/loaders';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
globalThis.DOMParser = DOMParser;
const jobs = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
const bytes = (d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
for (const { source, raw } of jobs) {
  try {
    const url = /^https?:/.test(source) ? source : `file://${source}`;
    const images = await loadOmeTiff(url, { images: 'all' });
    const report = { images: [] };
    for (const { data, metadata } of images) {
      const P = metadata.Pixels;
      const sizes = { t: P.SizeT, c: P.Interleaved ? 1 : P.SizeC, z: P.SizeZ };
      const image = { labels: data[0].labels, levels: [] };
      for (const src of data) {
        const level = { shape: src.shape, planes: [] };
        for (let t = 0; t < sizes.t; t += 1) for (let c = 0; c < sizes.c; c += 1)
          for (let z = 0; z < sizes.z; z += 1) {
            const r = await src.getRaster({ selection: { t, c, z } });
            const plane = { t, c, z, width: r.width, height: r.height,
              sha256: createHash('sha256').update(bytes(r.data)).digest('hex') };
            if (raw) plane.raw = bytes(r.data).toString('base64');
            level.planes.push(plane);
          }
        image.levels.push(level);
      }
      report.images.push(image);
    }
    process.stdout.write(JSON.stringify(report) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.message ? err.message : err) }) + '\n');
  }
}
"""


def viv_many(paths, lossy=()) -> list:
    """The real Viv loader's report for each path, in one Node process.

    A ``.companion.ome`` is served over real HTTP (Viv's multi-file loader
    fetches it). Each result is a report dict or a :class:`VivLoadError`.
    """
    import json
    import subprocess
    import tempfile

    from helpers.vivjs import HARNESS
    from napari_viv.serve.server import RangeServer

    paths = [Path(p) for p in paths]
    served = [p for p in paths if p.name.endswith(".companion.ome")]
    servers = {p: RangeServer([m for m in p.parent.iterdir() if m.is_file()]).start() for p in served}
    try:
        jobs = [
            {"source": servers[p].url_for(p) if p in servers else str(p.resolve()), "raw": p in set(map(Path, lossy))}
            for p in paths
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(jobs, fh)
        proc = subprocess.run(
            ["node", "--input-type=module", "-e", _MANY_JS, fh.name],
            capture_output=True,
            text=True,
            cwd=HARNESS,
            timeout=900,
        )
        os.unlink(fh.name)
    finally:
        for server in servers.values():
            server.stop()
    lines = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if len(lines) != len(paths):
        raise RuntimeError(f"the Viv loader answered {len(lines)} of {len(paths)}: {proc.stderr.strip()[-500:]}")
    return [VivLoadError(r["error"]) if "error" in r else r for r in lines]


def viv_verdict(path: Path, report) -> tuple[bool, str]:
    """(Viv shows every image, level and plane of ``path`` with tifffile's pixels, why not);
    ``report`` is :func:`viv_many`'s for ``path``."""
    if isinstance(report, VivLoadError):
        return False, f"loader error: {report}"
    with open_tifffile(path) as tif:
        series = tif.series
        if len(report["images"]) > len(series):
            return False, f"Viv shows {len(report['images'])} images, tifffile {len(series)}"
        for i, image in enumerate(report["images"]):
            levels = series[i].levels
            if len(image["levels"]) > len(levels):
                return False, f"image {i}: Viv shows {len(image['levels'])} levels, file has {len(levels)}"
            for k, lev in enumerate(image["levels"]):
                truth = planes(levels[k])
                for pl in lev["planes"]:
                    key = (pl["t"], pl["c"], pl["z"])
                    if key not in truth:
                        return False, f"image {i} level {k}: no plane {key} in the file"
                    real = truth[key]
                    h, w = real.shape[:2]
                    if not (0 <= h - pl["height"] <= 1 and 0 <= w - pl["width"] <= 1):
                        return False, f"image {i} level {k}: Viv's {pl['width']}x{pl['height']} is not {w}x{h}"
                    if (real.ndim == 3) != ("_c" in image["labels"]):
                        return False, f"image {i} level {k}: Viv's samples differ from the file's"
                    if plane_digest(real[: pl["height"], : pl["width"]]) != pl["sha256"]:
                        return False, f"image {i} level {k} plane {key}: pixels differ"
    return True, "ok"


#: Two conforming JPEG decoders may round differently (as in tests/core/check/test_rules.py).
LOSSY_TOLERANCE = 2


def output_conforms(path: Path, report) -> str | None:
    """Why the real Viv loader does not show our export exactly as written (None: it does).

    ``report`` is :func:`viv_many`'s for ``path``; for a JPEG export it must
    carry the raw rasters, compared within :data:`LOSSY_TOLERANCE`.
    """
    import base64

    if isinstance(report, VivLoadError):
        return f"Viv refuses our export: {report}"
    if len(report["images"]) != 1:
        return f"Viv shows {len(report['images'])} images"
    levels, _ = tiff_levels(path)  # [level][plane] of our export
    with tifffile.TiffFile(path) as tif:
        ycbcr = int(tif.pages.first.photometric) == 6
    image = report["images"][0]
    if len(image["levels"]) != len(levels):
        return f"Viv shows {len(image['levels'])} levels, the file has {len(levels)}"
    h0, w0 = levels[0][0].shape[:2]
    for k, (lev, mine) in enumerate(zip(image["levels"], levels, strict=True)):
        if len(lev["planes"]) != len(mine):
            return f"level {k}: Viv has {len(lev['planes'])} planes, the file {len(mine)}"
        for pl, arr in zip(lev["planes"], mine, strict=True):
            if (pl["height"], pl["width"]) != (h0 >> k, w0 >> k) or arr.shape[:2] != (h0 >> k, w0 >> k):
                return f"level {k} is not level 0 halved (floor)"
            if pl["sha256"] == plane_digest(arr):
                continue
            if "raw" in pl:
                got = np.frombuffer(base64.b64decode(pl["raw"]), arr.dtype.newbyteorder("<"))
                got = got.reshape(arr.shape).astype(float)
                if ycbcr:  # geotiff hands JPEG YCbCr over as is; Viv's shader converts it
                    got = ycbcr_to_rgb(got)
                err = np.abs(got - arr.astype(float)).max()
                if err <= LOSSY_TOLERANCE + ycbcr:  # +1: our float conversion's rounding
                    continue
            return f"level {k} plane {pl['t'], pl['c'], pl['z']}: Viv's pixels differ"
    return None


def ycbcr_to_rgb(a: np.ndarray) -> np.ndarray:
    """JFIF YCbCr -> RGB (float, rounded and clipped as decoders do)."""
    y, cb, cr = a[..., 0], a[..., 1] - 128, a[..., 2] - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    return np.clip(np.round(rgb), 0, 255)


def is_jpeg(path: Path) -> bool:
    with tifffile.TiffFile(path) as tif:
        return int(tif.pages.first.compression) == 7


def output_ome(path: Path) -> dict:
    """Sizes, channel names, physical sizes (µm) and interleaving our export's OME-XML states."""
    to_um = {"\u00b5m": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6}
    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.pages.first.description.encode("utf-8"))
        compression = int(tif.pages.first.compression)
    pixels = next(el for el in root.iter() if _local(el.tag) == "Pixels")
    a = pixels.attrib
    phys = {
        ax.lower(): float(a[f"PhysicalSize{ax}"]) * to_um[a.get(f"PhysicalSize{ax}Unit", "\u00b5m")]
        for ax in "XYZ"
        if f"PhysicalSize{ax}" in a
    }
    return {
        "sizes": {k: int(a[f"Size{k}"]) for k in "XYZCT"},
        "names": [c.get("Name") for c in pixels if _local(c.tag) == "Channel"],
        "physical_um": phys,
        "interleaved": a.get("Interleaved") == "true",
        "order": a["DimensionOrder"],
        "compression": compression,
    }


def output_level0(path: Path) -> np.ndarray:
    """Our export's level 0 as (T, C, Z, Y, X), or (Y, X, S) for RGB."""
    info = output_ome(path)
    with tifffile.TiffFile(path) as tif:
        planes0 = [page.asarray() for page in tif.pages]
    if info["interleaved"]:
        return planes0[0]
    s = info["sizes"]
    # we write XYZCT: z fastest, then c, then t
    return np.stack(planes0).reshape(s["T"], s["C"], s["Z"], s["Y"], s["X"])


def ndtiff_order(path: Path) -> tuple[list, dict]:
    """An NDTiff's page order from its own per-page ``Axes``: ([(t, c, z) per page],
    {axis: values}), read with tifffile (the test's oracle, not napari_viv's)."""
    keys = {"time": "T", "channel": "C", "z": "Z"}
    coords = []
    with tifffile.TiffFile(path) as tif:
        for page in tif.pages:
            coords.append({keys[k]: v for k, v in page.tags.valueof(51123)["Axes"].items()})
    values = {a: list(dict.fromkeys(c.get(a, 0) for c in coords)) for a in "TCZ"}
    for a in "TZ":
        values[a] = sorted(values[a])
    return [tuple(values[a].index(c.get(a, 0)) for a in "TCZ") for c in coords], values


def expected_level0(path: Path, series: int, rgb: bool, sizes: dict) -> np.ndarray:
    """The input's pixels, read by tifffile, arranged as our export stores them.

    tifffile's letters map to ours as the file's metadata says: a position
    axis ``R`` is the series; samples are RGB (``rgb``) or channels; a page
    stack's unknown letter (``I``, ``Q``) is T (as Bio-Formats reads it);
    NDTiff pages go where their own ``Axes`` put them.
    """
    with open_tifffile(path) as tif:
        if tif.is_micromanager and not tif.is_ome and "I" in tif.series[0].axes:
            order, values = ndtiff_order(metadata_file(path))
            arr = tif.series[0].asarray()
            out = np.zeros((sizes["T"], sizes["C"], sizes["Z"]) + arr.shape[-2:], arr.dtype)
            for page, (t, c, z) in zip(arr, order, strict=False):  # order may list more pages than written
                out[t, c, z] = page
            return out
        ser = tif.series[0] if "R" in tif.series[0].axes else tif.series[series]
        arr, axes = ser.asarray(), ser.axes
    if "R" in axes:
        arr = np.take(arr, series, axis=axes.index("R"))
        axes = axes.replace("R", "")
    if "S" in axes:
        if rgb:
            arr = np.moveaxis(arr, axes.index("S"), -1)
            axes = axes.replace("S", "") + "S"
        else:
            axes = axes.replace("S", "C")
    axes = "".join("T" if a not in "TCZYXS" else a for a in axes)
    if rgb:
        return arr.reshape(arr.shape[-3:])
    for a in "TCZ":
        if a not in axes:
            arr, axes = arr[np.newaxis], a + axes
    return arr.transpose([axes.index(a) for a in "TCZYX"])
