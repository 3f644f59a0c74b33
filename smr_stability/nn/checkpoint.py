"""The run directory: checkpoints in safetensors (never pickle), JSON state, and the metrics table.

A run directory holds `config.json` (the typed config) and its checkpoints. A checkpoint is a
folder `ckpt-NNNN` (N: the epoch) with `model.safetensors` and `optimizer.safetensors`
(tensors only), `best.safetensors` (the weights of the best validation epoch so far),
`state.json` (epoch, step, scheduler, RNG states, best validation loss, optimiser metadata)
and `metrics.csv` (one row per finished epoch). It is committed as a whole:

1. every file is written into a new folder `ckpt-NNNN`;
2. the pointer file `CHECKPOINT` (the folder's name) is replaced atomically: this is the
   commit;
3. the checkpoint before the previous one is deleted (the previous one is kept, a way back if
   the current one is damaged later);
4. the files are published at the top of the run directory (`model.safetensors`,
   `best.safetensors`, `state.json`, then `metrics.csv` last) for readers of finished runs.

A kill at any point leaves `CHECKPOINT` naming a complete checkpoint, whose weights, optimiser
state and metrics belong to the same epoch; a resumed run starts from it and publishes it again.
Runs written before checkpoints had folders (no `CHECKPOINT`) are read from the top-level files.
A missing, truncated or corrupt file raises [`CheckpointError`][smr_stability.errors.CheckpointError].
"""

import csv
import json
import os
import shutil
from pathlib import Path

import torch

from .._validation import check_path
from ..errors import CheckpointError, ParameterError
from .config import TrainConfig
from .model import SequenceModel

__all__ = [
    "checkpoint_dir",
    "publish",
    "load_checkpoint",
    "load_run",
    "read_metrics",
    "save_atomic",
    "save_checkpoint",
    "save_weights",
    "write_metrics",
]

POINTER = "CHECKPOINT"
_PUBLISHED = ("model.safetensors", "best.safetensors", "state.json", "metrics.csv")  # metrics.csv last


def _step(name):
    """Called after every durable step of a commit (a hook for the kill-at-every-stage test)."""


def save_atomic(write, path):
    """Call `write(tmp)` on a temporary path next to `path`, then rename it to `path`."""
    tmp = Path(f"{path}.tmp")
    write(tmp)
    os.replace(tmp, path)


def save_weights(model, path):
    """The model's state dict, on the CPU, to a safetensors file (replaced atomically)."""
    from safetensors.torch import save_file

    save_atomic(
        lambda p: save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(p)), path
    )


def checkpoint_dir(run):
    """The folder of the run's committed checkpoint (named by `CHECKPOINT`), or None.

    None when nothing was committed yet; a run of the older layout (top-level files, no
    pointer) gives `run` itself when its `state.json` is there.
    """
    run = Path(run)
    pointer = run / POINTER
    if pointer.is_file():
        name = pointer.read_text().strip()
        folder = run / name
        if not name.startswith("ckpt-") or not folder.is_dir():
            raise CheckpointError(
                f"{pointer}: expected the name of a checkpoint folder of {run}; found {name!r}, which is not one. "
                "Write the name of the newest complete ckpt-NNNN folder into it, or start again: delete the run "
                "directory."
            )
        return folder
    return run if (run / "state.json").is_file() else None


def save_checkpoint(run, model, optimizer, scheduler, state, rows, best_improved):
    """Commit a checkpoint of `run` (module docstring): model, optimiser, `state` (a JSON
    dict), the metrics `rows` and the best weights (the current ones when `best_improved`,
    else the previous checkpoint's).
    """
    run = Path(run)
    previous = checkpoint_dir(run)
    folder = run / f"ckpt-{state['epoch']:04d}"
    if folder.exists():  # a commit of this epoch was cut short before its pointer switch
        shutil.rmtree(folder)
    folder.mkdir()
    _write_tensors(folder, model, optimizer)
    _step("optimizer")
    if best_improved or previous is None or not (previous / "best.safetensors").is_file():
        save_weights(model, folder / "best.safetensors")
    else:
        shutil.copyfile(previous / "best.safetensors", folder / "best.safetensors")
    _step("best")
    write_metrics(folder, rows)
    _step("metrics")
    full = dict(state, optimizer=_optimizer_meta(optimizer), scheduler=scheduler.state_dict())
    full["torch_rng"] = torch.get_rng_state().tolist()
    save_atomic(lambda p: p.write_text(json.dumps(full)), folder / "state.json")
    _step("state")
    save_atomic(lambda p: p.write_text(folder.name), run / POINTER)  # the commit
    _step("pointer")
    for old in sorted(run.glob("ckpt-*")):
        if old not in (folder, previous):
            shutil.rmtree(old, ignore_errors=True)
    _step("cleanup")
    publish(run)


def publish(run):
    """Copy the committed checkpoint's files to the top of `run` (metrics last), each atomically."""
    run = Path(run)
    folder = checkpoint_dir(run)
    if folder is None or folder == run:
        return
    for name in _PUBLISHED:
        save_atomic(lambda p, name=name: shutil.copyfile(folder / name, p), run / name)
        _step(f"publish {name}")


def _write_tensors(folder, model, optimizer):
    from safetensors.torch import save_file

    save_weights(model, folder / "model.safetensors")
    _step("model")
    tensors = {}
    for idx, st in optimizer.state_dict()["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{idx}.{key}"] = val.detach().cpu().contiguous()
    save_atomic(
        lambda p: save_file(tensors if tensors else {"_empty": torch.zeros(0)}, str(p)),
        folder / "optimizer.safetensors",
    )


def _optimizer_meta(optimizer):
    opt = optimizer.state_dict()
    meta = {"param_groups": opt["param_groups"], "state": {}}
    for idx, st in opt["state"].items():
        meta["state"][str(idx)] = {k: v for k, v in st.items() if not torch.is_tensor(v)}
    return meta


def _read(path, how):
    """`how(path)`, with a missing, truncated or corrupt file as
    [`CheckpointError`][smr_stability.errors.CheckpointError]."""
    try:
        return how(path)
    except Exception as exc:  # safetensors, json, csv and OS errors alike
        folder = path.parent
        run = folder.parent if folder.name.startswith("ckpt-") else folder
        others = sorted(p.name for p in run.glob("ckpt-*") if p != folder)
        back = (
            f"resume from the previous checkpoint: write {others[-1]!r} into {run / POINTER}"
            if others
            else "there is no earlier checkpoint"
        )
        raise CheckpointError(
            f"{path}: expected a complete checkpoint file; it is missing, truncated or corrupt "
            f"({type(exc).__name__}: {exc}). To go on, {back}; or start again: delete {run}."
        ) from None


def load_checkpoint(run, model, optimizer, scheduler):
    """Restore the committed checkpoint of `run`
    ([`checkpoint_dir`][smr_stability.nn.checkpoint.checkpoint_dir]) into `model`, `optimizer`,
    `scheduler` and torch's RNG; return its state dict (`epoch`, `step`,
    `best_val`, ...) and its metrics rows."""
    from safetensors.torch import load_file

    folder = checkpoint_dir(run)
    model.load_state_dict(_read(folder / "model.safetensors", lambda p: load_file(str(p))))
    state = _read(folder / "state.json", lambda p: json.loads(p.read_text()))
    tensors = _read(folder / "optimizer.safetensors", lambda p: load_file(str(p)))  # load_state_dict places them
    opt_state = {int(idx): dict(st) for idx, st in state["optimizer"]["state"].items()}
    for key, val in tensors.items():
        if key != "_empty":
            idx, name = key.split(".", 1)
            opt_state.setdefault(int(idx), {})[name] = val
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["optimizer"]["param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    rows = _read(folder / "metrics.csv", read_metrics_file) if (folder / "metrics.csv").is_file() else []
    return state, rows[: state["epoch"]]


def read_metrics(run):
    """The rows of `metrics.csv` of a run directory (one per finished epoch); `[]` if none."""
    path = Path(run) / "metrics.csv"
    if not path.exists():
        return []
    return _read(path, read_metrics_file)


def read_metrics_file(path):
    """The rows of a metrics CSV file, typed (`epoch` and `step` int, the rest float)."""
    with open(path) as f:
        rows = [
            {k: float(v) if k not in ("epoch", "step") else int(v) for k, v in r.items()} for r in csv.DictReader(f)
        ]
    if any(None in r or any(v is None for v in r.values()) for r in rows):
        raise ValueError("a row is cut short")
    return rows


def write_metrics(run, rows):
    """Replace `metrics.csv` of a run directory by `rows` (a list of dicts with equal keys)."""

    def write(p):
        with open(p, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    save_atomic(write, Path(run) / "metrics.csv")


def load_run(out, weights="last"):
    """The config and the trained [`SequenceModel`][smr_stability.nn.model.SequenceModel] of a run
    directory (weights from safetensors).

    Parameters
    ----------
    out : str or Path
        The run directory.
    weights : {'last', 'best'}
        The last epoch's weights (`model.safetensors`) or those of the epoch with the lowest
        validation MSE (`best.safetensors`; a run written before best weights were kept has
        none, and gets its last ones).
    """
    from safetensors.torch import load_file

    from .tasks import task_io

    run = check_path(out, "out")
    if weights not in ("last", "best"):
        raise ParameterError(f"weights: expected 'last' or 'best'; found {weights!r}.")
    if not (run / "config.json").is_file() or not (run / "model.safetensors").is_file():
        raise ParameterError(
            f"{run}: expected a run directory with config.json and model.safetensors; found none. "
            "Train it first (smr-stability train --out DIR, or smr_stability.experiments.sweeps.cached_run)."
        )
    config = _read(run / "config.json", lambda p: TrainConfig.from_dict(json.loads(p.read_text())))
    best = run / "best.safetensors"
    state = _read(
        best if weights == "best" and best.is_file() else run / "model.safetensors", lambda p: load_file(str(p))
    )
    model = SequenceModel(config, *task_io(config))
    model.load_state_dict(state)
    return config, model
