"""The figures of the toolkit, each a function that computes its data, saves it, and draws it.

Every figure writes `NAME.png`, `NAME.pdf` and its data (`NAME.csv` or `NAME.json`) into
the output folder, so nothing has to be read off a picture. `FIGURES` maps names to
functions `f(out_dir, quick=False) -> list of written paths`; the command
`smr-stability figures` runs them.
"""

import contextlib
import csv
import inspect
import json
import os
from pathlib import Path

import numpy as np

from ..discretization import discretize, eigenvalue_map
from ..errors import ParameterError
from ..plotting import new_figure, save_figure, unit_circle
from ..simulation import simulate
from ..systems import hippo_legs, mega_ema, s4d_inv, s4d_lin, s4d_real, s5_hippo
from . import cost, methods, studies, threshold_map

__all__ = ["FIGURES", "eigenvalues", "lyapunov_error", "nss", "smr_divergence", "stability_regions", "make_figures"]

_MODELS = {
    "S4 (HiPPO-LegS)": lambda N: hippo_legs(N),
    "S4D-Lin": lambda N: s4d_lin(N),
    "S4D-Inv": lambda N: s4d_inv(N),
    "S5": lambda N: s5_hippo(N),
    "S6 (S4D-Real init)": lambda N: s4d_real(N),
    "Mega EMA": lambda N: mega_ema(N, dt=1.0),
}
_METHODS = ("zoh", "bilinear", "euler", "backward_diff")
_VIEW = 1.6  # half-width of the plotted window around the unit circle


def eigenvalues(out_dir, quick=False):
    """Eigenvalues of `Ab` for each model, discretization and step, against the unit circle.

    Data: `eigenvalues.csv` with one row per eigenvalue (model, method, dt, Re, Im, |mu|) and
    `eigenvalues.json` with the spectral radius of every (model, method, dt).
    """
    out = Path(out_dir)
    N = 16 if quick else 64
    dts = (0.01, 0.1, 1.0)
    rows, radius = [], {}
    for model, make in _MODELS.items():
        sys = make(N)
        for method in _METHODS:
            for dt in dts:
                Ab, _ = discretize(sys.A, sys.B, dt, method=method)
                mu = Ab if Ab.ndim == 1 else np.linalg.eigvals(Ab)
                mu = mu.astype(complex)
                radius[f"{model} | {method} | dt={dt}"] = float(np.max(np.abs(mu)))
                rows += [(model, method, dt, m.real, m.imag, abs(m)) for m in mu]
    with open(out / "eigenvalues.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "method", "dt", "re", "im", "abs"])
        w.writerows(rows)
    (out / "eigenvalues.json").write_text(json.dumps({"N": N, "dts": dts, "spectral_radius": radius}, indent=1))
    return [str(out / "eigenvalues.csv"), str(out / "eigenvalues.json")] + _draw_eigenvalues(rows, dts, N, out)


def _draw_eigenvalues(rows, dts, N, out):
    fig, axes = new_figure(len(_MODELS), len(_METHODS), size=(2.6, 2.6), sharex=True, sharey=True)
    colors = dict(zip(dts, ("tab:blue", "tab:orange", "tab:red")))
    data = np.array([(r[3], r[4]) for r in rows])
    keys = [(r[0], r[1], r[2]) for r in rows]
    for i, model in enumerate(_MODELS):
        for j, method in enumerate(_METHODS):
            ax = axes[i, j]
            unit_circle(ax)
            hidden = 0
            for dt in dts:
                sel = np.array([k == (model, method, dt) for k in keys])
                pts = data[sel]
                inside = np.all(np.abs(pts) <= _VIEW, axis=1)
                hidden += int(np.sum(~inside))
                ax.scatter(pts[inside, 0], pts[inside, 1], s=6, color=colors[dt], label=f"dt={dt}", zorder=2)
            if hidden:
                ax.text(0.03, 0.03, f"{hidden} outside view", transform=ax.transAxes, fontsize=7, color="tab:red")
            ax.set_xlim(-_VIEW, _VIEW)
            ax.set_ylim(-_VIEW, _VIEW)
            if i == 0:
                ax.set_title(method)
            if j == 0:
                ax.set_ylabel(model, fontsize=8)
    axes[0, 0].legend(fontsize=6, loc="upper left")
    fig.suptitle(f"Eigenvalues of the discretized A (N={N}) against the unit circle")
    return save_figure(fig, out / "eigenvalues")


def stability_regions(out_dir, quick=False):
    """Stability regions `{z = dt*lambda : |phi(z)| < 1}` of each discretization's eigenvalue map.

    Data: `stability_regions.json` with the grid and, per method, the fraction of the left
    half-plane window that is stable and of the right half-plane window that is stable.
    """
    out = Path(out_dir)
    n = 121 if quick else 401
    # the window avoids the poles z = 1/alpha of the gbt maps (z = 1 and z = 2) by construction
    re, im = np.linspace(-3.99, 2.99, n), np.linspace(-3, 3, n)
    Z = re[None, :] + 1j * im[:, None]
    fig, axes = new_figure(1, len(_METHODS), size=(3.0, 3.0), sharey=True)
    summary = {}
    for ax, method in zip(axes[0], _METHODS):
        absmu = np.abs(eigenvalue_map(Z, method))
        stable = absmu < 1
        left, right = Z.real < 0, Z.real > 0
        summary[method] = {
            "stable_fraction_left_half_plane": float(stable[left].mean()),
            "stable_fraction_right_half_plane": float(stable[right].mean()),
        }
        ax.contourf(re, im, stable, levels=[0.5, 1.5], colors=["tab:green"], alpha=0.35)
        ax.contour(re, im, absmu, levels=[1.0], colors="tab:green", linewidths=1.0)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.axhline(0, color="0.85", lw=0.5)
        ax.set_title(method)
        ax.set_xlabel("Re(dt λ)")
        ax.set_aspect("equal")
    axes[0, 0].set_ylabel("Im(dt λ)")
    fig.suptitle("Stability regions |φ(dt λ)| < 1 (shaded)")
    grid = {"re": [float(re[0]), float(re[-1]), n], "im": [float(im[0]), float(im[-1]), n]}
    (out / "stability_regions.json").write_text(json.dumps({"grid": grid, "methods": summary}, indent=1))
    return [str(out / "stability_regions.json")] + save_figure(fig, out / "stability_regions")


def nss(out_dir, quick=False):
    """Non-Stable State: an S4 layer's hidden state under sampling steps other than its training step.

    The model is HiPPO-LegS discretized (bilinear) at the training step `dt`; the input is a
    sum of sines sampled at `t_k = k s dt` for rates `s`. With `s = 1` the runs coincide; with
    `s != 1` the state drifts from the nominal one although the input is the same signal.
    Data: `nss.csv` with, per rate and step, `||x_k||` of the nominal and perturbed runs and
    the relative state error; `nss.json` with the final relative error per rate.
    """
    from ..divergence import divergence_experiment
    from ..sampling import rate_change
    from ..signals import SumOfSines

    out = Path(out_dir)
    dt, L = 0.01, (400 if quick else 2000)
    rates = (0.5, 0.8, 1.0, 1.25, 2.0)
    model = hippo_legs(16 if quick else 32, seed=0)
    res = divergence_experiment(
        model, SumOfSines(B=1, seed=3), [rate_change(L, dt, s) for s in rates], dt, method="bilinear"
    )
    rel = res.metrics["rel_state_error"][0, :, 0]  # (rates, L)
    xnorm = res.nominal_state_norm[0, 0]  # (L,)
    Ab, Bb = discretize(model.A, model.B, dt, method="bilinear")
    sig = SumOfSines(B=1, seed=3)
    pert = [
        np.linalg.norm(simulate(Ab, Bb, model.C, model.D, sig(s * res.t)[0], return_states=True)[1], axis=-1)
        for s in rates
    ]
    with open(out / "nss.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate", "k", "t", "nominal_state_norm", "state_norm", "state_error", "rel_state_error"])
        for j, s in enumerate(rates):
            err = res.metrics["state_error"][0, j, 0]
            w.writerows((s, k, res.t[k], xnorm[k], pert[j][k], err[k], rel[j, k]) for k in range(L))
    summary = {
        "dt": dt,
        "L": L,
        "N": model.N,
        "method": "bilinear",
        "final_rel_state_error": dict(zip(map(str, rates), rel[:, -1].tolist())),
    }
    (out / "nss.json").write_text(json.dumps(summary, indent=1))
    fig, axes = new_figure(1, 2, size=(4.4, 3.0))
    ax = axes[0, 0]
    ax.plot(res.t, xnorm, color="k", lw=1.4, label="training step (s = 1)")
    for j, s in enumerate(rates):
        if s != 1.0:
            ax.plot(res.t, pert[j], lw=0.8, label=f"s = {s}")
    ax.set_xlabel("t = k dt")
    ax.set_ylabel("||x_k||")
    ax.set_title("hidden-state norm")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    for j, s in enumerate(rates):
        if s != 1.0:
            ax.plot(res.t, rel[j], lw=1.0, label=f"s = {s}")
    ax.set_xlabel("t = k dt")
    ax.set_ylabel("||x~_k - x_k|| / ||x_k||")
    ax.set_title("relative state error")
    ax.legend(fontsize=7)
    fig.suptitle(f"NSS: S4 (HiPPO-LegS, N={model.N}) trained at dt={dt}, sampled at s*dt")
    return [str(out / "nss.csv"), str(out / "nss.json")] + save_figure(fig, out / "nss")


def smr_divergence(out_dir, quick=False):
    """Divergence of trained S4D channels with and without their learned SMR kernel.

    The first 16 channels (quick: 4) of the first block of the sines model trained with SMR
    (`tau = 4`; [`reference_run`][smr_stability.experiments.studies.reference_run]) are run on
    a sum of sines sampled under jitter (0.2 and 0.4 dt) and irregular sampling, once through
    their learned gate and once without it. The figure shows the mean over draws and channels
    (bands: the channel-averaged std over draws) of the absolute and the relative state error.
    Data: `smr_divergence.json` with, per schedule, the final and mean absolute and relative
    errors with and without SMR and their ratios (a ratio below 1 means SMR reduced it).
    """
    from ..divergence import divergence_experiment
    from ..nn.checkpoint import load_run
    from ..sampling import irregular, jitter
    from ..signals import SumOfSines

    out = Path(out_dir)
    config, run = studies.reference_run(quick)
    _, model = load_run(run, weights="best")
    channels = model.layers[0].export()[: (4 if quick else 16)]
    L, draws = (200, 16) if quick else (1000, 100)
    sig = SumOfSines(B=2, seed=7)
    curves, summary = (
        {},
        {"run_config": config.to_dict(), "channels": len(channels), "L": L, "draws": draws, "schedules": {}},
    )
    for name, make in (
        ("jitter 0.2", lambda dt: jitter(L, dt, 0.2, draws=draws, seed=1)),
        ("jitter 0.4", lambda dt: jitter(L, dt, 0.4, draws=draws, seed=2)),
        ("irregular", lambda dt: irregular(L, dt, draws=draws, seed=3)),
    ):
        per = {}
        for label in ("without SMR", "with SMR"):
            runs = [
                divergence_experiment(
                    ch.system, sig, make(ch.dt), ch.dt, method=ch.method, smr=ch.smr if label == "with SMR" else None
                )
                for ch in channels
            ]
            per[label] = {
                m: (
                    np.mean([r.metrics[m][0, 0].mean(0) for r in runs], axis=0),
                    np.mean([r.spread[m][0, 0].mean(0) for r in runs], axis=0),
                )
                for m in ("state_error", "rel_state_error")
            }
        curves[name] = per
        summary["schedules"][name] = {
            f"{stat}_{m}_{label.replace(' ', '_')}": float(
                per[label][m][0][-1] if stat == "final" else per[label][m][0].mean()
            )
            for label in per
            for m in ("state_error", "rel_state_error")
            for stat in ("final", "mean")
        }
        summary["schedules"][name] |= {
            f"ratio_mean_{m}": float(per["with SMR"][m][0].mean() / per["without SMR"][m][0].mean())
            for m in ("state_error", "rel_state_error")
        }
    (out / "smr_divergence.json").write_text(json.dumps(summary, indent=1))
    fig, axes = new_figure(2, 3, size=(3.4, 2.6), sharex=True)
    k = np.arange(L)
    for j, (name, per) in enumerate(curves.items()):
        for i, m in enumerate(("state_error", "rel_state_error")):
            ax = axes[i, j]
            for label, color in (("without SMR", "tab:red"), ("with SMR", "tab:blue")):
                mean, std = per[label][m]
                ax.plot(k, mean, color=color, lw=1.0, label=label)
                ax.fill_between(k, np.maximum(mean - std, 0), mean + std, color=color, alpha=0.2, lw=0)
            ax.set_title(f"{name}: {'absolute' if i == 0 else 'relative'}", fontsize=9)
            ax.set_xlabel("k")
    axes[0, 0].set_ylabel("||e_k||")
    axes[1, 0].set_ylabel("||e_k|| / ||x_k||")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Trained S4D channels ({len(channels)}), with and without their learned SMR kernel")
    return [str(out / "smr_divergence.json")] + save_figure(fig, out / "smr_divergence")


def lyapunov_error(out_dir, quick=False):
    """The error Lyapunov function `L_e(k) = e_k^H P e_k` with and without the learned SMR kernel.

    The longest-memory channel (largest `G_inf`) of the trained S4D model of
    [`smr_divergence`][smr_stability.experiments.gallery.smr_divergence] runs under jitter 0.4 dt;
    `P` solves `Ab^H P Ab - P = -I`. Next to `L_e` (mean over draws): the Proposition 1 ball in the
    same units, `lmax(P) (G_inf max_k ||w_k||)^2` (`||e|| <= G_inf sup ||w||`), and the Theorem 1
    envelope `L_e(k0) r^(k - k0)` from `k0 = L/4` with `r = 1 - (1-sigma)/lmax(P)` (sigma = 0.5):
    where `L_e` would go if the hypothesis `||w|| <= gamma* ||e||` held from `k0` on.
    Data: `lyapunov_error.csv` (the curves) and `lyapunov_error.json` (constants, maxima).
    """
    from ..divergence import divergence_experiment
    from ..lyapunov import lyapunov_matrix
    from ..nn.checkpoint import load_run
    from ..proposition1 import error_gain
    from ..sampling import jitter
    from ..signals import SumOfSines

    out = Path(out_dir)
    _, run = studies.reference_run(quick)
    _, model = load_run(run, weights="best")
    channels = model.layers[0].export()
    ch = max(channels, key=lambda c: error_gain(c.Ab, c.Bb.reshape(-1, 1)))
    L, draws = (400, 16) if quick else (4000, 100)  # several time constants of the slowest mode
    lmax = float(np.linalg.eigvalsh(lyapunov_matrix(ch.Ab))[-1])
    rate = 1 - 0.5 / lmax
    res = {
        label: divergence_experiment(
            ch.system,
            SumOfSines(B=1, seed=11),
            jitter(L, ch.dt, 0.4, draws=draws, seed=4),
            ch.dt,
            method=ch.method,
            smr=gate,
        )
        for label, gate in (("without SMR", None), ("with SMR", ch.smr))
    }
    k = np.arange(L)
    summary = {"dt": ch.dt, "lambda_max_P": lmax, "envelope_rate": rate, "channels": len(channels)}
    fig, axes = new_figure(1, 1, size=(6.0, 3.6))
    ax = axes[0, 0]
    rows = []
    for label, color in (("without SMR", "tab:red"), ("with SMR", "tab:blue")):
        r = res[label]
        Le = r.metrics["lyapunov_error"][0, 0, 0]
        ball = lmax * float(r.bounds["iss_bound"][0, 0, 0]) ** 2
        peak = L // 4
        env = Le[peak] * rate ** (k[peak:] - peak)
        ax.semilogy(k, Le, color=color, lw=1.0, label=f"L_e, {label}")
        ax.axhline(ball, color=color, ls=":", lw=0.9, label=f"Prop. 1 ball, {label}")
        ax.semilogy(k[peak:], env, color=color, ls="--", lw=0.8, label=f"Thm 1 envelope from k = L/4, {label}")
        summary[label] = {
            "max_L_e": float(Le.max()),
            "final_L_e": float(Le[-1]),
            "prop1_ball_L_units": ball,
            "G_inf": float(r.bounds["error_gain"][0]),
            "w_sup": float(r.bounds["w_sup"][0, 0, 0]),
        }
        rows.append(Le)
    with open(out / "lyapunov_error.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["k", "L_e_without_SMR", "L_e_with_SMR"])
        w.writerows(zip(k, rows[0], rows[1]))
    (out / "lyapunov_error.json").write_text(json.dumps(summary, indent=1))
    ax.set_xlabel("k")
    ax.set_ylabel("L_e(k) = e^H P e")
    ax.set_title("Error Lyapunov function of the longest-memory trained channel, jitter 0.4 dt", fontsize=9)
    ax.legend(fontsize=6)
    return [str(out / "lyapunov_error.csv"), str(out / "lyapunov_error.json")] + save_figure(
        fig, out / "lyapunov_error"
    )


def v4(out_dir, quick=False):
    """V4 (docs/theory.md §4) on the reference model: Theorem 1 on every block, gate on and off.

    [`verify_checkpoint`][smr_stability.nn.v4.verify_checkpoint] on the sines model trained with SMR
    (`tau = 4`; [`reference_run`][smr_stability.experiments.studies.reference_run]) at its best
    validation epoch, on every perturbed test schedule, `sigma = 0.5`. One row of panels per
    block: the fraction of steps where the hypothesis `||w_k|| <= gamma* ||e_{k-1}||` holds,
    and the final relative error of the layer state, with and without the learned gate.
    Data: `v4.json` (every row of the report).
    """
    from ..nn.v4 import verify_checkpoint

    out = Path(out_dir)
    _, run = studies.reference_run(quick)
    report = verify_checkpoint(run, sigma=0.5, weights="best")
    report.run = Path(run).name  # the run's folder name, not this machine's path
    report.to_json(out / "v4.json")
    blocks = sorted({r["block"] for r in report.rows})
    fig, axes = new_figure(len(blocks), 2, size=(4.2, 2.6))
    for b in blocks:
        report.plot(axes=axes[b], block=b)
        axes[b, 0].set_title(f"block {b}: hypothesis holds", fontsize=8)
        axes[b, 1].set_title(f"block {b}: final relative error", fontsize=8)
    fig.suptitle("V4: Theorem 1 on the trained sines S4D model (sigma = 0.5), gate on and off", fontsize=9)
    return [str(out / "v4.json")] + save_figure(fig, out / "v4")


FIGURES = {
    "nss": nss,
    "smr_divergence": smr_divergence,
    "lyapunov_error": lyapunov_error,
    "eigenvalues": eigenvalues,
    "stability_regions": stability_regions,
    "pendulum_mse": studies.pendulum_mse,
    "sensitivity": studies.sensitivity,
    "tau_sweep": studies.tau_sweep,
    "state_size_sweep": studies.state_size_sweep,
    "threshold_map": threshold_map.threshold_map,
    "training_cost": cost.training_cost,
    "v4": v4,
    "robustness_frontier": methods.robustness_frontier,
    "methods_table": methods.methods_table,
    "smr_mechanism": methods.smr_mechanism,
}


def make_figures(out_dir="figures", only=None, quick=False, progress=True, retrain=False, client=None):
    """Build the figures named in `only` (all by default) into `out_dir`; return written paths.

    The sweep results come from `out_dir/cells` when they are there (and go there when they are
    computed; see [`sweeps`][smr_stability.experiments.sweeps]). The trained models come from
    `out_dir/runs` (committed with the figures) when they are
    there and finished; the others are trained and stored there (see
    [`cached_run`][smr_stability.experiments.sweeps.cached_run]). `retrain` trains every model
    again, in a fresh cache (so no sweep cell is reused either), and replaces the stored runs.

    Every sweep of the build runs on one Dask cluster (`smr_stability.parallel.session`):
    `client` (a `distributed.Client` or a scheduler address), else
    `$SMR_STABILITY_SCHEDULER`, else a local cluster started when the first sweep needs it.
    The `--quick` sweeps run in this process.
    """
    import tempfile

    from tqdm import tqdm

    from ..parallel import session
    from .sweeps import CELLS_ENV, RUNS_ENV, RUNS_MODE_ENV

    names = list(FIGURES) if not only else list(only)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ParameterError(
            f"unknown figure(s) {unknown}; expected names from {sorted(FIGURES)}. See smr-stability figures --list."
        )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    root = Path(out_dir).resolve()
    env = {RUNS_ENV: str(root / "runs"), CELLS_ENV: str(root / "cells"), RUNS_MODE_ENV: "write" if retrain else "read"}
    with tempfile.TemporaryDirectory(prefix="smr_retrain_") as fresh:
        if retrain:
            env["SMR_STABILITY_CACHE"] = fresh
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # read by the local workers too
        try:
            written = []
            with session(client) if not quick or client is not None else contextlib.nullcontext():
                for name in tqdm(names, desc="figures", unit="fig", disable=not progress):
                    fn = FIGURES[name]
                    sweep = "progress" in inspect.signature(fn).parameters  # the sweeps show their own bars
                    written += fn(out_dir, quick=quick, **({"progress": progress} if sweep else {}))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return written
