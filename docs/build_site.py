"""Build the documentation site: execute the notebooks, collect the figures, document the CLI.

Usage: ``python docs/build_site.py [--site DIR] [--skip-notebooks] [--timeout 120]``
(``make docs`` runs it). Steps, all from the repository root:

1. every ``docs/notebooks/*.py`` (jupytext percent format, stored without outputs) is converted
   to a notebook and executed with nbclient in a ``python3`` kernel of this interpreter, with the
   repository root as working directory; the executed copy goes to ``docs/tutorials/NAME.ipynb``
   and the time it took is printed. A failing cell stops the build with the notebook, the cell
   and its line in the script named;
2. ``figures/*.png`` (and their JSON data) are copied to ``docs/gallery/`` and
   ``docs/gallery.md`` is written, one section per figure with the docstring of the function
   that draws it (``smr_stability.experiments.gallery.FIGURES``);
3. ``docs/cli.md`` is written from ``smr_stability.cli.build_parser()``;
4. ``mkdocs build --strict`` writes the site to ``--site`` (default ``site/``).

Everything written under ``docs/`` by steps 1-3 is generated and gitignored.
"""

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs"
NOTEBOOKS = DOCS / "notebooks"
TUTORIALS = DOCS / "tutorials"
GALLERY = DOCS / "gallery"
FIGURES = ROOT / "figures"


class NotebookError(RuntimeError):
    """A notebook failed to execute; the message names the notebook, the cell and the error."""


def _kernel_env(tmp):
    """A private ``python3`` kernelspec for this interpreter, found before any user-installed one."""
    spec = Path(tmp, "kernels", "python3")
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(tmp), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep)
    env = dict(os.environ)
    # Plots must go to the notebook: MPLBACKEND=Agg (set by make and the tests) would swallow them.
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _failed_cell(nb):
    """Index and source of the first code cell with an error output."""
    code_index = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_index += 1
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return code_index, cell.source
    return None, None


def _script_line(script, source):
    """Line of ``script`` where the cell ``source`` starts (1-based), or None."""
    first = next((ln for ln in source.splitlines() if ln.strip()), None)
    if first is None:
        return None
    for i, ln in enumerate(script.read_text().splitlines(), 1):
        if ln == first:
            return i
    return None


def execute_notebooks(timeout=120.0):
    """Execute every ``docs/notebooks/*.py`` into ``docs/tutorials/``; return ``{name: seconds}``.

    ``timeout`` bounds each cell (nbclient) and each notebook as a whole.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if TUTORIALS.exists():
        shutil.rmtree(TUTORIALS)
    TUTORIALS.mkdir(parents=True)
    scripts = sorted(NOTEBOOKS.glob("*.py"))
    if not scripts:
        print("no notebooks in docs/notebooks/")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = _kernel_env(tmp)
        for script in scripts:
            nb = jupytext.read(script)
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            client = NotebookClient(
                nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
            )
            start = time.perf_counter()
            try:
                client.execute(env=env)
            except (CellExecutionError, CellTimeoutError) as exc:
                index, source = _failed_cell(nb)
                line = _script_line(script, source) if source else None
                shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
                where = f"code cell {index}" + (f" (line {line} of {shown})" if line else "")
                if isinstance(exc, CellTimeoutError):
                    where = f"a cell that ran past {timeout:g} s"
                raise NotebookError(f"notebook {script.name} failed at {where}:\n{exc}") from None
            elapsed = time.perf_counter() - start
            if elapsed > timeout:
                raise NotebookError(f"notebook {script.name} took {elapsed:.1f} s, over the {timeout:g} s budget.")
            times[script.stem] = elapsed
            nbformat.write(nb, TUTORIALS / f"{script.stem}.ipynb")
            print(f"notebook {script.stem}: executed in {elapsed:.1f} s", flush=True)
    return times


def write_gallery():
    """Copy ``figures/*.png`` (and their JSON data) to ``docs/gallery/`` and write ``docs/gallery.md``."""
    from smr_stability.experiments.gallery import FIGURES as FUNCTIONS

    if GALLERY.exists():
        shutil.rmtree(GALLERY)
    GALLERY.mkdir(parents=True)
    lines = [
        "# Figure gallery",
        "",
        "The figures as committed in `figures/`. `make figures` (or `smr-stability figures`) rebuilds",
        "them; each one is also saved as PDF, with its data as CSV or JSON next to it, so no number",
        "has to be read off a picture. The text under each figure is the docstring of the function",
        "that draws it, in `smr_stability.experiments.gallery` and the modules it lists.",
        "",
    ]
    missing = []
    pngs = {p.stem: p for p in sorted(FIGURES.glob("*.png"))}
    names = [n for n in FUNCTIONS if n in pngs] + [n for n in pngs if n not in FUNCTIONS]
    for name in names:
        shutil.copy2(pngs[name], GALLERY / f"{name}.png")
        doc = inspect.getdoc(FUNCTIONS[name]) if name in FUNCTIONS else ""
        lines += [f"## `{name}`", "", f"![{name}](gallery/{name}.png)", ""]
        if doc:
            lines += [doc, ""]
        data = FIGURES / f"{name}.json"
        if data.exists():
            shutil.copy2(data, GALLERY / data.name)
            lines += [f"Data: [`{data.name}`](gallery/{data.name}).", ""]
    missing = [n for n in FUNCTIONS if n not in pngs]
    if missing:
        lines += [
            "## Not yet in `figures/`",
            "",
            "Run `smr-stability figures --only "
            + " ".join(missing)
            + "` to build: "
            + ", ".join(f"`{n}`" for n in missing)
            + ".",
            "",
        ]
    (DOCS / "gallery.md").write_text("\n".join(lines))
    print(f"gallery: {len(names)} figures")


def write_cli():
    """Write ``docs/cli.md``: the help of ``smr-stability`` and of each subcommand."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; fix it for the page
    os.environ["NO_COLOR"] = "1"
    from smr_stability.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [
        "# Command line",
        "",
        "The console script `smr-stability` (also `python -m smr_stability`). This page is",
        "generated from its argument parser, `smr_stability.cli.build_parser()`.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, p in sub.choices.items():
        lines += [f"## `smr-stability {name}`", ""]
        if helps.get(name):
            lines += [helps[name][0].upper() + helps[name][1:] + ".", ""]
        lines += ["```text", p.format_help().rstrip(), "```", ""]
    (DOCS / "cli.md").write_text("\n".join(lines))
    print(f"cli: {len(sub.choices)} commands")


def build(site, config=None):
    """``mkdocs build --strict`` into ``site``; return its exit code."""
    cmd = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--config-file",
        str(config or ROOT / "mkdocs.yml"),
        "--site-dir",
        str(site),
    ]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # material's end-of-life banner is not our news
    return subprocess.call(cmd, cwd=ROOT, env=env)


def main(argv=None):
    """Run the four steps; return the exit code (1 with the reason printed when one fails)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", default=str(ROOT / "site"), help="output folder (default: site/)")
    p.add_argument(
        "--skip-notebooks", action="store_true", help="keep docs/tutorials/ as it is instead of executing the notebooks"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook and per cell (default 120)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    if args.skip_notebooks:
        TUTORIALS.mkdir(parents=True, exist_ok=True)
    else:
        try:
            execute_notebooks(args.timeout)
        except NotebookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    write_gallery()
    write_cli()
    rc = build(Path(args.site).resolve())
    if rc:
        print(f"error: mkdocs build --strict failed (exit {rc})", file=sys.stderr)
        return rc
    print(f"site: {args.site} (built in {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
