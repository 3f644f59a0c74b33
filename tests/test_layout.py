"""The package's layers, read from its imports (ast), and the rules that keep them.

Layers, each importing only those below it:

- core: the flat modules ``smr_stability/*.py`` (numpy/scipy), except the entry points;
- ``nn``: ``smr_stability/nn/`` (torch), imports the core and itself;
- ``experiments``: ``smr_stability/experiments/`` (figures, studies, sweeps), imports all three;
- entry points: ``cli`` and ``__main__``, on top; nothing else imports them.

Also: no import cycles between modules (imports inside functions included), and no module
imports a private name (``_x``) of another module, neither by ``from m import _x`` nor by
``m._x`` on an imported module. Private *modules* (``_validation``, ``_scan``) are the
package's internal tier: other modules use their public names.

The same checker runs on small synthetic trees that break each rule, so a checker that could
not fail would be caught here too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smr_stability"
ENTRY = {"cli", "__main__"}
#: layer -> the layers it may import
ALLOWED = {
    "core": {"core"},
    "nn": {"core", "nn"},
    "experiments": {"core", "nn", "experiments"},
    "entry": {"core", "nn", "experiments", "entry"},
}


# --------------------------------------------------------------------------- reading the tree


def modules(root):
    """``{dotted name: path}`` of every module under the package folder ``root``."""
    root = Path(root)
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name,) + path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(name, mods):
    return mods[name].name == "__init__.py"


def _base(name, level, module, mods):
    """The absolute module named by a (possibly relative) ``from`` import inside ``name``."""
    if not level:
        return module or ""
    pkg = name.split(".") if _is_package(name, mods) else name.split(".")[:-1]
    pkg = pkg[: len(pkg) - (level - 1)]
    return ".".join(pkg + ([module] if module else []))


def imports(name, mods):
    """Every import of the package's modules made by module ``name``, at any depth in the file.

    Returns a list of ``(line, target module, imported name or None, bound name)``: ``from m
    import x`` gives ``(m, x)``, or ``(m.x, None)`` when ``m.x`` is a module; ``import m``
    gives ``(m, None)``.
    """
    tree = ast.parse(mods[name].read_text(), filename=str(mods[name]))
    top = next(iter(mods)).split(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _base(name, node.level, node.module, mods)
            if base.split(".")[0] != top:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                bound = alias.asname or alias.name
                if sub in mods:
                    found.append((node.lineno, sub, None, bound))
                else:
                    found.append((node.lineno, base, alias.name, bound))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == top:
                    found.append((node.lineno, alias.name, None, alias.asname or alias.name))
    return found


def layer(name):
    """The layer of a dotted module name (see the module docstring)."""
    parts = name.split(".")
    if len(parts) >= 2 and parts[1] in ("nn", "experiments"):
        return parts[1]
    if len(parts) == 2 and parts[1] in ENTRY:
        return "entry"
    return "core"


# --------------------------------------------------------------------------- the rules


def layer_violations(mods):
    """``(module, line, target)`` for every import that points up the layers."""
    bad = []
    for name in mods:
        for line, target, _, _ in imports(name, mods):
            if layer(target) not in ALLOWED[layer(name)]:
                bad.append((name, line, target))
    return bad


def cycles(mods):
    """The import cycles between modules: strongly connected components of more than one module
    (or a module importing itself), each as a sorted list. Parent packages are not edges."""
    graph = {name: set() for name in mods}
    for name in mods:
        for _, target, _, _ in imports(name, mods):
            if target in mods:
                graph[name].add(target)
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(mods):
    """``(module, line, what)`` for every private name a module takes from another module."""
    bad = []
    for name in mods:
        bound_modules = {}
        for line, target, imported, bound in imports(name, mods):
            if imported is not None and _private(imported) and target != name:
                bad.append((name, line, f"{target}.{imported}"))
            if imported is None:
                if _private(target.rsplit(".", 1)[-1]) and "." in target and bound == target.rsplit(".", 1)[-1]:
                    bad.append((name, line, target))  # from . import _module
                bound_modules[bound] = target
        tree = ast.parse(mods[name].read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound_modules
                and _private(node.attr)
                and bound_modules[node.value.id] != name
            ):
                bad.append((name, node.lineno, f"{bound_modules[node.value.id]}.{node.attr}"))
    return bad


# --------------------------------------------------------------------------- the package


def test_the_package_has_the_three_layers():
    mods = modules(PACKAGE)
    layers = {layer(n) for n in mods}
    assert layers == {"core", "nn", "experiments", "entry"}
    for name in ("smr_stability.theorem1", "smr_stability.nn.model", "smr_stability.experiments.gallery"):
        assert name in mods
    assert len(imports("smr_stability.experiments.gallery", mods)) > 5  # the reader sees imports


def test_dependencies_point_down():
    assert layer_violations(modules(PACKAGE)) == []


def test_no_import_cycles():
    assert cycles(modules(PACKAGE)) == []


def test_no_module_imports_a_private_name_of_another():
    assert private_imports(modules(PACKAGE)) == []


# --------------------------------------------------------------------------- the checker fails when it should


def _tree(tmp_path, files):
    root = tmp_path / "pkg"
    for rel, text in {"__init__.py": "", "nn/__init__.py": "", "experiments/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return modules(root)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"core.py": "from .nn import model\n", "nn/model.py": ""}, [("pkg.core", 1, "pkg.nn.model")]),
        (
            {"core.py": "def f():\n    from .experiments.fig import g\n", "experiments/fig.py": "def g(): pass\n"},
            [("pkg.core", 2, "pkg.experiments.fig")],
        ),
        (
            {"nn/model.py": "from ..experiments import fig\n", "experiments/fig.py": ""},
            [("pkg.nn.model", 1, "pkg.experiments.fig")],
        ),
        ({"experiments/fig.py": "import pkg.cli\n", "cli.py": ""}, [("pkg.experiments.fig", 1, "pkg.cli")]),
        (
            {
                "experiments/fig.py": "from ..nn import model\nfrom .. import core\n",
                "nn/model.py": "from .. import core\n",
                "core.py": "import numpy\n",
            },
            [],
        ),
    ],
)
def test_layer_checker_flags_upward_imports(tmp_path, files, expected):
    assert layer_violations(_tree(tmp_path, files)) == expected


def test_cycle_checker_finds_a_cycle_through_a_lazy_import(tmp_path):
    mods = _tree(
        tmp_path,
        {
            "experiments/a.py": "from . import b\n",
            "experiments/b.py": "def f():\n    from .a import x\n",
            "experiments/c.py": "from . import a\n",
        },
    )
    assert cycles(mods) == [["pkg.experiments.a", "pkg.experiments.b"]]
    mods = _tree(
        tmp_path / "acyclic",
        {
            "experiments/a.py": "from . import b\n",
            "experiments/b.py": "def f():\n    from .. import core\n",
            "experiments/c.py": "from . import a\n",
            "core.py": "",
        },
    )
    assert cycles(mods) == []


def test_private_import_checker_flags_each_form(tmp_path):
    mods = _tree(
        tmp_path,
        {
            "core.py": "def _helper(): pass\nx = _helper()\n",
            "_internal.py": "def tool(): pass\n",
            "user.py": (
                "from .core import _helper\n"  # a private name of another module
                "from . import core\n"
                "y = core._helper\n"  # the same, through the module
                "from ._internal import tool\n"  # fine: a public name of an internal module
                "from . import _internal\n"  # a private module taken as a name
                "from . import __version__\n"  # dunders are not private
            ),
        },
    )
    assert sorted(private_imports(mods)) == [
        ("pkg.user", 1, "pkg.core._helper"),
        ("pkg.user", 3, "pkg.core._helper"),
        ("pkg.user", 5, "pkg._internal"),
    ]
