"""Signals: closed forms, physics of the pendulum, interpolation references and bad input.

References: SumOfSines summed term by term with ``math.sin`` from its stored parameters and its
period; the pendulum's energy balance (dissipation ``-friction * integral omega^2``, bounded
O(sim_dt) energy error of symplectic Euler), a scalar Python loop of the same scheme, and the
variance of a Brownian velocity; ``np.interp`` and an explicit loop for ArraySignal.
"""

import math

import numpy as np
import pytest

from smr_stability import errors
from smr_stability import sampling as S
from smr_stability.signals import ArraySignal, Pendulum, SumOfSines

# ---------------------------------------------------------------------------------- SumOfSines


def test_sum_of_sines_closed_form_and_shapes():
    B, P, I = 3, 2, 5
    u = SumOfSines(B=B, P=P, n_terms=I, freq=(0.3, 1.7), seed=0)
    t = np.random.default_rng(1).uniform(-2.0, 10.0, (4, 7))
    y = u(t)
    assert y.shape == (B, 4, 7, P) and y.dtype == np.float64
    ref = np.zeros_like(y)
    for b in range(B):
        for p in range(P):
            for idx in np.ndindex(t.shape):
                ref[(b,) + idx + (p,)] = sum(
                    u.amplitude[b, p, i] * math.sin(2 * math.pi * u.frequency[b, p, i] * t[idx] + u.phase[b, p, i])
                    for i in range(I)
                )
    assert np.max(np.abs(y - ref)) < 1e-12
    assert u(0.25).shape == (B, P)
    assert u(np.zeros(0)).shape == (B, 0, P)
    assert u.amplitude.shape == u.frequency.shape == u.phase.shape == (B, P, I)


def test_sum_of_sines_parameter_ranges():
    u = SumOfSines(B=50, P=4, n_terms=6, freq=(0.2, 2.0), seed=2)
    assert np.all((u.amplitude >= 0.5 / 6) & (u.amplitude <= 1.5 / 6))
    assert np.all((u.frequency >= 0.2) & (u.frequency <= 2.0))
    assert np.all((u.phase >= 0) & (u.phase < 2 * np.pi))
    assert abs(u.frequency.mean() - 1.1) < 0.05  # U(0.2, 2): mean 1.1, se ~ 0.017
    assert np.max(np.abs(u(np.linspace(0, 20, 400)))) < 1.5


def test_sum_of_sines_frequency_in_cycles_per_unit_time():
    u = SumOfSines(B=4, P=1, n_terms=1, freq=(0.5, 2.0), seed=3)
    f = u.frequency[:, 0, 0]
    t = np.linspace(0.0, 3.0, 31)
    y, y_shift = u(t)[..., 0], np.stack([u(t + 1.0 / fb)[b, :, 0] for b, fb in enumerate(f)])
    assert np.max(np.abs(y - y_shift)) < 1e-12  # period 1/f
    assert np.max(np.abs(u(t + 0.5 / f[0])[0, :, 0] + y[0])) < 1e-12  # half period flips the sign


def test_sum_of_sines_seeded():
    t = np.linspace(0, 1, 9)
    assert np.array_equal(SumOfSines(2, 2, seed=4)(t), SumOfSines(2, 2, seed=4)(t))
    assert not np.array_equal(SumOfSines(2, 2, seed=4)(t), SumOfSines(2, 2, seed=5)(t))


def test_sum_of_sines_through_a_schedule():
    u = SumOfSines(B=2, P=3, seed=0)
    s = S.jitter(16, 0.1, 0.3, draws=5, seed=1)
    assert np.array_equal(s.sample(u), u(s.times))
    assert s.sample(u).shape == (2, 5, 16, 3)


# ------------------------------------------------------------------------------------ Pendulum


def energy(p):
    """Energy per unit m length^2 on the fine grid: omega^2/2 - (g/length) cos theta."""
    return 0.5 * p.omega**2 - (p.g / p.length) * np.cos(p.theta)


def test_pendulum_matches_a_scalar_reference_loop():
    p = Pendulum(B=2, duration=1.0, seed=0, friction=0.3, transition_noise_std=0.0, g=9.81, length=0.8)
    h, c = p.sim_dt, 9.81 / 0.8
    for b in range(2):
        th, w = float(p.theta[b, 0]), float(p.omega[b, 0])
        ths, ws = [th], [w]
        for _ in range(p.sim_times.size - 1):
            w = w + h * (-c * math.sin(th) - 0.3 * w)
            th = th + h * w
            ths.append(th)
            ws.append(w)
        assert np.max(np.abs(p.theta[b] - ths)) < 1e-12
        assert np.max(np.abs(p.omega[b] - ws)) < 1e-12


def test_pendulum_window_and_initial_state():
    p = Pendulum(B=500, duration=2.0, seed=1, sim_dt=1e-2, max_init_velocity=0.5)
    assert p.sim_times[0] == -1.0 and p.sim_times[-1] >= 2.0 - 1e-12
    assert np.allclose(np.diff(p.sim_times), 1e-2)
    assert p.theta.shape == p.omega.shape == (500, p.sim_times.size)
    assert np.all((p.theta[:, 0] >= -np.pi) & (p.theta[:, 0] < np.pi))
    assert np.all(np.abs(p.omega[:, 0]) <= 0.5)
    assert abs(p.theta[:, 0].std() - np.pi / np.sqrt(3)) < 0.15
    p(np.array([-1.0, 2.0]))  # both ends of the window evaluate


def test_pendulum_energy_decreases_with_friction():
    fr = 0.5
    p = Pendulum(B=8, duration=10.0, seed=2, friction=fr, transition_noise_std=0.0)
    E = energy(p)
    windows = E[:, : (E.shape[1] // 1000) * 1000].reshape(8, -1, 1000).mean(axis=-1)  # 1 s means
    assert np.all(np.diff(windows, axis=-1) < 0)
    # energy balance: E(T) - E(0) = -friction * int omega^2 dt, to O(sim_dt)
    dissipated = fr * np.sum(p.omega[:, 1:] ** 2, axis=-1) * p.sim_dt
    assert np.allclose(E[:, -1] - E[:, 0], -dissipated, rtol=1e-3, atol=1e-2)


def test_pendulum_energy_conserved_to_order_sim_dt_without_friction():
    errs = []
    for h in (2e-3, 1e-3):
        p = Pendulum(B=6, duration=10.0, seed=3, sim_dt=h, friction=0.0, transition_noise_std=0.0)
        E = energy(p)
        err = np.max(np.abs(E - E[:, :1]))
        # symplectic Euler: |E - E0| <= h max|omega| (g/l) (twice the first modified-energy term)
        assert err <= h * np.max(np.abs(p.omega)) * p.g / p.length
        errs.append(err)
    assert 1.6 < errs[0] / errs[1] < 2.5  # first order in sim_dt


def test_pendulum_noise_is_brownian_with_intensity_sigma():
    sigma, T = 0.8, 1.0
    p = Pendulum(B=4000, duration=T - 1.0, seed=4, g=1e-12, friction=0.0, transition_noise_std=sigma, sim_dt=1e-2)
    incr = p.omega[:, -1] - p.omega[:, 0]  # g ~ 0: omega is sigma W(t) + omega0
    span = p.sim_times[-1] - p.sim_times[0]
    assert abs(incr.var() / (sigma**2 * span) - 1) < 0.07  # se of the variance ratio ~ 0.022
    assert abs(incr.mean()) < 4 * sigma * np.sqrt(span / 4000)


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_pendulum_interpolation_exact_at_nodes_and_linear_between(noise):
    p = Pendulum(B=3, duration=1.0, seed=5, transition_noise_std=noise, observe="all")
    k = np.array([0, 1, 17, 500, p.sim_times.size - 1])
    y = p(p.sim_times[k])
    assert np.array_equal(y[..., 0], p.theta[:, k])
    assert np.array_equal(y[..., 3], p.omega[:, k])
    mid = 0.5 * (p.sim_times[k[:-1]] + p.sim_times[k[:-1] + 1])
    ym = p(mid)
    assert np.allclose(ym[..., 0], 0.5 * (p.theta[:, k[:-1]] + p.theta[:, k[:-1] + 1]), rtol=0, atol=1e-13)
    assert np.allclose(ym[..., 3], 0.5 * (p.omega[:, k[:-1]] + p.omega[:, k[:-1] + 1]), rtol=0, atol=1e-13)
    t = np.random.default_rng(0).uniform(-1.0, 1.0, 200)
    assert np.allclose(p(t)[..., 0], np.stack([np.interp(t, p.sim_times, th) for th in p.theta]), atol=1e-13)


def test_pendulum_observations_consistent():
    kw = dict(B=4, duration=3.0, seed=6)
    t = np.random.default_rng(1).uniform(-0.5, 3.0, (5, 6))
    full = Pendulum(observe="all", **kw)(t)
    angle = Pendulum(observe="angle", **kw)(t)
    sc = Pendulum(observe="sincos", **kw)(t)
    vel = Pendulum(observe="velocity", **kw)(t)
    assert full.shape == (4, 5, 6, 4) and angle.shape == vel.shape == (4, 5, 6, 1) and sc.shape == (4, 5, 6, 2)
    assert np.array_equal(angle[..., 0], full[..., 0]) and np.array_equal(vel[..., 0], full[..., 3])
    assert np.allclose(sc[..., 0], np.sin(angle[..., 0]), rtol=0, atol=1e-15)
    assert np.allclose(sc[..., 1], np.cos(angle[..., 0]), rtol=0, atol=1e-15)
    assert np.allclose(sc[..., 0] ** 2 + sc[..., 1] ** 2, 1.0)


def test_pendulum_seeded():
    a, b, c = (Pendulum(B=2, duration=1.0, seed=s) for s in (7, 7, 8))
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.omega, b.omega)
    assert not np.array_equal(a.theta, c.theta)


# --------------------------------------------------------------------------------- ArraySignal


def zoh_reference(values, times, t):
    out = np.empty((values.shape[0], t.size, values.shape[2]))
    for j, tj in enumerate(t):
        k = 0
        for i in range(times.size):
            if times[i] <= tj:
                k = i
        out[:, j] = values[:, k]
    return out


@pytest.mark.parametrize("B,P", [(1, 1), (3, 2)])
def test_array_signal_zoh_against_loop(B, P):
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.1, 1.0, 12))
    values = rng.standard_normal((B, 12, P))
    s = ArraySignal(values, times, interp="zoh")
    t = np.concatenate([rng.uniform(times[0] - 1, times[-1] + 1, 100), times, [times[0] - 5, times[-1] + 5]])
    y = s(t)
    assert y.shape == (B, t.size, P) and (s.B, s.P) == (B, P)
    assert np.array_equal(y, zoh_reference(values, times, t))
    assert np.array_equal(s(times), values)  # exact at the samples
    assert np.array_equal(s(times[0] - 1.0), values[:, 0])  # before: the first value
    assert np.array_equal(s(times[-1] + 1.0), values[:, -1])  # after: the last value
    assert np.array_equal(s(0.5 * (times[3] + times[4])), values[:, 3])


@pytest.mark.parametrize("B,P", [(1, 1), (2, 3)])
def test_array_signal_linear_against_np_interp(B, P):
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.1, 1.0, 15))
    values = rng.standard_normal((B, 15, P))
    s = ArraySignal(values, times, interp="linear")
    t = rng.uniform(times[0] - 2, times[-1] + 2, (10, 20))
    y = s(t)
    assert y.shape == (B, 10, 20, P)
    for b in range(B):
        for p in range(P):
            assert np.allclose(y[b, ..., p], np.interp(t, times, values[b, :, p]), rtol=0, atol=1e-14)
    assert np.array_equal(s(times), values)
    assert np.array_equal(s(times[0] - 3.0), values[:, 0])
    assert np.array_equal(s(times[-1] + 3.0), values[:, -1])


def test_array_signal_input_forms():
    v = np.array([1.0, 2.0, 5.0])
    t = np.array([0.0, 1.0, 3.0])
    one = ArraySignal(v, t, "linear")
    assert (one.B, one.P) == (1, 1) and one(2.0).shape == (1, 1) and one(2.0)[0, 0] == 3.5
    two = ArraySignal(np.stack([v, -v], axis=-1), t, "zoh")
    assert (two.B, two.P) == (1, 2) and np.array_equal(two(1.5)[0], [2.0, -2.0])
    single = ArraySignal([4.0], [2.0], "linear")
    assert np.array_equal(single(np.array([-1.0, 2.0, 9.0]))[0, :, 0], [4.0, 4.0, 4.0])
    s = S.drops(6, 0.5, 0.3, draws=2, seed=0)
    assert s.sample(one).shape == (1, 2, s.L, 1)


# ------------------------------------------------------------------------------------ bad input


BAD = [
    ("t NaN", lambda: SumOfSines(seed=0)(np.array([0.0, np.nan])), errors.NonFiniteError, "found"),
    ("t inf pendulum", lambda: Pendulum(duration=0.5, seed=0)(np.inf), errors.NonFiniteError, "found"),
    ("t complex", lambda: SumOfSines(seed=0)(1j), errors.InputTypeError, "found"),
    ("freq reversed", lambda: SumOfSines(freq=(2.0, 1.0)), errors.ParameterError, "expected"),
    ("freq zero", lambda: SumOfSines(freq=(0.0, 1.0)), errors.ParameterError, "0 < lo <= hi"),
    ("freq scalar", lambda: SumOfSines(freq=1.0), errors.ParameterError, "pair"),
    ("freq NaN", lambda: SumOfSines(freq=(0.1, np.nan)), errors.ParameterError, "finite"),
    ("n_terms zero", lambda: SumOfSines(n_terms=0), errors.ParameterError, "expected"),
    ("B zero", lambda: SumOfSines(B=0), errors.ParameterError, "expected"),
    ("P float", lambda: SumOfSines(P=1.5), errors.InputTypeError, "expected"),
    (
        "pendulum outside window",
        lambda: Pendulum(duration=1.0, seed=0)(np.array([0.5, 1.2])),
        errors.ParameterError,
        r"expected times in \[-1, 1\]",
    ),
    ("pendulum before window", lambda: Pendulum(duration=1.0, seed=0)(-1.5), errors.ParameterError, "found t = -1.5"),
    ("pendulum observe", lambda: Pendulum(duration=1.0, observe="x"), errors.MethodError, "'angle', 'sincos'"),
    ("pendulum sim_dt", lambda: Pendulum(duration=1.0, sim_dt=0.0), errors.StepSizeError, "found"),
    ("pendulum friction", lambda: Pendulum(duration=1.0, friction=-0.1), errors.ParameterError, "expected"),
    (
        "pendulum noise NaN",
        lambda: Pendulum(duration=1.0, transition_noise_std=np.nan),
        errors.ParameterError,
        "finite",
    ),
    ("pendulum length", lambda: Pendulum(duration=1.0, length=0.0), errors.ParameterError, "> 0"),
    ("pendulum duration", lambda: Pendulum(duration=-2.0), errors.ParameterError, "expected"),
    ("array NaN", lambda: ArraySignal([0.0, np.nan], [0.0, 1.0]), errors.NonFiniteError, "found"),
    ("array inf", lambda: ArraySignal([[0.0], [np.inf]], [0.0, 1.0]), errors.NonFiniteError, "found"),
    (
        "array length",
        lambda: ArraySignal(np.zeros((2, 4, 1)), [0.0, 1.0, 2.0]),
        errors.ShapeError,
        r"expected shape \(B, 3, P\).*found \(2, 4, 1\)",
    ),
    ("array 4-D", lambda: ArraySignal(np.zeros((1, 2, 3, 1)), [0.0, 1.0, 2.0]), errors.ShapeError, "found"),
    (
        "array unsorted",
        lambda: ArraySignal([1.0, 2.0, 3.0], [0.0, 2.0, 1.0]),
        errors.StepSizeError,
        "decreasing time at index 2",
    ),
    ("array duplicated", lambda: ArraySignal([1.0, 2.0, 3.0], [0.0, 1.0, 1.0]), errors.StepSizeError, "duplicated"),
    ("array times NaN", lambda: ArraySignal([1.0, 2.0], [0.0, np.nan]), errors.NonFiniteError, "found"),
    ("array no times", lambda: ArraySignal(np.zeros(0), np.zeros(0)), errors.ShapeError, "found"),
    ("array interp", lambda: ArraySignal([1.0], [0.0], interp="cubic"), errors.MethodError, "'zoh', 'linear'"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_raises_named_error(case):
    _, call, exc, match = case
    with pytest.raises(exc, match=match) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError))
    assert "found" in str(info.value)


def test_sum_of_sines_is_the_same_on_any_thread_count():
    """Blocks of times run on numba's thread count; each writes its own slice, so 1 and 2
    threads give bit-identical values."""
    import numba

    sig = SumOfSines(B=2, P=3, n_terms=5, seed=4)
    t = np.sort(np.random.default_rng(0).uniform(0, 50, 100_000))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sig(t)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = sig(t)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, two)


def test_sum_of_sines_within_a_few_ulp_of_the_math_sin_sum():
    """The compiled sum (branch-free sin) against math.sin term by term in float64, also at times
    large enough that some arguments leave the fast reduction's range (|arg| > 1e5, where it falls
    back to libm). Forming ``2 pi f t + phi`` rounds: the bound is, per term, |a| times
    (2 eps |arg|, the argument's rounding, + 4 eps, the sines' own error)."""
    sig = SumOfSines(B=2, P=2, n_terms=3, freq=(0.2, 2.0), seed=5)
    rng = np.random.default_rng(1)
    t = np.concatenate([rng.uniform(-50, 50, 3000), rng.uniform(7e3, 2e4, 500), [0.0, 1e-300]])
    u = sig(t)
    ref = np.zeros_like(u)
    for b in range(2):
        for p in range(2):
            for i in range(3):
                a, f, ph = sig.amplitude[b, p, i], sig.frequency[b, p, i], sig.phase[b, p, i]
                ref[b, :, p] += [a * math.sin(2 * math.pi * f * tk + ph) for tk in t]
    eps = np.finfo(float).eps
    arg = 2 * np.pi * sig.frequency[:, None, :, :] * t[None, :, None, None] + sig.phase[:, None]  # (B, n, P, I)
    bound = np.sum(sig.amplitude[:, None] * (2 * eps * np.abs(arg) + 4 * eps), axis=-1)
    assert np.all(np.abs(u - ref) <= bound)
    assert np.max(np.abs(2 * np.pi * sig.frequency.max() * t)) > 1e5  # the fallback was exercised
