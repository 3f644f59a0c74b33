"""Constructors of the continuous SSMs used by deep state space models.

Every constructor returns an [`SSM`][smr_stability.ssm.SSM] for one channel (S4, S4D, S6 and
Mega run H independent copies; S5 is one MIMO system). Output matrices `C` are drawn from a
seeded generator, as the models initialise them; `D = 0`.
"""

import numpy as np

from ._validation import as_array, as_scalar_step, as_seed_rng, check_bool, check_int, check_real, check_state_size
from .discretization import phi1
from .errors import ParameterError, ShapeError
from .ssm import SSM

__all__ = [
    "hippo_legs",
    "s4d_lin",
    "s4d_inv",
    "s4d_real",
    "s5_hippo",
    "mega_ema",
    "random_stable",
]


def _hippo_legs_AB(N):
    n = np.arange(N)
    r = np.sqrt(2 * n + 1.0)
    A = -np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)
    return A, r.copy()


def hippo_legs(N, *, seed=0):
    """HiPPO-LegS, the state matrix of S4.

    `A_nk = -sqrt(2n+1) sqrt(2k+1)` for `n > k`, `-(n+1)` for `n = k`, 0 above the
    diagonal; `B_n = sqrt(2n+1)`; `C` standard normal (seeded). Real, dense, strongly
    non-normal, eigenvalues with negative real part.

    Parameters
    ----------
    N : int
        State size.
    seed : int or numpy.random.Generator, optional
        Seed of the random `C`.

    References
    ----------
    Gu, Dao, Ermon, Rudra, Re, "HiPPO: Recurrent Memory with Optimal Polynomial Projections",
    NeurIPS 2020; Gu, Goel, Re, "Efficiently Modeling Long Sequences with Structured State
    Spaces" (S4), ICLR 2022.

    Examples
    --------
    >>> from smr_stability import hippo_legs
    >>> sys = hippo_legs(4)
    >>> sys.A[1, 0], sys.A[1, 1], sys.B[1, 0]  # -sqrt(3), -2, sqrt(3)
    (np.float64(-1.7320508075688772), np.float64(-2.0), np.float64(1.7320508075688772))
    """
    N = check_int(N, "N", error=ShapeError)
    check_state_size(N, True, f"N = {N} states")
    A, B = _hippo_legs_AB(N)
    C = as_seed_rng(seed).standard_normal((1, N))
    return SSM(A, B, C, name="hippo-legs")


def _complex_C(N, seed):
    rng = as_seed_rng(seed)
    return (rng.standard_normal(N) + 1j * rng.standard_normal(N)) / np.sqrt(2.0)


def s4d_lin(N, *, seed=0):
    """S4D-Lin: `lambda_n = -1/2 + i pi n`, `B = 1`, `C` complex normal (seeded).

    Diagonal, complex; `y = Re(C x)`. (S4D keeps N/2 modes of a conjugate pair and doubles
    the real part; here all N modes are kept and the output takes `Re`.)

    References
    ----------
    Gu, Gupta, Goel, Re, "On the Parameterization and Initialization of Diagonal State Space
    Models" (S4D), NeurIPS 2022.
    """
    N = check_int(N, "N", error=ShapeError)
    check_state_size(N, False, f"N = {N} states")
    lam = -0.5 + 1j * np.pi * np.arange(N)
    return SSM(lam, np.ones(N), _complex_C(N, seed), name="s4d-lin")


def s4d_inv(N, *, seed=0):
    """S4D-Inv: `lambda_n = -1/2 + i (N/pi) (N/(2n+1) - 1)`, `B = 1`, `C` complex normal.

    References
    ----------
    Gu, Gupta, Goel, Re, "On the Parameterization and Initialization of Diagonal State Space
    Models" (S4D), NeurIPS 2022.
    """
    N = check_int(N, "N", error=ShapeError)
    check_state_size(N, False, f"N = {N} states")
    n = np.arange(N)
    lam = -0.5 + 1j * (N / np.pi) * (N / (2 * n + 1.0) - 1.0)
    return SSM(lam, np.ones(N), _complex_C(N, seed), name="s4d-inv")


def s4d_real(N, *, seed=0):
    """S4D-Real: `lambda_n = -(n+1)`, `B = 1`, `C` standard normal (seeded). Real diagonal.

    References
    ----------
    Gu, Gupta, Goel, Re, "On the Parameterization and Initialization of Diagonal State Space
    Models" (S4D), NeurIPS 2022.
    """
    N = check_int(N, "N", error=ShapeError)
    check_state_size(N, False, f"N = {N} states")
    lam = -(np.arange(N) + 1.0)
    return SSM(lam, np.ones(N), as_seed_rng(seed).standard_normal(N), name="s4d-real")


def s5_hippo(N, P=1, Q=1, *, seed=0, blocks=None):
    """S5's diagonalised HiPPO: the eigendecomposition of the normal part of HiPPO-LegS.

    HiPPO-LegS is `A = S - p p^T` with `p_n = sqrt(n + 1/2)` and `S = -I/2 + (skew)`
    normal. With `S = V diag(lambda) V^H` (V unitary, from the Hermitian `-i S`), the model
    in the coordinates `V^H x` is `A = diag(lambda)`, `B = V^H B0`, `C = C0 V`.
    `Re(lambda) = -1/2`. The low-rank term is dropped, as in S5, so this is not equivalent
    to [`hippo_legs`][smr_stability.systems.hippo_legs].

    Parameters
    ----------
    N : int
        State size (complex modes).
    P, Q : int
        Inputs and outputs (S5 is MIMO). `B0` is HiPPO-LegS's `B` for `P = 1` and
        standard normal over `sqrt(P)` otherwise; `C0` is complex normal over `sqrt(N)`.
    seed : int or numpy.random.Generator
    blocks : int, optional
        S5's block initialisation with conjugate symmetry (its `blocks` and `conj_sym`):
        `blocks` copies of the normal part of HiPPO-LegS of size `2 N / blocks`, of which
        each keeps the `N / blocks` eigenvalues with positive imaginary part (the others are
        their conjugates, which `Re(C x)` accounts for). `V` is block diagonal, and the
        model is `N` complex modes standing for `2 N` real states. `N` must be a multiple
        of `blocks`. By default one block of size `N` with every eigenvalue.

    References
    ----------
    Smith, Warrington, Linderman, "Simplified State Space Layers for Sequence Modeling" (S5),
    ICLR 2023.
    """
    N, P, Q = (check_int(k, name, error=ShapeError) for k, name in ((N, "N"), (P, "P"), (Q, "Q")))
    check_state_size(N, True, f"N = {N} states")  # the HiPPO matrix is diagonalised densely
    rng = as_seed_rng(seed)
    if blocks is None:
        lam, V, b = _hippo_normal(N)
    else:
        blocks = check_int(blocks, "blocks", error=ShapeError)
        if N % blocks:
            raise ShapeError(f"N must be a multiple of blocks; found N = {N}, blocks = {blocks}. Change either.")
        lam_b, V_b, b_b = _hippo_normal(2 * (N // blocks))
        keep = lam_b.imag > 0  # one of each conjugate pair: N / blocks modes
        lam = np.tile(lam_b[keep], blocks)
        V = np.kron(np.eye(blocks), V_b[:, keep])  # (2N, N): block-diagonal, orthonormal columns
        b = np.tile(b_b, blocks)
    B0 = b[:, None] if P == 1 else rng.standard_normal((V.shape[0], P)) / np.sqrt(P)
    C0 = (rng.standard_normal((Q, V.shape[0])) + 1j * rng.standard_normal((Q, V.shape[0]))) / np.sqrt(2.0 * N)
    return SSM(lam, V.conj().T @ B0, C0 @ V, name="s5")


def _hippo_normal(N):
    """Eigenvalues, unitary eigenvectors and `B` of the normal part `S` of HiPPO-LegS."""
    A, b = _hippo_legs_AB(N)
    p = np.sqrt(np.arange(N) + 0.5)
    S = A + np.outer(p, p)
    w, V = np.linalg.eigh(-1j * S)  # S = V diag(i w) V^H
    return np.mean(np.diag(S)) + 1j * w, V, b


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def mega_ema(N, *, dt=1.0, seed=0, alpha=None, delta=None, beta=None, eta=None):
    """Mega's multi-dimensional damped EMA, as a continuous real diagonal SSM.

    Discrete model (one channel, `h` in R^N): `h_t = q * h_{t-1} + p * beta x_t`,
    `y_t = (eta / sqrt(N)) . h_t` with `p = sigmoid(alpha)` and
    `q = 1 - p * sigmoid(delta)`. The continuous form inverts zoh at step `dt`:
    `lambda = log(q)/dt` (so `q = exp(lambda dt)`) and `B = lambda p beta / (q - 1)`
    (so `Bb = p beta`). `discretize(sys.A, sys.B, dt, 'zoh')` returns `(q, p beta)`.

    Parameters
    ----------
    N : int
        EMA dimension.
    dt : float
        The step at which the continuous form reproduces the EMA.
    seed : int or numpy.random.Generator
        Seeds the raw parameters not given, drawn as Mega initialises them: `alpha, delta ~
        N(0, 0.2^2)`, `beta ~ N(+-1, 0.02^2)` with alternating signs, `eta ~ N(0, 1)`.
    alpha, delta, beta, eta : array, shape (N,), optional
        Raw parameters (before the sigmoids).

    References
    ----------
    Ma, Zhou, Kong, He, Gui, Neubig, May, Zettlemoyer, "Mega: Moving Average Equipped Gated
    Attention", ICLR 2023.
    """
    N = check_int(N, "N", error=ShapeError)
    check_state_size(N, False, f"N = {N} states")
    dt = as_scalar_step(dt)
    rng = as_seed_rng(seed)
    sign = np.where(np.arange(N) % 2 == 1, -1.0, 1.0)
    raw = {
        "alpha": (alpha, lambda: rng.normal(0.0, 0.2, N)),
        "delta": (delta, lambda: rng.normal(0.0, 0.2, N)),
        "beta": (beta, lambda: sign + rng.normal(0.0, 0.02, N)),
        "eta": (eta, lambda: rng.normal(0.0, 1.0, N)),
    }
    vals = {}
    for key, (given, draw) in raw.items():
        v = draw() if given is None else as_array(given, key, allow_complex=False)
        if v.shape != (N,):
            raise ShapeError(f"{key} must have shape ({N},); found {v.shape}.")
        vals[key] = v
    p = _sigmoid(vals["alpha"])
    damping = p * _sigmoid(vals["delta"])  # 1 - q, kept apart so q near 1 loses nothing
    if np.any(damping >= 1.0):
        raise ParameterError(
            "q = 1 - sigmoid(alpha)*sigmoid(delta) rounds to 0 for some dimension: no continuous model "
            f"discretizes to it (found alpha up to {vals['alpha'].max():.3g}, delta up to "
            f"{vals['delta'].max():.3g}). Use smaller alpha/delta."
        )
    lam = np.log1p(-damping) / dt  # q = exp(lam dt)
    B = p * vals["beta"] / (dt * phi1(lam * dt))  # zoh: Bb = dt phi1(lam dt) B = p beta
    return SSM(lam, B, vals["eta"] / np.sqrt(N), name="mega-ema")


def _pair(x, name):
    """`(lo, hi)` as two finite floats, or an error naming what was expected."""
    try:
        lo, hi = x
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a pair (lo, hi) of numbers; found {x!r}.") from None
    return check_real(lo, f"{name}[0]"), check_real(hi, f"{name}[1]")


def random_stable(N, P=1, Q=1, *, diagonal=False, complex=False, seed=None, decay=(0.1, 2.0), freq=10.0):
    """A random stable (Hurwitz) continuous SSM.

    Parameters
    ----------
    N, P, Q : int
        State, input and output sizes.
    diagonal : bool
        Diagonal `A` (stored as a vector) or dense.
    complex : bool
        Complex or real matrices.
    seed : int or numpy.random.Generator, optional
    decay : (float, float)
        Range of the decay rates `-Re(lambda)`. Diagonal: drawn uniformly. Dense: a Gaussian
        matrix `G/sqrt(N)` is shifted so its spectral abscissa is `-decay[0]`; the result is
        non-normal in general.
    freq : float
        Diagonal complex: imaginary parts uniform on `[-freq, freq]`.

    Examples
    --------
    >>> from smr_stability import random_stable
    >>> random_stable(8, seed=0).is_stable()
    True
    """
    N, P, Q = (check_int(k, name, error=ShapeError) for k, name in ((N, "N"), (P, "P"), (Q, "Q")))
    diagonal, complex = check_bool(diagonal, "diagonal"), check_bool(complex, "complex")
    check_state_size(N, not diagonal, f"N = {N} states")
    lo, hi = _pair(decay, "decay")
    if not 0 < lo <= hi:
        raise ParameterError(f"decay: expected (lo, hi) with 0 < lo <= hi; found {decay!r}.")
    check_real(freq, "freq", 0.0)
    rng = as_seed_rng(seed)

    def draw(*shape):
        x = rng.standard_normal(shape)
        return (x + 1j * rng.standard_normal(shape)) / np.sqrt(2.0) if complex else x

    if diagonal:
        A = -rng.uniform(lo, hi, N) + (1j * rng.uniform(-freq, freq, N) if complex else 0.0)
    else:
        G = draw(N, N) * (hi / np.sqrt(N))
        A = G - (np.max(np.linalg.eigvals(G).real) + lo) * np.eye(N)
    return SSM(A, draw(N, P), draw(Q, N), name="random")
