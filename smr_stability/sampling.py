"""Sampling schedules: the times at which a model trained on a grid sees its input (docs/theory.md §2).

The model is trained on the nominal grid `t_k = k dt`, `k = 0..L-1`, and keeps its fixed
`(Ab, Bb)` at test time, when the observations arrive at the times of a [`Schedule`][smr_stability.sampling.Schedule]:

| constructor | times `t_k` (per draw; `M` Monte-Carlo draws) |
|---|---|
| [`uniform`][smr_stability.sampling.uniform] | `k dt` (the nominal grid) |
| [`jitter`][smr_stability.sampling.jitter] | `k dt + delta_k`, `delta_k` i.i.d. uniform on `[-j dt, j dt]` or normal with std `j dt`, sorted where they could reorder |
| [`rate_change`][smr_stability.sampling.rate_change] | `k s dt` (a test step `s dt` instead of `dt`) |
| [`irregular`][smr_stability.sampling.irregular] | `cumsum(gaps) - dt`, gaps i.i.d. exponential with mean `dt` |
| [`drops`][smr_stability.sampling.drops] | a random subset of `round(f L)` samples removed (the model sees the kept subsequence) or replaced by zeros or noise |
| [`timestamps`][smr_stability.sampling.timestamps] | user-supplied strictly increasing times |

The state before the first sample is zero and the first gap is taken as `dt`:
`gaps[..., 0] = dt` and `gaps[..., k] = t_k - t_{k-1}` for `k >= 1`.
Every constructor takes `seed` (an int or a `numpy.random.Generator`) where it draws.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import (
    as_array,
    as_scalar_step,
    as_seed_rng,
    check_int,
    check_memory,
    check_real,
    check_shape,
    readonly,
)
from .errors import InputTypeError, MethodError, ParameterError, ShapeError, StepSizeError
from .signals import Signal

__all__ = ["Schedule", "uniform", "jitter", "rate_change", "irregular", "drops", "timestamps"]

FILLS = ("zeros", "noise")
JITTER_DISTS = ("uniform", "normal")
DROP_MODES = ("remove",) + FILLS


def _check_increasing(times, name):
    """Raise [`StepSizeError`][smr_stability.errors.StepSizeError] at the first
    `t[..., k] <= t[..., k-1]` (ties included)."""
    if np.all(times[..., 1:] > times[..., :-1]):  # one comparison pass, no array of gaps
        return
    bad = ~(times[..., 1:] > times[..., :-1])
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        k = idx[-1] + 1
        at = idx[:-1] + (k,)
        prev, cur = float(times[idx]), float(times[at])
        what = "a duplicated timestamp" if cur == prev else "a decreasing timestamp"
        raise StepSizeError(
            f"{name}: expected strictly increasing times along the last axis (every gap > 0); found "
            f"{what} at index {at}: {name}{list(at)} = {cur!r} after {prev!r}. "
            "Sort the times and remove duplicates (jitter: pass sort=True)."
        )


@dataclass(frozen=True, eq=False)
class Schedule:
    """Times at which `M` draws of a length-`L` sequence are sampled.

    Parameters
    ----------
    times : array, shape (M, L)
        Sample times, strictly increasing along the last axis. Stored as a read-only float64
        copy.
    dt : float
        The nominal (training) step `dt > 0`.
    name : str
        A label, e.g. `"jitter(0.2, uniform)"`.
    replaced : bool array, shape (M, L), or None
        Samples that [`sample`][smr_stability.sampling.Schedule.sample] replaces by `fill`.
    fill : {None, "zeros", "noise"}
        What replaces the samples marked in `replaced` (both or neither must be given).
    noise_std : float
        Standard deviation of the Gaussian noise of `fill="noise"`.
    seed : int or None
        Seed of that noise; an int makes [`sample`][smr_stability.sampling.Schedule.sample] reproducible.

    Notes
    -----
    `gaps[..., 0] = dt` (the state before the first sample is zero and the first step is
    taken as nominal) and `gaps[..., k] = times[..., k] - times[..., k-1]` for `k >= 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.sampling import Schedule
    >>> s = Schedule(np.array([[0.0, 0.3, 0.35, 1.0]]), dt=0.1)
    >>> s.M, s.L, bool(np.allclose(s.gaps, [[0.1, 0.3, 0.05, 0.65]]))
    (1, 4, True)
    """

    times: np.ndarray
    dt: float
    name: str = "custom"
    replaced: np.ndarray = None
    fill: str = None
    noise_std: float = 1.0
    seed: int = None

    def __post_init__(self):
        times = as_array(self.times, "times", ndim=2, allow_complex=False)
        if times.shape[1] < 1:
            raise ShapeError(f"times: expected shape (M, L) with L >= 1; found {times.shape}.")
        _check_increasing(times, "times")
        dt = as_scalar_step(self.dt)
        if not isinstance(self.name, str):
            raise InputTypeError(f"name: expected a str (a label); found {self.name!r} ({type(self.name).__name__}).")
        if self.fill is not None and self.fill not in FILLS:
            raise MethodError(f"fill: expected None or one of {', '.join(map(repr, FILLS))}; found {self.fill!r}.")
        replaced = self.replaced
        if (replaced is None) != (self.fill is None):
            raise ParameterError(
                "replaced and fill go together: expected both or neither; found "
                f"replaced={'None' if replaced is None else 'an array'}, fill={self.fill!r}."
            )
        if replaced is not None:
            replaced = np.asarray(replaced)
            if replaced.dtype != bool:
                raise InputTypeError(f"replaced: expected a bool array; found dtype {replaced.dtype}.")
            check_shape(replaced, times.shape, "replaced")
            replaced = readonly(replaced)
        noise_std = check_real(self.noise_std, "noise_std")
        if noise_std < 0:
            raise ParameterError(f"noise_std: expected a number >= 0; found {noise_std!r}.")
        if self.seed is not None and (not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool)):
            raise InputTypeError(f"seed: expected an int or None; found {self.seed!r}.")
        object.__setattr__(self, "times", readonly(times))
        object.__setattr__(self, "dt", dt)
        object.__setattr__(self, "replaced", replaced)
        object.__setattr__(self, "noise_std", noise_std)
        object.__setattr__(self, "seed", None if self.seed is None else int(self.seed))

    @property
    def M(self):
        """Number of draws."""
        return self.times.shape[0]

    @property
    def L(self):
        """Number of samples per draw."""
        return self.times.shape[1]

    @property
    def gaps(self):
        """Steps between samples, shape (M, L); the first is `dt`."""
        g = np.empty_like(self.times)
        g[:, 0] = self.dt
        g[:, 1:] = np.diff(self.times, axis=-1)
        return g

    @property
    def is_uniform(self):
        """True if every gap equals `dt` to 1e-12 relative."""
        return bool(np.all(np.abs(self.gaps - self.dt) <= 1e-12 * self.dt))

    def sample(self, signal, draws=None):
        """Evaluate `signal` at the schedule's times and apply the replacement.

        Parameters
        ----------
        signal : callable
            Maps a times array of shape `T` to values of shape `(B,) + T + (P,)` (the
            interface of [`smr_stability.signals`][smr_stability.signals]).
        draws : slice, optional
            Sample only these draws (a slice of `range(M)` with step 1). The values equal
            `sample(signal)[:, draws]`, noise included, so a long experiment can go through the
            draws in pieces with memory O(piece).

        Returns
        -------
        u : ndarray, shape (B, M', L, P)
            `signal(times[draws])`, with zeros or Gaussian noise (std `noise_std`, one draw
            per `(B, M, L, P)` entry, seeded by `seed`) where `replaced` is True; `M'` is
            the number of draws sampled.

        Examples
        --------
        >>> import numpy as np
        >>> from smr_stability.sampling import drops
        >>> s = drops(6, 0.5, 0.5, mode="zeros", draws=2, seed=0)
        >>> u = s.sample(lambda t: np.ones((1,) + t.shape + (1,)))
        >>> u.shape, int((u == 0).sum())
        ((1, 2, 6, 1), 6)
        """
        if not callable(signal):
            raise InputTypeError(
                f"signal: expected a callable t -> (B,) + t.shape + (P,); found {type(signal).__name__}."
            )
        if draws is None:
            draws = slice(0, self.M)
        if not isinstance(draws, slice) or draws.step not in (None, 1):
            raise InputTypeError(f"draws: expected None or a slice with step 1; found {draws!r}.")
        times = self.times[draws]
        u = np.asarray(signal(times))
        if u.ndim != 4 or u.shape[1:3] != times.shape:
            raise ShapeError(
                f"signal(times): expected shape (B, {times.shape[0]}, {self.L}, P); found {u.shape}. "
                "A signal maps times of shape T to values of shape (B,) + T + (P,)."
            )
        # The toolkit's signals return a new array on every call; any other callable may hand out
        # its own state, which the caller must not be able to change through u.
        u = np.asarray(u, dtype=np.float64) if isinstance(signal, Signal) else np.array(u, dtype=np.float64, copy=True)
        replaced = None if self.replaced is None else self.replaced[draws]
        if replaced is None or not replaced.any():
            return u
        if self.fill == "zeros":
            fill = np.zeros_like(u)
        else:  # the noise of every draw, so that a piece gets the values of the whole
            full = (u.shape[0], self.M) + u.shape[2:]
            fill = self.noise_std * np.random.default_rng(self.seed).standard_normal(full)[:, draws]
        return np.where(replaced[None, :, :, None], fill, u)


def _check_size(draws, L):
    """Refuse before drawing a schedule whose times (and offsets) would not fit in memory."""
    check_memory(
        3 * 8 * draws * L, f"a schedule of {draws} draws of L = {L} samples", "Use fewer draws, or draw them in pieces."
    )


def _grid(L, dt, draws):
    return np.broadcast_to(dt * np.arange(L, dtype=np.float64), (draws, L))


def uniform(L, dt, draws=1):
    """The nominal grid `t_k = k dt`, `k = 0..L-1`, repeated over `draws`.

    Returns
    -------
    Schedule
        `times` of shape (draws, L).
    """
    L, draws, dt = check_int(L, "L"), check_int(draws, "draws"), as_scalar_step(dt)
    _check_size(draws, L)
    return Schedule(_grid(L, dt, draws), dt, name="uniform")


def jitter(L, dt, magnitude, draws=1, dist="uniform", seed=None, sort=None):
    """Jittered grid `t_k = k dt + delta_k` with i.i.d. offsets `delta_k`.

    Parameters
    ----------
    L : int
        Samples per draw.
    dt : float
        Nominal step.
    magnitude : float
        `j >= 0`: `delta_k` is uniform on `[-j dt, j dt]` (`dist="uniform"`) or normal
        with standard deviation `j dt` (`dist="normal"`).
    draws : int
        Number of independent draws `M`.
    dist : {"uniform", "normal"}
    seed : int or numpy.random.Generator, optional
    sort : bool or None
        Whether to sort the times of each draw. `None` (default) sorts exactly when the
        offsets can reorder samples: never for uniform with `j < 1/2`, always for normal
        with `j > 0`. Uniform with `j >= 1/2` needs `sort=True`; normal with `j > 0`
        refuses `sort=False`.

    Returns
    -------
    Schedule
        `times` of shape (draws, L); its name says `sorted` when the times were sorted.

    Raises
    ------
    ParameterError
        `magnitude` negative or not finite, or one that can reorder samples without sorting.
    MethodError
        Unknown `dist`.
    StepSizeError
        Two sorted times tie (probability zero for continuous offsets).

    Notes
    -----
    Uniform offsets with `j < 1/2` keep the order, so `|t_k - k dt| <= j dt` holds per
    index. Normal offsets have unbounded support: any two samples swap with positive
    probability, so a normal jitter is always sorted; after sorting, `t_k` is the k-th order
    statistic of `{i dt + delta_i}`, no longer `k dt + delta_k` (the two agree unless two
    offsets differ by about `dt`, rare for `j` below 0.15). Sorting never moves a sample
    farther from its grid point than the largest offset: a sorted uniform jitter still has
    `|t_k - k dt| <= j dt`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.sampling import jitter
    >>> s = jitter(8, 0.1, 0.2, draws=3, seed=0)
    >>> s.name, s.times.shape
    ('jitter(0.2, uniform)', (3, 8))
    >>> bool(np.all(np.abs(s.times - 0.1 * np.arange(8)) <= 0.2 * 0.1))
    True
    """
    L, draws, dt = check_int(L, "L"), check_int(draws, "draws"), as_scalar_step(dt)
    _check_size(draws, L)
    j = check_real(magnitude, "magnitude")
    if j < 0:
        raise ParameterError(f"magnitude: expected a number >= 0 (in units of dt); found {j!r}.")
    if dist not in JITTER_DISTS:
        raise MethodError(f"dist: expected one of {', '.join(map(repr, JITTER_DISTS))}; found {dist!r}.")
    if sort is not None and not isinstance(sort, (bool, np.bool_)):
        raise InputTypeError(f"sort: expected True, False or None; found {sort!r}.")
    can_reorder = j >= 0.5 if dist == "uniform" else j > 0
    auto_sorted = dist == "normal" and sort is None  # normal offsets are sorted by default
    if can_reorder and not sort and not auto_sorted:
        need = "magnitude >= 0.5 lets uniform offsets" if dist == "uniform" else "normal offsets can"
        raise ParameterError(
            f"jitter: {need} reorder samples; expected sort=True (or uniform magnitude < 0.5); "
            f"found dist={dist!r}, magnitude={j!r}, sort={sort!r}. Pass sort=True to sort the times."
        )
    do_sort = bool(sort) or (sort is None and can_reorder)
    rng = as_seed_rng(seed)
    if dist == "uniform":
        times = rng.uniform(-j * dt, j * dt, (draws, L))  # the offsets delta_k
    else:
        times = rng.normal(0.0, j * dt, (draws, L))
    times += _grid(L, dt, draws)  # k dt + delta_k, in place: the same values as grid + delta
    if do_sort:
        times.sort(axis=-1)
    times.setflags(write=False)  # a new array no one else holds: the Schedule keeps it without a copy
    name = f"jitter({j:g}, {dist}{', sorted' if do_sort else ''})"
    return Schedule(times, dt, name=name)


def rate_change(L, dt, scale, draws=1):
    """Rescaled grid `t_k = k scale dt`: the test step is `scale dt`, the nominal `dt`.

    `scale > 0` finite; `scale > 1` samples more slowly than in training.
    """
    L, draws, dt = check_int(L, "L"), check_int(draws, "draws"), as_scalar_step(dt)
    _check_size(draws, L)
    s = check_real(scale, "scale")
    if s <= 0:
        raise ParameterError(f"scale: expected a number > 0; found {s!r}.")
    return Schedule(_grid(L, s * dt, draws), dt, name=f"rate_change({s:g})")


def irregular(L, dt, draws=1, seed=None, cv=1.0):
    """Irregular sampling: `t_k = sum_{i=0..k} g_i - dt` with gaps `g_i` i.i.d. of mean `dt`.

    The gaps are exponential (`cv = 1`, the default: a Poisson process started at `-dt`) or
    gamma with shape `1 / cv^2` and scale `cv^2 dt`, whose coefficient of variation (std over
    mean) is `cv`; `cv = 0` is the grid. Either way `E[t_k] = k dt`.
    `Schedule.gaps[..., 0]` is `dt` by convention; the drawn `g_0` is `t_0 + dt`.

    Parameters
    ----------
    L, dt, draws, seed
        As in [`jitter`][smr_stability.sampling.jitter].
    cv : float
        The gaps' coefficient of variation, `>= 0`: how irregular the sampling is.
    """
    L, draws, dt = check_int(L, "L"), check_int(draws, "draws"), as_scalar_step(dt)
    _check_size(draws, L)
    cv = check_real(cv, "cv")
    if cv < 0:
        raise ParameterError(f"cv: expected a coefficient of variation >= 0; found {cv!r}.")
    if cv == 0:
        return Schedule(_grid(L, dt, draws).copy(), dt, name="irregular(cv=0)")
    rng = as_seed_rng(seed)
    if cv == 1:
        g = rng.exponential(dt, (draws, L))
    else:
        g = rng.gamma(1.0 / cv**2, cv**2 * dt, (draws, L))
    name = "irregular(exponential)" if cv == 1 else f"irregular(gamma, cv={cv:g})"
    return Schedule(np.cumsum(g, axis=-1) - dt, dt, name=name)


def drops(L, dt, fraction, mode="remove", draws=1, seed=None, noise_std=1.0):
    """Drop exactly `n = round(fraction L)` grid samples per draw, chosen uniformly at random.

    Parameters
    ----------
    L, dt, draws
        As in [`uniform`][smr_stability.sampling.uniform].
    fraction : float
        In `[0, 1)`; `n` must stay below `L`.
    mode : {"remove", "zeros", "noise"}
        `"remove"`: the model sees the kept subsequence, `times` has shape
        `(draws, L - n)` and holds the kept grid times. `"zeros"`/`"noise"`: `times`
        is the full grid and `replaced` marks the dropped samples, which
        [`Schedule.sample`][smr_stability.sampling.Schedule.sample] replaces by zeros or by Gaussian
        noise of std `noise_std`.
    seed : int or numpy.random.Generator, optional
        Draws the dropped subsets and then an int seed stored in the schedule for the noise.
    noise_std : float
        Used by `mode="noise"`.

    Returns
    -------
    Schedule
    """
    L, draws, dt = check_int(L, "L"), check_int(draws, "draws"), as_scalar_step(dt)
    _check_size(draws, L)
    f = check_real(fraction, "fraction")
    if not 0.0 <= f < 1.0:
        raise ParameterError(f"fraction: expected a number in [0, 1); found {f!r}.")
    if mode not in DROP_MODES:
        raise MethodError(f"mode: expected one of {', '.join(map(repr, DROP_MODES))}; found {mode!r}.")
    n = int(round(f * L))
    if n >= L:
        raise ParameterError(
            f"drops: expected fewer than L = {L} samples dropped; found round({f!r} * {L}) = {n}. "
            "Lower fraction or lengthen the sequence."
        )
    rng = as_seed_rng(seed)
    order = np.argsort(rng.random((draws, L)), axis=-1)  # a uniform random permutation per draw
    mask = np.zeros((draws, L), dtype=bool)
    np.put_along_axis(mask, order[:, :n], True, axis=-1)
    noise_seed = int(rng.integers(0, 2**63 - 1))
    grid = _grid(L, dt, draws)
    name = f"drops({f:g}, {mode})"
    if mode == "remove":
        return Schedule(grid[~mask].reshape(draws, L - n), dt, name=name)
    return Schedule(grid, dt, name=name, replaced=mask, fill=mode, noise_std=noise_std, seed=noise_seed)


def timestamps(t, dt):
    """A schedule from user-supplied times `t` of shape (L,) (one draw) or (M, L).

    The times must be finite and strictly increasing along the last axis; `dt > 0` is the
    nominal step the model was trained with.
    """
    t = np.atleast_2d(as_array(t, "t", ndim=(1, 2), allow_complex=False))
    _check_increasing(t, "t")
    return Schedule(t, dt, name="timestamps")
