"""The built distributions ship every subpackage, and the wheel works outside the repository.

``make test`` runs on an editable install, which sees every file of the working tree whatever
``pyproject.toml`` says is packaged. Here the sdist and the wheel are built the way a release
is, their file lists are compared with the repository's modules, and the wheel is installed
(not editable) into a fresh virtual environment where the CLI trains and evaluates a tiny model
from a folder outside the repository.

The expensive part (build, venv, install: about half a minute with a warm pip cache) runs once
per module, in the module-scoped fixtures ``built`` and ``installed``.
"""

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "smr_stability"
# The local CPU build of torch lives here on the project's machines (the Makefile does the same).
FIND_LINKS = Path("/opt/wheels")
BIN = "Scripts" if os.name == "nt" else "bin"

# Left out of the copy the distributions are built from: build outputs, caches and local
# state, which are not sources and (build/ above all) could leak stale files into the wheel.
_TOP_LEVEL_SKIP = {
    ".git",
    "build",
    "dist",
    "site",
    "runs",
    "figures",
    ".cache",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
}


def _run(cmd, *, cwd, env=None, timeout=300):
    """Run ``cmd``; on a non-zero exit or a timeout fail with its stdout and stderr."""
    shown = " ".join(str(c) for c in cmd)
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"timed out after {timeout} s: {shown}\n--- stdout ---\n{exc.stdout}\n--- stderr ---\n{exc.stderr}")
    assert proc.returncode == 0, (
        f"exit status {proc.returncode}: {shown}\n(cwd {cwd})\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    return proc


def _clean_env(**extra):
    """The environment minus anything that could put the repository or user site on sys.path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")
    }
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra)
    return env


def _repo_modules():
    """Every ``.py`` file of the package in the repository, as ``smr_stability/...`` paths."""
    return {p.relative_to(REPO).as_posix() for p in (REPO / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts}


def _version():
    text = (REPO / PACKAGE / "_version.py").read_text()
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    assert match, f"no __version__ in {PACKAGE}/_version.py"
    return match.group(1)


def _ignore(directory, names):
    skip = {
        n
        for n in names
        if n == "__pycache__" or n.endswith(".egg-info") or (Path(directory, n) / "pyvenv.cfg").exists()
    }  # a virtualenv, wherever it lies
    if Path(directory).resolve() == REPO:
        skip |= _TOP_LEVEL_SKIP & set(names)
    return skip


def _setuptools_usable():
    """Whether this interpreter can build without build isolation (pyproject wants >= 64)."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(re.match(r"\d+", part).group()) for part in version.split(".")[:2])
    if major < 64:
        return False
    # Before 70.1 the wheel command came from the separate `wheel` package.
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


_BUILD = """\
import sys
import setuptools.build_meta as backend
out = sys.argv[1]
print(backend.build_sdist(out))
print(backend.build_wheel(out))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel, built without build isolation from a copy of the repository."""
    tmp = tmp_path_factory.mktemp("dist")
    expected = _repo_modules()
    # A private copy: an in-tree build would write build/ and *.egg-info into the working tree,
    # and setuptools packs whatever an old build/lib holds (modules moved since included).
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_ignore, symlinks=True)
    out = tmp / "out"
    out.mkdir()
    env = _clean_env()
    if not _setuptools_usable():
        # No suitable setuptools here (the dev venv gets it through torch): fetch one from the
        # package index into a side folder, as pip's isolated build would.
        backend_dir = tmp / "backend"
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", backend_dir, "setuptools>=70.1"],
            cwd=tmp,
            env=env,
        )
        env["PYTHONPATH"] = str(backend_dir)
    _run([sys.executable, "-c", _BUILD, out], cwd=src, env=env)
    sdists = sorted(out.glob("*.tar.gz"))
    wheels = sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0], "expected": expected}


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """A fresh venv with the built wheel installed (pinned by constraints.txt), and a workdir."""
    tmp = tmp_path_factory.mktemp("wheel_venv")
    venv = tmp / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", venv], cwd=tmp, env=env, timeout=120)
    python = venv / BIN / "python"
    find_links = ["--find-links", FIND_LINKS] if FIND_LINKS.is_dir() else []
    # --no-compile: byte-compiling all of torch would double the install time; the few
    # modules the checks import are compiled when first imported.
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *find_links,
            "-c",
            REPO / "constraints.txt",
            built["wheel"],
        ],
        cwd=tmp,
        env=env,
        timeout=600,
    )
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp, env=env
    ).stdout.strip()
    work = tmp / "work"  # outside the repository: `python -c` puts only this folder on sys.path
    work.mkdir()
    run_env = _clean_env(
        SMR_STABILITY_CACHE=str(tmp / "cache"),
        MPLBACKEND="Agg",
        PATH=os.pathsep.join([str(venv / BIN), os.environ.get("PATH", "")]),
    )
    yield {
        "python": python,
        "cli": venv / BIN / "smr-stability",
        "purelib": Path(purelib).resolve(),
        "work": work,
        "env": run_env,
    }
    # The venv weighs over a gigabyte (torch): don't leave it to pytest's retained tmp dirs.
    shutil.rmtree(venv, ignore_errors=True)


def _run_in(installed, *args, timeout=300):
    return _run(list(args), cwd=installed["work"], env=installed["env"], timeout=timeout)


def _compare(kind, found, expected):
    missing, extra = sorted(expected - found), sorted(found - expected)
    assert not missing and not extra, (
        f"the {kind} does not match the repository's modules:\nmissing: {missing}\nextra: {extra}"
    )


def test_wheel_contains_every_module(built):
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = set(zf.namelist())
    found = {n for n in names if n.startswith(f"{PACKAGE}/") and n.endswith(".py")}
    _compare(f"wheel {built['wheel'].name}", found, built["expected"])


def test_sdist_contains_every_module_and_the_metadata(built):
    with tarfile.open(built["sdist"]) as tf:
        # Strip the top folder (smr_stability-<version>/).
        names = {m.name.split("/", 1)[1] for m in tf.getmembers() if m.isfile() and "/" in m.name}
    found = {n for n in names if n.startswith(f"{PACKAGE}/") and n.endswith(".py")}
    _compare(f"sdist {built['sdist'].name}", found, built["expected"])
    missing = {"pyproject.toml", "README.md"} - names
    assert not missing, f"the sdist lacks {sorted(missing)}"


def test_installed_package_imports_from_the_venv(installed):
    code = (
        "import importlib.metadata\n"
        "import smr_stability, smr_stability.nn, smr_stability.experiments\n"
        "print(importlib.metadata.version('smr-stability'))\n"
        "for m in (smr_stability, smr_stability.nn, smr_stability.experiments):\n"
        "    print(m.__file__)"
    )
    lines = _run_in(installed, installed["python"], "-c", code).stdout.split()
    assert lines[0] == _version()
    for line in lines[1:]:
        path = Path(line).resolve()
        assert path.is_relative_to(installed["purelib"]), f"{path} is not in {installed['purelib']}"
        assert not path.is_relative_to(REPO), f"{path} was imported from the repository"


def test_cli_version(installed):
    out = _run_in(installed, installed["cli"], "--version").stdout
    assert _version() in out.split(), out


@pytest.fixture(scope="module")
def trained_run(installed):
    run = installed["work"] / "RUN"
    _run_in(
        installed,
        installed["cli"],
        "train",
        "--task",
        "sines",
        "--layer",
        "s4d",
        "--epochs",
        "1",
        "--small",
        "--out",
        "RUN",
        "--no-progress",
    )
    return run


def test_cli_train_writes_a_checkpoint(trained_run):
    for name in ("model.safetensors", "config.json"):
        assert (trained_run / name).is_file(), sorted(p.name for p in trained_run.iterdir())


def test_cli_evaluate(installed, trained_run):
    (trained_run / "evaluation.csv").unlink(missing_ok=True)  # in case train wrote one already
    _run_in(installed, installed["cli"], "evaluate", "RUN")
    assert (trained_run / "evaluation.csv").is_file()
