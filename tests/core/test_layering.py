"""The package layout is the data flow: read and write never import each other."""

import ast
from pathlib import Path

import pytest

import napari_viv

ROOT = Path(napari_viv.__file__).parent


def _imports(path: Path) -> set[str]:
    """Absolute napari_viv module names imported by ``path``."""
    package = ["napari_viv", *path.parent.relative_to(ROOT).parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("napari_viv")}


@pytest.mark.parametrize("stage, other", [("read", "write"), ("write", "read")])
def test_stage_does_not_import_the_other(stage, other):
    files = sorted((ROOT / stage).glob("*.py"))
    assert files, f"no modules in {stage}/"
    bad = {f.name: sorted(i for i in _imports(f) if i.startswith(f"napari_viv.{other}")) for f in files}
    assert not {k: v for k, v in bad.items() if v}


def test_core_stages_do_not_import_napari_glue():
    for f in ROOT.rglob("*.py"):
        if "_napari" in f.parts:
            continue
        assert not any(i.startswith("napari_viv._napari") for i in _imports(f) if f.name != "demo.py"), f
