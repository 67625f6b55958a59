"""napari_viv.convert (one file's conversion) and the examples of the CLI and batch modules."""

from __future__ import annotations

import doctest
import importlib
import tempfile

import numpy as np
import pytest
import tifffile
from helpers.source_files import ramp

from napari_viv.convert import ConvertOptions, convert_one, written_dtype_note
from napari_viv.errors import NapariVivError

EXAMPLES = [
    "napari_viv.convert",
    "napari_viv.text",
    "napari_viv.batch.resume",
    "napari_viv.batch.rows",
    "napari_viv.batch.runner",
    "napari_viv.batch.task",
    "napari_viv.cli",
    "napari_viv.cli.common",
    "napari_viv.cli.options",
]


@pytest.mark.parametrize("module", EXAMPLES)
def test_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0


def test_reader_errors_pass_through_untouched(tmp_path):
    from napari_viv.read import open_image

    cut = tmp_path / "cut.ome.tif"
    tifffile.imwrite(cut, ramp((2, 256, 256)), tile=(64, 64), metadata={"axes": "CYX"})
    cut.write_bytes(cut.read_bytes()[:5000])
    with pytest.raises(NapariVivError) as read:
        open_image(cut, streaming=True)
    with pytest.raises(NapariVivError) as converted:
        convert_one(cut, tmp_path / "x.ome.tif", ConvertOptions())
    assert str(converted.value) == str(read.value)
    assert (converted.value.problem, converted.value.subject) == (read.value.problem, read.value.subject)
    assert not (tmp_path / "x.ome.tif").exists()


def test_an_error_about_the_image_names_the_input_file(tmp_path):
    src = tmp_path / "cells.npy"
    np.save(src, ramp((2, 64, 64)))  # uint16: JPEG is 8-bit only, found when the export plans
    with pytest.raises(NapariVivError) as err:
        convert_one(src, tmp_path / "x.ome.tif", ConvertOptions(compression="jpeg"))
    assert err.value.subject == str(src)
    assert str(err.value).startswith(f"{src}: ")
    assert "jpeg" in err.value.problem.lower()
    assert not (tmp_path / "x.ome.tif").exists()


def test_own_checks_are_about_the_input(tmp_path):
    src = tmp_path / "flat.npy"
    np.save(src, ramp((64, 64)))
    with pytest.raises(NapariVivError) as err:
        convert_one(src, tmp_path / "x.ome.tif", ConvertOptions(channel_names=("a", "b")))
    assert err.value.subject == str(src)
    assert err.value.problem == "has no channel axis; --channel-names does not apply"


@pytest.mark.parametrize(("dtype", "written"), [("float16", "float32"), ("bool", "uint8"), ("float32", None)])
def test_written_dtype_note_follows_the_writer(tmp_path, dtype, written):
    src = tmp_path / "a.npy"
    np.save(src, np.ones((32, 32), dtype))
    notes = []
    _, result = convert_one(src, tmp_path / "a.ome.tif", ConvertOptions(), note=notes.append)
    with tifffile.TiffFile(result.image) as t:
        got = t.pages.first.dtype
    if written is None:
        assert notes == [] and written_dtype_note(dtype) is None and got == np.dtype(dtype)
    else:
        assert got == np.dtype(written)
        assert notes == [written_dtype_note(dtype)]
        assert notes[0].startswith(f"{dtype} pixels are written as {written}")
