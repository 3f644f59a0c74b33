"""Lyapunov solvers (docs/theory.md §7) against independent references.

References: the residual of each equation with the solution plugged back in, scipy's dense
solvers (``solve_continuous_lyapunov``, ``solve_discrete_lyapunov``), python-control's
``lyap``/``dlyap`` for real A, and the closed forms written out entry by entry here.
"""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from smr_stability import errors
from smr_stability.lyapunov import dlyap, lyap, lyapunov_matrix

SIZES = [1, 2, 5, 64]
KINDS = ["dense-real", "dense-complex", "diag-real", "diag-complex"]


def H(M):
    return M.conj().T


def rel(X, Y):
    return np.linalg.norm(X - Y) / max(np.linalg.norm(Y), 1e-300)


def make_A(kind, N, rng, discrete):
    """A stable matrix of the given kind: rho < 1 (discrete) or Hurwitz (continuous)."""
    cplx = kind.endswith("complex")
    if kind.startswith("diag"):
        r = rng.uniform(0.05, 0.98, N)
        if cplx:
            mu = r * np.exp(2j * np.pi * rng.uniform(size=N))
        else:
            mu = r * rng.choice([-1.0, 1.0], N)
        return mu if discrete else (mu - 1.0) * rng.uniform(0.5, 3.0, N)  # Re < 0
    G = rng.standard_normal((N, N)) + (1j * rng.standard_normal((N, N)) if cplx else 0.0)
    G /= np.sqrt(N)
    rho = np.max(np.abs(np.linalg.eigvals(G)))
    if discrete:
        return 0.9 * G / rho
    return G - (np.max(np.linalg.eigvals(G).real) + 0.3) * np.eye(N)


def make_Q(N, rng, cplx, hermitian=True):
    M = rng.standard_normal((N, N)) + (1j * rng.standard_normal((N, N)) if cplx else 0.0)
    return M @ H(M) + np.eye(N) if hermitian else M


def dense(A):
    return np.diag(A) if A.ndim == 1 else A


def residual_continuous(A, X, Q):
    A = dense(A)
    R = A @ X + X @ H(A) + Q
    return np.linalg.norm(R) / (2 * np.linalg.norm(A) * np.linalg.norm(X) + np.linalg.norm(Q))


def residual_discrete(A, X, Q):
    A = dense(A)
    R = A @ X @ H(A) - X + Q
    return np.linalg.norm(R) / ((np.linalg.norm(A) ** 2 + 1) * np.linalg.norm(X) + np.linalg.norm(Q))


# -- residuals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hermitian", [True, False])
def test_lyap_residual(N, kind, hermitian):
    rng = np.random.default_rng(100 + N)
    A = make_A(kind, N, rng, discrete=False)
    Q = make_Q(N, rng, kind.endswith("complex"), hermitian)
    X = lyap(A, Q)
    assert X.shape == (N, N)
    assert np.iscomplexobj(X) == kind.endswith("complex")
    assert residual_continuous(A, X, Q) <= 1e-12


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hermitian", [True, False])
def test_dlyap_residual(N, kind, hermitian):
    rng = np.random.default_rng(200 + N)
    A = make_A(kind, N, rng, discrete=True)
    Q = make_Q(N, rng, kind.endswith("complex"), hermitian)
    X = dlyap(A, Q)
    assert X.shape == (N, N)
    assert np.iscomplexobj(X) == kind.endswith("complex")
    assert residual_discrete(A, X, Q) <= 1e-12


@pytest.mark.parametrize("cplx_A,cplx_Q", [(False, True), (True, False)])
def test_mixed_real_complex_inputs_give_complex_solutions(cplx_A, cplx_Q):
    rng = np.random.default_rng(7)
    for kind in ("diag", "dense"):
        A = make_A(f"{kind}-{'complex' if cplx_A else 'real'}", 6, rng, discrete=True)
        Q = make_Q(6, rng, cplx_Q)
        X = dlyap(A, Q)
        assert np.iscomplexobj(X)
        assert residual_discrete(A, X, Q) <= 1e-13
        Y = lyap(A - 2 * (np.ones(6) if A.ndim == 1 else np.eye(6)), Q)
        assert np.iscomplexobj(Y)


def test_unstable_but_solvable_equations():
    """Uniqueness, not stability, is what the solvers need."""
    rng = np.random.default_rng(3)
    mu = np.array([2.0, 0.3 + 0.2j, -1.5j])  # no mu_i conj(mu_j) = 1
    A = 1.7 * scipy.linalg.expm(0.1 * rng.standard_normal((3, 3)))  # rho > 1
    assert np.max(np.abs(np.linalg.eigvals(A))) > 1
    for M in (mu, A):
        Q = make_Q(3, rng, True)
        assert residual_discrete(M, dlyap(M, Q), Q) <= 1e-13
    lam = np.array([1.0, -2.0 + 3j, 0.5j - 0.1])
    Q = make_Q(3, rng, True)
    assert residual_continuous(lam, lyap(lam, Q), Q) <= 1e-13


def test_dense_dlyap_with_eigenvalues_near_minus_one():
    """scipy's bilinear route inverts A + I; the solver rotates the spectrum away from -1 first."""
    rng = np.random.default_rng(11)
    N = 20
    ev = np.concatenate([[-0.999999, 0.999], np.linspace(-0.9, 0.9, N - 2)])
    T = rng.standard_normal((N, N))
    A = T @ np.diag(ev) @ np.linalg.inv(T)
    Q = make_Q(N, rng, False)
    X = dlyap(A, Q)
    assert X.dtype == np.float64
    assert residual_discrete(A, X, Q) <= 1e-12


# -- closed forms against scipy, and python-control -------------------------------------------


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("cplx", [False, True])
def test_diagonal_closed_forms_match_scipy(N, cplx):
    rng = np.random.default_rng(300 + N)
    kind = "diag-complex" if cplx else "diag-real"
    Q = make_Q(N, rng, cplx, hermitian=False)
    mu = make_A(kind, N, rng, discrete=True)
    assert rel(dlyap(mu, Q), scipy.linalg.solve_discrete_lyapunov(np.diag(mu), Q)) <= 1e-12
    lam = make_A(kind, N, rng, discrete=False)
    assert rel(lyap(lam, Q), scipy.linalg.solve_continuous_lyapunov(np.diag(lam), -Q)) <= 1e-12


def test_diagonal_closed_forms_entrywise():
    """X_ij = Q_ij / (1 - mu_i conj(mu_j)) and -Q_ij / (lam_i + conj(lam_j)), written as loops."""
    rng = np.random.default_rng(5)
    mu = np.array([0.5 + 0.5j, -0.9, 0.1j])
    lam = np.array([-1.0 + 2.0j, -0.1, -3.0 - 1.0j])
    Q = make_Q(3, rng, True, hermitian=False)
    X, Y = dlyap(mu, Q), lyap(lam, Q)
    for i in range(3):
        for j in range(3):
            assert X[i, j] == pytest.approx(Q[i, j] / (1 - mu[i] * np.conj(mu[j])), rel=1e-14, abs=0)
            assert Y[i, j] == pytest.approx(-Q[i, j] / (lam[i] + np.conj(lam[j])), rel=1e-14, abs=0)


@pytest.mark.parametrize("N", [1, 2, 5, 20])
def test_python_control_agrees_for_real_A(N):
    control = pytest.importorskip("control")
    rng = np.random.default_rng(400 + N)
    Q = make_Q(N, rng, False)
    for kind in ("dense-real", "diag-real"):
        A = make_A(kind, N, rng, discrete=True)
        assert rel(dlyap(A, Q), control.dlyap(dense(A), Q)) <= 1e-10
        A = make_A(kind, N, rng, discrete=False)
        assert rel(lyap(A, Q), control.lyap(dense(A), Q)) <= 1e-10


def test_complex_A_keeps_its_imaginary_part():
    """The slycot route of python-control drops Im(A); the solution here does not."""
    rng = np.random.default_rng(9)
    A = make_A("dense-complex", 6, rng, discrete=True)
    Q = np.eye(6)
    X = dlyap(A, Q)
    assert residual_discrete(A, X, Q) <= 1e-13
    assert rel(X, dlyap(A.real, Q)) > 1e-2  # the real-part solution is a different matrix
    Ac = make_A("dense-complex", 6, rng, discrete=False)
    Y = lyap(Ac, Q)
    assert residual_continuous(Ac, Y, Q) <= 1e-13
    assert rel(Y, scipy.linalg.solve_continuous_lyapunov(Ac, -Q)) <= 1e-12


@pytest.mark.parametrize("kind", KINDS)
def test_hermitian_Q_gives_hermitian_X(kind):
    rng = np.random.default_rng(12)
    Q = make_Q(16, rng, kind.endswith("complex"))
    for solve, discrete in ((dlyap, True), (lyap, False)):
        X = solve(make_A(kind, 16, rng, discrete), Q)
        assert np.linalg.norm(X - H(X)) <= 1e-13 * np.linalg.norm(X)


# -- no unique solution, and bad input ---------------------------------------------------------


@pytest.mark.parametrize(
    "mu",
    [
        np.array([1.0, 0.5]),
        np.array([0.3, np.exp(0.7j)]),  # a mode on the unit circle
        np.array([0.5, 2.0]),  # mu, 1/conj(mu)
        np.array([0.5j, 2.0j]),
        np.array([-1.0]),
    ],
)
def test_dlyap_singular_diagonal_raises(mu):
    with pytest.raises(errors.SingularSystemError, match="mu_"):
        dlyap(mu, np.eye(len(mu)))


@pytest.mark.parametrize(
    "lam",
    [
        np.array([0.0, -1.0]),
        np.array([-1.0, 2.0j]),
        np.array([-1.0 + 2.0j, 1.0 + 2.0j]),  # symmetric about the imaginary axis
        np.array([3.0, -3.0]),
    ],
)
def test_lyap_singular_diagonal_raises(lam):
    with pytest.raises(errors.SingularSystemError, match="lam_"):
        lyap(lam, np.eye(len(lam)))


def test_singular_dense_raises():
    rng = np.random.default_rng(13)
    T = rng.standard_normal((4, 4))
    c, s = np.cos(0.4), np.sin(0.4)
    Rot = np.array([[c, -s], [s, c]])
    A = T @ scipy.linalg.block_diag(Rot, 0.5 * np.eye(2)) @ np.linalg.inv(T)  # |mu| = 1 pair
    with pytest.raises(errors.SingularSystemError, match=r"no unique solution.*with mu_\d+ = "):
        dlyap(A, np.eye(4))
    big = T @ scipy.linalg.block_diag(Rot, 0.5 * np.eye(2)) @ np.linalg.inv(T)
    big = np.kron(np.eye(4), big)  # N = 16 >= 10: scipy's bilinear route
    with pytest.raises(errors.SingularSystemError):
        dlyap(big, np.eye(16))
    S = T @ np.diag([1.0, -1.0, -2.0, -3.0]) @ np.linalg.inv(T)  # lam = 1 and -1
    with pytest.raises(errors.SingularSystemError, match=r"no unique solution.*with lam_\d+ = "):
        lyap(S, np.eye(4))
    with pytest.raises(errors.SingularSystemError, match="LAPACK"):  # the test off: trsyl's warning
        lyap(S, np.eye(4), rtol=0.0)
    with pytest.raises(errors.SingularSystemError):
        lyap(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.eye(2))  # +-i


def test_overflowing_solution_raises_instead_of_inf():
    with pytest.raises(errors.SingularSystemError, match="overflow"):
        lyap(np.array([-1e-310, -1.0]), np.eye(2))
    X = lyap(np.array([-1e-300, -1.0]), np.eye(2))  # large but representable
    assert np.all(np.isfinite(X)) and X[0, 0] == pytest.approx(5e299)


def test_validation_errors():
    with pytest.raises(errors.ShapeError, match=r"\(2, 3\)"):
        lyap(np.ones((2, 3)), np.eye(2))
    with pytest.raises(errors.ShapeError, match=r"\(3, 3\).*found \(2, 2\)"):
        dlyap(np.eye(3) * 0.5, np.eye(2))
    with pytest.raises(errors.ShapeError, match=r"found \(2, 3\)"):
        dlyap(np.array([0.5, 0.2]), np.ones((2, 3)))
    with pytest.raises(errors.ShapeError):
        lyap(np.ones((2, 2, 2)), np.eye(2))
    with pytest.raises(errors.NonFiniteError):
        dlyap(np.array([0.5, np.nan]), np.eye(2))
    with pytest.raises(errors.NonFiniteError):
        lyap(-np.eye(2), np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(errors.InputTypeError):
        lyap(np.array(["a", "b"]), np.eye(2))
    with pytest.raises(errors.ParameterError):
        lyap(-np.eye(2), np.eye(2), rtol=-1.0)


def test_empty_system():
    assert dlyap(np.zeros(0), np.zeros((0, 0))).shape == (0, 0)
    assert lyap(np.zeros((0, 0)), np.zeros((0, 0))).shape == (0, 0)
    assert dlyap(np.zeros((0, 0)), np.zeros((0, 0))).shape == (0, 0)


# -- the P of Theorem 1 -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_lyapunov_matrix_solves_theorem1_equations(kind):
    rng = np.random.default_rng(14)
    N = 12
    Q = make_Q(N, rng, kind.endswith("complex"))
    Ab = make_A(kind, N, rng, discrete=True)
    P = lyapunov_matrix(Ab, Q)
    Ad = dense(Ab)
    assert np.linalg.norm(H(Ad) @ P @ Ad - P + Q) <= 1e-12 * np.linalg.norm(P)
    assert np.array_equal(P, H(P)) and np.linalg.eigvalsh(P)[0] > 0
    # scipy solves a X a^H - X + q = 0; a = Ab^H is Theorem 1's orientation
    assert rel(P, scipy.linalg.solve_discrete_lyapunov(H(Ad), Q)) <= 1e-12
    A = make_A(kind, N, rng, discrete=False)
    P = lyapunov_matrix(A, Q, discrete=False)
    Ad = dense(A)
    assert np.linalg.norm(H(Ad) @ P + P @ Ad + Q) <= 1e-12 * np.linalg.norm(Ad) * np.linalg.norm(P)
    assert rel(P, scipy.linalg.solve_continuous_lyapunov(H(Ad), -Q)) <= 1e-12


def test_lyapunov_matrix_diagonal_matches_theory_closed_form():
    """docs/theory.md §7: P_ij = Q_ij / (1 - conj(mu_i) mu_j) and -Q_ij / (conj(lam_i) + lam_j)."""
    rng = np.random.default_rng(15)
    mu = np.array([0.5 + 0.5j, -0.9, 0.1j, 0.95])
    lam = np.array([-1.0 + 2.0j, -0.1, -3.0 - 1.0j, -0.5j - 0.01])
    Q = make_Q(4, rng, True)
    P, Pc = lyapunov_matrix(mu, Q), lyapunov_matrix(lam, Q, discrete=False)
    ref = Q / (1 - np.conj(mu)[:, None] * mu[None, :])
    refc = -Q / (np.conj(lam)[:, None] + lam[None, :])
    assert rel(P, ref) <= 1e-14 and rel(Pc, refc) <= 1e-14
    assert rel(P, dlyap(np.conj(mu), Q)) <= 1e-15
    assert rel(lyapunov_matrix(mu), np.diag(1 / (1 - np.abs(mu) ** 2))) <= 1e-15  # Q = None is I


def test_lyapunov_matrix_errors():
    with pytest.raises(errors.UnstableSystemError, match=r"rho\(Ab\) = 1.2"):
        lyapunov_matrix(np.array([0.5, -1.2]))
    with pytest.raises(errors.UnstableSystemError, match=r"rho\(Ab\) = 1.0"):
        lyapunov_matrix(np.array([[1.0, 1.0], [0.0, 0.5]]))
    with pytest.raises(errors.UnstableSystemError, match=r"max Re\(lambda\) = 0.5"):
        lyapunov_matrix(np.array([-1.0, 0.5 + 1j]), discrete=False)
    with pytest.raises(errors.UnstableSystemError, match=r"max Re\(lambda\) = 0.0"):
        lyapunov_matrix(np.array([[0.0, 1.0], [-1.0, 0.0]]), discrete=False)
    with pytest.raises(errors.ParameterError, match="Hermitian"):
        lyapunov_matrix(np.array([0.5, 0.2]), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(errors.ParameterError, match="positive definite"):
        lyapunov_matrix(np.array([0.5, 0.2]), np.diag([1.0, -1.0]))
    with pytest.raises(errors.ShapeError):
        lyapunov_matrix(np.array([0.5, 0.2]), np.eye(3))


def test_lyapunov_matrix_real_in_real_out():
    Ab = np.array([[0.9, 2.0], [0.0, 0.5]])
    assert lyapunov_matrix(Ab).dtype == np.float64
    assert lyapunov_matrix(np.array([0.9, 0.5])).dtype == np.float64


@st.composite
def stable_diagonal_systems(draw):
    N = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    discrete = draw(st.booleans())
    rng = np.random.default_rng(seed)
    margin = draw(st.sampled_from([1e-1, 1e-3, 1e-6]))
    if discrete:
        ev = rng.uniform(0, 1 - margin, N) * np.exp(2j * np.pi * rng.uniform(size=N))
    else:
        ev = -rng.uniform(margin, 10.0, N) + 1j * rng.uniform(-50, 50, N)
    M = rng.standard_normal((N, N)) + 1j * rng.standard_normal((N, N))
    Q = M @ H(M) + draw(st.sampled_from([1e-3, 1.0])) * np.eye(N)
    return ev, Q, discrete


@settings(max_examples=60, deadline=None)
@given(stable_diagonal_systems())
def test_theorem1_P_is_positive_definite(system):
    ev, Q, discrete = system
    P = lyapunov_matrix(ev, Q, discrete=discrete)
    np.linalg.cholesky(P)  # raises if P is not positive definite
    assert np.linalg.eigvalsh(P)[0] > 0
    D = np.diag(ev)
    R = H(D) @ P @ D - P + Q if discrete else H(D) @ P + P @ D + Q
    scale = np.linalg.norm(P) * (2 if discrete else 2 * np.max(np.abs(ev))) + np.linalg.norm(Q)
    assert np.linalg.norm(R) <= 1e-13 * scale


def test_benchmark_smoke_run(capsys):
    """CI smoke-runs the benchmark at N = 32; it exits non-zero if the two solvers disagree."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lyapunov.py"
    spec = importlib.util.spec_from_file_location("bench_lyapunov", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "N=32" in out and out.count("speed-up") == 2
