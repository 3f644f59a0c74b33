"""Sweeps: many independent cells run in parallel processes, each cached on disk when it finishes.

A sweep is a name, a function and a list of cells (JSON-serialisable dicts of keyword
arguments). :func:`run_cells` evaluates ``fn(**cell)`` for every cell whose result is not yet
on disk, in ``workers`` spawned processes, and stores each result as soon as it is computed::

    <cache>/sweeps/<name>/<sha256(cell)[:16]>.json   {"cell": ..., "result": ...}

written atomically (temporary file + rename). An interrupted sweep therefore resumes where it
stopped: finished cells are read back, never recomputed. Trained models follow the same rule
through :func:`cached_run`: a run directory keyed by the hash of its ``TrainConfig``, where
training itself resumes from the last finished epoch.

``<cache>`` is ``$SMR_STABILITY_CACHE`` or ``~/.cache/smr_stability/tasks`` (the task cache).

With ``$SMR_STABILITY_CELLS`` set (``make figures`` sets it to ``figures/cells``), every result
is also kept in that store, ``<store>/<name>/<sha256(cell)[:16]>.json``, and a cell found there
is not computed again: committed with the figures, the store carries a long study's finished
cells from one session or machine to the next, as ``figures/runs`` carries the trained models.
``$SMR_STABILITY_RUNS_MODE=write`` (``figures --retrain``) skips reading it.
"""

import hashlib
import json
import os
from pathlib import Path

from ..errors import InputTypeError, ParameterError

__all__ = [
    "CELLS_ENV",
    "RUNS_ENV",
    "RUNS_MODE_ENV",
    "cached_run",
    "cell_path",
    "config_identity",
    "find_run",
    "run_cells",
    "run_dir",
    "stored_run_dir",
]

#: A folder of committed sweep results (``figures/cells``): see the module docstring.
CELLS_ENV = "SMR_STABILITY_CELLS"
#: A folder of committed runs (``figures/runs``): see :func:`cached_run`.
RUNS_ENV = "SMR_STABILITY_RUNS"
#: ``read`` (default): use the finished runs found there; ``write``: only store new ones.
RUNS_MODE_ENV = "SMR_STABILITY_RUNS_MODE"
#: What a stored run keeps: enough to load it (``load_run``) and to read its training curve.
STORED_FILES = ("config.json", "model.safetensors", "best.safetensors", "metrics.csv")

# one BLAS / OpenMP / torch thread per worker: workers share the machine's cores
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _cache_root(cache_dir=None):
    from ..nn.data import cache_root

    return Path(cache_root(cache_dir))


def _digest(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def cell_path(name, cell, cache_dir=None):
    """Where the result of ``cell`` of sweep ``name`` is stored."""
    return _cache_root(cache_dir) / "sweeps" / name / f"{_digest(cell)}.json"


def _write_atomic(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _read(path, cell):
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a missing or torn file is recomputed
    return stored["result"] if stored.get("cell") == cell else None


def _init_worker():
    """One torch thread per worker (the BLAS, OpenMP and numba ones come from the environment)."""
    import torch

    torch.set_num_threads(1)


def _compute(fn, cell, path):
    result = fn(**cell)
    _write_atomic(path, json.dumps({"cell": cell, "result": result}))
    return result


def _check_cells(name, fn, cells):
    if not isinstance(name, str) or not name or "/" in name:
        raise ParameterError(f"name: expected a non-empty folder name without '/'; found {name!r}.")
    if not callable(fn):
        raise InputTypeError(f"fn: expected a module-level function; found {type(fn).__name__}.")
    cells = list(cells)
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise InputTypeError(f"cells[{i}]: expected a dict of keyword arguments; found {type(cell).__name__}.")
        try:
            if json.loads(json.dumps(cell)) != cell:
                raise TypeError("does not survive a JSON round trip")
        except (TypeError, ValueError) as exc:
            raise InputTypeError(
                f"cells[{i}]: expected JSON values only (str, int, float, bool, None, lists, dicts with str keys) "
                f"so that the cell can be hashed and stored; found {cell!r} ({exc}). Convert tuples to lists."
            ) from None
    return cells


def run_cells(name, fn, cells, *, cache_dir=None, workers=None, progress=True):
    """Evaluate ``fn(**cell)`` for every cell, reusing results already on disk.

    Parameters
    ----------
    name : str
        Folder of the sweep's results under ``<cache>/sweeps``.
    fn : callable
        A module-level function (it is sent to spawned processes) returning a JSON-serialisable
        value.
    cells : list of dict
        Keyword arguments, JSON values only. A cell's hash is its identity: change a value and
        it is a new cell.
    cache_dir : str or Path, optional
    workers : int, optional
        Processes to use; default ``min(2, os.cpu_count())``. ``1`` runs in this process.
        Each worker uses one thread for torch and BLAS.
    progress : bool

    Returns
    -------
    list
        The results, in the order of ``cells``.

    Examples
    --------
    >>> import statistics, tempfile
    >>> from smr_stability.experiments.sweeps import run_cells
    >>> cells = [{"data": [1, 2, 3, 4]}, {"data": [5.0]}]
    >>> run_cells("demo", statistics.fmean, cells, cache_dir=tempfile.mkdtemp(), workers=1, progress=False)
    [2.5, 5.0]
    """
    from tqdm import tqdm

    cells = _check_cells(name, fn, cells)
    workers = min(2, os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise ParameterError(f"workers: expected an integer >= 1; found {workers}.")
    paths = [cell_path(name, c, cache_dir) for c in cells]
    store = _cell_store(name)
    stored = [None if store is None else store / p.name for p in paths]
    results = [_read(p, c) if p.exists() else None for p, c in zip(paths, cells)]
    for i, s in enumerate(stored):
        if results[i] is None and s is not None and s.exists() and os.environ.get(RUNS_MODE_ENV, "read") != "write":
            results[i] = _read(s, cells[i])
    todo = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=name, unit="cell", disable=not progress)
    if workers == 1 or len(todo) <= 1:
        for i in todo:
            results[i] = json.loads(json.dumps(_compute(fn, cells[i], paths[i])))
            bar.update()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")  # torch and numba are not fork-safe
        saved = {var: os.environ.get(var) for var in _THREAD_VARS}
        os.environ.update({var: "1" for var in _THREAD_VARS})  # read by the workers' BLAS and numba at import
        try:
            with ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx, initializer=_init_worker) as pool:
                futures = {pool.submit(_compute, fn, cells[i], paths[i]): i for i in todo}
                for fut in as_completed(futures):
                    results[futures[fut]] = json.loads(json.dumps(fut.result()))
                    bar.update()
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
    bar.close()
    for i, s in enumerate(stored):
        if s is not None and not s.exists():
            _write_atomic(s, json.dumps({"cell": cells[i], "result": results[i]}))
    return results


def _cell_store(name):
    """The folder of sweep ``name`` in the store of committed cells, or None when there is none."""
    store = os.environ.get(CELLS_ENV)
    return Path(store) / name if store else None


def config_identity(config):
    """What names a run: the fields of its config that differ from their defaults.

    A field added to :class:`~smr_stability.nn.config.TrainConfig` later, with a default that
    keeps the old behaviour, leaves the identity (and so the run directory) of every existing
    run unchanged.
    """
    import dataclasses

    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    return {k: v for k, v in config.to_dict().items() if v != defaults[k]}


def run_dir(config, cache_dir=None):
    """The run directory of a :class:`~smr_stability.nn.config.TrainConfig`: keyed by its hash."""
    return _cache_root(cache_dir) / "runs" / _digest(config_identity(config))


def stored_run_dir(config, store):
    """Where the committed copy of a run lives in a store of runs: ``<store>/<hash of config>``."""
    return Path(store) / _digest(config_identity(config))


def _finished(run, config):
    """True when ``run`` holds a run of ``config`` that trained all its epochs."""
    from ..nn.checkpoint import read_metrics

    try:
        same = type(config).from_dict(json.loads((run / "config.json").read_text())) == config
    except (OSError, ValueError, TypeError):
        return False
    return same and (run / "model.safetensors").is_file() and len(read_metrics(run)) == config.epochs


def _store():
    """The store of committed runs and whether to read from it (``$SMR_STABILITY_RUNS``)."""
    store = os.environ.get(RUNS_ENV)
    return (Path(store) if store else None), os.environ.get(RUNS_MODE_ENV, "read") != "write"


def find_run(config, cache_dir=None):
    """The run directory of a trained ``config``: its committed copy in the store of runs when
    there is a finished one (and the store is read), else :func:`run_dir` in the cache."""
    store, readable = _store()
    if store is not None and readable and _finished(stored_run_dir(config, store), config):
        return stored_run_dir(config, store)
    return run_dir(config, cache_dir)


def cached_run(config, cache_dir=None, progress=False):
    """A finished run of ``config``: from the store of committed runs, or trained into :func:`run_dir`.

    With ``$SMR_STABILITY_RUNS`` set (``make figures`` sets it to ``figures/runs``), a finished
    run found there is used as it is, and a run trained here is copied there (config, last and
    best weights, metrics; no optimiser state), so that the weights are committed with the
    figures. ``$SMR_STABILITY_RUNS_MODE=write`` skips the reading (``figures --retrain``).

    Training resumes from the cache's last finished epoch, or does nothing when the run has
    finished. It runs on one torch thread, as in the sweep workers: the sums of a multi-threaded
    CPU kernel are ordered differently, so the same config would otherwise give weights that
    differ in the last digits depending on which process trained it first.
    """
    import shutil

    import torch

    from ..nn.train import train

    found = find_run(config, cache_dir)
    if found != run_dir(config, cache_dir):
        return found
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(config, found, progress=progress)
    finally:
        torch.set_num_threads(threads)
    store, _ = _store()
    if store is not None:
        target = stored_run_dir(config, store)
        target.mkdir(parents=True, exist_ok=True)
        for name in STORED_FILES:
            if (found / name).is_file():
                tmp = target / f"{name}.{os.getpid()}.tmp"
                shutil.copyfile(found / name, tmp)
                os.replace(tmp, target / name)
    return found
