"""The run directory: checkpoints in safetensors (never pickle), JSON state, and the metrics table.

A run directory holds ``config.json`` (the typed config), ``model.safetensors`` and
``optimizer.safetensors`` (tensors only), ``state.json`` (epoch, step, scheduler, RNG states,
best validation loss, optimiser metadata) and ``metrics.csv``. Every file is written to a
temporary file and renamed, so the last good checkpoint survives an interruption.
"""

import csv
import json
import os
from pathlib import Path

import torch

from ..errors import ParameterError
from .config import TrainConfig
from .model import SequenceModel

__all__ = [
    "load_checkpoint",
    "load_run",
    "read_metrics",
    "save_atomic",
    "save_checkpoint",
    "save_weights",
    "write_metrics",
]


def save_atomic(write, path):
    """Call ``write(tmp)`` on a temporary path next to ``path``, then rename it to ``path``."""
    tmp = Path(f"{path}.tmp")
    write(tmp)
    os.replace(tmp, path)


def save_weights(model, path):
    """The model's state dict, on the CPU, to a safetensors file (replaced atomically)."""
    from safetensors.torch import save_file

    save_atomic(
        lambda p: save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(p)), path
    )


def save_checkpoint(run, model, optimizer, scheduler, state):
    """Write the model, the optimiser and ``state`` (a JSON dict) into the run directory ``run``.

    Tensors go to safetensors (on the CPU), everything else (optimiser metadata, scheduler,
    torch RNG) to ``state.json``; each file is replaced atomically.
    """
    from safetensors.torch import save_file

    save_weights(model, run / "model.safetensors")
    opt = optimizer.state_dict()
    tensors, meta = {}, {"param_groups": opt["param_groups"], "state": {}}
    for idx, st in opt["state"].items():
        meta["state"][str(idx)] = {}
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{idx}.{key}"] = val.detach().cpu().contiguous()
            else:
                meta["state"][str(idx)][key] = val
    save_atomic(
        lambda p: save_file(tensors, str(p)) if tensors else save_file({"_empty": torch.zeros(0)}, str(p)),
        run / "optimizer.safetensors",
    )
    state = dict(state, optimizer=meta, scheduler=scheduler.state_dict(), torch_rng=torch.get_rng_state().tolist())
    save_atomic(lambda p: p.write_text(json.dumps(state)), run / "state.json")


def load_checkpoint(run, model, optimizer, scheduler):
    """Restore what :func:`save_checkpoint` wrote into ``model``, ``optimizer``, ``scheduler`` and
    torch's RNG; return the state dict (``epoch``, ``step``,
    ``best_val``, ...)."""
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(run / "model.safetensors")))  # copied onto the model's device
    state = json.loads((run / "state.json").read_text())
    tensors = load_file(str(run / "optimizer.safetensors"))  # load_state_dict places them
    opt_state = {}
    for idx, st in state["optimizer"]["state"].items():
        opt_state[int(idx)] = dict(st)
    for key, val in tensors.items():
        if key != "_empty":
            idx, name = key.split(".", 1)
            opt_state.setdefault(int(idx), {})[name] = val
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["optimizer"]["param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    return state


def read_metrics(run):
    """The rows of ``metrics.csv`` of a run directory (one per finished epoch); ``[]`` if none."""
    path = Path(run) / "metrics.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [
            {k: float(v) if k not in ("epoch", "step") else int(v) for k, v in r.items()} for r in csv.DictReader(f)
        ]


def write_metrics(run, rows):
    """Replace ``metrics.csv`` of a run directory by ``rows`` (a list of dicts with equal keys)."""

    def write(p):
        with open(p, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    save_atomic(write, Path(run) / "metrics.csv")


def load_run(out, weights="last"):
    """The config and the trained :class:`SequenceModel` of a run directory (weights from safetensors).

    Parameters
    ----------
    out : str or Path
        The run directory.
    weights : {'last', 'best'}
        The last epoch's weights (``model.safetensors``) or those of the epoch with the lowest
        validation MSE (``best.safetensors``; a run written before best weights were kept has
        none, and gets its last ones).
    """
    from safetensors.torch import load_file

    from .tasks import task_io

    run = Path(out)
    if weights not in ("last", "best"):
        raise ParameterError(f"weights: expected 'last' or 'best'; found {weights!r}.")
    if not (run / "config.json").is_file() or not (run / "model.safetensors").is_file():
        raise ParameterError(
            f"{run}: expected a run directory with config.json and model.safetensors; found none. "
            "Train it first (smr-stability train --out DIR, or smr_stability.experiments.sweeps.cached_run)."
        )
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    best = run / "best.safetensors"
    state = load_file(str(best if weights == "best" and best.is_file() else run / "model.safetensors"))
    model = SequenceModel(config, *task_io(config))
    model.load_state_dict(state)
    return config, model
