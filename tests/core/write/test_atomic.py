"""Atomic output: nothing at the output path and no temporary files after an
error, a cancel or SIGKILL; overwrite rules; unusable folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tifffile

import napari_viv.write.atomic as atomic
from napari_viv.errors import Cancelled, NapariVivError
from napari_viv.write.atomic import AtomicPair
from napari_viv.write.writer import export_pyramid


def listing(folder):
    return sorted(p.name for p in folder.iterdir())  # includes hidden files


class Failing:
    """An array-like that fails after ``after`` reads."""

    def __init__(self, arr, after):
        self.arr, self.shape, self.dtype, self.after, self.n = arr, arr.shape, arr.dtype, after, 0

    def __getitem__(self, idx):
        self.n += 1
        if self.n > self.after:
            raise OSError("disk went away")
        return self.arr[idx]


def test_pair_commit_and_discard(tmp_path):
    with AtomicPair(tmp_path / "a.ome.tif", tmp_path / "a.offsets.json") as out:
        out.file.write(b"tiff bytes")
        assert listing(tmp_path) == []  # unnamed while being written
        out.commit(b"[8]")
    assert listing(tmp_path) == ["a.offsets.json", "a.ome.tif"]
    assert (tmp_path / "a.ome.tif").read_bytes() == b"tiff bytes"
    with pytest.raises(RuntimeError), AtomicPair(tmp_path / "b.ome.tif", tmp_path / "b.offsets.json") as out:
        out.file.write(b"x")
        raise RuntimeError
    assert listing(tmp_path) == ["a.offsets.json", "a.ome.tif"]


def test_error_from_source_mid_write_leaves_nothing(tmp_path):
    a = np.zeros((3, 300, 300), np.uint16)
    with pytest.raises(NapariVivError, match="disk went away") as exc:
        export_pyramid(Failing(a, 5), tmp_path / "f.ome.tif", tile_size=32)
    assert "\n" not in str(exc.value) and "f.ome.tif" in str(exc.value)
    assert listing(tmp_path) == []


def test_cancel_leaves_nothing_and_keeps_old_output(tmp_path):
    a = np.ones((2, 200, 200), np.uint8)
    export_pyramid(a, tmp_path / "c.ome.tif")
    before = (tmp_path / "c.ome.tif").read_bytes()
    with pytest.raises(Cancelled):
        export_pyramid(a * 2, tmp_path / "c.ome.tif", tile_size=32, overwrite=True, cancel=lambda: True)
    assert listing(tmp_path) == ["c.offsets.json", "c.ome.tif"]
    assert (tmp_path / "c.ome.tif").read_bytes() == before


def test_overwrite_rules(tmp_path):
    a = np.zeros((40, 40), np.uint8)
    tif, js = export_pyramid(a, tmp_path / "o.ome.tif").paths[:2]
    old = tif.read_bytes()
    with pytest.raises(NapariVivError, match="already exists"):
        export_pyramid(a + 1, tmp_path / "o.ome.tif")
    assert tif.read_bytes() == old
    js.write_text("stale")
    export_pyramid(np.zeros((3, 40, 40), np.uint8), tmp_path / "o.ome.tif", overwrite=True)
    with tifffile.TiffFile(tif) as t:
        assert js.read_text() == json.dumps([p.offset for p in t.pages])
        assert len(t.pages) == 3
    # an offsets.json alone (without its image) also counts as existing output
    (tmp_path / "p.offsets.json").write_text("[]")
    with pytest.raises(NapariVivError, match="p.offsets.json"):
        export_pyramid(a, tmp_path / "p.ome.tif")
    assert listing(tmp_path) == ["o.offsets.json", "o.ome.tif", "p.offsets.json"]


def test_missing_or_bad_folder(tmp_path):
    a = np.zeros((20, 20), np.uint8)
    with pytest.raises(NapariVivError, match="nope.*does not exist"):
        export_pyramid(a, tmp_path / "nope" / "x.ome.tif")
    (tmp_path / "file").write_text("")
    with pytest.raises(NapariVivError, match="file is a file, not a folder"):
        export_pyramid(a, tmp_path / "file" / "x.ome.tif")


def test_unwritable_folder(readonly_folder):
    with pytest.raises(NapariVivError, match="readonly.*not writable"):
        export_pyramid(np.zeros((20, 20), np.uint8), readonly_folder / "x.ome.tif")
    assert listing(readonly_folder) == []


def test_fallbacks_without_o_tmpfile_or_fd_linking(tmp_path, monkeypatch):
    a = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    monkeypatch.setattr(atomic, "_AT_EMPTY_PATH", 0)  # linkat("") now fails
    tif, js = export_pyramid(a, tmp_path / "l.ome.tif", tile_size=16).paths[:2]
    np.testing.assert_array_equal(tifffile.imread(tif), a)
    monkeypatch.delattr(os, "O_TMPFILE")  # named temporary files
    tif, js = export_pyramid(a, tmp_path / "n.ome.tif", tile_size=16).paths[:2]
    np.testing.assert_array_equal(tifffile.imread(tif), a)
    with pytest.raises(NapariVivError):
        export_pyramid(Failing(a, 2), tmp_path / "m.ome.tif", tile_size=16)
    assert listing(tmp_path) == ["l.offsets.json", "l.ome.tif", "n.offsets.json", "n.ome.tif"]


SLOW_EXPORT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from napari_viv.write.writer import export_pyramid

    class Slow:
        shape, dtype = (4, 2048, 2048), np.dtype("uint16")
        def __getitem__(self, idx):
            print("reading", flush=True)
            time.sleep(0.05)
            return np.ones((2048, 2048), np.uint16)[idx[1:]]

    export_pyramid(Slow(), sys.argv[1], tile_size=64)
    print("finished", flush=True)
""")


def test_sigkill_mid_write_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "slow_export.py"
    script.write_text(SLOW_EXPORT)
    proc = subprocess.Popen([sys.executable, str(script), str(out / "k.ome.tif")], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(20):  # let it write a good part of the first plane
            line = proc.stdout.readline()
            assert line.strip() == "reading"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.1)
    assert listing(out) == []
