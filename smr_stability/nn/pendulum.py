"""The pendulum task: CRU's pendulum regression, frames of a swinging rod under time-correlated noise.

The recipe is the "pendulum regression" data of CRU (Schirmer et al. 2022), whose generator
derives from RKN's (Becker et al. 2019), with the validation split that S5 (Smith et al.
2023) adds: a damped rod released from rest, filmed every `dt = 0.01` s for 100 frames of
24 x 24 pixels (a line drawn on a 128 px canvas, Lanczos-downsampled), each frame blended
with uniform noise by a per-sequence random walk (the first 5 frames clean), and 50 of the 100
frames kept at random, sorted times. Inputs: the kept frames flattened (P = `size**2`);
targets `(sin theta, cos theta)` of the true angle (Q = 2). Data containers and caching:
[`smr_stability.nn.data`][smr_stability.nn.data].

References
----------
Schirmer, Eltayeb, Lessmann, Rudolph, "Modeling Irregular Time Series with Continuous
Recurrent Units", ICML 2022 (CRU). Smith, Warrington, Linderman, "Simplified State Space
Layers for Sequence Modeling", ICLR 2023 (S5). Becker, Pandya, Gebhardt, Zhao, Taylor,
Neumann, "Recurrent Kalman Networks", ICML 2019 (RKN).
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_bool, check_finite, check_int, check_keys, check_real, readonly
from ..errors import InputTypeError, ParameterError
from .data import TaskConfig, cached_arrays, partition, split_array_names, task_data

__all__ = [
    "GRAVITY",
    "ROD_LENGTH",
    "PendulumConfig",
    "make_pendulum",
    "noise_visibility",
    "pendulum_physics",
    "render_pendulum",
]

#: Gravity (m/s^2) and rod length (m) of the simulated pendulum: `theta'' = -(3 g / l) sin theta - ...`.
GRAVITY = 9.81
ROD_LENGTH = 1.0


@dataclass(frozen=True)
class PendulumConfig(TaskConfig):
    """Config of [`make_pendulum`][smr_stability.nn.pendulum.make_pendulum]; the defaults are CRU's
    pendulum regression recipe.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Sequences per split (CRU: 2000 train, 1000 test; S5 adds a validation split drawn the
        same way, 2000 sequences in its data script; 1000 here).
    steps : int
        Frames simulated per sequence, at `t_k = k dt`, `k = 0..steps-1` (CRU: 100).
    keep : int
        Frames kept per sequence, at sorted random indices, `1 <= keep <= steps` (CRU: 50).
    size : int
        Frames are `size x size` grayscale images (CRU: 24).
    canvas : int
        Side in pixels of the canvas the rod is drawn on before downsampling (CRU: 128).
    line_length : float
        Length in canvas pixels of the drawn rod, from the pivot at the canvas centre (CRU: 55).
    line_width : int
        Width in canvas pixels of the drawn rod (CRU: 8).
    dt : float
        Time between frames, in seconds (CRU: 0.01).
    sim_dt : float
        Step of the semi-implicit Euler integrator; `dt / sim_dt` must be a whole number
        (CRU: 1e-4, i.e. 100 sub-steps per frame).
    friction : float
        Linear damping `f >= 0` of the angular velocity, per second (CRU: 0.1).
    process_noise : float
        `sigma >= 0`: after each frame interval the angular velocity receives an independent
        `N(0, sigma^2)` kick (CRU: 0.1); 0 gives the noiseless ODE.
    observation_noise : float
        Standard deviation of the Gaussian perturbation of the angle each frame is drawn from
        (CRU: 1e-5 rad, well below a canvas pixel); the targets use the true angle.
    noise : float
        Strength in `[0, 1]` of the image noise: the noise weight of a frame is
        `noise (1 - v_k)`; 0 gives clean frames, 1 is CRU.
    noise_step : float
        `r >= 0`: step range of the random walk of the noise process (CRU: 0.2).
    noise_low, noise_high : (float, float)
        Ranges of the per-sequence thresholds `t1 ~ U(noise_low)` and `t2 ~ U(noise_high)`,
        `0 <= noise_low[0] <= noise_low[1] < noise_high[0] <= noise_high[1] <= 1`
        (CRU: (0, 0.25) and (0.75, 1)).
    clean_frames : int
        The first `clean_frames` frames of every sequence (before subsampling) are left
        clean, `0 <= clean_frames <= steps` (CRU: 5).
    quantize : bool
        Quantize like CRU's uint8 storage: clean frames become `floor(255 x) / 255` and noisy
        ones `floor(mix) / 255` with the mix on the 0..255 scale (see
        [`make_pendulum`][smr_stability.nn.pendulum.make_pendulum]).
    seed : int
    """

    n_train: int = 2000
    n_val: int = 1000
    n_test: int = 1000
    steps: int = 100
    keep: int = 50
    size: int = 24
    canvas: int = 128
    line_length: float = 55.0
    line_width: int = 8
    dt: float = 0.01
    sim_dt: float = 1e-4
    friction: float = 0.1
    process_noise: float = 0.1
    observation_noise: float = 1e-5
    noise: float = 1.0
    noise_step: float = 0.2
    noise_low: tuple = (0.0, 0.25)
    noise_high: tuple = (0.75, 1.0)
    clean_frames: int = 5
    quantize: bool = True
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_val", "n_test", "steps", "keep"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        if self.keep > self.steps:
            raise ParameterError(
                f"keep: expected keep <= steps = {self.steps}; found {self.keep}. Keep at most as many frames as simulated."
            )
        object.__setattr__(self, "size", check_int(self.size, "size", 8))
        object.__setattr__(self, "canvas", check_int(self.canvas, "canvas", self.size))
        object.__setattr__(self, "line_width", check_int(self.line_width, "line_width", 1))
        half = self.canvas // 2
        object.__setattr__(self, "line_length", check_real(self.line_length, "line_length", 0.0, half, open_lo=True))
        object.__setattr__(self, "dt", check_real(self.dt, "dt", 0.0, open_lo=True))
        object.__setattr__(self, "sim_dt", check_real(self.sim_dt, "sim_dt", 0.0, self.dt, open_lo=True))
        ratio = self.dt / self.sim_dt
        if abs(ratio - round(ratio)) > 1e-6 * ratio:
            raise ParameterError(
                f"sim_dt: expected dt / sim_dt to be a whole number of sub-steps; found dt / sim_dt = {ratio:.6g}. "
                "Choose sim_dt = dt / m for an integer m."
            )
        for name in ("friction", "process_noise", "observation_noise", "noise_step"):
            object.__setattr__(self, name, check_real(getattr(self, name), name, 0.0))
        object.__setattr__(self, "noise", check_real(self.noise, "noise", 0.0, 1.0))
        low, high = _pair(self.noise_low, "noise_low"), _pair(self.noise_high, "noise_high")
        if not 0.0 <= low[0] <= low[1] < high[0] <= high[1] <= 1.0:
            raise ParameterError(
                "noise_low, noise_high: expected 0 <= noise_low[0] <= noise_low[1] < noise_high[0] <= noise_high[1] <= 1; "
                f"found {low} and {high}. Pass ordered threshold ranges inside [0, 1], e.g. (0, 0.25) and (0.75, 1)."
            )
        object.__setattr__(self, "noise_low", low)
        object.__setattr__(self, "noise_high", high)
        object.__setattr__(self, "clean_frames", check_int(self.clean_frames, "clean_frames", 0))
        if self.clean_frames > self.steps:
            raise ParameterError(
                f"clean_frames: expected clean_frames <= steps = {self.steps}; found {self.clean_frames}."
            )
        if not isinstance(self.quantize, (bool, np.bool_)):
            raise InputTypeError(
                f"quantize: expected True or False; found {self.quantize!r} ({type(self.quantize).__name__})."
            )
        object.__setattr__(self, "quantize", bool(self.quantize))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", 0))

    @classmethod
    def small(cls, **overrides):
        """A quick config for tests: 16/8/8 sequences, otherwise the benchmark's."""
        return cls(**{"n_train": 16, "n_val": 8, "n_test": 8, **check_keys(overrides, cls)})

    @property
    def n(self):
        """Sequences in all splits, `n_train + n_val + n_test`."""
        return self.n_train + self.n_val + self.n_test


def _pair(value, name):
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a pair (lo, hi) with lo <= hi; found {value!r}.") from None
    lo = check_real(lo, f"{name}[0]")
    return lo, check_real(hi, f"{name}[1]", lo)


def _check_config(config):
    if not isinstance(config, PendulumConfig):
        raise InputTypeError(
            f"config: expected a PendulumConfig; found {type(config).__name__}. Build one with PendulumConfig(...)."
        )


def pendulum_physics(config):
    """The angle and angular velocity of every sequence of a task on the frame grid.

    A uniform rod of length `l = ROD_LENGTH` (moment of inertia `m l^2 / 3` about the
    pivot) under gravity `g = GRAVITY` with linear friction `f`, the angle `theta`
    measured from hanging straight down:

    `theta'' = -c sin theta - f theta'`,  `c = 3 g / l`  (29.43 / s^2).

    Each sequence is released from rest, `theta(0) ~ U(-pi, pi)`, `omega(0) = 0`. A frame
    interval `dt` is `m = dt / sim_dt` semi-implicit Euler steps of `h = sim_dt`,

    `omega <- omega + h (-c sin theta - f omega)`,  `theta <- theta + h omega`,

    after which the velocity takes the process-noise kick `omega <- omega + sigma xi`,
    `xi ~ N(0, 1)`, `sigma = process_noise`; the state then is frame `k + 1`. This is
    CRU's regression recipe (there `dt = 0.01`, `sim_dt = 1e-4`, `f = 0.1`, `sigma =
    0.1`), written in the hanging-down angle: CRU integrates `phi = theta + pi` with
    `+c sin phi` and reports `phi - pi`, wrapped to `[-pi, pi)`; the angle here is not
    wrapped (it stays continuous), which changes neither `sin`/`cos` nor the frames.

    Seeding: `numpy.random.default_rng([config.seed, 0])` draws the initial angles first (so
    they do not depend on `process_noise`), then one kick per sequence per frame interval.
    The `n = n_train + n_val + n_test` rows are the splits in order train, val, test.

    Parameters
    ----------
    config : PendulumConfig

    Returns
    -------
    theta, omega : ndarray, shape (n, steps)
        Read-only float64 angle (rad) and angular velocity (rad/s) at `t_k = k dt`.
    """
    _check_config(config)
    n, S = config.n, config.steps
    rng = np.random.default_rng([config.seed, 0])
    th = rng.uniform(-np.pi, np.pi, n)
    om = np.zeros(n)
    h, m = config.sim_dt, int(round(config.dt / config.sim_dt))
    c, f, sigma = 3.0 * GRAVITY / ROD_LENGTH, config.friction, config.process_noise
    theta, omega = np.empty((n, S)), np.empty((n, S))
    theta[:, 0], omega[:, 0] = th, om
    for k in range(1, S):
        for _ in range(m):
            om = om + h * (-c * np.sin(th) - f * om)
            th = th + h * om
        if sigma > 0.0:
            om = om + sigma * rng.standard_normal(n)
        theta[:, k], omega[:, k] = th, om
    return readonly(theta), readonly(omega)


def noise_visibility(config):
    """The visibility `v_k` in [0, 1] of every frame (1 clean, 0 pure noise): CRU's noise process.

    Per sequence, a random walk clipped to [0, 1] and a random contrast stretch:

    `w_0 ~ U(0, 1)`,  `w_{k+1} = clip(w_k + U(-r, r), 0, 1)`,
    `v_k = clip((w_k - t1) / (t2 - t1), 0, 1)`,  `t1 ~ U(noise_low)`, `t2 ~ U(noise_high)`,

    with `r = noise_step`; then `v_k = 1` for `k < clean_frames`. A frame is pure noise
    where `w_k <= t1` and clean where `w_k >= t2`. CRU: `r = 0.2`, `t1 ~ U(0, 0.25)`,
    `t2 ~ U(0.75, 1)`, 5 clean frames. Seed: `numpy.random.default_rng([config.seed, 2])`.

    Parameters
    ----------
    config : PendulumConfig

    Returns
    -------
    ndarray, shape (n, steps)
        Read-only float64.
    """
    _check_config(config)
    n, S, r = config.n, config.steps, config.noise_step
    rng = np.random.default_rng([config.seed, 2])
    w = np.empty((n, S))
    w[:, 0] = rng.uniform(0.0, 1.0, n)
    kicks = rng.uniform(-r, r, (n, S - 1))
    for k in range(S - 1):
        w[:, k + 1] = np.clip(w[:, k] + kicks[:, k], 0.0, 1.0)
    t1 = rng.uniform(*config.noise_low, (n, 1))
    t2 = rng.uniform(*config.noise_high, (n, 1))
    v = np.clip((w - t1) / (t2 - t1), 0.0, 1.0)
    v[:, : config.clean_frames] = 1.0
    return readonly(v)


def _line_ends(theta, canvas, line_length):
    """Integer end points (column, row) of the drawn rod: `trunc(canvas // 2 + L (sin, cos) theta)`."""
    pivot = canvas // 2
    col = np.trunc(np.sin(theta) * line_length + pivot).astype(np.int64)
    row = np.trunc(np.cos(theta) * line_length + pivot).astype(np.int64)
    return col, row


def _draw(ends, size, canvas, line_width):
    """Frames of rods from the canvas centre to the integer end points `ends` (m, 2), PIL-rendered."""
    from PIL import Image, ImageDraw

    pivot = canvas // 2
    out = np.empty((len(ends), size, size), dtype=np.float32)
    for i, (col, row) in enumerate(ends):
        img = Image.new("F", (canvas, canvas), 0.0)
        ImageDraw.Draw(img).line([(pivot, pivot), (int(col), int(row))], fill=1.0, width=line_width)
        small = img.resize((size, size), resample=Image.Resampling.LANCZOS)
        out[i] = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    return out


def _render_table(theta, size, canvas, line_length, line_width):
    """`(table, index)` with `table[index]` the frames of `theta`, each distinct end point drawn once."""
    col, row = _line_ends(theta, canvas, line_length)
    ends, index = np.unique(np.stack([col.ravel(), row.ravel()], axis=-1), axis=0, return_inverse=True)
    return _draw(ends, size, canvas, line_width), index.reshape(np.shape(theta))


def render_pendulum(theta, size=24, canvas=128, line_length=55.0, line_width=8):
    """Clean grayscale frames of the rod at angles `theta`, drawn as in CRU.

    On a black `canvas x canvas` float image a white (1.0) line of width `line_width` is
    drawn with PIL's `ImageDraw.line` from the pivot `(c, c)`, `c = canvas // 2`, to the
    end point `(trunc(c + L sin theta), trunc(c + L cos theta))` (column, row; rows grow
    downwards, so `theta = 0` hangs down and `theta = pi/2` points right), `L =
    line_length`; PIL truncates the coordinates of wide lines to integers, which is done here
    explicitly so that the frame depends on the end point only. The canvas is downsampled to
    `size x size` with PIL's Lanczos filter (CRU's `Image.ANTIALIAS`) and clipped to
    [0, 1] (the Lanczos kernel rings slightly outside). CRU: canvas 128, `L = 55`, width 8,
    size 24. Each distinct end point is drawn once.

    Parameters
    ----------
    theta : array, shape S
        Angles in rad, from hanging straight down.
    size, canvas : int
    line_length : float
    line_width : int

    Returns
    -------
    ndarray, shape S + (size, size)
        float32 values in [0, 1], not quantized.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.nn.pendulum import render_pendulum
    >>> img = render_pendulum(np.array(0.0))
    >>> img.shape, float(img.max()), int(np.argmax(img.sum(axis=1))) > 12  # the rod hangs low
    ((24, 24), 1.0, True)
    """
    size = check_int(size, "size", 1)
    canvas = check_int(canvas, "canvas", size)
    line_length = check_real(line_length, "line_length", 0.0, canvas // 2, open_lo=True)
    line_width = check_int(line_width, "line_width", 1)
    try:
        theta = np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"theta: expected an array of real angles; found {type(theta).__name__}.") from None
    check_finite(theta, "theta")
    table, index = _render_table(theta, size, canvas, line_length, line_width)
    return table[index]


def make_pendulum(config, cache_dir=None, progress=None):
    """CRU's pendulum regression task, with S5's validation split.

    For the `n = n_train + n_val + n_test` sequences (splits in that order) the angles
    `theta_k` of [`pendulum_physics`][smr_stability.nn.pendulum.pendulum_physics] at `t_k = k dt`,
    `k = 0..steps-1`, give the targets `y_k = (sin theta_k, cos theta_k)`. Per sequence `keep` of
    the `steps` indices are drawn without replacement and sorted (`default_rng([seed, 1])`); only those
    frames are kept, with their times `t_k = k dt`. Kept frame `k` is

    `x_k = (1 - a_k) q_k + a_k 255 U_k`,  `a_k = noise (1 - v_k)`,  `u_k = floor(x_k) / 255`

    with `q_k = floor(255 c_k)` the uint8 level of the clean frame `c_k` of
    [`render_pendulum`][smr_stability.nn.pendulum.render_pendulum] at the angle `theta_k + observation_noise N(0, 1)`
    (`default_rng([seed, 4])`), `U_k` independent `U(0, 1)` per pixel
    (`default_rng([seed, 3])`) and `v_k` the visibility of
    [`noise_visibility`][smr_stability.nn.pendulum.noise_visibility], so the first `clean_frames`
    frames are exactly `q_k / 255` and a frame with `v_k = 0` is pure noise. Without `quantize`:
    `u_k = (1 - a_k) c_k + a_k U_k`.

    This is CRU's regression data (uint8 frames, later divided by 255) and the subsampling of
    CRU and S5 (50 of 100 frames per sequence), with three differences that leave the
    distribution unchanged: the random numbers come from numpy Generators seeded by
    `config.seed` (CRU: one `RandomState(42)` for everything, and one generator per
    sequence for the kept indices), the pixel noise is drawn for the kept frames only, and the
    times are `k dt` in seconds (CRU and S5 feed the index `k`).

    Parameters
    ----------
    config : PendulumConfig
    cache_dir : str or Path, optional
        See [`smr_stability.nn.data`][smr_stability.nn.data].
    progress : bool or None
        Show a tqdm bar while composing the frames; `None` shows it on a terminal only.

    Returns
    -------
    TaskData
        `u` (n, keep, size**2): the frames, row-major flattened (`u.reshape(n, keep,
        size, size)` gives the images), float32 in [0, 1]; `y` (n, keep, 2): `(sin theta,
        cos theta)` at the kept times; `t` (n, keep): the kept times `k dt`.
    """
    _check_config(config)
    if progress is not None:
        check_bool(progress, "progress")

    def generate():
        from tqdm import tqdm

        n, S, K, P = config.n, config.steps, config.keep, config.size**2
        theta_all, _ = pendulum_physics(config)
        idx = np.sort(np.argsort(np.random.default_rng([config.seed, 1]).random((n, S)), axis=-1)[:, :K], axis=-1)
        theta = np.take_along_axis(theta_all, idx, axis=-1)  # (n K)
        t = config.dt * idx.astype(np.float64)
        v = np.take_along_axis(noise_visibility(config), idx, axis=-1)[..., None]  # (n K 1)
        b = v if config.noise == 1.0 else 1.0 - config.noise * (1.0 - v)  # weight of the clean frame, 1 - a_k
        drawn = theta + config.observation_noise * np.random.default_rng([config.seed, 4]).standard_normal((n, K))
        table, index = _render_table(drawn, config.size, config.canvas, config.line_length, config.line_width)
        table = table.reshape(-1, P).astype(np.float64)
        if config.quantize:
            table = np.floor(np.float32(255.0) * table.astype(np.float32)).astype(np.float64)  # uint8 levels
        scale = 255.0 if config.quantize else 1.0
        rng_pix = np.random.default_rng([config.seed, 3])
        u = np.empty((n, K, P), dtype=np.float32)
        chunk = max(1, 4096 // K)
        for lo in tqdm(range(0, n, chunk), desc="pendulum frames", disable=None if progress is None else not progress):
            sl = slice(lo, lo + chunk)
            clean = table[index[sl]]  # (c K P)
            x = b[sl] * clean + (1.0 - b[sl]) * (scale * rng_pix.random(clean.shape))
            u[sl] = np.floor(x) / 255.0 if config.quantize else x
        y = np.stack([np.sin(theta), np.cos(theta)], axis=-1).astype(np.float32)
        return partition(config, u, y, t)

    return task_data(config, cached_arrays("pendulum", config, cache_dir, generate, split_array_names()))
