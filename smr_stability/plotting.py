"""Plotting helpers (matplotlib, object-oriented API only, so they run headless).

Functions here draw on an `Axes` they are given; they compute nothing the analysis does not
already return.
"""

import numpy as np
from matplotlib.figure import Figure

__all__ = ["new_figure", "unit_circle", "save_figure"]


def new_figure(nrows=1, ncols=1, *, size=(3.0, 3.0), **kwargs):
    """A `Figure` and its axes grid, detached from pyplot (no display needed)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def unit_circle(ax, **kwargs):
    """Draw the unit circle `|mu| = 1` and the axes through 0 on `ax`."""
    t = np.linspace(0, 2 * np.pi, 400)
    style = dict(color="0.3", lw=0.8, zorder=1) | kwargs
    ax.plot(np.cos(t), np.sin(t), **style)
    ax.axhline(0, color="0.85", lw=0.5, zorder=0)
    ax.axvline(0, color="0.85", lw=0.5, zorder=0)
    ax.set_aspect("equal")


def save_figure(fig, path_stem):
    """Write `path_stem.png` and `path_stem.pdf`; return the two paths."""
    paths = [f"{path_stem}.png", f"{path_stem}.pdf"]
    fig.savefig(paths[0], dpi=150, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"CreationDate": None, "Creator": None, "Producer": None})  # reproducible
    return paths
