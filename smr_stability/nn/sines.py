"""The sines task: integrate a continuous-time sum of sines seen through its samples.

`u_k = u(t_k)`, a random sum of sines (P = 1); target `y_k = int_0^{t_k} u(s) ds` (Q = 1),
in closed form. [`sines_eval_set`][smr_stability.nn.sines.sines_eval_set] gives the test signals on
the perturbed schedules of `SINES_SCHEDULES`. Data containers and caching:
[`smr_stability.nn.data`][smr_stability.nn.data].
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_keys, check_real
from ..errors import InputTypeError, MethodError, ParameterError
from ..sampling import drops, irregular, jitter, rate_change, uniform
from ..signals import SumOfSines
from .data import Split, TaskConfig, cached_arrays, partition, split_array_names, task_data

__all__ = [
    "SINES_SCHEDULES",
    "SinesConfig",
    "make_sines",
    "sines_eval_set",
    "sines_schedule",
    "sines_signal",
    "sines_values",
]

#: Names of the perturbed test schedules of [`sines_eval_set`][smr_stability.nn.sines.sines_eval_set].
SINES_SCHEDULES = ("uniform", "jitter0.2", "jitter0.4", "rate1.25", "irregular", "drops0.1")


@dataclass(frozen=True)
class SinesConfig(TaskConfig):
    """Config of [`make_sines`][smr_stability.nn.sines.make_sines].

    Parameters
    ----------
    n_train, n_val, n_test : int
        Sequences per split.
    L : int
        Samples per sequence.
    dt : float
        Training step: the training grid is `t_k = k dt`, `k = 0..L-1`.
    n_terms : int
        Sines per signal.
    freq : (float, float)
        Frequency range `(lo, hi)` in cycles per unit time, `0 < lo <= hi`.
    seed : int
    """

    n_train: int = 1000
    n_val: int = 200
    n_test: int = 200
    L: int = 200
    dt: float = 0.05
    n_terms: int = 4
    freq: tuple = (0.2, 2.0)
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_val", "n_test", "L", "n_terms"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        object.__setattr__(self, "dt", check_real(self.dt, "dt", 0.0, open_lo=True))
        try:
            lo, hi = self.freq
        except (TypeError, ValueError):
            raise ParameterError(f"freq: expected a pair (lo, hi) with 0 < lo <= hi; found {self.freq!r}.") from None
        lo, hi = check_real(lo, "freq[0]", 0.0, open_lo=True), check_real(hi, "freq[1]", lo)
        object.__setattr__(self, "freq", (lo, hi))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", 0))

    @classmethod
    def small(cls, **overrides):
        """A quick config for tests: 16/8/8 sequences of length 64."""
        return cls(**{"n_train": 16, "n_val": 8, "n_test": 8, "L": 64, **check_keys(overrides, cls)})


def sines_signal(config):
    """The [`SumOfSines`][smr_stability.signals.SumOfSines] of all sequences of a sines task.

    `B = n_train + n_val + n_test` signals drawn with `seed=config.seed`; the splits take
    consecutive blocks in the order train, val, test.
    """
    n = config.n_train + config.n_val + config.n_test
    return SumOfSines(B=n, P=1, n_terms=config.n_terms, freq=config.freq, seed=config.seed)


def sines_values(signal, rows, t):
    """`u(t)` and `int_0^t u` of the signals `rows` of a [`SumOfSines`][smr_stability.signals.SumOfSines].

    Parameters
    ----------
    signal : SumOfSines
        With `P = 1`.
    rows : array of int, shape (n,)
    t : array, shape (n, L)
        Per-row times.

    Returns
    -------
    u, y : ndarray, shape (n, L, 1)
        `u(t) = sum_i a_i sin(2 pi f_i t + phi_i)` and its integral from 0,
        `sum_i a_i / (2 pi f_i) (cos phi_i - cos(2 pi f_i t + phi_i))`; C-contiguous
        whatever the memory layout of `t`.
    """
    t = np.ascontiguousarray(t, dtype=np.float64)  # (n, L): u and y come out C-contiguous
    a = signal.amplitude[rows, 0][:, None, :]  # (n 1 I)
    w = 2.0 * np.pi * signal.frequency[rows, 0][:, None, :]
    phi = signal.phase[rows, 0][:, None, :]
    arg = w * t[..., None] + phi  # (n L I)
    u = np.sum(a * np.sin(arg), axis=-1)
    y = np.sum(a / w * (np.cos(phi) - np.cos(arg)), axis=-1)
    return u[..., None], y[..., None]


def make_sines(config, cache_dir=None):
    """Sines regression: integrate a continuous-time signal seen through its samples.

    `u_k = u(t_k)` with `u(t) = sum_i a_i sin(2 pi f_i t + phi_i)` (one channel, the
    parameters of [`sines_signal`][smr_stability.nn.sines.sines_signal]) on the grid `t_k = k dt`, and target

    `y_k = int_0^{t_k} u(s) ds = sum_i a_i / (2 pi f_i) (cos phi_i - cos(2 pi f_i t_k + phi_i))`

    computed in closed form.

    Parameters
    ----------
    config : SinesConfig
    cache_dir : str or Path, optional
        See the module docstring.

    Returns
    -------
    TaskData
        `u` (n, L, 1), `y` (n, L, 1), `t` (n, L) with `t[:, k] = k dt`.

    Notes
    -----
    The target is the integral of the continuous-time signal, so it depends on *when* the
    samples were taken, not only on their values: a model that learned `y_k ~ dt sum u_j`
    on the grid keeps adding `dt` per sample when the samples arrive at other times
    ([`sines_eval_set`][smr_stability.nn.sines.sines_eval_set]), and errs by the integral over the
    true gaps. A model that reads the timestamps (S5 with the true `t_k - t_{k-1}`) can follow. The
    integral, unlike a delayed copy `u(t_k + d)`, is also exactly what a diagonal SSM with a zero
    eigenvalue computes, so the task probes the discretization at the heart of the paper.
    The integral stays bounded by `sum_i a_i / (pi f_i)` (about 2.4 for the default
    frequencies).

    Examples
    --------
    >>> from smr_stability.nn.sines import SinesConfig, make_sines
    >>> import tempfile
    >>> data = make_sines(SinesConfig.small(), cache_dir=tempfile.mkdtemp())
    >>> data.train.u.shape, data.test.y.shape, data.val.t.dtype
    ((16, 64, 1), (8, 64, 1), dtype('float64'))
    """
    if not isinstance(config, SinesConfig):
        raise InputTypeError(f"config: expected a SinesConfig; found {type(config).__name__}.")

    def generate():
        signal = sines_signal(config)
        n = signal.B
        t = np.broadcast_to(config.dt * np.arange(config.L), (n, config.L))
        u, y = sines_values(signal, np.arange(n), t)
        return partition(config, u.astype(np.float32), y.astype(np.float32), np.array(t))

    return task_data(config, cached_arrays("sines", config, cache_dir, generate, split_array_names()))


def sines_schedule(config, schedule_name):
    """The [`Schedule`][smr_stability.sampling.Schedule] of one perturbed test set.

    One draw per test sequence (`draws = n_test`), seeded by `[config.seed, i]` with `i`
    the position of `schedule_name` in `SINES_SCHEDULES`:

    `uniform`: the grid; `jitter0.2`/`jitter0.4`: uniform jitter of 0.2/0.4 `dt`;
    `rate1.25`: `t_k = 1.25 k dt`; `irregular`: exponential gaps of mean `dt`;
    `drops0.1`: 10% of the samples replaced by zeros (times stay on the grid).
    """
    if schedule_name not in SINES_SCHEDULES:
        raise MethodError(
            f"schedule_name: expected one of {', '.join(map(repr, SINES_SCHEDULES))}; found {schedule_name!r}."
        )
    L, dt, M = config.L, config.dt, config.n_test
    rng = np.random.default_rng([config.seed, SINES_SCHEDULES.index(schedule_name)])
    if schedule_name == "uniform":
        return uniform(L, dt, draws=M)
    if schedule_name.startswith("jitter"):
        return jitter(L, dt, float(schedule_name[6:]), draws=M, seed=rng)
    if schedule_name == "rate1.25":
        return rate_change(L, dt, 1.25, draws=M)
    if schedule_name == "irregular":
        return irregular(L, dt, draws=M, seed=rng)
    return drops(L, dt, 0.1, mode="zeros", draws=M, seed=rng)


def schedule_names(schedules):
    """The list of names in `schedules` (default all of `SINES_SCHEDULES`), checked."""
    if schedules is None:
        return list(SINES_SCHEDULES)
    if isinstance(schedules, str) or not all(isinstance(n, str) for n in schedules):
        raise InputTypeError(
            f"schedules: expected a list of schedule names (e.g. ['jitter0.2']); found {schedules!r}. "
            "Wrap a single name in a list."
        )
    names = list(schedules) or list(SINES_SCHEDULES)
    unknown = [n for n in names if n not in SINES_SCHEDULES]
    if unknown:
        raise ParameterError(
            f"schedules: expected names among {list(SINES_SCHEDULES)}; found unknown schedule(s) {unknown}."
        )
    return names


def sines_eval_set(config, schedule_name, cache_dir=None):
    """The test signals of a sines task sampled on a perturbed schedule.

    Parameters
    ----------
    config : SinesConfig
    schedule_name : str
        One of `SINES_SCHEDULES` (see [`sines_schedule`][smr_stability.nn.sines.sines_schedule]).
    cache_dir : str or Path, optional

    Returns
    -------
    Split
        `u` (n_test, L, 1): the test signals at the schedule's true times (zeros at the
        dropped samples of `drops0.1`); `y` (n_test, L, 1): `int_0^{t_k} u` at the
        true times; `t` (n_test, L): the true times. `uniform` reproduces the test split.

    Examples
    --------
    >>> from smr_stability.nn.sines import SinesConfig, sines_eval_set
    >>> import numpy as np, tempfile
    >>> ev = sines_eval_set(SinesConfig.small(), "rate1.25", cache_dir=tempfile.mkdtemp())
    >>> bool(np.allclose(ev.t[0, :3], [0.0, 0.0625, 0.125]))
    True
    """
    if not isinstance(config, SinesConfig):
        raise InputTypeError(f"config: expected a SinesConfig; found {type(config).__name__}.")
    schedule = sines_schedule(config, schedule_name)

    def generate():
        signal = sines_signal(config)
        rows = config.n_train + config.n_val + np.arange(config.n_test)
        u, y = sines_values(signal, rows, schedule.times)
        if schedule.replaced is not None:
            u = np.where(schedule.replaced[..., None], 0.0, u)
        return {"u": u.astype(np.float32), "y": y.astype(np.float32), "t": np.array(schedule.times)}

    arrays = cached_arrays("sines_eval", config, cache_dir, generate, ["u", "y", "t"], extra=schedule_name)
    return Split(arrays["u"], arrays["y"], arrays["t"])
