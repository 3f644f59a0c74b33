"""Sweeps: many independent cells run on Dask workers, each cached on disk when it finishes.

A sweep is a name, a function and a list of cells (JSON-serialisable dicts of keyword
arguments). [`run_cells`][smr_stability.experiments.sweeps.run_cells] evaluates `fn(**cell)` for
every cell whose result is not yet on disk, on the workers of `smr_stability.parallel` (a local
cluster by default, an existing one with `$SMR_STABILITY_SCHEDULER`), and this process (the client)
stores each result as soon as it comes back:

```text
<cache>/sweeps/<name>/<sha256(cell)[:16]>.json   {"cell": ..., "result": ...}
```

written atomically (temporary file + rename). An interrupted sweep therefore resumes where it
stopped: finished cells are read back, never recomputed. Trained models follow the same rule
through [`cached_run`][smr_stability.experiments.sweeps.cached_run]: a run directory keyed by the
hash of its `TrainConfig`, where training itself resumes from the last finished epoch.

`<cache>` is `$SMR_STABILITY_CACHE` or `~/.cache/smr_stability/tasks` (the task cache).

No filesystem is shared with the workers. A cell that names a trained model (a `"config"`
key holding TrainConfig fields) carries the run's files (`STORED_FILES`) to the worker
when the client has the finished run, and the worker installs them in its own cache; when the
worker trains the run itself, its files come back with the result and the client installs
them, in its cache and in the store of runs. Task data is regenerated on the worker from the
config, and cached there.

With `$SMR_STABILITY_CELLS` set (`make figures` sets it to `figures/cells`), every result
is also kept in that store, `<store>/<name>/<sha256(cell)[:16]>.json`, and a cell found there
is not computed again: committed with the figures, the store carries a long study's finished
cells from one session or machine to the next, as `figures/runs` carries the trained models.
`$SMR_STABILITY_RUNS_MODE=write` (`figures --retrain`) skips reading it.
"""

import hashlib
import json
import os
from pathlib import Path

from .._validation import check_int
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

#: A folder of committed sweep results (`figures/cells`): see the module docstring.
CELLS_ENV = "SMR_STABILITY_CELLS"
#: A folder of committed runs (`figures/runs`): see [`cached_run`][smr_stability.experiments.sweeps.cached_run].
RUNS_ENV = "SMR_STABILITY_RUNS"
#: `read` (default): use the finished runs found there; `write`: only store new ones.
RUNS_MODE_ENV = "SMR_STABILITY_RUNS_MODE"
#: What a stored run keeps: enough to load it (`load_run`) and to read its training curve.
STORED_FILES = ("config.json", "model.safetensors", "best.safetensors", "metrics.csv")


def _cache_root(cache_dir=None):
    from ..nn.data import cache_root

    return Path(cache_root(cache_dir))


def _digest(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def cell_path(name, cell, cache_dir=None):
    """Where the result of `cell` of sweep `name` is stored."""
    return _cache_root(cache_dir) / "sweeps" / name / f"{_digest(cell)}.json"


def _write_atomic(path, data):
    """Write `data` (str or bytes) to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    (tmp.write_bytes if isinstance(data, bytes) else tmp.write_text)(data)
    os.replace(tmp, path)


def _read(path, cell):
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a missing or torn file is recomputed
    return stored["result"] if stored.get("cell") == cell else None


def _run_files(cell):
    """The files of the finished run a cell names (its `"config"`), or None. Runs are looked up
    where the cell functions look for them (`find_run` and `cached_run` of the default cache),
    whatever the `cache_dir` of the sweep's results."""
    config = _cell_config(cell)
    if config is None:
        return None
    run = find_run(config)
    if not _finished(run, config):
        return None
    return {name: (run / name).read_bytes() for name in STORED_FILES if (run / name).is_file()}


def _cell_config(cell):
    if not isinstance(cell.get("config"), dict) or "task" not in cell["config"]:
        return None
    from ..nn.config import TrainConfig

    return TrainConfig.from_dict(cell["config"])


def _install_run(config, files):
    """Write a run's files into [`run_dir`][smr_stability.experiments.sweeps.run_dir] of this
    machine's default cache (unless it has the run already)."""
    if _finished(find_run(config), config):
        return
    for name, data in files.items():
        _write_atomic(run_dir(config) / name, data)


def _cell_task(fn, cell, files, ship):
    """What a worker runs for one cell. With `ship` (a cluster, perhaps on other machines): install
    the run the cell names from `files`, and send the run's files back when it was trained here
    (`files` None). In this process (`ship` false) the cache is the client's: nothing travels."""
    config = _cell_config(cell) if ship else None
    if files:
        _install_run(config, files)
    result = json.loads(json.dumps(fn(**cell)))  # a JSON value, as it will be stored
    back = _run_files(cell) if config is not None and not files else None
    return result, back


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


def run_cells(name, fn, cells, *, cache_dir=None, workers=None, progress=True, client=None):
    """Evaluate `fn(**cell)` for every cell, reusing results already on disk.

    Parameters
    ----------
    name : str
        Folder of the sweep's results under `<cache>/sweeps`.
    fn : callable
        A module-level function (workers import it by name) returning a JSON-serialisable value.
    cells : list of dict
        Keyword arguments, JSON values only. A cell's hash is its identity: change a value and
        it is a new cell.
    cache_dir : str or Path, optional
    workers : int, optional
        Workers of the local cluster; default the cores. `1` runs in this process, unless a
        cluster is named (`client`, a `smr_stability.parallel.session`, or
        `$SMR_STABILITY_SCHEDULER`). Each worker uses one thread for torch, numba and BLAS.
    progress : bool
        One bar over the cells as they complete.
    client : distributed.Client or str, optional
        The cluster to run on (`smr_stability.parallel.run_tasks`).

    Returns
    -------
    list
        The results, in the order of `cells`: the same whatever the workers or the cluster.

    Examples
    --------
    >>> import statistics, tempfile
    >>> from smr_stability.experiments.sweeps import run_cells
    >>> cells = [{"data": [1, 2, 3, 4]}, {"data": [5.0]}]
    >>> run_cells("demo", statistics.fmean, cells, cache_dir=tempfile.mkdtemp(), workers=1, progress=False)
    [2.5, 5.0]
    """
    from tqdm import tqdm

    from ..parallel import in_process, run_tasks

    cells = _check_cells(name, fn, cells)
    if workers is not None:
        workers = check_int(workers, "workers")
    paths = [cell_path(name, c, cache_dir) for c in cells]
    store = _cell_store(name)
    stored = [None if store is None else store / p.name for p in paths]
    results = [_read(p, c) if p.exists() else None for p, c in zip(paths, cells)]
    for i, s in enumerate(stored):
        if results[i] is None and s is not None and s.exists() and os.environ.get(RUNS_MODE_ENV, "read") != "write":
            results[i] = _read(s, cells[i])
    todo = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=name, unit="cell", disable=not progress)
    ship = not in_process(client, workers)

    def with_run_files(task):  # at submission: the files of the run the cell names travel with it
        return task[:2] + (_run_files(task[1]), True)

    tasks = [(fn, cells[i], None, ship) for i in todo]
    with bar:
        for k, (result, files) in run_tasks(
            _cell_task, tasks, client=client, workers=workers, prepare=with_run_files if ship else None
        ):
            i = todo[k]
            if files:
                _deliver_run(_cell_config(cells[i]), files)
            _write_atomic(paths[i], json.dumps({"cell": cells[i], "result": result}))
            results[i] = result
            bar.update()
    for i, s in enumerate(stored):
        if s is not None and not s.exists():
            _write_atomic(s, json.dumps({"cell": cells[i], "result": results[i]}))
    return results


def _deliver_run(config, files):
    """A run trained on a worker, back on the client: into the cache, and into the store of runs."""
    _install_run(config, files)
    store, _ = _store()
    if store is not None and not _finished(stored_run_dir(config, store), config):
        for name, data in files.items():
            _write_atomic(stored_run_dir(config, store) / name, data)


def _cell_store(name):
    """The folder of sweep `name` in the store of committed cells, or None when there is none."""
    store = os.environ.get(CELLS_ENV)
    return Path(store) / name if store else None


def config_identity(config):
    """What names a run: the fields of its config that differ from their defaults.

    A field added to [`TrainConfig`][smr_stability.nn.config.TrainConfig] later, with a default that
    keeps the old behaviour, leaves the identity (and so the run directory) of every existing
    run unchanged.
    """
    import dataclasses

    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    return {k: v for k, v in config.to_dict().items() if v != defaults[k]}


def run_dir(config, cache_dir=None):
    """The run directory of a [`TrainConfig`][smr_stability.nn.config.TrainConfig]: keyed by its hash."""
    return _cache_root(cache_dir) / "runs" / _digest(config_identity(config))


def stored_run_dir(config, store):
    """Where the committed copy of a run lives in a store of runs: `<store>/<hash of config>`."""
    return Path(store) / _digest(config_identity(config))


def _finished(run, config):
    """True when `run` holds a run of `config` that trained all its epochs."""
    from ..nn.checkpoint import read_metrics

    try:
        same = type(config).from_dict(json.loads((run / "config.json").read_text())) == config
    except (OSError, ValueError, TypeError):
        return False
    return same and (run / "model.safetensors").is_file() and len(read_metrics(run)) == config.epochs


def _store():
    """The store of committed runs and whether to read from it (`$SMR_STABILITY_RUNS`)."""
    store = os.environ.get(RUNS_ENV)
    return (Path(store) if store else None), os.environ.get(RUNS_MODE_ENV, "read") != "write"


def find_run(config, cache_dir=None):
    """The run directory of a trained `config`: its committed copy in the store of runs when
    there is a finished one (and the store is read), else
    [`run_dir`][smr_stability.experiments.sweeps.run_dir] in the cache."""
    store, readable = _store()
    if store is not None and readable and _finished(stored_run_dir(config, store), config):
        return stored_run_dir(config, store)
    return run_dir(config, cache_dir)


def cached_run(config, cache_dir=None, progress=False):
    """A finished run of `config`: from the store of committed runs, or trained into
    [`run_dir`][smr_stability.experiments.sweeps.run_dir].

    With `$SMR_STABILITY_RUNS` set (`make figures` sets it to `figures/runs`), a finished
    run found there is used as it is, and a run trained here is copied there (config, last and
    best weights, metrics; no optimiser state), so that the weights are committed with the
    figures. `$SMR_STABILITY_RUNS_MODE=write` skips the reading (`figures --retrain`).

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
