"""Divergence experiments: how far a fixed-step model's state drifts under perturbed sampling.

A model trained on the grid `t_k = k dt` keeps its `(Ab, Bb)`. Run nominally it sees
`u(t_k)`; under a schedule it sees `u(t~_k)` (docs/theory.md §2). Optionally both runs go
through an SMR gate first (§5). The state error `e_k = x~_k - x_k` obeys the error system
`e_k = Ab e_{k-1} + Bb w_k` with `w_k = u~(t~_k) - u~(t_k)` (the gated inputs), so one run of
the error system per draw gives every error metric; the nominal run is shared by all draws.

Paths. The model is LTI under perturbed sampling (only its inputs change), so the nominal run
uses the kernel and FFT convolution ([`smr_stability.simulate`][smr_stability.simulation.simulate],
`mode='fft'`). The error states are needed as norms at every step: for a diagonal single-input
system a fused compiled scan runs every draw and keeps only running (Welford) moments per step; the
draws are sampled and scanned in pieces of a few MiB, so memory does not grow with the number of
draws (an FFT would need one convolution per mode and the full states); otherwise the states come
from the FFT state kernel `Ab^k Bb`. Variable steps (the exact references) need a scan
([`smr_stability.simulate_variable_step`][smr_stability.simulation.simulate_variable_step]).
"""

from dataclasses import dataclass, field

import numpy as np

from ._scan import divergence_moments
from ._validation import as_scalar_step, check_int, check_path
from .bounds import spectral_radius
from .discretization import discretize
from .errors import InputTypeError, NonFiniteError, ParameterError, ShapeError
from .lyapunov import lyapunov_matrix
from .proposition1 import error_gain
from .sampling import Schedule
from .simulation import simulate, simulate_variable_step
from .smr import smr_gate
from .ssm import as_ssm

__all__ = ["DivergenceResult", "divergence_experiment", "METRICS"]

#: Per-step metrics (mean over Monte-Carlo draws; `spread` holds their standard deviation).
METRICS = ("state_error", "rel_state_error", "output_error", "rel_output_error", "state_variance")
_EXACT = ("exact_error", "rel_exact_error")
_TINY = 1e-12  # relative floor of the denominators of relative errors


@dataclass
class DivergenceResult:
    """Per-step error metrics of a divergence experiment.

    Attributes
    ----------
    t : ndarray, shape (L,)
        Nominal times `k dt`.
    systems, schedules : list of str
        Labels of the axes.
    metrics : dict of str -> ndarray, shape (n_systems, n_schedules, B, L)
        Means over the Monte-Carlo draws of: `state_error` `||e_k||`; `rel_state_error`
        `||e_k|| / ||x_k||`; `output_error` `||y~_k - y_k||`; `rel_output_error` the same
        over the RMS of `||y_k||` over k; `state_variance` `mean_m ||x~_k^m - mean x~_k||^2`
        (trace of the covariance of the perturbed state across draws); with `exact`:
        `exact_error` `||x~_k - x*(t~_k)||` and `rel_exact_error` over `||x*(t~_k)||`;
        when every model is stable, `lyapunov_error` the error Lyapunov function
        `L_e(k) = e_k^H P e_k` of Theorem 1 with `Ab^H P Ab - P = -I`.
    spread : dict of str -> ndarray
        Standard deviation across draws of each metric (none for `state_variance`).
    nominal_state_norm : ndarray, shape (n_systems, B, L)
        `||x_k||` of the nominal run.
    config : dict
        dt, method, draws per schedule, the SMR kernel, the reference, and the error path.
    bounds : dict
        Proposition 1 next to the observation: `error_gain` (n_systems,) `G_inf` of each
        discretized model (inf if `rho(Ab) >= 1`); `w_sup` (n_systems, n_schedules, B)
        `max_k ||w_k||` over draws; `iss_bound` = `G_inf * w_sup`, the ISS error ball;
        `observed_sup` the largest `||e_k||` over draws and steps, never above the ball.
    """

    t: np.ndarray
    systems: list
    schedules: list
    metrics: dict
    spread: dict
    nominal_state_norm: np.ndarray
    config: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)

    def summary(self):
        """Rows `{system, schedule, metric: value, ...}`: final and maximum over k of the mean
        errors (averaged over signals), absolute and relative side by side."""
        rows = []
        for i, s in enumerate(self.systems):
            for j, c in enumerate(self.schedules):
                row = {"system": s, "schedule": c}
                for name in ("iss_bound", "observed_sup"):
                    if name in self.bounds:
                        row[name] = float(np.max(self.bounds[name][i, j]))  # worst signal
                for name, arr in self.metrics.items():
                    curve = arr[i, j].mean(axis=0)  # over signals
                    row[f"final_{name}"] = float(curve[-1])
                    row[f"max_{name}"] = float(curve.max())
                rows.append(row)
        return rows

    def table(self, metrics=("state_error", "rel_state_error", "output_error", "rel_output_error")):
        """The summary as a text table (final values), absolute and relative columns together."""
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        unknown = [m for m in metrics if m not in self.metrics]
        if unknown:
            raise ParameterError(f"metrics: expected names among {sorted(self.metrics)}; found unknown {unknown}.")
        head = f"{'system':18s} {'schedule':26s}" + "".join(f" {m:>17s}" for m in metrics)
        title = f"final step (k = {len(self.t) - 1}), mean over draws and signals; relative next to absolute"
        lines = [title, head, "-" * len(head)]
        for row in self.summary():
            vals = "".join(f" {row['final_' + m]:17.4e}" for m in metrics)
            lines.append(f"{row['system'][:18]:18s} {row['schedule'][:26]:26s}{vals}")
        return "\n".join(lines)

    def plot(self, metric="rel_state_error", system=0, signal=0, ax=None):
        """Curves of `metric` against k per schedule, with a mean +- std band; returns the Axes.

        Draws on `ax`, or on a new Figure detached from pyplot (headless-safe); in Jupyter,
        show it with `result.plot().figure` as a cell's last expression.
        """
        from .plotting import new_figure

        if metric not in self.metrics:
            raise ParameterError(f"metric must be one of {sorted(self.metrics)}; found {metric!r}.")
        if ax is None:
            _, axes = new_figure(1, 1, size=(5.0, 3.2))
            ax = axes[0, 0]
        for j, name in enumerate(self.schedules):
            mean = self.metrics[metric][system, j, signal]
            line = ax.plot(self.t, mean, lw=1.2, label=name)[0]
            if metric in self.spread:
                std = self.spread[metric][system, j, signal]
                ax.fill_between(self.t, np.maximum(mean - std, 0), mean + std, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xlabel("t = k dt")
        ax.set_ylabel(metric)
        ax.set_title(f"{self.systems[system]}")
        ax.legend(fontsize=7)
        return ax

    # -- serialisation ----------------------------------------------------------------
    def _meta(self):
        return {"systems": self.systems, "schedules": self.schedules, "config": self.config}

    def to_npz(self, path):
        """Save every array and the metadata (as JSON text) to `path` (.npz)."""
        import json

        arrays = {f"metric__{k}": v for k, v in self.metrics.items()}
        arrays |= {f"spread__{k}": v for k, v in self.spread.items()}
        arrays |= {f"bound__{k}": v for k, v in self.bounds.items()}
        np.savez_compressed(
            path, t=self.t, nominal_state_norm=self.nominal_state_norm, meta=json.dumps(self._meta()), **arrays
        )

    @classmethod
    def from_npz(cls, path):
        """Load a result saved by [`to_npz`][smr_stability.divergence.DivergenceResult.to_npz]."""
        import json

        if not check_path(path, "path").is_file():
            raise ParameterError(
                f"path: expected an .npz file written by DivergenceResult.to_npz; found no file at {path}."
            )
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            metrics = {k.split("__", 1)[1]: z[k] for k in z.files if k.startswith("metric__")}
            spread = {k.split("__", 1)[1]: z[k] for k in z.files if k.startswith("spread__")}
            bounds = {k.split("__", 1)[1]: z[k] for k in z.files if k.startswith("bound__")}
            return cls(
                z["t"],
                meta["systems"],
                meta["schedules"],
                metrics,
                spread,
                z["nominal_state_norm"],
                meta["config"],
                bounds,
            )

    def to_json(self, path):
        """Save the metadata, the summary and the mean curves (as lists) to `path` (.json)."""
        import json

        doc = self._meta() | {"t": self.t.tolist(), "summary": self.summary()}
        doc["metrics"] = {k: v.tolist() for k, v in self.metrics.items()}
        doc["bounds"] = {k: np.where(np.isfinite(v), v, None).tolist() for k, v in self.bounds.items()}  # inf -> null
        with open(path, "w") as f:
            json.dump(doc, f)


def _check_smr(smr, P):
    """Raise unless `smr` is None or a pair `(m, b)` that [`smr_gate`][smr_stability.smr.smr_gate]
    takes for P channels."""
    if smr is None:
        return
    if not isinstance(smr, (tuple, list)) or len(smr) != 2:
        raise ParameterError(
            f"smr: expected None or a pair (m, b), m of shape ({P}, tau); found {type(smr).__name__} {smr!r}."
        )
    try:
        smr_gate(np.zeros((1, P)), smr[0], smr[1])  # checks the shapes and values of m and b
    except (ShapeError, NonFiniteError, InputTypeError) as e:
        raise type(e)(f"smr: {e}") from None


def divergence_experiment(systems, signal, schedules, dt, method="zoh", alpha=None, *, smr=None, exact=None, refine=16):
    """Run fixed-step models on the nominal grid and on perturbed schedules; measure the drift.

    Parameters
    ----------
    systems : SSM, control.StateSpace, tuple, or a list of them
        Continuous models; each is discretized once with `dt` and `method` and kept fixed.
    signal : signal object
        Continuous-time input with `B` signals and `P` channels (see [`smr_stability.signals`][smr_stability.signals]);
        `P` must equal the systems' input size.
    schedules : Schedule or list of Schedule
        Observation times (and replacements); each has its own number of draws M. All metrics
        are reported over the common length `L = min` of the schedules' lengths.
    dt : float
        The training step: nominal grid `t_k = k dt` and the step of the discretization.
    method, alpha
        As in [`smr_stability.discretize`][smr_stability.discretization.discretize].
    smr : tuple (m, b), optional
        SMR kernel `m` of shape (P, tau) and bias `b`; both runs are gated by
        [`smr_stability.smr_gate`][smr_stability.smr.smr_gate] before the model.
    exact : {None, 'variable_step', 'continuous'}
        Reference for `x*(t~_k)`: 'variable_step' is zoh over the true gaps with each sample
        held (the S5 model); 'continuous' integrates the continuous system driven by the signal
        itself with `refine` zoh substeps per gap, the input taken at substep midpoints
        (error O((gap/refine)^2)). The reference is never gated.
    refine : int
        Substeps per gap for `exact='continuous'`.

    Returns
    -------
    DivergenceResult
    """
    try:
        systems = [
            as_ssm(s)
            for s in (systems if isinstance(systems, (list, tuple)) and not _is_system_tuple(systems) else [systems])
        ]
    except InputTypeError as e:
        raise InputTypeError(f"systems: {e}") from None
    schedules = list(schedules) if isinstance(schedules, (list, tuple)) else [schedules]
    if not schedules or not all(isinstance(c, Schedule) for c in schedules):
        found = "an empty list" if not schedules else ", ".join(sorted({type(c).__name__ for c in schedules}))
        raise InputTypeError(
            f"schedules: expected a Schedule or a non-empty list of them (smr_stability.sampling); found {found}."
        )
    dt = as_scalar_step(dt)
    refine = check_int(refine, "refine")
    if exact not in (None, "variable_step", "continuous"):
        raise ParameterError(f"exact must be None, 'variable_step' or 'continuous'; found {exact!r}.")
    if not (callable(signal) and hasattr(signal, "B") and hasattr(signal, "P")):
        raise InputTypeError(
            f"signal must be a signal object (callable, with attributes B and P, see smr_stability.signals); "
            f"found {type(signal).__name__}. Wrap samples in signals.ArraySignal."
        )
    _check_smr(smr, signal.P)
    for s in systems:
        if s.P != signal.P:
            raise ShapeError(
                f"the signal has P = {signal.P} channels but a system has P = {s.P} inputs; they must match."
            )
    L = min(c.L for c in schedules)
    t = dt * np.arange(L)
    gate = (lambda u: u) if smr is None else (lambda u: smr_gate(u, smr[0], smr[1]))
    u_nom_raw = signal(t)  # (B, L, P)
    u_nom = gate(u_nom_raw)
    discretized = [discretize(s.A, s.B, dt, method=method, alpha=alpha) for s in systems]
    gains = [_gain_or_inf(Ab, Bb) for Ab, Bb in discretized]
    lyapunov = all(np.isfinite(gains))  # P of Theorem 1 exists for every model
    names = list(METRICS) + (list(_EXACT) if exact else []) + (["lyapunov_error"] if lyapunov else [])
    shape = (len(systems), len(schedules), signal.B, L)
    metrics = {k: np.empty(shape) for k in names}
    spread = {k: np.empty(shape) for k in names if k != "state_variance"}
    xnorm = np.empty((len(systems), signal.B, L))
    bounds = {"error_gain": np.empty(len(systems))} | {
        k: np.empty(shape[:3]) for k in ("w_sup", "iss_bound", "observed_sup")
    }
    path = set()
    for i, sys in enumerate(systems):
        (Ab, Bb), gain = discretized[i], gains[i]
        bounds["error_gain"][i] = gain
        P_lyap = lyapunov_matrix(Ab, np.eye(sys.N)) if lyapunov else None
        nominal_mode = "scan" if Ab.ndim == 1 else "fft"  # diagonal: O(B L N) by the compiled scan
        y_nom, x_nom = simulate(
            Ab, Bb, sys.C, sys.D, u_nom, return_states=True, mode=nominal_mode
        )  # (B, L, Q), (B, L, N)
        xnorm[i] = np.linalg.norm(x_nom, axis=-1)
        for j, sched in enumerate(schedules):
            u_per_raw = sched.sample(signal)[:, :, :L, :] if exact else None  # (B, M, L, P)
            if Ab.ndim == 1 and sys.P == 1:  # the fused compiled scan, the draws in pieces
                pieces = _error_inputs(sched, signal, gate, u_nom, L, u_per_raw)
                e, y, variance, sup_e, lyap, w_sup = _scan_moments(Ab, Bb, sys, pieces, sched.M, P_lyap)
                how = "scan"
            else:
                u = sched.sample(signal)[:, :, :L, :] if u_per_raw is None else u_per_raw
                e, y, variance, sup_e, lyap, w_sup = _fft_moments(Ab, Bb, sys, gate(u) - u_nom[:, None], P_lyap)
                how = "fft"
            path.add(how)
            bounds["observed_sup"][i, j] = sup_e
            bounds["w_sup"][i, j] = w_sup
            bounds["iss_bound"][i, j] = gain * w_sup
            cell = _cell_metrics(e, y, variance, xnorm[i], y_nom)
            if lyapunov:
                cell["lyapunov_error"] = lyap
            if exact:
                cell |= _exact_metrics(sys, Ab, Bb, signal, sched, gate(u_per_raw), u_per_raw, L, exact, refine)
            for k, (mean, std) in cell.items():
                metrics[k][i, j] = mean
                if k in spread:
                    spread[k][i, j] = std
    config = {
        "dt": float(dt),
        "method": method,
        "alpha": alpha,
        "draws": [c.M for c in schedules],
        "L": L,
        "signals": signal.B,
        "exact": exact,
        "refine": refine if exact == "continuous" else None,
        "smr": None if smr is None else {"m": np.asarray(smr[0]).tolist(), "b": np.asarray(smr[1]).tolist()},
        "error_path": sorted(path),
    }
    labels = [s.name or f"system{i}" for i, s in enumerate(systems)]
    return DivergenceResult(t, labels, [c.name for c in schedules], metrics, spread, xnorm, config, bounds)


def _gain_or_inf(Ab, Bb):
    """Proposition 1's G_inf (its guaranteed upper value), or inf when rho(Ab) >= 1 (no ISS ball)."""
    if spectral_radius(Ab) >= 1:
        return np.inf
    return error_gain(Ab, Bb, return_info=True).upper


def _is_system_tuple(x):
    """A tuple (A, B, C[, D]) of arrays is one system, not a list of systems."""
    return isinstance(x, tuple) and len(x) in (3, 4) and all(isinstance(a, (np.ndarray, list, float, int)) for a in x)


_PIECE_VALUES = 2**19  # samples per piece of draws in the scan path (4 MiB of float64: stays in cache)


def _error_inputs(sched, signal, gate, u_nom, L, u_raw=None):
    """Yield the sampling errors `w = gate(u~) - gate(u)` of shape (B, m, L), draws in pieces.

    Each piece of draws is sampled on its own, so memory is O(piece) and the buffers stay in
    cache; noise replacement needs every draw's noise at once, so it comes in one piece, as does
    `u_raw` when the caller already holds all the samples.
    """
    if u_raw is not None or sched.fill == "noise":
        u = sched.sample(signal)[:, :, :L] if u_raw is None else u_raw
        yield (gate(u) - u_nom[:, None])[..., 0]
        return
    per = max(1, _PIECE_VALUES // (signal.B * L))
    for lo in range(0, sched.M, per):
        w = gate(sched.sample(signal, draws=slice(lo, lo + per))[:, :, :L])  # (B, m, L, 1), a new array
        w -= u_nom[:, None]  # nothing else reads the samples: w in their place
        yield w[..., 0]


def _scan_moments(Ab, Bb, sys, pieces, M, Pl):
    """Moments over draws of the error system of a diagonal single-input model, by the compiled scan.

    `pieces` yields w of shape (B, m, L); the per-piece Welford moments are merged (Chan et
    al.). Returns the mean and std over draws of ||e_k|| and ||y~_k - y_k|| (each (B, L)), the
    trace of the covariance of e_k across draws (B, L), max ||e_k|| and max ||w_k|| (B,), and the
    mean and std of the Lyapunov value (or None).

    The covariance is `mean_m ||e_k||^2 - ||ebar_k||^2` with `ebar_k` the error system driven
    by the mean of w over draws (the mean error, by linearity): exact up to rounding relative to
    `mean_m ||e_k||^2`, and 0 for a single draw.
    """
    C = np.asarray(sys.C, dtype=complex)
    pw = np.zeros(sys.N) if Pl is None else np.real(np.diag(Pl)).copy()  # P is diagonal here (Q = I)
    mu, bw = Ab.astype(complex), Bb[:, 0].astype(complex)
    stats = {k: _Welford() for k in ("e", "y", "lyap")}
    sum_sq, sup_e, w_sum, w_sup, acc = 0.0, 0.0, 0.0, 0.0, None
    for w in pieces:
        B, m, L = w.shape
        n_tasks = max(1, min(m, 8))
        if acc is None or acc.shape[1] != n_tasks:
            acc = np.zeros((B, n_tasks, 8, L))
        else:
            acc.fill(0.0)
        divergence_moments(mu, bw, C, sys.D[:, 0], pw, w, n_tasks, acc)
        counts = np.diff(np.arange(n_tasks + 1) * m // n_tasks)  # draws per task
        for key, col in (("e", 0), ("y", 2), ("lyap", 6)):
            stats[key].merge(counts, acc[:, :, col], acc[:, :, col + 1])
        sum_sq = sum_sq + acc[:, :, 4].sum(axis=1)
        sup_e = np.maximum(sup_e, acc[:, :, 5].max(axis=(1, 2)))
        w_sum = w_sum + w.sum(axis=1)
        w_sup = np.maximum(w_sup, np.maximum(w.max(axis=(1, 2)), -w.min(axis=(1, 2))))
    if M == 1:
        variance = np.zeros_like(sum_sq)
    else:
        _, e_bar = simulate(Ab, Bb, sys.C, sys.D, (w_sum / M)[..., None], return_states=True, mode="scan")
        variance = np.maximum(sum_sq / M - np.sum(np.abs(e_bar) ** 2, axis=-1), 0.0)
    lyap = None if Pl is None else stats["lyap"].result()
    return stats["e"].result(), stats["y"].result(), variance, sup_e, lyap, w_sup


def _fft_moments(Ab, Bb, sys, w, Pl):
    """As `_scan_moments` for any model, from the states of the FFT state kernel; w (B, M, L, P)."""
    wbar = w.mean(axis=1)  # (B, L, P)
    y_e, e = simulate(Ab, Bb, sys.C, sys.D, w, return_states=True, mode="fft")  # (B, M, L, Q), (B, M, L, N)
    _, c = simulate(Ab, Bb, sys.C, sys.D, w - wbar[:, None], return_states=True, mode="fft")
    ye = np.sqrt(np.sum(y_e**2, axis=-1))
    en = np.linalg.norm(e, axis=-1)  # (B, M, L)
    lyap = None if Pl is None else _mean_std(np.einsum("...n,nm,...m->...", e.conj(), Pl, e).real)
    variance = np.mean(np.sum(np.abs(c) ** 2, -1), axis=1)
    w_sup = np.sqrt(np.max(np.sum(w**2, axis=-1), axis=(1, 2)))
    return _mean_std(en), _mean_std(ye), variance, en.max(axis=(1, 2)), lyap, w_sup


class _Welford:
    """Count, mean and M2 (sum of squared deviations) per entry, merged group by group.

    `merge` takes groups along axis 1 (their counts, means and M2s) and folds them in by
    Chan et al.'s pairwise rule, so the result does not depend on how the draws were grouped
    beyond rounding.
    """

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def merge(self, counts, mean, m2):
        for g, n in enumerate(counts):
            if n == 0:
                continue
            total = self.n + n
            delta = mean[:, g] - self.mean
            self.mean = self.mean + delta * (n / total)
            self.m2 = self.m2 + m2[:, g] + delta**2 * (self.n * n / total)
            self.n = total

    def result(self):
        """Mean and (population) standard deviation."""
        return self.mean, np.sqrt(self.m2 / self.n)


def _mean_std(x):
    """Mean and (two-pass) standard deviation over the draws, axis 1."""
    mean = x.mean(axis=1)
    return mean, np.sqrt(np.mean((x - mean[:, None]) ** 2, axis=1))


def _floor(norms):
    """Denominators of relative errors: norms floored at 1e-12 of their maximum over k."""
    return np.maximum(norms, _TINY * norms.max(axis=-1, keepdims=True) + np.finfo(float).tiny)


def _cell_metrics(e, y, variance, xnorm, y_nom):
    """The metrics of one (system, schedule) cell from the draw moments of ||e_k|| and ||y~_k - y_k||.

    The denominators of the relative errors (`||x_k||` and the RMS output norm) do not
    depend on the draw, so relative means and spreads are the absolute ones divided by them.
    """
    den_x = _floor(xnorm)  # (B, L)
    den_y = np.maximum(np.sqrt(np.mean(np.sum(y_nom**2, axis=-1), axis=-1)), np.finfo(float).tiny)[:, None]  # (B, 1)
    return {
        "state_error": e,
        "rel_state_error": (e[0] / den_x, e[1] / den_x),
        "output_error": y,
        "rel_output_error": (y[0] / den_y, y[1] / den_y),
        "state_variance": (variance, None),
    }


def _exact_metrics(sys, Ab, Bb, signal, sched, u_gated, u_raw, L, exact, refine):
    """||x~_k - x*(t~_k)|| and its relative size, mean and std over draws."""
    _, x_per = simulate(Ab, Bb, sys.C, sys.D, u_gated, return_states=True)  # (B, M, L, N)
    gaps = sched.gaps[:, :L]  # (M, L)
    if exact == "variable_step":
        _, x_star = simulate_variable_step(sys, u_raw, gaps, return_states=True)
    else:
        x_star = _continuous_states(sys, signal, sched.times[:, :L], gaps, refine)
    err = np.linalg.norm(x_per - x_star, axis=-1)  # (B, M, L)
    rel = err / _floor(np.linalg.norm(x_star, axis=-1))  # x* differs per draw
    return {"exact_error": _mean_std(err), "rel_exact_error": _mean_std(rel)}


def _continuous_states(sys, signal, times, gaps, refine):
    """x(t~_k) of the continuous system driven by the signal: `refine` zoh substeps per gap,
    each holding the signal's value at the substep midpoint. Returns (B, M, L, N)."""
    M, L = times.shape
    h = gaps / refine  # (M, L)
    offsets = np.arange(refine) + 0.5 - refine  # substep midpoints before each t~_k, in units of h
    t_fine = (times[..., None] + offsets * h[..., None]).reshape(M, L * refine)
    u_fine = signal(t_fine)  # (B, M, L*refine, P)
    h_fine = np.repeat(h, refine, axis=-1)  # (M, L*refine)
    out = np.empty((signal.B, M, L, sys.N), dtype=complex if sys.is_complex else float)
    for m in range(M):  # one draw at a time keeps the fine states small
        _, x = simulate_variable_step(sys, u_fine[:, m], h_fine[m], return_states=True)
        out[:, m] = x[:, refine - 1 :: refine]
    return out
