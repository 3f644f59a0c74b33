"""Stability analysis of trained models: every channel of every SSM layer of a run.

[`analyze`][smr_stability.nn.run_analysis.analyze] is
[`smr_stability.stability.analyze`][smr_stability.stability.analyze] that also reads run
directories: each block's layer is exported (`layer.export()`: the continuous system of each
channel, its trained step and the layer's discretization, `docs/theory.md` §1) and every channel
gets the report of `smr-stability analyze` (`docs/theory.md` §3, §4, §6), with its layer and
channel. A selective layer (S6) is reported at its linearisation: `dt = softplus(dt_bias)` and `B`,
`C` at a zero input ([`smr_stability.nn.S6.export_channels`][smr_stability.nn.S6.export_channels]).
"""

from pathlib import Path

from .._validation import check_int
from ..errors import ParameterError
from ..stability import analyze as analyze_systems
from ..stability import worst_channels
from .checkpoint import load_run

__all__ = ["analyze", "analyze_run"]


def analyze_run(run, layer=None, sigma=0.5, weights="best"):
    """The report of every channel of the SSM layers of a run directory.

    Parameters
    ----------
    run : str or Path
        A run directory (`smr-stability train --out RUN`).
    layer : int, optional
        Only this block (0-based); default every block.
    sigma : float
        Theorem 1's sigma in (0, 1).
    weights : {'best', 'last'}
        The weights of the best validation epoch (the run's model, as evaluated) or the last.

    Returns
    -------
    dict
        `{"run", "weights", "channels": [...], "worst": {...}}` as
        [`smr_stability.stability.analyze`][smr_stability.stability.analyze], the rows of every block in order.
    """
    if layer is not None:
        layer = check_int(layer, "layer", 0)
    _, model = load_run(run, weights=weights)
    if layer is not None and layer >= len(model.layers):
        raise ParameterError(
            f"layer: expected a block number in 0..{len(model.layers) - 1} (the run has {len(model.layers)}); "
            f"found {layer}."
        )
    blocks = range(len(model.layers)) if layer is None else [layer]
    rows = []
    for b in blocks:
        rows += analyze_systems(model.layers[b].export(), sigma=sigma, layer=b)["channels"]
    return {"run": str(run), "weights": weights, "channels": rows, "worst": worst_channels(rows)}


def analyze(target, dt=None, method="bilinear", sigma=0.5, *, layer=None):
    """[`smr_stability.stability.analyze`][smr_stability.stability.analyze] of an SSM, exported
    channels or a sequence of them, or [`analyze_run`][smr_stability.nn.run_analysis.analyze_run] of
    a run directory (a `str` or `Path`).

    `layer`: for a run, the block to analyse (default all); otherwise the layer number written
    in the rows (default 0). `dt` and `method` are for continuous systems only.
    """
    if isinstance(target, (str, Path)):
        if dt is not None:
            raise ParameterError("dt: expected None for a run (its layers have their own steps); found a step.")
        return analyze_run(target, layer=layer, sigma=sigma)
    return analyze_systems(target, dt=dt, method=method, sigma=sigma, layer=0 if layer is None else layer)
