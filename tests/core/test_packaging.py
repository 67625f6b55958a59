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
