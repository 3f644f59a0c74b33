"""The SSM container, the model constructors and the python-control interop.

Every number is checked against something independent of the code under test: the published
formulas written out here with explicit loops, numpy/scipy eigen-decompositions, python-control
frequency responses, and plain-loop recurrences (Mega's EMA as Mega writes it).
"""

import dataclasses

import control
import numpy as np
import pytest
import scipy.linalg
from scipy.special import expit

import smr_stability as smr
from smr_stability import SSM, as_ssm, errors


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# -- independent references ------------------------------------------------------------------
def legs_reference(N):
    """HiPPO-LegS from its definition (Gu et al. 2020), element by element."""
    A = np.zeros((N, N))
    B = np.zeros(N)
    for n in range(N):
        B[n] = np.sqrt(2 * n + 1)
        for k in range(N):
            if n > k:
                A[n, k] = -np.sqrt(2 * n + 1) * np.sqrt(2 * k + 1)
            elif n == k:
                A[n, k] = -(n + 1)
    return A, B


def legs_normal_part(N):
    """S = A_legs + p p^T with p_n = sqrt(n + 1/2) (the normal part S5 diagonalises)."""
    A, _ = legs_reference(N)
    p = np.array([np.sqrt(n + 0.5) for n in range(N)])
    return A + np.outer(p, p)


def transfer(A, B, C, s):
    """G(s) = C (sI - A)^{-1} B by a dense solve (A may be given as its diagonal)."""
    A = np.diag(A) if np.ndim(A) == 1 else np.asarray(A)
    return C @ np.linalg.solve(s * np.eye(A.shape[0]) - A, B)


def max_real_eig(A):
    return np.max(scipy.linalg.eigvals(np.diag(A) if np.ndim(A) == 1 else A).real)


# == 1. the SSM container =====================================================================
def test_vectors_are_normalised_to_matrices():
    sys = SSM(A=[-1.0, -2.0, -3.0], B=[1.0, 2.0, 3.0], C=[4.0, 5.0, 6.0])
    assert sys.B.shape == (3, 1) and sys.C.shape == (1, 3)
    np.testing.assert_array_equal(sys.B[:, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(sys.C[0], [4.0, 5.0, 6.0])
    assert sys.D.shape == (1, 1) and sys.D[0, 0] == 0.0
    assert (sys.N, sys.P, sys.Q) == (3, 1, 1)


def test_mimo_shapes_default_and_scalar_D():
    rng = np.random.default_rng(0)
    A, B, C = -np.eye(4) + 0.1 * rng.standard_normal((4, 4)), rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    sys = SSM(A, B, C)
    assert (sys.N, sys.P, sys.Q) == (4, 3, 2)
    np.testing.assert_array_equal(sys.D, np.zeros((2, 3)))
    sys = SSM(A, B, C, 2.5)
    np.testing.assert_array_equal(sys.D, np.full((2, 3), 2.5))
    D = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(SSM(A, B, C, D).D, D)


def test_dtypes_are_float64_or_complex128():
    sys = SSM([[-1, 0], [1, -2]], [1, 1], [1, 0], 3)  # integers in
    assert all(m.dtype == np.float64 for m in (sys.A, sys.B, sys.C, sys.D))
    assert not sys.is_complex
    sys = SSM([-1 + 1j, -1 - 1j], [1, 1], [1, 0])
    assert sys.A.dtype == np.complex128 and sys.is_complex
    assert SSM([-1.0], [1.0], [1j]).is_complex  # complex C alone makes the model complex


def test_diagonal_flag_and_A_dense():
    lam = np.array([-1.0, -2.0 + 3j, -0.5])
    d = SSM(lam, np.ones(3), np.ones(3))
    assert d.diagonal and d.A.shape == (3,)
    np.testing.assert_array_equal(d.A_dense, np.diag(lam))
    full = SSM(np.diag(lam), np.ones(3), np.ones(3))
    assert not full.diagonal and full.A.shape == (3, 3)
    np.testing.assert_array_equal(full.A_dense, np.diag(lam))
    dense = d.to_dense()
    assert not dense.diagonal
    np.testing.assert_array_equal(dense.A, np.diag(lam))


def test_arrays_are_read_only_and_attributes_frozen():
    sys = SSM(np.array([[-1.0, 0.0], [1.0, -2.0]]), np.ones((2, 1)), np.ones((1, 2)), 0.5)
    for key in "ABCD":
        arr = getattr(sys, key)
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[(0,) * arr.ndim] = 7.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(sys, key, np.zeros_like(arr))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sys.name = "other"
    # the accessors hand out copies, so writing to them does not reach the model
    Ad = sys.A_dense
    Ad[0, 0] = 99.0
    assert sys.A[0, 0] == -1.0


@pytest.mark.parametrize("diagonal", [True, False])
def test_container_copies_its_inputs(diagonal):
    A = np.array([-1.0, -2.0]) if diagonal else np.array([[-1.0, 0.5], [0.0, -2.0]])
    B, C, D = np.array([1.0, 2.0]), np.array([[3.0, 4.0]]), np.array([[0.5]])
    sys = SSM(A, B, C, D)
    A0, B0, C0, D0 = A.copy(), B.copy(), C.copy(), D.copy()
    for arr in (A, B, C, D):
        arr[...] = 123.0
    np.testing.assert_array_equal(sys.A, A0)
    np.testing.assert_array_equal(sys.B[:, 0], B0)
    np.testing.assert_array_equal(sys.C, C0)
    np.testing.assert_array_equal(sys.D, D0)
    assert A.flags.writeable  # the caller's arrays are left alone


@pytest.mark.parametrize("diagonal,complex_", [(True, False), (True, True), (False, False), (False, True)])
def test_eigenvalues_match_numpy(diagonal, complex_):
    sys = smr.random_stable(6, diagonal=diagonal, complex=complex_, seed=3)
    expected = np.diag(sys.A) if diagonal else sys.A
    got, ref = np.sort_complex(sys.eigenvalues), np.sort_complex(np.linalg.eigvals(expected))
    assert rel_err(got, ref) < 1e-12


def test_eigenvalues_of_triangular_matrix_are_its_diagonal():
    A = np.array([[-1.0, 0.0, 0.0], [5.0, -2.0, 0.0], [7.0, 3.0, -4.0]])
    ev = np.sort(SSM(A, np.ones(3), np.ones(3)).eigenvalues.real)
    np.testing.assert_allclose(ev, [-4.0, -2.0, -1.0], rtol=1e-12)


@pytest.mark.parametrize(
    "A,stable",
    [
        ([-1.0, -2.0], True),
        ([-1.0, 0.0], False),  # Re = 0 is not Hurwitz
        ([-1.0 + 5j, 1e-3 - 2j], False),
        ([[0.0, 1.0], [-2.0, -3.0]], True),  # eigenvalues -1, -2
        ([[1.0, -10.0], [0.0, -3.0]], False),  # eigenvalue +1 hidden in a dense matrix
        ([[-1.0, 100.0], [0.0, -1.0]], True),  # non-normal but Hurwitz
    ],
)
def test_is_stable(A, stable):
    N = np.shape(A)[0]
    assert SSM(A, np.ones(N), np.ones(N)).is_stable() is stable
    assert stable == (max_real_eig(np.asarray(A)) < 0)  # the reference agrees with the label


# -- named errors ---------------------------------------------------------------------------
A2, B2, C2 = -np.eye(2), np.ones((2, 1)), np.ones((1, 2))


@pytest.mark.parametrize(
    "kwargs,error,pattern",
    [
        (dict(A=np.ones((2, 3)), B=B2, C=C2), errors.ShapeError, r"square.*\(2, 3\)"),
        (dict(A=np.ones((2, 2, 2)), B=B2, C=C2), errors.ShapeError, r"A must be 1-D or 2-D"),
        (dict(A=np.zeros(0), B=np.zeros(0), C=np.zeros(0)), errors.ShapeError, r"N >= 1"),
        (dict(A=np.zeros((0, 0)), B=np.zeros((0, 1)), C=np.zeros((1, 0))), errors.ShapeError, r"N >= 1"),
        (dict(A=A2, B=np.ones((3, 1)), C=C2), errors.ShapeError, r"B .*\(2, \*\).*\(3, 1\)"),
        (dict(A=A2, B=np.ones(3), C=C2), errors.ShapeError, r"B .*\(3, 1\)"),
        (dict(A=A2, B=B2, C=np.ones((1, 3))), errors.ShapeError, r"C .*\(\*, 2\).*\(1, 3\)"),
        (dict(A=A2, B=B2, C=np.ones(5)), errors.ShapeError, r"C .*\(1, 5\)"),
        (dict(A=A2, B=B2, C=C2, D=np.ones((2, 2))), errors.ShapeError, r"D .*\(1, 1\).*\(2, 2\)"),
        (dict(A=A2, B=B2, C=C2, D=np.ones((1, 1, 1, 1))), errors.ShapeError, r"D must be"),
        (dict(A=[[-1.0, np.nan], [0.0, -1.0]], B=B2, C=C2), errors.NonFiniteError, r"A must be finite.*\(0, 1\)"),
        (dict(A=A2, B=[[np.inf], [1.0]], C=C2), errors.NonFiniteError, r"B must be finite"),
        (dict(A=A2, B=B2, C=[[1.0, 1j * np.inf]]), errors.NonFiniteError, r"C must be finite"),
        (dict(A=A2, B=B2, C=C2, D=np.nan), errors.NonFiniteError, r"D must be finite"),
        (dict(A="abc", B=B2, C=C2), errors.InputTypeError, r"A must hold real or complex numbers"),
        (dict(A=A2, B=[["1"], ["2"]], C=C2), errors.InputTypeError, r"B must hold"),
        (dict(A=A2, B=B2, C=np.array([[1.0, None]], dtype=object)), errors.InputTypeError, r"C .*object"),
        (dict(A=[[-1.0, 0.0], [0.0]], B=B2, C=C2), errors.InputTypeError, r"A must be array-like"),
        (dict(A=A2, B=B2, C=C2, D=1j), errors.InputTypeError, r"D must be real"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_invalid_inputs_raise_named_errors(kwargs, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        SSM(**kwargs)
    assert isinstance(info.value, errors.SMRStabilityError)
    assert isinstance(info.value, TypeError if error is errors.InputTypeError else ValueError)


def test_transposed_D_is_rejected():
    rng = np.random.default_rng(0)
    B, C = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))  # P = 3, Q = 2
    D_transposed = np.arange(6.0).reshape(3, 2)  # (P, Q) instead of (Q, P)
    with pytest.raises(errors.ShapeError):
        SSM(-np.eye(2), B, C, D_transposed)


# == 2. constructors against their published definitions ======================================
@pytest.mark.parametrize("N", [1, 2, 5, 16])
def test_hippo_legs_matches_definition(N):
    sys = smr.hippo_legs(N, seed=0)
    A, B = legs_reference(N)
    assert not sys.diagonal and not sys.is_complex
    np.testing.assert_allclose(sys.A, A, rtol=1e-15, atol=0)
    np.testing.assert_allclose(sys.B[:, 0], B, rtol=1e-15, atol=0)
    assert sys.B.shape == (N, 1) and sys.C.shape == (1, N)
    np.testing.assert_array_equal(sys.D, np.zeros((1, 1)))


def test_hippo_legs_is_stable_and_strongly_non_normal():
    sys = smr.hippo_legs(8)
    # lower triangular: the eigenvalues are the diagonal -(n+1), n = 0..7
    np.testing.assert_allclose(np.sort(sys.eigenvalues.real), -np.arange(8.0, 0.0, -1.0), rtol=1e-6)
    assert sys.is_stable()
    A = sys.A
    assert np.linalg.norm(A @ A.T - A.T @ A) > 1.0 * np.linalg.norm(A)


@pytest.mark.parametrize("N", [1, 4, 16])
def test_s4d_lin_matches_definition(N):
    sys = smr.s4d_lin(N)
    lam = np.array([complex(-0.5, np.pi * n) for n in range(N)])
    assert sys.diagonal and sys.A.dtype == np.complex128
    assert rel_err(sys.A, lam) < 1e-15
    np.testing.assert_array_equal(sys.B, np.ones((N, 1)))
    assert sys.C.shape == (1, N) and np.iscomplexobj(sys.C)
    np.testing.assert_array_equal(sys.D, np.zeros((1, 1)))


@pytest.mark.parametrize("N", [1, 4, 16, 64])
def test_s4d_inv_matches_definition(N):
    sys = smr.s4d_inv(N)
    lam = np.array([complex(-0.5, (N / np.pi) * (N / (2 * n + 1) - 1)) for n in range(N)])
    assert sys.diagonal and sys.A.dtype == np.complex128
    assert rel_err(sys.A, lam) < 1e-14
    np.testing.assert_array_equal(sys.B, np.ones((N, 1)))
    assert sys.C.shape == (1, N) and np.iscomplexobj(sys.C)


@pytest.mark.parametrize("N", [1, 4, 16])
def test_s4d_real_matches_definition(N):
    sys = smr.s4d_real(N)
    assert sys.diagonal and not sys.is_complex
    np.testing.assert_array_equal(sys.A, [-(n + 1.0) for n in range(N)])
    np.testing.assert_array_equal(sys.B, np.ones((N, 1)))
    assert sys.C.shape == (1, N) and sys.C.dtype == np.float64


CONSTRUCTORS = [smr.hippo_legs, smr.s4d_lin, smr.s4d_inv, smr.s4d_real, smr.s5_hippo, smr.mega_ema, smr.random_stable]


@pytest.mark.parametrize("make", CONSTRUCTORS, ids=lambda f: f.__name__)
def test_constructors_are_seeded(make):
    a, b, c = make(8, seed=1), make(8, seed=1), make(8, seed=2)
    for key in "ABCD":
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.allclose(a.C, c.C)
    gen = make(8, seed=np.random.default_rng(1))  # a Generator is accepted as the seed
    np.testing.assert_array_equal(gen.C, a.C)


@pytest.mark.parametrize("make", CONSTRUCTORS, ids=lambda f: f.__name__)
def test_constructors_are_stable(make):
    for N in (1, 2, 9):
        sys = make(N, seed=0)
        assert max_real_eig(sys.A) < 0
        assert sys.is_stable()


@pytest.mark.parametrize("make", CONSTRUCTORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("N", [0, -3, 2.5, True, "4", None])
def test_constructors_reject_bad_N(make, N):
    with pytest.raises(errors.ShapeError, match=r"N: expected an integer >= 1; found "):
        make(N)


def test_constructors_accept_numpy_integers():
    assert smr.s4d_lin(np.int64(5)).N == 5


@pytest.mark.parametrize("make", [smr.s4d_lin, smr.s4d_inv])
def test_s4d_complex_C_is_standard_complex_normal(make):
    C = make(4000, seed=0).C[0]
    assert abs(np.mean(C)) < 0.05
    assert abs(np.mean(C.real**2) - 0.5) < 0.05 and abs(np.mean(C.imag**2) - 0.5) < 0.05


# == 3. S5: the diagonalised normal part of HiPPO-LegS ==========================================
def test_legs_splits_into_normal_part_minus_rank_one():
    for N in (1, 2, 7, 16):
        S = legs_normal_part(N)
        np.testing.assert_allclose(np.diag(S), -0.5, rtol=1e-14)
        K = S + 0.5 * np.eye(N)
        assert np.max(np.abs(K + K.T)) < 1e-13  # skew symmetric off the -1/2 diagonal
        assert np.linalg.norm(S @ S.T - S.T @ S) < 1e-12 * max(np.linalg.norm(S) ** 2, 1)


def s5_frame(N):
    """Eigen-pairs (mu, W) of S from numpy's nonsymmetric eig, ordered and phased like s5_hippo.

    For a normal S with distinct eigenvalues the unit eigenvectors are unique up to a phase, so
    V = W diag(d) with |d| = 1. The order is matched to s5_hippo's eigenvalues, and the phases
    are fixed from the P = 1 model, whose B must be V^H b with b the HiPPO-LegS B.
    """
    S = legs_normal_part(N)
    mu, W = np.linalg.eig(S)
    lam = smr.s5_hippo(N).A
    order = np.array([np.argmin(np.abs(mu - l)) for l in lam])
    assert sorted(order) == list(range(N)), "eigenvalues do not match one to one"
    mu, W = mu[order], W[:, order]
    _, b = legs_reference(N)
    Wb = W.conj().T @ b
    B1 = smr.s5_hippo(N).B[:, 0]
    assert np.min(np.abs(Wb)) > 1e-6
    return S, mu, W, Wb, B1


@pytest.mark.parametrize("N", [1, 2, 5, 16, 33])
def test_s5_eigenvalues_are_those_of_the_normal_part(N):
    sys = smr.s5_hippo(N)
    S, mu, W, _, _ = s5_frame(N)
    assert sys.diagonal and sys.A.dtype == np.complex128
    assert rel_err(sys.A, mu) < 1e-12
    np.testing.assert_allclose(sys.A.real, -0.5, atol=1e-13)
    if N > 1:  # distinct eigenvalues: W is unique up to the phase of each column
        assert np.min(np.abs(np.diff(np.sort(mu.imag)))) > 1e-3
    assert np.linalg.norm(W.conj().T @ W - np.eye(N)) < 1e-10  # normal => unitary eigenvectors


@pytest.mark.parametrize("N", [1, 2, 5, 16, 33])
def test_s5_single_input_B_is_hippo_B_in_the_eigenbasis(N):
    _, _, _, Wb, B1 = s5_frame(N)
    _, b = legs_reference(N)
    np.testing.assert_allclose(np.abs(B1), np.abs(Wb), rtol=1e-10)  # |v_n^H b| is phase free
    np.testing.assert_allclose(np.linalg.norm(B1), np.linalg.norm(b), rtol=1e-12)  # V unitary


@pytest.mark.parametrize("N", [2, 5, 16])
def test_s5_frequency_response_equals_the_dense_normal_part(N):
    """C (iw - Lambda)^{-1} B equals C0 (iw - S)^{-1} b with C0 = C V^H, V rebuilt from numpy's eig."""
    S, _, W, Wb, B1 = s5_frame(N)
    V = W * np.conj(B1 / Wb)  # v_n = w_n d_n with conj(d_n) w_n^H b = B_n
    sys = smr.s5_hippo(N, Q=3, seed=4)
    C0 = sys.C @ V.conj().T
    _, b = legs_reference(N)
    for w in (0.0, 0.3, 2.0, 17.0):
        G_diag = transfer(sys.A, sys.B, sys.C, 1j * w)
        G_dense = transfer(S, b[:, None], C0, 1j * w)
        assert rel_err(G_diag, G_dense) < 1e-10


@pytest.mark.parametrize("N,P,Q,seed", [(1, 2, 3, 0), (6, 3, 2, 0), (16, 4, 5, 1)])
def test_s5_mimo_shapes_and_real_B0(N, P, Q, seed):
    """For P > 1 the input matrix is V^H B0 with B0 real and V the same unitary eigenbasis."""
    sys = smr.s5_hippo(N, P, Q, seed=seed)
    assert (sys.N, sys.P, sys.Q) == (N, P, Q) and sys.diagonal
    assert sys.B.shape == (N, P) and sys.C.shape == (Q, N) and sys.D.shape == (Q, P)
    assert np.iscomplexobj(sys.C)
    _, mu, W, Wb, B1 = s5_frame(N)
    np.testing.assert_allclose(sys.A, mu, rtol=1e-12)
    V = W * np.conj(B1 / Wb)
    B0 = V @ sys.B
    assert np.max(np.abs(B0.imag)) < 1e-10 * np.max(np.abs(B0.real))
    assert np.linalg.matrix_rank(B0.real) == min(N, P)


def test_s5_is_not_equivalent_to_hippo_legs():
    """The low-rank term is dropped: S5's and HiPPO-LegS's eigenvalues differ."""
    assert not np.allclose(np.sort(smr.s5_hippo(4).A.real), np.sort(smr.hippo_legs(4).eigenvalues.real))


# == 4. Mega's damped EMA ====================================================================
def mega_raw(N, seed):
    rng = np.random.default_rng(seed)
    return dict(
        alpha=rng.normal(0, 1.0, N),
        delta=rng.normal(0, 1.0, N),
        beta=rng.normal(0, 1.0, N),
        eta=rng.normal(0, 1.0, N),
    )


def mega_loop(raw, x):
    """Mega's EMA as written in the paper: h_t = q h_{t-1} + p beta x_t, y_t = (eta/sqrt(N)) . h_t."""
    N = raw["alpha"].size
    p = expit(raw["alpha"])
    q = 1.0 - p * expit(raw["delta"])
    h = np.zeros(N)
    y = []
    for x_t in x:
        h = q * h + p * raw["beta"] * x_t
        y.append(np.sum(raw["eta"] / np.sqrt(N) * h))
    return np.array(y)


@pytest.mark.parametrize("N", [1, 4, 16])
@pytest.mark.parametrize("dt", [1.0, 0.25, 3.0])
def test_mega_ema_zoh_returns_q_and_p_beta(N, dt):
    raw = mega_raw(N, seed=N)
    sys = smr.mega_ema(N, dt=dt, **raw)
    assert sys.diagonal and not sys.is_complex and np.all(sys.A < 0)
    np.testing.assert_allclose(sys.C[0], raw["eta"] / np.sqrt(N), rtol=1e-15)
    Ab, Bb = smr.discretize(sys.A, sys.B, dt, "zoh")
    p = expit(raw["alpha"])
    q = 1.0 - p * expit(raw["delta"])
    np.testing.assert_allclose(Ab, q, rtol=1e-13)
    np.testing.assert_allclose(Bb[:, 0], p * raw["beta"], rtol=1e-12)


@pytest.mark.parametrize("signal", ["impulse", "step", "random"])
@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_mega_ema_response_equals_the_ema_loop(signal, dt):
    N, L = 8, 60
    raw = mega_raw(N, seed=7)
    x = {"impulse": np.eye(1, L)[0], "step": np.ones(L), "random": np.random.default_rng(1).standard_normal(L)}[signal]
    sys = smr.mega_ema(N, dt=dt, **raw)
    Ab, Bb = smr.discretize(sys.A, sys.B, dt, "zoh")
    y, _ = smr.simulate_reference(Ab, Bb, sys.C, sys.D, x[:, None])
    ref = mega_loop(raw, x)
    assert np.max(np.abs(y[:, 0] - ref)) < 1e-12 * np.max(np.abs(ref))


def test_mega_ema_default_draws():
    for seed in range(5):
        sys = smr.mega_ema(6, seed=seed)
        assert sys.diagonal and not sys.is_complex and np.all(sys.A < 0)
        # beta ~ N(+-1, 0.02^2) with alternating signs; B has beta's sign (lambda / expm1 > 0)
        np.testing.assert_array_equal(np.sign(sys.B[:, 0]), [1, -1, 1, -1, 1, -1])


@pytest.mark.parametrize("key", ["alpha", "delta", "beta", "eta"])
def test_mega_ema_rejects_wrongly_shaped_parameters(key):
    with pytest.raises(errors.ShapeError, match=rf"{key} must have shape \(4,\)"):
        smr.mega_ema(4, **{key: np.zeros(3)})


@pytest.mark.parametrize("dt", [0.0, -1.0, np.inf])
def test_mega_ema_rejects_bad_steps(dt):
    with pytest.raises(errors.StepSizeError):
        smr.mega_ema(3, dt=dt)


def test_mega_ema_slow_decay_has_a_finite_continuous_form():
    raw = dict(alpha=np.array([-40.0, 0.0]), delta=np.zeros(2), beta=np.ones(2), eta=np.ones(2))
    sys = smr.mega_ema(2, **raw)
    Ab, Bb = smr.discretize(sys.A, sys.B, 1.0, "zoh")
    p = expit(raw["alpha"])
    np.testing.assert_allclose(Ab, 1.0 - p * expit(raw["delta"]), rtol=1e-13)
    np.testing.assert_allclose(Bb[:, 0], p * raw["beta"], rtol=1e-12)


def test_mega_ema_without_continuous_preimage_raises_a_named_error():
    with pytest.raises(errors.SMRStabilityError, match="q"):
        smr.mega_ema(1, alpha=[40.0], delta=[40.0])


# == 5. random_stable ========================================================================
@pytest.mark.parametrize("diagonal", [True, False], ids=["diagonal", "dense"])
@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("N", [1, 2, 7, 64])
def test_random_stable_is_stable_and_respects_flags(diagonal, complex_, N):
    for seed in range(15):
        sys = smr.random_stable(N, 2, 3, diagonal=diagonal, complex=complex_, seed=seed)
        assert (sys.N, sys.P, sys.Q) == (N, 2, 3)
        assert sys.A.ndim == (1 if diagonal else 2)
        for m in (sys.A, sys.B, sys.C):
            assert m.dtype == (np.complex128 if complex_ else np.float64)
        assert max_real_eig(sys.A) < 0
        np.testing.assert_array_equal(sys.D, np.zeros((3, 2)))


@pytest.mark.parametrize("complex_", [False, True])
def test_random_stable_decay_range(complex_):
    lo, hi = 0.3, 1.5
    for seed in range(10):
        d = smr.random_stable(20, diagonal=True, complex=complex_, seed=seed, decay=(lo, hi), freq=4.0)
        assert np.all((-d.A.real >= lo) & (-d.A.real <= hi))
        if complex_:
            assert np.all(np.abs(d.A.imag) <= 4.0)
        dense = smr.random_stable(20, complex=complex_, seed=seed, decay=(lo, hi))
        assert abs(max_real_eig(dense.A) + lo) < 1e-9  # spectral abscissa pinned at -decay[0]


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("N", [2, 7, 64])
def test_random_stable_dense_is_non_normal(complex_, N):
    A = smr.random_stable(N, complex=complex_, seed=0).A
    AH = A.conj().T
    assert np.linalg.norm(A @ AH - AH @ A) > 1e-2 * np.linalg.norm(A) ** 2


def test_random_stable_seed_reproducibility():
    for flags in ({}, {"diagonal": True}, {"complex": True}, {"diagonal": True, "complex": True}):
        a, b = smr.random_stable(5, 2, 2, seed=11, **flags), smr.random_stable(5, 2, 2, seed=11, **flags)
        c = smr.random_stable(5, 2, 2, seed=12, **flags)
        for key in "ABC":
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
            assert not np.allclose(getattr(a, key), getattr(c, key))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: smr.random_stable(3, decay=(0.0, 1.0)), id="random_stable-decay-zero"),
        pytest.param(lambda: smr.random_stable(3, decay=(2.0, 1.0)), id="random_stable-decay-reversed"),
        pytest.param(lambda: smr.mega_ema(3, dt=[0.1, 0.2]), id="mega_ema-array-dt"),
    ],
)
def test_bad_arguments_raise_package_errors(call):
    with pytest.raises(errors.SMRStabilityError):
        call()


# == 6. interop with python-control, as_ssm, realify =========================================
@pytest.mark.parametrize("diagonal", [True, False])
def test_to_control_real_system_has_our_matrices(diagonal):
    sys = smr.random_stable(5, 2, 3, diagonal=diagonal, seed=2)
    sys = SSM(sys.A, sys.B, sys.C, np.arange(6.0).reshape(3, 2))
    cs = sys.to_control()
    assert isinstance(cs, control.StateSpace) and cs.isctime(strict=True)
    np.testing.assert_array_equal(cs.A, sys.A_dense)
    np.testing.assert_array_equal(cs.B, sys.B)
    np.testing.assert_array_equal(cs.C, sys.C)
    np.testing.assert_array_equal(cs.D, sys.D)
    w = 0.7  # and python-control's frequency response is C (iw - A)^{-1} B + D
    assert rel_err(cs(1j * w), transfer(sys.A, sys.B, sys.C, 1j * w) + sys.D) < 1e-12


def test_from_control_round_trip():
    rng = np.random.default_rng(5)
    A, B, C, D = (
        -2 * np.eye(4) + rng.standard_normal((4, 4)),
        rng.standard_normal((4, 2)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 2)),
    )
    cs = control.ss(A, B, C, D)
    sys = SSM.from_control(cs, name="plant")
    assert sys.name == "plant" and not sys.diagonal
    for key, ref in zip("ABCD", (A, B, C, D)):
        np.testing.assert_array_equal(getattr(sys, key), ref)
    back = sys.to_control()
    for key in "ABCD":
        np.testing.assert_array_equal(getattr(back, key), getattr(cs, key))


@pytest.mark.parametrize("dt", [0.1, True])
def test_from_control_rejects_discrete_time(dt):
    cs = control.ss([[0.5]], [[1.0]], [[1.0]], [[0.0]], dt)
    with pytest.raises(errors.InputTypeError, match="continuous-time"):
        SSM.from_control(cs)
    with pytest.raises(errors.InputTypeError, match="continuous-time"):
        as_ssm(cs)


def test_from_control_rejects_transfer_functions():
    with pytest.raises(errors.InputTypeError, match="StateSpace"):
        SSM.from_control(control.tf([1.0], [1.0, 1.0]))


def test_as_ssm_accepts_ssm_statespace_and_tuples():
    A, B, C, D = np.array([-1.0, -3.0]), np.array([[1.0], [2.0]]), np.array([[0.5, 0.25]]), np.array([[4.0]])
    sys = SSM(A, B, C, D)
    assert as_ssm(sys) is sys
    for obj in ((A, B, C), [A, B, C], (A, B, C, D)):
        got = as_ssm(obj)
        assert isinstance(got, SSM) and got.diagonal
        np.testing.assert_array_equal(got.A, A)
        np.testing.assert_array_equal(got.C, C)
    np.testing.assert_array_equal(as_ssm((A, B, C, D)).D, D)
    got = as_ssm(control.ss(np.diag(A), B, C, D))
    np.testing.assert_array_equal(got.A, np.diag(A))
    np.testing.assert_array_equal(got.D, D)


@pytest.mark.parametrize(
    "obj",
    [np.eye(2), (np.eye(2), np.ones(2)), (1, 2, 3, 4, 5), "ssm", {"A": 1}, None, 3.0, control.tf([1.0], [1.0, 1.0])],
    ids=["array", "pair", "5-tuple", "str", "dict", "None", "float", "tf"],
)
def test_as_ssm_rejects_other_objects(obj):
    with pytest.raises(errors.InputTypeError, match="expected an SSM") as info:
        as_ssm(obj)
    assert isinstance(info.value, TypeError)


def complex_systems():
    yield "s4d_lin", smr.s4d_lin(6, seed=1)
    yield "s5-mimo", smr.s5_hippo(5, P=2, Q=3, seed=2)
    mimo = smr.random_stable(4, 2, 3, diagonal=True, complex=True, seed=3)
    yield "diag-with-D", SSM(mimo.A, mimo.B, mimo.C, np.arange(6.0).reshape(3, 2))
    yield "dense-complex", smr.random_stable(4, 2, 2, complex=True, seed=4)


COMPLEX = list(complex_systems())


@pytest.mark.parametrize("sys", [s for _, s in COMPLEX], ids=[n for n, _ in COMPLEX])
@pytest.mark.parametrize("method", ["zoh", "bilinear"])
def test_realify_gives_identical_outputs_for_real_inputs(sys, method):
    r = sys.realify()
    assert not r.is_complex and not r.diagonal and r.N == 2 * sys.N and (r.P, r.Q) == (sys.P, sys.Q)
    u = np.random.default_rng(0).standard_normal((150, sys.P))
    dt = 0.05
    y_c, _ = smr.simulate_reference(*smr.discretize(sys.A, sys.B, dt, method), sys.C, sys.D, u)
    y_r, _ = smr.simulate_reference(*smr.discretize(r.A, r.B, dt, method), r.C, r.D, u)
    assert rel_err(y_r, y_c) < 1e-10


@pytest.mark.parametrize("sys", [s for _, s in COMPLEX], ids=[n for n, _ in COMPLEX])
def test_realified_frequency_response_is_real_part_transfer(sys):
    """For real u and y = Re(C x): H(s) = (G(s) + conj(G(conj s)))/2 + D, G(s) = C (sI - A)^{-1} B.

    (The impulse response is Re(C e^{At} B); the Laplace transform of Re(f) is
    (F(s) + conj(F(conj s)))/2.)
    """
    cs = sys.to_control()
    assert isinstance(cs, control.StateSpace) and np.isrealobj(cs.A)
    for w in (0.0, 0.4, 3.0, 25.0):
        s = 1j * w
        H = 0.5 * (transfer(sys.A, sys.B, sys.C, s) + np.conj(transfer(sys.A, sys.B, sys.C, np.conj(s)))) + sys.D
        assert rel_err(np.reshape(cs(s), H.shape), H) < 1e-10


def test_realify_block_structure_and_real_passthrough():
    sys = smr.random_stable(3, 2, 2, complex=True, seed=9)
    r = sys.realify()
    A, B, C = sys.A, sys.B, sys.C
    np.testing.assert_array_equal(r.A, np.block([[A.real, -A.imag], [A.imag, A.real]]))
    np.testing.assert_array_equal(r.B, np.vstack([B.real, B.imag]))
    np.testing.assert_array_equal(r.C, np.hstack([C.real, -C.imag]))
    real = smr.random_stable(3, seed=9)
    assert real.realify() is real
    # the eigenvalues of the realified A are those of A and their conjugates
    ev = np.concatenate([np.linalg.eigvals(A), np.conj(np.linalg.eigvals(A))])
    assert rel_err(np.sort_complex(scipy.linalg.eigvals(r.A)), np.sort_complex(ev)) < 1e-10


@pytest.mark.parametrize("N,blocks", [(1, 1), (8, 8), (6, 2), (12, 3)])
def test_s5_blocks_keep_one_of_each_conjugate_pair_and_represent_the_real_block(N, blocks):
    """S5's block init with conj_sym: per block the modes of the size-2m normal part with Im > 0.

    For real s, a real row c gives c (s - S)^{-1} b real, and it equals 2 Re of the kept modes'
    sum: the dropped modes are the conjugates of the kept ones (b and S real).
    """
    m = N // blocks
    sys = smr.s5_hippo(N, blocks=blocks)
    S, mu, W, Wb, B1 = s5_frame(2 * m)
    V = W * np.conj(B1 / Wb)  # the unitary eigenbasis, phased like s5_hippo(2m)
    keep = mu.imag > 0
    assert keep.sum() == m and sys.A.shape == (N,)
    np.testing.assert_allclose(sys.A, np.tile(mu[keep], blocks), rtol=1e-12)
    _, b = legs_reference(2 * m)
    c = np.random.default_rng(0).standard_normal(2 * m)
    for k in range(blocks):
        lam, Bk = sys.A[k * m : (k + 1) * m], sys.B[k * m : (k + 1) * m, 0]
        for s in (0.0, 0.7, 5.0):
            dense = c @ np.linalg.solve(s * np.eye(2 * m) - S, b)
            modal = 2.0 * np.real(np.sum((c @ V[:, keep]) * Bk / (s - lam)))
            assert abs(modal - dense) < 1e-11 * max(1.0, abs(dense))
    mimo = smr.s5_hippo(N, P=3, Q=2, seed=5, blocks=blocks)
    assert mimo.B.shape == (N, 3) and mimo.C.shape == (2, N)


def test_s5_blocks_rejects_a_non_divisor():
    with pytest.raises(errors.ShapeError, match="multiple of blocks"):
        smr.s5_hippo(6, blocks=4)
    with pytest.raises(errors.ShapeError, match="blocks"):
        smr.s5_hippo(6, blocks=0)
