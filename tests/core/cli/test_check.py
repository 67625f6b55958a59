"""`napari-viv check`: output, exit status, --json, and unreadable input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from helpers import corpus  # noqa: E402

from napari_viv.check.rules import check_file  # noqa: E402
from napari_viv.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    return corpus.build(folder, ["codec_zlib_pred", "codec_zstd", "offsets_missing", "layout_legacy", "unit_um"])


def run_cli(*args):
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "napari_viv", "check", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_good_file_exits_0_and_says_ok(files, capsys):
    assert main(["check", str(files["codec_zlib_pred"].path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "NOT OK" not in out
    assert "error:" not in out
    # what Viv will show, worked out here from the corpus' own sizes
    assert f"2 channels uint16, 3 levels ({corpus.W}x{corpus.H} > {corpus.W // 4}x{corpus.H // 4})" in out


def test_bad_file_exits_1_and_lists_reason_and_fix(files, capsys):
    assert main(["check", str(files["codec_zstd"].path)]) == 1
    out = capsys.readouterr().out
    assert "NOT OK" in out
    assert "error:" in out and "zstd" in out
    assert "fix:" in out and "napari-viv convert" in out


def test_every_reason_is_listed(files, capsys):
    """Two independent defects -> both errors printed, each with a fix."""
    bad = files["unit_um"].path
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.count("error:") == 2  # X and Y units
    assert out.count("fix:") == out.count("error:") + out.count("warning:")


def test_warnings_alone_exit_0(files, capsys):
    assert main(["check", str(files["offsets_missing"].path)]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "napari-viv offsets" in out


def test_quiet_hides_warnings_and_ok_lines(files, capsys):
    assert main(["check", "-q", str(files["offsets_missing"].path)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["check", "-q", str(files["layout_legacy"].path)]) == 1
    out = capsys.readouterr().out
    assert "legacy" in out and "warning:" not in out


def test_json_matches_check_file(files, capsys):
    paths = [files[n].path for n in ("codec_zlib_pred", "layout_legacy")]
    assert main(["check", "--json", *map(str, paths)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, paths, strict=True):
        data = json.loads(line)
        report = check_file(path)
        assert data["path"] == str(path)
        assert data["ok"] is report.ok
        assert data["images"] == report.images
        assert [f["message"] for f in data["findings"]] == [f.message for f in report.findings]
        assert all(set(f) == {"severity", "message", "fix"} for f in data["findings"])


def test_several_files_fail_if_any_fails(files, capsys):
    good, bad = files["codec_zlib_pred"].path, files["codec_zstd"].path
    assert main(["check", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert str(good) in out and str(bad) in out


def test_uppercase_extension_fails_with_rename_fix(files, tmp_path, capsys):
    upper = tmp_path / "SLIDE.OME.TIF"
    shutil.copy(files["codec_zlib_pred"].path, upper)
    assert main(["check", str(upper)]) == 1
    out = capsys.readouterr().out
    assert "lowercase" in out and "rename" in out


def _one_line_error(proc, path):
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(path) in lines[0]
    return lines[0]


def test_missing_file(tmp_path):
    missing = tmp_path / "nothing.ome.tif"
    line = _one_line_error(run_cli(missing), missing)
    assert "no such file" in line


def test_not_a_tiff(tmp_path):
    junk = tmp_path / "notes.ome.tif"
    junk.write_text("this is not a TIFF\n" * 10)
    line = _one_line_error(run_cli(junk), junk)
    assert "not a readable TIFF" in line


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.7, 0.9, 0.999])
def test_truncated_file(files, tmp_path, keep):
    """Cut anywhere -> one line on stderr, exit 1 (never a traceback or 'OK')."""
    src = files["codec_zlib_pred"].path.read_bytes()
    cut = tmp_path / "cut.ome.tif"
    cut.write_bytes(src[: int(len(src) * keep)])
    line = _one_line_error(run_cli(cut), cut)
    assert "truncated" in line


def test_unreadable_file_among_several_is_reported_and_others_checked(files, tmp_path):
    missing = tmp_path / "gone.ome.tif"
    good = files["codec_zlib_pred"].path
    proc = run_cli(missing, good)
    assert proc.returncode == 1
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr
    assert str(good) in proc.stdout and "OK" in proc.stdout
