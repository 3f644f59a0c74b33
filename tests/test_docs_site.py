"""The documentation: public names carry docstrings, the site builds strictly, notebooks execute.

The doctests of the docstrings run through pytest's ``--doctest-modules`` (pyproject.toml).
"""

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

import smr_stability

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S = 120.0


def _public_modules():
    """``smr_stability`` and every non-private submodule (nn included) that defines ``__all__``."""
    names = ["smr_stability"] + [
        m.name
        for m in pkgutil.walk_packages(smr_stability.__path__, "smr_stability.")
        if not any(part.startswith("_") for part in m.name.split(".")[1:])
    ]
    modules = [importlib.import_module(n) for n in names]
    return [m for m in modules if hasattr(m, "__all__")]


def _undocumented(module):
    """Public functions and classes of ``module.__all__`` (and their own public methods) without a docstring."""
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(f"{module.__name__}.{name}")
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                elif isinstance(value, property):
                    value = value.fget
                if inspect.isfunction(value) and not (value.__doc__ or "").strip():
                    missing.append(f"{module.__name__}.{name}.{attr}")
    return missing


def test_public_names_have_docstrings():
    modules = _public_modules()
    assert {
        "smr_stability",
        "smr_stability.nn",
        "smr_stability.nn.train",
        "smr_stability.nn.tasks",
        "smr_stability.experiments",
    } <= {m.__name__ for m in modules}
    missing = sorted({n for m in modules for n in _undocumented(m)})
    assert not missing, "public names without a docstring:\n  " + "\n  ".join(missing)


def test_docstring_check_flags_a_missing_docstring():
    def f():
        pass

    class K:
        """Documented class, undocumented method."""

        def method(self):
            pass

    module = types.ModuleType("fake")
    module.__all__, module.f, module.K = ["f", "K"], f, K
    assert _undocumented(module) == ["fake.f", "fake.K.method"]


def _load_build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "docs" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", SMR_STABILITY_CACHE=str(tmp_path / "cache"), NO_MKDOCS_2_WARNING="1")
    return env


def test_site_builds_strictly_and_every_notebook_executes(tmp_path):
    """The CI check: `python docs/build_site.py` executes every notebook and builds the site."""
    site = tmp_path / "site"
    notebooks = sorted(p.stem for p in (ROOT / "docs" / "notebooks").glob("*.py"))  # before the build runs
    proc = subprocess.run(
        [sys.executable, "docs/build_site.py", "--site", str(site), "--timeout", str(NOTEBOOK_BUDGET_S)],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    pages = [
        "index.html",
        "install/index.html",
        "theory/index.html",
        "conventions/index.html",
        "gallery/index.html",
        "cli/index.html",
        "api/index.html",
    ]
    pages += [
        f"api/{p}/index.html" for p in ("models", "simulation", "divergence", "lyapunov", "symbolic", "nn", "figures")
    ]
    for page in pages:
        assert (site / page).is_file(), page
    api = (site / "api" / "lyapunov" / "index.html").read_text()
    assert 'id="smr_stability.bounds.gamma_star"' in api and 'id="smr_stability.lyapunov.dlyap"' in api
    cli = (site / "cli" / "index.html").read_text()
    for command in ("figures", "verify-theorem1", "analyze", "train", "evaluate"):
        assert f"smr-stability {command}" in cli
    times = {name: float(s) for name, s in re.findall(r"notebook (\S+): executed in ([\d.]+) s", out)}
    assert set(notebooks) <= set(times), out[-3000:]  # one more may have been added meanwhile
    for name in times:
        assert (site / "tutorials" / name / "index.html").is_file(), name
        assert times[name] < NOTEBOOK_BUDGET_S, f"notebook {name} took {times[name]:.1f} s"


@pytest.mark.parametrize(
    "link", ["[gone](missing.md)", "[abs](/somewhere/page.md)", "[anchor](other.md#nowhere)", "[raw](other)"]
)
def test_strict_build_fails_on_a_bad_link(tmp_path, link):
    """The project's mkdocs.yml (its own `strict` and `validation`, no --strict flag) rejects bad links."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "other.md").write_text("# Other\n\nA page.\n")
    config.update(
        docs_dir=str(docs),
        site_dir=str(tmp_path / "site"),
        nav=["index.md", "other.md"],
        hooks=[str(ROOT / p) for p in config.get("hooks", [])],
        extra_javascript=[],
    )
    cfg = tmp_path / "mkdocs.yml"
    cfg.write_text(yaml.safe_dump(config))

    # No -q: mkdocs -q drops warnings before the strict counter sees them, and the build "passes".
    def build(text):
        (docs / "index.md").write_text(f"# Home\n\n{text}\n")
        return subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "-f", str(cfg)],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )

    good = build("[fine](other.md)")
    assert good.returncode == 0, good.stderr[-3000:]
    bad = build(link)
    assert bad.returncode != 0, f"{link} passed the strict build"
    assert "strict" in bad.stderr.lower() or "warning" in bad.stderr.lower()


def test_failing_notebook_is_named_with_its_cell(tmp_path, monkeypatch):
    """A notebook that raises stops the build with the notebook, the cell and the script line named."""
    build_site = _load_build_site()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_ok.py").write_text("# %% [markdown]\n# # OK\n\n# %%\nx = 1 + 1\nx\n")
    (notebooks / "02_broken.py").write_text("# %%\ny = 2\n\n# %%\nraise ValueError('boom')\n")
    monkeypatch.setattr(build_site, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(build_site, "TUTORIALS", tmp_path / "tutorials")
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # restored after the test
    with pytest.raises(build_site.NotebookError) as info:
        build_site.execute_notebooks(timeout=60)
    message = str(info.value)
    assert "02_broken.py" in message and "code cell 2" in message and "line 5" in message and "boom" in message
    assert (tmp_path / "tutorials" / "01_ok.ipynb").is_file()
