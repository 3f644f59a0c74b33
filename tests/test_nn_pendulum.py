"""The pendulum task against CRU's regression recipe: physics, frames, noise process, sizes and statistics.

References used here are independent of the generator: scipy's ``solve_ivp`` for the ODE, a
direct PIL drawing with float end points for the frames, a separate simulation of the noise
process with its own random numbers, and sample statistics with tolerances from the sample
size. (Seeding, cache reuse and config round trips of both tasks are in ``test_nn_tasks.py``.)
"""

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp

from smr_stability import errors
from smr_stability.nn import pendulum as pendulum_mod
from smr_stability.nn.data import cache_path
from smr_stability.nn.pendulum import (
    GRAVITY,
    ROD_LENGTH,
    PendulumConfig,
    make_pendulum,
    noise_visibility,
    pendulum_physics,
    render_pendulum,
)

SPLITS = ("train", "val", "test")
C = 3.0 * GRAVITY / ROD_LENGTH  # angular acceleration constant of the uniform rod


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("pendulum")


@pytest.fixture(scope="module")
def small(cache):
    return make_pendulum(PendulumConfig.small(), cache_dir=cache, progress=False)


@pytest.fixture(scope="module")
def exact(cache):
    """The small task with every frame drawn at its true angle (no 1e-5 rad jitter)."""
    return make_pendulum(PendulumConfig.small(observation_noise=0.0), cache_dir=cache, progress=False)


def _rows(config, split):
    lo = {"train": 0, "val": config.n_train, "test": config.n_train + config.n_val}[split]
    return slice(lo, lo + getattr(config, f"n_{split}"))


def _kept(data, split):
    return np.rint(data[split].t / data.config.dt).astype(int)


def _levels(frames):
    """CRU's uint8 levels of clean frames, ``floor(255 x)`` (as numpy casts float32 to uint8)."""
    return np.floor(np.float32(255.0) * frames.astype(np.float32))


# ---------------------------------------------------------------- the recipe, sizes, shapes


def test_defaults_are_the_cru_recipe():
    cfg = PendulumConfig()
    assert (cfg.n_train, cfg.n_val, cfg.n_test, cfg.steps, cfg.keep) == (2000, 1000, 1000, 100, 50)
    assert (cfg.size, cfg.canvas, cfg.line_length, cfg.line_width) == (24, 128, 55.0, 8)
    assert (cfg.dt, cfg.sim_dt, cfg.friction, cfg.process_noise, cfg.observation_noise) == (0.01, 1e-4, 0.1, 0.1, 1e-5)
    assert (cfg.noise, cfg.noise_step, cfg.noise_low, cfg.noise_high, cfg.clean_frames) == (
        1.0,
        0.2,
        (0.0, 0.25),
        (0.75, 1.0),
        5,
    )
    assert cfg.quantize and (GRAVITY, ROD_LENGTH) == (9.81, 1.0)


def test_shapes_dtypes_range_and_times(small):
    cfg = small.config
    for split, n in zip(SPLITS, (16, 8, 8)):
        s = small[split]
        assert s.u.shape == (n, 50, 24 * 24) and s.y.shape == (n, 50, 2) and s.t.shape == (n, 50)
        assert s.u.dtype == s.y.dtype == np.float32 and s.t.dtype == np.float64
        assert s.u.min() >= 0.0 and s.u.max() <= 1.0
        levels = s.u.astype(np.float64) * 255.0
        np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)  # uint8 levels / 255
        k = _kept(small, split)
        np.testing.assert_allclose(s.t, k * cfg.dt, rtol=0, atol=1e-12)
        assert np.all(np.diff(k, axis=-1) >= 1) and k.min() >= 0 and k.max() <= cfg.steps - 1
    t = small.train.t
    assert len({tuple(r) for r in t}) == len(t)  # different kept indices per sequence


def test_targets_are_sincos_of_the_simulated_angle(small):
    cfg = small.config
    theta, _ = pendulum_physics(cfg)
    for split in SPLITS:
        th = np.take_along_axis(theta[_rows(cfg, split)], _kept(small, split), axis=-1)
        ref = np.stack([np.sin(th), np.cos(th)], axis=-1)
        np.testing.assert_allclose(small[split].y, ref, rtol=0, atol=1e-7)
    assert np.std(small.train.y[..., 1]) > 0.2  # the pendulums swing


def test_config_changes_change_the_cache_file_and_a_second_call_loads(tmp_path, monkeypatch):
    cfg = PendulumConfig.small()
    assert cache_path("pendulum", cfg) != cache_path("pendulum", PendulumConfig.small(clean_frames=4))
    first = make_pendulum(cfg, cache_dir=tmp_path, progress=False)

    def boom(*args, **kwargs):
        raise AssertionError("regenerated instead of loading the cache")

    monkeypatch.setattr(pendulum_mod, "_render_table", boom)
    second = make_pendulum(cfg, cache_dir=tmp_path, progress=False)
    for split in SPLITS:
        for x in "uyt":
            np.testing.assert_array_equal(getattr(first[split], x), getattr(second[split], x))


# ---------------------------------------------------------------- frames


def test_render_matches_pil_drawing_with_float_end_points():
    """CRU hands PIL float end points; the generator truncates them itself and draws each distinct end point once."""
    from PIL import Image, ImageDraw

    theta = np.array([0.0, 0.3, -1.2, 2.0, np.pi / 2, -3.1, 3.0])
    got = render_pendulum(theta)
    for th, frame in zip(theta, got):
        img = Image.new("F", (128, 128), 0.0)
        ImageDraw.Draw(img).line([(64, 64), (64 + 55.0 * np.sin(th), 64 + 55.0 * np.cos(th))], fill=1.0, width=8)
        ref = np.clip(np.asarray(img.resize((24, 24), resample=Image.Resampling.LANCZOS)), 0.0, 1.0)
        np.testing.assert_array_equal(frame, ref)
    assert got.dtype == np.float32 and got.min() >= 0.0 and got.max() <= 1.0
    assert np.count_nonzero((got > 0) & (got < 1)) > 0  # Lanczos leaves intermediate values


def test_render_points_along_the_angle():
    theta = np.linspace(-np.pi, np.pi, 73)[:-1]
    img = render_pendulum(theta).astype(np.float64)
    r, q = np.mgrid[0:24, 0:24]
    mass = img.sum(axis=(1, 2))
    pivot = 64.5 * 24 / 128 - 0.5  # the centre of canvas pixel 64, in frame pixel indices (11.59)
    col = (img * q).sum(axis=(1, 2)) / mass - pivot
    row = (img * r).sum(axis=(1, 2)) / mass - pivot
    err = np.angle(np.exp(1j * (np.arctan2(col, row) - theta)))
    assert np.max(np.abs(err)) < 0.05  # theta = 0 hangs down, pi/2 points right; 0.035 rad measured
    with pytest.raises(errors.NonFiniteError):
        render_pendulum(np.array([0.0, np.nan]))


def test_first_frames_are_the_clean_render_of_the_true_angle(exact):
    data = exact
    cfg = data.config
    theta, _ = pendulum_physics(cfg)
    n_early = 0
    for split in SPLITS:
        k = _kept(data, split)
        early = k < cfg.clean_frames
        th = np.take_along_axis(theta[_rows(cfg, split)], k, axis=-1)[early]
        ref = _levels(render_pendulum(th).reshape(len(th), -1)) / 255.0
        np.testing.assert_array_equal(data[split].u[early], ref.astype(np.float32))
        n_early += early.sum()
    assert n_early > 0


def test_default_angle_jitter_is_below_a_pixel(small):
    """The default draws each frame at the angle plus N(0, 1e-5^2): practically always the true angle's frame."""
    cfg = small.config
    theta, _ = pendulum_physics(cfg)
    same = total = 0
    for split in SPLITS:
        k = _kept(small, split)
        early = k < cfg.clean_frames
        th = np.take_along_axis(theta[_rows(cfg, split)], k, axis=-1)[early]
        ref = (_levels(render_pendulum(th).reshape(len(th), -1)) / 255.0).astype(np.float32)
        same += np.all(small[split].u[early] == ref, axis=-1).sum()
        total += len(th)
    assert total > 0 and same >= 0.95 * total


def test_frames_follow_the_visibility_exactly(exact):
    """255 u = floor(v q + (1 - v) 255 U) with U in [0, 1): bounds that hold for every pixel of every kept frame."""
    small, cfg = exact, exact.config
    theta, _ = pendulum_physics(cfg)
    vis = noise_visibility(cfg)
    pure = []
    for split in SPLITS:
        k = _kept(small, split)
        th = np.take_along_axis(theta[_rows(cfg, split)], k, axis=-1)
        v = np.take_along_axis(vis[_rows(cfg, split)], k, axis=-1)[..., None]
        q = _levels(render_pendulum(th).reshape(*th.shape, -1)).astype(np.float64)
        level = np.rint(small[split].u.astype(np.float64) * 255.0)
        assert np.all(level >= np.floor(v * q) - 1) and np.all(level <= np.floor(v * q + (1.0 - v) * 255.0))
        pure.append(small[split].u[(v == 0.0)[..., 0]])
    pure = np.concatenate(pure).astype(np.float64)  # frames that are pure noise
    assert len(pure) > 50
    # floor(255 U) / 255 with U ~ U(0, 1): mean 127 / 255, std sqrt((256^2 - 1) / 12) / 255 ~ 0.289
    se = 0.289 / np.sqrt(pure.size)
    assert abs(pure.mean() - 127.0 / 255.0) < 5 * se
    assert abs(pure.std() - np.sqrt((256**2 - 1) / 12.0) / 255.0) < 0.01


def test_noise_strength_zero_gives_clean_frames(cache):
    cfg = PendulumConfig.small(noise=0.0, observation_noise=0.0)
    data = make_pendulum(cfg, cache_dir=cache, progress=False)
    theta, _ = pendulum_physics(cfg)
    th = np.take_along_axis(theta[_rows(cfg, "test")], _kept(data, "test"), axis=-1)
    ref = _levels(render_pendulum(th).reshape(*th.shape, -1)) / 255.0
    np.testing.assert_array_equal(data.test.u, ref.astype(np.float32))
    unq = make_pendulum(PendulumConfig.small(noise=0.0, observation_noise=0.0, quantize=False), cache_dir=cache)
    np.testing.assert_array_equal(unq.test.u, render_pendulum(th).reshape(*th.shape, -1))


# ---------------------------------------------------------------- the noise process


def _simulated_visibility(n, steps, rng, r=0.2, low=(0.0, 0.25), high=(0.75, 1.0), clean=5):
    """The threshold process of CRU's image noise, simulated here with its own random numbers."""
    w = np.empty((n, steps))
    w[:, 0] = rng.random(n)
    for k in range(1, steps):
        w[:, k] = np.minimum(np.maximum(w[:, k - 1] + r * (2.0 * rng.random(n) - 1.0), 0.0), 1.0)
    t1 = low[0] + (low[1] - low[0]) * rng.random((n, 1))
    t2 = high[0] + (high[1] - high[0]) * rng.random((n, 1))
    v = np.clip((w - t1) / (t2 - t1), 0.0, 1.0)
    v[:, :clean] = 1.0
    return v


def test_pure_noise_fraction_matches_the_threshold_process():
    """Sequence fractions are i.i.d. across sequences; compare means within 5 combined standard errors."""
    vis = noise_visibility(PendulumConfig())  # the 4000 sequences of the benchmark (no rendering needed)
    ref = _simulated_visibility(40_000, 100, np.random.default_rng(12345))
    assert np.all(vis[:, :5] == 1.0) and vis.min() == 0.0 and vis.max() == 1.0
    for got_f, ref_f in (
        ((vis == 0).mean(axis=1), (ref == 0).mean(axis=1)),
        ((vis == 1).mean(axis=1), (ref == 1).mean(axis=1)),
    ):
        se = np.hypot(got_f.std() / np.sqrt(len(got_f)), ref_f.std() / np.sqrt(len(ref_f)))
        assert abs(got_f.mean() - ref_f.mean()) < 5 * se, (got_f.mean(), ref_f.mean(), se)
    assert 0.14 < (vis == 0).mean() < 0.18  # about 16% of the frames are pure noise
    # the noise is strongly correlated in time: lag-1 autocorrelation of the visibility
    z = vis[:, 5:] - vis[:, 5:].mean(axis=1, keepdims=True)
    assert (z[:, 1:] * z[:, :-1]).sum() / (z * z).sum() > 0.8


# ---------------------------------------------------------------- physics


def test_released_from_rest_at_a_uniform_angle():
    cfg = PendulumConfig(n_train=300, n_val=100, n_test=100, seed=3)
    theta, omega = pendulum_physics(cfg)
    np.testing.assert_array_equal(omega[:, 0], 0.0)
    draw = np.random.default_rng([cfg.seed, 0]).uniform(-np.pi, np.pi, cfg.n)
    np.testing.assert_array_equal(theta[:, 0], draw)
    assert stats.kstest(theta[:, 0], stats.uniform(loc=-np.pi, scale=2 * np.pi).cdf).pvalue > 1e-3
    quiet, _ = pendulum_physics(PendulumConfig(n_train=300, n_val=100, n_test=100, seed=3, process_noise=0.0))
    np.testing.assert_array_equal(quiet[:, 0], theta[:, 0])  # the initial draw does not depend on the noise


def _ode(t, x):
    n = len(x) // 2
    th, om = x[:n], x[n:]
    return np.concatenate([om, -C * np.sin(th) - 0.1 * om])


def test_noiseless_trajectory_matches_solve_ivp_to_first_order_in_sim_dt():
    """Semi-implicit Euler is first order: the error is O(sim_dt) and halves with sim_dt."""
    errs = {}
    for h in (1e-4, 2e-4):
        cfg = PendulumConfig(n_train=6, n_val=1, n_test=1, process_noise=0.0, sim_dt=h)
        theta, omega = pendulum_physics(cfg)
        x0 = np.concatenate([theta[:, 0], omega[:, 0]])
        t = cfg.dt * np.arange(cfg.steps)
        sol = solve_ivp(_ode, (0.0, t[-1]), x0, t_eval=t, method="DOP853", rtol=1e-11, atol=1e-12)
        errs[h] = np.abs(sol.y[: cfg.n] - theta).max()
    assert errs[1e-4] < 1e-3  # measured 5.5e-4 rad over 0.99 s
    assert 1.8 < errs[2e-4] / errs[1e-4] < 2.2


def test_process_noise_is_one_velocity_kick_of_std_sigma_per_frame():
    """Re-integrate each frame interval without noise (solve_ivp, error ~1e-5); the rest is the kick N(0, 0.1^2)."""
    cfg = PendulumConfig(n_train=20, n_val=5, n_test=5)
    theta, omega = pendulum_physics(cfg)
    kicks = []
    for k in range(0, cfg.steps - 1, 3):
        x0 = np.concatenate([theta[:, k], omega[:, k]])
        sol = solve_ivp(_ode, (0.0, cfg.dt), x0, method="DOP853", rtol=1e-10, atol=1e-12)
        end = sol.y[:, -1]
        assert np.abs(theta[:, k + 1] - end[: cfg.n]).max() < 1e-4  # the kick enters after the angle update
        kicks.append(omega[:, k + 1] - end[cfg.n :])
    kicks = np.concatenate(kicks)  # 30 x 33 = 990 kicks
    assert abs(kicks.mean()) < 5 * 0.1 / np.sqrt(len(kicks))
    assert abs(kicks.std() / 0.1 - 1.0) < 5 / np.sqrt(2 * len(kicks))
    assert stats.kstest(kicks / 0.1, "norm").pvalue > 1e-3


def test_energy_decays_by_the_friction_balance():
    """E = omega^2 / 2 - c cos theta: dE = -f omega^2 dt per unit time, plus sigma^2 / 2 per kick on average."""
    quiet, q_om = pendulum_physics(PendulumConfig(n_train=100, n_val=50, n_test=50, process_noise=0.0))
    e = q_om**2 / 2 - C * np.cos(quiet)
    assert np.diff(e, axis=1).max() < 1e-3  # never gains energy without noise (up to the O(sim_dt) scheme error)
    cfg = PendulumConfig(n_train=300, n_val=100, n_test=100)
    theta, omega = pendulum_physics(cfg)
    e = omega**2 / 2 - C * np.cos(theta)
    de = e[:, -1] - e[:, 0]
    assert de.mean() < -5 * de.std() / np.sqrt(cfg.n)  # decays on average despite the kicks
    work = -cfg.friction * np.sum((omega[:, :-1] ** 2 + omega[:, 1:] ** 2) / 2, axis=1) * cfg.dt  # trapezoid
    balance = de - (work + (cfg.steps - 1) * cfg.process_noise**2 / 2)
    assert abs(balance.mean()) < 5 * balance.std() / np.sqrt(cfg.n)


def test_mean_predictor_mse_is_about_0_424(cache):
    """Predicting the test split's mean target: MSE 0.4240 +- 0.0005 over 60,000 simulated sequences
    (0.4198 on the benchmark's 1000 test sequences); per-sequence MSEs have std ~0.19, so 500
    sequences give a standard error ~0.0085."""
    data = make_pendulum(PendulumConfig(n_train=1, n_val=1, n_test=500, seed=7), cache_dir=cache, progress=False)
    y = data.test.y.astype(np.float64)
    per_seq = ((y - y.mean(axis=(0, 1))) ** 2).mean(axis=(1, 2))
    se = per_seq.std() / np.sqrt(len(per_seq))
    assert abs(per_seq.mean() - 0.424) < 4 * se and se < 0.012


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "kwargs, err",
    [
        ({"keep": 101}, errors.ParameterError),
        ({"noise": 1.5}, errors.ParameterError),
        ({"sim_dt": 3e-4}, errors.ParameterError),  # 0.01 / 3e-4 is not whole
        ({"sim_dt": 0.02}, errors.ParameterError),  # longer than a frame
        ({"noise_low": (0.3, 0.2)}, errors.ParameterError),
        ({"noise_low": (0.0, 0.8)}, errors.ParameterError),  # overlaps noise_high
        ({"noise_high": 0.9}, errors.ParameterError),
        ({"clean_frames": 101}, errors.ParameterError),
        ({"clean_frames": -1}, errors.ParameterError),
        ({"line_length": 70.0}, errors.ParameterError),  # leaves the 128 px canvas
        ({"canvas": 16}, errors.ParameterError),  # smaller than the frame
        ({"quantize": 1}, errors.InputTypeError),
        ({"process_noise": -0.1}, errors.ParameterError),
        ({"line_width": 2.5}, errors.InputTypeError),
    ],
)
def test_invalid_configs_raise_named_errors(kwargs, err):
    with pytest.raises(err):
        PendulumConfig(**kwargs)


def test_config_round_trip_and_type_checks():
    cfg = PendulumConfig.small(noise_low=[0.05, 0.2])
    assert cfg.noise_low == (0.05, 0.2)
    assert PendulumConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(errors.InputTypeError, match="PendulumConfig"):
        make_pendulum({"seed": 0})
    with pytest.raises(errors.InputTypeError):
        noise_visibility(None)
