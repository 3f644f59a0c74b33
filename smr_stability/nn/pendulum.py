"""The pendulum task: frames of a swinging pendulum with time-correlated noise, kept at random times.

24x24 frames of the RKN/CRU pendulum, flattened (P = size**2); target ``(sin theta,
cos theta)`` (Q = 2). Data containers and caching: :mod:`smr_stability.nn.data`.
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..errors import InputTypeError, ParameterError
from ..signals import Pendulum
from .data import TaskConfig, cached_arrays, partition, split_array_names, task_data

__all__ = ["PendulumConfig", "make_pendulum", "pendulum_physics", "render_pendulum"]


@dataclass(frozen=True)
class PendulumConfig(TaskConfig):
    """Config of :func:`make_pendulum` (the CRU/S5 pendulum regression benchmark).

    Parameters
    ----------
    n_train, n_val, n_test : int
        Sequences per split.
    steps : int
        Frames simulated per sequence, at ``t = k dt``, ``k = 0..steps-1``.
    keep : int
        Frames kept per sequence, at sorted random indices, ``1 <= keep <= steps``.
    size : int
        Frames are ``size x size`` grayscale images.
    dt : float
        Time between simulated frames.
    noise : float
        Strength in ``[0, 1]`` of the image noise; 0 gives clean frames, 1 the CRU noise.
    noise_step : float
        ``r >= 0``: step of the random walk of the per-sequence noise factor (CRU: 0.2);
        small ``r`` makes the noise strongly correlated in time.
    sim_dt : float
        Step of the physics integrator.
    seed : int
    """

    n_train: int = 2000
    n_val: int = 1000
    n_test: int = 1000
    steps: int = 100
    keep: int = 50
    size: int = 24
    dt: float = 0.05
    noise: float = 1.0
    noise_step: float = 0.2
    sim_dt: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_val", "n_test", "steps", "keep"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        object.__setattr__(self, "size", check_int(self.size, "size", 8))
        if self.keep > self.steps:
            raise ParameterError(f"keep: expected keep <= steps = {self.steps}; found {self.keep}.")
        object.__setattr__(self, "dt", check_real(self.dt, "dt", 0.0, open_lo=True))
        object.__setattr__(self, "sim_dt", check_real(self.sim_dt, "sim_dt", 0.0, open_lo=True))
        object.__setattr__(self, "noise", check_real(self.noise, "noise", 0.0, 1.0))
        object.__setattr__(self, "noise_step", check_real(self.noise_step, "noise_step", 0.0))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", 0))

    @classmethod
    def small(cls, **overrides):
        """A quick config for tests: 16/8/8 sequences, otherwise the benchmark's."""
        return cls(**{"n_train": 16, "n_val": 8, "n_test": 8, **overrides})


def pendulum_physics(config):
    """The simulated :class:`~smr_stability.signals.Pendulum` of all sequences of a task.

    ``B = n_train + n_val + n_test`` pendulums (splits in order train, val, test), seed
    ``numpy.random.default_rng([config.seed, 0])``, with the RKN/CRU physics: a uniform rod
    of length 1 (``length=1/3`` for the point-mass equation of ``Pendulum``), ``g = 9.81``,
    friction 0.1, initial velocity 0, transition noise ``0.1 / sqrt(0.05)`` per unit time,
    over ``[-1, (steps - 1) dt]``.
    """
    n = config.n_train + config.n_val + config.n_test
    return Pendulum(
        B=n,
        duration=(config.steps - 1) * config.dt,
        seed=np.random.default_rng([config.seed, 0]),
        sim_dt=config.sim_dt,
        friction=0.1,
        transition_noise_std=0.1 / np.sqrt(0.05),
        g=9.81,
        length=1.0 / 3.0,
        observe="angle",
        max_init_velocity=0.0,
    )


def render_pendulum(theta, size=24):
    """Anti-aliased grayscale frames of a pendulum at angles ``theta``.

    The pivot is the image centre ``c = (size - 1) / 2`` (pixel centres at integers); the
    bob, a disk of radius ``0.1 size``, sits at column ``c + R sin theta`` and row
    ``c + R cos theta`` with ``R = 0.3 size`` (``theta = 0`` hangs down), joined to the pivot
    by a rod of width 1. A pixel's value is ``clip(radius + 1/2 - d, 0, 1)`` with ``d`` the
    distance of its centre to the disk centre (or to the rod's segment), a one-pixel linear
    ramp that anti-aliases the edges; disk and rod combine by ``max``.

    Parameters
    ----------
    theta : array, shape S
    size : int

    Returns
    -------
    ndarray, shape S + (size, size)
        float32 values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.nn.pendulum import render_pendulum
    >>> img = render_pendulum(np.array(0.0), size=24)
    >>> img.shape, float(img.max()), int(np.argmax(img.sum(axis=1))) > 12  # the bob hangs low
    ((24, 24), 1.0, True)
    """
    theta = np.asarray(theta, dtype=np.float64)
    c, R, r_bob = (size - 1) / 2.0, 0.3 * size, 0.1 * size
    grid = np.arange(size, dtype=np.float64) - c
    row, col = grid[:, None], grid[None, :]  # (size 1), (1 size): offsets from the pivot
    dx, dy = np.sin(theta)[..., None, None], np.cos(theta)[..., None, None]  # unit direction (col, row)
    along = col * dx + row * dy  # projection on the rod
    across = np.abs(col * dy - row * dx)
    d_bob = np.hypot(along - R, across)
    d_rod = np.where(along < 0, np.hypot(along, across), np.where(along > R, d_bob, across))
    bob = np.clip(r_bob + 0.5 - d_bob, 0.0, 1.0)
    rod = np.clip(0.5 + 0.5 - d_rod, 0.0, 1.0)
    return np.maximum(bob, rod).astype(np.float32)


def _noise_factors(rng, n, steps, r):
    """CRU's time-correlated noise factor: a clipped random walk, stretched per sequence.

    ``v_0 ~ U(0, 1)``, ``v_{k+1} = clip(v_k + U(-r, r), 0, 1)``; then
    ``clip((v - t1) / (t2 - t1), 0, 1)`` with ``t1 ~ U(0.1, 0.4)``, ``t2 ~ U(0.6, 0.9)``.
    Returns the visibility (1 = clean), shape (n, steps).
    """
    v = np.empty((n, steps))
    v[:, 0] = rng.uniform(0.0, 1.0, n)
    steps_ = rng.uniform(-r, r, (n, steps - 1))
    for k in range(steps - 1):
        v[:, k + 1] = np.clip(v[:, k] + steps_[:, k], 0.0, 1.0)
    t1 = rng.uniform(0.1, 0.4, (n, 1))
    t2 = rng.uniform(0.6, 0.9, (n, 1))
    return np.clip((v - t1) / (t2 - t1), 0.0, 1.0)


def make_pendulum(config, cache_dir=None, progress=None):
    """Pendulum regression as in the CRU/S5 benchmark.

    For each sequence the pendulum of :func:`pendulum_physics` is observed at
    ``t = k dt``, ``k = 0..steps-1``; ``keep`` indices are drawn without replacement and
    sorted (``default_rng([seed, 1])``), and only those frames are kept. Each kept frame is
    rendered by :func:`render_pendulum` and corrupted as in CRU:

    ``frame = (1 - w_k) clean + w_k U(0, 1)``,  ``w_k = noise (1 - v_k)``

    with per-pixel uniform noise and the per-sequence visibility ``v_k`` a clipped random
    walk of step ``noise_step`` over all ``steps`` frames (``default_rng([seed, 2])``), so
    the corruption is correlated in time.

    Parameters
    ----------
    config : PendulumConfig
    cache_dir : str or Path, optional
        See the module docstring.
    progress : bool or None
        Show a tqdm bar while rendering; ``None`` shows it on a terminal only.

    Returns
    -------
    TaskData
        ``u`` (n, keep, size**2): the frames, row-major flattened (``u.reshape(n, keep,
        size, size)`` gives the images), in [0, 1]; ``y`` (n, keep, 2): ``(sin theta,
        cos theta)`` at the kept times; ``t`` (n, keep): the kept times ``k dt``.
    """
    if not isinstance(config, PendulumConfig):
        raise InputTypeError(f"config: expected a PendulumConfig; found {type(config).__name__}.")

    def generate():
        from tqdm import tqdm

        pend = pendulum_physics(config)
        n, S, K, size = pend.B, config.steps, config.keep, config.size
        grid = config.dt * np.arange(S)
        theta_all = pend(grid)[..., 0]  # (n S)
        rng_idx = np.random.default_rng([config.seed, 1])
        idx = np.sort(np.argsort(rng_idx.random((n, S)), axis=-1)[:, :K], axis=-1)  # (n K)
        theta = np.take_along_axis(theta_all, idx, axis=-1)
        t = grid[idx]
        rng_noise = np.random.default_rng([config.seed, 2])
        w = config.noise * (1.0 - _noise_factors(rng_noise, n, S, config.noise_step))
        w = np.take_along_axis(w, idx, axis=-1)[..., None]  # (n K 1)
        u = np.empty((n, K, size * size), dtype=np.float32)
        chunk = max(1, 4096 // K)
        for lo in tqdm(range(0, n, chunk), desc="pendulum frames", disable=None if progress is None else not progress):
            sl = slice(lo, lo + chunk)
            clean = render_pendulum(theta[sl], size).reshape(-1, K, size * size)
            pix = rng_noise.uniform(0.0, 1.0, clean.shape)
            u[sl] = (1.0 - w[sl]) * clean + w[sl] * pix
        y = np.stack([np.sin(theta), np.cos(theta)], axis=-1).astype(np.float32)
        return partition(config, u, y, t)

    return task_data(config, cached_arrays("pendulum", config, cache_dir, generate, split_array_names()))
