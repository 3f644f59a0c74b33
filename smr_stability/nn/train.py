"""One short training loop: AdamW + cosine schedule, clipping, resume, and a clean stop on
non-finite values.

The run directory and its checkpoints are [`smr_stability.nn.checkpoint`][smr_stability.nn.checkpoint]; the model is
[`smr_stability.nn.model`][smr_stability.nn.model]; the config is [`TrainConfig`][smr_stability.nn.config.TrainConfig].
A checkpoint is written after every epoch, so the last good one survives an interruption or a
non-finite stop.
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import NonFiniteTrainingError, ParameterError
from .augment import augmented_batch
from .checkpoint import checkpoint_dir, load_checkpoint, publish, save_checkpoint
from .config import TrainConfig
from .device import resolve_device
from .evaluate import split_mse
from .model import SequenceModel
from .sines import sines_signal
from .tasks import load_task

__all__ = ["Trainer", "epoch_batches", "make_trainer", "train", "train_step"]


def _scheduler(config, optimizer, steps_per_epoch):
    """Cosine to 0 over all steps; with `warmup_epochs`, a linear warm-up from 0 first."""
    total = config.epochs * steps_per_epoch
    if not config.warmup_epochs:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    warm = config.warmup_epochs * steps_per_epoch

    def factor(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _loss(model, config, u, y, t):
    if config.head == "gaussian_nll":
        mean, var = model(u, t, return_var=True)
        return nn.functional.gaussian_nll_loss(mean, y, var)
    return nn.functional.mse_loss(model(u, t), y)


def _check_finite(value, what, step):
    if not torch.all(torch.isfinite(value)):
        raise NonFiniteTrainingError(
            f"non-finite {what} at step {step}: expected finite values, found NaN/inf. Training stopped; "
            "the last good checkpoint is kept. Lower lr, tighten grad_clip, or check the data."
        )


def epoch_batches(data, config, epoch, signal=None):
    """The training batches `(u, y, t)` of one epoch, shuffled by the run's seed and the epoch.

    With `config.augment` each batch is resampled on drawn schedules
    (`smr_stability.nn.augment`) of the task's continuous signal `signal`
    ([`sines_signal`][smr_stability.nn.sines.sines_signal]), seeded by the run's seed and the epoch, so a
    resumed run sees the same batches.
    """
    seed = config.seed * 100_003 + epoch
    if not config.augment:
        return data.batches("train", config.batch_size, shuffle=True, seed=seed)
    rng = np.random.default_rng([config.seed, epoch, 14])
    rows = data.train.batch_rows(config.batch_size, shuffle=True, seed=seed)
    return (augmented_batch(data.config, idx, rng, signal) for idx in rows)


@dataclass
class Trainer:
    """What one training run works on: its task data, model, optimiser, schedule and device.

    `signal` is the task's continuous signal when `config.augment` (the batches are
    resampled from it), else None.
    """

    config: TrainConfig
    data: object
    model: SequenceModel
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    signal: object = None


def make_trainer(config, device="cpu"):
    """The [`Trainer`][smr_stability.nn.train.Trainer] of `config`: its task loaded, a fresh model, AdamW with the
    config's parameter groups and the warm-up + cosine schedule. Seed torch first for
    reproducible weights ([`train`][smr_stability.nn.train.train] does)."""
    config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    data = load_task(config)
    u0, y0, _ = next(iter(data.batches("train", 1, shuffle=False, seed=0)))
    dev = resolve_device(device)
    model = SequenceModel(config, u0.shape[-1], y0.shape[-1], time_unit=data.config.dt).to(dev)
    optimizer = torch.optim.AdamW(model.param_groups(config), lr=config.lr)
    steps_per_epoch = math.ceil(len(data.train.u) / config.batch_size)
    scheduler = _scheduler(config, optimizer, steps_per_epoch)
    signal = sines_signal(data.config) if config.augment else None
    return Trainer(config, data, model, optimizer, scheduler, dev, signal)


def train_step(tr, batch, step):
    """One optimiser step of `tr` ([`Trainer`][smr_stability.nn.train.Trainer]) on `batch = (u, y, t)`: forward, loss,
    backward, gradient clipping, AdamW and the schedule. Returns the loss (a float).

    Raises [`NonFiniteTrainingError`][smr_stability.errors.NonFiniteTrainingError] on a non-finite loss, gradient
    or parameter (`step` numbers the message), before the weights change where it can.
    """
    u, y, t = (x.to(tr.device) for x in batch)
    loss = _loss(tr.model, tr.config, u, y, t)
    _check_finite(loss, "loss", step)
    tr.optimizer.zero_grad()
    loss.backward()
    for name, p in tr.model.named_parameters():
        if p.grad is not None:
            _check_finite(p.grad, f"gradient of {name}", step)
    nn.utils.clip_grad_norm_(tr.model.parameters(), tr.config.grad_clip)
    tr.optimizer.step()
    tr.scheduler.step()
    for name, p in tr.model.named_parameters():
        _check_finite(p.detach(), f"parameter {name}", step)
    return loss.item()


def train(config, out, *, progress=True, device="cpu"):
    """Train (or resume) a run in directory `out`; returns the metrics rows.

    An existing run directory with the same config resumes from its last checkpoint; a
    different config is refused. Deterministic on CPU for a given seed. After every epoch the
    checkpoint is written, and the weights of the epoch with the lowest validation MSE so far
    go to `best.safetensors` (the test is taken there: `load_run(run, weights='best')`).

    Parameters
    ----------
    config : TrainConfig or dict
    out : str or Path
    progress : bool
    device : str
        `'cpu'` (default), `'cuda'`, `'cuda:K'` or `'auto'`; the checkpoints are the same
        files whatever the device, so a run may resume on another one.
    """
    from tqdm import tqdm

    config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    cfg_path = run / "config.json"
    if cfg_path.exists() and TrainConfig.from_dict(json.loads(cfg_path.read_text())) != config:
        raise ParameterError(
            f"{run} holds a run with another config; expected the same config to resume, found a different one. "
            "Use a new --out."
        )
    cfg_path.write_text(json.dumps(config.to_dict(), indent=1))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    tr = make_trainer(config, device)
    data, model, optimizer, scheduler = tr.data, tr.model, tr.optimizer, tr.scheduler
    steps_per_epoch = math.ceil(len(data.train.u) / config.batch_size)
    state, rows = {"epoch": 0, "step": 0, "best_val": None}, []
    if checkpoint_dir(run) is not None:
        state, rows = load_checkpoint(run, model, optimizer, scheduler)
        publish(run)  # a kill while the last commit was being published leaves the top level behind
    for epoch in range(state["epoch"], config.epochs):
        t0, losses = time.perf_counter(), []
        batches = epoch_batches(data, config, epoch, tr.signal)
        desc = f"epoch {epoch + 1}/{config.epochs}"
        for batch in tqdm(batches, total=steps_per_epoch, desc=desc, disable=not progress, leave=False):
            loss = train_step(tr, batch, state["step"])
            losses.append(loss)
            state["step"] += 1
        val = split_mse(model, data.val, config.batch_size)
        improved = state["best_val"] is None or val < state["best_val"]
        row = {
            "epoch": epoch + 1,
            "step": state["step"],
            "train_loss": float(np.mean(losses)),
            "val_loss": val,
            "lr": scheduler.get_last_lr()[-1],
            "seconds": time.perf_counter() - t0,
        }
        rows.append(row)
        state["epoch"] = epoch + 1
        state["best_val"] = val if state["best_val"] is None else min(state["best_val"], val)
        save_checkpoint(run, model, optimizer, scheduler, state, rows, improved)  # weights and metrics together
    return rows
