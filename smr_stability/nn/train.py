"""One short training loop: typed config, AdamW + cosine schedule, clipping, safetensors
checkpoints, resume, and a clean stop on non-finite values.

A run directory holds ``config.json`` (the typed config), ``model.safetensors`` and
``optimizer.safetensors`` (tensors only, never pickle), ``state.json`` (epoch, step, scheduler,
RNG states, best validation loss) and ``metrics.csv``. Checkpoints are written to temporary
files and renamed, so the last good checkpoint survives an interruption or a non-finite stop.
"""

import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError, SMRStabilityError

__all__ = ["TrainConfig", "SequenceModel", "NonFiniteTrainingError", "train", "load_run", "LAYERS"]

#: Layer names of the command line -> (module, class) in ``smr_stability.nn``.
LAYERS = {"s4d": ("s4d", "S4D"), "s4": ("s4", "S4"), "s5": ("s5", "S5"), "s6": ("s6", "S6"),
          "mega": ("mega", "MegaEMA"), "spade": ("spade", "SPADE")}


class NonFiniteTrainingError(SMRStabilityError, ValueError):
    """A loss, gradient or parameter became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as ``config.json`` in the run directory."""

    task: str = "sines"  # 'sines' or 'pendulum'
    layer: str = "s4d"  # a key of LAYERS
    smr: bool = False
    tau: int = 4
    width: int = 32  # H, channels of each SSM layer
    state: int = 32  # N
    depth: int = 2
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3
    ssm_lr: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0
    small: bool = False  # the tasks' small configuration (tests, CI)
    use_timestamps: bool = False  # feed the true gaps to layers that use them (S5)

    def __post_init__(self):
        if self.task not in ("sines", "pendulum"):
            raise ParameterError(f"task must be 'sines' or 'pendulum'; found {self.task!r}.")
        if self.layer not in LAYERS:
            raise ParameterError(f"layer must be one of {', '.join(LAYERS)}; found {self.layer!r}.")
        for name in ("tau", "width", "state", "depth", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"{name} must be a positive integer; found {getattr(self, name)!r}.")
        for name in ("lr", "ssm_lr", "grad_clip"):
            if not float(getattr(self, name)) > 0:
                raise ParameterError(f"{name} must be > 0; found {getattr(self, name)!r}.")

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, rejecting unknown keys (with the list of valid ones)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParameterError(f"unknown config key(s) {unknown}; valid keys are {sorted(names)}.")
        return cls(**d)

    def to_dict(self):
        """The config as a plain dict (saved as ``config.json``; :meth:`from_dict` reads it back)."""
        return dataclasses.asdict(self)


class SequenceModel(nn.Module):
    """Linear encoder, ``depth`` blocks ``x + layer(norm(x))``, linear decoder: (B, L, P) -> (B, L, Q)."""

    def __init__(self, config, P, Q, time_unit=1.0):
        super().__init__()
        import importlib

        module, cls = LAYERS[config.layer]
        Layer = getattr(importlib.import_module(f"smr_stability.nn.{module}"), cls)
        self.encoder = nn.Linear(P, config.width)
        self.norms = nn.ModuleList(nn.LayerNorm(config.width) for _ in range(config.depth))
        self.layers = nn.ModuleList(
            Layer(config.width, N=config.state, smr=config.smr, tau=config.tau) for _ in range(config.depth)
        )
        self.decoder = nn.Linear(config.width, Q)
        self.use_timestamps = config.use_timestamps
        if self.use_timestamps:
            # gaps are measured in units of the task's grid step, so a gap of one grid step is one
            # learned step, as in fixed-step mode; saved with the weights
            self.register_buffer("time_unit", torch.tensor(float(time_unit)))

    def forward(self, u, t=None):
        """``u`` (B, L, P), timestamps ``t`` (B, L) (used only with ``use_timestamps``).

        With ``use_timestamps`` the layers get the gaps ``(t_k - t_{k-1}) / time_unit``
        (the first gap repeats the second), which multiply their learned steps.
        """
        dt = None
        if self.use_timestamps and t is not None:
            gaps = torch.diff(t, dim=-1, prepend=t[:, :1] - (t[:, 1:2] - t[:, :1]))  # (B, L)
            dt = (gaps / self.time_unit).to(u.dtype)
        x = self.encoder(u)  # (B, L, H)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x), dt)
        return self.decoder(x)  # (B, L, Q)

    def param_groups(self, config):
        """SSM parameters (dt, A) without weight decay and with ``ssm_lr``; the rest with both."""
        ssm_ids = set()
        groups = [{"params": [], "weight_decay": 0.0, "lr": config.ssm_lr}, {"params": [], "weight_decay": config.weight_decay}]
        for layer in self.layers:
            for name, p in layer.named_parameters():
                if name.split(".")[-1] in layer.ssm_parameter_names:
                    ssm_ids.add(id(p))
        for p in self.parameters():
            groups[0 if id(p) in ssm_ids else 1]["params"].append(p)
        return groups


def _task(config):
    from . import tasks

    if config.task == "sines":
        cfg = tasks.SinesConfig.small() if config.small else tasks.SinesConfig(seed=config.seed)
        return tasks.make_sines(cfg)
    cfg = tasks.PendulumConfig.small() if config.small else tasks.PendulumConfig(seed=config.seed)
    return tasks.make_pendulum(cfg)


def _check_finite(value, what, step):
    if not torch.all(torch.isfinite(value)):
        raise NonFiniteTrainingError(
            f"non-finite {what} at step {step}: expected finite values, found NaN/inf. Training stopped; "
            "the last good checkpoint is kept. Lower lr, tighten grad_clip, or check the data."
        )


def _save_atomic(write, path):
    tmp = Path(f"{path}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _save_checkpoint(run, model, optimizer, scheduler, state):
    """Tensors to safetensors, everything else to JSON; each file replaced atomically."""
    from safetensors.torch import save_file

    _save_atomic(lambda p: save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(p)), run / "model.safetensors")
    opt = optimizer.state_dict()
    tensors, meta = {}, {"param_groups": opt["param_groups"], "state": {}}
    for idx, st in opt["state"].items():
        meta["state"][str(idx)] = {}
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{idx}.{key}"] = val.contiguous()
            else:
                meta["state"][str(idx)][key] = val
    _save_atomic(lambda p: save_file(tensors, str(p)) if tensors else save_file({"_empty": torch.zeros(0)}, str(p)), run / "optimizer.safetensors")
    state = dict(state, optimizer=meta, scheduler=scheduler.state_dict(), torch_rng=torch.get_rng_state().tolist())
    _save_atomic(lambda p: p.write_text(json.dumps(state)), run / "state.json")


def _load_checkpoint(run, model, optimizer, scheduler):
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(run / "model.safetensors")))
    state = json.loads((run / "state.json").read_text())
    tensors = load_file(str(run / "optimizer.safetensors"))
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


def _evaluate(model, data, split, batch_size):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for u, y, t in data.batches(split, batch_size, shuffle=False, seed=0):
            total += nn.functional.mse_loss(model(u, t), y, reduction="sum").item()
            count += y.numel()
    model.train()
    return total / max(count, 1)


def train(config, out, *, progress=True):
    """Train (or resume) a run in directory ``out``; returns the metrics rows.

    An existing run directory with the same config resumes from its last checkpoint; a
    different config is refused. Deterministic on CPU for a given seed.
    """
    from tqdm import tqdm

    config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    cfg_path = run / "config.json"
    if cfg_path.exists() and json.loads(cfg_path.read_text()) != config.to_dict():
        raise ParameterError(f"{run} holds a run with another config; expected the same config to resume, found a different one. Use a new --out.")
    cfg_path.write_text(json.dumps(config.to_dict(), indent=1))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    data = _task(config)
    u0, y0, _ = next(iter(data.batches("train", 1, shuffle=False, seed=0)))
    model = SequenceModel(config, u0.shape[-1], y0.shape[-1], time_unit=data.config.dt)
    optimizer = torch.optim.AdamW(model.param_groups(config), lr=config.lr)
    steps_per_epoch = math.ceil(len(data.train.u) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    state = {"epoch": 0, "step": 0, "best_val": None}
    if (run / "state.json").exists():
        state = _load_checkpoint(run, model, optimizer, scheduler)
    rows = _read_metrics(run)
    for epoch in range(state["epoch"], config.epochs):
        t0, losses = time.perf_counter(), []
        batches = data.batches("train", config.batch_size, shuffle=True, seed=config.seed * 100_003 + epoch)
        for u, y, t in tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False):
            loss = nn.functional.mse_loss(model(u, t), y)
            _check_finite(loss, "loss", state["step"])
            optimizer.zero_grad()
            loss.backward()
            for name, p in model.named_parameters():
                if p.grad is not None:
                    _check_finite(p.grad, f"gradient of {name}", state["step"])
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            for name, p in model.named_parameters():
                _check_finite(p.detach(), f"parameter {name}", state["step"])
            losses.append(loss.item())
            state["step"] += 1
        val = _evaluate(model, data, "val", config.batch_size)
        row = {"epoch": epoch + 1, "step": state["step"], "train_loss": float(np.mean(losses)), "val_loss": val,
               "lr": scheduler.get_last_lr()[-1], "seconds": time.perf_counter() - t0}
        rows.append(row)
        state["epoch"] = epoch + 1
        state["best_val"] = val if state["best_val"] is None else min(state["best_val"], val)
        _save_checkpoint(run, model, optimizer, scheduler, state)
        _write_metrics(run, rows)
    return rows


def _read_metrics(run):
    path = run / "metrics.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) if k not in ("epoch", "step") else int(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _write_metrics(run, rows):
    def write(p):
        with open(p, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    _save_atomic(write, run / "metrics.csv")


def load_run(out):
    """The config and the trained :class:`SequenceModel` of a run directory (weights from safetensors)."""
    from safetensors.torch import load_file

    run = Path(out)
    if not (run / "config.json").is_file() or not (run / "model.safetensors").is_file():
        raise ParameterError(
            f"{run}: expected a run directory with config.json and model.safetensors; found none. "
            "Train it first (smr-stability train --out DIR, or smr_stability.sweeps.cached_run)."
        )
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    weights = load_file(str(run / "model.safetensors"))
    P, Q = weights["encoder.weight"].shape[1], weights["decoder.weight"].shape[0]
    model = SequenceModel(config, P, Q)
    model.load_state_dict(weights)
    return config, model
