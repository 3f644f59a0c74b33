"""Proposition 1: transmission and accumulation of sampling errors (docs/theory.md §3).

Error system, deep-SSM convention (docs/theory.md §0, §2):

```text
e_k = Ab e_{k-1} + Bb w_k,   e_{-1} = 0,   so   e_k = sum_{i=0..k} Ab^{k-i} Bb w_i.     (E)
```

If `rho(Ab) < 1` the error stays in the ball `sup_k ||e_k|| <= G_inf sup_i ||w_i||` with

```text
G_inf = sum_{j>=0} ||Ab^j Bb||_2
```

([`error_gain`][smr_stability.proposition1.error_gain]), bounded for a diagonal `Ab = diag(mu)` by the per-mode sum
`sum_n ||Bb_n|| / (1 - |mu_n|)` ([`error_gain_bound`][smr_stability.proposition1.error_gain_bound]). The ISS radius
`G_inf * W` is [`iss_error_bound`][smr_stability.proposition1.iss_error_bound]. A continuous mode
`lambda = -a + i omega` discretized with step `dt` has the gain `|Bb_n| / (1 - |mu_n|)`
([`mode_gain`][smr_stability.proposition1.mode_gain]), which for zoh tends to `|B_n| / a` as
`dt -> 0` ([`long_memory_limit`][smr_stability.proposition1.long_memory_limit]): slowly decaying
(long-memory) modes accumulate sampling error the most.

Shape legend: N state, P inputs. `Ab` is dense (N, N) or diagonal, given as the vector (N,)
of its eigenvalues; `Bb` is (N, P) or (N,) for one input. Norms are the spectral norm of the
N x P matrix `Ab^j Bb` (the vector 2-norm when P = 1) and the 2-norm of `w_i` in R^P.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._validation import (
    as_array,
    as_step,
    check_bool,
    check_int,
    check_real,
    input_matrix,
    require_stable,
    resolve_method,
    state_matrix,
)
from .bounds import eigenvalues, spectral_radius
from .discretization import discretize
from .errors import ParameterError, ShapeError, SingularSystemError, UnstableSystemError

__all__ = ["ErrorGain", "error_gain", "error_gain_bound", "iss_error_bound", "mode_gain", "long_memory_limit"]

_EPS = np.finfo(float).eps
_FLUSH = 1e-75  # powers r^j below this are set to 0 (no denormals); see _gain_diagonal


@dataclass(frozen=True)
class ErrorGain:
    """The series `G_inf = sum_{j>=0} ||Ab^j Bb||_2` evaluated with a certified tail bound.

    Attributes
    ----------
    value : float
        The partial sum `S_J = sum_{j<J} ||Ab^j Bb||_2`, what
        [`error_gain`][smr_stability.proposition1.error_gain] returns.
    upper : float
        `S_J + tail`, a certified upper bound on `G_inf`; `value <= G_inf <= upper`
        and `upper - value <= rtol * value` (up to floating-point rounding).
    terms : int
        `J`, the number of terms summed.
    tail : float
        The bound on `sum_{j>=J} ||Ab^j Bb||_2` that stopped the sum.
    spectral_radius : float
        `rho(Ab) = max |mu_n|`.
    """

    value: float
    upper: float
    terms: int
    tail: float
    spectral_radius: float


# -- validation ---------------------------------------------------------------------------


def _system(Ab, Bb):
    """Return `(Ab, Bb (N, P), diagonal)` after checking shapes and finiteness."""
    Ab = state_matrix(Ab, "Ab")
    return Ab, input_matrix(Bb, Ab.shape[0], "Bb"), Ab.ndim == 1


# Why Proposition 1 needs rho(Ab) < 1, for the messages of require_stable.
_UNSTABLE = "(bounded sampling errors can grow without bound when rho >= 1, docs/theory.md §3(b))"


def _reduce_inputs(Bb):
    """`C` (N, min(N, P)) with `||X C||_2 = ||X Bb||_2` for every X (LQ: Bb = R^H Q^H)."""
    N, P = Bb.shape
    if P <= N:
        return Bb
    R = scipy.linalg.qr(Bb.conj().T, mode="r")[0]  # Bb^H = Q R, R (N, N)
    return R.conj().T


def _spec_norms(Y):
    """Spectral norms of a stack (K, N, m) of matrices (vector norms when m = 1)."""
    if Y.shape[-1] == 1:
        return (
            np.sqrt(np.sum(Y.real**2 + Y.imag**2, axis=(-2, -1)))
            if np.iscomplexobj(Y)
            else np.linalg.norm(Y[..., 0], axis=-1)
        )
    return np.sqrt(_lambda_max(np.swapaxes(Y.conj(), -1, -2) @ Y))


# -- the series G_inf ---------------------------------------------------------------------


def error_gain(Ab, Bb, rtol=1e-10, *, max_terms=10**8, return_info=False):
    """The error gain `G_inf = sum_{j>=0} ||Ab^j Bb||_2` of a stable discrete system.

    With the error system (E) `e_k = Ab e_{k-1} + Bb w_k`, `e_{-1} = 0` (deep-SSM
    convention), `sup_k ||e_k||_2 <= G_inf sup_i ||w_i||_2` (Proposition 1(a)).

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal `Ab = diag(Ab)`
        Discrete state matrix, real or complex, with spectral radius < 1.
    Bb : array, shape (N, P) or (N,)
        Discrete input matrix.
    rtol : float in (0, 1)
        Relative accuracy: the sum stops at the first `J` whose certified tail bound
        `T_J >= sum_{j>=J} ||Ab^j Bb||` satisfies `T_J <= rtol * S_J`.
    max_terms : int
        Give up (`UnstableSystemError`) rather than sum more terms than this.
    return_info : bool
        Return an [`ErrorGain`][smr_stability.proposition1.ErrorGain] (value, certified upper bound, terms, tail, rho)
        instead of the float.

    Returns
    -------
    G : float
        `S_J = sum_{j<J} ||Ab^j Bb||_2` with `(1 - rtol) G_inf <= S_J <= G_inf` up to
        rounding (about 1e-13 relative), or an [`ErrorGain`][smr_stability.proposition1.ErrorGain] if `return_info`.

    Raises
    ------
    UnstableSystemError
        If `rho(Ab) >= 1` (the message gives rho), if stability cannot be certified
        numerically (dense), or if more than `max_terms` terms would be needed.
    ShapeError, NonFiniteError, ParameterError

    Notes
    -----
    Tail bounds (rigorous; `S_J` sums `j < J`, `T_J` bounds `j >= J`):

    *Diagonal* `Ab = diag(mu)`, `r = |mu|`, `rho = max r`. Only `r` matters:
    `||diag(mu^j) Bb|| = ||diag(r^j) Bb||`. For `j >= J`,
    `||Ab^j Bb|| = ||diag(r^(j-J)) Ab^J Bb|| <= rho^(j-J) ||Ab^J Bb||`, hence
    `T_J <= ||Ab^J Bb|| / (1 - rho)`; and by the triangle inequality over modes
    `T_J <= sum_n ||Bb_n|| r_n^J / (1 - r_n)`. The smaller of the two is used, at every J.
    Terms are evaluated in vectorised blocks, `r^(J0 + i) = r^J0 r^i`, as matrix products
    (O(N) work per term for one input, O(N m^2 + m^3) for m = min(N, P) inputs): about
    `log(1/rtol) / (1 - rho)` terms, e.g. 2.3e6 for `rho = 1 - 1e-5` (a fraction of a
    second for N = 64). Powers below 1e-75 (relative to the largest entry of `Bb`) are
    flushed to zero, a change far below any useful `rtol`.

    *Dense* `Ab`: `P` solves `Ab^H P Ab - P = -I` (`scipy.linalg.solve_discrete_lyapunov`
    applied to `Ab^H`, since scipy solves `A X A^H - X + Q = 0`; Smith's doubling as a
    fallback). With the residual `E = Ab^H P Ab - P + I` of the computed P, `delta = ||E||`
    (plus a rounding allowance), `||x||_P^2 = x^H P x` and `lambda_min ||x||^2 <=
    ||x||_P^2 <= lambda_max ||x||^2`:
    `||Ab x||_P^2 = ||x||_P^2 - x^H (I - E) x <= q^2 ||x||_P^2`,
    `q^2 = 1 - (1 - delta) / lambda_max`. So for `j >= J`
    `||Ab^j Bb||_2 <= lambda_min^(-1/2) q^(j-J) ||P^(1/2) Ab^J Bb||_2` and
    `T_J <= ||P^(1/2) Ab^J Bb||_2 / (sqrt(lambda_min) (1 - q))`. A P that is not positive
    definite or has `delta >= 1/2` is rejected (the certificate also proves `rho < 1`); then
    the same is tried for the diagonally balanced `T^{-1} Ab T` (`scipy.linalg.matrix_balance`),
    with `P = T^{-H} P' T^{-1}`, before raising. Terms
    come from repeated products in blocks, `[Ab^t]_{t<b} @ [Ab^(J + i b) Bb]_i` (one matrix
    product for many terms): O(N^2 m) per term, m = min(N, P) inputs, plus O(b N^3) once, b <= 512; the tail bound
    is checked at the block starts `J = i b`, so up to b - 1 more terms than necessary may
    be summed. A dense Ab whose estimated count `log(rtol) / log(rho)` exceeds
    `max_terms` is refused before summing.

    Examples
    --------
    A scalar mode is a geometric series, `sum_j |mu|^j |b| = |b| / (1 - |mu|)`:

    >>> import numpy as np
    >>> from smr_stability.proposition1 import error_gain
    >>> mu, b = 0.9 * np.exp(0.3j), 2.0
    >>> bool(abs(error_gain([mu], [b]) - abs(b) / (1 - abs(mu))) <= 1e-10 * 20)
    True
    >>> info = error_gain(np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.0, 1.0]), return_info=True)
    >>> bool(info.value <= info.upper <= info.value * (1 + 1e-10)), info.spectral_radius
    (True, 0.5)
    """
    rtol = check_real(rtol, "rtol", 0.0, 1.0, open_lo=True, open_hi=True, error=ParameterError)
    check_int(max_terms, "max_terms", error=ParameterError)
    return_info = check_bool(return_info, "return_info")
    Ab, Bb, diagonal = _system(Ab, Bb)
    ev = eigenvalues(Ab)
    require_stable(ev, True, f"G_inf {_UNSTABLE}")
    rho = spectral_radius(ev)
    C = _reduce_inputs(Bb)
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    if scale == 0.0:  # no input (P = 0, N = 0 or Bb = 0): e_k = 0
        info = ErrorGain(0.0, 0.0, 0, 0.0, rho)
    else:
        C = C / scale  # G is homogeneous in Bb; now max |C| = 1, so S_J >= ||C|| >= 1 for J >= 1
        run = _gain_diagonal if diagonal else _gain_dense
        value, tail, terms = run(Ab, C, rtol, int(max_terms), rho)
        info = ErrorGain(value * scale, (value + tail) * scale, terms, tail * scale, rho)
    return info if return_info else info.value


def _too_many(rho, rtol, max_terms, needed=None, how="at least"):
    est = f"{how} {needed:.3g}" if needed is not None else f"more than {max_terms}"
    return UnstableSystemError(
        f"G_inf converges too slowly to sum: spectral radius rho(Ab) = {rho!r} is so close to 1 that "
        f"rtol = {rtol:g} needs {est} terms, above max_terms = {max_terms}. Expected rho(Ab) "
        "clearly below 1; raise max_terms or rtol, or use error_gain_bound (diagonal Ab). A mode on the "
        "unit circle (e.g. lam = i w under zoh) can round to rho = 1 - 1e-16 and land here: it has no "
        "finite gain."
    )


def _gain_diagonal(mu, C, rtol, max_terms, rho):
    """Blocked evaluation of `sum_j ||diag(r^j) C||` with the two tail bounds of the Notes."""
    N, m = C.shape
    r = np.abs(mu)
    rows = np.sqrt(np.sum(np.abs(C) ** 2, axis=1))  # ||C_n||
    d = rows / (1.0 - r)  # per-mode tail weights
    slow = rows[r == rho].max()
    with np.errstate(divide="ignore"):
        needed = np.log(rtol * d.sum() * (1.0 - rho) / slow) / np.log(rho) if rho > 0 else 0.0
    if needed > max_terms:  # both tail bounds are >= slow rho^J / (1 - rho), and S_J <= sum d
        raise _too_many(rho, rtol, max_terms, needed)
    # ||diag(r^j) C||^2 = lambda_max(G_j), G_j = C^H diag(r^2j) C = sum_n r_n^2j C_n^H C_n (m x m)
    O = (C.conj()[:, :, None] * C[:, None, :]).reshape(N, m * m)  # rows C_n^H C_n, flattened
    parts_ri = [O.real] + ([O.imag] if np.iscomplexobj(O) else [])
    O = np.concatenate(parts_ri, axis=1)  # (N, n_ri m^2), real, so the products are real GEMMs
    n_ri = len(parts_ri)
    Bk = 512
    with np.errstate(under="ignore"):
        R1 = r[:, None] ** np.arange(Bk)  # (N, Bk): r^i
        R1[R1 < _FLUSH] = 0.0
        R2 = R1 * R1
    S, J0, M = 0.0, 0, int(np.clip(np.ceil(needed / Bk), 1, 4096))  # first chunk: the terms surely needed
    parts = []
    while True:
        if J0 >= max_terms:
            raise _too_many(rho, rtol, max_terms)
        with np.errstate(under="ignore"):
            W1 = r ** (J0 + Bk * np.arange(M))[:, None]  # (M, N): r^J for the block starts
            W1[W1 < _FLUSH] = 0.0
            W2 = W1 * W1
            T2 = ((W1 * d) @ R1).ravel()  # per-mode tail bound at every j of the chunk
            if m == 1:
                f = np.sqrt(((W2 * O[:, 0]) @ R2).ravel())  # (M Bk,)
            else:
                G = np.einsum("Mn,nk->Mkn", W2, O).reshape(-1, N) @ R2  # (M n_ri m^2, Bk)
                G = G.reshape(M, n_ri, m, m, Bk).transpose(0, 4, 1, 2, 3).reshape(M * Bk, n_ri, m, m)
                f = np.sqrt(_lambda_max(G[:, 0] + 1j * G[:, 1] if n_ri == 2 else G[:, 0]))
        tail = np.minimum(f / (1.0 - rho), T2)
        before = S + np.concatenate(([0.0], np.cumsum(f[:-1])))  # S_j for each j of the chunk
        hit = np.flatnonzero(tail <= rtol * before)
        if hit.size:
            t = int(hit[0])
            parts.append(np.sum(f[:t]))
            return float(np.sum(parts)), float(tail[t]), J0 + t
        parts.append(np.sum(f))
        S = float(np.sum(parts))
        J0 += M * Bk
        M = min(2 * M, 4096)


def _lambda_max(G):
    """Largest eigenvalue (clipped at 0) of a stack (..., m, m) of Hermitian PSD matrices."""
    if G.shape[-1] == 2:  # closed form, much faster than a batched eigvalsh
        p, s = 0.5 * (G[..., 0, 0].real + G[..., 1, 1].real), 0.5 * (G[..., 0, 0].real - G[..., 1, 1].real)
        return np.maximum(p + np.sqrt(s * s + np.abs(G[..., 0, 1]) ** 2), 0.0)
    return np.maximum(np.linalg.eigvalsh(G)[..., -1], 0.0)


def _lyapunov_certificate(Ab):
    """`(R, lam_min, one_minus_q)` with `P = R^H R` certifying `||Ab x||_P <= q ||x||_P`.

    Tries Ab itself, then its diagonal balancing `Bal = T^{-1} Ab T` (strongly non-normal
    matrices such as Jordan blocks with large couplings): a certificate `P'` for Bal gives
    `P = T^{-H} P' T^{-1}` for Ab, with `lam_min(P) >= lam_min(P') / max(T)^2`.
    """
    candidates = [(Ab, None)]
    try:
        Bal, (t, _) = scipy.linalg.matrix_balance(Ab, permute=False, separate=True)
        if not np.all(t == 1.0):
            candidates.append((Bal, t))
    except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - balancing is a fallback
        pass
    for M, t in candidates:
        for P in _lyapunov_solutions(M):
            out = _check_certificate(M, P)
            if out is not None:
                R, lmin, omq = out
                return (R, lmin, omq) if t is None else (R / t, lmin / np.max(t) ** 2, omq)
    rho = spectral_radius(Ab)
    raise UnstableSystemError(
        f"could not certify stability of Ab: the computed spectral radius is {rho!r} < 1, but no "
        "positive definite P with Ab^H P Ab - P = -I was found to working accuracy (expected a "
        "residual below 1/2). Ab is numerically at the edge of stability or extremely non-normal "
        "(P would be too ill-conditioned for float64); check dt and the method."
    )


def _lyapunov_solutions(A):
    """Candidate solutions of `A^H P A - P = -I`: scipy's solver, then Smith's doubling."""
    N = A.shape[0]
    I = np.eye(N)
    try:  # scipy solves a X a^H - X + q = 0; a = A^H gives A^H X A - X + I = 0
        with warnings.catch_warnings():  # ill-conditioning is judged by the residual instead
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            P = scipy.linalg.solve_discrete_lyapunov(A.conj().T, I)
    except (np.linalg.LinAlgError, ValueError):
        P = None
    yield P
    P, Ak = I.astype(A.dtype), A  # P_k = sum_{j < 2^k} (A^H)^j A^j, Ak = A^(2^k)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(64):
            inc = Ak.conj().T @ P @ Ak
            P, Ak = P + inc, Ak @ Ak
            if not np.all(np.isfinite(P)) or np.linalg.norm(inc) <= _EPS * np.linalg.norm(P):
                break
    yield P


def _check_certificate(A, P):
    """`(R, lam_min, 1 - q)` if the computed P certifies a contraction in `||.||_P`, else None.

    With `E = A^H P A - P + I` and `delta >= ||E||` (rounding allowance included),
    `||A x||_P^2 = ||x||_P^2 - x^H (I - E) x <= (1 - (1 - delta)/lam_max) ||x||_P^2`.
    """
    N = A.shape[0]
    if P is None or not np.all(np.isfinite(P)):
        return None
    P = 0.5 * (P + P.conj().T)
    ev = np.linalg.eigvalsh(P)
    lmax = ev[-1] * (1 + 4 * N * _EPS)
    lmin = ev[0] - 4 * N * _EPS * abs(ev[-1])
    if not lmin > 0:
        return None
    delta = np.linalg.norm(A.conj().T @ P @ A - P + np.eye(N), 2)
    delta += 10 * N * _EPS * (np.linalg.norm(A, 2) ** 2 + 1) * lmax  # rounding in forming E
    if not delta < 0.5:
        return None
    try:
        L = np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        return None
    x = (1.0 - delta) / lmax  # 1 - q^2
    return L.conj().T, lmin, x / (1.0 + np.sqrt(1.0 - x))  # 1 - q without cancellation


def _gain_dense(Ab, C, rtol, max_terms, rho):
    """Repeated products in blocks, stopped by the Lyapunov tail bound of the Notes."""
    N, m = C.shape
    needed = np.log(rtol / (1.0 + rtol)) / np.log(rho) if rho > 0 else 0.0  # as for one mode of modulus rho
    if needed > max_terms:
        raise _too_many(rho, rtol, max_terms, needed, how="about")
    R, lmin, one_minus_q = _lyapunov_certificate(Ab)
    K = 1.0 / (np.sqrt(lmin) * one_minus_q)
    # Powers [Ab^t]_{t<b} (b N^3 once); b grows with the expected number of terms.
    b_max = max(1, min(512, 2**22 // (N * N)))  # Pw holds b N^2 numbers
    b = int(np.clip(2 ** np.ceil(np.log2(max(needed, 1.0) / 8)), min(16, b_max), b_max))
    Pw = np.empty((b, N, N), dtype=Ab.dtype)
    Pw[0] = np.eye(N)
    for t in range(1, b):
        Pw[t] = Ab @ Pw[t - 1]
    Ab_b = Ab @ Pw[-1]
    Pw2 = Pw.reshape(b * N, N)
    s_max = max(1, 64 // m)
    X, J, s = C, 0, 1
    parts = []
    while True:
        if J >= max_terms:
            raise _too_many(rho, rtol, max_terms)
        # s starting vectors Ab^(J + i b) C, then all s b terms by one matrix product each
        Xs = [X]
        for _ in range(s - 1):
            Xs.append(Ab_b @ Xs[-1])
        Xc = np.concatenate(Xs, axis=1)  # (N, s m)

        Y = (Pw2 @ Xc).reshape(b, N, s, m).transpose(2, 0, 1, 3)  # (s, b, N, m): Ab^(J + i b + t) C
        f = _spec_norms(Y.reshape(s * b, N, m))
        # the tail bound K ||P^(1/2) Ab^j C|| is checked at the block starts j = J + i b
        tail = K * _spec_norms(np.moveaxis((R @ Xc).reshape(N, s, m), 1, 0))
        before = sum(parts) + np.concatenate(([0.0], np.cumsum(f[:-1])))[::b]
        hit = np.flatnonzero(tail <= rtol * before)
        if hit.size:
            t = int(hit[0]) * b
            parts.append(np.sum(f[:t]))
            return float(np.sum(parts)), float(tail[hit[0]]), J + t
        parts.append(np.sum(f))
        X = Ab_b @ Xs[-1]
        J += s * b
        s = min(2 * s, s_max)


# -- bounds -------------------------------------------------------------------------------


def error_gain_bound(Ab, Bb):
    """The per-mode bound `sum_n ||Bb_n||_2 / (1 - |mu_n|) >= G_inf`.

    For a diagonal `Ab = diag(mu)`, `Ab^j Bb = sum_n e_n mu_n^j Bb_n` (`Bb_n` the n-th
    row), so `||Ab^j Bb||_2 <= sum_n |mu_n|^j ||Bb_n||` and summing the geometric series over
    j bounds [`error_gain`][smr_stability.proposition1.error_gain] (docs/theory.md §3(a)). Each term
    is the exact gain of mode n alone.

    For a dense `Ab = V diag(mu) V^{-1}` (eigenvectors of unit 2-norm, as
    `numpy.linalg.eig` returns them) the same argument in the eigenbasis gives
    `G_inf <= ||V||_2 sum_n ||(V^{-1} Bb)_n|| / (1 - |mu_n|)`, which is what is returned;
    it equals the diagonal bound when `Ab` is normal and can be very loose when V is
    ill-conditioned.

    Parameters
    ----------
    Ab : array, shape (N,) (diagonal) or (N, N) (dense, diagonalizable)
    Bb : array, shape (N, P) or (N,)

    Returns
    -------
    bound : float

    Raises
    ------
    UnstableSystemError
        If some `|mu_n| >= 1`.
    SingularSystemError
        If a dense `Ab` is not diagonalizable to working accuracy (`cond(V) > 1e10`,
        e.g. a Jordan block); use [`error_gain`][smr_stability.proposition1.error_gain] instead.
    ShapeError, NonFiniteError

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.proposition1 import error_gain, error_gain_bound
    >>> mu, Bb = np.array([0.9, -0.5j]), np.array([1.0, 2.0])
    >>> bool(np.isclose(error_gain_bound(mu, Bb), 1 / 0.1 + 2 / 0.5, rtol=1e-14))
    True
    >>> bool(error_gain(mu, Bb) <= error_gain_bound(mu, Bb))
    True
    """
    Ab, Bb, diagonal = _system(Ab, Bb)
    require_stable(eigenvalues(Ab), True, f"the per-mode bound {_UNSTABLE}")
    if diagonal:
        mu, scale, Ct = Ab, 1.0, Bb
    else:
        mu, V = np.linalg.eig(Ab)
        cond = np.linalg.cond(V) if V.size else 1.0
        if not cond <= 1e10:
            raise SingularSystemError(
                f"Ab is not diagonalizable to working accuracy: its eigenvector matrix has condition "
                f"number {cond:.3g} (expected at most 1e10, e.g. no Jordan blocks). The per-mode bound "
                "is undefined; use error_gain, which handles any stable Ab."
            )
        scale, Ct = np.linalg.norm(V, 2), np.linalg.solve(V, Bb)
    return float(scale * np.sum(np.linalg.norm(Ct, axis=1) / (1.0 - np.abs(mu))))


def iss_error_bound(Ab, Bb, w_bound, rtol=1e-10):
    """Radius of the ISS error ball: `sup_k ||e_k||_2 <= G_inf * w_bound`.

    For (E) `e_k = Ab e_{k-1} + Bb w_k` with `e_{-1} = 0` and `||w_i||_2 <= w_bound` for
    all i, `||e_k|| <= sum_{j=0..k} ||Ab^j Bb|| ||w_{k-j}|| <= G_inf w_bound`
    (Proposition 1(a)). The radius uses the certified upper bound `ErrorGain.upper` of
    [`error_gain`][smr_stability.proposition1.error_gain], so it is never below the exact `G_inf * w_bound`.

    Parameters
    ----------
    Ab, Bb
        As in [`error_gain`][smr_stability.proposition1.error_gain].
    w_bound : float > 0
        `W = sup_i ||w_i||_2`, the largest sampling error (2-norm over the P inputs).
    rtol : float in (0, 1)
        Accuracy of `G_inf`.

    Returns
    -------
    radius : float

    Raises
    ------
    ParameterError
        If `w_bound` is not positive and finite.
    UnstableSystemError, ShapeError, NonFiniteError
        As in [`error_gain`][smr_stability.proposition1.error_gain].

    Examples
    --------
    Constant error `w = W` into a mode `mu = 0.8` drives `e_k` up to the radius:

    >>> import numpy as np
    >>> from smr_stability.proposition1 import iss_error_bound
    >>> e, mu, b, W = 0.0, 0.8, 0.5, 0.1
    >>> for k in range(200):
    ...     e = mu * e + b * W
    >>> radius = iss_error_bound([mu], [b], W)
    >>> bool(e <= radius), bool(np.isclose(e, radius, rtol=1e-9))
    (True, True)
    """
    W = check_real(w_bound, "w_bound", 0.0, open_lo=True, error=ParameterError)
    return error_gain(Ab, Bb, rtol, return_info=True).upper * W


# -- per-mode gains of continuous eigenvalues -----------------------------------------------


def mode_gain(lam, dt, method="zoh", B=1.0, alpha=None):
    """Per-mode error gain `|Bb_n| / (1 - |mu_n|)` of continuous eigenvalues discretized with `dt`.

    Mode n alone, `e_k = mu_n e_{k-1} + Bb_n w_k`, has `G_inf = sum_j |mu_n|^j |Bb_n|`
    `= |Bb_n| / (1 - |mu_n|)`, with `(mu_n, Bb_n)` from
    [`smr_stability.discretize`][smr_stability.discretization.discretize]. For zoh and
    `lam = -a + i omega` this is exactly `|lam|^{-1} |e^{dt lam} - 1| / (1 - e^{-a dt}) |B_n|` and
    tends to `|B_n| / a` ([`long_memory_limit`][smr_stability.proposition1.long_memory_limit]) as
    `dt -> 0`; for real `lam` it equals `|B_n|/a` at every dt.

    Parameters
    ----------
    lam : array_like, shape S
        Continuous eigenvalues.
    dt : float or array, shape T
        Positive steps.
    method : str
        Any method of [`smr_stability.discretize`][smr_stability.discretization.discretize] ('zoh', 'bilinear', 'euler',
        'backward_diff', 'gbt', 'selective', ...).
    B : float or array, broadcastable to S
        Continuous input weight `B_n` of each mode (complex allowed).
    alpha : float, optional
        Only for `method='gbt'`.

    Returns
    -------
    gain : ndarray, shape T + S (float)

    Raises
    ------
    UnstableSystemError
        If some `|mu_n| >= 1` (e.g. `Re lam >= 0`, or forward Euler with
        `dt >= -2 Re(lam) / |lam|^2`): the gain is infinite.
    StepSizeError, MethodError, AlphaError, ShapeError, NonFiniteError

    Notes
    -----
    `1 - |mu|` is evaluated without cancellation: `-expm1(dt Re lam)` for zoh/selective
    and `(-2x + (2 alpha - 1)|z|^2) / (|1 - alpha z|^2 (1 + |mu|))`, `z = dt lam`,
    `x = Re z`, for the gbt family, so small steps keep full relative accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.proposition1 import mode_gain
    >>> lam, dt = -0.5 + 3j, 0.01
    >>> exact = abs(np.exp(dt * lam) - 1) / abs(lam) / (1 - np.exp(-0.5 * dt))
    >>> bool(np.isclose(mode_gain(lam, dt), exact, rtol=1e-12))
    True
    >>> mode_gain([-2.0], [0.1, 1.0, 10.0])[:, 0]  # real mode, zoh: |B|/a at every dt
    array([0.5, 0.5, 0.5])
    """
    kind, a = resolve_method(method, alpha)
    lam = as_array(lam, "lam")
    dt = as_step(dt)
    B = as_array(B, "B")
    try:
        Bl = np.broadcast_to(B, lam.shape)
    except ValueError:
        raise ShapeError(f"B must be a scalar or broadcast to lam's shape {lam.shape}; found {B.shape}.") from None
    lv = lam.reshape(-1)
    _, Bb = discretize(lv, Bl.reshape(-1), dt, method=method, alpha=alpha)  # T + (n,)
    z = dt[..., None] * lv
    x = z.real
    if kind in ("zoh", "selective"):
        gap = -np.expm1(x)  # 1 - |exp(z)|
    else:
        den2 = np.abs(1.0 - a * z) ** 2
        absmu = np.abs(1.0 + (1.0 - a) * z) / np.sqrt(den2)
        gap = (-2.0 * x + (2.0 * a - 1.0) * np.abs(z) ** 2) / (den2 * (1.0 + absmu))
    if gap.size and not np.all(gap > 0):
        i = np.unravel_index(int(np.argmin(gap)), gap.shape)
        raise UnstableSystemError(
            f"the per-mode gain exists only for |mu| < 1; found |mu| = {float(1 - gap[i])!r} >= 1 for lam = "
            f"{complex(lv[i[-1]])!r} at dt = {float(np.broadcast_to(dt[..., None], z.shape)[i])!r} with method "
            f"{method!r}. Expected Re(lam) < 0 (and, for forward Euler, dt < -2 Re(lam)/|lam|^2)."
        )
    return (np.abs(Bb) / gap).reshape(dt.shape + lam.shape)


def long_memory_limit(lam, B=1.0):
    """The `dt -> 0` limit `|B| / a` of the zoh per-mode gain, `a = -Re(lam) > 0`.

    It is the continuous-time gain `int_0^inf |e^{lam t} B| dt` of the mode: the slower the
    decay (the longer the memory), the larger the accumulated sampling error (docs/theory.md §3(c)).

    Parameters
    ----------
    lam : array_like, shape S
        Continuous eigenvalues with `Re(lam) < 0`.
    B : float or array, broadcastable to S

    Returns
    -------
    limit : ndarray, shape broadcast(S, B.shape)

    Raises
    ------
    UnstableSystemError
        If some `Re(lam) >= 0` (the limit is infinite).

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.proposition1 import long_memory_limit, mode_gain
    >>> lam = np.array([-0.5 + 10j, -0.01 + 1j])
    >>> long_memory_limit(lam, B=2.0)
    array([  4., 200.])
    >>> bool(np.allclose(mode_gain(lam, 1e-4, B=2.0), long_memory_limit(lam, B=2.0), rtol=1e-5))
    True
    """
    lam = as_array(lam, "lam")
    B = as_array(B, "B")
    a = -lam.real
    if a.size and not np.all(a > 0):
        bad = lam.reshape(-1)[int(np.argmin(a.reshape(-1)))]
        raise UnstableSystemError(
            f"the long-memory limit |B|/a needs a = -Re(lam) > 0; found lam = {complex(bad)!r}. "
            "A mode with Re(lam) >= 0 accumulates sampling error without bound."
        )
    try:
        return np.abs(B) / a
    except ValueError:
        raise ShapeError(f"B must broadcast with lam's shape {lam.shape}; found {B.shape}.") from None
