"""Test error of a model: on one split, and of a trained run on every sampling schedule of its task."""

import csv
from pathlib import Path

import torch
from torch import nn

from .._validation import check_int, check_path
from .checkpoint import load_run
from .device import resolve_device
from .sines import schedule_names, sines_eval_set
from .tasks import load_task

__all__ = ["evaluate_run", "split_mse"]


def split_mse(model, split, batch_size):
    """Mean squared error of `model` over a [`Split`][smr_stability.nn.data.Split].

    The sum of squared errors over batches of `batch_size` sequences (in order, no gradients,
    the model in eval mode and put back in train mode), divided by the number of target entries.
    """
    model.eval()
    dev = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.no_grad():
        for u, y, t in split.batches(batch_size, shuffle=False, seed=0):
            u, y, t = u.to(dev), y.to(dev), t.to(dev)
            total += nn.functional.mse_loss(model(u, t), y, reduction="sum").item()
            count += y.numel()
    model.train()
    return total / max(count, 1)


def evaluate_run(run, schedules=None, batch_size=64, weights="best", device="cpu"):
    """MSE of the run's model on its task's test set under each schedule; writes `evaluation.csv`.

    Sines: the schedules of `SINES_SCHEDULES` (inputs and targets
    at the true times). Pendulum: its test split (irregular by construction). Every row carries
    the MSE relative to the uniform (or test) MSE next to the absolute value. `weights`:
    the epoch with the best validation MSE (default, as S5 and CRU report) or the last one.
    """
    names, batch_size = schedule_names(schedules), check_int(batch_size, "batch_size", 1)
    device, _ = resolve_device(device), check_path(run, "run")
    config, model = load_run(run, weights=weights)
    model.to(device)
    data = load_task(config)
    if config.task == "sines":
        sets = {n: sines_eval_set(data.config, n) for n in names}
    else:
        sets = {"test": data.test}
    rows = [{"schedule": name, "mse": split_mse(model, split, batch_size)} for name, split in sets.items()]
    ref = next((r["mse"] for r in rows if r["schedule"] in ("uniform", "test")), rows[0]["mse"])
    for r in rows:
        r["relative_to_uniform"] = r["mse"] / ref
    with open(Path(run) / "evaluation.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows
