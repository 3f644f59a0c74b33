"""The pendulum benchmark table: our stored runs beside the published numbers.

Reads every finished pendulum run stored under ``figures/runs`` (or ``--runs DIR``: any folder
of run directories), takes the weights of the epoch with the best validation MSE, computes the
test MSE of (sin, cos) on CRU's test split, groups the runs by model (layer and its step
parametrisation, true gaps or fixed step, SMR, encoder, and the fields in which it differs from
``TrainConfig.recipe``) and prints mean ± std over seeds in units of 1e-3, with the ratio to CRU's
and S5's published errors and the training time per run (from the runs' metrics).

    python analysis/pendulum_table.py [--runs DIR] [--json PATH]

Published (test MSE x 1e-3): S5 3.41 ± 0.27 (Smith et al. 2023, appendix F.3); CRU 4.63 ± 1.07,
RKN-Δt 5.09, GRU-Δt 5.44, ODE-RNN 7.26 (Schirmer et al. 2022).
"""

import argparse
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from smr_stability.nn.checkpoint import load_run, read_metrics
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.evaluate import split_mse
from smr_stability.nn.tasks import load_task

PUBLISHED = {"S5": 3.41, "CRU": 4.63, "RKN-dt": 5.09, "GRU-dt": 5.44, "ODE-RNN": 7.26}


def finished_runs(root):
    """Run directories under ``root`` whose config is a pendulum run that trained all its epochs."""
    for config_path in sorted(Path(root).glob("*/config.json")):
        run = config_path.parent
        config = json.loads(config_path.read_text())
        if config.get("task") == "pendulum" and len(read_metrics(run)) == config["epochs"]:
            yield run


def off_recipe(config):
    """The fields in which ``config`` differs from ``TrainConfig.recipe`` for its layer, gaps, SMR,
    encoder and seed, as ``name=value`` strings (empty for a recipe run)."""
    fixed = ("layer", "use_timestamps", "smr", "tau", "encoder", "seed")
    recipe = TrainConfig.recipe("pendulum", **{k: getattr(config, k) for k in fixed})
    return tuple(
        f"{f.name}={getattr(config, f.name)}"
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(recipe, f.name)
    )


def measure(run):
    """The run's model key, seed, test MSE at the best validation epoch, and minutes of training."""
    config, model = load_run(run, weights="best")
    layer = f"{config.layer} (step per state)" if config.step_per_state else config.layer
    key = (
        layer,
        "true gaps" if config.use_timestamps else "fixed step",
        config.smr,
        config.encoder,
        off_recipe(config),
    )
    minutes = sum(r["seconds"] for r in read_metrics(run)) / 60
    return key, config.seed, split_mse(model, load_task(config).test, 100), minutes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(Path(__file__).resolve().parents[1] / "figures" / "runs"))
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    args = parser.parse_args(argv)
    groups = defaultdict(dict)
    for run in finished_runs(args.runs):
        key, seed, mse, minutes = measure(run)
        groups[key][seed] = (mse, minutes)
    print(f"{'model':60s} {'seeds':>5s} {'test MSE x1e-3':>18s} {'/ CRU':>6s} {'/ S5':>6s} {'min/run':>8s}")
    table = []
    for (layer, steps, smr, encoder, off), per in sorted(groups.items()):
        mse = 1e3 * np.array([per[seed][0] for seed in sorted(per)])  # in seed order
        std = mse.std(ddof=1) if mse.size > 1 else float("nan")
        name = f"{layer}, {steps}, {'SMR' if smr else 'no SMR'}, {encoder} encoder"
        if off:
            name += f" [not the recipe: {', '.join(off)}]"
        row = {
            "model": name,
            "seeds": sorted(per),
            "test_mse_1e-3": mse.tolist(),
            "mean": float(mse.mean()),
            "std": std,
        }
        row["minutes_per_run"] = float(np.mean([t for _, t in per.values()]))
        table.append(row)
        spread = f"{row['mean']:.2f} ± {std:.2f}" if mse.size > 1 else f"{row['mean']:.2f}"
        print(
            f"{name:60s} {mse.size:5d} {spread:>18s} {row['mean'] / PUBLISHED['CRU']:6.2f} "
            f"{row['mean'] / PUBLISHED['S5']:6.2f} {row['minutes_per_run']:8.1f}"
        )
    print("published: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"published": PUBLISHED, "ours": table}, indent=1))


if __name__ == "__main__":
    main()
