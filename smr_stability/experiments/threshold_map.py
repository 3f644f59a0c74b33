"""Figure 9: where the Theorem 1 hypothesis holds for a trained model, in the (dt, jitter) plane.

The sweep has one cell per (step scale, jitter magnitude);
[`threshold_cell`][smr_stability.experiments.threshold_map.threshold_cell] evaluates a cell for
every channel, with and without the learned SMR gate, and
[`threshold_map`][smr_stability.experiments.threshold_map.threshold_map] runs the cells through
[`smr_stability.experiments.sweeps.run_cells`][smr_stability.experiments.sweeps.run_cells]
(parallel, cached, resumable), then saves and draws the map.
"""

import csv
import json
from pathlib import Path

import numpy as np

from ..discretization import discretize
from ..errors import ParameterError, ShapeError
from ..plotting import new_figure, save_figure
from ..sampling import jitter, uniform
from ..signals import SumOfSines
from ..theorem1 import channel_measures

__all__ = ["threshold_map", "threshold_cell"]

SIGMA = 0.5  # the sigma of V4 (docs/theory.md §4): gamma*(0.5) leaves half of the decrease margin
LEVEL = 0.5  # contour level of the drawn map: the hypothesis holds at half of the steps


def _sines(seed, times):
    """Draw `d` of `SumOfSines(B=draws, seed=seed)` at its own times `times[d]`: (draws, L, 1)."""
    from ..nn.sines import sines_values

    return sines_values(SumOfSines(B=times.shape[0], seed=seed), np.arange(times.shape[0]), times)[0]


def _measure(Ab, Bb, u_nom, u_per, gate, sigma):
    """Hypothesis fraction and errors of one discretized channel (V4's measures); inputs (draws, L, 1)."""
    found = channel_measures(Ab, Bb, u_nom, u_per, gate, sigma, iss=False)
    return {
        "fraction": float(found["holds"].mean()),
        "gamma": found["gamma"],
        "final_abs_error": float(found["final_abs_error"].mean()),
        "final_rel_error": float(found["final_rel_error"].mean()),
        "max_L_e": found["max_L_e"],
    }


def threshold_cell(channels, scale, magnitude, L, draws, sigma=SIGMA, seed=0):
    """One cell of the threshold map: every channel at step `scale * dt_train` and jitter `magnitude`.

    Parameters
    ----------
    channels : list of dict
        Per channel: `A` = [Re, Im] of the diagonal continuous A (N,), `B` = [Re, Im] of B
        (N,), `dt` (training step), `method`, `m` (tau,) and `b` of the SMR gate (or None).
    scale : float
        The step is `dt = scale * dt_train`.
    magnitude : float in [0, 1/2)
        Uniform jitter `|delta_k| <= magnitude * dt`.
    L, draws : int
    sigma : float in (0, 1)
    seed : int
        Seeds the signals (`seed`) and the offsets (`seed + 1`): every cell sees the same
        signals and the same offsets in units of `dt`.

    Returns
    -------
    dict
        `{"off": [...], "on": [...]}`: per channel the dict of `_measure` (`fraction`,
        `gamma`, `final_abs_error`, `final_rel_error`, `max_L_e`); `"on"` only for
        channels with a gate.

    Examples
    --------
    >>> ch = {"A": [[-0.5, -0.5], [1.0, -1.0]], "B": [[1.0, 1.0], [0.0, 0.0]], "dt": 0.1,
    ...       "method": "zoh", "m": [0.5, 0.0], "b": 1.0}
    >>> res = threshold_cell([ch], scale=1.0, magnitude=0.0, L=50, draws=2)
    >>> res["off"][0]["fraction"], res["on"][0]["fraction"]  # no jitter: w = 0, holds everywhere
    (1.0, 1.0)
    """
    out = {"off": [], "on": []}
    for ch in channels:
        A = np.asarray(ch["A"][0]) + 1j * np.asarray(ch["A"][1])
        B = (np.asarray(ch["B"][0]) + 1j * np.asarray(ch["B"][1]))[:, None]
        dt = scale * ch["dt"]
        Ab, Bb = discretize(A, B, dt, method=ch["method"])
        u_nom = _sines(seed, uniform(L, dt, draws=draws).times)
        u_per = _sines(seed, jitter(L, dt, magnitude, draws=draws, seed=seed + 1).times)
        out["off"].append(_measure(Ab, Bb, u_nom, u_per, None, sigma))
        if ch["m"] is not None:
            gate = (np.asarray(ch["m"])[None, :], np.asarray([ch["b"]]))
            out["on"].append(_measure(Ab, Bb, u_nom, u_per, gate, sigma))
    return out


def _payload(ch):
    """An exported channel as JSON values (the cell's identity includes the trained parameters)."""
    A, B = np.asarray(ch.system.A), np.asarray(ch.system.B)[:, 0]
    if A.ndim != 1 or ch.system.B.shape[1] != 1:
        raise ShapeError(
            f"threshold_map: expected diagonal SISO channels (S4D), A (N,) and B (N, 1); found A "
            f"{A.shape}, B {ch.system.B.shape}. Train the model with layer='s4d'."
        )
    m, b = (None, None) if ch.smr is None else (np.asarray(ch.smr[0])[0].tolist(), float(np.asarray(ch.smr[1])[0]))
    return {
        "A": [A.real.tolist(), A.imag.tolist()],
        "B": [B.real.tolist(), B.imag.tolist()],
        "dt": float(ch.dt),
        "method": ch.method,
        "m": m,
        "b": b,
    }


def threshold_map(out_dir, quick=False, progress=True):
    """Threshold map of Theorem 1 for the trained S4D model with SMR, in the (dt, jitter) plane.

    The first-layer channels of the sines model trained with SMR (`tau = 4`, the model of
    figures 2 and 3; quick: the first 4 channels) are re-discretized at `dt = s dt_train`
    (`s` on a log grid from 0.1 to 10: 9 values, quick 3) and fed a sum of sines sampled on
    the nominal grid `t_k = k dt` and on a jittered grid `t~_k = k dt + delta_k`,
    `delta_k ~ U[-j dt, j dt]` (`j` in 0, 0.05, 0.1, 0.2, 0.3, 0.45; quick 0, 0.1, 0.3),
    `L = 1000` steps and 16 draws (quick: 200 and 8), one `SumOfSines` per draw
    (frequencies 0.2 to 2 per unit time, seed 0; the offsets, seed 1, are the same in units of
    `dt` in every cell).
    With docs/theory.md §4's indexing, `w_k = u(t~_k) - u(k dt)` (both gated first when the gate
    is on) and

    ```text
    e_k = Ab e_{k-1} + Bb w_k,  hypothesis  ||w_k|| <= gamma* ||e_{k-1}||,
    ```

    with `gamma* = gamma_star(Ab, Bb, sigma=0.5)` (Q = I, as V4). Per cell and gate:

    - `fraction`: the fraction of steps `k >= 1` where the hypothesis holds, mean over
      channels and draws (at `j = 0`, `w = 0` and it holds everywhere);
    - `gamma*(dt)`: median and min over channels (and per channel);
    - the final relative error `||e_{L-1}|| / ||x_{L-1}||` and absolute error `||e_{L-1}||`
      (mean over draws, median over channels) and `max_k L_e(k)`, `L_e = e^H P e` (median
      over channels).

    Parameters
    ----------
    out_dir : str or Path
    quick : bool
        Small grid and model, for tests (a few seconds beyond the cached training).
    progress : bool
        Show a progress bar over the cells (never with `quick`).

    Returns
    -------
    list of str
        `threshold_map.json` (grid, fractions, gamma*, errors, run config, sigma),
        `threshold_map.csv` (one row per cell and gate), `threshold_map.png` and `.pdf`.

    Notes
    -----
    The cells run through `run_cells("threshold_map", threshold_cell, cells)`: in parallel,
    each cached as it finishes, so an interrupted map resumes without recomputing finished
    cells. A cell's identity includes the trained parameters, so retraining gives new cells.
    The map's contour is drawn at fraction 0.5 (the hypothesis holds at half of the steps), over
    the rows `j > 0`; Theorem 1's guarantee itself needs fraction 1.

    The hypothesis is homogeneous: `e` is linear in `w`, so scaling every `w_k` by `c`
    scales both sides by `|c|`. Since `w_k ~ u'(k dt) delta_k` for small jitter and every
    cell uses the same offsets in units of `dt`, the fraction hardly depends on `j > 0`: it
    changes with `j` only through the curvature of `u` and the nonlinearity of the gate, and
    jumps to 1 at `j = 0`. Likewise a gate that is nearly constant scales `w` and `e`
    alike and leaves the fraction unchanged; compare the absolute and relative errors too.
    """
    from ..nn.checkpoint import load_run
    from .studies import reference_run
    from .sweeps import run_cells

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config, run = reference_run(quick)
    _, model = load_run(run, weights="best")
    exported = model.layers[0].export()[: (4 if quick else None)]
    if any(ch.smr is None for ch in exported):
        raise ParameterError(
            "threshold_map: expected a model trained with SMR (the map's gate-on half); found "
            "channels without a gate. Train with smr=True."
        )
    channels = [_payload(ch) for ch in exported]
    scales = np.logspace(-1, 1, 3 if quick else 9).tolist()
    jitters = [0.0, 0.1, 0.3] if quick else [0.0, 0.05, 0.1, 0.2, 0.3, 0.45]
    L, draws = (200, 8) if quick else (1000, 16)
    cells = [
        {"channels": channels, "scale": s, "magnitude": j, "L": L, "draws": draws, "sigma": SIGMA, "seed": 0}
        for j in jitters
        for s in scales
    ]
    results = run_cells("threshold_map", threshold_cell, cells, progress=progress and not quick)
    reduce = {"fraction": np.mean, "final_rel_error": np.median, "final_abs_error": np.median, "max_L_e": np.median}
    gates = {}
    for gate in ("off", "on"):
        # values[key]: (jitters, scales, channels), cells ordered jitter-major
        values = {
            key: np.array([[c[key] for c in r[gate]] for r in results]).reshape(len(jitters), len(scales), -1)
            for key in reduce
        }
        gates[gate] = {key: f(values[key], axis=-1) for key, f in reduce.items()}
    gamma = np.array([[c["gamma"] for c in results[k]["off"]] for k in range(len(scales))])  # (scales, channels)
    data = {
        "sigma": SIGMA,
        "contour_level": LEVEL,
        "L": L,
        "draws": draws,
        "channels": len(channels),
        "dt_train": [c["dt"] for c in channels],
        "method": channels[0]["method"],
        "run_config": config.to_dict(),
        "scales": scales,
        "jitters": jitters,
        "layout": "gates[gate][key][jitter index][scale index]",
        "gamma_star": {
            "median": np.median(gamma, axis=1).tolist(),
            "min": gamma.min(axis=1).tolist(),
            "per_channel": gamma.T.tolist(),
        },
        "gates": {g: {k: v.tolist() for k, v in d.items()} for g, d in gates.items()},
    }
    (out / "threshold_map.json").write_text(json.dumps(data, indent=1))
    with open(out / "threshold_map.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "dt_scale",
                "jitter",
                "smr",
                "hypothesis_fraction",
                "gamma_star_median",
                "gamma_star_min",
                "final_rel_error_median",
                "final_abs_error_median",
                "max_L_e_median",
            ]
        )
        for i, j in enumerate(jitters):
            for k, s in enumerate(scales):
                for g, d in gates.items():
                    w.writerow(
                        [
                            s,
                            j,
                            g,
                            d["fraction"][i, k],
                            data["gamma_star"]["median"][k],
                            data["gamma_star"]["min"][k],
                            d["final_rel_error"][i, k],
                            d["final_abs_error"][i, k],
                            d["max_L_e"][i, k],
                        ]
                    )
    return [str(out / "threshold_map.json"), str(out / "threshold_map.csv")] + _draw(data, gates, gamma, out)


def _edges(x, log):
    x = np.log10(x) if log else np.asarray(x, dtype=float)
    mid = (x[1:] + x[:-1]) / 2
    e = np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])
    return 10**e if log else e


def _draw(data, gates, gamma, out):
    scales, jitters = np.array(data["scales"]), np.array(data["jitters"])
    fig, axes = new_figure(1, 3, size=(3.4, 3.0))
    mesh = None
    for ax, (g, title) in zip(axes[0], (("off", "without SMR"), ("on", "with learned SMR"))):
        frac = gates[g]["fraction"]
        mesh = ax.pcolormesh(_edges(scales, True), _edges(jitters, False), frac, vmin=0, vmax=1, cmap="viridis")
        moving = jitters > 0  # the row j = 0 holds trivially (w = 0): no contour across it
        if moving.sum() > 1 and frac[moving].min() < LEVEL < frac[moving].max():
            ax.contour(scales, jitters[moving], frac[moving], levels=[LEVEL], colors="w", linewidths=1.2)
        for i, j in enumerate(jitters):
            for k, s in enumerate(scales):
                ax.text(
                    s,
                    j,
                    f"{frac[i, k]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="k" if frac[i, k] > 0.6 else "w",
                )
        ax.set_xscale("log")
        ax.set_yticks(jitters)
        ax.set_xlabel("dt / dt_train")
        ax.set_title(title, fontsize=9)
    axes[0, 0].set_ylabel("jitter j (units of dt)")
    fig.colorbar(mesh, ax=axes[0, :2], shrink=0.8, label="fraction of steps k >= 1")
    ax = axes[0, 2]
    dt_train = np.array(data["dt_train"])
    for h in range(gamma.shape[1]):
        ax.loglog(scales * dt_train[h], gamma[:, h], color="0.6", lw=0.7, marker=".", ms=3)
        ax.loglog(dt_train[h], np.interp(0.0, np.log(scales), gamma[:, h]), "x", color="tab:red", ms=4)
    ax.plot([], [], color="0.6", lw=0.7, label="one channel")
    ax.plot([], [], "x", color="tab:red", label="training dt")
    ax.set_xlabel("dt")
    ax.set_ylabel(f"γ*(σ = {data['sigma']})")
    ax.set_title("Theorem 1 threshold γ* against the step", fontsize=8)
    ax.legend(fontsize=6)
    fig.suptitle(
        f"Where ||w_k|| <= γ* ||e_(k-1)|| holds: trained S4D ({data['channels']} channels, {data['method']}), "
        f"σ = {data['sigma']}, L = {data['L']}, {data['draws']} draws",
        fontsize=9,
    )
    return save_figure(fig, out / "threshold_map")
