"""Eigenvalue, transient and Theorem 1 bounds (docs/theory.md §4, §6) against independent references.

References: ``sup_k ||Ab^k||_2`` measured by repeated products over a long horizon, a
brute-force polar grid of the Kreiss objective, closed forms for diagonal systems, scipy's
Lyapunov solvers for P, the quadratic that defines gamma*, extended-precision arithmetic
(``decimal``), and the Lyapunov function evaluated along simulated error trajectories.
"""

from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.linalg

import smr_stability as smr
from smr_stability import errors
from smr_stability.bounds import (
    continuous_threshold,
    discrete_eigenvalues,
    discrete_spectral_radius,
    envelope_rate,
    euler_dt_limit,
    gamma_star,
    kreiss_constant,
    spectral_radius,
    transient_bound,
)


def H(M):
    return M.conj().T


def power_norms(Ab, K=2000):
    """``||Ab^k||_2`` for k = 0..K-1 by repeated products (K products, batched norms)."""
    N = Ab.shape[0]
    Ps = np.empty((K, N, N), dtype=Ab.dtype)
    M = np.eye(N, dtype=Ab.dtype)
    for k in range(K):
        Ps[k] = M
        M = M @ Ab
    return np.linalg.norm(Ps, 2, axis=(1, 2))


def brute_kreiss(Ab, n_r=150, n_t=240):
    """max over a dense polar grid in z of (|z| - 1) ||(zI - Ab)^{-1}||_2 (SVDs, no optimiser)."""
    r = 1.0 + np.geomspace(1e-4, 1e3, n_r)
    t = np.linspace(0.0, 2 * np.pi, n_t, endpoint=False)
    R, T = np.meshgrid(r, t)
    z = (R * np.exp(1j * T)).ravel()
    N = Ab.shape[0]
    M = z[:, None, None] * np.eye(N) - Ab
    smin = np.linalg.svd(M, compute_uv=False)[:, -1]
    return float(np.max((np.abs(z) - 1.0) / smin))


def jordan(mu, N, c):
    return mu * np.eye(N) + c * np.eye(N, k=1)


# -- transient growth: kreiss <= sup_k ||Ab^k|| <= transient_bound ---------------------------


@pytest.mark.parametrize("N", [8, 16, 32])
@pytest.mark.parametrize("method", ["bilinear", "zoh"])
@pytest.mark.parametrize("dt", [0.01, 0.1, 0.5])
def test_hippo_legs_powers_between_kreiss_and_lyapunov_bounds(N, method, dt):
    sys = smr.hippo_legs(N)
    Ab, _ = smr.discretize(sys.A, sys.B, dt, method)
    norms = power_norms(Ab)
    assert norms[-1] < 1e-6 * norms.max()  # the horizon covers the transient
    sup = norms.max()
    K = kreiss_constant(Ab)
    tb = transient_bound(Ab)
    assert 1.0 <= K <= sup * (1 + 1e-9)
    assert sup <= tb * (1 + 1e-9)
    # HiPPO-LegS is dissipative in the 2-norm (A + A^T = -(r r^T + I)), so zoh and bilinear
    # give ||Ab|| <= 1: no transient growth, sup = K = 1.
    assert sup == pytest.approx(1.0, abs=1e-12) and K == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("N,dt", [(8, 0.05), (16, 0.02), (16, 0.05)])
def test_hippo_legs_forward_euler_grows_before_it_decays(N, dt):
    """Forward Euler below its stability limit: rho < 1 but ||Ab|| > 1, so a transient exists."""
    sys = smr.hippo_legs(N)
    assert dt < euler_dt_limit(sys.A)
    Ab, _ = smr.discretize(sys.A, sys.B, dt, "euler")
    norms = power_norms(Ab)
    assert norms[-1] < 1e-8 * norms.max()
    sup = norms.max()
    K, tb = kreiss_constant(Ab), transient_bound(Ab)
    assert sup > 1.05
    assert K <= sup * (1 + 1e-9) and sup <= tb * (1 + 1e-9) and sup <= np.e * N * K


def random_nonnormal(N, cplx, seed, dt=0.3, method="zoh"):
    sys = smr.random_stable(N, complex=cplx, seed=seed, decay=(0.5, 3.0))
    return smr.discretize(sys.A, sys.B, dt, method)[0]


@pytest.mark.parametrize(
    "Ab",
    [
        random_nonnormal(4, False, 6),
        random_nonnormal(8, True, 2),
        random_nonnormal(16, False, 3),
        random_nonnormal(12, True, 4, method="bilinear"),
        jordan(0.8, 2, 3.0),
        jordan(0.9 * np.exp(0.4j), 4, 1.5),
        jordan(0.6, 6, 2.0).T,
    ],
    ids=["rand4", "rand8c", "rand16", "rand12c-bilinear", "jordan2", "jordan4c", "jordan6T"],
)
def test_nonnormal_powers_between_kreiss_and_lyapunov_bounds(Ab):
    norms = power_norms(Ab)
    assert norms[-1] < 1e-8 * norms.max()
    sup = norms.max()
    N = Ab.shape[0]
    res = kreiss_constant(Ab, return_info=True)
    tb = transient_bound(Ab)
    assert res.value <= sup * (1 + 1e-9) and sup <= tb * (1 + 1e-9)
    assert sup <= np.e * N * res.value  # Kreiss matrix theorem: the optimiser is not far off
    assert sup > 1.05  # these systems do grow before they decay
    z = res.z
    assert abs(z) > 1
    val = (abs(z) - 1) * np.linalg.norm(np.linalg.inv(z * np.eye(N) - Ab), 2)
    assert val == pytest.approx(res.value, rel=1e-9, abs=0)  # the reported point attains the value


@pytest.mark.parametrize(
    "Ab",
    [jordan(0.5, 2, 4.0), jordan(0.9, 3, 0.7), random_nonnormal(5, True, 7), random_nonnormal(6, False, 8)],
    ids=["jordan2", "jordan3", "rand5c", "rand6"],
)
def test_kreiss_matches_brute_force_grid(Ab):
    K = kreiss_constant(Ab)
    ref = brute_kreiss(Ab)
    assert K >= ref * (1 - 1e-4)  # the optimiser is at least as good as a dense grid
    assert K <= power_norms(Ab).max() * (1 + 1e-9)


def test_diagonal_systems_are_normal():
    rng = np.random.default_rng(21)
    mu = rng.uniform(0.1, 0.95, 10) * np.exp(2j * np.pi * rng.uniform(size=10))
    rho, rho_min = np.max(np.abs(mu)), np.min(np.abs(mu))
    D = np.diag(mu)
    norms = power_norms(D, 200)
    assert np.allclose(norms[1:], rho ** np.arange(1, 200), rtol=1e-10, atol=0)
    closed = np.sqrt((1 - rho_min**2) / (1 - rho**2))
    assert transient_bound(mu) == pytest.approx(closed, rel=1e-13, abs=0)
    assert transient_bound(D) == pytest.approx(closed, rel=1e-10, abs=0)  # dense route through P
    assert kreiss_constant(mu) == 1.0
    K = kreiss_constant(D)  # dense route through the optimiser
    assert 1.0 <= K <= 1.0 + 1e-9


def test_transient_bound_with_other_Q_is_still_an_upper_bound():
    Ab = random_nonnormal(6, False, 5)
    sup = power_norms(Ab).max()
    rng = np.random.default_rng(22)
    M = rng.standard_normal((6, 6))
    assert sup <= transient_bound(Ab, M @ M.T + 0.1 * np.eye(6)) * (1 + 1e-9)


def test_transient_bound_near_the_unit_circle_is_accurate():
    mu = np.array([1 - 1e-9, 0.0])  # 1 - |mu|^2 computed without cancellation
    assert transient_bound(mu) == pytest.approx(1 / np.sqrt((1 - (1 - 1e-9)) * (1 + (1 - 1e-9))), rel=1e-12, abs=0)


def test_transient_and_kreiss_need_stability():
    for f in (transient_bound, kreiss_constant):
        with pytest.raises(errors.UnstableSystemError, match=r"rho\(Ab\) = 1.1"):
            f(np.array([0.5, 1.1j]))
        with pytest.raises(errors.UnstableSystemError):
            f(jordan(1.0, 2, 1.0))
        with pytest.raises(errors.ShapeError):
            f(np.zeros((0, 0)))
    with pytest.raises(errors.ParameterError):
        kreiss_constant(np.eye(2) * 0.5, n_radii=1)


# -- where the eigenvalues go -----------------------------------------------------------------


def test_spectral_radius_dense_and_diagonal():
    rng = np.random.default_rng(23)
    A = rng.standard_normal((7, 7))
    assert spectral_radius(A) == pytest.approx(np.max(np.abs(scipy.linalg.eigvals(A))), rel=1e-12, abs=0)
    assert spectral_radius([0.5, -0.7j, 0.1]) == pytest.approx(0.7)
    assert spectral_radius(np.zeros((0, 0))) == 0.0
    with pytest.raises(errors.ShapeError):
        spectral_radius(np.ones((2, 3)))


@pytest.mark.parametrize("method", ["zoh", "bilinear", "euler", "backward_diff"])
def test_discrete_spectral_radius_matches_discretized_matrices(method):
    sys = smr.random_stable(6, seed=24)
    dts = np.array([[0.01, 0.1], [0.5, 2.0]])
    rho = discrete_spectral_radius(sys.A, dts, method)
    assert rho.shape == (2, 2)
    for idx in np.ndindex(dts.shape):
        Ab, _ = smr.discretize(sys.A, sys.B, dts[idx], method)
        assert rho[idx] == pytest.approx(spectral_radius(Ab), rel=1e-9, abs=0)
    assert discrete_eigenvalues(sys.A, dts, method).shape == (2, 2, 6)
    assert np.ndim(discrete_spectral_radius(sys.A, 0.1, method)) == 0


@pytest.mark.parametrize("diagonal", [True, False])
def test_euler_dt_limit_is_where_euler_leaves_the_unit_disk(diagonal):
    sys = smr.s4d_lin(16) if diagonal else smr.random_stable(8, seed=25)
    lam = sys.A if diagonal else np.linalg.eigvals(sys.A)
    dt_max = euler_dt_limit(sys.A)
    assert dt_max == pytest.approx(np.min(-2 * lam.real / np.abs(lam) ** 2), rel=1e-12, abs=0)
    below, above = dt_max * (1 - 1e-7), dt_max * (1 + 1e-7)
    assert np.max(np.abs(smr.eigenvalue_map(below * lam, "euler"))) < 1
    assert np.max(np.abs(smr.eigenvalue_map(above * lam, "euler"))) > 1
    rho = discrete_spectral_radius(sys.A, [below, above], "euler")
    assert rho[0] < 1 < rho[1]
    # zoh and bilinear stay inside at every step
    assert np.all(discrete_spectral_radius(sys.A, [below, above, 100 * dt_max], "bilinear") < 1)


def test_euler_dt_limit_needs_hurwitz():
    with pytest.raises(errors.UnstableSystemError, match=r"max Re\(lambda\) = 0.0"):
        euler_dt_limit([-1.0, 2.0j])
    with pytest.raises(errors.UnstableSystemError, match=r"max Re\(lambda\) = 0.5"):
        euler_dt_limit(np.array([[0.5, 1.0], [0.0, -1.0]]))


# -- Theorem 1 constants -----------------------------------------------------------------------


def theorem1_reference(Ab, Bb, Q):
    """a, b, lambda_min(Q), P from scipy directly (P solves Ab^H P Ab - P = -Q)."""
    D = np.diag(Ab) if Ab.ndim == 1 else Ab
    P = scipy.linalg.solve_discrete_lyapunov(H(D), Q)
    B = Bb.reshape(len(D), -1)
    a = np.linalg.norm(H(D) @ P @ B, 2)
    b = np.linalg.norm(H(B) @ P @ B, 2)
    return a, b, np.linalg.eigvalsh(Q)[0], P


SYSTEMS = {
    "hippo-bilinear": lambda: smr.discretize(smr.hippo_legs(8).A, smr.hippo_legs(8).B, 0.1, "bilinear"),
    "s4d-zoh": lambda: smr.discretize(smr.s4d_lin(16).A, smr.s4d_lin(16).B, 0.05, "zoh"),
    "random-mimo": lambda: smr.discretize(
        *(lambda s: (s.A, s.B))(smr.random_stable(6, P=3, complex=True, seed=26)), 0.2
    ),
}


@pytest.mark.parametrize("name", list(SYSTEMS))
@pytest.mark.parametrize("sigma", [0.1, 0.5, 0.9])
def test_gamma_star_solves_its_quadratic(name, sigma):
    Ab, Bb = SYSTEMS[name]()
    N = Ab.shape[0]
    rng = np.random.default_rng(27)
    M = rng.standard_normal((N, N))
    for Q in (np.eye(N), M @ M.T + np.eye(N)):
        info = gamma_star(Ab, Bb, sigma, Q, return_info=True)
        a, b, lmin, P = theorem1_reference(Ab, Bb, Q)
        assert info.a == pytest.approx(a, rel=1e-10, abs=0) and info.b == pytest.approx(b, rel=1e-10, abs=0)
        g = info.gamma
        assert g > 0
        assert b * g**2 + 2 * a * g == pytest.approx(sigma * lmin, rel=1e-10, abs=0)
        assert gamma_star(Ab, Bb, sigma, Q) == g


def test_gamma_star_without_cancellation():
    """One mode mu = 0.5, Bb = 1, Q = 1: a = 2/3, b = 4/3, gamma* = 3/4 (sqrt(4/9 + 4 sigma/3) - 2/3)."""
    getcontext().prec = 50
    for sigma in (1e-14, 1e-8, 0.3):
        s = Decimal(sigma)
        exact = Decimal(3) / 4 * ((Decimal(4) / 9 + 4 * s / 3).sqrt() - Decimal(2) / 3)
        assert gamma_star([0.5], [1.0], sigma) == pytest.approx(float(exact), rel=1e-14, abs=0)
    naive = (-(2 / 3) + np.sqrt(4 / 9 + 4e-14 / 3)) / (4 / 3)  # the textbook root loses digits
    assert abs(naive / 0.75e-14 - 1) > 1e-4


def test_gamma_star_guarantees_the_decrease_against_the_worst_disturbance():
    """L(k+1) - L(k) <= -(1 - sigma) lambda_min(Q) ||e||^2 with w = gamma* ||e|| u, u the worst direction."""
    Ab, Bb = SYSTEMS["random-mimo"]()
    sigma = 0.5
    info = gamma_star(Ab, Bb, sigma, return_info=True)
    _, _, _, P = theorem1_reference(Ab, Bb, np.eye(Ab.shape[0]))
    rng = np.random.default_rng(28)
    worst = -np.inf
    for _ in range(300):
        e = rng.standard_normal(Ab.shape[0]) + 1j * rng.standard_normal(Ab.shape[0])
        d = H(Bb) @ P @ Ab @ e
        for u in (d / np.linalg.norm(d), rng.standard_normal(Bb.shape[1])):
            w = info.gamma * np.linalg.norm(e) * u / np.linalg.norm(u)
            e1 = Ab @ e + Bb @ w
            dL = (H(e1) @ P @ e1 - H(e) @ P @ e).real
            bound = -(1 - sigma) * np.linalg.norm(e) ** 2
            worst = max(worst, (dL - bound) / np.linalg.norm(e) ** 2)
    assert worst <= 1e-9
    # non-vacuous: 3 gamma* in the worst direction breaks the decrease for some e
    e = rng.standard_normal(Ab.shape[0])
    d = H(Bb) @ P @ Ab @ e
    w = 3 * info.gamma * np.linalg.norm(e) * d / np.linalg.norm(d)
    e1 = Ab @ e + Bb @ w
    assert (H(e1) @ P @ e1 - H(e) @ P @ e).real > -(1 - sigma) * np.linalg.norm(e) ** 2


def test_gamma_star_no_input():
    assert gamma_star([0.5, 0.2], np.zeros((2, 1)), 0.5) == np.inf
    assert continuous_threshold([-1.0, -2.0], np.zeros(2), 0.5) == np.inf


def test_continuous_threshold_closed_forms():
    assert continuous_threshold([-2.0], [1.0], 0.5) == pytest.approx(1.0)  # P = 1/4: 0.5 / (2 / 4)
    sys = smr.random_stable(5, P=2, seed=29)
    Q = np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    P = scipy.linalg.solve_continuous_lyapunov(sys.A.T, -Q)
    ref = 0.3 * 1.0 / (2 * np.linalg.norm(P @ sys.B, 2))
    assert continuous_threshold(sys.A, sys.B, 0.3, Q) == pytest.approx(ref, rel=1e-10, abs=0)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 0.99])
def test_envelope_rate_discrete(sigma):
    mu = np.array([0.3, 0.9j, -0.5 + 0.1j])
    rate = envelope_rate(mu, sigma)
    assert sigma <= rate < 1
    assert rate == pytest.approx(1 - (1 - sigma) * (1 - 0.81), rel=1e-13, abs=0)
    # along the undisturbed error system L_e(k+1) <= rate L_e(k)
    Ab = random_nonnormal(6, True, 30)
    rate = envelope_rate(Ab, sigma)
    assert 0 < rate < 1
    P = scipy.linalg.solve_discrete_lyapunov(H(Ab), np.eye(6))
    rng = np.random.default_rng(31)
    for _ in range(50):
        e = rng.standard_normal(6) + 1j * rng.standard_normal(6)
        L0, L1 = (H(e) @ P @ e).real, (H(Ab @ e) @ P @ (Ab @ e)).real
        assert L1 <= rate * L0 * (1 + 1e-12)


def test_envelope_rate_continuous():
    lam = np.array([-0.5 + 3j, -2.0, -1.0 - 1j])
    # P = diag(1 / (2 |Re lam|)), lambda_max(P) = 1 / (2 * 0.5)
    assert envelope_rate(lam, 0.25, discrete=False) == pytest.approx(0.75 * 1.0, rel=1e-13, abs=0)
    sys = smr.random_stable(4, seed=32)
    r = envelope_rate(sys.A, 0.5, discrete=False)
    P = scipy.linalg.solve_continuous_lyapunov(sys.A.T, -np.eye(4))
    assert r == pytest.approx(0.5 / np.linalg.eigvalsh(P)[-1], rel=1e-10, abs=0)


def test_theorem1_validation():
    Ab, Bb = np.array([0.5, 0.2]), np.ones(2)
    for bad in (0.0, 1.0, -0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(errors.ParameterError, match="sigma"):
            gamma_star(Ab, Bb, bad)
        with pytest.raises(errors.ParameterError, match="sigma"):
            envelope_rate(Ab, bad)
    with pytest.raises(errors.ParameterError, match="Hermitian"):
        gamma_star(Ab, Bb, 0.5, np.array([[1.0, 0.3], [0.0, 1.0]]))
    with pytest.raises(errors.ParameterError, match="positive definite"):
        continuous_threshold([-1.0, -2.0], Bb, 0.5, np.diag([1.0, 0.0]))
    with pytest.raises(errors.UnstableSystemError, match=r"rho\(Ab\) = 1.5"):
        gamma_star([0.5, 1.5], Bb, 0.5)
    with pytest.raises(errors.UnstableSystemError, match=r"max Re\(lambda\) = 0.1"):
        continuous_threshold([-1.0, 0.1], Bb, 0.5)
    with pytest.raises(errors.UnstableSystemError):
        envelope_rate([-1.0, 0.1], 0.5, discrete=False)
    with pytest.raises(errors.ShapeError, match=r"\(2, P\)"):
        gamma_star(Ab, np.ones((3, 1)), 0.5)
