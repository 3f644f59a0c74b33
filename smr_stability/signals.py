"""Continuous-time input signals that can be evaluated at any time (docs/theory.md §2).

A sampling schedule ([`smr_stability.sampling`][smr_stability.sampling]) says *when* a model sees its input; a
signal says *what* it sees then. Every signal is a batch of `B` independent signals with
`P` channels and shares one interface:

- attributes `B` (batch size) and `P` (channels);
- `signal(t)`: `t` a real array of any shape `T` (a scalar included) returns float64
  values of shape `(B,) + T + (P,)`. Non-finite `t` raises
  [`NonFiniteError`][smr_stability.errors.NonFiniteError].

So `signal(schedule.times)` has shape `(B, M, L, P)`, what
[`Schedule.sample`][smr_stability.sampling.Schedule.sample] returns.

| signal | definition |
|---|---|
| [`SumOfSines`][smr_stability.signals.SumOfSines] | `u(t) = sum_i a_i sin(2 pi f_i t + phi_i)`, random per (b, p, i) |
| [`Pendulum`][smr_stability.signals.Pendulum] | the damped, noisy pendulum of the RKN/CRU benchmark, simulated on a fine grid and interpolated linearly |
| [`ArraySignal`][smr_stability.signals.ArraySignal] | user samples, zero-order hold or linear interpolation |
"""

import numpy as np

from ._validation import as_array, as_scalar_step, as_seed_rng, check_int, check_real, readonly
from ._vecmath import sum_of_sines
from .errors import MethodError, ParameterError, ShapeError, StepSizeError

__all__ = ["Signal", "SumOfSines", "Pendulum", "ArraySignal", "PENDULUM_OBSERVATIONS", "INTERPOLATIONS"]

#: Observations of [`Pendulum`][smr_stability.signals.Pendulum] and their channels.
PENDULUM_OBSERVATIONS = {"angle": 1, "sincos": 2, "velocity": 1, "all": 4}
#: Interpolations of [`ArraySignal`][smr_stability.signals.ArraySignal].
INTERPOLATIONS = ("zoh", "linear")


class Signal:
    """Base class: validates `t` and reshapes; subclasses implement `_evaluate`.

    `_evaluate(t)` takes a finite 1-D float64 array of `n` times and returns a new array of
    shape `(B, n, P)` (never a view of the signal's own data: `Schedule.sample` hands it out
    without copying).
    """

    B = 1
    P = 1

    def __call__(self, t):
        t = as_array(t, "t", allow_complex=False)
        out = self._evaluate(t.reshape(-1))
        return out.reshape((self.B,) + t.shape + (self.P,))

    def _evaluate(self, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(B={self.B}, P={self.P})"


class SumOfSines(Signal):
    """Random sums of sines `u_{b,p}(t) = sum_i a_i sin(2 pi f_i t + phi_i)`.

    Parameters
    ----------
    B : int
        Number of independent signals.
    P : int
        Channels.
    n_terms : int
        Sines per (signal, channel), `>= 1`.
    freq : (float, float)
        `(lo, hi)` with `0 < lo <= hi`: frequencies `f_i ~ U(lo, hi)` in cycles per unit
        time.
    seed : int or numpy.random.Generator, optional

    Attributes
    ----------
    amplitude, frequency, phase : ndarray, shape (B, P, n_terms)
        `a_i ~ U(0.5, 1.5) / n_terms` (so `|u| < 1.5`), `f_i ~ U(lo, hi)`,
        `phi_i ~ U(0, 2 pi)`, independent per `(b, p, i)`; read-only.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.signals import SumOfSines
    >>> u = SumOfSines(B=2, P=3, n_terms=4, seed=0)
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> u(t).shape
    (2, 5, 3)
    >>> a, f, phi = u.amplitude[1, 2], u.frequency[1, 2], u.phase[1, 2]
    >>> bool(np.isclose(u(0.3)[1, 2], np.sum(a * np.sin(2 * np.pi * f * 0.3 + phi))))
    True
    """

    def __init__(self, B=1, P=1, n_terms=4, freq=(0.2, 2.0), seed=None):
        self.B, self.P = check_int(B, "B"), check_int(P, "P")
        self.n_terms = check_int(n_terms, "n_terms")
        try:
            lo, hi = freq
        except (TypeError, ValueError):
            raise ParameterError(f"freq: expected a pair (lo, hi) with 0 < lo <= hi; found {freq!r}.") from None
        lo, hi = check_real(lo, "freq[0]"), check_real(hi, "freq[1]")
        if not 0 < lo <= hi:
            raise ParameterError(f"freq: expected a pair (lo, hi) with 0 < lo <= hi; found ({lo!r}, {hi!r}).")
        self.freq = (lo, hi)
        rng = as_seed_rng(seed)
        shape = (self.B, self.P, self.n_terms)
        self.amplitude = readonly(rng.uniform(0.5, 1.5, shape) / self.n_terms)
        self.frequency = readonly(rng.uniform(lo, hi, shape))
        self.phase = readonly(rng.uniform(0.0, 2.0 * np.pi, shape))

    def _evaluate(self, t):
        out = np.empty((self.B, t.size, self.P))
        omega = 2.0 * np.pi * self.frequency  # (B, P, I)
        sum_of_sines(np.ascontiguousarray(t), self.amplitude, omega, self.phase, out)
        return out


def _lerp(grid, values, t):
    """Linear interpolation of `values` (B, n, C) on `grid` (n,) at `t` inside the grid.

    Returns exactly `values[:, k]` at `t = grid[k]` (weights 1 and 0).
    """
    if grid.size == 1:
        return np.repeat(values, t.size, axis=1)
    k = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 2)
    w = np.clip((t - grid[k]) / (grid[k + 1] - grid[k]), 0.0, 1.0)[None, :, None]
    return (1.0 - w) * values[:, k] + w * values[:, k + 1]


class Pendulum(Signal):
    """The damped, noisy pendulum of the RKN/CRU benchmark, as a continuous-time signal.

    The angle `theta` (0 hanging down) and angular velocity `omega` obey
    `dtheta = omega dt`, `domega = (-(g/length) sin theta - friction omega) dt + sigma dW`,
    integrated by semi-implicit (symplectic) Euler on the fine grid
    `t_n = -1 + n sim_dt` up to at least `duration`:

    `omega_{n+1} = omega_n + sim_dt (-(g/length) sin theta_n - friction omega_n) + sigma sqrt(sim_dt) xi_n`,
    `theta_{n+1} = theta_n + sim_dt omega_{n+1}`, `xi_n ~ N(0, 1)`, `sigma = transition_noise_std`.

    Between grid nodes the state is interpolated linearly, then observed.

    Parameters
    ----------
    B : int
        Number of independent pendulums.
    duration : float
        End of the simulated window `[-1, duration]`; the window starts at -1 so that
        slightly negative (jittered) times can be evaluated.
    seed : int or numpy.random.Generator, optional
    sim_dt : float
        Fine integration step.
    friction : float
        Linear damping coefficient (per unit time), `>= 0`.
    transition_noise_std : float
        `sigma >= 0`: the velocity receives Brownian increments of std `sigma sqrt(sim_dt)`
        per fine step, so its noise variance per unit time is `sigma**2` whatever `sim_dt`.
    g, length : float
        Gravity and pendulum length, `> 0` (a point mass: `omega' = -(g/length) sin theta`).
    observe : {"angle", "sincos", "velocity", "all"}
        `angle`: `theta` (P=1, continuous, not wrapped); `sincos`: `(sin theta,
        cos theta)` (P=2); `velocity`: `omega` (P=1); `all`: `(theta, sin theta,
        cos theta, omega)` (P=4).
    max_init_velocity : float
        `omega(-1) ~ U(-v, v)`; `theta(-1) ~ U(-pi, pi)`.

    Attributes
    ----------
    sim_times : ndarray, shape (n,)
        The fine grid.
    theta, omega : ndarray, shape (B, n)
        The simulated states on it (read-only).

    Raises
    ------
    ParameterError
        When evaluated at times outside the simulated window.

    Notes
    -----
    Becker et al. (RKN, ICML 2019) and Schirmer et al. (CRU, ICML 2022) simulate a uniform
    rod (`omega' = -(3 g / length) sin theta`: pass `length=1/3` here for their
    `length=1`) with `g = 9.81`, friction 0.1, `sim_dt = 1e-4`, initial angle uniform and
    initial velocity 0 (`max_init_velocity=0`), and add `N(0, 0.1^2)` to the velocity once
    per observation step (RKN's default step is 0.05; CRU's regression task observes every
    0.01, released at `t = 0`: that task is [`smr_stability.nn.pendulum`][smr_stability.nn.pendulum]). Once per step
    `dt` corresponds to `transition_noise_std = 0.1 / sqrt(dt)` here. The noise here enters
    at every fine step instead, so the trajectory does not depend on an observation step, which
    a signal sampled at arbitrary times must not. The angle is not wrapped to `[-pi, pi)`, so
    it stays continuous.

    With `friction = sigma = 0` the energy `omega^2/2 - (g/length) cos theta` is not
    conserved exactly but its error stays `O(sim_dt)` for all times (symplectic Euler).

    References
    ----------
    Becker, Pandya, Gebhardt, Zhao, Taylor, Neumann, "Recurrent Kalman Networks", ICML 2019;
    Schirmer, Eltayeb, Lessmann, Rudolph, "Modeling Irregular Time Series with Continuous
    Recurrent Units", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.signals import Pendulum
    >>> pend = Pendulum(B=2, duration=2.0, seed=0, observe="all")
    >>> u = pend(np.array([0.0, 0.5, 1.0]))
    >>> u.shape
    (2, 3, 4)
    >>> bool(np.allclose(u[..., 1], np.sin(u[..., 0])))
    True
    """

    t_start = -1.0

    def __init__(
        self,
        B=1,
        duration=5.0,
        seed=None,
        sim_dt=1e-3,
        friction=0.1,
        transition_noise_std=0.1,
        g=9.81,
        length=1.0,
        observe="angle",
        max_init_velocity=1.0,
    ):
        self.B = check_int(B, "B")
        self.duration = check_real(duration, "duration")
        if self.duration <= self.t_start:
            raise ParameterError(f"duration: expected a number > {self.t_start}; found {self.duration!r}.")
        self.sim_dt = h = as_scalar_step(sim_dt, "sim_dt")
        params = {}
        for name, value, positive in (
            ("friction", friction, False),
            ("transition_noise_std", transition_noise_std, False),
            ("g", g, True),
            ("length", length, True),
            ("max_init_velocity", max_init_velocity, False),
        ):
            x = check_real(value, name)
            if x < 0 or (positive and x == 0):
                raise ParameterError(f"{name}: expected a number {'>' if positive else '>='} 0; found {x!r}.")
            params[name] = x
        self.friction, self.transition_noise_std = params["friction"], params["transition_noise_std"]
        self.g, self.length, self.max_init_velocity = params["g"], params["length"], params["max_init_velocity"]
        if observe not in PENDULUM_OBSERVATIONS:
            raise MethodError(
                f"observe: expected one of {', '.join(map(repr, PENDULUM_OBSERVATIONS))}; found {observe!r}."
            )
        self.observe, self.P = observe, PENDULUM_OBSERVATIONS[observe]

        span = self.duration - self.t_start
        n_steps = max(int(np.ceil(span / h - 1e-9)), 1)
        if self.t_start + n_steps * h < self.duration:
            n_steps += 1
        self.sim_times = readonly(self.t_start + h * np.arange(n_steps + 1))
        self.theta, self.omega = (readonly(x) for x in self._simulate(as_seed_rng(seed), n_steps))

    def _simulate(self, rng, n_steps):
        B, h, c, fr = self.B, self.sim_dt, self.g / self.length, self.friction
        theta = np.empty((B, n_steps + 1))
        omega = np.empty((B, n_steps + 1))
        th = rng.uniform(-np.pi, np.pi, B)
        w = rng.uniform(-self.max_init_velocity, self.max_init_velocity, B)
        theta[:, 0], omega[:, 0] = th, w
        kick = self.transition_noise_std * np.sqrt(h)
        for n in range(n_steps):
            w = w + h * (-c * np.sin(th) - fr * w)
            if kick > 0:
                w = w + kick * rng.standard_normal(B)
            th = th + h * w
            theta[:, n + 1], omega[:, n + 1] = th, w
        return theta, omega

    def _evaluate(self, t):
        lo, hi = self.sim_times[0], self.sim_times[-1]
        outside = (t < lo) | (t > hi)
        if np.any(outside):
            bad = float(t[outside][0])
            fix = (
                f"The window always starts at {self.t_start:g}: shift the times."
                if bad < lo
                else f"Build it with a longer duration (duration >= {float(np.max(t)):g})."
            )
            raise ParameterError(
                f"Pendulum evaluated outside its simulated window: expected times in [{lo:g}, {hi:g}]; "
                f"found t = {bad!r}. {fix}"
            )
        state = _lerp(self.sim_times, np.stack([self.theta, self.omega], axis=-1), t)
        th, w = state[..., 0], state[..., 1]
        if self.observe == "angle":
            return th[..., None]
        if self.observe == "velocity":
            return w[..., None]
        if self.observe == "sincos":
            return np.stack([np.sin(th), np.cos(th)], axis=-1)
        return np.stack([th, np.sin(th), np.cos(th), w], axis=-1)


class ArraySignal(Signal):
    """A signal from samples `values` at strictly increasing `times`.

    Parameters
    ----------
    values : array, shape (B, L0, P), (L0, P) or (L0,)
        Samples; the 2-D and 1-D forms are one signal (`B = 1`), the 1-D form one channel.
    times : array, shape (L0,)
        Strictly increasing sample times.
    interp : {"zoh", "linear"}
        `"zoh"`: the value of the last sample at or before `t`, the first value before
        `times[0]`. `"linear"`: linear between samples, as `np.interp`, constant (first
        or last value) outside `[times[0], times[-1]]`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.signals import ArraySignal
    >>> s = ArraySignal([0.0, 1.0, 4.0], times=[0.0, 1.0, 2.0], interp="linear")
    >>> s(np.array([-1.0, 0.5, 1.5, 3.0]))[0, :, 0]
    array([0. , 0.5, 2.5, 4. ])
    >>> ArraySignal([0.0, 1.0, 4.0], [0.0, 1.0, 2.0], interp="zoh")(1.5)[0, 0]
    np.float64(1.0)
    """

    def __init__(self, values, times, interp="zoh"):
        if interp not in INTERPOLATIONS:
            raise MethodError(f"interp: expected one of {', '.join(map(repr, INTERPOLATIONS))}; found {interp!r}.")
        values = as_array(values, "values", ndim=(1, 2, 3), allow_complex=False)
        if values.ndim == 1:
            values = values[None, :, None]
        elif values.ndim == 2:
            values = values[None]
        times = as_array(times, "times", ndim=1, allow_complex=False)
        if times.size < 1:
            raise ShapeError("times: expected at least one sample time; found shape (0,).")
        if values.shape[1] != times.size or values.shape[0] < 1 or values.shape[2] < 1:
            raise ShapeError(
                f"values: expected shape (B, {times.size}, P) with B, P >= 1 (one sample per time, "
                f"len(times) = {times.size}); found {values.shape} (as (B, L0, P)). "
                "Pass as many samples as times."
            )
        gaps = np.diff(times)
        if np.any(gaps <= 0):
            k = int(np.argmax(gaps <= 0)) + 1
            what = "a duplicated" if times[k] == times[k - 1] else "a decreasing"
            raise StepSizeError(
                f"times: expected strictly increasing sample times; found {what} time at index {k}: "
                f"times[{k}] = {times[k]!r} after {times[k - 1]!r}. Sort the samples and remove duplicates."
            )
        self.values, self.times, self.interp = readonly(values), readonly(times), interp
        self.B, self.P = values.shape[0], values.shape[2]

    def _evaluate(self, t):
        if self.interp == "linear":
            return _lerp(self.times, self.values, t)
        k = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, None)
        return self.values[:, k]
