"""The figures of the toolkit, each a function that computes its data, saves it, and draws it.

Every figure writes ``NAME.png``, ``NAME.pdf`` and its data (``NAME.csv`` or ``NAME.json``) into
the output folder, so nothing has to be read off a picture. ``FIGURES`` maps names to
functions ``f(out_dir, quick=False) -> list of written paths``; the command
``smr-stability figures`` runs them.
"""

import csv
import json
from pathlib import Path

import numpy as np

from .discretization import discretize, eigenvalue_map
from .simulation import simulate
from .plotting import new_figure, save_figure, unit_circle
from .systems import hippo_legs, mega_ema, s4d_inv, s4d_lin, s4d_real, s5_hippo

__all__ = ["FIGURES", "eigenvalues", "nss", "stability_regions", "make_figures"]

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
    """Eigenvalues of ``Ab`` for each model, discretization and step, against the unit circle.

    Data: ``eigenvalues.csv`` with one row per eigenvalue (model, method, dt, Re, Im, |mu|) and
    ``eigenvalues.json`` with the spectral radius of every (model, method, dt).
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
    """Stability regions ``{z = dt*lambda : |phi(z)| < 1}`` of each discretization's eigenvalue map.

    Data: ``stability_regions.json`` with the grid and, per method, the fraction of the left
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

    The model is HiPPO-LegS discretized (bilinear) at the training step ``dt``; the input is a
    sum of sines sampled at ``t_k = k s dt`` for rates ``s``. With ``s = 1`` the runs coincide; with
    ``s != 1`` the state drifts from the nominal one although the input is the same signal.
    Data: ``nss.csv`` with, per rate and step, ``||x_k||`` of the nominal and perturbed runs and
    the relative state error; ``nss.json`` with the final relative error per rate.
    """
    from .divergence import divergence_experiment
    from .sampling import rate_change
    from .signals import SumOfSines

    out = Path(out_dir)
    dt, L = 0.01, (400 if quick else 2000)
    rates = (0.5, 0.8, 1.0, 1.25, 2.0)
    model = hippo_legs(16 if quick else 32, seed=0)
    res = divergence_experiment(model, SumOfSines(B=1, seed=3), [rate_change(L, dt, s) for s in rates], dt, method="bilinear")
    rel = res.metrics["rel_state_error"][0, :, 0]  # (rates, L)
    xnorm = res.nominal_state_norm[0, 0]  # (L,)
    Ab, Bb = discretize(model.A, model.B, dt, method="bilinear")
    sig = SumOfSines(B=1, seed=3)
    pert = [np.linalg.norm(simulate(Ab, Bb, model.C, model.D, sig(s * res.t)[0], return_states=True)[1], axis=-1) for s in rates]
    with open(out / "nss.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate", "k", "t", "nominal_state_norm", "state_norm", "state_error", "rel_state_error"])
        for j, s in enumerate(rates):
            err = res.metrics["state_error"][0, j, 0]
            w.writerows((s, k, res.t[k], xnorm[k], pert[j][k], err[k], rel[j, k]) for k in range(L))
    summary = {"dt": dt, "L": L, "N": model.N, "method": "bilinear", "final_rel_state_error": dict(zip(map(str, rates), rel[:, -1].tolist()))}
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


FIGURES = {"nss": nss, "eigenvalues": eigenvalues, "stability_regions": stability_regions}


def make_figures(out_dir="figures", only=None, quick=False, progress=True):
    """Build the figures named in ``only`` (all by default) into ``out_dir``; return written paths."""
    from tqdm.auto import tqdm

    names = list(FIGURES) if not only else list(only)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; choose from {sorted(FIGURES)}.")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for name in tqdm(names, desc="figures", unit="fig", disable=not progress):
        written += FIGURES[name](out_dir, quick=quick)
    return written
