"""What Bio-Formats (``bioformats_package.jar``) reports for files: series, sizes,
channel names, physical sizes.

``reports(jar, paths)`` runs Bio-Formats' own ``ImageInfo`` (``-nopix -omexml``)
on every path and parses the OME-XML it prints. With a JDK (``javac``), all
paths go through one JVM: a ten-line class calls ``ImageInfo.testRead`` per
file, which saves ~1 s of JVM start per file. With only a JRE, each file gets
its own ``java ... ImageInfo`` run, two at a time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARGS = ["-nopix", "-omexml", "-noflat", "-no-upgrade", "-nometa"]
MARK = "=====napari-viv-bioformats-file "
_BATCH_JAVA = """
import loci.formats.tools.ImageInfo;
public class BatchInfo {
  public static void main(String[] files) {
    for (String f : files) {
      System.out.println("%s" + f);
      String[] args = {%s, f};
      try { new ImageInfo().testRead(args); }
      catch (Throwable e) { System.out.println("BATCH-ERROR " + e); }
      System.out.flush();
    }
  }
}
"""

_TO_UM = {"\u00b5m": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6, "pm": 1e-6, "\u00c5": 1e-4}


def jar_or_reason() -> tuple[Path | None, str | None]:
    """The jar (NAPARI_VIV_BIOFORMATS_JAR or .cache/bioformats/), or why it can't run."""
    env = os.environ.get("NAPARI_VIV_BIOFORMATS_JAR")
    jar = Path(env) if env else REPO / ".cache" / "bioformats" / "bioformats_package.jar"
    if shutil.which("java") is None:
        return None, "java is not installed (run .ci/run)"
    if not jar.is_file():
        return None, f"bioformats_package.jar not found at {jar} (run .ci/run)"
    return jar, None


@dataclass
class Series:
    """One Bio-Formats series: sizes, channel names and physical sizes in µm."""

    sizes: dict  # X, Y, Z, C, T as Pixels says (C counts RGB samples, e.g. 3)
    type: str
    names: list = field(default_factory=list)  # one per <Channel>, None when unnamed
    samples: list = field(default_factory=list)  # SamplesPerPixel per <Channel>
    physical_um: dict = field(default_factory=dict)  # x, y, z in micrometres


@dataclass
class Report:
    series: list  # [Series]
    error: str | None = None
    text: str = ""


def parse(text: str) -> Report:
    """ImageInfo's output for one file -> :class:`Report`."""
    start, end = text.find("<?xml"), text.rfind("</OME>")
    if start < 0 or end < 0:
        err = next((ln for ln in text.splitlines() if "Exception" in ln or "BATCH-ERROR" in ln), text.strip()[-300:])
        return Report([], error=err, text=text)
    root = ET.fromstring(text[start : end + len("</OME>")].encode("utf-8"))
    out = []
    for image in (el for el in root if el.tag.rsplit("}", 1)[-1] == "Image"):
        pixels = next(el for el in image if el.tag.rsplit("}", 1)[-1] == "Pixels")
        a = pixels.attrib
        sizes = {k: int(a[f"Size{k}"]) for k in "XYZCT"}
        phys = {}
        for axis in "XYZ":
            if f"PhysicalSize{axis}" in a:
                unit = a.get(f"PhysicalSize{axis}Unit", "\u00b5m")
                phys[axis.lower()] = float(a[f"PhysicalSize{axis}"]) * _TO_UM[unit]
        channels = [el for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel"]
        out.append(
            Series(
                sizes,
                a["Type"],
                [c.get("Name") for c in channels],
                [int(c.get("SamplesPerPixel", "1")) for c in channels],
                phys,
            )
        )
    return Report(out, text=text)


def reports(jar: Path, paths) -> dict:
    """``{path: Report}`` for every path (one JVM when a JDK is there)."""
    paths = [str(p) for p in paths]
    if shutil.which("javac"):
        try:
            return _batch(jar, paths)
        except (OSError, subprocess.CalledProcessError):
            pass  # fall back to one JVM per file
    with ThreadPoolExecutor(2) as pool:
        texts = list(pool.map(lambda p: _one(jar, p), paths))
    return {Path(p): parse(t) for p, t in zip(paths, texts, strict=True)}


def _one(jar: Path, path: str) -> str:
    proc = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-cp", str(jar), "loci.formats.tools.ImageInfo", *ARGS, path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.stdout + proc.stderr


def _batch(jar: Path, paths: list) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "BatchInfo.java"
        src.write_text(_BATCH_JAVA % (MARK, ", ".join(f'"{a}"' for a in ARGS)))
        subprocess.run(["javac", "-cp", str(jar), "-d", tmp, str(src)], check=True, capture_output=True, timeout=120)
        proc = subprocess.run(
            ["java", "-cp", f"{jar}{os.pathsep}{tmp}", "BatchInfo", *paths], capture_output=True, text=True, timeout=600
        )
    out, current, chunk = {}, None, []
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            if current is not None:
                out[Path(current)] = parse("\n".join(chunk))
            current, chunk = line[len(MARK) :], []
        else:
            chunk.append(line)
    if current is not None:
        out[Path(current)] = parse("\n".join(chunk))
    missing = [p for p in paths if Path(p) not in out]
    if missing:  # the JVM died part-way: the rest one by one
        for p in missing:
            out[Path(p)] = parse(_one(jar, p))
    return out
