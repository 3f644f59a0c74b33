"""Tests of :mod:`smr_stability.symbolic` (docs/theory.md §1, §4).

Every symbolic result is lambdified (``modules='numpy'``) and compared at random points with an
independent numeric computation: :func:`smr_stability.discretize` and
:func:`smr_stability.eigenvalue_map`, scipy's Lyapunov solvers, ``scipy.optimize.brentq``,
``scipy.linalg.expm`` (exact trajectories for a finite difference), or a direct evaluation of
``L_e = e^H P e``. Symbolic identities are also checked exactly (``simplify(...) == 0``).
"""

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from scipy.optimize import brentq

from smr_stability import METHODS, discretize, eigenvalue_map, errors
from smr_stability import symbolic as S

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def rel_err(actual, desired):
    """Norm-wise relative error ``||actual - desired|| / ||desired||``."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    scale = np.linalg.norm(desired)
    return np.linalg.norm(actual - desired) / (scale if scale > 0 else 1.0)


def crandn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def random_hpd(rng, n):
    """A random Hermitian positive definite n x n matrix (eigenvalues >= 0.5)."""
    G = crandn(rng, n, n)
    return G @ G.conj().T / n + 0.5 * np.eye(n)


def random_schur_stable(rng, n, radius=0.9):
    """A random dense complex n x n matrix scaled to spectral radius ``radius`` (non-normal)."""
    M = crandn(rng, n, n)
    return M * (radius / np.max(np.abs(np.linalg.eigvals(M))))


def random_hurwitz(rng, n):
    """A random dense complex n x n matrix with spectral abscissa -0.3."""
    M = crandn(rng, n, n)
    return M - (np.max(np.linalg.eigvals(M).real) + 0.3) * np.eye(n)


# every toolkit method (aliases included), with an alpha where gbt needs one
ALL_METHODS = [(m, None) for m in METHODS if m != "gbt"] + [("gbt", a) for a in (0.0, 0.3, 0.5, 1.0)]
ALL_IDS = [m if a is None else f"gbt{a}" for m, a in ALL_METHODS]

# ---------------------------------------------------------------------------------------------
# §1 scalar maps: mu(z) and Bb(lambda, dt)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, alpha", ALL_METHODS, ids=ALL_IDS)
def test_eigenvalue_map_expr_matches_numeric(method, alpha):
    rng = np.random.default_rng(0)
    zs = 3.0 * crandn(rng, 200)
    d = S.eigenvalue_map_expr(method, alpha)
    assert d.symbols == (S.z,)
    got = d.lambdify()(zs)
    want = eigenvalue_map(zs, method, alpha)
    assert np.max(np.abs(got - want) / np.abs(want)) < 1e-12


def test_eigenvalue_map_expr_symbolic_alpha():
    d = S.eigenvalue_map_expr("gbt")
    assert d.symbols == (S.z, S.alpha)
    rng = np.random.default_rng(1)
    zs = crandn(rng, 50)
    for a in (0.0, 0.25, 0.5, 0.8, 1.0):
        assert rel_err(d.lambdify()(zs, a), eigenvalue_map(zs, "gbt", a)) < 1e-12
    # the named methods are gbt at alpha = 1/2, 0, 1 exactly
    for name, a in (("bilinear", sp.Rational(1, 2)), ("euler", 0), ("backward_diff", 1)):
        assert sp.simplify(S.eigenvalue_map_expr(name).expr - d.expr.subs(S.alpha, a)) == 0
    assert S.eigenvalue_map_expr("bilinear").expr == (1 + S.z / 2) / (1 - S.z / 2)


@pytest.mark.parametrize("method, alpha", ALL_METHODS, ids=ALL_IDS)
def test_input_matrix_expr_matches_numeric(method, alpha):
    rng = np.random.default_rng(2)
    N = 40
    lam = crandn(rng, N)  # both half-planes
    b = crandn(rng, N)
    d = S.input_matrix_expr(method, alpha)
    assert d.symbols == (S.lam, S.dt, S.b)
    f_B, f_A = d.lambdify(), d.lambdify("Ab")
    for dt in rng.uniform(0.01, 1.0, size=4):
        Ab, Bb = discretize(lam, b, dt, method, alpha)
        assert rel_err(f_B(lam, dt, b), Bb) < 1e-12
        assert rel_err(f_A(lam, dt, b), Ab) < 1e-12


def test_input_matrix_expr_zoh_singular_limit():
    d = S.input_matrix_expr("zoh")
    assert d.details["at_lambda_0"] == S.dt * S.b
    # the numeric code's lambda = 0 case agrees with the limit
    _, Bb = discretize(np.array([0.0]), np.array([1.5]), 0.3, "zoh")
    assert np.isclose(Bb[0], 0.3 * 1.5, rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# §1 2 x 2 systems
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, alpha", ALL_METHODS, ids=ALL_IDS)
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_discretize_2x2_generic_matches_numeric(method, alpha, kind):
    rng = np.random.default_rng(3)
    d = S.discretize_2x2(method, alpha)
    A_sym, B_sym = d.symbols[0], d.symbols[1]
    assert A_sym.shape == (2, 2) and B_sym.shape == (2, 1) and d.symbols[2] == S.dt
    f = d.lambdify()
    for _ in range(5):
        A = rng.standard_normal((2, 2)) if kind == "real" else crandn(rng, 2, 2)
        B = rng.standard_normal(2) if kind == "real" else crandn(rng, 2)
        dt = rng.uniform(0.05, 1.0)
        Ab, Bb = discretize(A, B, dt, method, alpha)
        # complex arguments: the zoh closed form takes sqrt of a possibly negative discriminant
        Ab_s, Bb_s = f(A.astype(complex), B.astype(complex), dt)
        assert rel_err(Ab_s, Ab) < 1e-12
        assert rel_err(np.asarray(Bb_s).reshape(2), Bb) < 1e-12


def test_discretize_2x2_symbolic_alpha():
    d = S.discretize_2x2("gbt")
    assert d.symbols[-1] == S.alpha
    rng = np.random.default_rng(4)
    A, B = crandn(rng, 2, 2), crandn(rng, 2)
    Ab, Bb = discretize(A, B, 0.4, "gbt", 0.3)
    Ab_s, Bb_s = d.lambdify()(A, B, 0.4, 0.3)
    assert rel_err(Ab_s, Ab) < 1e-12 and rel_err(np.asarray(Bb_s).reshape(2), Bb) < 1e-12


def test_discretize_2x2_jordan_block_zoh():
    """Repeated eigenvalue: sympy's exponential of the block matrix, vs the numeric code."""
    A = sp.Matrix([[S.lam, 1], [0, S.lam]])
    d = S.discretize_2x2("zoh", A=A)
    assert d.symbols[0] == S.lam and d.symbols[-1] == S.dt
    Ab_s, Bb_s = d.expr
    assert sp.simplify(Ab_s - sp.exp(S.dt * S.lam) * sp.Matrix([[1, S.dt], [0, 1]])) == sp.zeros(2, 2)
    f = d.lambdify()
    rng = np.random.default_rng(5)
    for lam in crandn(rng, 4):
        B, dt = crandn(rng, 2), rng.uniform(0.05, 1.0)
        Ab, Bb = discretize(np.array([[lam, 1.0], [0.0, lam]]), B, dt, "zoh")
        got_A, got_B = f(lam, B, dt)
        assert rel_err(got_A, Ab) < 1e-12
        assert rel_err(np.asarray(got_B).reshape(2), Bb) < 1e-12


def test_discretize_2x2_double_integrator_zoh():
    """Singular A: the block-exponential form gives the exact zoh of the double integrator."""
    b1, b2 = sp.symbols("b_1 b_2")
    d = S.discretize_2x2("zoh", A=sp.Matrix([[0, 1], [0, 0]]))
    Ab_s, Bb_s = d.expr
    dt = S.dt
    assert sp.simplify(Ab_s - sp.Matrix([[1, dt], [0, 1]])) == sp.zeros(2, 2)
    assert sp.simplify(Bb_s - sp.Matrix([dt * b1 + dt**2 * b2 / 2, dt * b2])) == sp.zeros(2, 1)
    Ab, Bb = discretize(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([0.7, -1.3]), 0.25, "zoh")
    got_A, got_B = d.lambdify()(np.array([0.7, -1.3]), 0.25)
    assert rel_err(got_A, Ab) < 1e-13 and rel_err(np.asarray(got_B).reshape(2), Bb) < 1e-13


@pytest.mark.parametrize("method", ["zoh", "selective", "bilinear", "backward_diff"])
def test_discretize_2x2_damped_oscillator(method):
    a, w = sp.symbols("a omega", positive=True)
    d = S.discretize_2x2(method, A=sp.Matrix([[-a, w], [-w, -a]]), simplify=method != "zoh")
    assert d.symbols[:2] == (a, w)
    av, wv, dt = 0.4, 3.0, 0.3
    B = np.array([1.0, -0.5])
    Ab, Bb = discretize(np.array([[-av, wv], [-wv, -av]]), B, dt, method)
    got_A, got_B = d.lambdify()(av, wv, B, dt)
    assert rel_err(np.asarray(got_A, dtype=complex), Ab) < 1e-12
    assert rel_err(np.asarray(got_B, dtype=complex).reshape(2), Bb) < 1e-12


# ---------------------------------------------------------------------------------------------
# §1 stability regions
# ---------------------------------------------------------------------------------------------


def test_bilinear_identity_symbolic():
    d = S.bilinear_stability_identity()
    x, y = d.symbols
    assert d.expr == 2 * x
    assert sp.simplify(d.details["difference"] - 2 * x) == 0
    assert d.details["condition"] == (x < 0)
    # the mu of the identity is the bilinear eigenvalue map at z = x + i y
    mu_map = S.eigenvalue_map_expr("bilinear").expr.subs(S.z, d.details["z"])
    assert sp.simplify(d.details["mu"] - mu_map) == 0
    # |mu|^2 - 1 = 2x / |1 - z/2|^2, exactly
    mu = d.details["mu"]
    abs2 = sp.expand(sp.Abs(sp.numer(sp.together(mu))) ** 2) / sp.expand(sp.Abs(sp.denom(sp.together(mu))) ** 2)
    assert sp.simplify(abs2 - 1 - d.details["abs_mu2_minus_1"]) == 0
    # the complex-z display says the same thing
    first = d.equation()[0]
    assert sp.simplify((first.lhs - first.rhs).subs(S.z, x + sp.I * y)) == 0


def test_bilinear_identity_numeric():
    d = S.bilinear_stability_identity()
    rng = np.random.default_rng(6)
    x, y = 4 * rng.standard_normal(500), 4 * rng.standard_normal(500)
    zs = x + 1j * y
    assert rel_err(d.lambdify("difference")(x, y), 2 * zs.real) < 1e-12
    mu2 = np.abs(eigenvalue_map(zs, "bilinear")) ** 2
    got = d.lambdify("abs_mu2_minus_1")(x, y)
    assert np.all(np.abs(got - (mu2 - 1)) <= 1e-12 * (1 + mu2))
    assert np.array_equal(mu2 < 1, x < 0)


def test_euler_step_limit_matches_numeric_crossing():
    d = S.euler_step_limit_expr()
    f = d.lambdify()
    rng = np.random.default_rng(7)
    for _ in range(20):
        r, theta = rng.uniform(0.1, 10), rng.uniform(0.55, 1.45) * np.pi  # Re(lambda) < 0
        lam = r * np.exp(1j * theta)
        limit = f(lam.real, lam.imag)

        def g(h):
            return np.abs(eigenvalue_map(h * lam, "euler")) ** 2 - 1.0

        crossing = brentq(g, 1e-6 / r, 1e3 / r, xtol=1e-300, rtol=4 * np.finfo(float).eps)
        assert abs(limit - crossing) <= 1e-10 * crossing
        assert np.abs(1 + 0.99 * limit * lam) < 1 < np.abs(1 + 1.01 * limit * lam)
    # the complex-lambda display is the same formula
    disp = sp.lambdify(S.lam, d.equation().rhs, modules="numpy")
    lam = -0.3 + 2.0j
    assert np.isclose(disp(lam), f(lam.real, lam.imag), rtol=1e-14)
    # Re(lambda) >= 0: no positive step is stable
    assert f(0.5, 1.0) < 0 and f(0.0, 1.0) == 0


# ---------------------------------------------------------------------------------------------
# §4 Theorem 1, discrete form
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (2, 2)])
def test_lyapunov_difference_symbolic_residual(n, m):
    d = S.lyapunov_difference_expr(n, m)
    assert d.details["residual"] == 0
    # the Re(.) cross term is essential: dropping it breaks the identity
    broken = d.expr.replace(sp.re, lambda X: 0)
    Q_sym, Q_sub = d.symbols[3], d.details["Q"]
    if n == 1:
        subs = {Q_sym: Q_sub}
    else:
        subs = {Q_sym[i, j]: Q_sub[i, j] for i in range(n) for j in range(i, n)}
    assert sp.expand(d.details["direct"] - broken.subs(subs)) != 0


@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (2, 2)])
def test_lyapunov_difference_matches_direct_evaluation(n, m):
    d = S.lyapunov_difference_expr(n, m)
    f = d.lambdify()
    rng = np.random.default_rng(8 + n + m)
    for _ in range(10):
        Ab, Bb = random_schur_stable(rng, n), crandn(rng, n, m)
        Q = random_hpd(rng, n)
        P = scipy.linalg.solve_discrete_lyapunov(Ab.conj().T, Q)  # Ab^H P Ab - P = -Q
        P = (P + P.conj().T) / 2
        assert np.allclose(Ab.conj().T @ P @ Ab - P, -Q, atol=1e-10)
        e, w = crandn(rng, n), crandn(rng, m)
        e1 = Ab @ e + Bb @ w
        direct = np.vdot(e1, P @ e1).real - np.vdot(e, P @ e).real
        if n == 1:  # scalar symbols
            args = (Ab[0, 0], Bb[0, 0], P[0, 0].real, Q[0, 0].real, e[0], w[0])
        else:  # one-column matrices (Bb when m = 1, e, w) take (n,) arrays
            args = (Ab, Bb if m > 1 else Bb[:, 0], P, Q, e, w)
        got = f(*args)
        assert abs(np.imag(got)) <= 1e-12 * abs(direct)
        assert abs(np.real(got) - direct) <= 1e-10 * (abs(direct) + np.vdot(e, P @ e).real)
        # the lambdified direct form agrees too
        direct_s = d.lambdify("direct")(*args)
        assert abs(np.real(direct_s) - direct) <= 1e-10 * (abs(direct) + np.vdot(e, P @ e).real)


def test_lyapunov_difference_fails_with_wrong_orientation():
    """P solving Ab P Ab^H - P = -Q (scipy's orientation, untransposed) breaks the formula."""
    d = S.lyapunov_difference_expr(2, 2)
    f = d.lambdify()
    rng = np.random.default_rng(9)
    Ab, Bb, Q = random_schur_stable(rng, 2), crandn(rng, 2, 2), random_hpd(rng, 2)
    P = scipy.linalg.solve_discrete_lyapunov(Ab, Q)
    e, w = crandn(rng, 2), crandn(rng, 2)
    e1 = Ab @ e + Bb @ w
    direct = np.vdot(e1, P @ e1).real - np.vdot(e, P @ e).real
    assert abs(np.real(f(Ab, Bb, P, Q, e, w)) - direct) > 1e-6 * abs(direct)


def test_gamma_star():
    d = S.gamma_star_expr()
    a, b, sig, lmin = d.symbols
    g = sp.Symbol("gamma")
    # exact: gamma* solves the quadratic, equals its rationalized form, and gives the rate
    assert sp.expand(b * d.expr**2 + 2 * a * d.expr - sig * lmin) == 0
    assert sp.simplify(d.expr - d.details["rationalized"]) == 0
    assert sp.simplify(d.details["decrease_rate"] + (1 - sig) * lmin) == 0
    assert d.details["quadratic"] == sp.Eq(b * g**2 + 2 * a * g, sig * lmin)
    f, f_rat = d.lambdify(), d.lambdify("rationalized")
    other = [r for r in d.details["roots"] if r != d.expr]
    assert len(other) == 1
    f_other = sp.lambdify(d.symbols, other[0], modules="numpy")
    rng = np.random.default_rng(10)
    av = np.concatenate([[0.0], rng.uniform(0, 2, 199)])
    bv, sv, lv = rng.uniform(0.5, 2, 200), rng.uniform(0.05, 0.95, 200), rng.uniform(0.1, 2, 200)
    gam = f(av, bv, sv, lv)
    c = sv * lv
    assert np.all(gam > 0) and np.all(f_other(av, bv, sv, lv) < 0)
    assert np.max(np.abs(bv * gam**2 + 2 * av * gam - c) / c) < 1e-12
    closed = (-av + np.sqrt(av**2 + bv * c)) / bv
    assert rel_err(gam, closed) < 1e-12
    assert np.max(np.abs(f_rat(av, bv, sv, lv) - gam) / gam) < 1e-11
    assert np.allclose(gam[0], np.sqrt(c[0] / bv[0]), rtol=1e-14)  # a = 0


def test_gamma_star_decrease_on_random_systems():
    """gamma* from Theorem 1's norms: the worst-case w at ||w|| = gamma*||e|| meets the bound."""
    f = S.gamma_star_expr().lambdify()
    dL = S.lyapunov_difference_expr(2, 2).lambdify()
    rng = np.random.default_rng(11)
    sigma = 0.5
    for _ in range(10):
        Ab, Bb, Q = random_schur_stable(rng, 2), crandn(rng, 2, 2), random_hpd(rng, 2)
        P = scipy.linalg.solve_discrete_lyapunov(Ab.conj().T, Q)
        P = (P + P.conj().T) / 2
        a, b = np.linalg.norm(Ab.conj().T @ P @ Bb, 2), np.linalg.norm(Bb.conj().T @ P @ Bb, 2)
        lmin = np.linalg.eigvalsh(Q)[0]
        gam = f(a, b, sigma, lmin)
        e = crandn(rng, 2)
        v = Bb.conj().T @ P @ Ab @ e
        w = gam * np.linalg.norm(e) * v / np.linalg.norm(v)
        assert np.real(dL(Ab, Bb, P, Q, e, w)) <= -(1 - sigma) * lmin * np.vdot(e, e).real * (1 - 1e-9)


# ---------------------------------------------------------------------------------------------
# §4 Theorem 1, continuous form
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (2, 2)])
def test_continuous_derivative_matches_product_rule_and_finite_difference(n, m):
    d = S.continuous_derivative_expr(n, m)
    assert d.details["residual"] == 0
    f = d.lambdify()
    rng = np.random.default_rng(12 + n + m)
    for _ in range(6):
        A, B, Q = random_hurwitz(rng, n), crandn(rng, n, m), random_hpd(rng, n)
        P = scipy.linalg.solve_continuous_lyapunov(A.conj().T, -Q)  # A^H P + P A = -Q
        P = (P + P.conj().T) / 2
        assert np.allclose(A.conj().T @ P + P @ A, -Q, atol=1e-10)
        e, w = crandn(rng, n), crandn(rng, m)
        de = A @ e + B @ w
        product_rule = 2 * np.vdot(de, P @ e).real
        # exact trajectory with constant w: [e; 1]' = [[A, B w], [0, 0]] [e; 1]
        M = np.zeros((n + 1, n + 1), dtype=complex)
        M[:n, :n], M[:n, n] = A, B @ w
        x0 = np.append(e, 1.0)

        def L(t):
            et = (scipy.linalg.expm(t * M) @ x0)[:n]
            return np.vdot(et, P @ et).real

        h = 1e-4
        finite_diff = (L(h) - L(-h)) / (2 * h)
        if n == 1:
            got = f(A[0, 0], B[0, 0], P[0, 0].real, Q[0, 0].real, e[0], w[0], 0.5)
        else:
            got = f(A, B if m > 1 else B[:, 0], P, Q, e, w)
        scale = abs(product_rule) + np.vdot(e, Q @ e).real
        assert abs(np.imag(got)) <= 1e-12 * scale
        assert abs(np.real(got) - product_rule) <= 1e-11 * scale
        assert abs(np.real(got) - finite_diff) <= 1e-6 * scale


def test_continuous_threshold_scalar():
    d = S.continuous_derivative_expr()
    A_, B_, P_, Q_, e_, w_, sig_ = d.symbols
    E = sp.Abs(e_)
    assert sp.simplify(d.details["bound_at_threshold"] + (1 - sig_) * Q_ * E**2) == 0
    f, f_thr, f_bound = d.lambdify(), d.lambdify("w_threshold"), d.lambdify("bound_at_threshold")
    rng = np.random.default_rng(14)
    for _ in range(20):
        lam = complex(-rng.uniform(0.1, 3), rng.uniform(-5, 5))
        B, e = complex(*rng.standard_normal(2)), complex(*rng.standard_normal(2))
        q, sigma = rng.uniform(0.5, 2), rng.uniform(0.1, 0.9)
        p = scipy.linalg.solve_continuous_lyapunov(np.array([[np.conj(lam)]]), np.array([[-q]]))[0, 0].real
        assert np.isclose(p, q / (-2 * lam.real), rtol=1e-13)
        thr = f_thr(lam, B, p, q, e, 0.0, sigma)
        assert np.isclose(thr, sigma * q / (2 * abs(p * B)) * abs(e), rtol=1e-14)
        # worst direction w ∝ B^H P e: equality with the bound (Cauchy-Schwarz is tight for scalars)
        w_worst = thr * np.conj(B) * e / abs(B * e)
        got = np.real(f(lam, B, p, q, e, w_worst, sigma))
        assert np.isclose(got, -(1 - sigma) * q * abs(e) ** 2, rtol=1e-12)
        assert np.isclose(f_bound(lam, B, p, q, e, w_worst, sigma), got, rtol=1e-12)
        # any other direction at or below the threshold is below the bound
        for phase in rng.uniform(0, 2 * np.pi, 5):
            w = thr * rng.uniform(0, 1) * np.exp(1j * phase)
            assert np.real(f(lam, B, p, q, e, w, sigma)) <= -(1 - sigma) * q * abs(e) ** 2 * (1 - 1e-12)
        # above the threshold in the worst direction the bound fails (non-vacuous)
        assert np.real(f(lam, B, p, q, e, 1.5 * w_worst, sigma)) > -(1 - sigma) * q * abs(e) ** 2


# ---------------------------------------------------------------------------------------------
# LaTeX and API
# ---------------------------------------------------------------------------------------------

EXPECTED_LATEX = {
    "mu_zoh": [r"\mu", "e^{z}"],
    "mu_bilinear": [r"\mu", r"\frac{z}{2}"],
    "mu_euler": [r"\mu", "z + 1"],
    "mu_backward_diff": [r"\mu", "1 - z"],
    "mu_gbt": [r"\mu", r"\alpha"],
    "mu_selective": [r"\mu", "e^{z}"],
    "Bb_zoh": [r"\bar{B}", r"e^{\Delta \lambda}"],
    "Bb_bilinear": [r"\bar{B}", r"\Delta b"],
    "Bb_euler": [r"\bar{B}", r"\Delta b"],
    "Bb_backward_diff": [r"\bar{B}", r"\Delta \lambda"],
    "Bb_gbt": [r"\bar{B}", r"\alpha"],
    "Bb_selective": [r"\bar{B}", r"\Delta b"],
    "bilinear_stability": [r"\frac{z}{2}", r"\operatorname{re}", r"\mu"],
    "euler_step_limit": [r"\Delta_{max}", r"\lambda"],
    "lyapunov_difference": [r"\Delta L_{e}", r"e^{H} Q e", r"\bar{A}^{H} P \bar{B}", r"\operatorname{Re}"],
    "gamma_star": [r"\gamma^{*}", r"\sqrt", r"\sigma", r"\lambda_{min}"],
    "continuous_derivative": [r"\frac{d}{d t}", r"e^{H} P B w", r"\|PB\|", r"\sigma"],
}


def test_derivation_latex_all():
    out = S.derivation_latex()
    assert set(out) == set(EXPECTED_LATEX)
    for name, tokens in EXPECTED_LATEX.items():
        assert isinstance(out[name], str) and out[name]
        for tok in tokens:
            assert tok in out[name], (name, tok, out[name])
        assert S.derivation_latex(name) == out[name]


def test_latex_helpers():
    d = S.discretize_2x2("bilinear")
    text = d.latex()
    assert r"\bar{A}" in text and r"\bar{B}" in text and "a_{11}" in text and r",\quad" in text
    assert S.latex(d) == text
    assert d._repr_latex_().startswith("$") and d._repr_latex_().endswith("$")
    assert S.latex(sp.Symbol("Abar")) == r"\bar{A}"
    assert S.latex((sp.Symbol("x"), sp.Symbol("y"))) == r"x,\quad y"


def test_errors():
    with pytest.raises(errors.MethodError):
        S.eigenvalue_map_expr("rk4")
    with pytest.raises(errors.MethodError):
        S.discretize_2x2(["zoh"])
    with pytest.raises(errors.AlphaError):
        S.eigenvalue_map_expr("gbt", 1.5)
    with pytest.raises(errors.AlphaError):
        S.input_matrix_expr("gbt", sp.Rational(3, 2))
    with pytest.raises(errors.AlphaError):
        S.discretize_2x2("zoh", alpha=0.5)
    with pytest.raises(errors.ShapeError):
        S.discretize_2x2("zoh", A=sp.eye(3))
    with pytest.raises(errors.ShapeError):
        S.discretize_2x2("zoh", A=sp.eye(2), B=sp.Matrix([1, 2, 3]))
    with pytest.raises(errors.ParameterError):
        S.derivation_latex("nope")
    with pytest.raises(errors.ParameterError):
        S.lyapunov_difference_expr(0)
    with pytest.raises(errors.ParameterError):
        S.continuous_derivative_expr(1, 1.5)


def test_derivations_are_immutable_and_cached():
    d = S.eigenvalue_map_expr("gbt", 0.5)
    assert d is S.eigenvalue_map_expr("gbt", 0.5)
    assert d.expr == S.eigenvalue_map_expr("bilinear").expr
    with pytest.raises(TypeError):
        d.details["x"] = 1
    Ab, _ = S.discretize_2x2("euler").expr
    with pytest.raises(TypeError):
        Ab[0, 0] = 0


def test_discretize_2x2_given_B_symbols():
    """A given B contributes its free symbols (not a Matrix argument): numbers in B work."""
    c = sp.Symbol("c")
    d = S.discretize_2x2("bilinear", A=sp.Matrix([[S.lam, 0], [0, -1]]), B=sp.Matrix([c, 1]))
    assert d.symbols == (S.lam, c, S.dt)  # A's free symbols, then B's new ones, then Delta
    args = {c: 0.7, S.lam: -0.2 + 1j, S.dt: 0.3}
    Ab_s, Bb_s = d.lambdify()(*(args[s] for s in d.symbols))
    Ab, Bb = discretize(np.array([[-0.2 + 1j, 0], [0, -1]]), np.array([0.7, 1.0]), 0.3, "bilinear")
    assert rel_err(Ab_s, Ab) < 1e-13 and rel_err(np.asarray(Bb_s).reshape(2), Bb) < 1e-13
