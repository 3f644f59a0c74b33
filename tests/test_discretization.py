"""Tests of :mod:`smr_stability.discretization` (docs/theory.md §0-§1).

Every numerical check compares against an independent reference: ``scipy.signal.cont2discrete``,
``control.sample_system``, ``scipy.linalg.expm``, ``scipy.integrate.solve_ivp`` at tight
tolerance, a closed form evaluated with :mod:`cmath`, or a plain Python loop.
"""

import cmath

import control
import numpy as np
import pytest
import scipy.linalg
import scipy.signal
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from smr_stability import METHODS, discretize, eigenvalue_map, errors, random_stable

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def rel_err(actual, desired):
    """Norm-wise relative error ``||actual - desired|| / ||desired||``."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    scale = np.linalg.norm(desired)
    return np.linalg.norm(actual - desired) / (scale if scale > 0 else 1.0)


def as_2d(B):
    return B[:, None] if B.ndim == 1 else B


# (toolkit method, toolkit alpha, scipy/control method, scipy/control alpha)
SHARED_METHODS = [
    ("zoh", None, "zoh", None),
    ("bilinear", None, "bilinear", None),
    ("tustin", None, "bilinear", None),
    ("euler", None, "euler", None),
    ("forward_diff", None, "euler", None),
    ("backward_diff", None, "backward_diff", None),
    ("gbt", 0.0, "gbt", 0.0),
    ("gbt", 0.25, "gbt", 0.25),
    ("gbt", 0.5, "gbt", 0.5),
    ("gbt", 0.8, "gbt", 0.8),
    ("gbt", 1.0, "gbt", 1.0),
]
SHARED_IDS = [m if a is None else f"gbt{a}" for m, a, _, _ in SHARED_METHODS]

# every toolkit method (aliases included), with an alpha where gbt needs one
ALL_METHODS = [(m, None) for m in METHODS if m != "gbt"] + [("gbt", a) for a in (0.0, 0.3, 0.5, 1.0)]
ALL_IDS = [m if a is None else f"gbt{a}" for m, a in ALL_METHODS]

SYSTEM_SIZES = [(1, 1), (4, 2), (12, 3)]


# ---------------------------------------------------------------------------------------------
# 1. agreement with scipy.signal.cont2discrete and control.sample_system
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "alpha", "ref_method", "ref_alpha"), SHARED_METHODS, ids=SHARED_IDS)
@pytest.mark.parametrize(("N", "P"), SYSTEM_SIZES)
@pytest.mark.parametrize("dt", [0.05, 0.5])
def test_dense_real_matches_scipy_and_control(method, alpha, ref_method, ref_alpha, N, P, dt):
    for seed in (0, 1):
        sys = random_stable(N, P, 2, diagonal=False, complex=False, seed=seed)
        Ab, Bb = discretize(sys.A, sys.B, dt, method=method, alpha=alpha)
        Ad_s, Bd_s, *_ = scipy.signal.cont2discrete(
            (sys.A, sys.B, sys.C, sys.D), dt, method=ref_method, alpha=ref_alpha
        )
        sysd = control.sample_system(control.ss(sys.A, sys.B, sys.C, sys.D), dt, method=ref_method, alpha=ref_alpha)
        assert Ab.dtype == np.float64 and Bb.dtype == np.float64
        assert rel_err(Ab, Ad_s) <= 1e-10
        assert rel_err(Bb, Bd_s) <= 1e-10
        assert rel_err(Ab, sysd.A) <= 1e-10
        assert rel_err(Bb, sysd.B) <= 1e-10


@pytest.mark.parametrize(("method", "alpha", "ref_method", "ref_alpha"), SHARED_METHODS, ids=SHARED_IDS)
@pytest.mark.parametrize(("N", "P"), SYSTEM_SIZES)
def test_dense_complex_matches_scipy(method, alpha, ref_method, ref_alpha, N, P):
    # scipy's cont2discrete handles complex matrices (expm and solve are complex-aware);
    # python-control casts complex state-space data to real (ComplexWarning), so it is not
    # a reference for complex systems.
    for seed in (0, 1):
        sys = random_stable(N, P, 2, diagonal=False, complex=True, seed=seed)
        Ab, Bb = discretize(sys.A, sys.B, 0.2, method=method, alpha=alpha)
        Ad, Bd, *_ = scipy.signal.cont2discrete((sys.A, sys.B, sys.C, sys.D), 0.2, method=ref_method, alpha=ref_alpha)
        assert np.iscomplexobj(Ab) and np.iscomplexobj(Bb)
        assert rel_err(Ab, Ad) <= 1e-10
        assert rel_err(Bb, Bd) <= 1e-10


@pytest.mark.parametrize(("method", "alpha", "ref_method", "ref_alpha"), SHARED_METHODS, ids=SHARED_IDS)
def test_diagonal_matches_scipy(method, alpha, ref_method, ref_alpha):
    for cx in (False, True):
        sys = random_stable(6, 2, 1, diagonal=True, complex=cx, seed=3)
        Ab, Bb = discretize(sys.A, sys.B, 0.3, method=method, alpha=alpha)
        Ad, Bd, *_ = scipy.signal.cont2discrete(
            (np.diag(sys.A), sys.B, sys.C, sys.D), 0.3, method=ref_method, alpha=ref_alpha
        )
        assert Ab.shape == (6,)
        assert rel_err(np.diag(Ab), Ad) <= 1e-10
        assert rel_err(Bb, Bd) <= 1e-10


@pytest.mark.parametrize(("method", "alpha"), [("bilinear", None), ("gbt", 0.3), ("backward_diff", None)])
def test_C_and_D_are_left_unchanged_unlike_scipy_and_control(method, alpha):
    """scipy/control also transform C and D for gbt-type methods; the toolkit does not.

    Documented difference (docs/theory.md §0): only Ab and Bb can be compared with them.
    """
    sys = random_stable(4, 2, 3, seed=5)
    a = {"bilinear": 0.5, "backward_diff": 1.0}.get(method, alpha)
    dt = 0.4
    _, _, Cd, Dd, _ = scipy.signal.cont2discrete((sys.A, sys.B, sys.C, sys.D), dt, method="gbt", alpha=a)
    sysd = control.sample_system(control.ss(sys.A, sys.B, sys.C, sys.D), dt, method="gbt", alpha=a)
    # scipy's C is C (I - a dt A)^{-1} and D is D + a C Bd: clearly not the input C, D
    M = np.eye(4) - a * dt * sys.A
    assert rel_err(Cd, sys.C @ np.linalg.inv(M)) <= 1e-10
    assert rel_err(sysd.C, Cd) <= 1e-10
    assert rel_err(Cd, sys.C) > 1e-2
    assert np.linalg.norm(Dd - sys.D) > 1e-2
    # the toolkit returns only (Ab, Bb); the model keeps its own C and D
    out = discretize(sys.A, sys.B, dt, method=method, alpha=alpha)
    assert isinstance(out, tuple) and len(out) == 2
    Ab, Bb = sys.discretize(dt, method=method, alpha=alpha)
    assert rel_err(Ab, out[0]) == 0 and rel_err(Bb, out[1]) == 0
    # and the input C/D arrays are not touched
    C0, D0 = sys.C.copy(), sys.D.copy()
    discretize(sys.A, sys.B, dt, method=method, alpha=alpha)
    np.testing.assert_array_equal(sys.C, C0)
    np.testing.assert_array_equal(sys.D, D0)


def test_discretize_does_not_modify_inputs():
    A = random_stable(3, 2, seed=0).A.copy()
    B = np.ones((3, 2))
    A0, B0 = A.copy(), B.copy()
    for method, alpha in ALL_METHODS:
        discretize(A, B, 0.1, method=method, alpha=alpha)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)


# ---------------------------------------------------------------------------------------------
# 2. diagonal fast path == dense path
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "alpha"), ALL_METHODS, ids=ALL_IDS)
@pytest.mark.parametrize("cx", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("b_vector", [False, True], ids=["B(N,P)", "B(N,)"])
def test_diagonal_path_equals_dense_path(method, alpha, cx, b_vector):
    for seed in (0, 1, 2):
        sys = random_stable(10, 3, 1, diagonal=True, complex=cx, seed=seed)
        B = sys.B[:, 0] if b_vector else sys.B
        for dt in (0.05, 0.7):
            Ab_d, Bb_d = discretize(sys.A, B, dt, method=method, alpha=alpha)
            Ab_f, Bb_f = discretize(np.diag(sys.A), B, dt, method=method, alpha=alpha)
            assert Ab_d.shape == (10,) and Ab_f.shape == (10, 10)
            assert Bb_d.shape == B.shape == Bb_f.shape
            assert rel_err(np.diag(Ab_d), Ab_f) <= 1e-12
            assert rel_err(Bb_d, Bb_f) <= 1e-12


@pytest.mark.parametrize(("method", "alpha"), ALL_METHODS, ids=ALL_IDS)
def test_diagonal_path_matches_elementwise_closed_form(method, alpha):
    """Diagonal rows against docs/theory.md §1 evaluated entry by entry with cmath (a plain loop)."""
    sys = random_stable(7, 2, 1, diagonal=True, complex=True, seed=11)
    lam = np.concatenate([sys.A, [0.0]])  # an integrator eigenvalue too
    B = np.vstack([sys.B, [[1.0, -2.0]]])
    dt = 0.37
    Ab, Bb = discretize(lam, B, dt, method=method, alpha=alpha)
    a = {"bilinear": 0.5, "tustin": 0.5, "euler": 0.0, "forward_diff": 0.0, "backward_diff": 1.0}.get(method, alpha)
    for n, l in enumerate(lam):
        z = complex(dt * l)
        if method in ("zoh", "selective"):
            mu = cmath.exp(z)
            scale = dt if (method == "selective" or z == 0) else (cmath.exp(z) - 1) / l
        else:
            mu = (1 + (1 - a) * z) / (1 - a * z)
            scale = dt / (1 - a * z)
        assert abs(Ab[n] - mu) <= 1e-13 * max(1.0, abs(mu))
        for p in range(B.shape[1]):
            assert abs(Bb[n, p] - scale * B[n, p]) <= 1e-12 * max(1.0, abs(scale * B[n, p]))


# ---------------------------------------------------------------------------------------------
# 3. batched dt, 9. output shapes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("S", [(), (3,), (2, 4)], ids=["scalar", "S=(3,)", "S=(2,4)"])
@pytest.mark.parametrize("diagonal", [False, True], ids=["dense", "diagonal"])
@pytest.mark.parametrize("b_vector", [False, True], ids=["B(N,P)", "B(N,)"])
@pytest.mark.parametrize(("method", "alpha"), [("zoh", None), ("bilinear", None), ("gbt", 0.7), ("selective", None)])
def test_batched_dt_stacks_along_leading_dims(S, diagonal, b_vector, method, alpha):
    N, P = 5, 2
    sys = random_stable(N, P, 1, diagonal=diagonal, complex=diagonal, seed=7)
    B = sys.B[:, 0] if b_vector else sys.B
    dts = np.random.default_rng(0).uniform(0.01, 1.0, size=S)
    Ab, Bb = discretize(sys.A, B, dts, method=method, alpha=alpha)
    assert Ab.shape == S + ((N,) if diagonal else (N, N))
    assert Bb.shape == S + B.shape  # B (N,) gives Bb S + (N,)
    A_dense = np.diag(sys.A) if diagonal else sys.A
    for idx in np.ndindex(*S):
        dt = float(dts[idx])
        Ab1, Bb1 = discretize(sys.A, B, dt, method=method, alpha=alpha)
        assert rel_err(Ab[idx], Ab1) <= 1e-13
        assert rel_err(Bb[idx], Bb1) <= 1e-13
        # and each slice against an independent reference
        Ab_ref = scipy.linalg.expm(dt * A_dense)
        if method == "selective":
            Bb_ref = dt * B
        else:
            ref = "zoh" if method == "zoh" else "gbt"
            a = {"bilinear": 0.5}.get(method, alpha)
            Ab_ref, Bb_ref, *_ = scipy.signal.cont2discrete(
                (A_dense, as_2d(B), np.ones((1, N)), np.zeros((1, P if B.ndim == 2 else 1))), dt, method=ref, alpha=a
            )
            Bb_ref = Bb_ref[:, 0] if b_vector else Bb_ref
        Ab_slice = np.diag(Ab[idx]) if diagonal else Ab[idx]
        assert rel_err(Ab_slice, Ab_ref) <= 1e-10
        assert rel_err(Bb[idx], Bb_ref) <= 1e-10


def test_dt_accepts_list_and_0d_array():
    sys = random_stable(3, 1, seed=2)
    Ab_list, Bb_list = discretize(sys.A, sys.B, [0.1, 0.2])
    Ab0, Bb0 = discretize(sys.A, sys.B, np.array(0.2))
    assert Ab_list.shape == (2, 3, 3) and Ab0.shape == (3, 3)
    assert rel_err(Ab_list[1], scipy.linalg.expm(0.2 * sys.A)) <= 1e-12
    assert rel_err(Ab0, scipy.linalg.expm(0.2 * sys.A)) <= 1e-12


# ---------------------------------------------------------------------------------------------
# 4. selective (S6 / Mamba)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cx", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("diagonal", [False, True], ids=["dense", "diagonal"])
def test_selective_is_expm_and_dt_B(cx, diagonal):
    sys = random_stable(6, 3, 1, diagonal=diagonal, complex=cx, seed=4)
    for dt in (0.01, 0.3, 2.0):
        Ab, Bb = discretize(sys.A, sys.B, dt, method="selective")
        A_dense = np.diag(sys.A) if diagonal else sys.A
        Ab_ref = scipy.linalg.expm(dt * A_dense)
        assert rel_err(np.diag(Ab) if diagonal else Ab, Ab_ref) <= 1e-12
        assert rel_err(Bb, dt * sys.B) <= 1e-15


# ---------------------------------------------------------------------------------------------
# 5. zoh is exact for piecewise-constant input (deep-SSM convention)
# ---------------------------------------------------------------------------------------------


def _exact_piecewise_constant(A, B, x0, u, steps):
    """x at the step ends for u_k held over ((k-1)dt, k dt]: solve_ivp per interval, tight tol."""
    x, out = np.asarray(x0, dtype=complex if np.iscomplexobj(A) else float), []
    for dt_k, u_k in zip(steps, u):
        f = B @ u_k
        sol = solve_ivp(lambda t, y, f=f: A @ y + f, (0.0, dt_k), x, method="DOP853", rtol=1e-12, atol=1e-12)
        assert sol.success
        x = sol.y[:, -1]
        out.append(x)
    return np.array(out)


def _zoh_cases():
    sys_dense = random_stable(4, 2, 1, seed=21)
    sys_diag = random_stable(5, 2, 1, diagonal=True, complex=True, seed=22)
    return {
        "dense_random": (sys_dense.A, sys_dense.B),
        # integrator eigenvalue 0 (singular A)
        "dense_integrator": (
            np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 2.0], [0.0, -2.0, -0.5]]),
            np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]),
        ),
        # double integrator: nilpotent A = doubly singular
        "dense_double_integrator": (np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0], [1.0]])),
        "diagonal_complex_with_zero": (np.concatenate([sys_diag.A, [0.0]]), np.vstack([sys_diag.B, [[1.0, -1.0]]])),
    }


@pytest.mark.parametrize("case", list(_zoh_cases()))
@pytest.mark.parametrize("variable_step", [False, True], ids=["fixed_dt", "variable_dt"])
def test_zoh_is_exact_for_piecewise_constant_input(case, variable_step):
    A, B = _zoh_cases()[case]
    N, P = B.shape
    A_dense = np.diag(A) if A.ndim == 1 else A
    rng = np.random.default_rng(123)
    K = 12
    u = rng.standard_normal((K, P))
    x0 = rng.standard_normal(N)
    steps = rng.uniform(0.05, 0.6, K) if variable_step else np.full(K, 0.3)
    Ab, Bb = discretize(A, B, steps if variable_step else 0.3, method="zoh")
    x, xs = x0.astype(Ab.dtype), []
    for k in range(K):  # x_k = Ab x_{k-1} + Bb u_k, plain loop
        Ab_k, Bb_k = (Ab[k], Bb[k]) if variable_step else (Ab, Bb)
        x = (Ab_k * x if A.ndim == 1 else Ab_k @ x) + Bb_k @ u[k]
        xs.append(x)
    xs = np.array(xs)
    ref = _exact_piecewise_constant(A_dense, B, x0, u, steps)
    assert np.max(np.linalg.norm(xs - ref, axis=1)) <= 1e-9 * max(1.0, np.max(np.linalg.norm(ref, axis=1)))


def test_zoh_singular_A_matches_closed_form_integral():
    """For the double integrator, Bb = [dt^2/2, dt] exactly (a closed form)."""
    for dt in (1e-6, 0.1, 3.0):
        Ab, Bb = discretize(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([0.0, 1.0]), dt)
        assert rel_err(Ab, np.array([[1.0, dt], [0.0, 1.0]])) <= 1e-14
        assert rel_err(Bb, np.array([dt**2 / 2, dt])) <= 1e-14


def test_zoh_diagonal_tiny_and_zero_eigenvalues_no_cancellation():
    """phi1(z) = (e^z - 1)/z near z = 0: compare with its Taylor series (independent)."""
    lam = np.array([0.0, 1e-12, -1e-9 + 1e-9j, 1e-10j, -3e-8])
    dt = 0.5
    _, Bb = discretize(lam, np.ones(5), dt)
    z = dt * lam
    taylor = dt * (1 + z / 2 + z**2 / 6 + z**3 / 24)
    assert np.max(np.abs(Bb - taylor) / np.abs(taylor)) <= 1e-14


# ---------------------------------------------------------------------------------------------
# 6. convergence orders
# ---------------------------------------------------------------------------------------------

A_CONV = np.array([[-1.0, 2.0], [-0.5, -0.3]])  # eigenvalues -0.65 +/- 0.94i, non-normal
B_CONV = np.array([1.0, 0.5])
X0_CONV = np.array([1.0, -0.5])
T_CONV = 4.0
N_STEPS = [40, 80, 160, 320, 640]  # dt = 0.1 ... 0.00625


def _slope(dts, errs):
    return np.polyfit(np.log(dts), np.log(errs), 1)[0]


@pytest.fixture(scope="module")
def forced_reference():
    """x(t) for dx/dt = A x + B sin(3t), x(0) = 0, on the finest grid (solve_ivp, tight tol)."""
    t = np.linspace(0.0, T_CONV, N_STEPS[-1] + 1)
    sol = solve_ivp(
        lambda s, y: A_CONV @ y + B_CONV * np.sin(3.0 * s),
        (0.0, T_CONV),
        np.zeros(2),
        method="DOP853",
        t_eval=t,
        rtol=1e-13,
        atol=1e-14,
    )
    assert sol.success
    return sol.y.T


@pytest.mark.parametrize(
    ("method", "order"), [("zoh", None), ("selective", None), ("bilinear", 2.0), ("euler", 1.0), ("backward_diff", 1.0)]
)
def test_homogeneous_convergence_order(method, order):
    dts, errs = [], []
    for n in N_STEPS:
        dt = T_CONV / n
        Ab, _ = discretize(A_CONV, B_CONV, dt, method=method)
        x, err = X0_CONV.copy(), 0.0
        for k in range(1, n + 1):
            x = Ab @ x
            err = (
                max(err, np.linalg.norm(x - scipy.linalg.expm(k * dt * A_CONV) @ X0_CONV))
                if k % (n // 40) == 0
                else err
            )
        dts.append(dt)
        errs.append(err)
    if order is None:  # exact up to rounding
        assert max(errs) <= 1e-12
    else:
        assert min(errs) > 1e-9  # the error is a discretization error, not rounding
        assert abs(_slope(dts, errs) - order) <= 0.15


@pytest.mark.parametrize("method", ["zoh", "selective", "bilinear", "euler", "backward_diff"])
def test_forced_input_at_step_end_is_order_one(method, forced_reference):
    dts, errs = [], []
    for n in N_STEPS:
        dt = T_CONV / n
        Ab, Bb = discretize(A_CONV, B_CONV, dt, method=method)
        stride = N_STEPS[-1] // n
        x, err = np.zeros(2), 0.0
        for k in range(1, n + 1):
            x = Ab @ x + Bb * np.sin(3.0 * k * dt)  # x_k = Ab x_{k-1} + Bb u(t_k)
            err = max(err, np.linalg.norm(x - forced_reference[k * stride]))
        dts.append(dt)
        errs.append(err)
    assert min(errs) > 1e-8
    assert abs(_slope(dts, errs) - 1.0) <= 0.15


# ---------------------------------------------------------------------------------------------
# 7. eigenvalue maps: closed forms and stability regions (hypothesis)
# ---------------------------------------------------------------------------------------------

finite = dict(allow_nan=False, allow_infinity=False)
re_neg = st.floats(-10.0, -0.01, **finite)
im_any = st.floats(-100.0, 100.0, **finite)
dt_pos = st.floats(1e-3, 10.0, **finite)


def _closed_form(z, method, alpha):
    z = complex(z)
    if method in ("zoh", "selective"):
        return cmath.exp(z)
    if method in ("bilinear", "tustin"):
        return (1 + z / 2) / (1 - z / 2)
    if method in ("euler", "forward_diff"):
        return 1 + z
    if method == "backward_diff":
        return 1 / (1 - z)
    return (1 + (1 - alpha) * z) / (1 - alpha * z)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    re=st.floats(-20.0, 5.0, **finite), im=st.floats(-50.0, 50.0, **finite), mi=st.sampled_from(range(len(ALL_METHODS)))
)
def test_eigenvalue_map_matches_closed_forms(re, im, mi):
    method, alpha = ALL_METHODS[mi]
    z = complex(re, im)
    a = {"bilinear": 0.5, "tustin": 0.5, "euler": 0.0, "forward_diff": 0.0, "backward_diff": 1.0}.get(method, alpha)
    assume(method in ("zoh", "selective") or abs(1 - a * z) > 1e-6)
    mu = complex(eigenvalue_map(z, method, alpha))
    ref = _closed_form(z, method, alpha)
    assert abs(mu - ref) <= 1e-13 * max(1.0, abs(ref))


def test_eigenvalue_map_keeps_shape_and_docstring_value():
    z = np.array([[-0.5 + 0j, 1j], [0.0, -2.0]])
    for method, alpha in ALL_METHODS:
        assert eigenvalue_map(z, method, alpha).shape == (2, 2)
    assert abs(complex(eigenvalue_map(-0.5 + 0j, "bilinear")) - 0.6) <= 1e-15


@settings(max_examples=300, deadline=None, derandomize=True)
@given(re=re_neg, im=im_any, dt=dt_pos, method=st.sampled_from(["zoh", "bilinear", "backward_diff", "selective"]))
def test_stable_eigenvalues_stay_in_unit_disk(re, im, dt, method):
    lam = complex(re, im)
    mu = complex(eigenvalue_map(dt * lam, method))
    assert abs(mu) < 1.0
    # the same through discretize on a diagonal A
    Ab, _ = discretize(np.array([lam]), np.ones(1), dt, method=method)
    assert abs(Ab[0]) < 1.0


@settings(max_examples=400, deadline=None, derandomize=True)
@given(re=re_neg, im=im_any, dt=dt_pos)
def test_forward_euler_stable_iff_dt_below_bound(re, im, dt):
    lam = complex(re, im)
    dt_crit = -2.0 * re / abs(lam) ** 2
    assume(abs(dt / dt_crit - 1.0) > 1e-6)  # keep away from the boundary, where rounding decides
    expected_stable = dt < dt_crit
    mu = complex(eigenvalue_map(dt * lam, "euler"))
    assert (abs(mu) < 1.0) == expected_stable
    Ab, _ = discretize(np.array([lam]), np.ones(1), dt, method="euler")
    assert (abs(Ab[0]) < 1.0) == expected_stable


def test_forward_euler_both_sides_of_the_bound_are_exercised():
    """Non-vacuity of the property above: fixed examples on each side of dt_crit."""
    lam = -1.0 + 3.0j  # dt_crit = 0.2
    assert abs(complex(eigenvalue_map(0.19 * lam, "euler"))) < 1.0
    assert abs(complex(eigenvalue_map(0.21 * lam, "euler"))) > 1.0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    omega=st.one_of(st.just(0.0), st.floats(1e-6, 100.0, **finite), st.floats(-100.0, -1e-6, **finite)),
    dt=dt_pos,
    method=st.sampled_from(["zoh", "bilinear", "tustin"]),
)
def test_imaginary_axis_maps_to_unit_circle(omega, dt, method):
    mu = eigenvalue_map(dt * complex(0.0, omega), method)
    assert abs(abs(complex(mu)) - 1.0) <= 1e-13
    Ab, _ = discretize(np.array([1j * omega]), np.ones(1), dt, method=method)
    assert abs(abs(Ab[0]) - 1.0) <= 1e-13


@settings(max_examples=100, deadline=None, derandomize=True)
@given(dt=dt_pos, method=st.sampled_from(["zoh", "bilinear", "backward_diff"]), seed=st.integers(0, 2**16))
def test_dense_stable_system_has_spectral_radius_below_one(dt, method, seed):
    sys = random_stable(5, 1, 1, seed=seed)
    Ab, _ = discretize(sys.A, sys.B, dt, method=method)
    assert np.max(np.abs(np.linalg.eigvals(Ab))) < 1.0


# ---------------------------------------------------------------------------------------------
# 8. bad input gets a named exception with an informative message
# ---------------------------------------------------------------------------------------------

A3 = -np.eye(3)
B3 = np.ones((3, 1))
A_NAN = np.array([[-1.0, np.nan], [0.0, -1.0]])
B_INF = np.array([[1.0], [np.inf]])
A_SING_DENSE = np.array([[2.0, 1.0], [0.0, -1.0]])  # dt = 0.5, alpha = 1: I - dt A singular

BAD_INPUTS = {
    "B_rows_mismatch_dense": (dict(A=A3, B=np.ones((2, 1)), dt=0.1), errors.ShapeError, ValueError, ["3", "(2, 1)"]),
    "B_rows_mismatch_diagonal": (
        dict(A=-np.ones(3), B=np.ones(2), dt=0.1),
        errors.ShapeError,
        ValueError,
        ["3", "(2,)"],
    ),
    "A_not_square": (
        dict(A=np.ones((2, 3)), B=np.ones((2, 1)), dt=0.1),
        errors.ShapeError,
        ValueError,
        ["square", "(2, 3)"],
    ),
    "A_3d": (dict(A=np.ones((2, 2, 2)), B=np.ones((2, 1)), dt=0.1), errors.ShapeError, ValueError, ["A", "(2, 2, 2)"]),
    "B_3d": (dict(A=A3, B=np.ones((3, 1, 1)), dt=0.1), errors.ShapeError, ValueError, ["B", "(3, 1, 1)"]),
    "A_nan_dense": (
        dict(A=A_NAN, B=np.ones((2, 1)), dt=0.1),
        errors.NonFiniteError,
        ValueError,
        ["A", "finite", "NaN"],
    ),
    "A_inf_diagonal": (
        dict(A=np.array([-1.0, -np.inf]), B=np.ones(2), dt=0.1),
        errors.NonFiniteError,
        ValueError,
        ["A", "finite"],
    ),
    "B_inf_dense": (dict(A=-np.eye(2), B=B_INF, dt=0.1), errors.NonFiniteError, ValueError, ["B", "finite"]),
    "B_nan_diagonal": (
        dict(A=-np.ones(2), B=np.array([1.0, np.nan]), dt=0.1),
        errors.NonFiniteError,
        ValueError,
        ["B", "finite"],
    ),
    "dt_zero": (dict(A=A3, B=B3, dt=0.0), errors.StepSizeError, ValueError, ["dt", "positive", "0.0"]),
    "dt_negative": (dict(A=A3, B=B3, dt=-0.1), errors.StepSizeError, ValueError, ["dt", "positive", "-0.1"]),
    "dt_array_with_zero": (
        dict(A=-np.ones(3), B=B3, dt=[0.1, 0.0]),
        errors.StepSizeError,
        ValueError,
        ["dt", "positive"],
    ),
    "dt_nan": (dict(A=A3, B=B3, dt=np.nan), errors.StepSizeError, ValueError, ["dt", "finite"]),
    "dt_inf": (dict(A=A3, B=B3, dt=np.inf), errors.StepSizeError, ValueError, ["dt", "finite"]),
    "dt_array_with_nan": (
        dict(A=-np.ones(3), B=B3, dt=[0.1, np.nan]),
        errors.StepSizeError,
        ValueError,
        ["dt", "finite"],
    ),
    "dt_complex": (dict(A=A3, B=B3, dt=0.1 + 0.1j), errors.InputTypeError, TypeError, ["dt", "real"]),
    "method_unknown": (dict(A=A3, B=B3, dt=0.1, method="foh"), errors.MethodError, ValueError, ["'foh'", *METHODS]),
    "method_wrong_case": (dict(A=A3, B=B3, dt=0.1, method="ZOH"), errors.MethodError, ValueError, ["'ZOH'", *METHODS]),
    "method_not_str": (dict(A=A3, B=B3, dt=0.1, method=None), errors.MethodError, ValueError, ["None", *METHODS]),
    "gbt_alpha_missing": (
        dict(A=A3, B=B3, dt=0.1, method="gbt"),
        errors.AlphaError,
        ValueError,
        ["alpha", "[0, 1]", "None"],
    ),
    "gbt_alpha_negative": (
        dict(A=A3, B=B3, dt=0.1, method="gbt", alpha=-0.1),
        errors.AlphaError,
        ValueError,
        ["alpha", "[0, 1]", "-0.1"],
    ),
    "gbt_alpha_above_one": (
        dict(A=A3, B=B3, dt=0.1, method="gbt", alpha=1.5),
        errors.AlphaError,
        ValueError,
        ["alpha", "[0, 1]", "1.5"],
    ),
    "gbt_alpha_nan": (
        dict(A=A3, B=B3, dt=0.1, method="gbt", alpha=float("nan")),
        errors.AlphaError,
        ValueError,
        ["alpha", "[0, 1]", "nan"],
    ),
    "gbt_alpha_not_number": (
        dict(A=A3, B=B3, dt=0.1, method="gbt", alpha="half"),
        errors.AlphaError,
        ValueError,
        ["alpha", "'half'"],
    ),
    "alpha_with_bilinear": (
        dict(A=A3, B=B3, dt=0.1, method="bilinear", alpha=0.5),
        errors.AlphaError,
        ValueError,
        ["alpha", "gbt", "'bilinear'"],
    ),
    "alpha_with_zoh": (
        dict(A=A3, B=B3, dt=0.1, method="zoh", alpha=0.0),
        errors.AlphaError,
        ValueError,
        ["alpha", "gbt", "'zoh'"],
    ),
    "alpha_with_selective": (
        dict(A=A3, B=B3, dt=0.1, method="selective", alpha=1.0),
        errors.AlphaError,
        ValueError,
        ["alpha", "gbt"],
    ),
    # I - alpha dt A singular: diagonal lambda = 2, dt = 0.5 (dt * lambda = 1 = 1/alpha)
    "singular_diagonal_backward_diff": (
        dict(A=np.array([2.0, -1.0]), B=np.ones(2), dt=0.5, method="backward_diff"),
        errors.SingularSystemError,
        ValueError,
        ["singular", "alpha=1.0"],
    ),
    "singular_diagonal_bilinear": (
        dict(A=np.array([-1.0, 4.0 + 0j]), B=np.ones(2), dt=0.5, method="bilinear"),
        errors.SingularSystemError,
        ValueError,
        ["singular", "alpha=0.5"],
    ),
    "singular_diagonal_gbt": (
        dict(A=np.array([2.0]), B=np.ones(1), dt=2.0, method="gbt", alpha=0.25),
        errors.SingularSystemError,
        ValueError,
        ["singular", "alpha=0.25"],
    ),
    "singular_diagonal_one_of_batch": (
        dict(A=np.array([2.0, -1.0]), B=np.ones(2), dt=[0.1, 0.5], method="backward_diff"),
        errors.SingularSystemError,
        ValueError,
        ["singular"],
    ),
    "singular_dense_backward_diff": (
        dict(A=A_SING_DENSE, B=np.ones(2), dt=0.5, method="backward_diff"),
        errors.SingularSystemError,
        ValueError,
        ["singular", "alpha=1.0"],
    ),
    "singular_dense_bilinear": (
        dict(A=np.array([[-1.0, 0.0], [3.0, 4.0]]), B=np.ones((2, 1)), dt=0.5, method="bilinear"),
        errors.SingularSystemError,
        ValueError,
        ["singular", "alpha=0.5"],
    ),
    "singular_dense_one_of_batch": (
        dict(A=A_SING_DENSE, B=np.ones(2), dt=[[0.1, 0.2], [0.5, 0.3]], method="gbt", alpha=1.0),
        errors.SingularSystemError,
        ValueError,
        ["singular"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_named_error(case):
    kwargs, exc, builtin, fragments = BAD_INPUTS[case]
    assert issubclass(exc, builtin) and issubclass(exc, errors.SMRStabilityError)
    with pytest.raises(exc) as info:
        discretize(**kwargs)
    assert isinstance(info.value, builtin)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"


def test_singular_dense_similarity_transformed():
    """A non-triangular dense A with eigenvalue 2 (so I - 0.5 A is singular up to rounding)."""
    V = np.array([[1.0, 2.0], [-1.0, 1.0]])
    A = V @ np.diag([2.0, -1.0]) @ np.linalg.inv(V)
    with pytest.raises(errors.SingularSystemError, match="singular"):
        discretize(A, np.ones(2), 0.5, method="backward_diff")


def test_lambda_two_dt_one_backward_diff_is_not_singular():
    """dt*lambda = 2 != 1/alpha = 1, so backward Euler is well defined there: mu = 1/(1-2) = -1."""
    Ab, Bb = discretize(np.array([2.0]), np.ones(1), 1.0, method="backward_diff")
    assert abs(Ab[0] - (-1.0)) <= 1e-15 and abs(Bb[0] - (-1.0)) <= 1e-15
    Ab, Bb = discretize(np.array([[2.0]]), np.ones(1), 1.0, method="backward_diff")
    assert abs(Ab[0, 0] + 1.0) <= 1e-15 and abs(Bb[0] + 1.0) <= 1e-15


@pytest.mark.parametrize(
    ("z", "method", "alpha", "exc"),
    [
        (2.0, "bilinear", None, errors.SingularSystemError),
        (np.array([0.5, 1.0]), "backward_diff", None, errors.SingularSystemError),
        (4.0 + 0j, "gbt", 0.25, errors.SingularSystemError),
        (0.1, "foh", None, errors.MethodError),
        (0.1, "gbt", None, errors.AlphaError),
        (0.1, "gbt", 2.0, errors.AlphaError),
        (0.1, "euler", 0.0, errors.AlphaError),
    ],
)
def test_eigenvalue_map_bad_input(z, method, alpha, exc):
    with pytest.raises(exc) as info:
        eigenvalue_map(z, method, alpha)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("lam", [5e-309j, complex(-5e-309, 0.0)], ids=["imag", "real_part_of_complex"])
def test_zoh_diagonal_subnormal_complex_eigenvalue(lam):
    # phi1(z) = 1 + z/2 + ... = 1 to double precision; reference: Bb = dt * B, Ab = 1
    Ab, Bb = discretize(np.array([lam]), np.ones(1), 1.0, method="zoh")
    assert np.all(np.isfinite(Bb))
    assert abs(Bb[0] - 1.0) <= 1e-15 and abs(Ab[0] - 1.0) <= 1e-15


@pytest.mark.parametrize(("method", "alpha"), ALL_METHODS, ids=ALL_IDS)
def test_well_posed_inputs_never_give_nan(method, alpha):
    """Stiff, oscillatory, integrator and near-singular (but solvable) systems give finite output."""
    lam = np.array([0.0, -1e4, -1e-8, 50j, -0.3 + 200j])
    for dt in (1e-6, 0.01, 1.0):
        Ab, Bb = discretize(lam, np.ones((5, 2)), dt, method=method, alpha=alpha)
        assert np.all(np.isfinite(Ab)) and np.all(np.isfinite(Bb))
        Ab, Bb = discretize(np.diag(lam), np.ones((5, 2)), dt, method=method, alpha=alpha)
        assert np.all(np.isfinite(Ab)) and np.all(np.isfinite(Bb))
