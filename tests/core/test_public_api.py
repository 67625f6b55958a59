"""The public API: importable from napari_viv, documented, and its examples run."""

import doctest
import importlib

import pytest

import napari_viv

DOCUMENTED = ["napari_viv", "napari_viv.naming", "napari_viv.text", "napari_viv.write.writer", "napari_viv.read.omezarr",
              "napari_viv.check.zarr"]


@pytest.mark.parametrize("module", DOCUMENTED)
def test_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0


@pytest.mark.parametrize("name", [n for n in napari_viv.__all__ if n != "__version__"])
def test_public_names_are_documented(name):
    obj = getattr(napari_viv, name)
    assert obj.__module__.startswith("napari_viv.")
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_export_pyramid_documents_every_parameter():
    import inspect

    doc = napari_viv.export_pyramid.__doc__
    for section in ("Parameters", "Returns", "Examples"):
        assert section in doc
    for param in inspect.signature(napari_viv.export_pyramid).parameters:
        assert f"\n    {param} :" in doc, f"export_pyramid's docstring misses {param}"


def test_export_tuned_mirrors_export_pyramid():
    """The internal entry the tests use (export_pyramid plus a Tuning) takes
    export_pyramid's parameters with the same kinds and defaults."""
    import inspect

    from napari_viv.write.writer import export_tuned

    public = list(inspect.signature(napari_viv.export_pyramid).parameters.values())
    internal = dict(inspect.signature(export_tuned).parameters)
    assert internal.pop("tuning").kind is inspect.Parameter.KEYWORD_ONLY
    assert list(internal.values()) == public
