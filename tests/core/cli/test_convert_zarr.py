"""`napari-viv convert` and `batch` writing OME-Zarr: the real console script in a subprocess.

The format follows the output's suffix (``.ome.zarr``/``.zarr``) or
``--format``; ``--ngff``, ``--shard-size`` and the Zarr codecs apply to it;
contradicting options are usage errors (exit 2) before any file is opened; a
killed, cancelled or failed conversion leaves nothing at the output, and
``--overwrite`` replaces an old store only once the new one is complete.
Stores are judged by zarr-python, ome-zarr-models and (node) the real Viv
loader, never by our own reader.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.range_http import serve_folder
from helpers.source_files import ramp

zarr = pytest.importorskip("zarr", reason="zarr is needed to read the stores back")
ome_zarr_models = pytest.importorskip("ome_zarr_models", reason="pip install ome-zarr-models (the test extra)")

EXE = shutil.which("napari-viv") or "napari-viv"
HARNESS = Path(__file__).resolve().parents[2] / "viv" / "zarr_codecs.mjs"


def cli(command, *args, cwd=None, timeout=240):
    proc = subprocess.run([EXE, command, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def level0(store: Path) -> np.ndarray:
    return np.asarray(zarr.open_group(store, mode="r")["0"][...])


def tree_digest(folder: Path) -> str:
    """One hash of every file's relative path and bytes (to tell a store changed)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "in.npy"
    np.save(path, ramp((3, 300, 420)))
    return path


# --- the format follows the name, or --format -------------------------------------------


@pytest.mark.parametrize("name", ["out.ome.zarr", "out.zarr", "OUT.ZARR"])
def test_a_zarr_name_writes_an_ngff_04_store(tmp_path, src, name):
    rc, stdout, err = cli("convert", src, tmp_path / name, "--tile-size", "128")
    assert rc == 0, err
    store = tmp_path / name
    assert listing(tmp_path) == {"in.npy", name}  # no .ome.tif, no offsets file
    assert (store / ".zgroup").is_file() and (store / "0" / ".zarray").is_file()
    model = ome_zarr_models.open_ome_zarr(zarr.open_group(store, mode="r"))
    assert type(model).__module__.startswith("ome_zarr_models.v04")
    np.testing.assert_array_equal(level0(store), np.load(src))
    assert f"wrote {store}" in stdout and "NGFF 0.4" in stdout and "offsets" not in stdout
    assert f" {np.load(src).dtype.name}: 3 plane(s)" in stdout  # the type by name, as for 0.5 and TIFF


def test_format_forces_the_format_of_a_plain_name(tmp_path, src):
    rc, _, err = cli("convert", src, tmp_path / "plain", "--format", "ome-zarr")
    assert rc == 0, err
    assert (tmp_path / "plain.ome.zarr" / ".zattrs").is_file()
    rc, _, err = cli("convert", src, tmp_path / "other", "--format", "ome-tiff")
    assert rc == 0, err
    assert listing(tmp_path) == {"in.npy", "plain.ome.zarr", "other.ome.tif", "other.offsets.json"}


def test_ngff_05_with_shard_size(tmp_path, src):
    store = tmp_path / "s.ome.zarr"
    rc, stdout, err = cli("convert", src, store, "--ngff", "0.5", "--tile-size", "64", "--shard-size", "256")
    assert rc == 0, err
    meta = json.loads((store / "0" / "zarr.json").read_text())
    assert meta["zarr_format"] == 3
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 256, 256]
    assert meta["codecs"][0]["configuration"]["chunk_shape"] == [1, 64, 64]
    shards = [p for p in (store / "0" / "c").rglob("*") if p.is_file()]
    assert len(shards) == 3 * math.ceil(300 / 256) * math.ceil(420 / 256)
    model = ome_zarr_models.open_ome_zarr(zarr.open_group(store, mode="r"))
    assert type(model).__module__.startswith("ome_zarr_models.v05")
    np.testing.assert_array_equal(level0(store), np.load(src))
    assert "NGFF 0.5" in stdout and "256-px shards" in stdout
    assert f" {np.load(src).dtype.name}: 3 plane(s)" in stdout


@pytest.mark.parametrize(
    "compression,expect",
    [
        (None, {"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 2}),  # the default
        ("blosc", {"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 2}),
        ("blosc-lz4", {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 2}),
        ("zstd:5", {"id": "zstd", "level": 5}),
        ("zlib:6", {"id": "zlib", "level": 6}),
        ("none", None),
    ],
)
def test_zarr_codecs(tmp_path, src, compression, expect):
    store = tmp_path / "c.ome.zarr"
    rc, _, err = cli("convert", src, store, *(["--compression", compression] if compression else []))
    assert rc == 0, err
    compressor = json.loads((store / "0" / ".zarray").read_text())["compressor"]
    if expect is None:
        assert compressor is None
    else:
        assert {k: compressor[k] for k in expect} == expect
    np.testing.assert_array_equal(level0(store), np.load(src))


# --- usage errors: exit 2 before anything is opened ---------------------------------------


@pytest.mark.parametrize(
    "output,options,match",
    [
        ("x.ome.zarr", ["--format", "ome-tiff"], "--format ome-tiff"),
        ("x.zarr", ["--format", "ome-tiff"], "--format ome-tiff"),
        ("x.ome.tif", ["--format", "ome-zarr"], "--format ome-zarr"),
        ("x.ome.tif", ["--ngff", "0.5"], "--ngff applies to OME-Zarr"),
        ("x", ["--shard-size", "1024"], "--shard-size applies to OME-Zarr"),
        ("x.ome.zarr", ["--shard-size", "1024"], "--ngff 0.5"),
        ("x.ome.zarr", ["--ngff", "0.5", "--tile-size", "256", "--shard-size", "300"], "multiple"),
        ("x.ome.zarr", ["--compression", "lzw"], "not offered for OME-Zarr"),
        ("x.ome.zarr", ["--compression", "jpeg"], "not offered for OME-Zarr"),
        ("x.ome.zarr", ["--compression", "blosc-zstd:10"], "1..9"),
        ("x.ome.tif", ["--compression", "blosc"], "OME-Zarr codec"),
        ("x.ome.zarr", ["--ngff", "0.3"], "invalid choice"),
        ("x.ome.zarr", ["--format", "n5"], "invalid choice"),
    ],
)
def test_contradictions_are_usage_errors(tmp_path, output, options, match):
    missing = tmp_path / "missing.npy"  # never opened: the options are refused first
    rc, stdout, err = cli("convert", missing, tmp_path / output, *options)
    assert rc == 2, err
    assert match in err and "Traceback" not in err and "missing.npy" not in err
    assert listing(tmp_path) == set()


def test_batch_refuses_zarr_options_without_ome_zarr(tmp_path, src):
    rc, _, err = cli("batch", src, "--out-dir", tmp_path / "out", "--ngff", "0.5")
    assert rc == 2 and "--ngff applies to OME-Zarr" in err
    assert not (tmp_path / "out").exists()


# --- nothing half-written ------------------------------------------------------------------


def test_existing_store_needs_overwrite_and_a_non_store_folder_is_never_replaced(tmp_path, src):
    store = tmp_path / "o.ome.zarr"
    assert cli("convert", src, store)[0] == 0
    before = tree_digest(store)
    rc, _, err = cli("convert", src, store)
    assert rc == 1 and "already exists" in err and tree_digest(store) == before
    folder = tmp_path / "notes.zarr"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    rc, _, err = cli("convert", src, folder, "--overwrite")
    assert rc == 1 and "not a Zarr store" in err
    assert listing(folder) == {"keep.txt"}
    (tmp_path / "file.zarr").write_text("x")
    rc, _, err = cli("convert", src, tmp_path / "file.zarr")
    assert rc == 1 and "is a file" in err
    assert listing(tmp_path) == {"in.npy", "o.ome.zarr", "notes.zarr", "file.zarr"}


def test_failed_convert_leaves_nothing_and_keeps_the_old_store(tmp_path, src):
    store = tmp_path / "o.ome.zarr"
    assert cli("convert", src, store)[0] == 0
    before = tree_digest(store)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(src.read_bytes()[:5000])  # the header promises more pixels than there are
    rc, _, err = cli("convert", bad, store, "--overwrite")
    assert rc == 1 and "Traceback" not in err
    assert tree_digest(store) == before
    rc, _, err = cli("convert", bad, tmp_path / "new.ome.zarr")
    assert rc == 1
    assert listing(tmp_path) == {"in.npy", "bad.npy", "o.ome.zarr"}  # no hidden .part folder either


def _start_and_wait_for_part(args, folder: Path) -> subprocess.Popen:
    """Start ``napari-viv convert ARGS``; return once its hidden temporary store exists."""
    proc = subprocess.Popen([EXE, "convert", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.endswith(".part") for p in folder.iterdir()):
            return proc
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no temporary store appeared: {proc.communicate()}")


@pytest.mark.slow
@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_killed_or_cancelled_overwrite_keeps_the_old_store(tmp_path, src, ngff):
    store = tmp_path / "z.ome.zarr"
    assert cli("convert", src, store)[0] == 0
    before = tree_digest(store)
    big = tmp_path / "zeros.npy"  # 512 MiB sparse: instant to make, seconds to convert
    np.lib.format.open_memmap(big, mode="w+", dtype="uint16", shape=(4, 8192, 8192)).flush()
    args = [big, store, "--overwrite", "--ngff", ngff, "--workers", "1"]

    proc = _start_and_wait_for_part(args, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert listing(tmp_path) == {"in.npy", "zeros.npy", "z.ome.zarr"}
    assert tree_digest(store) == before

    proc = _start_and_wait_for_part(args, tmp_path)
    proc.kill()  # SIGKILL: no clean-up runs
    proc.communicate(timeout=60)
    assert tree_digest(store) == before  # the old store is untouched
    left = listing(tmp_path) - {"in.npy", "zeros.npy", "z.ome.zarr"}
    assert left and all(name.startswith(".z.ome.zarr.") for name in left)  # only the hidden temporary


# --- batch ---------------------------------------------------------------------------------


def test_batch_writes_stores_resumes_and_redoes_an_incomplete_one(tmp_path, src):
    other = tmp_path / "other.npy"
    np.save(other, ramp((2, 130, 170), dtype="uint8"))
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    args = [src, other, "--out-dir", out, "--format", "ome-zarr", "--ngff", "0.5", "--report", report]
    rc, _, err = cli("batch", *args, "--tile-size", "64", "--shard-size", "128")
    assert rc == 0, err
    assert listing(out) == {"in.ome.zarr", "other.ome.zarr"}
    np.testing.assert_array_equal(level0(out / "other.ome.zarr"), np.load(other))
    files = {Path(f["output"]).name: f for f in json.loads(report.read_text())["files"]}
    size = sum(p.stat().st_size for p in (out / "in.ome.zarr").rglob("*") if p.is_file())
    assert files["in.ome.zarr"]["status"] == "done" and files["in.ome.zarr"]["output_bytes"] == size

    rc, stdout, err = cli("batch", *args)
    assert rc == 0, err
    files = {Path(f["output"]).name: f for f in json.loads(report.read_text())["files"]}
    assert {f["status"] for f in files.values()} == {"skipped"}
    assert files["in.ome.zarr"]["output_bytes"] == size

    shard = next(p for p in (out / "other.ome.zarr" / "0" / "c").rglob("*") if p.is_file())
    shard.unlink()  # an incomplete store is converted again
    rc, _, err = cli("batch", *args)
    assert rc == 0, err
    files = {Path(f["output"]).name: f for f in json.loads(report.read_text())["files"]}
    assert files["other.ome.zarr"]["status"] == "done" and files["in.ome.zarr"]["status"] == "skipped"
    assert shard.is_file()
    np.testing.assert_array_equal(level0(out / "other.ome.zarr"), np.load(other))


# --- the real Viv loader decodes every Zarr codec we write ----------------------------------


@pytest.mark.node
def test_viv_loader_reads_every_zarr_codec(tmp_path):
    from napari_viv import export_pyramid

    a = ramp((2, 200, 260))
    stores = {}
    for ngff in ("0.4", "0.5"):
        for codec in ("blosc", "blosc-lz4:9", "zstd:3", "zlib", "none"):
            name = f"{codec.replace(':', '_')}_{ngff}.ome.zarr"
            export_pyramid(a, tmp_path / name, tile_size=64, ngff=ngff, compression=codec)
            stores[(codec, ngff)] = name
    with serve_folder(tmp_path) as base:  # with byte ranges: zarrita reads shard indexes by range
        urls = {key: f"{base}/{name}" for key, name in stores.items()}
        run = subprocess.run(
            ["node", str(HARNESS), *urls.values()], capture_output=True, text=True, timeout=300, cwd=HARNESS.parent
        )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    want = [hashlib.sha256(np.ascontiguousarray(a[c]).tobytes()).hexdigest() for c in range(2)]
    for key, url in urls.items():
        assert seen[url]["ok"], (key, seen[url])
        assert seen[url]["planes"] == want, key
        datasets = zarr.open_group(tmp_path / stores[key], mode="r").metadata.attributes
        datasets = datasets.get("ome", datasets)["multiscales"][0]["datasets"]
        assert seen[url]["levels"] == len(datasets) > 1, key
