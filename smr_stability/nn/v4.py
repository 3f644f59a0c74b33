"""V4 of THEORY.md §4: Theorem 1 on a trained model, with and without its learned SMR kernel.

The first layer's channels of a trained sines model see the test signals on the training grid
(nominal) and on each perturbed schedule (the inputs of the layer are the encoder's normalised
outputs, computed by the model itself). For every channel, draw and step, with the gate
(``smr='on'``, the learned ``(m, b)``) and without (``'off'``), it measures:

- whether Theorem 1's hypothesis ``||w_k|| <= gamma* ||e_{k-1}||`` holds (control-convention
  indexing, ``sigma`` given, ``Q = I``), as a fraction of steps ``k >= 1``;
- ``max_k L_e(k)`` with ``L_e = e^H P e``, ``Ab^H P Ab - P = -I``;
- the final relative error ``||e_L|| / ||x_L||`` of the layer state;
- Proposition 1's ISS radius ``G_inf max_k ||w_k||`` next to the observed ``max_k ||e_k||``.

These are measurements: the report states what it finds, whichever way it goes.
"""

import numpy as np
import torch

from ..bounds import gamma_star
from ..errors import ParameterError
from ..proposition1 import error_gain
from ..simulation import simulate
from ..smr import smr_gate

__all__ = ["verify_checkpoint", "format_v4"]


def _layer_inputs(model, u):
    """Inputs of the first SSM layer, (n, L, H) float64, for task inputs ``u`` (n, L, P)."""
    with torch.no_grad():
        x = model.norms[0](model.encoder(torch.as_tensor(np.array(u), dtype=torch.float32)))
    return x.double().numpy()


def _channel_measures(Ab, Bb, u_nom, u_per, gate, sigma, iss=True):
    """Measures of one discretized channel for inputs (n, L, 1); ``gate`` None or (m, b).

    ``iss=False`` skips Proposition 1's radius (the series for ``G_inf`` is the slow part when
    ``rho(Ab)`` is close to 1).
    """
    if gate is not None:
        u_nom, u_per = smr_gate(u_nom, *gate), smr_gate(u_per, *gate)
    w = u_per - u_nom  # (n, L, 1)
    Bb = Bb if Bb.ndim == 2 else Bb[:, None]  # (N, 1)
    N = Bb.shape[0]
    _, e = simulate(Ab, Bb, np.eye(N), None, w, return_states=True)  # (n, L, N)
    _, x = simulate(Ab, Bb, np.eye(N), None, u_nom, return_states=True)
    info = gamma_star(Ab, Bb, sigma, return_info=True)  # Q = I; carries P
    P, g = info.P, info.gamma
    e_norm, w_norm = np.linalg.norm(e, axis=-1), np.abs(w[..., 0])  # (n, L)
    holds = w_norm[:, 1:] <= g * e_norm[:, :-1]  # e_k = Ab e_{k-1} + Bb w_k
    L_e = np.einsum("...n,nm,...m->...", e.conj(), P, e).real
    x_final = np.maximum(np.linalg.norm(x[:, -1], axis=-1), np.finfo(float).tiny)
    out = {
        "holds": holds,
        "gamma": g,
        "max_L_e": float(L_e.max()),
        "final_abs_error": e_norm[:, -1],
        "final_rel_error": e_norm[:, -1] / x_final,
        "observed_sup": float(e_norm.max()),
    }
    if iss:
        out["iss_bound"] = float(error_gain(Ab, Bb, return_info=True).upper * w_norm.max())
    return out


def verify_checkpoint(run, schedules=None, sigma=0.5):
    """V4 on a trained sines run: rows ``{schedule, smr, hypothesis_fraction, max_L_e,
    final_rel_error, observed_sup, iss_bound}`` for every schedule, gate on (if the model has
    one) and off.

    ``hypothesis_fraction`` is over all first-layer channels, draws and steps ``k >= 1``;
    ``max_L_e``, ``observed_sup`` and ``iss_bound`` are maxima over channels (the ball holds per
    channel, so ``observed_sup <= iss_bound``); ``final_rel_error`` is the mean over channels and
    draws.
    """
    from . import tasks
    from .train import _task, load_run

    if not 0 < sigma < 1:
        raise ParameterError(f"sigma must lie in (0, 1); found {sigma!r}.")
    config, model = load_run(run)
    if config.task != "sines":
        raise ParameterError(
            f"V4 needs a nominal grid to compare with; the {config.task!r} task has none (its frames are "
            "kept at irregular times). Use a sines run."
        )
    data = _task(config)
    names = [n for n in (schedules or tasks.SINES_SCHEDULES) if n != "uniform"]
    x_nom = _layer_inputs(model, data.test.u)
    channels = model.layers[0].export()
    rows = []
    for name in names:
        x_per = _layer_inputs(model, tasks.sines_eval_set(data.config, name).u)
        for label in (("on", "off") if channels[0].smr is not None else ("off",)):
            found = [_channel_measures(ch.Ab, ch.Bb, x_nom[..., h : h + 1], x_per[..., h : h + 1], ch.smr if label == "on" else None, sigma)
                     for h, ch in enumerate(channels)]
            rows.append({
                "schedule": name, "smr": label,
                "hypothesis_fraction": float(np.mean([f["holds"].mean() for f in found])),
                "max_L_e": max(f["max_L_e"] for f in found),
                "final_rel_error": float(np.mean([f["final_rel_error"].mean() for f in found])),
                "observed_sup": max(f["observed_sup"] for f in found),
                "iss_bound": max(f["iss_bound"] for f in found),
            })
    return rows


def format_v4(rows):
    """The V4 rows as a text table."""
    keys = ("hypothesis_fraction", "max_L_e", "final_rel_error", "observed_sup", "iss_bound")
    head = f"{'schedule':12s} {'smr':4s}" + "".join(f" {k:>20s}" for k in keys)
    lines = ["V4: Theorem 1 on the trained model's first layer (measured, whichever way it goes)", head, "-" * len(head)]
    lines += [f"{r['schedule']:12s} {r['smr']:4s}" + "".join(f" {r[k]:20.4g}" for k in keys) for r in rows]
    return "\n".join(lines)
