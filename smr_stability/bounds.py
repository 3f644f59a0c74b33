"""Eigenvalue, transient and Theorem 1 bounds (docs/theory.md §4, §6).

* where the eigenvalues go: [`spectral_radius`][smr_stability.bounds.spectral_radius],
  [`discrete_eigenvalues`][smr_stability.bounds.discrete_eigenvalues],
  [`discrete_spectral_radius`][smr_stability.bounds.discrete_spectral_radius] (vectorised over dt),
  [`euler_dt_limit`][smr_stability.bounds.euler_dt_limit];
* how large `||Ab^k||_2` can get before it decays, bracketed as
  `kreiss_constant(Ab) <= sup_k ||Ab^k||_2 <= transient_bound(Ab)`;
* the constants of Theorem 1: [`gamma_star`][smr_stability.bounds.gamma_star] (discrete),
  [`continuous_threshold`][smr_stability.bounds.continuous_threshold] and
  [`envelope_rate`][smr_stability.bounds.envelope_rate] (both forms).

HiPPO-LegS (S4) is strongly non-normal but dissipative in the 2-norm,
`A + A^T = -(r r^T + I)` with `r_n = sqrt(2n + 1)`: zoh gives `||Ab||_2 = e^{-dt/2}` and
bilinear and backward Euler `||Ab||_2 <= 1`, so `sup_k ||Ab^k||_2 = K(Ab) = 1` there;
forward Euler below its stability limit has `rho < 1 < ||Ab||_2` and does grow first.

Shape legend: N state, P inputs. `Ab` (or `A`) is dense (N, N) or the vector (N,) of a
diagonal; `Bb` (or `B`) is (N, P) or (N,). Norms are spectral norms. Theorem 1's P comes
from [`smr_stability.lyapunov.lyapunov_matrix`][smr_stability.lyapunov.lyapunov_matrix] (`Ab^H P Ab - P = -Q`, or
`A^H P + P A = -Q`).
"""

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ._validation import (
    as_step,
    check_bool,
    check_int,
    check_real,
    input_matrix,
    require_stable,
    resolve_method,
    state_matrix,
)
from .discretization import eigenvalue_map
from .errors import ParameterError, ShapeError
from .lyapunov import check_weight, lyapunov_matrix

__all__ = [
    "spectral_radius",
    "discrete_eigenvalues",
    "discrete_spectral_radius",
    "euler_dt_limit",
    "transient_bound",
    "KreissResult",
    "kreiss_constant",
    "GammaStar",
    "gamma_star",
    "continuous_threshold",
    "envelope_rate",
]


def eigenvalues(A):
    """The eigenvalues (N,) of a validated state matrix: `A` itself if diagonal (N,), else of (N, N)."""
    return A if A.ndim == 1 else (np.linalg.eigvals(A) if A.shape[0] else np.zeros(0, complex))


def _sigma(sigma):
    """Theorem 1's sigma in (0, 1), checked; ParameterError otherwise."""
    name = "sigma (the fraction of the decrease the disturbance may use)"
    return check_real(sigma, name, 0.0, 1.0, open_lo=True, open_hi=True, error=ParameterError)


def _nonempty(A, name):
    if A.shape[0] == 0:
        raise ShapeError(f"{name} must have at least one state (N >= 1); found shape {A.shape}.")


def _lambda_min_Q(Q, N):
    return 1.0 if Q is None else float(np.linalg.eigvalsh(check_weight(Q, N))[0])


def _lambda_max_P(P):
    if np.count_nonzero(P - np.diag(np.diag(P))) == 0:
        return float(np.max(np.diag(P).real))
    return float(np.linalg.eigvalsh(P)[-1])


# -- where the eigenvalues go -----------------------------------------------------------------


def spectral_radius(Ab):
    """`rho(Ab) = max_i |mu_i|`, the paper's "lambda_max"; NSS risk when `rho >= 1`.

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal

    Returns
    -------
    rho : float
        0.0 for N = 0.

    Examples
    --------
    >>> from smr_stability.bounds import spectral_radius
    >>> spectral_radius([[0.5, 10.0], [0.0, -0.9]])
    0.9
    """
    ev = eigenvalues(state_matrix(Ab, "Ab"))
    return float(np.max(np.abs(ev))) if ev.size else 0.0


def discrete_eigenvalues(A, dt, method="zoh", alpha=None):
    """Eigenvalues `mu = phi(dt lambda)` of the discretized `Ab`, for every step in `dt`.

    By the spectral mapping theorem the eigenvalues of `Ab` are `phi(dt lambda_i)` for
    every method of [`smr_stability.discretize`][smr_stability.discretization.discretize] (`phi` is
    [`eigenvalue_map`][smr_stability.discretization.eigenvalue_map]), so no matrix is discretized.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal
        Continuous state matrix.
    dt : float or array, shape S
        Positive steps.
    method, alpha
        As in [`smr_stability.discretize`][smr_stability.discretization.discretize].

    Returns
    -------
    mu : ndarray, shape S + (N,)
    """
    resolve_method(method, alpha)
    lam = eigenvalues(state_matrix(A, "A"))
    dt = as_step(dt)
    return eigenvalue_map(dt[..., None] * lam, method, alpha)


def discrete_spectral_radius(A, dt, method="zoh", alpha=None):
    """`rho(Ab(dt)) = max_i |phi(dt lambda_i)|` as a function of the step, vectorised over dt.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal
    dt : float or array, shape S
    method, alpha
        As in [`smr_stability.discretize`][smr_stability.discretization.discretize].

    Returns
    -------
    rho : ndarray, shape S (0-d for a scalar dt)

    Examples
    --------
    Forward Euler leaves the unit disk at `dt = -2 Re(lambda)/|lambda|^2` (here 1); zoh never:

    >>> import numpy as np
    >>> from smr_stability.bounds import discrete_spectral_radius
    >>> discrete_spectral_radius([-1.0 + 1.0j], [0.5, 1.0, 1.5], "euler") ** 2
    array([0.5, 1. , 2.5])
    >>> bool(np.all(discrete_spectral_radius([-1.0 + 1.0j], [0.5, 1.0, 1.5], "zoh") < 1))
    True
    """
    mu = discrete_eigenvalues(A, dt, method, alpha)
    if mu.shape[-1] == 0:
        return np.zeros(mu.shape[:-1])
    return np.max(np.abs(mu), axis=-1)


def euler_dt_limit(A):
    """Largest stable forward-Euler step: `min_i -2 Re(lambda_i) / |lambda_i|^2` for Hurwitz A.

    `|1 + dt lambda| < 1` iff `0 < dt < -2 Re(lambda)/|lambda|^2` (docs/theory.md §1), so
    `rho(I + dt A) < 1` exactly for dt below the returned value.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal

    Returns
    -------
    dt_max : float

    Raises
    ------
    UnstableSystemError
        If some `Re(lambda) >= 0` (no step is stable); the message gives `max Re(lambda)`.
    ShapeError, NonFiniteError

    Examples
    --------
    >>> from smr_stability.bounds import euler_dt_limit
    >>> euler_dt_limit([-1.0 + 1.0j, -4.0])
    0.5
    """
    A = state_matrix(A, "A")
    _nonempty(A, "A")
    lam = eigenvalues(A)
    require_stable(lam, discrete=False)
    return float(np.min(-2.0 * lam.real / np.abs(lam) ** 2))


# -- transient growth ---------------------------------------------------------------------


def transient_bound(Ab, Q=None):
    """Upper bound `sqrt(kappa(P)) >= sup_k ||Ab^k||_2` with `Ab^H P Ab - P = -Q`.

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal
        Stable: `rho(Ab) < 1`.
    Q : array, shape (N, N), optional
        Hermitian positive definite; the identity (docs/theory.md §6) if None. Any such Q gives a
        valid bound.

    Returns
    -------
    bound : float
        `sqrt(lambda_max(P) / lambda_min(P)) >= 1`.

    Raises
    ------
    UnstableSystemError
        If `rho(Ab) >= 1`.
    ShapeError, NonFiniteError, ParameterError

    Notes
    -----
    `Ab^H P Ab = P - Q <= P`, so `||x||_P = sqrt(x^H P x)` does not increase along
    `x_{k+1} = Ab x_k` and `lambda_min(P) ||Ab^k x||^2 <= ||Ab^k x||_P^2 <= ||x||_P^2 <=
    lambda_max(P) ||x||^2`. For a diagonal `Ab = diag(mu)` and `Q = I`,
    `P = diag(1 / (1 - |mu_i|^2))` and the bound is the closed form
    `sqrt((1 - rho_min^2) / (1 - rho_max^2))`, O(N), with `rho_min = min |mu_i|`; it is not
    sharp there, since a normal matrix has `sup_k ||Ab^k|| = 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.bounds import transient_bound
    >>> float(transient_bound([0.0, 0.8]))  # sqrt(1 / (1 - 0.64))
    1.6666666666666667
    """
    Ab = state_matrix(Ab, "Ab")
    _nonempty(Ab, "Ab")
    if Ab.ndim == 1 and Q is None:
        r = np.abs(Ab)
        require_stable(Ab, discrete=True)
        g = (1.0 - r) * (1.0 + r)  # 1 - |mu|^2 without cancellation
        return float(np.sqrt(np.max(g) / np.min(g)))
    ev = np.linalg.eigvalsh(lyapunov_matrix(Ab, Q, discrete=True))
    return float(np.sqrt(ev[-1] / ev[0]))


@dataclass(frozen=True)
class KreissResult:
    """Where [`kreiss_constant`][smr_stability.bounds.kreiss_constant] found its value.

    Attributes
    ----------
    value : float
        `(|z| - 1) ||(z I - Ab)^{-1}||_2` at `z`: a lower bound on the Kreiss constant
        and on `sup_k ||Ab^k||_2`.
    z : complex
        The point `|z| > 1` attaining `value`; `inf` for the limit `|z| -> inf`
        (value 1).
    evaluations : int
        Number of resolvent norms computed.
    """

    value: float
    z: complex
    evaluations: int


def _resolvent_values(A, u, theta):
    """`f = u / sigma_min(I - w A)` at `w = (1 - u) e^{-i theta}`, for 1-D arrays u, theta."""
    N = A.shape[0]
    out = np.empty(u.shape)
    chunk = max(1, (1 << 21) // (N * N))  # about 32 MB of complex matrices at a time
    I = np.eye(N)
    for s in range(0, u.size, chunk):
        w = (1.0 - u[s : s + chunk]) * np.exp(-1j * theta[s : s + chunk])
        M = I - w[:, None, None] * A
        smin = np.linalg.svd(M, compute_uv=False)[:, -1]
        with np.errstate(divide="ignore"):
            out[s : s + chunk] = np.where(smin > 0, u[s : s + chunk] / smin, np.inf)
    return out


def kreiss_constant(Ab, *, n_radii=40, n_angles=96, refine=4, return_info=False):
    """Lower bound on the Kreiss constant `K(Ab) = sup_{|z|>1} (|z| - 1) ||(z I - Ab)^{-1}||_2`.

    The Kreiss matrix theorem gives `K(Ab) <= sup_k ||Ab^k||_2 <= e N K(Ab)`, so K
    measures the transient growth of a non-normal `Ab` from below, as
    [`transient_bound`][smr_stability.bounds.transient_bound] does from above.

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal
        Stable: `rho(Ab) < 1`.
    n_radii, n_angles : int, keyword-only
        Size of the starting polar grid (Notes).
    refine : int, keyword-only
        Number of best grid points refined by a local optimiser.
    return_info : bool, keyword-only
        Return a [`KreissResult`][smr_stability.bounds.KreissResult] (value, point z, evaluations) instead of the float.

    Returns
    -------
    K : float
        The largest value of `(|z| - 1) ||(z I - Ab)^{-1}||_2` found, `>= 1`. Every value
        of the objective is a lower bound on `K(Ab)`, hence on `sup_k ||Ab^k||_2`, whether
        or not the optimiser found the global maximum (up to the rounding of the singular
        values, about `eps ||I - w Ab||` absolutely).

    Raises
    ------
    UnstableSystemError
        If `rho(Ab) >= 1` (then K is infinite, or ill-determined on the circle).
    ShapeError, NonFiniteError, ParameterError

    Notes
    -----
    With `w = 1/z` (`|w| < 1`) the objective is
    `f(w) = (1 - |w|) / sigma_min(I - w Ab)`, continuous on the closed unit disk, 1 at
    `w = 0` (`|z| -> inf`) and 0 on `|w| = 1`. A diagonal (normal) Ab has
    `f = (|z| - 1) / min_i |z - mu_i| <= (|z| - 1)/(|z| - rho) < 1`, so `K = 1`,
    returned directly.
    Dense Ab: `f` is evaluated (batched SVDs) on a polar grid `w = (1 - u) e^{-i theta}`
    with `n_radii` values of `u = 1 - |w| = (|z| - 1)/|z|` spaced geometrically from
    `min(0.1, (1 - rho)/(10 N))` to 1, and `n_angles` uniform angles plus the arguments of
    the eigenvalues (only `theta` in `[0, pi]` for a real Ab, since `f(conj(w)) = f(w)`
    then); the `refine` best grid points then start Nelder-Mead searches in
    `(log u, theta)`. The best of all evaluations is returned. Cost
    `O((n_radii (n_angles + N) + 400 refine) N^3)`.

    References
    ----------
    Trefethen, Embree, "Spectra and Pseudospectra", Princeton 2005, ch. 18 (Kreiss matrix
    theorem, the bound `e N K` is Spijker's).

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.bounds import kreiss_constant
    >>> J = np.array([[0.5, 4.0], [0.0, 0.5]])
    >>> sup = max(np.linalg.norm(np.linalg.matrix_power(J, k), 2) for k in range(60))
    >>> K = kreiss_constant(J)
    >>> bool(1.0 < K <= sup <= np.e * 2 * K)
    True
    >>> kreiss_constant(np.array([0.9, -0.5j]))  # normal: K = 1
    1.0
    """
    for name, v, lo in (("n_radii", n_radii, 2), ("n_angles", n_angles, 1), ("refine", refine, 0)):
        check_int(v, name, lo, error=ParameterError)
    return_info = check_bool(return_info, "return_info")
    Ab = state_matrix(Ab, "Ab")
    _nonempty(Ab, "Ab")
    ev = eigenvalues(Ab)
    require_stable(ev, discrete=True)
    if Ab.ndim == 1:
        res = KreissResult(1.0, complex(np.inf, 0.0), 0)
        return res if return_info else res.value
    N = Ab.shape[0]
    rho = float(np.max(np.abs(ev)))
    real = not np.iscomplexobj(Ab)
    u_min = max(min(0.1, (1.0 - rho) / (10.0 * N)), 1e-14)
    u = np.geomspace(u_min, 1.0, n_radii)
    top = np.pi if real else 2 * np.pi
    theta = np.linspace(0.0, top, n_angles, endpoint=real)
    eig_ang = np.angle(ev)
    theta = np.unique(np.concatenate([theta, np.abs(eig_ang) if real else np.mod(eig_ang, 2 * np.pi)]))
    U, T = np.meshgrid(u, theta, indexing="ij")
    vals = _resolvent_values(Ab, U.ravel(), T.ravel())  # u = 1 is w = 0: f = 1 is on the grid
    count = vals.size
    best_v, best_ut = float(np.max(vals)), (float(U.ravel()[np.argmax(vals)]), float(T.ravel()[np.argmax(vals)]))

    def neg_f(x):
        nonlocal count, best_v, best_ut
        uu = float(np.exp(min(x[0], 0.0)))  # u <= 1, i.e. |w| >= 0
        v = float(_resolvent_values(Ab, np.array([uu]), np.array([x[1]]))[0])
        count += 1
        if v > best_v:
            best_v, best_ut = v, (uu, float(x[1]))
        return -v

    starts = np.argsort(vals)[::-1]
    seen = []
    for k in starts:
        if len(seen) >= refine:
            break
        x0 = (float(np.log(U.ravel()[k])), float(T.ravel()[k]))
        if any(abs(x0[0] - s[0]) < 1e-12 and abs(x0[1] - s[1]) < 1e-12 for s in seen):
            continue
        seen.append(x0)
        scipy.optimize.minimize(
            neg_f, x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13 * max(best_v, 1.0), "maxiter": 400}
        )
    uu, th = best_ut
    z = complex(np.inf, 0.0) if uu >= 1.0 else np.exp(1j * th) / (1.0 - uu)
    res = KreissResult(best_v, z, count)
    return res if return_info else res.value


# -- Theorem 1 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaStar:
    """The constants of Theorem 1 (discrete form) behind [`gamma_star`][smr_stability.bounds.gamma_star].

    Attributes
    ----------
    gamma : float
        `gamma*(sigma)`, the positive root of `b g^2 + 2 a g = sigma lambda_min(Q)`.
    a : float
        `||Ab^H P Bb||_2`.
    b : float
        `||Bb^H P Bb||_2`.
    lambda_min_Q : float
    lambda_max_P : float
    P : ndarray, shape (N, N)
        The solution of `Ab^H P Ab - P = -Q` (so callers need not solve for it again).
    """

    gamma: float
    a: float
    b: float
    lambda_min_Q: float
    lambda_max_P: float
    P: np.ndarray = None


def gamma_star(Ab, Bb, sigma, Q=None, *, return_info=False):
    """Largest relative disturbance gain `gamma*(sigma)` of Theorem 1, discrete form.

    For `e_{k+1} = Ab e_k + Bb w_k` (control convention), `Ab^H P Ab - P = -Q`,
    `a = ||Ab^H P Bb||_2`, `b = ||Bb^H P Bb||_2`: if `||w_k|| <= gamma ||e_k||` with
    `gamma <= gamma*`, then `L_e(k+1) - L_e(k) <= -(1 - sigma) lambda_min(Q) ||e_k||^2`
    (docs/theory.md §4), where `gamma*` is the positive root of
    `b g^2 + 2 a g = sigma lambda_min(Q)`.

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal
        Stable: `rho(Ab) < 1`.
    Bb : array, shape (N, P) or (N,)
    sigma : float in (0, 1)
    Q : array, shape (N, N), optional
        Hermitian positive definite; the identity if None.
    return_info : bool, keyword-only
        Return a [`GammaStar`][smr_stability.bounds.GammaStar] with `a`, `b`, `lambda_min(Q)`, `lambda_max(P)` and `P`.

    Returns
    -------
    gamma : float
        `inf` if `Bb = 0` (no disturbance enters).

    Raises
    ------
    ParameterError
        If sigma is outside (0, 1), or Q is not Hermitian positive definite.
    UnstableSystemError
        If `rho(Ab) >= 1`.
    ShapeError, NonFiniteError

    Notes
    -----
    The root `(-a + sqrt(a^2 + b c)) / b`, `c = sigma lambda_min(Q)`, cancels when
    `b c << a^2`; it is computed as `c / (a + sqrt(a^2 + b c))` (equal, no cancellation,
    and `c / (2a)` when `b = 0`), with `sqrt(a^2 + bc) = hypot(a, sqrt(bc))` against
    overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.bounds import gamma_star
    >>> g = gamma_star([0.5, 0.9j], [1.0, 1.0], 0.5, return_info=True)
    >>> bool(np.isclose(g.b * g.gamma**2 + 2 * g.a * g.gamma, 0.5))
    True
    """
    s, return_info = _sigma(sigma), check_bool(return_info, "return_info")
    Ab = state_matrix(Ab, "Ab")
    N = Ab.shape[0]
    Bb = input_matrix(Bb, N, "Bb")
    lmin = _lambda_min_Q(Q, N)
    P = lyapunov_matrix(Ab, Q, discrete=True)
    PB = P @ Bb
    AhPB = Ab.conj()[:, None] * PB if Ab.ndim == 1 else Ab.conj().T @ PB
    a = float(np.linalg.norm(AhPB, 2)) if AhPB.size else 0.0
    b = float(np.linalg.norm(Bb.conj().T @ PB, 2)) if PB.size else 0.0
    c = s * lmin
    den = a + np.hypot(a, np.sqrt(b * c))
    gamma = float(c / den) if den > 0 else np.inf
    res = GammaStar(gamma, a, b, lmin, _lambda_max_P(P) if N else 0.0, P)
    return res if return_info else res.gamma


def continuous_threshold(A, B, sigma, Q=None):
    """Relative disturbance threshold of Theorem 1, continuous form: `sigma lambda_min(Q) / (2 ||P B||_2)`.

    For `de/dt = A e + B w`, `A^H P + P A = -Q`: if
    `||w(t)|| <= continuous_threshold(A, B, sigma, Q) ||e(t)||` for all t, then
    `dL_e/dt <= -(1 - sigma) lambda_min(Q) ||e||^2` (docs/theory.md §4).

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal
        Hurwitz.
    B : array, shape (N, P) or (N,)
    sigma : float in (0, 1)
    Q : array, shape (N, N), optional
        Hermitian positive definite; the identity if None.

    Returns
    -------
    threshold : float
        `inf` if `B = 0`.

    Raises
    ------
    UnstableSystemError
        If some `Re(lambda) >= 0`.
    ParameterError, ShapeError, NonFiniteError

    Examples
    --------
    One real mode `lambda = -2`, `B = 1`: `P = 1/4`, threshold `sigma * 1 / (2/4) = 2 sigma`:

    >>> from smr_stability.bounds import continuous_threshold
    >>> continuous_threshold([-2.0], [1.0], 0.5)
    1.0
    """
    s = _sigma(sigma)
    A = state_matrix(A, "A")
    N = A.shape[0]
    B = input_matrix(B, N, "B")
    lmin = _lambda_min_Q(Q, N)
    P = lyapunov_matrix(A, Q, discrete=False)
    nPB = float(np.linalg.norm(P @ B, 2)) if B.size else 0.0
    return float(s * lmin / (2.0 * nPB)) if nPB > 0 else np.inf


def envelope_rate(Ab, sigma, Q=None, discrete=True):
    """Decay rate of the exponential envelope of `L_e` in Theorem 1.

    Discrete (`Ab^H P Ab - P = -Q`): the per-step factor
    `1 - (1 - sigma) lambda_min(Q) / lambda_max(P)`, in `[sigma, 1)`, with
    `L_e(k) <= factor^k L_e(0)`. Continuous (`A^H P + P A = -Q`): the exponential rate
    `(1 - sigma) lambda_min(Q) / lambda_max(P) > 0`, with
    `L_e(t) <= exp(-rate (t - t0)) L_e(t0)`.

    Parameters
    ----------
    Ab : array, shape (N, N), or (N,) for a diagonal
        `Ab` with `rho < 1` (discrete) or a Hurwitz `A` (continuous).
    sigma : float in (0, 1)
    Q : array, shape (N, N), optional
        Hermitian positive definite; the identity if None.
    discrete : bool

    Returns
    -------
    rate : float

    Raises
    ------
    ParameterError, UnstableSystemError, ShapeError, NonFiniteError

    Notes
    -----
    Discrete: `P = Q + Ab^H P Ab >= Q`, so `lambda_max(P) >= lambda_min(Q)` and the factor
    lies in `[sigma, 1)`. For a diagonal Ab and `Q = I`, `lambda_max(P) = 1/(1 - rho^2)`
    and the factor is `1 - (1 - sigma)(1 - rho^2)`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability.bounds import envelope_rate
    >>> bool(np.isclose(envelope_rate([0.5, 0.9], 0.5), 1 - 0.5 * (1 - 0.81)))
    True
    >>> envelope_rate([-2.0], 0.5, discrete=False)  # P = 1/4: 0.5 * 1 / 0.25
    2.0
    """
    s, discrete = _sigma(sigma), check_bool(discrete, "discrete")
    Ab = state_matrix(Ab, "Ab" if discrete else "A")
    _nonempty(Ab, "Ab" if discrete else "A")
    lmin = _lambda_min_Q(Q, Ab.shape[0])
    lmax = _lambda_max_P(lyapunov_matrix(Ab, Q, discrete=discrete))
    ratio = (1.0 - s) * lmin / lmax
    return float(1.0 - ratio) if discrete else float(ratio)
