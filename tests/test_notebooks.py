"""The teaching notebooks ``docs/notebooks/*.py``: their shape, and their folded solutions run.

A folded solution is a markdown cell ``<details><summary>Solution</summary> ... </details>``
holding a fenced ``python`` block (docs/build_site.py executes the code cells only, so the
solutions are run here). Each notebook is run as one script with every solution spliced in
where it stands, so a solution can use what the cells above it defined; every solution
asserts what it claims. The site build (tests/test_docs_site.py) executes the notebooks
themselves.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.py"))
THEORY = ROOT / "docs" / "theory.md"
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>(.*?)</details>", re.S)
CODE = re.compile(r"```python\n(.*?)```", re.S)
FIGURE_CALLS = re.compile(r"\bplt\.(subplots|figure)\(")


def cells(path):
    """The notebook's cells (jupytext), as ``(cell_type, source)``."""
    return [(c.cell_type, c.source) for c in jupytext.read(path).cells]


def solutions(path):
    """The code of every folded solution, in order."""
    out = []
    for kind, source in cells(path):
        if kind == "markdown":
            for block in SOLUTION.findall(source):
                out += CODE.findall(block)
    return out


def program(path, with_solutions=True):
    """The notebook as one script: its code cells, with each solution where its markdown cell stands."""
    parts = []
    for kind, source in cells(path):
        if kind == "code":
            parts.append("\n".join("# " + ln if ln.lstrip().startswith("%") else ln for ln in source.splitlines()))
        elif with_solutions:
            for block in SOLUTION.findall(source):
                parts += CODE.findall(block)
    return "\n\n".join(parts) + "\n"


def run_program(path, tmp_path, with_solutions=True, timeout=900, cache=None):
    """Run :func:`program` in a fresh interpreter from the repository root; return the process.
    ``cache``: the task cache (default a fresh one under ``tmp_path``)."""
    script = tmp_path / f"{path.stem}_with_solutions.py"
    script.write_text(program(path, with_solutions))
    env = dict(os.environ, MPLBACKEND="Agg", SMR_STABILITY_CACHE=str(cache or tmp_path / "cache"))
    env.pop("SMR_STABILITY_RUNS", None)
    return subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def slug(heading):
    """The anchor mkdocs (python-markdown's toc) gives a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[-\s]+", "-", text).strip("-")


def test_the_notebooks_are_the_six_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:3] == ["01_discretization", "01b_build_it", "02_nss"], names
    assert len(names) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_solution_asserts(path):
    found = solutions(path)
    assert found, f"{path.name} has no folded solution"
    for code in found:
        assert re.search(r"^\s*assert\b", code, re.M), f"a solution of {path.name} asserts nothing:\n{code}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_cells_are_not_glued(path):
    """A solution cell holds one ``<details>`` block and nothing after it (no exercise glued on)."""
    for kind, source in cells(path):
        if kind != "markdown" or "<details>" not in source:
            continue
        assert source.count("<details>") == source.count("</details>") == 1, source[:300]
        assert source.rstrip().endswith("</details>"), f"text after </details> in {path.name}:\n{source[-400:]}"
        assert "**Exercise" not in source, f"an exercise inside a solution cell of {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_a_caption_and_fits_the_column(path):
    code = "\n".join(src for kind, src in cells(path) if kind == "code") + "\n".join(solutions(path))
    assert "plt.show()" not in code, f"{path.name}: show figures with teaching.show(fig, caption, alt=...)"
    made = len(FIGURE_CALLS.findall(code))
    shown = code.count("teaching.show(")
    assert shown >= made, f"{path.name}: {made} figures made, {shown} shown with a caption"
    for width in re.findall(r"figsize=\(([\d.]+)", code):
        assert float(width) <= 7.0, f"{path.name}: a figure {width} in wide (at most 7 in)"
    for size in re.findall(r"fontsize=(\d+)", code):
        assert int(size) >= 9, f"{path.name}: text at {size} pt"


def test_links_to_the_theory_page_resolve():
    anchors = {slug(m) for m in re.findall(r"^#+\s+(.*)$", THEORY.read_text(), re.M)}
    found = 0
    for path in NOTEBOOKS:
        for anchor in re.findall(r"\(\.\./theory\.md#([^)]+)\)", path.read_text()):
            found += 1
            assert anchor in anchors, f"{path.name} links to theory.md#{anchor}, which does not exist"
    assert found >= 2


def test_statements_are_quoted_with_links():
    first = {p.stem: cells(p)[0][1] for p in NOTEBOOKS}
    prop = first["02_nss"]
    assert "Proposition 1" in prop and "../theory.md#3-proposition-1-how-sampling-errors-travel" in prop
    assert r"G_\infty" in prop and "$$" in prop
    thm = first["03_lyapunov_theorem1"]
    assert "Theorem 1" in thm and "../theory.md#4-theorem-1-a-relative-bound-on-the-sampling-error" in thm
    assert r"\gamma^*" in thm and "$$" in thm
    for name in ("01_discretization", "01b_build_it", "02_nss", "03_lyapunov_theorem1"):
        markdown = "\n".join(
            src for kind, src in cells(ROOT / "docs" / "notebooks" / f"{name}.py") if kind == "markdown"
        )
        assert markdown.count("$") >= 20, f"{name}: write the mathematics in LaTeX ($...$)"


def test_program_splices_solutions_in_place(tmp_path):
    nb = tmp_path / "nb.py"
    nb.write_text(
        "# %%\nx = 1\n\n# %% [markdown]\n# <details><summary>Solution</summary>\n#\n# ```python\n"
        "# x += 1\n# assert x == 2\n# ```\n# </details>\n\n# %%\n# %matplotlib inline\nassert x == 2\n"
    )
    assert solutions(nb) == ["x += 1\nassert x == 2\n"]
    proc = run_program(nb, tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_program(nb, tmp_path, with_solutions=False)
    assert proc.returncode != 0 and "AssertionError" in proc.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_its_solutions(path, tmp_path, notebook_cache):
    """Every code cell and every folded solution, in order; no cache path in what it prints. The
    cache is the site build's, so the models the notebooks train are trained once per session."""
    proc = run_program(path, tmp_path, cache=notebook_cache)
    assert proc.returncode == 0, f"{path.name} with its solutions failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    assert str(notebook_cache) not in proc.stdout, f"{path.name} prints the cache path"
