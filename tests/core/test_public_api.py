"""The public API: importable from napari_viv, documented, and its examples run."""

import doctest
import importlib

import pytest

import napari_viv

DOCUMENTED = [
    "napari_viv",
    "napari_viv.naming",
    "napari_viv.text",
    "napari_viv.system",
    "napari_viv.write.writer",
    "napari_viv.write.plan",
    "napari_viv.write.offsets",
    "napari_viv.write.ngff",
    "napari_viv.write.zarrsink",
]


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


def test_one_export_function_with_keyword_only_tuning(tmp_path):
    """Tuning is an internal keyword-only argument of export_pyramid, not a
    second function; the result is a record, not a tuple."""
    import inspect

    import numpy as np

    from napari_viv.write import writer

    assert not hasattr(writer, "export_tuned")
    params = inspect.signature(napari_viv.export_pyramid).parameters
    assert params["tuning"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["tuning"].default is None
    result = napari_viv.export_pyramid(np.zeros((20, 20), np.uint8), tmp_path / "r")
    with pytest.raises(TypeError):
        iter(result)
    with pytest.raises(TypeError):
        result[0]
