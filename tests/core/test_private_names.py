"""No private name of a dependency is used anywhere in src/napari_viv.

A private name (``_foo``, a ``_module``, or an implementation module such as
``tifffile.tifffile``) can change in any minor release of its package without
notice, so napari-viv uses only the names its dependencies document. This
scans the source with :mod:`ast` (nothing is imported or run) and reports:

* imports of private modules or names from a third-party package:
  ``from aiohttp.web_fileresponse import _FileResponseResult``,
  ``from tifffile.tifffile import x``, ``import numpy._core``;
* private attributes of anything that comes from a third-party package,
  followed through assignments, ``with``/``for`` targets, calls, awaits and
  annotations: ``site = web.TCPSite(...); site._server``,
  ``tifffile.tifffile.svs_description_metadata``, ``getattr(arr, "_mmap")``;
* ``self._foo`` / ``super()._foo`` in a class derived from a third-party
  class when napari-viv itself defines no ``_foo`` (so it is inherited);
* ``x._foo`` or ``getattr(x, "_foo")`` on anything when no module of
  napari-viv defines ``_foo``: a private name that is not ours must be a
  dependency's, even where the static tracing cannot tell whose;
* ``# noqa: SLF001`` (ruff's "private member access"): silencing the check
  is itself a finding.

"Third-party" is every absolutely imported top-level package that is neither
napari_viv nor in the standard library. The checker is tested on planted
code below, so a broken checker cannot pass the tree by finding nothing.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

import napari_viv

PACKAGE = Path(napari_viv.__file__).parent
OURS = "napari_viv"

#: Public-looking modules that are a package's implementation, not its API.
PRIVATE_MODULES = {
    "tifffile.tifffile": "tifffile's implementation module; use what `tifffile` exports",
    "numpy.core": "numpy's internals (numpy._core since numpy 2)",
}

#: Underscore names that are documented public API.
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_field_defaults", "_make"}

#: Known private uses in code owned by others, to be removed there. The test
#: fails if one of these disappears without this list being updated, and if
#: any use not listed here appears. Keys: (path inside src/napari_viv, name).
ALLOWED = {
    # numpy.memmap's private `_mmap` (the mmap object behind the array), used
    # to madvise() pages away while streaming a large .npy; owner: lazy.py.
    ("lazy.py", "_mmap"),
}


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    name: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.name} ({self.why})"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_third_party(dotted: str | None) -> bool:
    if not dotted:
        return False
    root = dotted.split(".")[0]
    return root != OURS and root not in sys.stdlib_module_names


def private_module(dotted: str) -> str | None:
    """Why ``dotted`` (a module path) is private, or None."""
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in PRIVATE_MODULES:
            return PRIVATE_MODULES[prefix]
        if is_private(parts[i - 1]):
            return f"private module of {parts[0]}"
    return None


def defined_names(tree: ast.AST) -> set[str]:
    """Every name a module defines: functions, classes, assigned names and
    attributes (``self._x = ...``), so that ``obj._x`` on our own objects is ours."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return names


class _Scan:
    def __init__(self, tree: ast.AST, path: str, own: set[str]):
        self.tree, self.path, self.own = tree, path, own
        self.origin: dict[str, str] = {}  # local name -> dotted third-party origin
        self.uses: list[Use] = []

    def flag(self, node, name: str, why: str) -> None:
        self.uses.append(Use(self.path, getattr(node, "lineno", 0), name, why))

    # -- where a value comes from ------------------------------------------
    def of(self, node) -> str | None:
        """The dotted third-party origin of an expression, if traceable."""
        if isinstance(node, ast.Name):
            return self.origin.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.of(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, (ast.Call, ast.Subscript, ast.Starred)):
            return self.of(node.func if isinstance(node, ast.Call) else node.value)
        if isinstance(node, (ast.Await, ast.NamedExpr)):
            return self.of(node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:  # a string annotation: "web.Request"
                return self.of(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return None
        if isinstance(node, ast.BinOp):  # "web.Request | None"
            return self.of(node.left) or self.of(node.right)
        return None

    def bind(self, target, origin: str | None) -> bool:
        if not origin:
            return False
        if isinstance(target, (ast.Tuple, ast.List)):
            bound = [self.bind(t, origin) for t in target.elts]  # every one, no short cut
            return any(bound)
        if isinstance(target, ast.Starred):
            return self.bind(target.value, origin)
        if isinstance(target, ast.Name) and target.id not in self.origin:
            self.origin[target.id] = origin
            return True
        return False  # obj.attr = ..., obj[k] = ...: the name obj is not rebound

    def trace(self) -> None:
        """Names bound to third-party modules and objects (to a fixed point)."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if is_third_party(a.name):
                        local = a.asname or a.name.split(".")[0]
                        self.origin[local] = a.name if a.asname else local
            elif isinstance(node, ast.ImportFrom) and not node.level and is_third_party(
                node.module
            ):
                for a in node.names:
                    self.origin[a.asname or a.name] = f"{node.module}.{a.name}"
        changed = True
        while changed:
            changed = False
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign):
                    for t in node.targets:
                        changed |= self.bind(t, self.of(node.value))
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                    value = self.of(node.value) if node.value is not None else None
                    if isinstance(node, ast.AnnAssign):
                        value = value or self.of(node.annotation)
                    changed |= self.bind(node.target, value)
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    changed |= self.bind(node.optional_vars, self.of(node.context_expr))
                elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                    changed |= self.bind(node.target, self.of(node.iter))
                elif isinstance(node, ast.arg) and node.annotation is not None:
                    changed |= self.bind(ast.Name(node.arg, ast.Store()),
                                         self.of(node.annotation))
                elif isinstance(node, ast.ClassDef) and node.name not in self.origin:
                    base = next(filter(None, map(self.of, node.bases)), None)
                    if base:
                        self.origin[node.name] = base
                        changed = True

    # -- the checks -----------------------------------------------------------
    def imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if is_third_party(a.name) and (why := private_module(a.name)):
                        self.flag(node, a.name, why)
            elif isinstance(node, ast.ImportFrom) and not node.level and is_third_party(
                node.module
            ):
                if why := private_module(node.module):
                    self.flag(node, node.module, why)
                    continue
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if why := (PRIVATE_MODULES.get(full) or (
                            is_private(a.name) and f"private name of {node.module}")):
                        self.flag(node, full, why)

    def attribute(self, node, value, attr: str, private_self: bool) -> None:
        origin = self.of(value)
        if origin and is_third_party(origin):
            if is_private(attr) and attr not in PUBLIC_UNDERSCORE:
                self.flag(node, f"{origin}.{attr}", "private attribute of a dependency")
            elif why := PRIVATE_MODULES.get(f"{origin}.{attr}"):
                self.flag(node, f"{origin}.{attr}", why)
            return
        if not is_private(attr) or attr in PUBLIC_UNDERSCORE or attr in self.own:
            return
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            if private_self:
                self.flag(node, attr, "inherited from a third-party base class")
            return
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super":
            if private_self:
                self.flag(node, attr, "inherited from a third-party base class")
            return
        if isinstance(value, ast.Name) and value.id in sys.stdlib_module_names:
            return  # sys._getframe and the like: not a dependency
        self.flag(node, attr, "not defined in napari_viv, so a dependency's")

    def attributes(self) -> None:
        def walk(node, derived: bool) -> None:
            if isinstance(node, ast.ClassDef):
                derived = any(is_third_party(self.of(b)) for b in node.bases) or (
                    node.name in self.origin)
            if isinstance(node, ast.Attribute):
                self.attribute(node, node.value, node.attr, derived)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str)):
                self.attribute(node, node.args[0], node.args[1].value, derived)
            for child in ast.iter_child_nodes(node):
                walk(child, derived)

        walk(self.tree, False)


def noqa_slf(source: str, path: str) -> list[Use]:
    uses = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and re.search(r"noqa\b.*\bSLF001", tok.string):
            uses.append(Use(path, tok.start[0], "noqa: SLF001",
                            "silences ruff's private-member check"))
    return uses


def private_uses(source: str, path: str = "<string>", own: set[str] | None = None):
    """Every private use of a dependency in ``source`` (see the module doc).

    ``own``: the names napari-viv defines (all its modules); by default the
    names ``source`` itself defines.
    """
    tree = ast.parse(source, path)
    scan = _Scan(tree, path, defined_names(tree) if own is None else own)
    scan.trace()
    scan.imports()
    scan.attributes()
    return sorted(set(scan.uses + noqa_slf(source, path)), key=lambda u: (u.line, u.name))


def tree_uses() -> list[Use]:
    files = sorted(PACKAGE.rglob("*.py"))
    sources = {f: f.read_text(encoding="utf-8") for f in files}
    own = set()
    for f, text in sources.items():
        own |= defined_names(ast.parse(text, str(f)))
    uses = []
    for f, text in sources.items():
        uses += private_uses(text, f.relative_to(PACKAGE).as_posix(), own)
    return uses


# -- the tree ---------------------------------------------------------------

def test_no_private_names_of_dependencies_in_the_package():
    uses = tree_uses()
    found = {(u.path, u.name) for u in uses}
    new = [str(u) for u in uses if (u.path, u.name) not in ALLOWED]
    assert not new, "private names of dependencies:\n" + "\n".join(new)
    gone = sorted(ALLOWED - found)
    assert not gone, f"no longer used, remove from ALLOWED: {gone}"


def test_the_scan_covers_the_whole_package():
    files = {f.relative_to(PACKAGE).as_posix() for f in PACKAGE.rglob("*.py")}
    assert {"serve/server.py", "read/tiff_metadata.py", "lazy.py",
            "_napari/serve_widget.py"} <= files
    roots = set()
    for f in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots.add(node.module.split(".")[0])
    third = {r for r in roots if is_third_party(r)}
    assert {"aiohttp", "tifffile", "numpy", "dask", "zarr", "imagecodecs", "napari",
            "magicgui", "qtpy"} <= third
    assert not {"os", "asyncio", "napari_viv"} & third


# -- the checker finds planted uses ------------------------------------------------

PLANTED = {
    "from tifffile.tifffile import svs_description_metadata":
        "tifffile.tifffile",
    "import tifffile\nd = tifffile.tifffile.svs_description_metadata(s)":
        "tifffile.tifffile",
    "from tifffile import tifffile":
        "tifffile.tifffile",
    "from aiohttp.web_fileresponse import _FileResponseResult":
        "aiohttp.web_fileresponse._FileResponseResult",
    "from aiohttp import web_fileresponse as wf\nr = wf._FileResponseResult":
        "aiohttp.web_fileresponse._FileResponseResult",
    "import numpy._core.multiarray":
        "numpy._core.multiarray",
    "from numpy.core import multiarray":
        "numpy.core",
    "from aiohttp import web\nasync def f(runner):\n"
    "    site = web.TCPSite(runner, 'h', 0)\n    return site._server.sockets":
        "aiohttp.web.TCPSite._server",
    "import zarr\nwith zarr.open('x') as z:\n    z._store":
        "zarr.open._store",
    "import dask.array as da\nfor block in da.ones(3).blocks:\n    block._meta":
        "dask.array.ones.blocks._meta",
    "from aiohttp import web\nasync def h(request: 'web.Request'):\n"
    "    return request._message":
        "aiohttp.web.Request._message",
    "import numpy as np\nm = np.memmap('f')\nraw = getattr(m, '_mmap', None)":
        "numpy.memmap._mmap",
    "def f(arr):\n    return arr._mmap":
        "_mmap",
    "def f(arr):\n    return hasattr(arr, '_mmap')":
        "_mmap",
    "from aiohttp import web\nclass R(web.FileResponse):\n"
    "    def go(self, r):\n        return self._make_response(r, '')":
        "_make_response",
    "from aiohttp import web\nclass R(web.FileResponse):\n"
    "    async def prepare(self, r):\n        return await super()._prepare_open_file(r)":
        "_prepare_open_file",
    "from magicgui.widgets import Container\nclass W(Container):\n    pass\n"
    "class V(W):\n    def f(self):\n        return self._list":
        "_list",
    "import napari\nv = napari.Viewer()\nq = v.window._qt_window":
        "napari.Viewer.window._qt_window",
    "from qtpy import QtWidgets as Q\nw = Q.QWidget()\nw._hidden = 1":
        "qtpy.QtWidgets.QWidget._hidden",
    "import imagecodecs\nimagecodecs._zlib.zlib_encode(b'')":
        "imagecodecs._zlib",
    "x = obj.server  # noqa: SLF001":
        "noqa: SLF001",
    "x = 1  # noqa: E501, SLF001":
        "noqa: SLF001",
}


@pytest.mark.parametrize("code", PLANTED, ids=range(len(PLANTED)))
def test_planted_private_use_is_found(code):
    uses = private_uses(code)
    assert PLANTED[code] in {u.name for u in uses}, uses
    assert all(u.line >= 1 and u.why for u in uses)


def test_the_tree_check_fails_on_a_planted_file(tmp_path, monkeypatch):
    """The whole-tree test itself goes red when a module gains a private use."""
    fake = tmp_path / "napari_viv"
    (fake / "serve").mkdir(parents=True)
    (fake / "serve" / "server.py").write_text(
        "from aiohttp import web\n\n\nasync def port(runner):\n"
        "    site = web.TCPSite(runner, '127.0.0.1', 0)\n"
        "    await site.start()\n"
        "    return site._server.sockets[0].getsockname()[1]  # noqa: SLF001\n")
    (fake / "lazy.py").write_text("def m(a):\n    return getattr(a, '_mmap', None)\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    with pytest.raises(AssertionError, match=r"serve/server.py:7: aiohttp\.web\.TCPSite\._server"):
        test_no_private_names_of_dependencies_in_the_package()
    (fake / "serve" / "server.py").write_text("x = 1\n")
    test_no_private_names_of_dependencies_in_the_package()  # only the allowed one left
    (fake / "lazy.py").write_text("x = 1\n")
    with pytest.raises(AssertionError, match="remove from ALLOWED"):
        test_no_private_names_of_dependencies_in_the_package()


CLEAN = """
import asyncio, os, sys
from collections import namedtuple
import numpy as np
import tifffile
from aiohttp import web
from tifffile import TiffFile, TIFF

Stats = namedtuple("Stats", "a b")


class Server:
    def __init__(self):
        self._runner = None
        self._routes = {}

    def _lookup(self, name):
        return self._routes.get(name)

    async def start(self):
        runner = web.ServerRunner(web.Server(self._lookup))
        await runner.setup()
        self._runner = runner
        return runner.addresses[0][1]


class Plain(web.StreamResponse):
    def __init__(self):
        super().__init__()
        self._mine = 1

    def go(self):
        return self._mine + self.content_length


def use(other: Server, s: Stats):
    other._lookup("x")
    with TiffFile("x.tif") as tif:
        page = tif.pages[0]
        tif.series[0].levels, page.tags, TIFF.COMPRESSION
    np.dtype("u2").__name__, os._exit, sys._getframe()
    return s._replace(a=1)._asdict(), getattr(other, "_routes"), tifffile.__version__
"""


def test_public_and_own_names_are_not_findings():
    assert private_uses(CLEAN) == []


def test_own_names_come_from_the_whole_package():
    """``obj._x`` is ours when any napari-viv module defines ``_x``."""
    code = "def f(srv):\n    return srv._routes\n"
    assert [u.name for u in private_uses(code, own=set())] == ["_routes"]
    assert private_uses(code, own={"_routes"}) == []
