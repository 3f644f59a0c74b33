"""Kernels, FFT convolution and the scans against independent references.

References: explicit matrix powers, ``np.convolve``, ``scipy.signal.dlsim``, ``expm`` of the
augmented matrix, and the plain loop ``simulate_reference`` (itself checked against dlsim).
"""

import math

import mpmath
import numba
import numpy as np
import pytest
import scipy.signal
from scipy.linalg import expm

import smr_stability as smr
from smr_stability import errors
from smr_stability._vecmath import expm1_exp, sincos_vers

RTOL = 1e-10


def rel_err(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-300)


def discrete_system(kind, N=6, P=2, Q=3, seed=0, dt=0.1, method="zoh"):
    diagonal = kind.startswith("diag")
    sys = smr.random_stable(N, P, Q, diagonal=diagonal, complex=kind.endswith("complex"), seed=seed)
    Ab, Bb = smr.discretize(sys.A, sys.B, dt, method=method)
    D = np.random.default_rng(seed + 1).standard_normal((Q, P))
    return Ab, Bb, sys.C, D


KINDS = ["diag-real", "diag-complex", "dense-real", "dense-complex"]


def powers_kernel(Ab, Bb, C, L):
    """K_k = C Ab^k Bb by explicit matrix powers (independent of ssm_kernel's algorithms)."""
    A = np.diag(Ab) if Ab.ndim == 1 else Ab
    return np.stack([C @ np.linalg.matrix_power(A, k) @ Bb for k in range(L)])


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_equals_matrix_powers(kind):
    Ab, Bb, C, _ = discrete_system(kind)
    K = smr.ssm_kernel(Ab, Bb, C, 40)
    assert K.shape == (40, 3, 2)
    assert rel_err(K, powers_kernel(Ab, Bb, C, 40)) < 1e-12


def test_kernel_diagonal_handles_zero_and_negative_eigenvalues():
    mu = np.array([0.0, -0.5, 0.9, -1.0])  # mu = 0 (Euler at dt = -1/lambda) and negative reals
    Bb, C = np.ones((4, 1)), np.arange(1.0, 5.0)[None, :]
    K = smr.ssm_kernel(mu, Bb, C, 12)
    assert np.isrealobj(K)
    assert rel_err(K, powers_kernel(mu, Bb, C, 12)) < 1e-13


def test_kernel_batched_over_systems():
    sys = smr.s4d_lin(8, seed=1)
    dts = np.array([0.01, 0.1, 0.5])
    Ab, Bb = smr.discretize(sys.A, sys.B, dts)  # (3, 8), (3, 8, 1)
    K = smr.ssm_kernel(Ab, Bb, sys.C, 20)
    assert K.shape == (3, 20, 1, 1)
    for i in range(3):
        assert rel_err(K[i], powers_kernel(Ab[i], Bb[i], sys.C, 20)) < 1e-12


def test_causal_conv_equals_direct_convolution():
    rng = np.random.default_rng(2)
    K, u = rng.standard_normal((50, 2, 3)), rng.standard_normal((4, 50, 3))
    y = smr.causal_conv(K, u)
    ref = np.zeros((4, 50, 2))
    for b in range(4):
        for q in range(2):
            for p in range(3):
                ref[b, :, q] += np.convolve(K[:, q, p], u[b, :, p])[:50]
    assert rel_err(y, ref) < 1e-12


def test_causal_conv_siso_blocks_equal_direct_convolution():
    """The single-kernel path (rows in blocks of 64): more rows than one block, nested batch."""
    rng = np.random.default_rng(21)
    K, u = rng.standard_normal((33, 1, 1)), rng.standard_normal((5, 27, 33, 1))  # 135 rows
    y = smr.causal_conv(K, u)
    assert y.shape == (5, 27, 33, 1)
    ref = np.apply_along_axis(lambda r: np.convolve(K[:, 0, 0], r)[:33], -1, u[..., 0])
    assert rel_err(y[..., 0], ref) < 1e-12


def test_siso_batch_simulation_equals_recurrence():
    sys = smr.s4d_lin(16, seed=4)
    Ab, Bb = smr.discretize(sys.A, sys.B, 0.05)
    u = np.random.default_rng(22).standard_normal((70, 100, 1))
    y = smr.simulate(Ab, Bb, sys.C, 0.5, u)
    for b in (0, 63, 64, 69):
        assert rel_err(y[b], smr.simulate_reference(Ab, Bb, sys.C, 0.5, u[b])[0]) < RTOL


def test_reference_loop_equals_dlsim():
    """The oracle itself against scipy: dlsim uses x_{k+1} = A x_k + B u_k, y_k = C x_k + D u_k."""
    Ab, Bb, C, D = discrete_system("dense-real", N=5, P=2, Q=2)
    u = np.random.default_rng(3).standard_normal((60, 2))
    y, x = smr.simulate_reference(Ab, Bb, C, D, u)
    # deep-SSM x_k is dlsim's x_{k+1}: y_k = C Ab x_k^ctrl + (C Bb + D) u_k
    _, y_ctrl, x_ctrl = scipy.signal.dlsim((Ab, Bb, C @ Ab, C @ Bb + D, 1.0), u)
    assert rel_err(y, y_ctrl) < 1e-12
    assert rel_err(x[:-1], x_ctrl[1:]) < 1e-12


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["fft", "scan"])
def test_convolution_and_scan_equal_recurrence(kind, mode):
    Ab, Bb, C, D = discrete_system(kind, method="bilinear")
    u = np.random.default_rng(4).standard_normal((3, 200, 2))
    y = smr.simulate(Ab, Bb, C, D, u, mode=mode)
    assert y.shape == (3, 200, 3)
    for b in range(3):
        assert rel_err(y[b], smr.simulate_reference(Ab, Bb, C, D, u[b])[0]) < RTOL


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["fft", "scan"])
def test_states_and_initial_state_equal_recurrence(kind, mode):
    Ab, Bb, C, D = discrete_system(kind, N=4)
    rng = np.random.default_rng(5)
    u = rng.standard_normal((2, 30, 2))
    x0 = rng.standard_normal((2, 4))
    y, x = smr.simulate(Ab, Bb, C, D, u, x0=x0, return_states=True, mode=mode)
    y0 = smr.simulate(Ab, Bb, C, D, u, x0=x0, mode=mode)
    for b in range(2):
        y_ref, x_ref = smr.simulate_reference(Ab, Bb, C, D, u[b], x0=x0[b])
        assert rel_err(y[b], y_ref) < RTOL and rel_err(x[b], x_ref) < RTOL
        assert rel_err(y0[b], y_ref) < RTOL


def test_system_batch_broadcasts_against_trajectory_batch():
    sys = smr.s4d_inv(6, seed=0)
    Ab, Bb = smr.discretize(sys.A, sys.B, np.array([0.05, 0.2, 1.0]))  # S = (3,)
    u = np.random.default_rng(6).standard_normal((2, 1, 64, 1))  # T = (2, 1)
    for mode in ("fft", "scan"):
        y = smr.simulate(Ab, Bb, sys.C, sys.D, u, mode=mode)
        assert y.shape == (2, 3, 64, 1)
        for t in range(2):
            for s in range(3):
                ref = smr.simulate_reference(Ab[s], Bb[s], sys.C, sys.D, u[t, 0])[0]
                assert rel_err(y[t, s], ref) < RTOL


def test_edge_sizes_N1_L1():
    y = smr.simulate(np.array([0.5]), np.array([2.0]), np.array([3.0]), 1.0, np.array([[4.0]]))
    assert y.shape == (1, 1) and y[0, 0] == pytest.approx(3 * 2 * 4 + 4)


@pytest.mark.parametrize("method", ["zoh", "bilinear", "euler", "backward_diff", "selective"])
@pytest.mark.parametrize("diagonal", [True, False])
def test_variable_step_equals_per_step_reference(method, diagonal):
    sys = smr.random_stable(5, 2, 2, diagonal=diagonal, complex=diagonal, seed=7)
    rng = np.random.default_rng(8)
    dt = rng.uniform(0.01, 0.3, (3, 80))
    u = rng.standard_normal((3, 80, 2))
    y, x = smr.simulate_variable_step(sys, u, dt, method=method, return_states=True)
    for b in range(3):
        Abk, Bbk = smr.discretize(sys.A, sys.B, dt[b], method=method)  # per-step (L, N[, N]), (L, N, P)
        y_ref, x_ref = smr.simulate_reference(Abk, Bbk, sys.C, sys.D, u[b])
        assert rel_err(y[b], y_ref) < RTOL and rel_err(x[b], x_ref) < RTOL


def test_variable_step_gbt_alpha():
    sys = smr.random_stable(4, diagonal=True, complex=True, seed=9)
    dt = np.random.default_rng(9).uniform(0.05, 0.2, 40)
    u = np.random.default_rng(10).standard_normal((40, 1))
    y = smr.simulate_variable_step(sys, u, dt, method="gbt", alpha=0.3)
    Abk, Bbk = smr.discretize(sys.A, sys.B, dt, method="gbt", alpha=0.3)
    assert rel_err(y, smr.simulate_reference(Abk, Bbk, sys.C, sys.D, u)[0]) < RTOL


@pytest.mark.parametrize("diagonal", [True, False])
def test_variable_step_zoh_is_exact_for_held_input(diagonal):
    """Input held over each irregular gap: the state at the sample times is the exact solution.

    Exact reference: propagate [x; u] with expm of the augmented generator over each gap.
    """
    sys = smr.random_stable(4, 1, 1, diagonal=diagonal, complex=False, seed=11)
    rng = np.random.default_rng(12)
    gaps = rng.exponential(0.1, 50)
    u = rng.standard_normal((50, 1))
    _, x = smr.simulate_variable_step(sys, u, gaps, return_states=True)
    A = sys.A_dense
    M = np.zeros((5, 5))
    M[:4, :4], M[:4, 4:] = A, sys.B
    state, exact = np.zeros(4), []
    for g, uk in zip(gaps, u):
        state = (expm(g * M) @ np.concatenate([state, uk]))[:4]
        exact.append(state)
    assert rel_err(x, np.array(exact)) < 1e-11


def test_simulate_tv_dense_equals_reference():
    sys = smr.hippo_legs(8, seed=0)
    dt = np.random.default_rng(13).uniform(0.01, 0.05, 100)
    Abk, Bbk = smr.discretize(sys.A, sys.B, dt, method="bilinear")  # (L, N, N), (L, N, 1)
    u = np.random.default_rng(14).standard_normal((2, 100, 1))
    y, x = smr.simulate_tv(Abk, Bbk, sys.C, sys.D, u, return_states=True)
    for b in range(2):
        y_ref, x_ref = smr.simulate_reference(Abk, Bbk, sys.C, sys.D, u[b])
        assert rel_err(y[b], y_ref) < RTOL and rel_err(x[b], x_ref) < RTOL


def test_fixed_step_is_variable_step_with_equal_gaps():
    sys = smr.s5_hippo(16, P=2, Q=2, seed=3)
    u = np.random.default_rng(15).standard_normal((2, 128, 2))
    Ab, Bb = smr.discretize(sys.A, sys.B, 0.03)
    y_fft = smr.simulate(Ab, Bb, sys.C, sys.D, u)
    y_var = smr.simulate_variable_step(sys, u, np.full(128, 0.03))
    assert rel_err(y_var, y_fft) < RTOL


# -- bad input -------------------------------------------------------------------------


def _system():
    return discrete_system("diag-complex", N=3, P=1, Q=1)


@pytest.mark.parametrize(
    "make, exc",
    [
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.ones((10, 2))), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.ones(10)), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.ones((10, 1)) * 1j), errors.InputTypeError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.full((10, 1), np.nan)), errors.NonFiniteError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.ones((10, 1)), mode="magic"), errors.MethodError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, np.ones((1, 5)), D, np.ones((10, 1))), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, np.ones((2, 2)), np.ones((10, 1))), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.simulate(Ab, Bb, C, D, np.ones((10, 1)), x0=np.ones(7)), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.ssm_kernel(Ab, Bb, C, -1), errors.ShapeError),
        (lambda Ab, Bb, C, D: smr.simulate_tv(Ab, Bb, C, D, np.ones((10, 1))), errors.ShapeError),
    ],
)
def test_bad_input_raises_named_errors(make, exc):
    with pytest.raises(exc) as info:
        make(*_system())
    assert isinstance(info.value, (ValueError, TypeError))
    assert "found" in str(info.value)


@pytest.mark.parametrize(
    "dt, exc",
    [
        (np.full(10, 0.1)[:9], errors.ShapeError),
        (np.r_[np.full(9, 0.1), 0.0], errors.StepSizeError),
        (np.r_[np.full(9, 0.1), np.nan], errors.StepSizeError),
        (np.r_[np.full(9, 0.1), -1.0], errors.StepSizeError),
    ],
)
def test_variable_step_rejects_bad_gaps(dt, exc):
    sys = smr.s4d_lin(3)
    with pytest.raises(exc):
        smr.simulate_variable_step(sys, np.ones((10, 1)), dt)


def test_variable_step_rejects_singular_gbt_step():
    sys = smr.SSM(np.array([2.0]), [1.0], [1.0])
    with pytest.raises(errors.SingularSystemError):
        smr.simulate_variable_step(sys, np.ones((3, 1)), np.array([0.1, 0.5, 0.1]), method="backward_diff")


def test_variable_step_tiny_eigenvalue_uses_the_limit():
    """dt*lambda subnormal: Bb -> dt*B (phi1 -> 1), not inf/nan from 1/lambda."""
    sys = smr.SSM(np.array([5e-309j, -1.0 + 0j]), np.ones(2), np.ones(2))
    dt = np.array([0.1, 0.2, 0.3])
    u = np.ones((3, 1))
    _, x = smr.simulate_variable_step(sys, u, dt, return_states=True)
    Abk, Bbk = smr.discretize(sys.A, sys.B, dt)
    assert rel_err(x, smr.simulate_reference(Abk, Bbk, sys.C, None, u)[1]) < RTOL
    assert x[-1, 0] == pytest.approx(0.6)  # the integrator mode sums dt_k * u_k


@pytest.mark.parametrize("mode", ["fft", "scan"])
def test_diverging_simulation_raises_instead_of_returning_inf(mode):
    Ab, Bb, C = np.array([1e3]), np.ones((1, 1)), np.ones((1, 1))
    with pytest.raises(errors.NonFiniteError, match="unstable"):
        smr.simulate(Ab, Bb, C, None, np.ones((200, 1)), mode=mode)
    with pytest.raises(errors.NonFiniteError):
        smr.simulate_variable_step(smr.SSM([5.0], [1.0], [1.0]), np.ones((300, 1)), np.full(300, 1.0))


# -- the vectorised exp and sin/cos of the zoh scan (smr_stability._scan) --------------------


@numba.njit
def _expm1_exp_of(x):
    em1, ex = np.empty_like(x), np.empty_like(x)
    for i in range(x.shape[0]):
        em1[i], ex[i] = expm1_exp(x[i])
    return em1, ex


@numba.njit
def _sincos_vers_of(t):
    s, c, v = np.empty_like(t), np.empty_like(t), np.empty_like(t)
    for i in range(t.shape[0]):
        s[i], c[i], v[i] = sincos_vers(t[i])
    return s, c, v


def ulps(a, b):
    """Distance in units in the last place: how many float64 lie between a and b (0 if equal)."""

    def ordinal(v):
        i = np.asarray(v, dtype=np.float64).view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)  # monotone in v; -0.0 and 0.0 both 0

    return np.abs(ordinal(a) - ordinal(b))


def libm(f, x):
    return np.array([f(v) for v in x])


def test_expm1_exp_within_2_ulp_of_libm():
    """|x| <= 700 (the range the scan uses them on): expm1 within 2 ulp, exp within 1 ulp of
    math.expm1 / math.exp (glibc, itself within 1 ulp); exactly 0 -> (0, 1) and subnormal x -> x."""
    rng = np.random.default_rng(30)
    k = np.arange(-1010, 1011)
    edges = (k + 0.5) * np.log(2.0)  # where the reduction x = k ln2 + r changes k
    x = np.concatenate(
        [
            rng.uniform(-700, 700, 40000),
            rng.uniform(-2, 2, 40000),
            rng.uniform(-1e-3, 1e-3, 5000),
            -np.logspace(-300, 2, 2000),
            np.logspace(-300, 2, 2000),
            edges,
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
            [0.0, -0.0, 5e-324, -5e-324, 1e-300, 1e-17, -1e-17, 0.5, -0.5, 700.0, -700.0],
        ]
    )
    x = x[np.abs(x) <= 700]
    em1, ex = _expm1_exp_of(x)
    assert ulps(em1, libm(math.expm1, x)).max() <= 2
    assert ulps(ex, libm(math.exp, x)).max() <= 1
    em1, ex = _expm1_exp_of(np.array([0.0, 5e-324, -1e-310]))
    assert list(em1) == [0.0, 5e-324, -1e-310] and list(ex) == [1.0, 1.0, 1.0]


def test_sincos_within_2_ulp_of_libm_also_next_to_multiples_of_half_pi():
    """|t| <= 1e5: sin and cos within 2 ulp of math.sin / math.cos (1.4 ulp of the exact value at
    most, measured), also at the float64 nearest to j pi/2 (where sin or cos is tiny: the
    reduction must keep its relative accuracy) and at the quadrant edges (j + 1/2) pi/2;
    1 - cos t = 2 sin^2(t/2) within 3 ulp of its value at 300 bits (mpmath), also next to
    multiples of 2 pi and for small t, where it is tiny."""
    rng = np.random.default_rng(31)
    j = np.arange(-63662, 63663, 7)
    near, edge = j * (np.pi / 2), (j + 0.5) * (np.pi / 2)
    t = np.concatenate(
        [
            rng.uniform(-1e5, 1e5, 40000),
            rng.uniform(-10, 10, 40000),
            rng.uniform(-1e-3, 1e-3, 5000),
            -np.logspace(-300, 5, 2000),
            np.logspace(-300, 5, 2000),
            near,
            np.nextafter(near, np.inf),
            np.nextafter(near, -np.inf),
            edge,
            np.nextafter(edge, np.inf),
            [0.0, -0.0, 5e-324, 1e-8, np.pi / 4, -np.pi / 4, 1e5, -1e5],
        ]
    )
    t = t[np.abs(t) <= 1e5]
    s, c, _ = _sincos_vers_of(t)
    assert ulps(s, libm(math.sin, t)).max() <= 2
    assert ulps(c, libm(math.cos, t)).max() <= 2
    assert ulps(s[np.abs(t) < 1e-150], t[np.abs(t) < 1e-150]).max() == 0  # sin t = t for tiny t
    k = np.arange(-15915, 15916, 3)  # t next to 2 pi k: 1 - cos t is tiny
    t = np.concatenate([t[::97], k * (2 * np.pi), np.nextafter(k * (2 * np.pi), np.inf), np.logspace(-300, 0, 500)])
    _, _, v = _sincos_vers_of(t)
    with mpmath.workprec(300):
        exact = np.array([float(2 * mpmath.sin(mpmath.mpf(float(ti)) / 2) ** 2) for ti in t])
    assert ulps(v, exact).max() <= 3
    s, c, v = _sincos_vers_of(np.array([0.0]))
    assert (s[0], c[0], v[0]) == (0.0, 1.0, 0.0)


def test_variable_step_zoh_blocks_outside_the_vectorised_range():
    """The zoh scan's scalar path, per block of 32 steps and mode, equals the reference too: a mode
    lam = 0 (scalar in every block), blocks with |dt Im lam| > 1e5 or dt Re lam < -700 for some
    modes, and steps so short that |dt lam| < 1e-290, beside the vectorised blocks and modes."""
    A = np.array([0.0, -0.5 + 3j, -2.0 + 1e6j, -1e4 + 0j, -1e-280 + 1e-279j])
    sys = smr.SSM(A, np.ones((5, 2)), np.arange(10.0).reshape(2, 5) + 1j, np.ones((2, 2)))
    rng = np.random.default_rng(32)
    dt = rng.uniform(1e-4, 1e-3, (2, 200))
    dt[0, 40] = 0.2  # t = 2e5 and x = -2000: the second block of trajectory 0 goes scalar
    dt[1, 100:110] = 1e-295  # |dt lam| < 1e-290 for the last mode
    u = rng.standard_normal((2, 200, 2))
    x0 = rng.standard_normal((2, 5)) + 1j * rng.standard_normal((2, 5))
    y, x = smr.simulate_variable_step(sys, u, dt, x0=x0, return_states=True)
    for b in range(2):
        Abk, Bbk = smr.discretize(sys.A, sys.B, dt[b])
        y_ref, x_ref = smr.simulate_reference(Abk, Bbk, sys.C, sys.D, u[b], x0=x0[b])
        assert rel_err(y[b], y_ref) < RTOL and rel_err(x[b], x_ref) < RTOL
