"""Proposition 1 (docs/theory.md §3) against independent references.

References: geometric-series closed forms, brute-force partial sums computed here (numpy
powers in float64, or matrix-vector loops in extended precision, each with its own tail
estimate), binomial closed forms of Jordan-block powers, the plain simulation loop
``simulate_reference`` of the error system (E), and Taylor expansions of the zoh gain.
"""

import numpy as np
import pytest
from scipy.special import binom

import smr_stability as smr
from smr_stability import errors
from smr_stability.proposition1 import (
    ErrorGain,
    error_gain,
    error_gain_bound,
    iss_error_bound,
    long_memory_limit,
    mode_gain,
)

METHODS = ["zoh", "bilinear", "backward_diff", "selective"]


# -- independent references -----------------------------------------------------------------


def brute_gain_diagonal(mu, Bb, n_terms, chunk=200_000):
    """sum_{j < n_terms} ||diag(mu^j) Bb||_2 by numpy powers in chunks, and a tail bound.

    Tail: ||diag(mu^j) Bb|| <= sum_n |mu_n|^j ||Bb_n||, so the tail from n_terms is at most
    sum_n ||Bb_n|| |mu_n|^n_terms / (1 - |mu_n|).
    """
    Bb = Bb.reshape(len(mu), -1)
    total = 0.0
    for j0 in range(0, n_terms, chunk):
        j = np.arange(j0, min(j0 + chunk, n_terms))
        X = np.power.outer(mu, j)[:, :, None] * Bb[:, None, :]  # (N, chunk, P)
        X = np.moveaxis(X, 1, 0)
        norms = np.linalg.norm(X, 2, axis=(1, 2)) if Bb.shape[1] > 1 else np.linalg.norm(X[..., 0], axis=1)
        total += np.sum(norms)
    rows = np.linalg.norm(Bb, axis=1)
    tail = np.sum(rows * np.abs(mu) ** n_terms / (1 - np.abs(mu)))
    return total, tail


def brute_gain_dense(Ab, Bb, n_terms):
    """sum_{j < n_terms} ||Ab^j Bb||_2 by a plain matrix loop in extended precision.

    Returns the sum and the last term (the caller estimates the tail from it).
    """
    ext = np.clongdouble if np.iscomplexobj(Ab) or np.iscomplexobj(Bb) else np.longdouble
    A, X = Ab.astype(ext), Bb.reshape(Ab.shape[0], -1).astype(ext)
    terms = np.empty(n_terms)
    for j in range(n_terms):
        Xd = X.astype(np.complex128 if ext is np.clongdouble else np.float64)
        terms[j] = np.linalg.norm(Xd, 2) if Xd.shape[1] > 1 else np.linalg.norm(Xd[:, 0])
        X = A @ X
    return float(np.sum(terms)), terms


def jordan(mu, N, c=1.0):
    return mu * np.eye(N) + c * np.eye(N, k=1)


def jordan_gain(mu, N, c, b, n_terms):
    """sum_j ||J^j b|| from J^j = sum_k binom(j, k) mu^(j-k) c^k S^k (S the shift), and a tail bound.

    With g(j) = sum_k binom(j, k) |mu|^(j-k) c^k ||b||_1 >= ||J^j b||, the ratio
    g(j+1)/g(j) <= |mu| (j+1)/(j+2-N) =: q < 1 for j >= n_terms, so the tail is <= g(n)/(1-q).
    """
    j = np.arange(n_terms)[:, None]
    k = np.arange(N)[None, :]
    coef = binom(j, k) * np.power(complex(mu), np.maximum(j - k, 0)) * c**k  # (n, N): coefficient of S^k
    coef[j < k] = 0.0  # binom(j, k) = 0 there; mu^0 was only a placeholder
    # (J^j b)_i = sum_k coef[j, k] b_{i+k}
    shifted = np.stack([np.concatenate([b[k:], np.zeros(k)]) for k in range(N)])  # (N_k, N_i)
    vecs = coef @ shifted  # (n, N)
    total = np.sum(np.linalg.norm(vecs, axis=1))
    n = n_terms
    g = np.sum(binom(n, np.arange(N)) * abs(mu) ** (n - np.arange(N)) * c ** np.arange(N)) * np.sum(np.abs(b))
    q = abs(mu) * (n + 1) / (n + 2 - N)
    assert q < 1
    return total, g / (1 - q)


def random_discrete(N, P, diagonal, complex, seed, method="zoh", dt=None):
    rng = np.random.default_rng(seed)
    sys = smr.random_stable(N, P, diagonal=diagonal, complex=complex, seed=rng)
    dt = rng.uniform(0.05, 0.5) if dt is None else dt
    return smr.discretize(sys.A, sys.B, dt, method=method)


# -- error_gain against closed forms and brute force -------------------------------------------


@pytest.mark.parametrize("mu", [0.0, 0.3, -0.7, 0.9 * np.exp(1.1j), 0.999, -0.9999j])
@pytest.mark.parametrize("b", [1.0, -2.5, 0.3 - 4j])
def test_scalar_mode_is_geometric_series(mu, b):
    closed = abs(b) / (1 - abs(mu))
    info = error_gain([mu], [b], return_info=True)
    assert isinstance(info, ErrorGain)
    assert info.value <= closed * (1 + 1e-13)
    assert closed - info.value <= 1e-10 * closed * (1 + 1e-6)
    assert info.upper >= closed * (1 - 1e-13)
    assert info.spectral_radius == pytest.approx(abs(mu), rel=1e-15)
    assert error_gain([mu], [b]) == info.value


@pytest.mark.parametrize("rtol", [1e-2, 1e-4, 1e-7, 1e-10, 1e-13])
@pytest.mark.parametrize("mu", [0.9, 0.99 * np.exp(0.2j), 1 - 1e-4])
def test_rtol_is_honoured(rtol, mu):
    closed = 3.0 / (1 - abs(mu))
    info = error_gain([mu], [3.0], rtol, return_info=True)
    rel = (closed - info.value) / closed
    assert -1e-13 <= rel <= rtol * (1 + 1e-9) + 1e-13
    assert info.value <= info.upper and info.upper >= closed * (1 - 1e-13)
    assert info.tail <= rtol * info.value * (1 + 1e-12)
    assert info.upper - info.value <= rtol * info.value * (1 + 1e-12) + 4 * np.finfo(float).eps * info.value
    # it really truncates: a looser rtol sums fewer terms and leaves a visible error
    if rtol >= 1e-4:
        assert rel > rtol / 100
        assert error_gain([mu], [3.0], rtol / 10, return_info=True).terms > info.terms


def test_diagonal_single_input_against_brute_force():
    rng = np.random.default_rng(1)
    N = 12
    mu = rng.uniform(0.2, 0.995, N) * np.exp(1j * rng.uniform(-np.pi, np.pi, N))
    Bb = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    ref, tail = brute_gain_diagonal(mu, Bb, 20_000)
    assert tail < 1e-30 * ref
    G = error_gain(mu, Bb, 1e-12)
    assert abs(G - ref) <= 1e-11 * ref
    assert G <= error_gain_bound(mu, Bb)


@pytest.mark.parametrize("P", [2, 3, 9])
def test_diagonal_multi_input_against_brute_force(P):
    rng = np.random.default_rng(P)
    N = 5  # P = 9 > N exercises the reduction of Bb to N columns
    mu = rng.uniform(0.1, 0.97, N) * np.exp(1j * rng.uniform(-np.pi, np.pi, N))
    Bb = rng.standard_normal((N, P)) + 1j * rng.standard_normal((N, P))
    ref, tail = brute_gain_diagonal(mu, Bb, 3_000)
    assert tail < 1e-30 * ref
    assert error_gain(mu, Bb, 1e-12) == pytest.approx(ref, rel=1e-11)
    assert error_gain(np.diag(mu), Bb, 1e-12) == pytest.approx(ref, rel=1e-11)  # dense path, same system


def test_diagonal_many_terms_against_brute_force():
    """A slow mode (|mu| = 1 - 2e-4, ~1.4e5 terms) next to fast ones, P = 1, real and complex."""
    rng = np.random.default_rng(2)
    mu = np.concatenate([[1 - 2e-4], rng.uniform(0.0, 0.99, 7)]) * np.exp(1j * rng.uniform(-3, 3, 8))
    Bb = rng.standard_normal(8)
    ref, tail = brute_gain_diagonal(mu, Bb, 300_000)
    assert tail < 1e-15 * ref
    info = error_gain(mu, Bb, 1e-11, return_info=True)
    assert abs(info.value - ref) <= 1e-11 * ref + 1e-12 * ref
    assert info.terms < 300_000


@pytest.mark.parametrize("N, dt, method", [(8, 0.1, "bilinear"), (24, 0.02, "zoh"), (16, 0.05, "backward_diff")])
def test_hippo_legs_against_brute_force(N, dt, method):
    sys = smr.hippo_legs(N)
    Ab, Bb = smr.discretize(sys.A, sys.B, dt, method=method)
    rho = np.max(np.abs(np.linalg.eigvals(Ab)))
    n = int(np.ceil(np.log(1e-22) / np.log(rho)))
    ref, terms = brute_gain_dense(Ab, Bb, n)
    # own tail estimate: the terms decay at least geometrically at the end of the run
    ratio = terms[-1] / terms[-200]
    assert ratio < 1
    assert terms[-1] / (1 - ratio ** (1 / 199)) < 1e-14 * ref
    info = error_gain(Ab, Bb, 1e-12, return_info=True)
    assert abs(info.value - ref) <= 2e-12 * ref
    assert info.upper >= ref * (1 - 1e-13)


@pytest.mark.parametrize(
    "mu, N, c", [(0.9, 4, 3.0), (0.5, 6, 1.0), (0.8 * np.exp(0.7j), 3, 5.0), (0.0, 5, 2.0), (0.5, 4, 1e3)]
)
def test_jordan_block_against_binomial_closed_form(mu, N, c):
    b = np.arange(1.0, N + 1)[::-1]
    Ab = jordan(mu, N, c)
    ref, tail = jordan_gain(mu, N, c, b, 3000)
    assert tail < 1e-14 * ref
    info = error_gain(Ab, b, 1e-12, return_info=True)
    assert abs(info.value - ref) <= 1e-11 * ref
    if mu == 0:  # nilpotent: only N terms are non-zero, and the tail bound sees it
        assert info.tail == 0.0 and info.terms <= 32


def test_dense_nonnormal_random_against_brute_force():
    for seed, cplx in [(3, False), (4, True)]:
        Ab, Bb = random_discrete(10, 2, diagonal=False, complex=cplx, seed=seed, dt=0.3)
        peak = max(np.linalg.norm(np.linalg.matrix_power(Ab, k), 2) for k in range(60))
        assert peak > 1.2  # transient growth: non-normal
        rho = np.max(np.abs(np.linalg.eigvals(Ab)))
        n = int(np.ceil(np.log(1e-24) / np.log(rho)))
        ref, terms = brute_gain_dense(Ab, Bb, n)
        assert terms[-1] < 1e-20 * ref
        assert error_gain(Ab, Bb, 1e-12) == pytest.approx(ref, rel=1e-11)


def test_lyapunov_fallbacks(monkeypatch):
    """Smith's doubling when scipy's solver fails; a named error when nothing certifies stability."""
    import scipy.linalg

    from smr_stability import proposition1

    Ab, Bb = random_discrete(7, 1, diagonal=False, complex=True, seed=11)
    G = error_gain(Ab, Bb, 1e-12)

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("no")

    monkeypatch.setattr(scipy.linalg, "solve_discrete_lyapunov", broken)
    assert error_gain(Ab, Bb, 1e-12) == pytest.approx(G, rel=1e-11)
    monkeypatch.setattr(proposition1, "_lyapunov_solutions", lambda A: iter([-np.eye(A.shape[0])]))
    with pytest.raises(errors.UnstableSystemError, match="could not certify"):
        error_gain(Ab, Bb)


def test_rho_close_to_one_is_fast_and_accurate():
    # scalar: ~2.3e6 terms, against the closed form
    mu = (1 - 1e-5) * np.exp(0.01j)
    # (an ulp of |mu| moves 1/(1 - |mu|) by 1e-11 relative: the closed form itself is that uncertain)
    assert error_gain([mu], [2.0]) == pytest.approx(2.0 / (1 - abs(mu)), rel=1e-10 + 5e-11)
    # N = 64, one mode at 1 - 1e-5: more than 2e6 terms (timed in benchmarks, not here: machines are shared)
    rng = np.random.default_rng(5)
    mu = rng.uniform(0.5, 0.999, 64) * np.exp(1j * rng.uniform(-3, 3, 64))
    mu[0] = 1 - 1e-5
    Bb = rng.standard_normal(64)
    info = error_gain(mu, Bb, return_info=True)
    assert info.terms > 2_000_000
    # the slow mode alone and the fast modes alone bracket the total
    slow = abs(Bb[0]) / 1e-5
    assert slow <= info.value <= slow + error_gain(mu[1:], Bb[1:], 1e-12) * (1 + 1e-10)


def test_zero_and_empty_inputs_give_zero():
    assert error_gain(np.array([0.5, 0.2]), np.zeros(2)) == 0.0
    assert error_gain(np.zeros(0), np.zeros((0, 1))) == 0.0
    assert error_gain(np.eye(3) * 0.5, np.zeros((3, 0))) == 0.0
    assert error_gain([0.0, 0.0], [3.0, 4.0]) == pytest.approx(5.0, rel=1e-15)  # mu = 0: only j = 0


def test_gain_is_homogeneous_in_Bb():
    Ab, Bb = random_discrete(6, 2, diagonal=False, complex=True, seed=6)
    G = error_gain(Ab, Bb, 1e-12)
    for s in (1e-150, 1e-3, 7.0, 1e150):
        assert error_gain(Ab, s * Bb, 1e-12) == pytest.approx(s * G, rel=1e-11)


# -- Proposition 1(a): the ISS ball contains every simulated error --------------------------


def worst_case_inputs(Ab, Bb, W, v, L):
    """w with ||w_i|| <= W maximising Re(v^H e_{L-1}): w_{L-1-j} = W Re(M_j^H v)/||Re(M_j^H v)||."""
    N = Bb.shape[0]
    A = np.diag(Ab) if Ab.ndim == 1 else Ab
    w = np.zeros((L, Bb.shape[1]))
    M = Bb.astype(complex)
    for j in range(L):
        g = np.real(M.conj().T @ v)
        nrm = np.linalg.norm(g)
        w[L - 1 - j] = W * g / nrm if nrm > 1e-140 else 0.0  # tiny g: negligible (and norm() squares it into denormals)
        M = A @ M
    assert M.shape[0] == N
    return w


SYSTEMS = [
    (N, P, diagonal, cplx, method)
    for (N, P) in [(1, 1), (4, 1), (12, 2), (5, 3)]
    for diagonal in (True, False)
    for cplx in (False, True)
    for method in ("zoh", "bilinear")
]


@pytest.mark.parametrize("N, P, diagonal, cplx, method", SYSTEMS)
def test_simulated_error_stays_in_iss_ball(N, P, diagonal, cplx, method):
    seed = SYSTEMS.index((N, P, diagonal, cplx, method))
    rng = np.random.default_rng(seed)
    Ab, Bb = random_discrete(N, P, diagonal, cplx, seed, method=method)
    Bb = Bb.reshape(N, P)
    W = rng.uniform(0.1, 3.0)
    radius = iss_error_bound(Ab, Bb, W)
    assert radius == pytest.approx(error_gain(Ab, Bb) * W, rel=1e-9)
    L = 600
    C = np.eye(N)
    worst_seen = 0.0
    inputs = []
    for _ in range(3):  # random errors inside the ball ||w_i|| <= W
        d = rng.standard_normal((L, P))
        inputs.append(W * rng.uniform(0, 1, (L, 1)) ** (1 / P) * d / np.linalg.norm(d, axis=1, keepdims=True))
    inputs.append(W * np.sign(rng.standard_normal((L, P))) / np.sqrt(P))  # random sign patterns
    inputs.append(np.full((L, P), W / np.sqrt(P)))  # constant
    for _ in range(3):  # worst case for a direction v at the last step
        v = rng.standard_normal(N) + 1j * rng.standard_normal(N)
        inputs.append(worst_case_inputs(Ab, Bb, W, v / np.linalg.norm(v), L))
    for w in inputs:
        assert np.all(np.linalg.norm(w, axis=1) <= W * (1 + 1e-12))
        _, e = smr.simulate_reference(Ab, Bb, C, None, w)
        worst_seen = max(worst_seen, np.max(np.linalg.norm(e, axis=1)))
    assert worst_seen <= radius * (1 + 1e-12)
    assert worst_seen > 0.05 * radius  # the test inputs are not trivially small


def test_iss_bound_is_attained_for_a_positive_scalar_mode():
    mu, b, W = 0.97, 0.4, 2.0
    radius = iss_error_bound([mu], [b], W)
    assert radius == pytest.approx(b * W / (1 - mu), rel=1e-10)
    _, e = smr.simulate_reference(np.array([mu]), np.array([[b]]), np.eye(1), None, np.full((2000, 1), W))
    e = np.abs(e[:, 0])
    assert np.all(e <= radius)
    assert e[-1] == pytest.approx(radius, rel=1e-12)  # e_k = bW(1 - mu^(k+1))/(1 - mu)
    k = np.arange(len(e))
    assert np.allclose(radius - e, radius * mu ** (k + 1), rtol=1e-8, atol=1e-13 * radius)


def test_per_mode_bound_dominates_the_gain():
    rng = np.random.default_rng(7)
    ratios = []
    for _ in range(300):
        N, P = int(rng.integers(1, 20)), int(rng.integers(1, 4))
        mu = rng.uniform(0, 0.98, N) * (
            np.exp(1j * rng.uniform(-np.pi, np.pi, N)) if rng.random() < 0.5 else rng.choice([-1, 1], N)
        )
        Bb = rng.standard_normal((N, P)) * rng.lognormal(0, 2, (N, 1))
        G, bound = error_gain(mu, Bb), error_gain_bound(mu, Bb)
        assert G <= bound * (1 + 1e-12)
        ratios.append(bound / G)
    assert max(ratios) > 1.5  # not trivially equal


def test_per_mode_bound_closed_form_and_dense_definition():
    mu = np.array([0.5, -0.9, 0.2j])
    Bb = np.array([[1.0, 0.0], [3.0, 4.0], [0.0, -2.0]])
    assert error_gain_bound(mu, Bb) == pytest.approx(1 / 0.5 + 5 / 0.1 + 2 / 0.8, rel=1e-14)
    # dense normal Ab (unitary eigenvectors): the same bound as the diagonal form
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)))
    assert error_gain_bound(Q @ np.diag(mu) @ Q.conj().T, Q @ Bb) == pytest.approx(error_gain_bound(mu, Bb), rel=1e-10)
    # dense non-normal: ||V|| sum_n ||(V^{-1} Bb)_n|| / (1 - |mu_n|), V with unit columns
    V = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    V /= np.linalg.norm(V, axis=0)
    Ab = V @ np.diag(mu) @ np.linalg.inv(V)
    expected = np.linalg.norm(V, 2) * np.sum(np.linalg.norm(np.linalg.solve(V, Bb), axis=1) / (1 - np.abs(mu)))
    assert error_gain_bound(Ab, Bb) == pytest.approx(expected, rel=1e-8)
    assert error_gain(Ab, Bb) <= expected
    # random dense systems: still an upper bound
    for seed in range(10):
        Ab, Bb = random_discrete(6, 2, diagonal=False, complex=bool(seed % 2), seed=seed)
        assert error_gain(Ab, Bb) <= error_gain_bound(Ab, Bb) * (1 + 1e-12)
    with pytest.raises(errors.SingularSystemError, match="diagonalizable"):
        error_gain_bound(jordan(0.5, 4), np.ones(4))


# -- Proposition 1(b): |mu| >= 1 and bounded errors ----------------------------------------------


def simulate_error(Ab, Bb, w):
    Ab = np.asarray(Ab)
    N = Ab.shape[0]
    _, e = smr.simulate_reference(Ab, np.asarray(Bb).reshape(N, -1), np.eye(N), None, w)
    return np.linalg.norm(e, axis=1)


def test_unit_mode_mu_one_grows_linearly_with_constant_error():
    b, W, L = 0.7, 0.3, 4000
    e = simulate_error(np.array([1.0]), [b], np.full((L, 1), W))
    k = np.arange(L)
    slope, _ = np.polyfit(k, e, 1)
    assert slope == pytest.approx(b * W, rel=1e-10)
    assert e[-1] / L == pytest.approx(b * W, rel=1e-10)  # e_k = b W (k + 1)


@pytest.mark.parametrize("form", ["complex-diagonal", "real-rotation"])
def test_unit_mode_on_the_circle_grows_linearly_with_resonant_error(form):
    theta, W, L = 0.9, 0.5, 6000
    k = np.arange(L)
    w = (W * np.cos(theta * k))[:, None]
    if form == "complex-diagonal":
        Ab, Bb, b = np.array([np.exp(1j * theta)]), np.array([1.5 - 0.5j]), abs(1.5 - 0.5j)
    else:
        Ab = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        Bb, b = np.array([1.0, 0.0]), 1.0
    e = simulate_error(Ab, Bb, w)
    half = k >= L // 2
    slope, _ = np.polyfit(k[half], e[half], 1)
    assert slope == pytest.approx(b * W / 2, rel=1e-3)  # |e_k| = |b| W (k + 1)/2 + O(1)
    gaps = [abs(e[n - 1] / n - b * W / 2) for n in (L // 100, L // 10, L)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] * L < 5 * b * W / abs(np.sin(theta))  # ||e_k||/k converges at rate 1/k
    # constant errors do NOT resonate with mu = exp(i theta), theta != 0: e stays bounded
    e_const = simulate_error(Ab, Bb, np.full((L, 1), W))
    assert np.max(e_const) <= 2 * b * W / abs(1 - np.exp(1j * theta)) * (1 + 1e-9)


def test_defective_unit_mode_grows_faster_than_linearly():
    """A 2x2 Jordan block at mu = 1 with constant w: ||e_k|| ~ k^2/2 (quadratic, not linear)."""
    L, W = 4000, 1.0
    e = simulate_error(jordan(1.0, 2), np.array([0.0, 1.0]), np.full((L, 1), W))
    k = np.arange(1, L + 1)
    p = np.polyfit(np.log(k[L // 2 :]), np.log(e[L // 2 :]), 1)[0]
    assert p == pytest.approx(2.0, abs=2e-3)


@pytest.mark.parametrize(
    "mu, w_kind",
    [(1.01, "const"), (-1.005, "alternating"), (1.02 * np.exp(0.5j), "const"), (1.02 * np.exp(0.5j), "cos")],
)
def test_mode_outside_the_circle_grows_exponentially(mu, w_kind):
    W = 0.2
    L = int(np.ceil(16 * np.log(10) / np.log(abs(mu))))  # |e_L| ~ 1e16; from 3L/4 on |mu|^-k < 1e-11
    k = np.arange(L)
    w = {"const": np.full(L, W), "alternating": W * (-1.0) ** k, "cos": W * np.cos(np.angle(mu) * k)}[w_kind]
    e = simulate_error(np.array([mu]), [0.3], w[:, None])
    late = k >= 3 * L // 4
    slope = np.polyfit(k[late], np.log(e[late]), 1)[0]
    assert slope == pytest.approx(np.log(abs(mu)), rel=1e-6)
    with pytest.raises(errors.UnstableSystemError, match="spectral radius"):
        error_gain([mu], [0.3])


def test_realified_unstable_pair_grows_exponentially():
    r, theta, W, L = 1.01, 0.4, 1.0, 2000
    Ab = r * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    e = simulate_error(Ab, np.array([1.0, 0.0]), np.full((L, 1), W))
    k = np.arange(L)
    assert np.polyfit(k[L // 2 :], np.log(e[L // 2 :]), 1)[0] == pytest.approx(np.log(r), rel=1e-6)


# -- §3(c): per-mode gains and the long-memory limit ------------------------------------------


def zoh_gain_formula(lam, dt, B):
    a = -lam.real
    return abs(np.exp(dt * lam) - 1) / abs(lam) / (1 - np.exp(-a * dt)) * abs(B)


@pytest.mark.parametrize("lam", [-0.3 + 5j, -2.0 - 0.5j, -0.01 + 1j])
def test_zoh_gain_exact_expression(lam):
    B = 1.5 - 2j
    dts = np.array([1e-3, 0.01, 0.1, 1.0, 3.0])
    g = mode_gain(lam, dts, B=B)
    assert g.shape == (5,)
    assert np.allclose(g, [zoh_gain_formula(lam, dt, B) for dt in dts], rtol=1e-10, atol=0)
    # and it is the error gain of the discretized mode
    for dt in (0.01, 1.0):
        Ab, Bb = smr.discretize(np.array([lam]), np.array([B]), dt)
        assert error_gain(Ab, Bb, 1e-12) == pytest.approx(float(mode_gain(lam, dt, B=B)), rel=1e-11)


def test_zoh_gain_tends_to_long_memory_limit_at_rate_two():
    a, omega, B = 0.3, 5.0, 1.5
    lam = -a + 1j * omega
    limit = float(long_memory_limit(lam, B))
    assert limit == pytest.approx(abs(B) / a, rel=1e-15)
    dts = 0.1 * 2.0 ** -np.arange(12)  # 0.1 ... 5e-5
    err = np.abs(mode_gain(lam, dts, B=B) - limit)
    order = np.polyfit(np.log(dts), np.log(err), 1)[0]
    assert order == pytest.approx(2.0, abs=0.02)
    # leading term from the Taylor expansion: gain = (|B|/a) (1 - omega^2 dt^2 / 24 + O(dt^3))
    assert err[-1] / dts[-1] ** 2 == pytest.approx(limit * omega**2 / 24, rel=1e-3)
    assert np.all(np.diff(err) < 0)


def test_real_mode_zoh_gain_equals_limit_at_every_step():
    lam = np.array([-0.01, -1.0, -50.0])
    g = mode_gain(lam, [1e-6, 0.1, 10.0], B=[2.0, -1.0, 3.0])
    assert g.shape == (3, 3)
    assert np.allclose(g, long_memory_limit(lam, [2.0, -1.0, 3.0]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", METHODS + ["euler"])
def test_mode_gain_other_methods(method):
    lam = np.array([-0.5 + 2j, -3.0, -0.05 - 0.3j])
    dt = 0.01 if method == "euler" else 0.2
    Ab, Bb = smr.discretize(lam, np.ones(3), dt, method=method)
    direct = np.abs(Bb) / (1 - np.abs(Ab))
    assert np.allclose(mode_gain(lam, dt, method=method), direct, rtol=1e-10, atol=0)
    # every method tends to the same long-memory limit |B|/a as dt -> 0
    small = mode_gain(lam, 1e-6, method=method)
    assert np.allclose(small, long_memory_limit(lam), rtol=1e-4)


def test_mode_gain_gbt_alpha_and_accuracy_at_small_steps():
    lam = -0.2 + 1j
    g = mode_gain(lam, 1e-9, method="gbt", alpha=0.3)
    assert float(g) == pytest.approx(5.0, rel=1e-7)  # no cancellation in 1 - |mu|
    with pytest.raises(errors.AlphaError):
        mode_gain(lam, 0.1, method="gbt")


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "Ab",
    [
        np.array([0.5, 1.0]),
        np.array([0.5, -1.2j]),
        np.array([[0.5, 0.0], [0.0, 1.0]]),
        np.array([[1.0, 1.0], [-1.0, 1.0]]),
    ],
)
def test_unstable_system_raises_with_spectral_radius(Ab):
    rho = np.max(np.abs(np.linalg.eigvals(Ab) if Ab.ndim == 2 else Ab))
    for f in (
        lambda: error_gain(Ab, np.ones(2)),
        lambda: error_gain_bound(Ab, np.ones(2)),
        lambda: iss_error_bound(Ab, np.ones(2), 1.0),
    ):
        with pytest.raises(errors.UnstableSystemError, match="spectral radius") as exc:
            f()
        assert f"{rho:.4}"[:4] in str(exc.value)
        assert "< 1" in str(exc.value)


def test_too_slow_convergence_raises_before_summing():
    """Refused from the predicted number of terms, before the series is summed (no timing here)."""
    with pytest.raises(errors.UnstableSystemError, match="max_terms"):
        error_gain([1 - 1e-12], [1.0])
    with pytest.raises(errors.UnstableSystemError, match="max_terms"):
        error_gain(np.array([[0.9999]]), [1.0], max_terms=1000)


@pytest.mark.parametrize(
    "Ab, Bb",
    [
        (np.zeros((3, 4)), np.ones(3)),  # not square
        (np.zeros(3), np.ones(4)),  # rows mismatch, diagonal
        (np.zeros((3, 3)), np.ones((2, 1))),  # rows mismatch, dense
        (np.zeros((2, 2, 2)), np.ones(2)),  # 3-D
        (np.float64(0.5), np.ones(1)),  # scalar Ab
        (np.zeros(2), np.ones((2, 1, 1))),  # 3-D Bb
    ],
)
def test_shape_errors(Ab, Bb):
    for f in (error_gain, error_gain_bound):
        with pytest.raises(errors.ShapeError):
            f(Ab, Bb)


def test_non_finite_inputs():
    with pytest.raises(errors.NonFiniteError):
        error_gain(np.array([0.5, np.nan]), np.ones(2))
    with pytest.raises(errors.NonFiniteError):
        error_gain(np.eye(2) * 0.5, np.array([1.0, np.inf]))
    with pytest.raises(errors.NonFiniteError):
        error_gain_bound(np.array([0.5, 0.1]), np.array([np.nan, 1.0]))
    with pytest.raises(errors.NonFiniteError):
        mode_gain(np.array([np.nan + 1j]), 0.1)
    with pytest.raises(errors.NonFiniteError):
        long_memory_limit(-1.0, np.nan)


@pytest.mark.parametrize("rtol", [0.0, -1e-3, 1.0, 2.0, np.nan, np.inf, "x"])
def test_bad_rtol(rtol):
    with pytest.raises(errors.ParameterError, match="rtol"):
        error_gain([0.5], [1.0], rtol)


@pytest.mark.parametrize("w_bound", [0.0, -1.0, np.nan, np.inf, None])
def test_bad_w_bound(w_bound):
    with pytest.raises(errors.ParameterError, match="w_bound"):
        iss_error_bound([0.5], [1.0], w_bound)


@pytest.mark.parametrize("max_terms", [0, -5, 2.5, True])
def test_bad_max_terms(max_terms):
    with pytest.raises(errors.ParameterError, match="max_terms"):
        error_gain([0.5], [1.0], max_terms=max_terms)


def test_mode_gain_and_limit_reject_unstable_modes_and_bad_steps():
    with pytest.raises(errors.UnstableSystemError, match=r"\|mu\|"):
        mode_gain(np.array([-1.0, 0.5j]), 0.1)
    with pytest.raises(errors.UnstableSystemError, match="forward Euler"):
        mode_gain(-1.0 + 10j, 0.1, method="euler")  # dt > -2 Re(lam)/|lam|^2 = 0.0198
    with pytest.raises(errors.UnstableSystemError, match="Re"):
        long_memory_limit(np.array([-1.0, 0.0 + 2j]))
    with pytest.raises(errors.StepSizeError):
        mode_gain(-1.0, 0.0)
    with pytest.raises(errors.MethodError):
        mode_gain(-1.0, 0.1, method="rk4")
    with pytest.raises(errors.ShapeError):
        mode_gain(np.array([-1.0, -2.0]), 0.1, B=np.ones(3))
