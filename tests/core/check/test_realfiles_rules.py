"""The rules issue 13 added for files from other software, on small files made here
(so they hold on a clone without ../shared/realfiles; tests/realfiles runs the real ones)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import tifffile

from napari_viv.cli import main
from napari_viv.errors import NapariVivError
from napari_viv.read import list_series, open_image

OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def ramp(shape, dtype="uint16"):
    return (np.arange(int(np.prod(shape))) % 251).reshape(shape).astype(dtype)


def test_imagej_escaped_micro_sign_keeps_the_pixel_size(tmp_path):
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, ramp((40, 50)), imagej=True, resolution=(4.0, 4.0), metadata={"unit": "\\u00B5m"})
    src = open_image(path)
    assert src.metadata.unit == "\u00b5m"
    assert src.metadata.physical_sizes == pytest.approx({"x": 0.25, "y": 0.25})


@pytest.mark.parametrize(
    "res,unit,expect",
    [
        ((72.0, 72.0), "INCH", None),
        ((96.0, 96.0), "INCH", None),
        ((72 / 2.54, 72 / 2.54), "CENTIMETER", None),  # 72 dpi written in pixels per cm
        ((25400.0, 25400.0), "INCH", 1.0),
        ((20000.0, 20000.0), "CENTIMETER", 0.5),
    ],
)
def test_resolution_tags_give_a_size_only_when_they_can_be_a_measurement(tmp_path, res, unit, expect):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, ramp((30, 40)), resolution=res, resolutionunit=unit, metadata=None)
    src = open_image(path)
    if expect is None:
        assert src.metadata.physical_sizes == {}
        assert any("dpi, a screen or print default" in n for n in src.notes), src.notes
    else:
        assert src.metadata.physical_sizes == pytest.approx({"x": expect, "y": expect})
        assert not src.notes


def test_page_stack_without_axes_is_a_time_series(tmp_path):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, ramp((6, 20, 30)))  # tifffile's shaped description: no axes
    src = open_image(path)
    assert src.metadata.axes == "TYX" and src.shape == (6, 20, 30)


def test_planar_8bit_rgb_ome_is_rgb(tmp_path):
    rgb = ramp((3, 60, 70), "uint8")
    path = tmp_path / "planar.ome.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", planarconfig="separate", metadata={"axes": "SYX"})
    src = open_image(path)
    assert src.metadata.axes == "YXS"
    np.testing.assert_array_equal(src.levels[0].compute(), rgb.transpose(1, 2, 0))


def test_four_samples_of_uint16_are_four_channels(tmp_path):
    data = ramp((50, 40, 4))
    path = tmp_path / "geomx.tif"
    tifffile.imwrite(path, data, photometric="rgb", extrasamples=[2], metadata=None)
    src = open_image(path)
    assert src.metadata.axes == "CYX" and src.shape == (4, 50, 40)


def _binary_only(path, metadata_file):
    xml = (
        f'<?xml version="1.0"?><OME xmlns="{OME_NS}" UUID="urn:uuid:1">'
        f'<BinaryOnly MetadataFile="{metadata_file}" UUID="urn:uuid:0"/></OME>'
    )
    tifffile.imwrite(path, ramp((20, 30), "uint8"), description=xml.encode(), metadata=None)


def test_binary_only_member_opens_its_set_or_is_refused(tmp_path):
    master = tmp_path / "set.ome.tif"
    tifffile.imwrite(master, ramp((2, 20, 30), "uint8"), metadata={"axes": "CYX"})
    member = tmp_path / "member.ome.tif"
    _binary_only(member, master.name)
    src = open_image(member)
    assert src.shape == (2, 20, 30)
    assert any("holds only pixels" in n and master.name in n for n in src.notes)
    lonely = tmp_path / "lonely.ome.tif"
    _binary_only(lonely, "gone.ome.tif")
    with pytest.raises(NapariVivError, match=r"lonely\.ome\.tif: holds only pixels .* gone\.ome\.tif is not here"):
        open_image(lonely)


def test_check_json_reports_unreadable_files(tmp_path):
    junk = tmp_path / "junk.ome.tif"
    junk.write_bytes(b"not a tiff at all")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["check", "--json", str(junk)])
    assert rc == 1
    obj = json.loads(out.getvalue())
    assert obj["ok"] is False and obj["path"] == str(junk) and "not a readable TIFF" in obj["error"]


def test_check_leads_with_what_a_foreign_tiff_is(tmp_path):
    from napari_viv.check.rules import check_file

    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, ramp((20, 30)), imagej=True)
    (finding,) = check_file(path).findings
    assert finding.message.startswith("this is an ImageJ/Fiji TIFF") and "not an OME-TIFF" in finding.message
    assert "napari-viv convert fiji.tif fiji.ome.tif" in finding.fix


def test_all_series_writes_one_file_per_series(tmp_path):
    from napari_viv.naming import series_output_path

    a, b = ramp((2, 40, 48)), ramp((3, 32, 30))
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(a, metadata={"axes": "CYX", "Name": "first"})
        tw.write(b, metadata={"axes": "CYX", "Name": "second"})
    assert [s.name for s in list_series(path)] == ["first", "second"]
    out = tmp_path / "out.ome.tif"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["convert", str(path), str(out), "--all-series", "--no-progress"]) == 0
    for i, want in enumerate([a, b]):
        np.testing.assert_array_equal(tifffile.imread(series_output_path(out, i)), want)
    assert sorted(p.name for p in tmp_path.glob("out_s*.ome.tif")) == ["out_s0.ome.tif", "out_s1.ome.tif"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as usage:
        main(["convert", str(path), str(tmp_path / "x.ome.tif"), "--all-series", "--series", "1"])
    assert usage.value.code == 2  # a usage error: options that exclude each other
    assert "--series" in err.getvalue() and "--all-series" in err.getvalue()
