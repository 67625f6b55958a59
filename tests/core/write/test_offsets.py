"""offsets.json: byte-identical to generate-tiff-offsets 0.1.9; the CLI command."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from generate_tiff_offsets.generate_tiff_offsets import generate_tiff_offsets

from napari_viv.cli import main
from napari_viv.errors import NapariVivError
from napari_viv.naming import offsets_path as offsets_path_for
from napari_viv.write.offsets import read_offsets, write_offsets
from napari_viv.write.writer import export_pyramid


def reference_bytes(tif, tmp_path):
    """Run generate-tiff-offsets on a copy of ``tif`` and return its output bytes."""
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir(exist_ok=True)
    copy = ref_dir / tif.name
    shutil.copy(tif, copy)
    generate_tiff_offsets(str(copy))
    (out,) = ref_dir.glob("*.offsets.json")
    return out.read_bytes()


@pytest.mark.parametrize("shape,axes", [((50, 60), "YX"), ((3, 2, 4, 40, 40), "TCZYX"), ((40, 40, 3), "YXS")])
def test_export_offsets_identical_to_generate_tiff_offsets(tmp_path, shape, axes):
    a = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    tif, js = export_pyramid(a, tmp_path / "img.ome.tif", axes=axes, tile_size=16).paths[:2]
    assert js.read_bytes() == reference_bytes(tif, tmp_path)
    assert not js.read_bytes().endswith(b"\n")
    nplanes = 1 if axes == "YXS" else int(np.prod(shape[:-2]))
    offsets = read_offsets(tif)
    assert len(offsets) == nplanes  # main chain only, no SubIFDs
    with tifffile.TiffFile(tif) as t:
        assert offsets == [p.offset for p in t.pages]
        assert len(t.pages[0].subifds) >= 1


def test_offsets_path_for(tmp_path):
    assert offsets_path_for(tmp_path / "a.ome.tif") == tmp_path / "a.offsets.json"
    assert offsets_path_for(tmp_path / "a.ome.tiff") == tmp_path / "a.offsets.json"
    assert offsets_path_for(tmp_path / "a.b.tif") == tmp_path / "a.b.offsets.json"
    assert offsets_path_for("rel/x.ome.tif").as_posix() == "rel/x.offsets.json"


def test_write_offsets_for_a_foreign_file(tmp_path):
    tif = tmp_path / "other.ome.tiff"
    tifffile.imwrite(tif, np.zeros((5, 32, 32), np.uint16), tile=(16, 16))
    out = write_offsets(tif)
    assert out == tmp_path / "other.offsets.json"
    assert out.read_bytes() == reference_bytes(tif, tmp_path)
    custom = write_offsets(tif, tmp_path / "x.json")
    assert custom.read_bytes() == out.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "other.offsets.json",
        "other.ome.tiff",
        "x.json",
    ]


def test_cli(tmp_path, capsys):
    tif = tmp_path / "c.ome.tif"
    tifffile.imwrite(tif, np.zeros((3, 20, 20), np.uint8))
    assert main(["offsets", str(tif)]) == 0
    assert (tmp_path / "c.offsets.json").read_bytes() == reference_bytes(tif, tmp_path)
    assert main(["offsets", str(tif), "-o", str(tmp_path / "o.json")]) == 0
    assert (tmp_path / "o.json").is_file()

    assert main(["offsets", str(tmp_path / "missing.ome.tif")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.ome.tif" in err[0]
    junk = tmp_path / "junk.ome.tif"
    junk.write_text("not a tiff")
    assert main(["offsets", str(junk)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk.ome.tif" in err[0] and "TIFF" in err[0]
    assert not (tmp_path / "junk.offsets.json").exists()


def test_cli_entry_point(tmp_path):
    tif = tmp_path / "e.ome.tif"
    tifffile.imwrite(tif, np.zeros((20, 20), np.uint8))
    proc = subprocess.run([sys.executable, "-m", "napari_viv", "offsets", str(tif)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "e.offsets.json").read_text() == "[" + str(read_offsets(tif)[0]) + "]"


def test_read_offsets_errors(tmp_path):
    with pytest.raises(NapariVivError, match="no such file"):
        read_offsets(tmp_path / "nope.tif")
    (tmp_path / "d.tif").mkdir()
    with pytest.raises(NapariVivError):
        read_offsets(tmp_path / "d.tif")
