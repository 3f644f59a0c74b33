"""Training on perturbed schedules: each training sequence is resampled, batch by batch, at times
drawn from the sampling engine (docs/theory.md §2), the augmentation baseline of SMR.

A sequence of the sines task is a continuous-time signal with a closed-form target, so it can be
sampled at any times: the training loop (`TrainConfig(augment=True)`) replaces each batch by
the same signals sampled on a fresh schedule per sequence, of one of `AUGMENT_KINDS` drawn
uniformly:

- `grid`: `t_k = k dt` (the test setting without perturbation stays in the mix);
- `jitter`: uniform jitter of `j dt`, `j ~ U(0, JITTER_MAX)` (order kept, not sorted);
- `rate`: `t_k = k s dt` with `log s ~ U(log RATE_RANGE)`;
- `irregular`: exponential gaps of mean `dt` ([`smr_stability.sampling.irregular`][smr_stability.sampling.irregular]).
"""

import numpy as np
import torch

from ..errors import ParameterError
from ..sampling import irregular, jitter, rate_change, uniform
from .sines import SinesConfig, sines_signal, sines_values

__all__ = ["AUGMENT_KINDS", "JITTER_MAX", "RATE_RANGE", "augmented_batch", "augmented_times"]

AUGMENT_KINDS = ("grid", "jitter", "rate", "irregular")
JITTER_MAX = 0.45  # below 1/2: uniform jitter keeps the order of the samples
RATE_RANGE = (0.5, 2.0)


def augmented_times(L, dt, n, rng):
    """Sample times (n, L) for `n` sequences, each on a schedule of a kind drawn uniformly.

    Parameters
    ----------
    L : int
        Samples per sequence.
    dt : float
        The training step.
    n : int
        Sequences.
    rng : numpy.random.Generator
        Draws the kinds, the magnitudes and the schedules, in that order per sequence.

    Returns
    -------
    times : ndarray, shape (n, L)
        Strictly increasing per row.
    kinds : ndarray of int, shape (n,)
        Indices into `AUGMENT_KINDS`.
    """
    kinds = rng.integers(0, len(AUGMENT_KINDS), n)
    times = np.empty((n, L))
    for i, kind in enumerate(AUGMENT_KINDS[k] for k in kinds):
        if kind == "grid":
            sched = uniform(L, dt)
        elif kind == "jitter":
            sched = jitter(L, dt, rng.uniform(0.0, JITTER_MAX), seed=rng)
        elif kind == "rate":
            sched = rate_change(L, dt, float(np.exp(rng.uniform(*np.log(RATE_RANGE)))))
        else:
            sched = irregular(L, dt, seed=rng)
        times[i] = sched.times[0]
    return times, kinds


def augmented_batch(task_config, rows, rng, signal=None):
    """The sines sequences `rows` sampled at the times of `augmented_times`.

    Parameters
    ----------
    task_config : SinesConfig
        The task of the run (its signals and training step).
    rows : array of int, shape (n,)
        Rows of the task's signals (the training split is rows `0 .. n_train - 1`).
    rng : numpy.random.Generator
    signal : SumOfSines, optional
        `sines_signal(task_config)`, passed to save drawing it again.

    Returns
    -------
    u, y : torch.Tensor, shape (n, L, 1), float32
        Inputs and targets (the integral from 0) at the drawn times.
    t : torch.Tensor, shape (n, L), float64
    """
    if not isinstance(task_config, SinesConfig):
        raise ParameterError(
            f"augmentation resamples the sines task only; expected a SinesConfig, found {type(task_config).__name__}."
        )
    signal = sines_signal(task_config) if signal is None else signal
    t, _ = augmented_times(task_config.L, task_config.dt, len(rows), rng)
    u, y = sines_values(signal, np.asarray(rows), t)
    return torch.from_numpy(u.astype(np.float32)), torch.from_numpy(y.astype(np.float32)), torch.from_numpy(t)
