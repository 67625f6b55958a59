"""Size limits of the source: small modules and functions (issue 17).

No module of src/napari_viv is over 500 lines and no function body over 80
lines (the docstring not counted), so each stays one job that can be read
at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import napari_viv

PACKAGE = Path(napari_viv.__file__).parent
MODULE_LINES = 500
BODY_LINES = 80


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _body_lines(func: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = func.body
    first = body[0]
    docstring = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    start = body[1].lineno if docstring and len(body) > 1 else first.lineno
    return func.end_lineno - start + 1


def test_no_module_is_over_the_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert not long, f"modules over {MODULE_LINES} lines: {long}"


def test_no_function_body_is_over_the_limit():
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_lines(node) > BODY_LINES:
                long[f"{path.relative_to(PACKAGE)}:{node.name}"] = _body_lines(node)
    assert not long, f"function bodies over {BODY_LINES} lines: {long}"


def test_the_measure_sees_a_long_function():
    """The checks above can fail: a planted 81-line body is measured as 81."""
    source = "def f():\n    '''Doc.'''\n" + "    x = 1\n" * 81
    func = ast.parse(source).body[0]
    assert _body_lines(func) == 81
