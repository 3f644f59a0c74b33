"""Sweeps: results in cell order, the parallel path equals the serial one, finished cells are
never recomputed, torn files are, and bad input gets a named error."""

import json
from pathlib import Path

import pytest

from smr_stability.errors import InputTypeError, ParameterError
from smr_stability.experiments.sweeps import cell_path, run_cells

CELLS = [{"x": x, "label": f"c{x}"} for x in range(5)]


def square(x, label):
    return {"label": label, "value": x * x}


def worker_threads(seed):
    """Thread counts seen inside a worker, after running numba's compiled scan."""
    import numba
    import numpy as np
    import torch

    from smr_stability.simulation import simulate

    u = np.random.default_rng(seed).standard_normal((2, 50, 1))
    simulate(np.array([0.9, 0.5j]), np.ones(2), np.ones(2), None, u, return_states=True, mode="scan")
    return [numba.config.NUMBA_NUM_THREADS, numba.get_num_threads(), torch.get_num_threads()]


def refuse(**cell):
    raise AssertionError(f"cell {cell} was recomputed")


def test_results_come_back_in_cell_order(tmp_path):
    out = run_cells("sq", square, CELLS, cache_dir=tmp_path, workers=1, progress=False)
    assert out == [{"label": f"c{x}", "value": x * x} for x in range(5)]


def test_parallel_processes_give_the_serial_results(tmp_path):
    serial = run_cells("sq", square, CELLS, cache_dir=tmp_path / "a", workers=1, progress=False)
    parallel = run_cells("sq", square, CELLS, cache_dir=tmp_path / "b", workers=2, progress=False)
    assert parallel == serial
    assert all(cell_path("sq", c, tmp_path / "b").exists() for c in CELLS)


def test_workers_use_one_thread_and_leave_numba_its_environment(tmp_path):
    """numba reads NUMBA_NUM_THREADS when its pool starts and refuses a different value when it
    compiles later: the workers run numba and torch on one thread (set at run time), and
    NUMBA_NUM_THREADS stays what the environment said (unset: the cores)."""
    import os

    import numba

    before = os.environ.get("NUMBA_NUM_THREADS")
    out = run_cells(
        "threads", worker_threads, [{"seed": s} for s in range(3)], cache_dir=tmp_path, workers=2, progress=False
    )
    assert out == [[numba.config.NUMBA_NUM_THREADS, 1, 1]] * 3
    assert os.environ.get("NUMBA_NUM_THREADS") == before


def test_finished_cells_are_read_back_not_recomputed(tmp_path):
    first = run_cells("sq", square, CELLS[:3], cache_dir=tmp_path, workers=1, progress=False)
    # an interrupted sweep: three cells done; the resumed one computes only the missing two
    resumed = run_cells("sq", square, CELLS, cache_dir=tmp_path, workers=1, progress=False)
    assert resumed[:3] == first
    again = run_cells("sq", refuse, CELLS, cache_dir=tmp_path, workers=1, progress=False)
    assert again == resumed


def test_results_are_kept_in_the_store_and_read_from_it_on_another_machine(tmp_path, monkeypatch):
    """The store of committed cells (figures/cells) carries results to a fresh cache; retrain skips it."""
    monkeypatch.setenv("SMR_STABILITY_CELLS", str(tmp_path / "store"))
    first = run_cells("sq", square, CELLS[:3], cache_dir=tmp_path / "here", workers=1, progress=False)
    stored = sorted((tmp_path / "store" / "sq").iterdir())
    assert [p.name for p in stored] == sorted(cell_path("sq", c, tmp_path).name for c in CELLS[:3])
    elsewhere = run_cells("sq", refuse, CELLS[:3], cache_dir=tmp_path / "there", workers=1, progress=False)
    assert elsewhere == first  # an empty cache: every result read from the store
    monkeypatch.setenv("SMR_STABILITY_RUNS_MODE", "write")
    with pytest.raises(AssertionError, match="recomputed"):
        run_cells("sq", refuse, CELLS[:1], cache_dir=tmp_path / "fresh", workers=1, progress=False)


def test_a_torn_or_foreign_result_file_is_recomputed(tmp_path):
    run_cells("sq", square, CELLS[:2], cache_dir=tmp_path, workers=1, progress=False)
    cell_path("sq", CELLS[0], tmp_path).write_text('{"cell": ')  # interrupted mid-write
    p = cell_path("sq", CELLS[1], tmp_path)
    p.write_text(json.dumps({"cell": {"x": 99, "label": "other"}, "result": 0}))  # hash clash
    out = run_cells("sq", square, CELLS[:2], cache_dir=tmp_path, workers=1, progress=False)
    assert out == [{"label": "c0", "value": 0}, {"label": "c1", "value": 1}]


def test_cells_are_identified_by_their_values(tmp_path):
    a = cell_path("sq", {"x": 1, "label": "a"}, tmp_path)
    assert a == cell_path("sq", {"label": "a", "x": 1}, tmp_path)  # key order does not matter
    assert a != cell_path("sq", {"x": 2, "label": "a"}, tmp_path)
    assert a != cell_path("other", {"x": 1, "label": "a"}, tmp_path)


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"cells": [("x", 1)]}, InputTypeError, "dict of keyword arguments"),
        ({"cells": [{"x": (1, 2)}]}, InputTypeError, "Convert tuples to lists"),
        ({"cells": [{"x": object()}]}, InputTypeError, "JSON values only"),
        ({"workers": 0}, ParameterError, "workers"),
        ({"name": "a/b"}, ParameterError, "folder name"),
        ({"fn": 3}, InputTypeError, "module-level function"),
    ],
)
def test_bad_input_gets_a_named_error(tmp_path, kwargs, error, text):
    args = {"name": "sq", "fn": square, "cells": CELLS[:1], **kwargs}
    with pytest.raises(error, match=text):
        run_cells(args.pop("name"), args.pop("fn"), args.pop("cells"), cache_dir=tmp_path, progress=False, **args)


def train_in_worker(config, cache):
    from smr_stability.experiments.sweeps import cached_run
    from smr_stability.nn.config import TrainConfig

    return str(cached_run(TrainConfig.from_dict(config), cache_dir=cache))


def test_a_cached_run_is_the_same_whichever_process_trains_it(tmp_path):
    """The main process (several torch threads) and a sweep worker (one) train bit-identical
    weights, so a figure does not depend on which of them trained its model first."""
    import torch
    from safetensors.torch import load_file

    from smr_stability.experiments.sweeps import cached_run
    from smr_stability.nn.config import TrainConfig

    config = {
        "task": "sines",
        "layer": "s4d",
        "smr": True,
        "epochs": 2,
        "small": True,
        "width": 8,
        "state": 8,
        "depth": 1,
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        here = cached_run(TrainConfig.from_dict(config), cache_dir=tmp_path / "main")
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    cells = [
        {"config": config, "cache": str(tmp_path / "worker")},
        {"config": dict(config, seed=1), "cache": str(tmp_path / "other")},
    ]
    there = run_cells("train", train_in_worker, cells, cache_dir=tmp_path, workers=2, progress=False)[0]
    a, b = load_file(f"{here}/model.safetensors"), load_file(f"{there}/model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _small_config(**kw):
    from smr_stability.nn.config import TrainConfig

    base = {"task": "sines", "layer": "s4d", "epochs": 2, "small": True, "width": 4, "state": 4, "depth": 1}
    return TrainConfig.from_dict({**base, **kw})


def test_runs_are_stored_and_reused_from_the_store(tmp_path, monkeypatch):
    from smr_stability.experiments import sweeps

    monkeypatch.setenv(sweeps.RUNS_ENV, str(tmp_path / "store"))
    config = _small_config()
    trained = sweeps.cached_run(config, cache_dir=tmp_path / "cache")
    stored = sweeps.stored_run_dir(config, tmp_path / "store")
    assert trained == sweeps.run_dir(config, tmp_path / "cache")
    assert sorted(p.name for p in stored.iterdir()) == sorted(sweeps.STORED_FILES)
    for name in sweeps.STORED_FILES:
        assert (stored / name).read_bytes() == (trained / name).read_bytes()

    def no_training(*args, **kw):
        raise AssertionError("a stored, finished run must not be trained again")

    monkeypatch.setattr("smr_stability.nn.train.train", no_training)
    assert sweeps.cached_run(config, cache_dir=tmp_path / "empty") == stored  # a fresh clone's empty cache
    assert sweeps.find_run(config, cache_dir=tmp_path / "empty") == stored
    monkeypatch.setenv(sweeps.RUNS_MODE_ENV, "write")  # --retrain: the store is not read
    assert sweeps.find_run(config, cache_dir=tmp_path / "empty") == sweeps.run_dir(config, tmp_path / "empty")
    with pytest.raises(AssertionError, match="must not be trained"):
        sweeps.cached_run(config, cache_dir=tmp_path / "empty")


def test_an_unfinished_or_foreign_stored_run_is_not_used(tmp_path, monkeypatch):
    from smr_stability.experiments import sweeps

    monkeypatch.setenv(sweeps.RUNS_ENV, str(tmp_path / "store"))
    config = _small_config()
    sweeps.cached_run(config, cache_dir=tmp_path / "cache")
    stored = sweeps.stored_run_dir(config, tmp_path / "store")
    lines = (stored / "metrics.csv").read_text().splitlines()
    (stored / "metrics.csv").write_text("\n".join(lines[:-1]) + "\n")  # one epoch missing
    assert sweeps.find_run(config, cache_dir=tmp_path / "other") == sweeps.run_dir(config, tmp_path / "other")
    (stored / "metrics.csv").write_text("\n".join(lines) + "\n")
    (stored / "config.json").write_text(json.dumps(_small_config(seed=5).to_dict()))
    assert sweeps.find_run(config, cache_dir=tmp_path / "other") == sweeps.run_dir(config, tmp_path / "other")
    monkeypatch.delenv(sweeps.RUNS_ENV)
    assert sweeps.find_run(config, cache_dir=tmp_path / "cache") == sweeps.run_dir(config, tmp_path / "cache")


def test_retraining_a_committed_run_reproduces_its_weights(tmp_path):
    """The quick reference model committed under figures/runs, trained again here (2 epochs, one
    torch thread): every weight within rtol 1e-4, atol 1e-6 (float32 kernels differ between CPUs
    in the last bits; on the machine that trained it the weights are identical)."""
    import torch
    from safetensors.torch import load_file

    from smr_stability.experiments import sweeps
    from smr_stability.experiments.studies import reference_config
    from smr_stability.nn.config import TrainConfig

    config = TrainConfig.from_dict(reference_config(quick=True))
    committed = sweeps.stored_run_dir(config, Path(__file__).resolve().parents[1] / "figures" / "runs")
    assert (committed / "model.safetensors").is_file(), f"{committed} is not committed"
    again = sweeps.cached_run(config, cache_dir=tmp_path)
    a, b = load_file(str(committed / "model.safetensors")), load_file(str(again / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-6)
    assert (committed / "metrics.csv").read_text().count("\n") == config.epochs + 1


def test_a_new_config_field_at_its_default_keeps_the_run_identity(tmp_path):
    """Runs are named by the fields that differ from their defaults: a config written before a
    field existed (its JSON lacks the key) names the same run and resumes it."""
    from smr_stability.experiments import sweeps
    from smr_stability.nn.config import TrainConfig
    from smr_stability.nn.train import train

    config = _small_config(seed=3)
    assert sweeps.config_identity(config) == {"epochs": 2, "small": True, "width": 4, "state": 4, "depth": 1, "seed": 3}
    assert sweeps.run_dir(config, tmp_path) != sweeps.run_dir(_small_config(seed=4), tmp_path)
    run = sweeps.run_dir(config, tmp_path)
    train(_small_config(seed=3, epochs=1), run, progress=False)
    old = json.loads((run / "config.json").read_text())
    old.pop("step_per_state")  # as written before the field existed
    old["epochs"] = 2
    (run / "config.json").write_text(json.dumps(old))
    assert TrainConfig.from_dict(old) == config
    rows = train(config, run, progress=False)  # resumes: the old config.json is the same config
    assert [r["epoch"] for r in rows] == [1, 2]
