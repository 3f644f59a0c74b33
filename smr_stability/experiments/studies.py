"""Studies of trained models, with and without SMR: figures 5-8 of the gallery.

Every study trains its models through [`run_cells`][smr_stability.experiments.sweeps.run_cells] (one cell per
[`TrainConfig`][smr_stability.nn.config.TrainConfig], trained into a cached, resumable run directory),
then evaluates them in a second sweep of cached cells. Both sweeps run in parallel processes and
resume after an interruption without recomputing finished cells.

Measures of a trained sines model on a perturbed schedule
([`sines_measures`][smr_stability.experiments.studies.sines_measures]):

- `mse`: test MSE with inputs and targets at the schedule's true times, and `nmse` = mse
  divided by the variance of those targets (scale-free; 1 is the error of predicting the mean);
- `rel_state_error`: the final relative state error `||e_L|| / ||x_L||` of the channels of
  every block (each block's own inputs, nominal grid against the schedule, so the error that
  earlier blocks pass on is included; through the learned gate when the model has one), mean
  over channels and test sequences, then over blocks; `rel_state_error_per_block` keeps the
  blocks apart;
- `hypothesis_fraction`: the fraction of steps where Theorem 1's hypothesis
  `||w_k|| <= gamma* ||e_{k-1}||` holds (`sigma = 0.5`), as in V4; mean over blocks, and
  `hypothesis_fraction_per_block`.

Models are read at the epoch with the best validation MSE, as the pendulum table reads them.

Comparisons of SMR are between models *trained* with and without it, with the same seeds.
"""

import json
from pathlib import Path

import numpy as np

from ..errors import NonFiniteError, ParameterError, ShapeError
from ..plotting import new_figure, save_figure
from .sweeps import cached_run, find_run, run_cells

__all__ = [
    "NominalStates",
    "SCHEDULE_KINDS",
    "breaking_point",
    "pendulum_cell",
    "pendulum_config",
    "pendulum_mse",
    "perturbed_sines",
    "predict",
    "recipe_config",
    "reference_config",
    "reference_run",
    "seed_stats",
    "sensitivity",
    "sines_measures",
    "state_size_sweep",
    "tau_sweep",
    "train_all",
    "train_cell",
    "write_figure",
]

SIGMA = 0.5  # Theorem 1's sigma for the hypothesis fraction (V4's default)
NMSE_BREAK = 0.1  # a model "breaks" where its test NMSE exceeds this (R^2 below 0.9)


# --------------------------------------------------------------------------- cells


def reference_config(quick=False, seed=0, smr=True, tau=4, state=16):
    """The sines S4D model of the studies, as a dict of TrainConfig fields.

    The deep network and recipe of `TrainConfig.recipe("sines", layer="s4d")`: 4 blocks of
    width 30, half-GLU, post-norm, a tanh-MLP decoder, 40 epochs. The default (seed 0, SMR with
    tau 4, N = 16) is the reference model of figures 2, 3 and 9
    ([`reference_run`][smr_stability.experiments.studies.reference_run]); figures 6-8 vary `seed`,
    `smr`, `tau` and `state`. `quick` trains 2 epochs on the task's small configuration.
    """
    return recipe_config(quick, "sines", layer="s4d", smr=smr, tau=tau, state=state, seed=seed)


def recipe_config(quick, task, **fields):
    """`TrainConfig.recipe(task, **fields)` as a dict; `quick`: 2 epochs on the small task."""
    from ..nn.config import TrainConfig

    quick_fields = {"small": True, "epochs": 2} if quick else {}
    return TrainConfig.recipe(task, **fields, **quick_fields).to_dict()


def reference_run(quick=False):
    """The reference model
    ([`reference_config`][smr_stability.experiments.studies.reference_config]), trained once and
    cached by its config's hash.

    Returns
    -------
    config : TrainConfig
    run : Path
        Its run directory ([`cached_run`][smr_stability.experiments.sweeps.cached_run]); training resumes
        per epoch if it was interrupted.
    """
    from ..nn.config import TrainConfig

    config = TrainConfig.from_dict(reference_config(quick))
    return config, cached_run(config)


def train_cell(config):
    """Train one config (a dict of TrainConfig fields) into its cached run; return its summary."""
    from ..nn.checkpoint import read_metrics
    from ..nn.config import TrainConfig

    rows = read_metrics(cached_run(TrainConfig.from_dict(config)))
    return {
        "val_loss": rows[-1]["val_loss"],
        "epochs": len(rows),
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in rows])),
    }


def train_all(configs, quick, progress):
    """Train every distinct config (dicts of TrainConfig fields) into its cached run, in worker
    processes (one in `quick` mode); each task's data is generated once first."""
    from ..nn.config import TrainConfig
    from ..nn.tasks import load_task

    unique = [json.loads(s) for s in dict.fromkeys(json.dumps(c, sort_keys=True) for c in configs)]
    for data_cfg in {json.dumps({k: c[k] for k in ("task", "small", "seed")}, sort_keys=True) for c in unique}:
        load_task(TrainConfig.from_dict(json.loads(data_cfg)))  # generate each data set once, before the workers
    return run_cells(
        "train", train_cell, [{"config": c} for c in unique], workers=1 if quick else None, progress=progress
    )


#: The perturbation kinds of the sines measures and what their value means.
SCHEDULE_KINDS = {
    "jitter": "uniform jitter of j dt (sorted for j >= 1/2)",
    "rate": "t_k = k s dt",
    "irregular": "gamma gaps of mean dt with coefficient of variation cv (0: the grid)",
    "drops": "a fraction f of the samples replaced by zeros, times on the grid",
}


def _check_kinds(schedules):
    for kind, _ in schedules:
        if kind not in SCHEDULE_KINDS:
            raise ParameterError(
                f"schedule kind: expected one of {', '.join(map(repr, SCHEDULE_KINDS))}; found {kind!r}. "
                "Use ['jitter', j], ['rate', s], ['irregular', cv] or ['drops', f]."
            )


def _schedule(kind, value, L, dt, draws, seed):
    from ..sampling import drops, irregular, jitter, rate_change

    _check_kinds([[kind, value]])
    rng = np.random.default_rng([seed, 7, int(round(value * 1000))])
    if kind == "jitter":
        return jitter(L, dt, value, draws=draws, seed=rng, sort=True if value >= 0.5 else None)
    if kind == "rate":
        return rate_change(L, dt, value, draws=draws)
    if kind == "irregular":
        return irregular(L, dt, draws=draws, seed=np.random.default_rng([seed, 8, int(round(value * 1000))]), cv=value)
    return drops(
        L, dt, value, mode="zeros", draws=draws, seed=np.random.default_rng([seed, 9, int(round(value * 1000))])
    )


def perturbed_sines(tc, signal, rows, kind, value, seed):
    """Inputs, targets and times of the sines signals `rows` on a perturbed schedule.

    Returns `u` (n, L, 1) (zeros at dropped samples), `y` (n, L, 1) the integral at the true
    times, and `t` (n, L); one draw per row, seeded by `seed`, `kind` and `value`.
    """
    from ..nn.sines import sines_values

    sched = _schedule(kind, value, tc.L, tc.dt, len(rows), seed)
    t = np.array(sched.times)
    u, y = sines_values(signal, rows, t)
    if sched.replaced is not None:
        u[sched.replaced] = 0.0
    return u, y, t


def sines_measures(config, schedules, rescale=False, states=True):
    """Measures (module docstring) of the trained sines run of `config` on each schedule.

    Parameters
    ----------
    config : dict
        TrainConfig fields of a finished sines run (see [`train_cell`][smr_stability.experiments.studies.train_cell]).
    schedules : list of [str, float]
        `[kind, value]` with a kind of `SCHEDULE_KINDS`: `["jitter", j]` (uniform
        jitter of `j dt`, sorted for `j >= 1/2`), `["rate", s]` (`t_k = k s dt`),
        `["irregular", cv]` or `["drops", f]`; one draw per test sequence.
    rescale : bool
        Test-time step rescaling where the perturbation is a known rate change `s`: the model
        runs with its learned steps times `s` (S4's zero-shot resampling,
        [`scaled_steps`][smr_stability.nn.model.SequenceModel.scaled_steps]); other kinds run unchanged.
    states : bool
        Also the state measures (`rel_state_error`, `hypothesis_fraction`; fixed-step
        single-input channels only). `False` gives `mse` and `nmse` only, as for S5 with
        the true gaps or a rescaled model, whose steps are not the grid's.

    Returns
    -------
    list of dict
        Per schedule: `kind, value, mse, nmse` and, with `states`, `rel_state_error,
        hypothesis_fraction` and their values per block.
    """
    from ..nn.checkpoint import load_run
    from ..nn.config import TrainConfig
    from ..nn.sines import sines_signal
    from ..nn.tasks import load_task

    _check_kinds(schedules)
    if rescale and states:
        raise ParameterError("rescale changes the model's steps, so its states are not the grid's: pass states=False.")
    cfg = TrainConfig.from_dict(config)
    _, model = load_run(find_run(cfg), weights="best")
    model.eval()
    data = load_task(cfg)
    tc = data.config
    rows = tc.n_train + tc.n_val + np.arange(tc.n_test)
    signal = sines_signal(tc)
    nominal = NominalStates(model, data.test) if states else None
    out = []
    for kind, value in schedules:
        u, y, t = perturbed_sines(tc, signal, rows, kind, value, tc.seed)  # (n, L, 1), (n, L, 1), (n, L)
        with model.scaled_steps(value if rescale and kind == "rate" else 1.0):
            mse = float(np.mean((predict(model, u, t) - y) ** 2))
        row = {"kind": kind, "value": value, "mse": mse, "nmse": mse / float(np.var(y))}
        if states:
            rel_error, holds = nominal.measures(u, t)  # (blocks,) each
            row |= {
                "rel_state_error": float(rel_error.mean()),
                "hypothesis_fraction": float(holds.mean()),
                "rel_state_error_per_block": rel_error.tolist(),
                "hypothesis_fraction_per_block": holds.tolist(),
            }
        out.append(row)
    return out


def predict(model, u, t):
    """The model's prediction (float64 numpy) for inputs `u` (n, L, P) at times `t` (n, L)."""
    import torch

    with torch.no_grad():
        u, t = torch.as_tensor(u, dtype=torch.float32), torch.as_tensor(np.array(t), dtype=torch.float32)
        return model(u, t).double().numpy()


class NominalStates:
    """Each block's inputs on the grid and its channels, to measure perturbed runs against them."""

    def __init__(self, model, split):
        self.model, self.blocks = model, range(len(model.layers))
        self.x_nom = [model.layer_inputs(split.u, block=b, t=split.t) for b in self.blocks]  # (n, L, H) each
        self.channels = [layer.export() for layer in model.layers]

    def measures(self, u, t, gates=None):
        """Per block, the mean over channels and sequences of the final relative state error and
        of the fraction of steps where Theorem 1's hypothesis holds, for inputs `u` at `t`.
        `gates` (one per block, each a list of `(m, b)` per channel, or None) replaces the
        model's own gates."""
        from ..theorem1 import channel_measures

        per_block = []
        for b in self.blocks:
            x_per = self.model.layer_inputs(np.asarray(u, dtype=np.float32), block=b, t=np.array(t))
            found = [
                channel_measures(
                    ch.Ab,
                    ch.Bb,
                    self.x_nom[b][..., h : h + 1],
                    x_per[..., h : h + 1],
                    ch.smr if gates is None else gates[b][h],
                    SIGMA,
                    iss=False,
                )
                for h, ch in enumerate(self.channels[b])
            ]
            per_block.append(
                (np.mean([f["final_rel_error"].mean() for f in found]), np.mean([f["holds"].mean() for f in found]))
            )
        return np.array(per_block).T


def pendulum_cell(config):
    """Test MSE of the trained pendulum run of `config` (its test split, irregular by construction)."""
    from ..nn.checkpoint import load_run
    from ..nn.config import TrainConfig
    from ..nn.evaluate import split_mse
    from ..nn.tasks import load_task

    cfg = TrainConfig.from_dict(config)
    _, model = load_run(find_run(cfg), weights="best")
    return {"test_mse": split_mse(model, load_task(cfg).test, 100)}


def _measure_all(configs, schedules, quick, progress):
    cells = [{"config": c, "schedules": schedules} for c in configs]
    return run_cells("sines_measures", sines_measures, cells, workers=1 if quick else None, progress=progress)


def seed_stats(values):
    """Mean, median, sample std (0 for one value) and the values themselves, of one measure over seeds."""
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "values": v.tolist(),
    }


def _seeds(quick):
    return (0, 1) if quick else (0, 1, 2)


def write_figure(out, name, data, fig):
    """Write `name.json` (`data`) and `name.png`/`name.pdf` (`fig`) into `out`; return the paths."""
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
    return [str(out / f"{name}.json")] + save_figure(fig, out / name)


# --------------------------------------------------------------------------- figure 5


_PENDULUM_MODELS = {
    "S4D": ("s4d", False),
    "S5 (fixed step)": ("s5", False),
    "S6": ("s6", False),
    "S5 (true gaps)": ("s5", True),
}


def pendulum_config(layer, timestamps, smr, seed, quick):
    """`TrainConfig.recipe("pendulum", ...)` as a dict: the runs of the pendulum table."""
    return recipe_config(quick, "pendulum", layer=layer, use_timestamps=timestamps, smr=smr, seed=seed)


def pendulum_mse(out_dir, quick=False, progress=True):
    """Pendulum test MSE with and without SMR for S4D, S5 (fixed step), S6 and S5 with the true gaps.

    Each model is trained on the irregularly sampled pendulum (frames kept at random times) with
    three seeds (two with `quick`); the fixed-step models see the kept frames as a regular
    sequence, S5 with the true gaps steps by them. Bars: mean test MSE, error bars: the standard
    deviation over seeds. Data: `pendulum_mse.json` with every seed's MSE and, per model, the
    ratio with/without SMR of the mean MSE (below 1: SMR helped).
    """
    out = Path(out_dir)
    seeds = _seeds(quick)
    configs = {
        (name, smr, s): pendulum_config(layer, ts, smr, s, quick)
        for name, (layer, ts) in _PENDULUM_MODELS.items()
        for smr in (False, True)
        for s in seeds
    }
    train_all(list(configs.values()), quick, progress)
    keys = list(configs)
    found = run_cells(
        "pendulum_mse",
        pendulum_cell,
        [{"config": configs[k]} for k in keys],
        workers=1 if quick else None,
        progress=progress,
    )
    mse = {k: r["test_mse"] for k, r in zip(keys, found)}
    data = {
        "seeds": list(seeds),
        "configs": {n: pendulum_config(*m, True, 0, quick) for n, m in _PENDULUM_MODELS.items()},
        "models": {},
    }
    for name in _PENDULUM_MODELS:
        per = {
            label: seed_stats([mse[(name, smr, s)] for s in seeds])
            for label, smr in (("without_smr", False), ("with_smr", True))
        }
        per["ratio_with_over_without"] = per["with_smr"]["mean"] / per["without_smr"]["mean"]
        data["models"][name] = per
    fig, axes = new_figure(1, 1, size=(6.0, 3.4))
    ax = axes[0, 0]
    x = np.arange(len(_PENDULUM_MODELS))
    for off, label, color in ((-0.18, "without_smr", "tab:red"), (0.18, "with_smr", "tab:blue")):
        m = [data["models"][n][label]["mean"] for n in _PENDULUM_MODELS]
        e = [data["models"][n][label]["std"] for n in _PENDULUM_MODELS]
        ax.bar(
            x + off,
            m,
            0.36,
            yerr=e,
            capsize=3,
            color=color,
            alpha=0.8,
            label=label.replace("_", " ").replace("smr", "SMR"),
        )
    for i, n in enumerate(_PENDULUM_MODELS):
        ax.text(
            i,
            ax.get_ylim()[1] * 0.97,
            f"{data['models'][n]['ratio_with_over_without']:.2f}x",
            ha="center",
            va="top",
            fontsize=8,
        )
    ax.set_xticks(x, list(_PENDULUM_MODELS))
    ax.set_ylabel("test MSE (sin, cos)")
    ax.set_title(f"Pendulum regression, mean ± std over {len(seeds)} seeds (ratio with/without SMR above)", fontsize=9)
    ax.legend(fontsize=8)
    return write_figure(out, "pendulum_mse", data, fig)


# --------------------------------------------------------------------------- figure 6


def breaking_point(values, nmse, threshold=NMSE_BREAK):
    """The first perturbation at which `nmse` reaches `threshold`, linearly interpolated.

    `values` increasing, starting at the training setting. Returns `None` when the
    threshold is not reached in the range (the model tolerates all of it), and `values[0]`
    when it is exceeded already there.

    Examples
    --------
    >>> breaking_point([0.0, 1.0, 2.0], [0.0, 0.25, 0.75], threshold=0.5)
    1.5
    """
    v, e = np.asarray(values, dtype=float), np.asarray(nmse, dtype=float)
    if v.ndim != 1 or v.shape != e.shape or v.size == 0:
        raise ShapeError(
            f"values and nmse: expected two 1-D sequences of one length >= 1; found shapes {v.shape} and {e.shape}."
        )
    if not (np.all(np.isfinite(v)) and np.all(np.diff(v) > 0)):
        raise ParameterError(f"values: expected finite, strictly increasing perturbations; found {v.tolist()}.")
    if np.any(np.isnan(e)):
        raise NonFiniteError(
            f"nmse: expected numbers (inf is allowed: a model that blew up); found NaN in {e.tolist()}."
        )
    above = np.flatnonzero(e >= threshold)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(v[0])
    return float(v[i - 1] + (threshold - e[i - 1]) * (v[i] - v[i - 1]) / (e[i] - e[i - 1]))


def _sensitivity_grid(quick):
    jit = [0.0, 0.2, 0.6] if quick else [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5]
    rates = [0.8, 1.0, 1.25] if quick else [0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0]
    return jit, rates


def sensitivity(out_dir, quick=False, progress=True):
    """Test error and state divergence against jitter magnitude and rate change, with and without SMR.

    Sines S4D models (tau = 4 when with SMR) trained on the grid, three seeds, evaluated with
    jitter `j dt` (sorted times for `j >= 1/2`) and with rates `t_k = k s dt`. The breaking
    point is where the test NMSE reaches 0.1
    ([`breaking_point`][smr_stability.experiments.studies.breaking_point]), per seed, for jitter and
    on each side of `s = 1` for the rate. Data: `sensitivity.json` (every seed's measures).
    """
    out = Path(out_dir)
    seeds, (jit, rates) = _seeds(quick), _sensitivity_grid(quick)
    schedules = [["jitter", j] for j in jit] + [["rate", s] for s in rates]
    configs = {(smr, s): reference_config(quick, s, smr=smr) for smr in (False, True) for s in seeds}
    train_all(list(configs.values()), quick, progress)
    found = dict(zip(configs, _measure_all(list(configs.values()), schedules, quick, progress)))
    data = {
        "seeds": list(seeds),
        "nmse_break": NMSE_BREAK,
        "jitter": jit,
        "rate": rates,
        "config": reference_config(quick, 0),
        "models": {},
    }
    for smr in (False, True):
        label = "with_smr" if smr else "without_smr"
        per = {"jitter": {}, "rate": {}, "breaking_point": {"jitter": [], "rate_below_1": [], "rate_above_1": []}}
        for s in seeds:
            rows = found[(smr, s)]
            for kind in ("jitter", "rate"):
                for m in ("nmse", "rel_state_error", "hypothesis_fraction"):
                    per[kind].setdefault(m, []).append([r[m] for r in rows if r["kind"] == kind])
            nj = [r["nmse"] for r in rows if r["kind"] == "jitter"]
            nr = dict((r["value"], r["nmse"]) for r in rows if r["kind"] == "rate")
            below, above = [v for v in rates if v <= 1][::-1], [v for v in rates if v >= 1]
            per["breaking_point"]["jitter"].append(breaking_point(jit, nj))
            per["breaking_point"]["rate_below_1"].append(breaking_point([1 - v for v in below], [nr[v] for v in below]))
            per["breaking_point"]["rate_above_1"].append(breaking_point([v - 1 for v in above], [nr[v] for v in above]))
        data["models"][label] = per
    fig, axes = new_figure(2, 2, size=(3.6, 2.8))
    for j, kind in enumerate(("jitter", "rate")):
        xs = jit if kind == "jitter" else rates
        for i, m in enumerate(("nmse", "rel_state_error")):
            ax = axes[i, j]
            for label, color in (("without_smr", "tab:red"), ("with_smr", "tab:blue")):
                v = np.array(data["models"][label][kind][m])  # (seeds, points)
                _median_and_seeds(ax, xs, v, color, label)
                if m == "nmse":
                    _mark_breaks(ax, kind, data["models"][label]["breaking_point"], color)
            if m == "nmse":
                ax.axhline(NMSE_BREAK, color="0.4", ls=":", lw=0.8)
            ax.set_yscale("log")
            ax.set_xlabel("jitter j (units of dt)" if kind == "jitter" else "rate s (t_k = k s dt)")
            ax.set_ylabel("test NMSE" if m == "nmse" else "final ||e|| / ||x||, layer 1")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        f"Sensitivity of trained S4D models (sines): median (line) and {len(seeds)} seeds (dots);\n"
        f"dashed: breaking points, where the NMSE reaches {NMSE_BREAK}",
        fontsize=9,
    )
    return write_figure(out, "sensitivity", data, fig)


def _median_and_seeds(ax, xs, v, color, label):
    """The median over seeds (line) and every seed (dots) of `v` (seeds, points).

    The median, because one seed that trains badly moves a mean of three by a factor; log axes
    take no error bars.
    """
    v = np.where(v > 0, v, np.nan)  # log axes: an exact 0 (the training grid) is left out, not drawn at -inf
    ax.plot(
        xs,
        np.median(v, axis=0),
        color=color,
        marker="o",
        ms=3,
        lw=1,
        label=label.replace("_", " ").replace("smr", "SMR"),
    )
    for row in v:
        ax.plot(xs, row, color=color, ls="none", marker=".", ms=3, alpha=0.5)


def _mark_breaks(ax, kind, breaks, color):
    if kind == "jitter":
        pts = [b for b in breaks["jitter"] if b is not None]
    else:
        pts = [1 - b for b in breaks["rate_below_1"] if b is not None] + [
            1 + b for b in breaks["rate_above_1"] if b is not None
        ]
    for p in pts:
        ax.axvline(p, color=color, ls="--", lw=0.7, alpha=0.6)


# --------------------------------------------------------------------------- figures 7 and 8


def _sweep_figure(out, name, xs, xlabel, configs, baseline, seeds, quick, progress, title):
    """Shared body of the tau and N sweeps: measures on the grid and under jitter 0.4 dt."""
    schedules = [["jitter", 0.0], ["jitter", 0.4]]
    flat = [c for per in configs.values() for c in per] + [c for per in baseline.values() for c in per]
    train_all(flat, quick, progress)
    found = _measure_all(flat, schedules, quick, progress)
    lookup = {json.dumps(c, sort_keys=True): f for c, f in zip(flat, found)}
    series = {}
    for label, per in (("with_smr", configs), ("without_smr", baseline)):
        series[label] = {}
        for x, cs in per.items():
            rows = [lookup[json.dumps(c, sort_keys=True)] for c in cs]
            series[label][str(x)] = {
                "nmse_grid": seed_stats([r[0]["nmse"] for r in rows]),
                "nmse_jitter0.4": seed_stats([r[1]["nmse"] for r in rows]),
                "nmse_excess_jitter0.4": seed_stats(
                    [r[1]["nmse"] - r[0]["nmse"] for r in rows]
                ),  # what the jitter adds
                "rel_state_error_jitter0.4": seed_stats([r[1]["rel_state_error"] for r in rows]),
                "hypothesis_fraction_jitter0.4": seed_stats([r[1]["hypothesis_fraction"] for r in rows]),
            }
    data = {"seeds": list(seeds), "x": list(xs), "xlabel": xlabel, "series": series}
    fig, axes = new_figure(1, 3, size=(3.3, 2.8))
    for ax, m, ylabel in zip(
        axes[0],
        ("nmse_grid", "nmse_jitter0.4", "rel_state_error_jitter0.4"),
        ("test NMSE, training grid", "test NMSE, jitter 0.4 dt", "final ||e|| / ||x||, jitter 0.4 dt"),
    ):
        for label, color in (("without_smr", "tab:red"), ("with_smr", "tab:blue")):
            pts = series[label]
            if list(pts) == ["none"]:  # a baseline without the swept parameter: a band
                st = pts["none"][m]
                ax.axhline(st["median"], color=color, lw=1, label=label.replace("_", " ").replace("smr", "SMR"))
                ax.axhspan(min(st["values"]), max(st["values"]), color=color, alpha=0.15, lw=0)
            else:
                px = list(xs)
                _median_and_seeds(ax, px, np.array([pts[str(x)][m]["values"] for x in px]).T, color, label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel, fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return write_figure(out, name, data, fig)


def tau_sweep(out_dir, quick=False, progress=True):
    """Test error and divergence against the SMR kernel length tau (S4D on sines).

    Models with SMR for each tau, three seeds, against the same models trained without SMR (the
    band). Measured on the training grid and under jitter 0.4 dt. Data: `tau_sweep.json`.
    """
    seeds = _seeds(quick)
    taus = [1, 4] if quick else [1, 2, 4, 8, 16]
    configs = {tau: [reference_config(quick, s, tau=tau) for s in seeds] for tau in taus}
    baseline = {"none": [reference_config(quick, s, smr=False) for s in seeds]}
    return _sweep_figure(
        Path(out_dir),
        "tau_sweep",
        taus,
        "SMR kernel length tau",
        configs,
        baseline,
        seeds,
        quick,
        progress,
        f"tau sweep: S4D (N=16) on sines, median (line) and seeds (dots), {len(seeds)} seeds; red: no SMR (median, band: range over seeds)",
    )


def state_size_sweep(out_dir, quick=False, progress=True):
    """SMR's effect against the state size N (S4D on sines, tau = 4, with and without SMR).

    Data: `state_size_sweep.json`, including per N the ratio with/without SMR of the medians
    over seeds (and of the means) of the grid NMSE, the jitter NMSE, the excess NMSE the jitter
    adds (`nmse_jitter0.4 - nmse_grid`) and the relative state error (below 1: SMR reduced it).
    """
    seeds = _seeds(quick)
    Ns = [4, 16] if quick else [4, 8, 16, 32, 64]
    configs = {N: [reference_config(quick, s, state=N) for s in seeds] for N in Ns}
    baseline = {N: [reference_config(quick, s, smr=False, state=N) for s in seeds] for N in Ns}
    paths = _sweep_figure(
        Path(out_dir),
        "state_size_sweep",
        Ns,
        "state size N",
        configs,
        baseline,
        seeds,
        quick,
        progress,
        f"N sweep: S4D (tau=4) on sines, median (line) and seeds (dots), {len(seeds)} seeds",
    )
    path = Path(out_dir) / "state_size_sweep.json"
    data = json.loads(path.read_text())
    s = data["series"]
    metrics = ("nmse_grid", "nmse_jitter0.4", "nmse_excess_jitter0.4", "rel_state_error_jitter0.4")
    for key, stat in (("ratio_with_over_without", "median"), ("ratio_of_means_with_over_without", "mean")):
        data[key] = {
            str(N): {m: s["with_smr"][str(N)][m][stat] / s["without_smr"][str(N)][m][stat] for m in metrics} for N in Ns
        }
    path.write_text(json.dumps(data, indent=1))
    return paths
