"""The stability report of one discretized model (the ``smr-stability analyze`` command)."""

import numpy as np

from .discretization import discretize
from .errors import ParameterError
from .ssm import as_ssm
from .systems import hippo_legs, mega_ema, random_stable, s4d_inv, s4d_lin, s4d_real, s5_hippo

__all__ = ["stability_report", "MODELS"]

#: Model names of the command line and their constructors ``f(N, dt, seed)``.
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
    """Spectral and Lyapunov quantities of one model discretized with ``dt`` and ``method``.

    Parameters
    ----------
    model : str or SSM
        A name of :data:`MODELS` (built with ``N`` and ``seed``; Mega's EMA is inverted at ``dt``)
        or a continuous system.
    N, dt, method, sigma, seed
        State size, step, discretization, Theorem 1's sigma in (0, 1), seed.

    Returns
    -------
    dict
        ``model, N, dt, method, sigma``; ``spectral_radius`` of Ab; ``error_gain`` G_inf
        (Proposition 1); ``gamma_star`` (Theorem 1, Q = I); ``kappa_P`` the condition number of
        P solving ``Ab^H P Ab - P = -I``; ``transient_bound`` ``sqrt(kappa_P)``, an upper bound on
        ``sup_k ||Ab^k||``; ``kreiss_lower_bound``, a lower bound on it; ``euler_dt_limit``
        ``min_i -2 Re(lambda_i)/|lambda_i|^2`` of the continuous A. Quantities that exist only
        for a stable ``Ab`` are None when ``rho(Ab) >= 1``.
    """
    from .bounds import euler_dt_limit, gamma_star, kreiss_constant, spectral_radius
    from .lyapunov import lyapunov_matrix
    from .proposition1 import error_gain

    if isinstance(model, str):
        if model not in MODELS:
            raise ParameterError(f"model must be one of {', '.join(MODELS)}; found {model!r}.")
        name, sys = model, MODELS[model](N, dt, seed)
    else:
        sys = as_ssm(model)
        name = sys.name or "custom"
    Ab, Bb = discretize(sys.A, sys.B, dt, method=method)
    rho = float(spectral_radius(Ab))
    report = {
        "model": name,
        "N": sys.N,
        "dt": float(dt),
        "method": method,
        "sigma": float(sigma),
        "spectral_radius": rho,
    }
    stable = rho < 1
    if stable:
        P = lyapunov_matrix(Ab, np.eye(sys.N))
        eig = np.linalg.eigvalsh(P)
        kappa = float(eig[-1] / eig[0])
    report["error_gain"] = float(error_gain(Ab, Bb)) if stable else None
    report["gamma_star"] = float(gamma_star(Ab, Bb, sigma)) if stable else None
    report["kappa_P"] = kappa if stable else None
    report["transient_bound"] = float(np.sqrt(kappa)) if stable else None
    report["kreiss_lower_bound"] = float(kreiss_constant(Ab)) if stable else None
    report["euler_dt_limit"] = float(euler_dt_limit(sys.A)) if sys.is_stable() else None
    return report
