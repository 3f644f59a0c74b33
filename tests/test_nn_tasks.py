"""Training tasks: shapes, seeding, caching, and the targets against independent references.

The pendulum's recipe (physics, frames, noise process, statistics) is tested in ``test_nn_pendulum.py``.
"""

import os

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from smr_stability import errors
from smr_stability.nn import pendulum as pendulum_mod
from smr_stability.nn.data import cache_path
from smr_stability.nn.pendulum import PendulumConfig, make_pendulum
from smr_stability.nn.sines import SINES_SCHEDULES, SinesConfig, make_sines, sines_eval_set, sines_signal

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("tasks")


@pytest.fixture(scope="module")
def sines(cache):
    return make_sines(SinesConfig.small(), cache_dir=cache)


@pytest.fixture(scope="module")
def pendulum(cache):
    return make_pendulum(PendulumConfig.small(), cache_dir=cache)


# ---------------------------------------------------------------- shapes, dtypes, batches


def test_sines_shapes_and_dtypes(sines):
    cfg = sines.config
    for split, n in zip(SPLITS, (16, 8, 8)):
        s = sines[split]
        assert s.u.shape == (n, cfg.L, 1) and s.y.shape == (n, cfg.L, 1) and s.t.shape == (n, cfg.L)
        assert s.u.dtype == s.y.dtype == np.float32 and s.t.dtype == np.float64
        np.testing.assert_array_equal(s.t, np.broadcast_to(cfg.dt * np.arange(cfg.L), s.t.shape))


def test_batches_cover_split_and_are_torch(pendulum):
    seen = []
    for u, y, t in pendulum.batches("train", 5, shuffle=True, seed=1):
        assert u.dtype == torch.float32 and y.dtype == torch.float32 and t.dtype == torch.float64
        assert u.shape[1:] == (50, 576) and u.shape[0] == y.shape[0] == t.shape[0] <= 5
        seen.append(t.numpy())
    seen = np.concatenate(seen)
    assert seen.shape == pendulum.train.t.shape
    assert not np.array_equal(seen, pendulum.train.t)  # shuffled
    rows = {tuple(r) for r in seen}
    assert rows == {tuple(r) for r in pendulum.train.t}
    assert sum(1 for _ in pendulum.batches("val", 3, drop_last=True)) == 2


def test_arrays_are_read_only(sines):
    with pytest.raises(ValueError):
        sines.train.u[0, 0, 0] = 1.0


# ---------------------------------------------------------------- seeding and caching


@pytest.mark.parametrize("make, cfg", [(make_sines, SinesConfig.small()), (make_pendulum, PendulumConfig.small())])
def test_seeded_reproducibility(tmp_path, make, cfg):
    a = make(cfg, cache_dir=tmp_path / "a")
    b = make(cfg, cache_dir=tmp_path / "b")  # generated afresh, not loaded
    c = make(type(cfg).small(seed=1), cache_dir=tmp_path / "a")
    for s in SPLITS:
        for x in "uyt":
            np.testing.assert_array_equal(getattr(a[s], x), getattr(b[s], x))
        assert not np.array_equal(a[s].u, c[s].u) and not np.array_equal(a[s].y, c[s].y)


def test_second_call_loads_from_disk(tmp_path, monkeypatch):
    cfg = PendulumConfig.small()
    first = make_pendulum(cfg, cache_dir=tmp_path)
    path = cache_path("pendulum", cfg, tmp_path)
    assert path.exists() and path.parent == tmp_path and len(path.stem) == 64
    mtime = path.stat().st_mtime_ns

    def boom(*args, **kwargs):
        raise AssertionError("regenerated instead of loading the cache")

    monkeypatch.setattr(pendulum_mod, "pendulum_physics", boom)
    second = make_pendulum(cfg, cache_dir=tmp_path)
    assert path.stat().st_mtime_ns == mtime
    for s in SPLITS:
        for x in "uyt":
            np.testing.assert_array_equal(getattr(first[s], x), getattr(second[s], x))


def test_corrupted_cache_is_regenerated(tmp_path):
    cfg = SinesConfig.small()
    first = make_sines(cfg, cache_dir=tmp_path)
    path = cache_path("sines", cfg, tmp_path)
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="regenerating"):
        second = make_sines(cfg, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.test.y, second.test.y)
    third = make_sines(cfg, cache_dir=tmp_path)  # the rewritten file loads cleanly
    np.testing.assert_array_equal(first.test.u, third.test.u)


def test_mismatched_cache_is_regenerated(tmp_path):
    cfg, other = SinesConfig.small(), SinesConfig.small(seed=5)
    make_sines(other, cache_dir=tmp_path)
    path = cache_path("sines", cfg, tmp_path)
    os.replace(cache_path("sines", other, tmp_path), path)  # a file with the wrong config
    with pytest.warns(UserWarning, match="stale"):
        data = make_sines(cfg, cache_dir=tmp_path)
    np.testing.assert_array_equal(data.train.u, make_sines(cfg, cache_dir=tmp_path / "fresh").train.u)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path / "env"))
    cfg = SinesConfig.small(L=8)
    make_sines(cfg)
    assert cache_path("sines", cfg).parent == tmp_path / "env"
    assert cache_path("sines", cfg).exists()
    assert cache_path("sines", cfg) != cache_path("sines", SinesConfig.small(L=9))


# ---------------------------------------------------------------- sines targets


def _u_of(cfg, row):
    sig = sines_signal(cfg)
    return lambda s: float(sig(np.array([s]))[row, 0, 0])


def test_sines_inputs_are_the_signal_on_the_grid(sines):
    cfg = sines.config
    sig = sines_signal(cfg)
    u = sig(cfg.dt * np.arange(cfg.L))[:, :, 0]  # (n L)
    np.testing.assert_allclose(sines.train.u[..., 0], u[: cfg.n_train], rtol=0, atol=1e-6)
    np.testing.assert_allclose(sines.test.u[..., 0], u[cfg.n_train + cfg.n_val :], rtol=0, atol=1e-6)


def test_sines_targets_match_numerical_integration(sines):
    cfg = sines.config
    for split, row0 in (("train", 0), ("val", cfg.n_train), ("test", cfg.n_train + cfg.n_val)):
        for b, k in ((0, 1), (1, 17), (len(sines[split]) - 1, cfg.L - 1)):
            f = _u_of(cfg, row0 + b)
            ref, _ = quad(f, 0.0, sines[split].t[b, k], epsabs=1e-10, limit=200)
            assert abs(sines[split].y[b, k, 0] - ref) < 1e-5


@pytest.mark.parametrize("name", SINES_SCHEDULES)
def test_eval_sets_use_true_perturbed_times(cache, name):
    cfg = SinesConfig.small()
    ev = sines_eval_set(cfg, name, cache_dir=cache)
    L, dt, n = cfg.L, cfg.dt, cfg.n_test
    grid = dt * np.arange(L)
    assert ev.u.shape == (n, L, 1) and ev.y.shape == (n, L, 1) and ev.t.shape == (n, L)
    assert np.all(np.diff(ev.t, axis=-1) > 0)
    dev = np.abs(ev.t - grid)
    if name in ("uniform", "drops0.1"):
        np.testing.assert_array_equal(ev.t, np.broadcast_to(grid, (n, L)))
    elif name.startswith("jitter"):
        j = float(name[6:])
        assert np.all(dev <= j * dt + 1e-15) and dev.max() > 0.8 * j * dt
    elif name == "rate1.25":
        np.testing.assert_allclose(ev.t, np.broadcast_to(1.25 * grid, (n, L)), rtol=1e-14)
    else:  # irregular: exponential gaps of mean dt
        gaps = np.diff(ev.t, axis=-1)
        assert 0.8 * dt < gaps.mean() < 1.2 * dt and gaps.std() > 0.5 * dt
    # inputs and targets are the test signals evaluated at the true times
    row0 = cfg.n_train + cfg.n_val
    for b, k in ((0, 3), (n - 1, L - 1)):
        f = _u_of(cfg, row0 + b)
        ref, _ = quad(f, 0.0, ev.t[b, k], epsabs=1e-10, limit=200)
        assert abs(ev.y[b, k, 0] - ref) < 1e-5
        if ev.u[b, k, 0] != 0.0:
            assert abs(ev.u[b, k, 0] - f(ev.t[b, k])) < 1e-6
    sig_u = np.stack([sines_signal(cfg)(ev.t[b])[row0 + b, :, 0] for b in range(n)])
    dropped = ev.u[..., 0] != sig_u.astype(np.float32)
    if name == "drops0.1":
        assert np.all(dropped.sum(axis=1) == round(0.1 * L)) and np.all(ev.u[..., 0][dropped] == 0)
    else:
        np.testing.assert_allclose(ev.u[..., 0], sig_u, atol=1e-6)


def test_uniform_eval_set_is_the_test_split(cache, sines):
    ev = sines_eval_set(sines.config, "uniform", cache_dir=cache)
    for x in "uyt":
        np.testing.assert_array_equal(getattr(ev, x), getattr(sines.test, x))


def test_unknown_schedule_is_rejected():
    with pytest.raises(errors.MethodError, match="jitter0.2"):
        sines_eval_set(SinesConfig.small(), "jitter0.3")


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize("cls", [SinesConfig, PendulumConfig])
def test_unknown_config_keys_are_rejected(cls):
    with pytest.raises(errors.ParameterError, match="bogus"):
        cls.from_dict({"seed": 1, "bogus": 2})
    assert cls.from_dict({"seed": 3}) == cls(seed=3)
    assert cls.from_dict(cls.small().to_dict()) == cls.small()


@pytest.mark.parametrize(
    "cls, kwargs, err",
    [
        (SinesConfig, {"L": 0}, errors.ParameterError),
        (SinesConfig, {"dt": -0.1}, errors.ParameterError),
        (SinesConfig, {"freq": (2.0, 1.0)}, errors.ParameterError),
        (SinesConfig, {"n_train": 2.5}, errors.InputTypeError),
        (PendulumConfig, {"keep": 101}, errors.ParameterError),
        (PendulumConfig, {"noise": 1.5}, errors.ParameterError),
    ],
)
def test_invalid_configs_raise_named_errors(cls, kwargs, err):
    with pytest.raises(err):
        cls(**kwargs)


def test_sines_values_come_out_c_contiguous_whatever_the_layout_of_the_times():
    from smr_stability.nn.sines import sines_values

    cfg = SinesConfig.small()
    signal, rows = sines_signal(cfg), np.arange(8)
    grid = np.broadcast_to(cfg.dt * np.arange(cfg.L), (8, cfg.L))
    reference = sines_values(signal, rows, np.ascontiguousarray(grid))
    for t in (grid, np.asfortranarray(grid)):
        for got, want in zip(sines_values(signal, rows, t), reference):
            assert got.flags.c_contiguous and np.array_equal(got, want)


def test_schedules_store_their_times_in_c_order():
    from smr_stability.sampling import jitter, rate_change, uniform

    for schedule in (
        uniform(64, 0.1, draws=3),
        rate_change(64, 0.1, 1.25, draws=3),
        jitter(64, 0.1, 0.2, draws=3, seed=0),
    ):
        assert schedule.times.flags.c_contiguous and not schedule.times.flags.writeable
