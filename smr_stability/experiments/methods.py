"""Does SMR help, and against what? SMR beside the alternatives, on the sines task.

Every method is the deep S4D network of [`reference_config`][smr_stability.experiments.studies.reference_config]
(N = 16) trained with the same recipe, epochs and seeds, except where the method is another
model (S5 with the true gaps). The methods (`METHODS`):

`plain`         trained on the grid, nothing else;
`smr_tau*`      with the SMR gate of length tau (2, 4, 8, 16);
`augment`       trained on drawn grid, jittered, rate-changed and irregular schedules
                  (`smr_stability.nn.augment`);
`smr_augment`   both (tau = 4);
`rescale`       the plain model with its steps times `s` on a known rate change `s` (S4's
                  zero-shot resampling); elsewhere it is the plain model;
`true_gaps`     S5 stepping by the true gaps (trained on the grid, S5's recipe);
`gap_channel`   the gap as an extra input channel (S5's "append" baseline), trained with the
                  augmentation, the only training in which the gap varies;
`best_smr`      the plain model, frozen, with an SMR gate per block (tau = 4) trained for each
                  perturbation to minimise the final relative state error directly
                  (`fit_best_gates`): the least divergence an SMR gate of that length can
                  give that model. It is not trained for the task, so it has no NMSE.

Measures per method, seed and perturbation: the test NMSE
([`sines_measures`][smr_stability.experiments.studies.sines_measures]), the final relative state
error of every block and the fraction of steps where Theorem 1's hypothesis holds (fixed-step
models), and the training time per step. For the SMR models the mechanism (`mechanism_measures`):
how much the learned gate varies in time, its correlation with the size of the sampling error, and
the share of the divergence it removes, beside the share the best gate removes from the plain model.
"""

from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .studies import (
    NMSE_BREAK,
    SIGMA,
    NominalStates,
    breaking_point,
    pendulum_cell,
    pendulum_config,
    perturbed_sines,
    recipe_config,
    reference_config,
    seed_stats,
    sines_measures,
    train_all,
    write_figure,
)
from .sweeps import find_run, run_cells

__all__ = [
    "METHODS",
    "PENDULUM_METHODS",
    "fit_best_gates",
    "best_smr_measures",
    "mechanism_measures",
    "method_config",
    "pendulum_method_config",
    "pendulum_nmse",
    "method_measures",
    "methods_table",
    "robustness_frontier",
    "smr_mechanism",
    "perturbations",
]

#: Method name -> (label, TrainConfig fields on top of the S4D reference, how it is evaluated).
METHODS = {
    "plain": ("plain (grid)", {"smr": False}, "model"),
    "smr_tau2": ("SMR tau=2", {"smr": True, "tau": 2}, "model"),
    "smr_tau4": ("SMR tau=4", {"smr": True, "tau": 4}, "model"),
    "smr_tau8": ("SMR tau=8", {"smr": True, "tau": 8}, "model"),
    "smr_tau16": ("SMR tau=16", {"smr": True, "tau": 16}, "model"),
    "augment": ("augmentation", {"smr": False, "augment": True}, "model"),
    "smr_augment": ("SMR + augmentation", {"smr": True, "augment": True}, "model"),
    "rescale": ("step rescaling (known rate)", {"smr": False}, "rescale"),
    "true_gaps": ("S5, true gaps", None, "nmse"),
    "gap_channel": ("gap as input (+aug.)", {"smr": False, "augment": True, "gap_input": True}, "model"),
    "best_smr": ("best SMR (bound)", {"smr": False}, "best_smr"),
}
BEST_TAU = 4  # the kernel length of the best-SMR bound (the SMR models' default)
_N_FIT = 64  # training sequences the best gates are fitted on


#: The methods that apply to the pendulum, whose frames come at irregular times (there is no grid
#: version to resample, to rescale to, or to measure a divergence from): method -> (layer,
#: use_timestamps, smr, other fields) of `TrainConfig.recipe("pendulum", ...)`.
PENDULUM_METHODS = {
    "plain": ("s4d", False, False, {}),
    "smr_tau4": ("s4d", False, True, {}),
    "true_gaps": ("s5", True, False, {}),
    "gap_channel": ("s4d", False, False, {"gap_input": True}),
}


def pendulum_method_config(method, seed, quick=False):
    """The TrainConfig fields (a dict) of a pendulum model of `PENDULUM_METHODS`."""
    if method not in PENDULUM_METHODS:
        raise ParameterError(f"method: expected one of {', '.join(PENDULUM_METHODS)}; found {method!r}.")
    layer, timestamps, smr, extra = PENDULUM_METHODS[method]
    return pendulum_config(layer, timestamps, smr, seed, quick) | extra


def pendulum_nmse(config):
    """Test MSE and NMSE (over the variance of the test targets) of a trained pendulum run."""
    from ..nn.config import TrainConfig
    from ..nn.tasks import load_task

    mse = pendulum_cell(config)["test_mse"]
    y = load_task(TrainConfig.from_dict(config)).test.y.astype(np.float64)
    return {"test_mse": mse, "nmse": mse / float(y.var())}


def perturbations(quick=False):
    """Kind -> magnitudes, each list starting at the grid (no perturbation)."""
    if quick:
        return {"jitter": [0.0, 0.4], "rate": [1.0, 1.25], "irregular": [0.0, 0.5], "drops": [0.0, 0.1]}
    return {
        "jitter": [0.0, 0.1, 0.2, 0.4, 0.6, 1.0],
        "rate": [1.0, 0.5, 0.8, 1.25, 2.0],
        "irregular": [0.0, 0.25, 0.5, 1.0],
        "drops": [0.0, 0.05, 0.1, 0.2, 0.3],
    }


def method_config(method, seed, quick=False):
    """The TrainConfig fields (a dict) of the model behind `method` for `seed`."""
    if method not in METHODS:
        raise ParameterError(f"method: expected one of {', '.join(METHODS)}; found {method!r}.")
    fields = METHODS[method][1]
    if fields is None:  # S5 stepping by the true gaps, S5's own recipe
        return recipe_config(quick, "sines", layer="s5", use_timestamps=True, seed=seed)
    return reference_config(quick, seed) | fields


def method_measures(config, schedules, how):
    """The measures of one trained model on every schedule, as `how` evaluates it.

    `how`: `'model'` (NMSE and the state measures), `'rescale'` (NMSE with the steps scaled
    on rate changes), `'nmse'` (NMSE only: a variable-step model has no fixed-step states) or
    `'best_smr'` (`best_smr_measures`). The SMR models also get
    `mechanism_measures` under `"mechanism"`.
    """
    if how == "best_smr":
        return best_smr_measures(config, schedules)
    if how not in ("model", "rescale", "nmse"):
        raise ParameterError(f"how: expected 'model', 'rescale', 'nmse' or 'best_smr'; found {how!r}.")
    rows = sines_measures(config, schedules, rescale=how == "rescale", states=how == "model")
    if how == "model" and config["smr"]:
        with_gate = [row["rel_state_error"] for row in rows]
        for row, mech in zip(rows, mechanism_measures(config, schedules, with_gate)):
            row["mechanism"] = mech
    return rows


def _loaded(config):
    from ..nn.checkpoint import load_run
    from ..nn.config import TrainConfig
    from ..nn.sines import sines_signal
    from ..nn.tasks import load_task

    cfg = TrainConfig.from_dict(config)
    _, model = load_run(find_run(cfg), weights="best")
    model.eval()
    data = load_task(cfg)
    return model, data, sines_signal(data.config)


def _test_rows(tc):
    return tc.n_train + tc.n_val + np.arange(tc.n_test)


def mechanism_measures(config, schedules, with_gate=None):
    """How the trained SMR gates act on each schedule (test split), mean over blocks.

    Per schedule: `gate_variation` the std over time of the gate `g_k` on the perturbed
    inputs over its mean (0: a constant gate, a rescaling), mean over channels and sequences;
    `gate_w_correlation` the correlation over steps and sequences between `g_k` and the size
    `|w_k|` of the sampling error of the block's input, mean over channels (negative: the
    gate closes where the error is large); `rel_state_error` with the gates and
    `rel_state_error_without_gate` with them removed (the same model and inputs), and
    `share_removed` `1 - with / without`. `with_gate`: the first of these per schedule,
    when the caller has measured it already (`sines_measures`), to save measuring it again.
    """
    from ..smr import smr_gate

    model, data, signal = _loaded(config)
    tc = data.config
    nominal = NominalStates(model, data.test)
    off = [[None] * len(chs) for chs in nominal.channels]
    out = []
    for i, (kind, value) in enumerate(schedules):
        u, _, t = perturbed_sines(tc, signal, _test_rows(tc), kind, value, tc.seed)
        variation, correlation = [], []
        for b in nominal.blocks:
            x_per = model.layer_inputs(u.astype(np.float32), block=b, t=t)  # (n, L, H)
            for h, ch in enumerate(nominal.channels[b]):
                _, g = smr_gate(x_per[..., h : h + 1], *ch.smr, return_gate=True)  # (n, L, 1)
                g = g[..., 0]
                variation.append(np.mean(g.std(axis=1) / np.maximum(g.mean(axis=1), 1e-300)))
                w = np.abs(x_per[..., h] - nominal.x_nom[b][..., h])
                correlation.append(_correlation(g.ravel(), w.ravel()))
        gated = float(nominal.measures(u, t)[0].mean()) if with_gate is None else with_gate[i]
        without = float(nominal.measures(u, t, gates=off)[0].mean())
        out.append(
            {
                "gate_variation": float(np.mean(variation)),
                "gate_w_correlation": float(np.nanmean(correlation)) if np.any(np.isfinite(correlation)) else None,
                "rel_state_error": gated,
                "rel_state_error_without_gate": without,
                "share_removed": 1 - gated / without if without > 0 else 0.0,
            }
        )
    return out


def _correlation(a, b):
    """Pearson correlation, NaN when either side is constant (on the grid, w = 0)."""
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return np.nan
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def fit_best_gates(channels, x_nom, x_per, tau=BEST_TAU, steps=20):
    """SMR kernels, one per channel, that minimise the mean final relative state error.

    The channels `h` run `x_k = Ab x_{k-1} + Bb g_k u_k` on the nominal inputs `x_nom` and
    on the perturbed `x_per` (each (n, L, H)), both through the gate
    `g_k = sigmoid(b + sum_j m_j u_{k-j})` (docs/theory.md §5); the objective is the mean over
    channels and sequences of `||x~_L - x_L|| / ||x_L||`, the measure of
    [`channel_measures`][smr_stability.theorem1.channel_measures]. The final state is
    `sum_k Ab^(L-1-k) Bb g_k u_k` in closed form (float64, torch autograd; the real and
    imaginary parts of `Ab^(L-1-k) Bb` stacked, since the gated input is real). L-BFGS with a
    strong-Wolfe line search from the gate-free start `m = 0, b = 0` (a constant gate 1/2,
    which leaves every ratio unchanged), so the result is never worse than no gate.

    Parameters
    ----------
    channels : list of ExportedChannel
        Diagonal single-input channels (`Ab` of shape (N,)).
    x_nom, x_per : array, shape (n, L, H)
    tau : int
    steps : int
        L-BFGS iterations.

    Returns
    -------
    gates : list of (m, b)
        Per channel, `m` (1, tau) and `b` (1,), for [`smr_stability.smr_gate`][smr_stability.smr.smr_gate].
    objective : (float, float)
        The objective at the start and at the end.
    """
    import torch

    if any(np.ndim(ch.Ab) != 1 for ch in channels):
        raise ParameterError("fit_best_gates: expected diagonal channels (Ab of shape (N,)); found a dense Ab.")
    mu = torch.tensor(np.stack([np.asarray(ch.Ab, dtype=complex) for ch in channels]))  # (H N)
    Bb = torch.tensor(np.stack([np.asarray(ch.Bb, dtype=complex).reshape(-1) for ch in channels]))  # (H N)
    L = x_nom.shape[1]
    powers = torch.arange(L - 1, -1, -1, dtype=torch.float64)  # (L): L-1-k
    W = torch.exp(torch.log(mu)[..., None] * powers) * Bb[..., None]  # (H N L): Ab^(L-1-k) Bb
    WT = torch.cat([W.real, W.imag], dim=1).transpose(1, 2).contiguous()  # (H L 2N), real
    xn = torch.tensor(np.asarray(x_nom, dtype=np.float64)).permute(2, 0, 1).contiguous()  # (H n L)
    xp = torch.tensor(np.asarray(x_per, dtype=np.float64)).permute(2, 0, 1).contiguous()
    H = len(channels)
    m = torch.zeros(H, tau, dtype=torch.float64, requires_grad=True)  # (H tau)
    b = torch.zeros(H, dtype=torch.float64, requires_grad=True)  # (H)

    def lags(x):  # (H n L) -> (H tau n*L): u_{k-j} for j < tau, zeros before k = 0
        return torch.stack([torch.nn.functional.pad(x, (j, 0))[..., :L] for j in range(tau)], 1).flatten(2)

    lags_nom, lags_per = lags(xn), lags(xp)

    def final_state(x, x_lags):  # (H n L) -> (H n 2N)
        z = torch.bmm(m[:, None], x_lags).view_as(x) + b[:, None, None]  # (H n L): b + sum_j m_j u_{k-j}
        return torch.bmm(torch.sigmoid(z) * x, WT)

    def objective():
        s_nom = final_state(xn, lags_nom)
        den = torch.linalg.vector_norm(s_nom, dim=-1).clamp_min(np.finfo(float).tiny)
        return (torch.linalg.vector_norm(final_state(xp, lags_per) - s_nom, dim=-1) / den).mean()

    with torch.no_grad():
        start = float(objective())
    if start > 0:  # zero: no perturbation, every gate gives 0
        opt = torch.optim.LBFGS([m, b], max_iter=int(steps), line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        end = float(objective())
    if not end <= start:  # keep the guarantee: never worse than the gate-free start
        with torch.no_grad():
            m.zero_()
            b.zero_()
        end = start
    mm, bb = m.detach().numpy(), b.detach().numpy()
    return [(mm[h : h + 1].copy(), bb[h : h + 1].copy()) for h in range(H)], (start, end)


def best_smr_measures(config, schedules, tau=BEST_TAU):
    """The best-SMR bound of the plain model of `config` on each schedule.

    Per schedule and block, `fit_best_gates` fits the gates on the perturbed training
    sequences (a draw of the schedule seeded apart from the test's), then the state measures are
    taken on the test split with those gates. Returns per schedule `kind, value`, `nmse`
    None (the gate is not trained for the task), `rel_state_error` and
    `hypothesis_fraction` (and per block), `rel_state_error_plain` (the same model without
    a gate) and `share_removed` `1 - best / plain`; `fit_objective` the training
    objective before and after, per block.
    """
    if config["smr"]:
        raise ParameterError("best_smr_measures: expected the plain model (smr=False); found a model with SMR.")
    model, data, signal = _loaded(config)
    tc = data.config
    nominal = NominalStates(model, data.test)
    n_fit = min(tc.n_train, _N_FIT)
    fit_rows = np.arange(n_fit)
    fit_nominal = [model.layer_inputs(data.train.u[:n_fit], block=b, t=data.train.t[:n_fit]) for b in nominal.blocks]
    out = []
    for kind, value in schedules:
        u_fit, _, t_fit = perturbed_sines(tc, signal, fit_rows, kind, value, tc.seed + 10_000)
        gates, objective = [], []
        for b in nominal.blocks:
            x_per = model.layer_inputs(u_fit.astype(np.float32), block=b, t=t_fit)
            g, obj = fit_best_gates(nominal.channels[b], fit_nominal[b], x_per, tau)
            gates.append(g)
            objective.append(obj)
        u, _, t = perturbed_sines(tc, signal, _test_rows(tc), kind, value, tc.seed)
        best, holds = nominal.measures(u, t, gates=gates)
        plain, _ = nominal.measures(u, t)
        out.append(
            {
                "kind": kind,
                "value": value,
                "nmse": None,
                "rel_state_error": float(best.mean()),
                "hypothesis_fraction": float(holds.mean()),
                "rel_state_error_per_block": best.tolist(),
                "hypothesis_fraction_per_block": holds.tolist(),
                "rel_state_error_plain": float(plain.mean()),
                "share_removed": float(1 - best.mean() / plain.mean()) if plain.mean() > 0 else 0.0,
                "fit_objective": objective,
            }
        )
    return out


def _seconds_per_step(config):
    """Mean training seconds per optimiser step of a finished run (its metrics)."""
    from ..nn.checkpoint import read_metrics
    from ..nn.config import TrainConfig

    rows = read_metrics(find_run(TrainConfig.from_dict(config)))
    return float(sum(r["seconds"] for r in rows) / rows[-1]["step"])


# --------------------------------------------------------------------------- the study

#: Seeds per method: five for every trained method (the SMR windows are within one seed spread
#: of the plain model, so the paired comparisons need them), three for the best gate (a bound
#: fitted to seeds 0-2 of the plain model, minutes per cell).
_SEEDS = {m: (0, 1, 2) if m == "best_smr" else (0, 1, 2, 3, 4) for m in METHODS}
#: The perturbations of the heatmap: one or two magnitudes per kind.
TABLE_COLUMNS = [
    ("jitter", 0.0),
    ("jitter", 0.4),
    ("jitter", 1.0),
    ("rate", 0.5),
    ("rate", 1.25),
    ("rate", 2.0),
    ("irregular", 0.5),
    ("irregular", 1.0),
    ("drops", 0.1),
    ("drops", 0.3),
]


def _seeds(method, quick):
    return (0, 1) if quick else _SEEDS[method]


def _cells(quick):
    """One cell per (method, seed, kind): the measures of that model on the kind's magnitudes."""
    cells = []
    for method, (_, _, how) in METHODS.items():
        for seed in _seeds(method, quick):
            config = method_config(method, seed, quick)
            for kind, values in perturbations(quick).items():
                cells.append({"config": config, "schedules": [[kind, v] for v in values], "how": how})
    return cells


def _paired(a, b):
    """Paired comparison of two methods over the seeds both have: the mean and std over seeds of
    `log(a / b)`, the ratio `exp(mean)` and the verdict `'lower'`/`'higher'` when the mean
    exceeds one std (the seed spread), else `'within spread'`."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None and x > 0 and y > 0]
    if len(pairs) < 2:
        return None
    r = np.log([x / y for x, y in pairs])
    mean, std = float(r.mean()), float(r.std(ddof=1))
    verdict = "within spread" if abs(mean) <= std else ("lower" if mean < 0 else "higher")
    return {"ratio": float(np.exp(mean)), "log_mean": mean, "log_std": std, "seeds": len(pairs), "verdict": verdict}


def _collect(cells, found, quick):
    """Per method, kind and magnitude: every seed's measures."""
    per = {m: {k: {str(v): {} for v in vs} for k, vs in perturbations(quick).items()} for m in METHODS}
    for cell, rows in zip(cells, found):
        method = next(m for m in METHODS if method_config(m, cell["config"]["seed"], quick) == cell["config"]
                      and METHODS[m][2] == cell["how"])  # fmt: skip
        for row in rows:
            slot = per[method][row["kind"]][str(row["value"])]
            for key in ("nmse", "rel_state_error", "hypothesis_fraction"):
                slot.setdefault(key, []).append(row.get(key))
            for key, value in (row.get("mechanism") or {}).items():
                if key != "rel_state_error":  # the row's own, measured once
                    slot.setdefault(key, []).append(value)
            if "share_removed" in row:
                slot.setdefault("share_removed", []).append(row["share_removed"])
    return per


def _median(values):
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


def _study(quick, progress):
    """Train every method's models and measure them (both cached); returns the per-seed measures."""
    configs = [method_config(m, s, quick) for m in METHODS for s in _seeds(m, quick)]
    train_all(configs, quick, progress)
    cells = _cells(quick)
    found = run_cells("methods_sines", method_measures, cells, workers=1 if quick else None, progress=progress)
    return _collect(cells, found, quick)


def robustness_frontier(out_dir, quick=False, progress=True):
    """Figure 11: test NMSE against the perturbation's magnitude, one line per method, per kind.

    Sines task, the methods of `METHODS` (median over seeds). Data:
    `robustness_frontier.json` with every seed's NMSE, relative state error and hypothesis
    fraction per method, kind and magnitude (and the mechanism measures of the SMR models).
    """
    per = _study(quick, progress)
    data = {
        "methods": {m: METHODS[m][0] for m in METHODS},
        "seeds": {m: list(_seeds(m, quick)) for m in METHODS},
        "perturbations": perturbations(quick),
        "nmse_break": NMSE_BREAK,
        "sigma": SIGMA,
        "measures": per,
    }
    return write_figure(Path(out_dir), "robustness_frontier", data, _frontier_figure(per, quick))


def methods_table(out_dir, quick=False, progress=True):
    """Figure 12: the methods-by-perturbations table of median test NMSE, as a heatmap with its numbers.

    Data: `methods_table.json` with the medians of the NMSE and of the relative state error,
    the paired comparisons across seeds against the plain model and against SMR (tau = 4)
    (`_paired`), the breaking points (Q1) and the training seconds per step.
    """
    per = _study(quick, progress)
    columns = [c for c in TABLE_COLUMNS if c[1] in perturbations(quick)[c[0]]]
    table = {
        "columns": [f"{k} {v:g}" for k, v in columns],
        "nmse_median": {m: [_median(per[m][k][str(v)].get("nmse", [])) for k, v in columns] for m in METHODS},
        "rel_state_error_median": {
            m: [_median(per[m][k][str(v)].get("rel_state_error", [])) for k, v in columns] for m in METHODS
        },
        "breaking_points": _breaking_points(per, quick),
        "paired": {
            ref: {m: _paired_all(per, m, ref, columns) for m in METHODS if m not in (ref, "best_smr")}
            for ref in ("plain", "smr_tau4")
        },
        "seconds_per_step": {
            m: seed_stats([_seconds_per_step(method_config(m, s, quick)) for s in _seeds(m, quick)])
            for m in METHODS
            if METHODS[m][2] != "best_smr"
        },
        "pendulum": _pendulum_study(quick, progress),
    }
    return write_figure(Path(out_dir), "methods_table", table, _table_figure(table))


def _pendulum_study(quick, progress):
    """Per pendulum method: every seed's test NMSE, their median, and the paired comparisons."""
    seeds = (0, 1) if quick else (0, 1, 2)
    configs = {(m, s): pendulum_method_config(m, s, quick) for m in PENDULUM_METHODS for s in seeds}
    train_all(list(configs.values()), quick, progress)
    found = run_cells(
        "methods_pendulum",
        pendulum_nmse,
        [{"config": c} for c in configs.values()],
        workers=1 if quick else None,
        progress=progress,
    )
    nmse = {k: r["nmse"] for k, r in zip(configs, found)}
    out = {"seeds": list(seeds), "nmse": {m: [nmse[(m, s)] for s in seeds] for m in PENDULUM_METHODS}}
    out["nmse_median"] = {m: float(np.median(v)) for m, v in out["nmse"].items()}
    out["paired"] = {
        ref: {m: _paired(out["nmse"][m], out["nmse"][ref]) for m in PENDULUM_METHODS if m != ref}
        for ref in ("plain", "smr_tau4")
    }
    return out


def smr_mechanism(out_dir, quick=False, progress=True):
    """Figure 13: how the learned SMR gates act, beside the best an SMR gate can do.

    Data: `smr_mechanism.json`, per SMR method, kind and magnitude, the medians over seeds of
    the gate's variation in time, its correlation with the size of the sampling error and the
    share of the divergence it removes, and the best-SMR share (`best_smr_measures`).
    """
    mechanism = _mechanism_data(_study(quick, progress), quick)
    return write_figure(Path(out_dir), "smr_mechanism", mechanism, _mechanism_figure(mechanism))


def _paired_all(per, method, ref, columns):
    """`_paired` of the NMSE (and of the relative state error) at every table column."""
    out = {}
    for kind, value in columns:
        a, b = per[method][kind][str(value)], per[ref][kind][str(value)]
        out[f"{kind} {value:g}"] = {key: _paired(a.get(key, []), b.get(key, [])) for key in ("nmse", "rel_state_error")}
    return out


def _breaking_points(per, quick):
    """Q1: per method and kind, the magnitude at which the median NMSE over seeds reaches
    `NMSE_BREAK` (None: never in the range), on each side of 1 for the rate."""
    out = {}
    for m in METHODS:
        if METHODS[m][2] == "best_smr":
            continue
        out[m] = {}
        for kind, values in perturbations(quick).items():
            med = {v: _median(per[m][kind][str(v)].get("nmse", [])) for v in values}
            if kind == "rate":
                for side, vs in (("rate_below_1", sorted((v for v in values if v <= 1), reverse=True)),
                                 ("rate_above_1", sorted(v for v in values if v >= 1))):  # fmt: skip
                    out[m][side] = (
                        breaking_point([abs(v - 1) for v in vs], [med[v] for v in vs]) if len(vs) > 1 else None
                    )
            else:
                vs = sorted(values)
                out[m][kind] = breaking_point(vs, [med[v] for v in vs])
    return out


def _mechanism_data(per, quick):
    """Per SMR method and kind: the medians over seeds of the gate's variation and correlation
    with |w| and the share of the divergence it removes; the best-SMR share beside them."""
    out = {"kinds": perturbations(quick), "methods": {}}
    for m in METHODS:
        if not (METHODS[m][1] or {}).get("smr") and m != "best_smr":
            continue
        keys = ("share_removed",) if m == "best_smr" else ("gate_variation", "gate_w_correlation", "share_removed")
        out["methods"][m] = {
            kind: {key: [_median(per[m][kind][str(v)].get(key, [])) for v in values] for key in keys}
            for kind, values in perturbations(quick).items()
        }
    return out


_COLORS = {
    "plain": "tab:red",
    "smr_tau2": "#9ecae1",
    "smr_tau4": "tab:blue",
    "smr_tau8": "#3182bd",
    "smr_tau16": "#08519c",
    "augment": "tab:green",
    "smr_augment": "tab:olive",
    "rescale": "tab:orange",
    "true_gaps": "tab:purple",
    "gap_channel": "tab:brown",
    "best_smr": "0.3",
}


def _frontier_figure(per, quick):
    from ..plotting import new_figure

    kinds = perturbations(quick)
    fig, axes = new_figure(1, len(kinds), size=(3.3, 3.0))
    xlabels = {"jitter": "jitter j (units of dt)", "rate": "rate s", "irregular": "gap cv", "drops": "fraction dropped"}
    for ax, (kind, values) in zip(axes[0], kinds.items()):
        xs = sorted(values)
        for m in METHODS:
            med = [_median(per[m][kind][str(v)].get("nmse", [])) for v in xs]
            if all(v is None for v in med):
                continue
            ax.plot(xs, [np.nan if v is None else v for v in med], marker="o", ms=3, lw=1.2, color=_COLORS[m],
                    label=METHODS[m][0], ls="--" if m in ("rescale", "true_gaps", "gap_channel") else "-")  # fmt: skip
        ax.axhline(NMSE_BREAK, color="0.4", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel(xlabels[kind])
        ax.set_ylabel("test NMSE (median over seeds)")
        ax.set_title(kind, fontsize=9)
    axes[0, -1].legend(fontsize=6, loc="best")
    fig.suptitle("Robustness frontier on the sines task (S4D, N = 16): test NMSE against the perturbation; "
                 f"dotted: NMSE {NMSE_BREAK}", fontsize=9)  # fmt: skip
    return fig


def _table_figure(table):
    from ..plotting import new_figure

    methods = [m for m in METHODS if any(v is not None for v in table["nmse_median"][m])]
    pend = table["pendulum"]["nmse_median"]
    M = np.array(
        [[np.nan if v is None else v for v in table["nmse_median"][m]] + [pend.get(m, np.nan)] for m in methods]
    )
    columns = table["columns"] + ["pendulum (irregular)"]
    fig, axes = new_figure(1, 1, size=(1.0 + 0.75 * M.shape[1], 0.5 + 0.34 * len(methods)))
    ax = axes[0, 0]
    im = ax.imshow(np.log10(M), cmap="viridis_r", aspect="auto")
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if np.isfinite(M[i, j]):
                ax.text(j, i, f"{M[i, j]:.3g}", ha="center", va="center", fontsize=6,
                        color="white" if np.log10(M[i, j]) > np.nanmedian(np.log10(M)) else "black")  # fmt: skip
    ax.set_xticks(range(M.shape[1]), columns, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(methods)), [METHODS[m][0] for m in methods], fontsize=7)
    fig.colorbar(im, ax=ax, label="log10 median test NMSE")
    ax.set_title("Methods by perturbation: sines, and the pendulum (median test NMSE over seeds)", fontsize=9)
    return fig


def _mechanism_figure(mech):
    from ..plotting import new_figure

    kinds = mech["kinds"]
    fig, axes = new_figure(1, 3, size=(3.3, 3.0))
    smr_methods = [m for m in mech["methods"] if m != "best_smr"]
    for m in smr_methods:
        xs = kinds["jitter"]
        order = np.argsort(xs)
        for ax, key in zip(axes[0, :2], ("gate_variation", "gate_w_correlation")):
            v = np.array([np.nan if x is None else x for x in mech["methods"][m]["jitter"][key]], dtype=float)
            ax.plot(np.array(xs)[order], v[order], marker="o", ms=3, color=_COLORS[m], label=METHODS[m][0])
    axes[0, 0].set_ylabel("gate std over time / mean")
    axes[0, 1].set_ylabel("corr(gate, |w|)")
    for ax in axes[0, :2]:
        ax.set_xlabel("jitter j (units of dt)")
    axes[0, 0].legend(fontsize=6)
    ax = axes[0, 2]
    names = smr_methods + (["best_smr"] if "best_smr" in mech["methods"] else [])
    width = 0.8 / max(len(names), 1)
    for i, m in enumerate(names):
        shares = [_largest(mech["methods"][m][k]["share_removed"], kinds[k]) for k in kinds]
        ax.bar(np.arange(len(kinds)) + (i - len(names) / 2 + 0.5) * width, shares, width, color=_COLORS[m],
               label=METHODS[m][0])  # fmt: skip
    ax.axhline(0, color="0.3", lw=0.6)
    ax.set_xticks(range(len(kinds)), list(kinds))
    ax.set_ylabel("share of the divergence removed")
    ax.set_title("at the largest magnitude of each kind", fontsize=8)
    ax.legend(fontsize=6)
    fig.suptitle("How the SMR gates act (sines, S4D): variation, correlation with the sampling error, "
                 "share of the divergence removed", fontsize=9)  # fmt: skip
    return fig


def _largest(values, magnitudes):
    """The entry of `values` at the magnitude farthest from no perturbation (the rate: from 1)."""
    far = [abs(v - 1) if 1.0 in magnitudes and 0.0 not in magnitudes else abs(v) for v in magnitudes]
    v = values[int(np.argmax(far))]
    return np.nan if v is None else v
