"""Training cost: wall time of one training step of each layer, with and without SMR.

The paper claims that SMR does not sacrifice training speed: the gate is a depthwise causal
convolution of length `tau`, cost O(B L H tau), next to the SSM's O(B L H N log L). This module
measures it. [`step_time`][smr_stability.experiments.cost.step_time] times one full training step
(forward, MSE loss, backward, gradient clipping, AdamW step) of a depth-1
[`SequenceModel`][smr_stability.nn.model.SequenceModel];
[`training_cost`][smr_stability.experiments.cost.training_cost] draws figure 10 from those measurements.

Timings are measurements, not tests: on a shared machine they move by tens of percent from
run to run, so compare only ratios taken in the same run.
"""

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError

__all__ = ["StepTime", "step_time", "training_cost"]


@dataclass
class StepTime:
    """Wall times (seconds) of the timed training steps of one configuration.

    Attributes
    ----------
    median, min, max : float
        Over the `repeats` timed steps (the warm-up steps are not counted).
    times : list of float
        Every timed step, in order.
    """

    median: float
    min: float
    max: float
    times: list


def _check_layer(layer):
    from ..nn.model import LAYERS

    if layer not in LAYERS:
        raise ParameterError(
            f"layer must be one of {', '.join(LAYERS)}; found {layer!r}. Pass a key of smr_stability.nn.model.LAYERS."
        )


def build_step(layer, smr, *, B, L, H, N, tau=4, use_timestamps=False, seed=0):
    """The model and a closure running one training step on a fixed random batch.

    Parameters
    ----------
    layer : str
        A key of `smr_stability.nn.model.LAYERS`.
    smr : bool
        Gate the layer's input with SMR of length `tau`.
    B, L, H, N : int
        Batch, length, channels (`width`), state (`state`).
    use_timestamps : bool
        Pass the true gaps (exponential, mean 1) to the layer as `dt` (S5: variable-step scan).
    seed : int
        Seeds torch's generator before the model and the batch are drawn.

    Returns
    -------
    model : SequenceModel
        Depth 1, P = Q = 1, float32.
    step : callable
        `step()` runs forward, MSE loss, backward, `clip_grad_norm_(1.0)` and an AdamW step
        (the parameter groups of
        [`SequenceModel.param_groups`][smr_stability.nn.model.SequenceModel.param_groups]); returns
        the loss (float).
    """
    import torch
    from torch import nn

    from ..nn.config import TrainConfig
    from ..nn.model import SequenceModel

    _check_layer(layer)
    for name, v in (("B", B), ("L", L), ("H", H), ("N", N), ("tau", tau)):
        if int(v) < 1:
            raise ParameterError(f"{name} must be a positive integer; found {v!r}. Pass a size >= 1.")
    config = TrainConfig(
        layer=layer,
        smr=bool(smr),
        tau=int(tau),
        width=int(H),
        state=int(N),
        depth=1,
        batch_size=int(B),
        seed=int(seed),
        use_timestamps=bool(use_timestamps),
    )
    torch.manual_seed(seed)
    model = SequenceModel(config, 1, 1).float()
    gen = torch.Generator().manual_seed(seed + 1)
    u = torch.randn(B, L, 1, generator=gen)  # (B L P)
    y = torch.randn(B, L, 1, generator=gen)  # (B L Q)
    gaps = -torch.log(torch.rand(B, L, generator=gen).clamp_min(1e-12))  # exponential(1) gaps (B L)
    t = torch.cumsum(gaps, dim=1)  # (B L) timestamps
    optimizer = torch.optim.AdamW(model.param_groups(config), lr=config.lr)

    def step():
        loss = nn.functional.mse_loss(model(u, t), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        return loss.item()

    return model, step


def step_time(layer, smr=False, *, B=16, L=1024, H=32, N=32, tau=4, repeats=5, warmup=1, use_timestamps=False, seed=0):
    """Wall time of one training step of a depth-1 `SequenceModel` with `layer`.

    Parameters
    ----------
    layer : str
        A key of `smr_stability.nn.model.LAYERS` ('s4d', 's4', 's5', 's6', 'mega', 'spade').
    smr : bool
        With the SMR gate (length `tau`) in front of the SSM.
    B, L, H, N, tau : int
        Batch, length, channels, state, SMR kernel length.
    repeats : int
        Timed steps; `warmup` untimed steps run first.
    use_timestamps : bool
        Pass the true gaps as `dt` (S5 runs its variable-step scan instead of the convolution).
    seed : int

    Returns
    -------
    StepTime
        Median, min, max and every timed step, in seconds (`time.perf_counter`).

    Raises
    ------
    ParameterError
        Unknown `layer`, or a size or `repeats` below 1.

    Notes
    -----
    float32 on CPU with torch's current thread count. Each step is forward, MSE loss, backward,
    gradient clipping and AdamW, as in [`smr_stability.nn.train.train`][smr_stability.nn.train.train] (without its
    per-step finiteness checks and scheduler).

    Examples
    --------
    >>> t = step_time("s4d", smr=True, B=1, L=16, H=4, N=4, repeats=2)
    >>> len(t.times) == 2 and 0 < t.min <= t.median <= t.max
    True
    """
    _check_counts(repeats, warmup)
    _, step = build_step(layer, smr, B=B, L=L, H=H, N=N, tau=tau, use_timestamps=use_timestamps, seed=seed)
    return time_interleaved([step], repeats=repeats, warmup=warmup)[0]


def _check_counts(repeats, warmup):
    if int(repeats) < 1 or int(warmup) < 0:
        raise ParameterError(
            f"need repeats >= 1 and warmup >= 0; found repeats = {repeats}, warmup = {warmup}. "
            "Pass at least one timed step."
        )


def time_interleaved(steps, *, repeats=5, warmup=1, budget=None, min_repeats=3):
    """Time several step closures in alternation, so background load hits them alike.

    Parameters
    ----------
    steps : list of callable
        Each runs one training step (see `build_step`).
    repeats : int
        Rounds; each round times every step once, in order.
    warmup : int
        Untimed calls of each step first.
    budget : float or None
        Seconds; once `min_repeats` rounds are done and the timed rounds have used more than
        this, stop early (keeps slow layers affordable).

    Returns
    -------
    list of StepTime
        One per step.
    """
    _check_counts(repeats, warmup)
    for step in steps:
        for _ in range(int(warmup)):
            step()
    times = [[] for _ in steps]
    start = time.perf_counter()
    for r in range(int(repeats)):
        for i, step in enumerate(steps):
            t0 = time.perf_counter()
            step()
            times[i].append(time.perf_counter() - t0)
        if budget is not None and r + 1 >= min_repeats and time.perf_counter() - start > budget:
            break
    return [StepTime(float(np.median(t)), float(min(t)), float(max(t)), t) for t in times]


def _sizes(quick):
    if quick:
        return {
            "B": 2,
            "L": 64,
            "H": 8,
            "N": 8,
            "tau": 4,
            "repeats": 3,
            "warmup": 1,
            "budget": None,
            "scan_L": [64, 128],
        }
    return {
        "B": 8,
        "L": 1024,
        "H": 32,
        "N": 32,
        "tau": 4,
        "repeats": 5,
        "warmup": 1,
        "budget": 6.0,
        "scan_L": [256, 1024, 4096],
    }


def measure(quick=False, layers=None, progress=None, threads=1):
    """The measurements behind [`training_cost`][smr_stability.experiments.cost.training_cost] (and
    `benchmarks/bench_training.py`).

    Each compared pair (without/with SMR; S5 conv/scan) is built once and timed in alternation
    by `time_interleaved`, so a change in background load affects both sides alike.

    Parameters
    ----------
    quick : bool
        Tiny sizes (seconds in all) instead of B=8, L=1024, H=32, N=32.
    layers : list of str or None
        Keys of `LAYERS` for panel A (default all).
    progress : callable or None
        Called with one line of text after each measurement.
    threads : int or None
        torch's intra-op threads while measuring (restored after); None keeps the current
        setting. The default 1 measures work rather than parallel efficiency, and is what keeps
        a busy machine from stalling torch's thread barriers: with 2 threads on 2 cores shared
        with other jobs, single steps took 10-50x longer at random.

    Returns
    -------
    dict
        `sizes`; `layers`: per layer `{"without": StepTime, "with": StepTime, "ratio"}`
        (ratio = median with / median without); `s5_modes`: a list of
        `{"L", "smr", "conv", "scan", "ratio"}` (ratio = median scan / median conv); the
        `torch` version and `threads`.
    """
    import torch

    from ..nn.model import LAYERS

    s = _sizes(quick)
    layers = list(LAYERS) if layers is None else list(layers)
    for name in layers:
        _check_layer(name)
    if threads is not None and int(threads) < 1:
        raise ParameterError(
            f"threads must be a positive integer or None; found {threads!r}. Pass 1 (the default) or None."
        )
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _measure(s, layers, progress)
    finally:
        torch.set_num_threads(before)


def _measure(s, layers, progress):
    import torch

    size = {k: s[k] for k in ("B", "H", "N", "tau")}
    timing = {k: s[k] for k in ("repeats", "warmup", "budget")}
    res = {"sizes": s, "torch": torch.__version__, "threads": torch.get_num_threads(), "layers": {}, "s5_modes": []}
    for name in layers:
        steps = [build_step(name, smr, L=s["L"], **size)[1] for smr in (False, True)]
        off, on = time_interleaved(steps, **timing)
        res["layers"][name] = {"without": off, "with": on, "ratio": on.median / off.median}
        if progress:
            progress(
                f"{name:6s} without SMR {off.median * 1e3:9.1f} ms   with SMR {on.median * 1e3:9.1f} ms   "
                f"ratio {on.median / off.median:5.2f}x"
            )
    for L in s["scan_L"]:
        for smr in (False, True):
            steps = [build_step("s5", smr, L=L, use_timestamps=ts, **size)[1] for ts in (False, True)]
            conv, scan = time_interleaved(steps, **timing)
            res["s5_modes"].append({"L": L, "smr": smr, "conv": conv, "scan": scan, "ratio": scan.median / conv.median})
            if progress:
                progress(
                    f"s5 L={L:5d} {'with' if smr else 'without':7s} SMR   conv {conv.median * 1e3:9.1f} ms   "
                    f"scan {scan.median * 1e3:9.1f} ms   ratio scan/conv {scan.median / conv.median:5.2f}x"
                )
    return res


def training_cost(out_dir, quick=False, threads=1):
    """Figure 10: training step time of each layer with and without SMR; S5 convolution vs scan.

    Panel A: per layer the median wall time of one training step (forward, loss, backward,
    AdamW) without and with SMR (tau = 4), the ratio with/without on the bars. Panel B: S5 in
    convolution mode (equal steps) against its variable-step scan (true gaps as
    `dt`), for several L, with and without SMR, ratio scan/conv. Sizes B=8, L=1024, H=32,
    N=32 (`quick`: tiny), float32, one torch thread (`threads`, see `measure`). This
    is a measurement on whatever machine runs it, not a test: timings are noisy on shared
    machines, so read the ratios, whose two sides are timed in alternation in one run.

    Data: `training_cost.json` (sizes, torch version and threads, every time in seconds and
    the ratios) and `training_cost.csv` (one row per measured configuration).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = measure(quick, threads=threads)
    data = {
        "sizes": res["sizes"],
        "torch": res["torch"],
        "threads": res["threads"],
        "unit": "seconds per training step",
        "layers": {
            k: {"without": asdict(v["without"]), "with": asdict(v["with"]), "ratio": v["ratio"]}
            for k, v in res["layers"].items()
        },
        "s5_modes": [
            {"L": r["L"], "smr": r["smr"], "conv": asdict(r["conv"]), "scan": asdict(r["scan"]), "ratio": r["ratio"]}
            for r in res["s5_modes"]
        ],
    }
    (out / "training_cost.json").write_text(json.dumps(data, indent=1))
    s = res["sizes"]
    with open(out / "training_cost.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["panel", "layer", "mode", "smr", "B", "L", "H", "N", "median_s", "min_s", "max_s"])
        for name, v in res["layers"].items():
            for smr in (False, True):
                t = v["with" if smr else "without"]
                w.writerow(["A", name, "fixed", smr, s["B"], s["L"], s["H"], s["N"], t.median, t.min, t.max])
        for r in res["s5_modes"]:
            for mode in ("conv", "scan"):
                t = r[mode]
                w.writerow(["B", "s5", mode, r["smr"], s["B"], r["L"], s["H"], s["N"], t.median, t.min, t.max])
    return [str(out / "training_cost.json"), str(out / "training_cost.csv")] + _draw(res, out)


def _draw(res, out):
    from ..plotting import new_figure, save_figure

    s = res["sizes"]
    fig, axes = new_figure(1, 2, size=(4.4, 3.2))
    ax = axes[0, 0]
    names = list(res["layers"])
    x = np.arange(len(names))
    off = np.array([res["layers"][n]["without"].median for n in names]) * 1e3
    on = np.array([res["layers"][n]["with"].median for n in names]) * 1e3
    ax.bar(x - 0.2, off, 0.4, label="without SMR", color="tab:blue")
    ax.bar(x + 0.2, on, 0.4, label="with SMR", color="tab:orange")
    for i, n in enumerate(names):
        ax.text(
            x[i], max(off[i], on[i]) * 1.05, f"{res['layers'][n]['ratio']:.2f}x", ha="center", va="bottom", fontsize=7
        )
    ax.set_yscale("log")
    ax.set_xticks(x, names)
    ax.set_ylabel("ms per training step (median)")
    ax.set_title(
        f"A  step time (B={s['B']}, L={s['L']}, H={s['H']}, N={s['N']}, tau={s['tau']})", fontsize=8, loc="left"
    )
    ax.legend(fontsize=7, loc="upper left")
    ax.set_ylim(min(off.min(), on.min()) / 2, max(off.max(), on.max()) * 3)

    ax = axes[0, 1]
    for smr, ls in ((False, "-"), (True, "--")):
        rows = [r for r in res["s5_modes"] if r["smr"] == smr]
        Ls = [r["L"] for r in rows]
        tag = "with SMR" if smr else "without SMR"
        ax.plot(Ls, [r["conv"].median * 1e3 for r in rows], ls, marker="o", color="tab:green", label=f"conv, {tag}")
        ax.plot(Ls, [r["scan"].median * 1e3 for r in rows], ls, marker="s", color="tab:purple", label=f"scan, {tag}")
        if not smr:
            for r in rows:
                ax.annotate(
                    f"{r['ratio']:.2f}x",
                    (r["L"], r["scan"].median * 1e3),
                    textcoords="offset points",
                    xytext=(0, 6),
                    ha="center",
                    fontsize=7,
                )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(min(s["scan_L"]) / 1.5, max(s["scan_L"]) * 1.5)
    top = max(r[m].median for r in res["s5_modes"] for m in ("conv", "scan")) * 1e3
    bottom = min(r[m].median for r in res["s5_modes"] for m in ("conv", "scan")) * 1e3
    ax.set_ylim(bottom / 2, top * 4)
    ax.set_xlabel("L")
    ax.set_ylabel("ms per training step (median)")
    ax.set_title("B  S5: conv vs variable-step scan (scan/conv, no SMR)", fontsize=8, loc="left")
    ax.legend(fontsize=7)
    fig.suptitle(f"torch {res['torch']}, {res['threads']} thread(s); timings are noisy, compare ratios", fontsize=7)
    return save_figure(fig, out / "training_cost")
