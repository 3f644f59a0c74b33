"""Lyapunov equations: dense (scipy) and diagonal (closed form, docs/theory.md §7).

Two orientations meet in this module, and mixing them up is the classic bug.

The solvers [`lyap`][smr_stability.lyapunov.lyap] and [`dlyap`][smr_stability.lyapunov.dlyap] use
python-control's (and MATLAB's) orientation, which users know:

```text
lyap(A, Q):   A X + X A^H + Q = 0
dlyap(A, Q):  A X A^H - X + Q = 0
```

(scipy's `solve_continuous_lyapunov(a, q)` solves `a X + X a^H = q`, with the sign of
`q` flipped, and `solve_discrete_lyapunov(a, q)` solves `a X a^H - X + q = 0`;
python-control writes `A^T` and, with slycot, drops the imaginary part of a complex A).

Theorem 1 (docs/theory.md §4) uses the transposed orientation `A^H P + P A = -Q` and
`Ab^H P Ab - P = -Q`, so its P is `lyap(A^H, Q)` and `dlyap(Ab^H, Q)`;
[`lyapunov_matrix`][smr_stability.lyapunov.lyapunov_matrix] returns it, with the checks Theorem 1 needs.

For a diagonal `A = diag(lam)` (given as the vector `lam`) entry (i, j) of each equation
decouples, O(N^2) instead of O(N^3):

```text
A X + X A^H + Q = 0      ->  X_ij = -Q_ij / (lam_i + conj(lam_j))
A X A^H - X + Q = 0      ->  X_ij =  Q_ij / (1 - mu_i conj(mu_j))
A^H P + P A = -Q         ->  P_ij = -Q_ij / (conj(lam_i) + lam_j)       (docs/theory.md §7)
Ab^H P Ab - P = -Q       ->  P_ij =  Q_ij / (1 - conj(mu_i) mu_j)       (docs/theory.md §7)
```

The last two are the first two with `lam -> conj(lam)`: `P = lyap(conj(lam), Q)` and
`P = dlyap(conj(mu), Q)`.

Shape legend: N state. `A` is (N, N) or the vector (N,) of a diagonal; `Q` is (N, N).
"""

import warnings

import numba
import numpy as np
import scipy.linalg

from ._validation import as_array, check_bool, check_real, check_shape, require_stable, state_matrix
from .errors import ParameterError, SingularSystemError, UnstableSystemError

__all__ = ["lyap", "dlyap", "lyapunov_matrix"]

_EPS = np.finfo(float).eps
#: Rounding-level tolerance of the diagonal closed forms (see [`lyap`][smr_stability.lyapunov.lyap], Notes).
_DIAG_TOL = 8 * _EPS
#: Default relative tolerance of the dense no-unique-solution test.
RTOL_SINGULAR = 1e-10
#: Largest relative residual accepted from scipy after it warned (see `_scipy_solve`).
RTOL_RESIDUAL = 1e-8
#: Relative tolerance of the Hermitian test of Q in [`lyapunov_matrix`][smr_stability.lyapunov.lyapunov_matrix].
RTOL_HERMITIAN = 1e-10


# -- validation ---------------------------------------------------------------------------


def _weight(Q, N, a_shape, name="Q"):
    Q = as_array(Q, name, ndim=2)
    return check_shape(Q, (N, N), f"{name} (N = {N}, as A of shape {a_shape})")


def _pair_message(kind, i, j, vi, vj, gap, count):
    if kind == "continuous":
        what = f"lam_{i} + conj(lam_{j}) = {gap:.3g} with lam_{i} = {vi!r}, lam_{j} = {vj!r}"
        why = "A and -A^H share an eigenvalue (a mode on the imaginary axis, or a pair symmetric about it)"
    else:
        what = f"|1 - mu_{i} conj(mu_{j})| = {gap:.3g} with mu_{i} = {vi!r}, mu_{j} = {vj!r}"
        why = "mu_i conj(mu_j) = 1 (a mode on the unit circle, or a pair mu, 1/conj(mu))"
    return (
        f"the {kind} Lyapunov equation has no unique solution: {what} "
        f"({count} such pair{'s' if count != 1 else ''}); {why}. Expected every eigenvalue pair "
        "away from this; a stable system (Re lam < 0, resp. |mu| < 1) always has a unique solution."
    )


def _raise_pairs(kind, ev, bad, gap):
    idx = np.argwhere(bad)
    i, j = (int(k) for k in idx[np.argmin(np.abs(gap[bad]))])
    raise SingularSystemError(_pair_message(kind, i, j, complex(ev[i]), complex(ev[j]), abs(gap[i, j]), len(idx)))


def _finite_or_raise(X, kind, ev, gap):
    if np.all(np.isfinite(X)):
        return X
    i, j = (int(k) for k in np.argwhere(~np.isfinite(X))[0])
    raise SingularSystemError(
        _pair_message(kind, i, j, complex(ev[i]), complex(ev[j]), abs(gap[i, j]), 1)
        + " (the solution overflows float64)"
    )


# -- the solvers ----------------------------------------------------------------------------


def lyap(A, Q, *, rtol=RTOL_SINGULAR):
    """Solve the continuous Lyapunov equation `A X + X A^H + Q = 0`.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal `A = diag(A)`
        Real or complex.
    Q : array, shape (N, N)
        Real or complex; it need not be Hermitian (X is Hermitian when Q is).
    rtol : float, keyword-only
        Relative tolerance of the no-unique-solution test for a dense A (Notes).

    Returns
    -------
    X : ndarray, shape (N, N)
        Real if A and Q are real, complex otherwise.

    Raises
    ------
    SingularSystemError
        If `lam_i + conj(lam_j) = 0` for eigenvalues `lam_i, lam_j` of A (no unique
        solution); the message names the pair.
    ShapeError, NonFiniteError, InputTypeError

    Notes
    -----
    Conventions: python-control's `control.lyap(A, Q)` solves `A X + X A^T + Q = 0`
    (the same for real A) and scipy's `solve_continuous_lyapunov(a, q)` solves
    `a X + X a^H = q`; here `X = solve_continuous_lyapunov(A, -Q)` for a dense A
    (Bartels-Stewart on the Schur form, complex Schur for a complex A, O(N^3)).
    Theorem 1's `A^H P + P A = -Q` is `P = lyap(A^H, Q)`.

    Diagonal `A = diag(lam)`: `X_ij = -Q_ij / (lam_i + conj(lam_j))`, O(N^2), each entry
    correct to a few ulps relative to the conditioning `|lam_i| + |lam_j|` over
    `|lam_i + conj(lam_j)|`. A pair with `|lam_i + conj(lam_j)| <= 8 eps (|lam_i| + |lam_j|)`
    (exact zero included) is singular.

    Dense A: a pair of computed eigenvalues with `|lam_i + conj(lam_j)| <= rtol ||A||_F` is
    singular; eigenvalues carry errors of order `eps ||A||` (more for non-normal A), so the
    test is relative to `||A||_F`, the scale of the operator `X -> A X + X A^H`. A
    singularity missed by the test but met by LAPACK (trsyl's warning) raises too; any other
    warning from scipy is accepted only if the relative residual
    `||A X + X A^H + Q||_F / (2 ||A||_F ||X||_F + ||Q||_F)` is at most `RTOL_RESIDUAL = 1e-8`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.lyapunov import lyap
    >>> A = np.array([[-1.0 + 2.0j, 3.0], [0.0, -0.5j - 2.0]]); Q = np.eye(2)
    >>> X = lyap(A, Q)
    >>> bool(np.allclose(A @ X + X @ A.conj().T + Q, 0, atol=1e-14))
    True
    >>> lam = np.array([-1.0, -2.0 + 1.0j])
    >>> bool(np.allclose(lyap(lam, Q), lyap(np.diag(lam), Q), rtol=1e-13))
    True
    """
    A = state_matrix(A)
    N = A.shape[0]
    Q = _weight(Q, N, A.shape)
    rtol = check_real(rtol, "rtol", 0.0, 1.0, open_hi=True, error=ParameterError)
    if A.ndim == 1:
        return _diagonal(A, Q, discrete=False)
    lam = np.linalg.eigvals(A) if N else np.zeros(0)
    gap = lam[:, None] + lam.conj()[None, :]
    bad = np.abs(gap) <= rtol * np.linalg.norm(A)
    if np.any(bad):
        _raise_pairs("continuous", lam, bad, gap)
    X = _scipy_solve(
        scipy.linalg.solve_continuous_lyapunov,
        A,
        -Q,
        lambda X: A @ X + X @ A.conj().T + Q,
        2 * np.linalg.norm(A),
        "continuous",
        f"|lam_i + conj(lam_j)| = {np.min(np.abs(gap)) if N else 0:.3g}",
    )
    return _finite_or_raise(X, "continuous", lam, gap) if N else X


def dlyap(A, Q, *, rtol=RTOL_SINGULAR):
    """Solve the discrete Lyapunov (Stein) equation `A X A^H - X + Q = 0`.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal `A = diag(A)`
        Real or complex.
    Q : array, shape (N, N)
        Real or complex; it need not be Hermitian (X is Hermitian when Q is).
    rtol : float, keyword-only
        Relative tolerance of the no-unique-solution test for a dense A (Notes).

    Returns
    -------
    X : ndarray, shape (N, N)
        Real if A and Q are real, complex otherwise.

    Raises
    ------
    SingularSystemError
        If `mu_i conj(mu_j) = 1` for eigenvalues `mu_i, mu_j` of A (no unique solution);
        the message names the pair.
    ShapeError, NonFiniteError, InputTypeError

    Notes
    -----
    Conventions: python-control's `control.dlyap(A, Q)` solves `A X A^T - X + Q = 0`
    (the same for real A); scipy's `solve_discrete_lyapunov(a, q)` solves this very
    equation. Theorem 1's `Ab^H P Ab - P = -Q` is `P = dlyap(Ab^H, Q)`.

    Dense A: `scipy.linalg.solve_discrete_lyapunov` (a Kronecker solve for N < 10, else the
    bilinear transform to a continuous equation, which inverts `A + I`; O(N^3)). The
    equation is unchanged by `A -> e^{i theta} A`, so when an eigenvalue of A lies within
    1/4 of -1 (where `A + I` is ill-conditioned) A is first multiplied by -1 or by the
    phase that centres the widest angular gap of its spectrum on -1. A pair of computed
    eigenvalues with `|1 - mu_i conj(mu_j)| <= rtol max(1, ||A||_F^2)` is singular
    (eigenvalue errors are of order `eps ||A||`). A warning from scipy (an ill-conditioned
    `A + I` or Kronecker system, or trsyl's singular pair) raises unless the relative
    residual `||A X A^H - X + Q||_F / ((1 + ||A||_F^2) ||X||_F + ||Q||_F)` is at most
    `RTOL_RESIDUAL = 1e-8` (trsyl's always raises).

    Diagonal `A = diag(mu)`: `X_ij = Q_ij / (1 - mu_i conj(mu_j))`, O(N^2); an entry is
    as accurate as the rounding of `mu_i conj(mu_j)` allows, i.e. relative error about
    `eps / |1 - mu_i conj(mu_j)|`, the conditioning of X_ij in mu itself. A pair with
    `|1 - mu_i conj(mu_j)| <= 8 eps (1 + |mu_i mu_j|)` (within rounding of 1) is singular.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.lyapunov import dlyap
    >>> A = np.array([[0.5j, 1.0], [0.0, -0.3]]); Q = np.array([[2.0, 1j], [-1j, 1.0]])
    >>> X = dlyap(A, Q)
    >>> bool(np.allclose(A @ X @ A.conj().T - X + Q, 0, atol=1e-14))
    True
    >>> mu = np.array([0.9, 0.5 + 0.5j])
    >>> bool(np.allclose(dlyap(mu, Q), dlyap(np.diag(mu), Q), rtol=1e-13))
    True
    """
    A = state_matrix(A)
    N = A.shape[0]
    Q = _weight(Q, N, A.shape)
    rtol = check_real(rtol, "rtol", 0.0, 1.0, open_hi=True, error=ParameterError)
    if A.ndim == 1:
        return _diagonal(A, Q, discrete=True)
    if N == 0:
        return np.zeros((0, 0), dtype=np.result_type(A, Q))
    mu = np.linalg.eigvals(A)
    gap = 1.0 - mu[:, None] * mu.conj()[None, :]
    scale = max(1.0, np.linalg.norm(A) ** 2)
    bad = np.abs(gap) <= rtol * scale
    if np.any(bad):
        _raise_pairs("discrete", mu, bad, gap)
    real = not (np.iscomplexobj(A) or np.iscomplexobj(Q))
    As = A if N < 10 else A * _phase_away_from_minus_one(mu, real)
    X = _scipy_solve(
        scipy.linalg.solve_discrete_lyapunov,
        As,
        Q,
        lambda X: A @ X @ A.conj().T - X + Q,
        1 + np.linalg.norm(A) ** 2,
        "discrete",
        f"|1 - mu_i conj(mu_j)| = {np.min(np.abs(gap)):.3g}",
    )
    if real:
        X = X.real  # A and Q real: X is real; a rotation only made the arithmetic complex
    return _finite_or_raise(X, "discrete", mu, gap)


# -- diagonal closed forms --------------------------------------------------------------------


def _diagonal(ev, Q, discrete):
    """`X = Q / D` elementwise, `D_ij = 1 - ev_i conj(ev_j)` or `-(ev_i + conj(ev_j))`.

    One compiled pass (no N x N temporaries) computes X and counts the singular pairs and the
    entries where `1/|D|^2` could over/underflow; if there are any, the plain numpy
    `_diagonal_reference` redoes the work and raises or divides carefully.
    """
    N = ev.shape[0]
    r = np.abs(ev)
    Q = np.ascontiguousarray(Q)  # one compiled signature per dtype
    if not (np.iscomplexobj(ev) or np.iscomplexobj(Q)):
        X = np.empty((N, N))
        kernel = _stein_real if discrete else _lyap_real
        bad, unsafe = kernel(ev, r, Q, X, _DIAG_TOL)
    else:
        X = np.empty((N, N), dtype=np.complex128)
        kernel = _stein_complex if discrete else _lyap_complex
        evc = ev.astype(np.complex128)
        bad, unsafe = kernel(evc.real.copy(), evc.imag.copy(), r, Q, X, _DIAG_TOL)
    if bad or unsafe:
        return _diagonal_reference(ev, Q, discrete)
    return X


def _diagonal_reference(ev, Q, discrete):
    """Plain numpy closed form (also the fallback): singular pairs raise, overflow raises."""
    if discrete:
        prod = ev[:, None] * ev.conj()[None, :]
        den = 1.0 - prod
        bad = np.abs(den) <= _DIAG_TOL * (1.0 + np.abs(prod))
    else:
        den = -(ev[:, None] + ev.conj()[None, :])
        bad = np.abs(den) <= _DIAG_TOL * (np.abs(ev)[:, None] + np.abs(ev)[None, :])
    kind = "discrete" if discrete else "continuous"
    gap = den if discrete else -den
    if np.any(bad):
        _raise_pairs(kind, ev, bad, gap)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        X = Q / den
    return _finite_or_raise(X, kind, ev, gap)


_JIT = dict(cache=True, nogil=True, error_model="numpy")  # serial: one pass is memory-bound


@numba.njit(**_JIT)
def _stein_complex(er, ei, r, Q, X, tol):  # pragma: no cover - compiled
    """`X_ij = Q_ij / (1 - mu_i conj(mu_j))`, `mu = er + i ei`; returns (singular, unsafe) counts."""
    N = er.shape[0]
    bad = 0
    unsafe = 0
    for i in range(N):
        ar, ai, ri = er[i], ei[i], r[i]
        for j in range(N):
            dr = 1.0 - (ar * er[j] + ai * ei[j])
            di = ar * ei[j] - ai * er[j]
            s = tol * (1.0 + ri * r[j])
            n2 = dr * dr + di * di
            inv = 1.0 / n2
            q = Q[i, j]
            qr, qi = q.real, q.imag
            X[i, j] = complex((qr * dr + qi * di) * inv, (qi * dr - qr * di) * inv)
            bad += n2 <= s * s
            unsafe += (n2 < 1e-290) + ((qr * qr + qi * qi) * 1e-290 > n2)
    return bad, unsafe


@numba.njit(**_JIT)
def _lyap_complex(er, ei, r, Q, X, tol):  # pragma: no cover - compiled
    """`X_ij = -Q_ij / (lam_i + conj(lam_j))`, `lam = er + i ei`; returns (singular, unsafe) counts."""
    N = er.shape[0]
    bad = 0
    unsafe = 0
    for i in range(N):
        ar, ai, ri = er[i], ei[i], r[i]
        for j in range(N):
            dr = -(ar + er[j])
            di = ei[j] - ai
            s = tol * (ri + r[j])
            n2 = dr * dr + di * di
            inv = 1.0 / n2
            q = Q[i, j]
            qr, qi = q.real, q.imag
            X[i, j] = complex((qr * dr + qi * di) * inv, (qi * dr - qr * di) * inv)
            bad += n2 <= s * s
            unsafe += (n2 < 1e-290) + ((qr * qr + qi * qi) * 1e-290 > n2)
    return bad, unsafe


@numba.njit(**_JIT)
def _stein_real(mu, r, Q, X, tol):  # pragma: no cover - compiled
    """Real `X_ij = Q_ij / (1 - mu_i mu_j)`; returns (singular, unsafe) counts."""
    N = mu.shape[0]
    bad = 0
    unsafe = 0
    for i in range(N):
        a, ri = mu[i], r[i]
        for j in range(N):
            d = 1.0 - a * mu[j]
            q = Q[i, j]
            X[i, j] = q / d
            bad += abs(d) <= tol * (1.0 + ri * r[j])
            unsafe += abs(q) * 1e-145 > abs(d)
    return bad, unsafe


@numba.njit(**_JIT)
def _lyap_real(lam, r, Q, X, tol):  # pragma: no cover - compiled
    """Real `X_ij = -Q_ij / (lam_i + lam_j)`; returns (singular, unsafe) counts."""
    N = lam.shape[0]
    bad = 0
    unsafe = 0
    for i in range(N):
        a, ri = lam[i], r[i]
        for j in range(N):
            d = -(a + lam[j])
            q = Q[i, j]
            X[i, j] = q / d
            bad += abs(d) <= tol * (ri + r[j])
            unsafe += abs(q) * 1e-145 > abs(d)
    return bad, unsafe


def _scipy_solve(solver, a, q, residual, op_norm, kind, smallest):
    """Call a scipy solver; a warning from LAPACK is judged rather than passed on or ignored.

    trsyl's "eigenvalue pair whose sum is very close to zero" means the equation is singular:
    raise. Another RuntimeWarning (scipy's LinAlgWarning from an ill-conditioned `inv` or
    `solve`) is accepted only if the relative residual
    `||R||_F / (op_norm ||X||_F + ||Q||_F)` is at most `RTOL_RESIDUAL`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        X = solver(a, q)
    caught = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if not caught:
        return X
    msg = str(caught[0].message)
    if all("eigenvalue pair" not in str(w.message) for w in caught):
        with np.errstate(all="ignore"):
            res = np.linalg.norm(residual(X)) / (op_norm * np.linalg.norm(X) + np.linalg.norm(q))
        if np.isfinite(res) and res <= RTOL_RESIDUAL:
            return X
        msg += f" (relative residual {res:.3g} > {RTOL_RESIDUAL:g})"
    raise SingularSystemError(
        f"the {kind} Lyapunov equation is numerically singular: LAPACK reports: {msg}. Smallest computed "
        f"{smallest}. Expected eigenvalue pairs clearly away from the singular set (a stable system)."
    )


def _phase_away_from_minus_one(mu, real):
    """A unit factor `s` keeping the eigenvalues of `s A` at least 1/4 from -1, if it can.

    `s = 1` or `-1` when that suffices (keeps real arithmetic); otherwise the phase that puts
    the middle of the widest gap between the eigenvalue arguments on -1 (the best of the three).
    """
    dist = lambda s: float(np.min(np.abs(s * mu + 1.0)))  # noqa: E731
    if dist(1.0) >= 0.25:
        return 1.0
    if dist(-1.0) >= 0.25:
        return -1.0
    ang = np.sort(np.angle(mu))
    gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
    k = int(np.argmax(gaps))
    centre = ang[k] + gaps[k] / 2
    cands = [1.0, -1.0, np.exp(1j * (np.pi - centre))]
    return max(cands, key=dist)


# -- the P of Theorem 1 ---------------------------------------------------------------------


def lyapunov_matrix(Ab, Q=None, discrete=True):
    """The P of Theorem 1: `Ab^H P Ab - P = -Q` (discrete) or `A^H P + P A = -Q` (continuous).

    P is Hermitian positive definite and `L_e = e^H P e` is a Lyapunov function of the error
    system (docs/theory.md §4).

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal
        The discrete `Ab` (`discrete=True`, spectral radius < 1) or the continuous `A`
        (`discrete=False`, Hurwitz: every `Re(lambda) < 0`).
    Q : array, shape (N, N), optional
        Hermitian positive definite weight; the identity if None.
    discrete : bool
        Which equation.

    Returns
    -------
    P : ndarray, shape (N, N)
        Hermitian (symmetrised as `(P + P^H)/2`) and positive definite; real if Ab and Q
        are real.

    Raises
    ------
    UnstableSystemError
        If `rho(Ab) >= 1` (discrete) or `max Re(lambda) >= 0` (continuous); the message
        gives the value. Also if the computed P is not positive definite (the system is at
        the edge of stability or too non-normal for float64).
    ParameterError
        If Q is not Hermitian (relative tolerance 1e-10 in the Frobenius norm) or not
        positive definite.
    ShapeError, NonFiniteError, SingularSystemError

    Notes
    -----
    `P = dlyap(Ab^H, Q)` and `P = lyap(A^H, Q)` (for a diagonal, `dlyap(conj(mu), Q)`
    and `lyap(conj(lam), Q)`: docs/theory.md §7's `Q_ij / (1 - conj(mu_i) mu_j)` and
    `-Q_ij / (conj(lam_i) + lam_j)`). A diagonal Ab with a diagonal (or absent) Q gives a
    diagonal P in O(N^2); otherwise positive definiteness is checked by a Cholesky
    factorisation, O(N^3).

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.lyapunov import lyapunov_matrix
    >>> Ab = np.array([[0.9, 2.0], [0.0, 0.5]])
    >>> P = lyapunov_matrix(Ab)
    >>> bool(np.allclose(Ab.T @ P @ Ab - P, -np.eye(2)))
    True
    >>> P = lyapunov_matrix(np.array([-1.0 + 1.0j, -3.0]), discrete=False)
    >>> np.diag(P).real  # 1 / (2 |Re lam|)
    array([0.5       , 0.16666667])
    """
    discrete = check_bool(discrete, "discrete")
    Ab = state_matrix(Ab, "Ab" if discrete else "A")
    N = Ab.shape[0]
    Q = np.eye(N) if Q is None else check_weight(Q, N, Ab.shape)
    ev = Ab if Ab.ndim == 1 else (np.linalg.eigvals(Ab) if N else np.zeros(0))
    require_stable(ev, discrete)
    if Ab.ndim == 1:
        P = dlyap(Ab.conj(), Q) if discrete else lyap(Ab.conj(), Q)
    else:
        AH = Ab.conj().T
        P = dlyap(AH, Q) if discrete else lyap(AH, Q)
    P = 0.5 * (P + P.conj().T)
    if Ab.ndim == 1 and np.count_nonzero(Q - np.diag(np.diag(Q))) == 0:
        ok = bool(np.all(np.diag(P).real > 0))
    else:
        try:
            np.linalg.cholesky(P)
            ok = True
        except np.linalg.LinAlgError:
            ok = False
    if not ok:
        what = "rho(Ab)" if discrete else "max Re(lambda)"
        val = float(np.max(np.abs(ev))) if discrete else float(np.max(ev.real))
        raise UnstableSystemError(
            f"the computed Lyapunov matrix P is not positive definite although {what} = {val!r} "
            "indicates stability: the system is at the edge of stability or so non-normal that P "
            "is too ill-conditioned for float64. Expected a clearly stable system; check dt and method."
        )
    return P


def check_weight(Q, N, a_shape=None):
    """Return Q (N, N) after checking it is Hermitian positive definite (ParameterError if not)."""
    Q = _weight(Q, N, a_shape if a_shape is not None else (N, N))
    asym = np.linalg.norm(Q - Q.conj().T)
    if asym > RTOL_HERMITIAN * np.linalg.norm(Q):
        raise ParameterError(
            f"Q must be Hermitian (Q = Q^H); found ||Q - Q^H||_F / ||Q||_F = {asym / np.linalg.norm(Q):.3g} "
            f"(tolerance {RTOL_HERMITIAN:g}). Use (Q + Q^H)/2 if the asymmetry is rounding."
        )
    lmin = float(np.linalg.eigvalsh(Q)[0]) if N else np.inf
    if not lmin > 0:
        raise ParameterError(
            f"Q must be positive definite; found lambda_min(Q) = {lmin!r}. Use e.g. Q = I or M^H M + eps I."
        )
    return Q
