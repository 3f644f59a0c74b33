"""Training cost of the robustness methods of figures 11-13: seconds per optimiser step. Prints ratios.

Each method of ``smr_stability.experiments.methods.METHODS`` that trains a model of its own
(plain, SMR tau = 2-16, augmentation, SMR + augmentation, S5 with the true gaps, the gap
channel) is built with its study config (``method_config``, the deep sines recipe) and timed on
the real task: one step is making its batch (``epoch_batches``: the augmented methods resample
the signal on drawn schedules here) and one optimiser step on it (``train_step``), the code
path of ``train``. The methods are timed in alternation, step by step, in one run, so the
ratios against the plain model are the numbers to read; the training log's seconds per step
(``figures/methods_table.json``) were taken under whatever load the machine had.

    python benchmarks/bench_methods.py            # the study's models, one torch thread (under a minute)
    python benchmarks/bench_methods.py --quick    # smoke run: the quick configs, two steps each
"""

import argparse
import time

import numpy as np
import torch

from smr_stability.experiments.methods import METHODS, method_config
from smr_stability.nn.train import epoch_batches, make_trainer, train_step

#: Methods whose model is trained by another method (rescaling runs the plain models) or that
#: train no network of their own (the best gate is fitted to a frozen model).
_NOT_TRAINED = ("rescale", "best_smr")


def _stepper(method, quick):
    """A closure making one batch and taking one optimiser step of ``method``'s model."""
    torch.manual_seed(0)
    tr = make_trainer(method_config(method, 0, quick))
    state = {"epoch": 0, "step": 0, "it": iter(epoch_batches(tr.data, tr.config, 0, tr.signal))}

    def step():
        batch = next(state["it"], None)
        if batch is None:  # a new epoch's batches
            state["epoch"] += 1
            state["it"] = iter(epoch_batches(tr.data, tr.config, state["epoch"], tr.signal))
            batch = next(state["it"])
        train_step(tr, batch, state["step"])
        state["step"] += 1

    return step


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the quick configs and two timed steps, for a smoke run")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per method (default 40; 2 with --quick)")
    p.add_argument("--threads", type=int, default=1, help="torch threads while timing (0: keep torch's default)")
    a = p.parse_args(argv)
    repeats = a.repeats or (2 if a.quick else 40)
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    methods = [m for m in METHODS if m not in _NOT_TRAINED]
    steps = {m: _stepper(m, a.quick) for m in methods}
    for m in methods:  # warm-up: first-call compilation and allocation
        steps[m]()
    times = {m: [] for m in methods}
    for _ in range(repeats):
        for m in methods:
            s = time.perf_counter()
            steps[m]()
            times[m].append(time.perf_counter() - s)
    base = float(np.median(times["plain"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); medians of {repeats} interleaved steps")
    print("| method | seconds/step | ratio to plain |")
    print("|---|---|---|")
    for m in methods:
        med = float(np.median(times[m]))
        print(f"| {METHODS[m][0]} | {med:.3f} | {med / base:.2f}x |")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
