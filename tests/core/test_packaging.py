"""Packaging facts a checkout on any system must keep."""

from importlib.metadata import version
from pathlib import Path

import napari_viv

PACKAGE = Path(napari_viv.__file__).parent


def test_one_version():
    assert version("napari-viv") == napari_viv.__version__


def test_manifest_is_a_real_file():
    manifest = PACKAGE / "napari.yaml"
    assert manifest.is_file() and not manifest.is_symlink()
    assert "name: napari-viv" in manifest.read_text()


def test_license_is_bsd3():
    text = (PACKAGE.parents[1] / "LICENSE").read_text()
    assert "BSD 3-Clause License" in text


def test_viewer_bundle_ships_in_the_wheel(tmp_path):
    """The built viewer is package data, so pip users need no Node."""
    import subprocess
    import sys
    import zipfile

    root = PACKAGE.parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)], check=True
    )
    (wheel,) = tmp_path.glob("napari_viv-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("index.html", "viewer.js", "viewer.css"):
        assert f"napari_viv/serve/viewer_dist/{asset}" in names
    assert "napari_viv/napari.yaml" in names
