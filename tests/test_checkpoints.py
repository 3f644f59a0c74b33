"""Checkpoints commit as a whole: a training process killed at any stage of saving resumes to the
weights, optimiser state and metrics of an uninterrupted run; damaged files give CheckpointError."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from smr_stability import errors
from smr_stability.nn import checkpoint
from smr_stability.nn.checkpoint import load_run
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.train import train

STAGES = ["model", "optimizer", "best", "metrics", "state", "pointer", "cleanup"] + [
    f"publish {name}" for name in ("model.safetensors", "best.safetensors", "state.json", "metrics.csv")
]
KILLED = """
import json, os, sys
from smr_stability.nn import checkpoint
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.train import train

run, stage, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
commits = {"n": 0}

def step(name):
    commits["n"] += name == "model"
    if commits["n"] == 2 and name == stage:  # during the commit of epoch 2
        os._exit(17)

checkpoint._step = step
train(TrainConfig.from_dict(config), run, progress=False)
"""
CONFIG = TrainConfig(task="sines", layer="s4d", epochs=3, small=True, width=8, state=8, depth=1, smr=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    cache = tmp_path_factory.mktemp("task-cache")
    return dict(os.environ, SMR_STABILITY_CACHE=str(cache))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, env):
    run = tmp_path_factory.mktemp("full")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMR_STABILITY_CACHE", env["SMR_STABILITY_CACHE"])
        train(CONFIG, run, progress=False)
    return run


def _committed(run):
    folder = checkpoint.checkpoint_dir(run)
    rows = checkpoint.read_metrics(folder)
    return (
        load_file(str(folder / "model.safetensors")),
        load_file(str(folder / "optimizer.safetensors")),
        [{k: v for k, v in r.items() if k != "seconds"} for r in rows],
    )


@pytest.mark.parametrize("stage", STAGES)
def test_a_kill_at_any_stage_of_saving_resumes_to_the_uninterrupted_run(
    stage, tmp_path, env, uninterrupted, monkeypatch
):
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-c", KILLED, str(run), stage, json.dumps(CONFIG.to_dict())], env=env, capture_output=True
    )
    assert done.returncode == 17, done.stderr.decode()[-2000:]
    monkeypatch.setenv("SMR_STABILITY_CACHE", env["SMR_STABILITY_CACHE"])
    rows = train(CONFIG, run, progress=False)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    (m, o, r), (m_ref, o_ref, r_ref) = _committed(run), _committed(uninterrupted)
    assert m.keys() == m_ref.keys() and all(torch.equal(m[k], m_ref[k]) for k in m)
    assert o.keys() == o_ref.keys() and all(torch.equal(o[k], o_ref[k]) for k in o)
    assert r == r_ref
    for name in ("model.safetensors", "best.safetensors", "state.json", "metrics.csv"):  # published again
        assert (run / name).read_bytes() == (checkpoint.checkpoint_dir(run) / name).read_bytes()
    assert sorted(p.name for p in run.glob("ckpt-*")) == ["ckpt-0002", "ckpt-0003"]


@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors", "state.json", "metrics.csv"])
def test_a_truncated_checkpoint_file_names_itself_and_the_way_back(name, tmp_path, env, uninterrupted, monkeypatch):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    path = checkpoint.checkpoint_dir(run) / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    monkeypatch.setenv("SMR_STABILITY_CACHE", env["SMR_STABILITY_CACHE"])
    with pytest.raises(errors.CheckpointError, match=rf"{name}.*previous checkpoint: write 'ckpt-0002'"):
        train(CONFIG, run, progress=False)
    (run / "CHECKPOINT").write_text("ckpt-0002")  # the way back the message names
    rows = train(CONFIG, run, progress=False)  # epoch 3 again, from the checkpoint of epoch 2
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert _committed(run)[2] == _committed(uninterrupted)[2]


def test_missing_or_corrupt_run_files_give_checkpoint_error(tmp_path, uninterrupted):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    (run / "best.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(errors.CheckpointError, match="best.safetensors"):
        load_run(run, weights="best")
    (run / "config.json").write_text("{")
    with pytest.raises(errors.CheckpointError, match="config.json"):
        load_run(run)
    (run / "CHECKPOINT").write_text("ckpt-0099")
    with pytest.raises(errors.CheckpointError, match="CHECKPOINT"):
        checkpoint.checkpoint_dir(run)
    assert isinstance(errors.CheckpointError("x"), ValueError)
