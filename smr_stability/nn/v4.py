"""V4 of docs/theory.md §4: Theorem 1 on a trained model, with and without its learned SMR kernel.

The channels of every block of a trained sines model see the test signals on the training grid
(nominal) and on each perturbed schedule (the inputs of each SSM layer, computed by the model
itself through the blocks before it). For every channel, draw and step, with the gate
(`smr='on'`, the learned `(m, b)`) and without (`'off'`), it measures
([`smr_stability.theorem1.channel_measures`][smr_stability.theorem1.channel_measures]):

- whether Theorem 1's hypothesis `||w_k|| <= gamma* ||e_{k-1}||` holds (control-convention
  indexing, `sigma` given, `Q = I`), as a fraction of steps `k >= 1`;
- `max_k L_e(k)` with `L_e = e^H P e`, `Ab^H P Ab - P = -I`;
- the final relative error `||e_L|| / ||x_L||` of the layer state;
- Proposition 1's ISS radius `G_inf max_k ||w_k||` next to the observed `max_k ||e_k||`.

These are measurements: the report states what it finds, whichever way it goes.
"""

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import check_path, check_real
from ..errors import ParameterError
from ..theorem1 import channel_measures
from .checkpoint import load_run
from .sines import schedule_names, sines_eval_set
from .tasks import load_task

__all__ = ["V4_KEYS", "V4Report", "verify_checkpoint"]

#: The measured columns of a V4 row, after `block`, `schedule` and `smr`.
V4_KEYS = ("hypothesis_fraction", "max_L_e", "final_rel_error", "observed_sup", "iss_bound")


@dataclass
class V4Report:
    """What [`verify_checkpoint`][smr_stability.nn.v4.verify_checkpoint] measured on a trained run.

    `rows`: one dict per (block, schedule, gate) with `block`, `schedule`, `smr`
    (`'on'` or `'off'`) and the keys of `V4_KEYS`. `hypothesis_fraction` is over the
    block's channels, draws and steps `k >= 1`; `max_L_e`, `observed_sup` and `iss_bound` are maxima over
    channels (the ball holds per channel, so `observed_sup <= iss_bound`); `final_rel_error`
    is the mean over channels and draws. `run` and `sigma` say what was measured.
    """

    run: str
    sigma: float
    rows: list = field(default_factory=list)

    def table(self):
        """The rows as a text table."""
        head = f"{'block':>5s} {'schedule':12s} {'smr':4s}" + "".join(f" {k:>20s}" for k in V4_KEYS)
        lines = [
            f"V4: Theorem 1 on every block of the trained model, sigma = {self.sigma:g} (measured, whichever way it goes)",
            head,
            "-" * len(head),
        ]
        lines += [
            f"{r['block']:5d} {r['schedule']:12s} {r['smr']:4s}" + "".join(f" {r[k]:20.4g}" for k in V4_KEYS)
            for r in self.rows
        ]
        return "\n".join(lines)

    def to_json(self, path):
        """Write the report as JSON: `{"run", "sigma", "rows"}`."""
        with open(path, "w") as f:
            json.dump(asdict(self), f, indent=1)

    def plot(self, axes=None, block=0):
        """Hypothesis fraction and final relative error per schedule of one block, gate on and off.

        Draws on two Axes, or on a new Figure detached from pyplot (headless-safe); in Jupyter,
        show it with `report.plot()[0].figure` as a cell's last expression. Returns the Axes.
        """
        from ..plotting import new_figure

        if axes is None:
            _, grid = new_figure(1, 2, size=(4.2, 3.0))
            axes = grid[0]
        rows = [r for r in self.rows if r["block"] == block]  # one block (table() has them all)
        if not rows:
            blocks = sorted({r["block"] for r in self.rows})
            raise ParameterError(f"block: expected one of {blocks}; found {block!r}.")
        names = list(dict.fromkeys(r["schedule"] for r in rows))
        x = np.arange(len(names))
        for off, label, color in ((-0.2, "off", "tab:red"), (0.2, "on", "tab:blue")):
            got = {r["schedule"]: r for r in rows if r["smr"] == label}
            if not got:
                continue
            for ax, key in zip(axes, ("hypothesis_fraction", "final_rel_error")):
                vals = [got[n][key] if n in got else np.nan for n in names]
                ax.bar(x + off, vals, 0.4, color=color, alpha=0.8, label=f"SMR {label}")
        for ax, ylabel in zip(axes, ("fraction of steps where the hypothesis holds", "final ||e|| / ||x||")):
            ax.set_xticks(x, names, rotation=30, fontsize=7)
            ax.set_ylabel(ylabel, fontsize=8)
        axes[0].legend(fontsize=7)
        return axes


def verify_checkpoint(run, schedules=None, sigma=0.5, weights="last"):
    """V4 on a trained sines run, for every schedule, gate on (if the model has one) and off.

    Parameters
    ----------
    run : str or Path
        A run directory of [`smr_stability.nn.train.train`][smr_stability.nn.train.train] on the sines task.
    schedules : list of str, optional
        Names from `SINES_SCHEDULES` (`uniform` is skipped: it
        is the nominal grid); default all.
    sigma : float in (0, 1)
    weights : {'last', 'best'}
        The run's weights to verify ([`load_run`][smr_stability.nn.checkpoint.load_run]).

    Returns
    -------
    V4Report
    """
    sigma = check_real(sigma, "sigma", 0.0, 1.0, open_lo=True, open_hi=True)
    names, _ = schedule_names(schedules), check_path(run, "run")
    config, model = load_run(run, weights=weights)
    if config.task != "sines":
        raise ParameterError(
            f"V4 needs a nominal grid to compare with; the {config.task!r} task has none (its frames are "
            "kept at irregular times). Use a sines run."
        )
    data = load_task(config)
    report = V4Report(run=str(run), sigma=float(sigma))
    perturbed = {name: sines_eval_set(data.config, name).u for name in names if name != "uniform"}
    for block, layer in enumerate(model.layers):
        channels = layer.export()
        if any(ch.system.P != 1 for ch in channels):
            raise ParameterError(
                f"V4 measures SISO channels; block {block} ({type(layer).__name__}) exports a system with "
                f"{channels[0].system.P} inputs. Use a layer with one SSM per channel (s4d, s4, mega, s6)."
            )
        x_nom = model.layer_inputs(data.test.u, block=block)  # (n, L, H)
        for name, u in perturbed.items():
            x_per = model.layer_inputs(u, block=block)
            for label in ("on", "off") if channels[0].smr is not None else ("off",):
                report.rows.append(_row(block, name, label, channels, x_nom, x_per, sigma))
    return report


def _row(block, name, label, channels, x_nom, x_per, sigma):
    """One V4 row: every channel of a block on one schedule, gate on or off."""
    found = [
        channel_measures(
            ch.Ab, ch.Bb, x_nom[..., h : h + 1], x_per[..., h : h + 1], ch.smr if label == "on" else None, sigma
        )
        for h, ch in enumerate(channels)
    ]
    return {
        "block": block,
        "schedule": name,
        "smr": label,
        "hypothesis_fraction": float(np.mean([f["holds"].mean() for f in found])),
        "max_L_e": max(f["max_L_e"] for f in found),
        "final_rel_error": float(np.mean([f["final_rel_error"].mean() for f in found])),
        "observed_sup": max(f["observed_sup"] for f in found),
        "iss_bound": max(f["iss_bound"] for f in found),
    }
