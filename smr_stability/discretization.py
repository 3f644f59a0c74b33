"""Discretization of continuous SSMs: `(A, B, dt) -> (Ab, Bb)` (docs/theory.md §1).

| method | Ab | Bb |
|---|---|---|
| `zoh` | `exp(dt A)` | `A^{-1}(exp(dt A) - I) B` |
| `bilinear` | `(I - dt/2 A)^{-1}(I + dt/2 A)` | `(I - dt/2 A)^{-1} dt B` |
| `gbt` (alpha) | `(I - a dt A)^{-1}(I + (1-a) dt A)` | `(I - a dt A)^{-1} dt B` |
| `euler` | gbt with alpha = 0 | (forward Euler) |
| `backward_diff` | gbt with alpha = 1 | (backward Euler) |
| `selective` | `exp(dt A)` | `dt B` (S6 / Mamba) |

`tustin` is an alias of `bilinear` and `forward_diff` of `euler`, as in scipy.
C and D are not transformed (the deep-SSM convention).
"""

import numpy as np
import scipy.linalg

from ._validation import METHODS, as_array, as_step, check_shape, resolve_method, state_matrix
from .errors import NonFiniteError, SingularSystemError

__all__ = ["discretize", "eigenvalue_map", "METHODS"]


def _expm1(z):
    """`exp(z) - 1` accurate for small complex `z` (numpy's complex expm1 is not)."""
    if not np.iscomplexobj(z):
        return np.expm1(z)
    x, y = z.real, z.imag
    re = np.expm1(x) * np.cos(y) - 2.0 * np.sin(0.5 * y) ** 2
    im = np.exp(x) * np.sin(y)
    return re + 1j * im


def phi1(z):
    """`phi1(z) = (exp(z) - 1) / z`, elementwise, accurate at and near `z = 0`.

    Parameters
    ----------
    z : ndarray, real or complex

    Returns
    -------
    ndarray, shape and dtype of `z`
        A Taylor series for `|z| < 1e-5` (error < 1e-26, no 1/z overflow).
    """
    out = 1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0
    big = np.abs(z) >= 1e-5
    out[big] = _expm1(z[big]) / z[big]
    return out


def eigenvalue_map(z, method="zoh", alpha=None):
    """Where a discretization sends a continuous eigenvalue: `mu = phi(z)` with `z = dt * lambda`.

    Parameters
    ----------
    z : array_like, any shape, real or complex
        The products `dt * lambda`.
    method : str
        One of `METHODS`.
    alpha : float, optional
        Only for `method='gbt'`.

    Returns
    -------
    mu : ndarray, same shape as `z`
        zoh/selective `exp(z)`; gbt `(1 + (1 - alpha) z) / (1 - alpha z)` (bilinear
        `(1 + z/2)/(1 - z/2)`, Euler `1 + z`, backward Euler `1/(1 - z)`).

    Raises
    ------
    SingularSystemError
        If `1 - alpha z = 0` for some entry.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import eigenvalue_map
    >>> z = -0.5 + 0j
    >>> bool(np.isclose(eigenvalue_map(z, "bilinear"), (1 + z / 2) / (1 - z / 2)))
    True
    """
    kind, a = resolve_method(method, alpha)
    z = as_array(z, "z")
    if kind in ("zoh", "selective"):
        return np.exp(z)
    den = gbt_denominator(z, a)
    return (1.0 + (1.0 - a) * z) / den


def gbt_denominator(z, a):
    """`1 - a z`, the denominator of the gbt family, after checking that it is not zero.

    Parameters
    ----------
    z : array_like
        The products `dt * lambda`.
    a : float
        The gbt `alpha`.

    Returns
    -------
    ndarray, shape of `z`

    Raises
    ------
    SingularSystemError
        If `|1 - a z|` is at rounding level for some entry (`dt * lambda = 1/alpha`).
    """
    den = 1.0 - a * z
    if np.any(np.abs(den) <= 8 * np.finfo(float).eps * np.maximum(1.0, np.abs(a * z))):
        raise SingularSystemError(
            f"I - alpha*dt*A is singular (alpha={a}): dt*lambda = 1/alpha for some eigenvalue lambda. "
            "Choose another dt or method."
        )
    return den


def discretize(A, B, dt, method="zoh", alpha=None):
    """Discretize `dx/dt = A x + B u` with step `dt`: return `(Ab, Bb)`.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal `A = diag(A)`
        Continuous state matrix, real or complex.
    B : array, shape (N, P) or (N,)
        Continuous input matrix.
    dt : float or array of shape S
        Positive finite step(s). An array gives results stacked along leading dimensions
        `S` (per step for variable-step sampling, per channel, per batch).
    method : {'zoh', 'bilinear', 'tustin', 'euler', 'forward_diff', 'backward_diff', 'gbt', 'selective'}
        See the module table.
    alpha : float in [0, 1], optional
        Required for (and only for) `method='gbt'`.

    Returns
    -------
    Ab : ndarray, shape S + (N, N), or S + (N,) for a diagonal `A`
    Bb : ndarray, shape S + B.shape

    Raises
    ------
    ShapeError, NonFiniteError, StepSizeError, MethodError, AlphaError, SingularSystemError
        `NonFiniteError` also when `exp(dt A)` overflows float64.

    Notes
    -----
    zoh computes `Bb` as the top-right block of `expm(dt [[A, B], [0, 0]])` (dense) or as
    `dt * phi1(dt lambda) * B` with `phi1(z) = (exp(z) - 1)/z` (diagonal), so a singular
    `A` works. Dense gbt solves with `I - alpha dt A` (LU). Cost: O(N^3) per step dense,
    O(N P) diagonal. `Ab, Bb` agree with `scipy.signal.cont2discrete` and
    `control.sample_system`; those two also transform C and D for bilinear/gbt (here C and D
    are left unchanged, docs/theory.md §0).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import expm
    >>> from smr_stability import discretize
    >>> A = np.array([[-1.0, 2.0], [0.0, -3.0]]); B = np.array([[1.0], [1.0]])
    >>> Ab, Bb = discretize(A, B, 0.1)
    >>> bool(np.allclose(Ab, expm(0.1 * A)))
    True
    >>> Ab, Bb = discretize(np.array([-1.0, -3.0]), np.ones(2), [0.1, 0.2], method="bilinear")
    >>> Ab.shape, Bb.shape
    ((2, 2), (2, 2))
    """
    kind, a = resolve_method(method, alpha)
    A = state_matrix(A)
    N = A.shape[0]
    B = as_array(B, "B", ndim=(1, 2))
    check_shape(B, (N,) + (None,) * (B.ndim - 1), f"B (N = {N} rows, as A)")
    dt = as_step(dt)
    if A.ndim == 1:
        return _discretize_diagonal(A, B, dt, kind, a)
    return _discretize_dense(A, B, dt, kind, a)


def _discretize_diagonal(lam, B, dt, kind, a):
    d = dt[..., None]  # S + (1,)
    z = d * lam  # S + (N,)
    if kind == "zoh":
        Ab, scale = np.exp(z), d * phi1(z)
    elif kind == "selective":
        Ab, scale = np.exp(z), np.broadcast_to(d, z.shape)
    else:
        den = gbt_denominator(z, a)
        Ab, scale = (1.0 + (1.0 - a) * z) / den, d / den
    Bb = scale[..., None] * B if B.ndim == 2 else scale * B
    return _check_overflow(Ab, Bb, z)


def _discretize_dense(A, B, dt, kind, a):
    N = A.shape[0]
    B2 = B[:, None] if B.ndim == 1 else B
    P = B2.shape[1]
    d = dt[..., None, None]  # S + (1, 1)
    dtype = np.result_type(A, B2)
    if kind == "zoh":
        M = np.zeros(dt.shape + (N + P, N + P), dtype=dtype)
        M[..., :N, :N] = d * A
        M[..., :N, N:] = d * B2
        E = scipy.linalg.expm(M)
        Ab, Bb = E[..., :N, :N], E[..., :N, N:]
    elif kind == "selective":
        Ab = scipy.linalg.expm(d * A)
        Bb = d * B2
    else:
        I = np.eye(N)
        lhs = I - a * d * A
        rhs = np.concatenate(
            [np.broadcast_to(I + (1.0 - a) * d * A, lhs.shape), np.broadcast_to(d * B2, dt.shape + (N, P))], axis=-1
        )
        _check_conditioning(lhs, a)
        sol = np.linalg.solve(lhs, rhs)
        Ab, Bb = sol[..., :N], sol[..., N:]
    Bb = Bb[..., 0] if B.ndim == 1 else Bb
    z = d[..., 0] * np.linalg.eigvals(A) if kind != "gbt" else 0.0
    return _check_overflow(np.ascontiguousarray(Ab), np.ascontiguousarray(Bb), z)


def _check_overflow(Ab, Bb, z):
    """Raise instead of returning inf/nan when exp(dt A) overflows (dt * Re(lambda) > ~709)."""
    if np.all(np.isfinite(Ab)) and np.all(np.isfinite(Bb)):
        return Ab, Bb
    worst = float(np.max(np.real(z))) if np.size(z) else float("nan")
    raise NonFiniteError(
        f"the discretization overflowed (max dt*Re(lambda) = {worst:.3g}): exp(dt*A) is not representable "
        "in float64. Expected an unstable mode with dt*Re(lambda) below about 700; use a smaller dt."
    )


def _check_conditioning(lhs, a):
    cond = np.linalg.cond(lhs)
    if not np.all(np.isfinite(cond)) or np.any(cond > 1e14):
        worst = float(np.max(np.where(np.isfinite(cond), cond, np.inf)))
        raise SingularSystemError(
            f"I - alpha*dt*A is singular or nearly so (alpha={a}, condition number {worst:.3g}): "
            "dt*lambda is close to 1/alpha for an eigenvalue lambda of A. Choose another dt or method."
        )
