"""Stability reports of discretized models (the `smr-stability analyze` command).

[`stability_report`][smr_stability.stability.stability_report] reports one model;
[`analyze`][smr_stability.stability.analyze] every channel of a system, of a sequence of them or of
exported channels (a trained layer's, an imported model's), with the worst channel per quantity
([`worst_channels`][smr_stability.stability.worst_channels]). The torch layer adds run directories
([`smr_stability.nn.analyze`][smr_stability.nn.run_analysis.analyze]). The quantities are those of
`docs/theory.md` §3, §4 and §6.
"""

from pathlib import Path

import numpy as np

from ._validation import as_scalar_step, check_int, check_real
from .discretization import discretize
from .errors import ParameterError, ShapeError
from .ssm import SSM, as_ssm
from .systems import hippo_legs, mega_ema, random_stable, s4d_inv, s4d_lin, s4d_real, s5_hippo

__all__ = ["MODELS", "REPORT_KEYS", "WORST", "analyze", "load_system", "stability_report", "worst_channels"]

#: Model names of the command line and their constructors `f(N, dt, seed)`.
MODELS = {
    "hippo-legs": lambda N, dt, seed: hippo_legs(N, seed=seed),
    "s4d-lin": lambda N, dt, seed: s4d_lin(N, seed=seed),
    "s4d-inv": lambda N, dt, seed: s4d_inv(N, seed=seed),
    "s4d-real": lambda N, dt, seed: s4d_real(N, seed=seed),
    "s5": lambda N, dt, seed: s5_hippo(N, seed=seed),
    "mega-ema": lambda N, dt, seed: mega_ema(N, dt=dt, seed=seed),
    "random": lambda N, dt, seed: random_stable(N, seed=seed),
}


def stability_report(model, N=64, dt=0.01, method="bilinear", sigma=0.5, seed=0):
    """Spectral and Lyapunov quantities of one model discretized with `dt` and `method`.

    Parameters
    ----------
    model : str or SSM
        A name of `MODELS` (built with `N` and `seed`; Mega's EMA is inverted at `dt`)
        or a continuous system.
    N, dt, method, sigma, seed
        State size, step, discretization, Theorem 1's sigma in (0, 1), seed.

    Returns
    -------
    dict
        `model, N, dt, method, sigma`; `spectral_radius` of Ab; `error_gain` G_inf
        (Proposition 1); `gamma_star` (Theorem 1, Q = I); `kappa_P` the condition number of
        P solving `Ab^H P Ab - P = -I`; `transient_bound` `sqrt(kappa_P)`, an upper bound on
        `sup_k ||Ab^k||`; `kreiss_lower_bound`, a lower bound on it; `euler_dt_limit`
        `min_i -2 Re(lambda_i)/|lambda_i|^2` of the continuous A. Quantities that exist only
        for a stable `Ab` are None when `rho(Ab) >= 1`.
    """
    sigma = _check_sigma(sigma)
    if isinstance(model, str):
        if model not in MODELS:
            raise ParameterError(
                f"model: expected one of {', '.join(MODELS)}; found {model!r}. Pass a name of MODELS or an SSM."
            )
        name, sys = model, MODELS[model](N, as_scalar_step(dt), seed)
    else:
        sys = as_ssm(model)
        name = sys.name or "custom"
    dt = as_scalar_step(dt)
    Ab, Bb = discretize(sys.A, sys.B, dt, method=method)
    return _report(name, sys, dt, method, sigma, Ab, Bb)


def _check_sigma(sigma):
    return check_real(sigma, "sigma (Theorem 1's sigma, expected in (0, 1))", 0.0, 1.0, open_lo=True, open_hi=True)


def _report(name, sys, dt, method, sigma, Ab, Bb):
    """The quantities of [`stability_report`][smr_stability.stability.stability_report] for a system
    discretized as `(Ab, Bb)`."""
    from .bounds import euler_dt_limit, gamma_star, kreiss_constant, spectral_radius
    from .lyapunov import lyapunov_matrix
    from .proposition1 import error_gain

    rho = float(spectral_radius(Ab))
    report = {"model": name, "N": sys.N, "dt": float(dt), "method": method, "sigma": float(sigma)}
    report["spectral_radius"] = rho
    stable = rho < 1
    if stable:
        eig = np.linalg.eigvalsh(lyapunov_matrix(Ab, np.eye(sys.N)))
        kappa = float(eig[-1] / eig[0])
    report["error_gain"] = float(error_gain(Ab, Bb)) if stable else None
    report["gamma_star"] = float(gamma_star(Ab, Bb, sigma)) if stable else None
    report["kappa_P"] = kappa if stable else None
    report["transient_bound"] = float(np.sqrt(kappa)) if stable else None
    report["kreiss_lower_bound"] = float(kreiss_constant(Ab)) if stable else None
    report["euler_dt_limit"] = float(euler_dt_limit(sys.A)) if sys.is_stable() else None
    return report


#: The quantities of a channel's report, in the order of the table.
REPORT_KEYS = (
    "spectral_radius",
    "error_gain",
    "gamma_star",
    "kappa_P",
    "transient_bound",
    "kreiss_lower_bound",
    "euler_dt_limit",
)
#: Per quantity, which end is the worst: the largest spectral radius, error gain, kappa_P and
#: transient bounds; the smallest gamma* (least margin) and Euler step limit.
WORST = {key: ("min" if key in ("gamma_star", "euler_dt_limit") else "max") for key in REPORT_KEYS}


def _is_exported(x):
    """A discretized channel: an `ExportedChannel` of the torch layer, or anything with its
    fields `system, dt, method, Ab, Bb`."""
    return all(hasattr(x, a) for a in ("system", "dt", "method", "Ab", "Bb"))


def _is_system(x):
    return isinstance(x, SSM) or type(x).__name__ == "StateSpace" or _is_exported(x)


def analyze(target, dt=None, method="bilinear", sigma=0.5, *, layer=0):
    """Stability report of every channel of `target`, and the worst channel per quantity.

    Parameters
    ----------
    target : SSM, exported channel, or a sequence of them
        An [`SSM`][smr_stability.ssm.SSM] (or what [`as_ssm`][smr_stability.ssm.as_ssm] takes), an
        exported channel (`smr_stability.nn.ExportedChannel`: a trained layer's channel,
        already discretized with its own `dt` and method), or a list of either. A run
        directory is read by [`smr_stability.nn.analyze`][smr_stability.nn.run_analysis.analyze].
    dt : float or sequence of float
        The step of the continuous systems, one for all or one per channel. An exported channel
        has its own; `dt` must then be None.
    method : str
        The discretization of the continuous systems (`smr_stability.METHODS`); an exported
        channel keeps its own.
    sigma : float
        Theorem 1's sigma in (0, 1).
    layer : int
        The layer number written in each channel's row.

    Returns
    -------
    dict
        `{"channels": [row, ...], "worst": {...}}`: per channel the keys of
        [`stability_report`][smr_stability.stability.stability_report] plus `layer` and `channel`
        (its position in `target`),
        and [`worst_channels`][smr_stability.stability.worst_channels] of the rows.
    """
    sigma = _check_sigma(sigma)
    layer = check_int(layer, "layer", 0)
    items = list(target) if isinstance(target, (list, tuple)) and all(map(_is_system, target)) else [target]
    if not items:
        raise ShapeError("target: expected at least one system or channel; found an empty sequence.")
    steps = _steps(dt, len(items), any(_is_exported(x) for x in items))
    rows = [{"layer": layer, "channel": h} | _channel(x, steps[h], method, sigma) for h, x in enumerate(items)]
    return {"channels": rows, "worst": worst_channels(rows)}


def _steps(dt, n, exported):
    if dt is None:
        if not exported:
            raise ParameterError("dt: expected the step of the continuous systems; found None. Pass dt=...")
        return [None] * n
    if exported:
        raise ParameterError(
            "dt: expected None for exported channels (each has its own step); found a step. Drop the dt argument."
        )
    if isinstance(dt, (list, tuple, np.ndarray)) and np.ndim(dt) == 1:
        if len(dt) != n:
            raise ShapeError(f"dt: expected one step per channel ({n}); found {len(dt)}.")
        return [as_scalar_step(d) for d in dt]
    return [as_scalar_step(dt)] * n


def _channel(x, dt, method, sigma):
    if _is_exported(x):
        sys = as_ssm(x.system)
        return _report(sys.name or "custom", sys, as_scalar_step(x.dt), x.method, sigma, x.Ab, x.Bb)
    sys = as_ssm(x)
    Ab, Bb = discretize(sys.A, sys.B, dt, method=method)
    return _report(sys.name or "custom", sys, dt, method, sigma, Ab, Bb)


def worst_channels(rows):
    """Per quantity of `REPORT_KEYS`, the worst channel of `rows` (`WORST`).

    Returns `{key: {"layer", "channel", "value"}}`. A quantity that does not exist for a
    channel (None: the channel is unstable, so it is unbounded or has no margin) counts as the
    worst; its value is then None.
    """
    out = {}
    for key, end in WORST.items():
        sign = 1.0 if end == "max" else -1.0

        def badness(row, key=key, sign=sign):
            v = row.get(key)
            return np.inf if v is None else sign * v

        worst = max(rows, key=badness)
        out[key] = {"layer": worst["layer"], "channel": worst["channel"], "value": worst.get(key)}
    return out


def load_system(path):
    """The continuous system stored in an `.npz` file: arrays `A` and `B`, optionally
    `C` and `D`; `A` dense (N, N) or a diagonal given as a vector (N,).

    Missing `C` is the identity read-out of the state (every state is an output), missing
    `D` zero. The file is read without pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: expected an .npz file with arrays A and B; found no such file. Check the path.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"{path}: expected an .npz file (numpy.savez) with arrays A and B; found an unreadable file ({exc}). "
            "Write it with numpy.savez(path, A=A, B=B)."
        ) from None
    missing = [k for k in ("A", "B") if k not in arrays]
    if missing:
        raise ParameterError(
            f"{path}: expected arrays A and B (and optionally C, D); found {sorted(arrays) or 'none'}. "
            f"Add {', '.join(missing)}."
        )
    A, C = arrays["A"], arrays.get("C")
    if C is None:
        if A.ndim not in (1, 2):
            raise ShapeError(f"{path}: A: expected shape (N, N) or (N,); found {A.shape}.")
        C = np.eye(A.shape[0])
    return SSM(A, arrays["B"], C, arrays.get("D"), name=path.stem)
