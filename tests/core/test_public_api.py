"""The public API: importable from napari_viv, documented, and its examples run."""

import doctest
import importlib
from pathlib import Path

import pytest

import napari_viv

PACKAGE = Path(napari_viv.__file__).parent


def _modules_with_examples() -> list[str]:
    """Every core module whose source has a doctest (napari's glue needs a viewer: tests/napari)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        if "_napari" in rel.parts or ">>> " not in path.read_text(encoding="utf-8"):
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found.append(".".join(parts))
    return found


#: Found, not listed: a module that gains examples has them run.
DOCUMENTED = _modules_with_examples()


def test_the_public_modules_have_examples():
    for module in (
        "napari_viv",
        "napari_viv.read",
        "napari_viv.check.rules",
        "napari_viv.write.writer",
        "napari_viv.write.offsets",
        "napari_viv.errors",
    ):
        assert module in DOCUMENTED, f"{module} has no examples"


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


PUBLIC_FUNCTIONS = [
    n for n in napari_viv.__all__ if callable(getattr(napari_viv, n)) and not isinstance(getattr(napari_viv, n), type)
]


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_functions_document_every_parameter(name):
    """numpydoc Parameters, Returns and Examples, and every parameter named."""
    import inspect

    func = getattr(napari_viv, name)
    doc = func.__doc__ or ""
    for section in ("Parameters", "Returns", "Examples"):
        assert f"\n    {section}\n    ---" in doc, f"{name}'s docstring has no {section} section"
    for param in inspect.signature(func).parameters:
        assert f"\n    {param} :" in doc, f"{name}'s docstring misses {param}"


def test_the_public_functions_are_the_expected_ones():
    assert {"export_pyramid", "open_image", "check_file", "write_offsets"} <= set(PUBLIC_FUNCTIONS)


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
