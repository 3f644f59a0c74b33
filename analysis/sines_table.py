"""The sines task on its training grid: the test NMSE of every SSM layer, beside the mean predictors.

Each layer is the deep network of ``TrainConfig.recipe("sines", layer=...)`` (S5's pendulum
network, 40 epochs), trained with the given seeds. The runs are stored in ``figures/runs`` (or
``--runs DIR``) and reused; ``--train`` trains the missing ones there (resumable per epoch, one
torch thread, as ``make figures`` trains). A run is counted only if its config is the recipe's.

NMSE is the test MSE over the variance of the test targets, at the weights of the best
validation epoch. The two mean predictors it is compared with: the training targets' mean
(NMSE about 1) and their mean at each time step (the better of the two, since the target, an
integral from 0, grows in spread with time).

    python analysis/sines_table.py [--layers s4d s4 ...] [--seeds 0 1 2] [--train] [--json PATH] [--small]
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from smr_stability.experiments.sweeps import RUNS_ENV, cached_run, find_run
from smr_stability.nn.checkpoint import load_run, read_metrics
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.evaluate import split_mse
from smr_stability.nn.model import LAYERS
from smr_stability.nn.tasks import load_task


def mean_predictor_nmse(data):
    """NMSE on the test split of the training targets' global mean and of their per-step mean."""
    y_train, y_test = data.train.y.astype(np.float64), data.test.y.astype(np.float64)
    var = y_test.var()
    return {
        "global_mean": float(np.mean((y_test - y_train.mean()) ** 2) / var),
        "per_step_mean": float(np.mean((y_test - y_train.mean(axis=0)) ** 2) / var),
    }


def measure(config):
    """Test NMSE at the best validation epoch and the minutes of training of a finished run."""
    run = find_run(config)
    if not (run / "metrics.csv").is_file() or len(read_metrics(run)) != config.epochs:
        return None
    _, model = load_run(run, weights="best")
    test = load_task(config).test
    minutes = sum(r["seconds"] for r in read_metrics(run)) / 60
    return split_mse(model, test, 100) / float(test.y.astype(np.float64).var()), minutes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(Path(__file__).resolve().parents[1] / "figures" / "runs"))
    parser.add_argument("--layers", nargs="+", default=list(LAYERS), choices=list(LAYERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--train", action="store_true", help="train the missing runs into --runs")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    parser.add_argument("--small", action="store_true", help="the task's small configuration, 2 epochs (smoke test)")
    args = parser.parse_args(argv)
    os.environ[RUNS_ENV] = args.runs
    quick = {"small": True, "epochs": 2} if args.small else {}
    configs = {
        (layer, s): TrainConfig.recipe("sines", layer=layer, seed=s, **quick)
        for layer in args.layers
        for s in args.seeds
    }
    if args.train:
        for (layer, s), config in configs.items():
            start = time.perf_counter()
            cached_run(config, progress=True)
            print(f"trained {layer} seed {s} in {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    baselines = mean_predictor_nmse(load_task(next(iter(configs.values()))))
    print(f"{'layer':8s} {'seeds':>5s} {'test NMSE (grid)':>18s} {'/ per-step mean':>16s} {'min/run':>8s}")
    table = {"mean_predictors": baselines, "layers": {}}
    for layer in args.layers:
        found = {s: measure(configs[layer, s]) for s in args.seeds}
        found = {s: v for s, v in found.items() if v is not None}
        if not found:
            print(f"{layer:8s} {0:5d} {'(not trained)':>18s}")
            continue
        nmse = np.array([found[s][0] for s in sorted(found)])
        spread = f"{nmse.mean():.2e} ± {nmse.std(ddof=1):.1e}" if nmse.size > 1 else f"{nmse.mean():.2e}"
        minutes = float(np.mean([v[1] for v in found.values()]))
        print(
            f"{layer:8s} {nmse.size:5d} {spread:>18s} {nmse.mean() / baselines['per_step_mean']:16.2e} {minutes:8.1f}"
        )
        table["layers"][layer] = {"seeds": sorted(found), "nmse": nmse.tolist(), "minutes_per_run": minutes}
    print(
        f"mean predictors: global mean NMSE {baselines['global_mean']:.3f}, "
        f"per-step mean NMSE {baselines['per_step_mean']:.3f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
