"""Build the documentation site: execute the notebooks, collect the figures, document the CLI.

Usage: ``python docs/build_site.py [--site DIR] [--skip-notebooks] [--skip-cli-examples]
[--timeout 120]`` (``make docs`` runs it). Steps, all from the repository root:

0. KaTeX, which renders the site's formulas at build time (``docs/hooks.py``), is fetched into
   its cache folder unless it is there already; without it (and without network) the build
   stops here, before the slow steps;
1. every ``docs/notebooks/*.py`` (jupytext percent format, stored without outputs) is converted
   to a notebook and executed with nbclient in a ``python3`` kernel of this interpreter, with the
   repository root as working directory; the executed copy goes to ``docs/tutorials/NAME.ipynb``
   and the time it took is printed. A failing cell stops the build with the notebook, the cell
   and its line in the script named. ``--skip-notebooks`` keeps the executed copies already
   there (the quick way to iterate on the site);
2. meanwhile, the worked examples of the command-line page (``CLI_EXAMPLES``) run in a
   temporary folder, and their output is kept for the page; a failing example stops the build;
3. ``figures/*.png`` (and their JSON data) are copied to ``docs/gallery/`` and
   ``docs/gallery.md`` is written: per figure its image, the summary of the docstring of the
   function that draws it (``smr_stability.experiments.gallery.FIGURES``) and a link to its data;
4. ``docs/cli.md`` is written from ``smr_stability.cli.build_parser()``: per command what it
   does, its options as a table, and the examples of step 2 with their output;
5. ``mkdocs build --strict`` writes the site to ``--site`` (default ``site/``).

Everything written under ``docs/`` by steps 1-4 is generated and gitignored.
"""

import argparse
import importlib.util
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
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


_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc):`(~?)([^`]+)`")


def _code_role(m):
    """``:func:`~a.b.c``` -> ```c()```: a docstring role as an inline code span."""
    short, target = m.group(1), m.group(2)
    name = target.rsplit(".", 1)[-1] if short else target
    call = "()" if m.group(0).startswith((":func:", ":meth:", ":py:func:", ":py:meth:")) else ""
    return f"`{name}{call}`"


def figure_summary(doc):
    """The part of a numpydoc docstring before its first section (``Parameters``, ``Returns``, ...),
    as markdown: roles become code spans, and literal blocks lose their double backticks."""
    lines = (doc or "").splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip()):
            lines = lines[:i]
            break
    out = []
    for line in lines:
        line = _ROLE.sub(_code_role, line)
        if line.startswith("    ") and line.strip():
            line = line.replace("``", "")
        out.append(line)
    return "\n".join(out).strip()


def _link_data(summary, name):
    """Link the first mention of ``NAME.json`` in ``summary``; return (text, whether it was there)."""
    data = f"{name}.json"
    link = f"[`{data}`](gallery/{data})"
    pattern = re.compile(r"``" + re.escape(data) + r"``|`" + re.escape(data) + r"`")
    text, count = pattern.subn(link, summary, count=1)
    return text, bool(count)


def write_gallery():
    """Copy ``figures/*.png`` (and their JSON data) to ``docs/gallery/`` and write ``docs/gallery.md``.

    Each figure gets its image, the summary of the docstring of the function that draws it (the
    text before the numpydoc sections) and one link to its JSON data: the docstring's own mention
    of the file when it has one, else a line of its own.
    """
    from smr_stability.experiments.gallery import FIGURES as FUNCTIONS

    if GALLERY.exists():
        shutil.rmtree(GALLERY)
    GALLERY.mkdir(parents=True)
    lines = [
        "# Figure gallery",
        "",
        "The figures as committed in `figures/`. `make figures` (or `smr-stability figures`) rebuilds",
        "them; each one is also saved as PDF, with its data as CSV or JSON next to it, so no number",
        "has to be read off a picture. The text under each figure is the summary of the docstring of",
        "the function that draws it (the [API reference](api/figures.md) has the whole docstring, with",
        "its parameters and notes).",
        "",
    ]
    pngs = {p.stem: p for p in sorted(FIGURES.glob("*.png"))}
    names = [n for n in FUNCTIONS if n in pngs] + [n for n in pngs if n not in FUNCTIONS]
    for name in names:
        shutil.copy2(pngs[name], GALLERY / f"{name}.png")
        summary = figure_summary(inspect.getdoc(FUNCTIONS[name])) if name in FUNCTIONS else ""
        alt = re.sub(r"[`\[\]]", "", summary.split("\n\n")[0]).replace("*", "\\*") if summary else name
        lines += [f"## `{name}`", "", f"![{' '.join(alt.split())}](gallery/{name}.png)", ""]
        data = FIGURES / f"{name}.json"
        linked = False
        if data.exists():
            shutil.copy2(data, GALLERY / data.name)
            summary, linked = _link_data(summary, name)
        if summary:
            lines += [summary, ""]
        if data.exists() and not linked:
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


# The worked examples of docs/cli.md, run while the site is built (in a temporary folder, in this
# order: evaluate reads the run that train writes). Each is (subcommand or None, command line).
# They are small on purpose: the build runs them all in about 20 s on 2 cores.
_NPZ_SCRIPT = "import numpy as np; np.savez('sys.npz', A=[-1.0, -0.5+3j, -0.5-3j], B=[1, 1, 1])"
CLI_EXAMPLES = [
    (None, ["smr-stability", "--version"]),
    ("figures", ["smr-stability", "figures", "--list"]),
    (
        "verify-theorem1",
        ["smr-stability", "verify-theorem1", "--systems", "200", "--continuous", "10"]
        + ["--workers", "1", "--no-progress"],
    ),
    ("analyze", ["smr-stability", "analyze", "--model", "s4d-lin", "--N", "8", "--dt", "0.05"]),
    ("analyze", ["python", "-c", _NPZ_SCRIPT]),
    ("analyze", ["smr-stability", "analyze", "--npz", "sys.npz", "--dt", "0.05", "--method", "zoh"]),
    (
        "train",
        ["smr-stability", "train", "--task", "sines", "--layer", "s4d", "--small", "--epochs", "2"]
        + ["--out", "run", "--no-progress"],
    ),
    ("evaluate", ["smr-stability", "evaluate", "run", "--schedules", "uniform", "irregular"]),
]


class ExampleError(RuntimeError):
    """A worked example of the command-line page failed; the message has the command and its output."""


def _shell(argv):
    """The command line as typed in a POSIX shell (double quotes for a simple argument with spaces)."""
    simple = re.compile(r"[\w\s.,;:=()\[\]'+-]+")
    return " ".join(f'"{a}"' if " " in a and simple.fullmatch(a) else shlex.quote(a) for a in argv)


def run_cli_examples(examples=CLI_EXAMPLES, timeout=120.0):
    """Run ``examples`` in a temporary folder; return ``[(command, argv, output)]``.

    ``smr-stability`` and ``python`` run as this interpreter (``-m smr_stability``), with the
    repository on the path, ``COLUMNS=100``, ``NO_COLOR`` and the Agg backend; stdout and stderr
    are interleaved as on a terminal. A non-zero exit status raises ExampleError.
    """
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for command, argv in examples:
            prefix = [sys.executable, "-m", "smr_stability"] if argv[0] == "smr-stability" else [sys.executable]
            start = time.perf_counter()
            try:
                proc = subprocess.run(
                    prefix + argv[1:],
                    cwd=tmp,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise ExampleError(f"`{_shell(argv)}` ran past {timeout:g} s") from None
            if proc.returncode:
                raise ExampleError(f"`{_shell(argv)}` exited with {proc.returncode}:\n{proc.stdout[-3000:]}")
            results.append((command, argv, proc.stdout.rstrip()))
            print(f"cli example: {_shell(argv)} ({time.perf_counter() - start:.1f} s)", flush=True)
    return results


def _cell(text):
    """Text for a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _help_markdown(text):
    """Help text as markdown: option names (``--dt``) and environment variables (``$NAME``) as code."""
    text = re.sub(r"(?<![\w`-])(--[a-zA-Z][\w-]*)", r"`\1`", text)
    return re.sub(r"(?<![\w`])(\$[A-Z_][A-Z0-9_]*)", r"`\1`", text)


def _sentence(text):
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", ":")) else ".")


def _options_table(parser):
    """Markdown table of ``parser``'s arguments (without ``-h``): option, value, default, help."""
    formatter = parser._get_formatter()
    rows = ["| option | value | default | what it does |", "|---|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = action.option_strings or [action.dest]
        option = ", ".join(f"`{n}`" for n in names)
        takes_value = action.nargs != 0 and not isinstance(
            action, (argparse._VersionAction, argparse.BooleanOptionalAction)
        )
        if not takes_value:
            value = "–"
        elif action.choices:
            value = " \\| ".join(f"`{c}`" for c in action.choices)
        else:
            metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
            value = f"`{metavar} ...`" if action.nargs in ("+", "*") else f"`{metavar}`"
        if action.required:
            default = "required"
        elif action.default is None or action.default is argparse.SUPPRESS:
            default = "–"
        elif not takes_value:
            default = "on" if action.default else "off"
        else:
            default = f"`{action.default}`"
        help_text = formatter._expand_help(action) if action.help else ""
        if isinstance(action, argparse._VersionAction):
            help_text = "print the version and exit"
        rows.append(f"| {option} | {value} | {default} | {_help_markdown(_cell(help_text)) or '–'} |")
    return rows


def _example_block(runs):
    """A console block: each command after a ``$`` prompt, then what it printed."""
    lines = ["```console"]
    for _, argv, output in runs:
        lines.append(f"$ {_shell(argv)}")
        if output:
            lines.append(output)
    lines.append("```")
    return lines


def _epilog(text):
    """An argparse epilog as markdown: its paragraphs, and its ``examples:`` as a shell block."""
    prose, _, examples = text.partition("examples:")
    lines = []
    for paragraph in prose.strip().split("\n\n"):
        if paragraph.strip():
            lines += [_help_markdown(_cell(paragraph).replace("\\|", "|")), ""]
    if examples.strip():
        lines += ["More invocations:", "", "```bash", textwrap.dedent(examples).strip("\n"), "```", ""]
    return lines


def write_cli(examples=None):
    """Write ``docs/cli.md`` from ``smr_stability.cli.build_parser()``: per command what it does,
    a table of its options and worked examples with the output they printed (``examples``, from
    ``run_cli_examples``; without them the page says none were run)."""
    os.environ["COLUMNS"] = "100"  # argparse wraps the usage lines to the terminal width
    from smr_stability.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    by_command = {}
    for command, argv, output in examples or []:
        by_command.setdefault(command, []).append((command, argv, output))
    slug = {name: f"smr-stability-{name}" for name in sub.choices}  # the headings' anchors
    lines = [
        "# Command line",
        "",
        "The console script `smr-stability` (also `python -m smr_stability`), installed with the",
        "package. This page is generated from its argument parser, `smr_stability.cli.build_parser()`,",
        "and every example on it was run while the site was built: the output is what the command",
        "printed then. Each command also takes `-h`/`--help`. A wrong option, or an error of the toolkit",
        "(a named error saying what was expected and what was found), is reported on one line with exit",
        "status 2; `--debug` adds the Python traceback.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{name}`](#{slug[name]}) | {_cell(_sentence(helps.get(name, '')))} |" for name in sub.choices]
    lines += [
        "",
        "## Global options",
        "",
        "Given before the command (`smr-stability --debug analyze ...`).",
        "",
        *_options_table(parser),
        "",
    ]
    if by_command.get(None):
        lines += _example_block(by_command[None]) + [""]
    for name, p in sub.choices.items():
        lines += [f"## `smr-stability {name}`", ""]
        lines += [_help_markdown(_sentence(p.description or helps.get(name, ""))), ""]
        usage = textwrap.dedent(" " * len("usage: ") + p.format_usage().strip().removeprefix("usage: "))
        lines += ["```text", usage, "```", ""]
        lines += _options_table(p) + [""]
        if p.epilog:
            lines += _epilog(p.epilog)
        runs = by_command.get(name)
        if runs:
            lines += ["Example:" if len(runs) == 1 else "Examples:", "", *_example_block(runs), ""]
    if examples is None:
        lines += ["!!! note", "    This build skipped the examples (`docs/build_site.py --skip-cli-examples`).", ""]
    (DOCS / "cli.md").write_text("\n".join(lines))
    print(f"cli: {len(sub.choices)} commands, {len(examples or [])} examples")


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


def _hooks():
    """``docs/hooks.py`` as a module (the KaTeX download lives there)."""
    spec = importlib.util.spec_from_file_location("smr_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    """Run the steps; return the exit code (1 with the reason printed when one fails)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", default=str(ROOT / "site"), help="output folder (default: site/)")
    p.add_argument(
        "--skip-notebooks", action="store_true", help="keep docs/tutorials/ as it is instead of executing the notebooks"
    )
    p.add_argument(
        "--skip-cli-examples", action="store_true", help="write the command-line page without running its examples"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook and per cell (default 120)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    hooks = _hooks()
    try:
        print(f"katex: {hooks.ensure_katex()}", flush=True)  # before the slow steps: fail early without it
    except hooks.KatexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The examples of the CLI page run in their own processes while the notebooks execute.
        examples = None if args.skip_cli_examples else pool.submit(run_cli_examples)
        try:
            if args.skip_notebooks:
                TUTORIALS.mkdir(parents=True, exist_ok=True)
            else:
                execute_notebooks(args.timeout)
            examples = examples.result() if examples is not None else None
        except (NotebookError, ExampleError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    write_gallery()
    write_cli(examples)
    rc = build(Path(args.site).resolve())
    if rc:
        print(f"error: mkdocs build --strict failed (exit {rc})", file=sys.stderr)
        return rc
    print(f"site: {args.site} (built in {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
