"""Test error of a trained run on every sampling schedule of its task."""

import csv
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from .train import load_run

__all__ = ["evaluate_run"]


def evaluate_run(run, schedules=None, batch_size=64):
    """MSE of the run's model on its task's test set under each schedule; writes ``evaluation.csv``.

    Sines: the schedules of ``tasks.SINES_SCHEDULES`` (inputs and targets at the true times).
    Pendulum: its test split (irregular by construction). Every row carries the MSE relative
    to the uniform (or test) MSE next to the absolute value.
    """
    from . import tasks
    from .train import _task

    config, model = load_run(run)
    data = _task(config)
    if config.task == "sines":
        names = list(schedules or tasks.SINES_SCHEDULES)
        unknown = [n for n in names if n not in tasks.SINES_SCHEDULES]
        if unknown:
            raise ParameterError(f"unknown schedule(s) {unknown}; choose from {list(tasks.SINES_SCHEDULES)}.")
        sets = {n: tasks.sines_eval_set(data.config, n) for n in names}
    else:
        sets = {"test": data.test}
    rows = []
    model.eval()
    for name, split in sets.items():
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(split.u), batch_size):
                u, y, t = (torch.from_numpy(np.array(a[i : i + batch_size])) for a in (split.u, split.y, split.t))
                total += nn.functional.mse_loss(model(u, t), y, reduction="sum").item()
                count += y.numel()
        rows.append({"schedule": name, "mse": total / count})
    ref = next((r["mse"] for r in rows if r["schedule"] in ("uniform", "test")), rows[0]["mse"])
    for r in rows:
        r["relative_to_uniform"] = r["mse"] / ref
    with open(Path(run) / "evaluation.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows
