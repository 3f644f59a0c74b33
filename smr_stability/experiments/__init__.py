"""The figures and studies, on top of the core and of [`smr_stability.nn`][smr_stability.nn].

Modules: `gallery` (the `FIGURES` registry and the
figures drawn from the core), `studies` (trained models with and without SMR: figures 5-8),
`threshold_map` (figure 9), `cost` (figure 10, training cost) and `sweeps` (cached,
resumable parallel cells and trained runs). This layer imports the core and `nn`; neither
imports it.
"""

from .gallery import FIGURES as FIGURES
from .gallery import make_figures as make_figures

__all__ = ["FIGURES", "make_figures"]
