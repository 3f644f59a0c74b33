"""Checkers for the notebook "Build it and check it", and the figure helpers of the notebooks.

A student writes one piece of the toolkit in a few lines (a discretization rule, the convolution
kernel, the causal convolution, the error system of Proposition 1 and its gain, the SMR gate)
and hands the function to a `check_*` function. The checker calls it on random, seeded
float64 inputs, compares the result with the library's and either returns a
[`CheckReport`][smr_stability.teaching.CheckReport], printing `check_x: OK (max rel err 3e-16)`, or raises
[`CheckFailed`][smr_stability.teaching.CheckFailed]. Before reporting a plain mismatch the checker tries the usual mistakes and
names the one it recognises:

* a **one-step shift**: the output equals the reference delayed or advanced by one step (the
  control-text order `x_{k+1} = Ab x_k + Bb u_k` instead of the deep-SSM order);
* a **missing dt** in `Bb`: the reference is `dt` times the student's `Bb`;
* a **non-causal** convolution or gate: perturbing one input changes outputs *before* it;
* a **transposed convention**: `A^T` used for `A`, or `B` and `C` swapped, or the SMR
  kernel read as `(tau, H)`: the output matches the reference computed with transposed inputs;
* and a few more named in each checker's docstring (the wrong rule, an elementwise power, the
  Frobenius norm, a truncated sum, the gate returned instead of the gated input, ...).

Otherwise the message gives the largest relative error and the case that showed it. A
function that still raises `NotImplementedError` (the notebook's stubs) is reported as not
written yet: the checker prints one line and returns `None` instead of raising.

Conventions (docs/theory.md §0-§5), the ones every checker compares against:

* continuous model `dx/dt = A x + B u`, `y = Re(C x) + D u`;
* discrete model, deep-SSM order: `x_k = Ab x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k`,
  `x_{-1} = 0`;
* kernel `K_k = C Ab^k Bb` (`k = 0 .. L-1`), of shape `(L, Q, P)`, and the causal
  convolution `y_k = sum_{j=0..k} K_j u_{k-j}`;
* error system (E) `e_k = Ab e_{k-1} + Bb w_k`, `e_{-1} = 0`, and Proposition 1's gain
  `G_inf = sum_{j>=0} ||Ab^j Bb||_2` (spectral norm);
* SMR gate `g_{k,h} = sigmoid(sum_{j=0..tau-1} m_{h,j} u_{k-j,h} + b_h)` with `u_{k-j} = 0`
  for `k < j`, output `g_{k,h} u_{k,h}`.

The relative error of an output is `max |got - ref| / max |ref|` over the whole array. This
module needs numpy only when imported; torch, matplotlib and IPython are imported by the
functions that use them.
"""

import base64
import html
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .discretization import discretize
from .errors import MissingDependencyError, ParameterError, SMRStabilityError
from .kernels import causal_conv, ssm_kernel
from .proposition1 import error_gain
from .simulation import simulate_reference
from .smr import smr_gate

__all__ = [
    "RTOL",
    "CheckFailed",
    "CheckReport",
    "check_causal_conv",
    "check_discretize",
    "check_error_gain",
    "check_error_system",
    "check_kernel",
    "check_smr_gate",
    "check_smr_gate_torch",
    "figure_html",
    "notebook_style",
    "repo_file",
    "show",
    "show_image",
]

#: Default tolerance of every checker: largest accepted relative error.
RTOL = 1e-10
_MATCH = 1e-8  # tolerance when comparing with a candidate mistake (computed another way)
_DISCRETIZE_METHODS = ("zoh", "bilinear", "euler", "backward_diff", "selective")


class CheckFailed(SMRStabilityError, ValueError):
    """A student's function disagrees with the library; the message names the mistake.

    Attributes
    ----------
    check : str
        The checker that failed, e.g. `"check_kernel"`.
    mistake : str
        A short key of the mistake recognised: `"one_step_shift"`, `"missing_dt"`,
        `"non_causal"`, `"transposed"`, ... or `"mismatch"` (none recognised),
        `"shape"`, `"raised"` (the function raised an exception).
    max_rel_err : float or None
        The largest relative error seen, when one was computed.
    """

    def __init__(self, check, mistake, message, max_rel_err=None):
        super().__init__(f"{check}: {message}")
        self.check = check
        self.mistake = mistake
        self.max_rel_err = max_rel_err


@dataclass(frozen=True)
class CheckReport:
    """What a passed check found.

    Attributes
    ----------
    check : str
        The checker, e.g. `"check_discretize('zoh')"`.
    max_rel_err : float
        Largest relative error over all cases (`max |got - ref| / max |ref|` per output).
    cases : int
        Number of random cases compared.
    """

    check: str
    max_rel_err: float
    cases: int

    def __str__(self):
        return f"{self.check}: OK (max rel err {self.max_rel_err:.0e})"


class _NotWritten(Exception):
    """The student's function raised NotImplementedError."""


# -- shared machinery -------------------------------------------------------------------------


def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _rel(got, ref):
    """`max |got - ref| / max |ref|`; inf when the shapes differ or `got` is not finite."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or not np.all(np.isfinite(got)):
        return np.inf
    if ref.size == 0:
        return 0.0
    diff, scale = float(np.max(np.abs(got - ref))), float(np.max(np.abs(ref)))
    if scale == 0.0:
        return 0.0 if diff == 0.0 else np.inf
    return diff / scale


def _close(got, ref, tol=_MATCH):
    return _rel(got, ref) <= tol


def _copy(x):
    return x.copy() if isinstance(x, np.ndarray) else x


def _call(check, fn, args, where, convert=None):
    """`fn(*args)` on copies of the arguments, as an array (or tuple); errors become CheckFailed."""
    try:
        out = fn(*[_copy(a) for a in args])
    except NotImplementedError:
        raise _NotWritten(check, _name(fn)) from None
    except Exception as exc:
        raise CheckFailed(check, "raised", f"{_name(fn)} raised {type(exc).__name__}: {exc}\n  on {where}.") from exc
    if convert is not None:
        return convert(out)
    if isinstance(out, tuple):
        return tuple(_numeric(check, o, where) for o in out)
    return _numeric(check, out, where)


def _numeric(check, out, where):
    """`out` as a numeric array, or CheckFailed (a ragged list, None, a string...)."""
    try:
        arr = np.asarray(out)
    except ValueError:  # a ragged nested list
        arr = np.asarray(None)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise CheckFailed(
            check, "shape", f"the function returned {type(out).__name__}, not an array of numbers\n  on {where}."
        )
    return arr


def _check_shape(check, what, got, ref, where, hint=""):
    got = np.asarray(got)
    if got.shape == ref.shape:
        return
    extra = ""
    if got.ndim == ref.ndim == 2 and got.shape == ref.shape[::-1]:
        extra = " It is the transpose of the expected shape: check the order of the axes."
    raise CheckFailed(
        check,
        "shape",
        f"{what} has shape {got.shape}; expected {ref.shape}{hint}.{extra}\n  on {where}.",
    )


def _check_finite(check, what, got, where):
    if not np.all(np.isfinite(got)):
        raise CheckFailed(check, "not_finite", f"{what} holds NaN or inf\n  on {where}.", np.inf)


def _mismatch(check, what, err, rtol, where, got, ref):
    got = np.asarray(got)
    if ref.ndim:
        idx = np.unravel_index(int(np.argmax(np.abs(got - ref))), ref.shape)
        at = f" (largest at index {tuple(int(i) for i in idx)}: found {got[idx]:.6g}, expected {ref[idx]:.6g})"
    else:
        at = f" (found {got[()]:.12g}, expected {ref[()]:.12g})"
    raise CheckFailed(
        check,
        "mismatch",
        f"{what} differs from the library: max rel err {err:.1e} > {rtol:.0e}{at}\n  on {where}. "
        "None of the usual mistakes this checker knows matches; compare your formula with the "
        "docstring of the checker, term by term.",
        err,
    )


def _shift(got, ref, tol=_MATCH):
    """`'late'` if `got_k = ref_{k-1}` with `got_0 = 0`, `'early'` if `got_k = ref_{k+1}`,
    along axis 0; else None."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or len(ref) < 3 or not np.all(np.isfinite(got)):
        return None
    scale = float(np.max(np.abs(ref)))
    if scale == 0.0:
        return None
    if np.max(np.abs(got[1:] - ref[:-1])) <= tol * scale and np.max(np.abs(got[0])) <= tol * scale:
        return "late"
    if np.max(np.abs(got[:-1] - ref[1:])) <= tol * scale:
        return "early"
    return None


def _future_dependence(check, fn, args, pos, where, convert=None):
    """`(k0, steps)`: the steps `k < k0` whose output changes when only input `k0` of argument
    `pos` changes, for `k0` in the middle and then at the end of the sequence (which catches
    an `np.roll` wrapping the end round to the start); `steps` is empty if none changes."""
    x = args[pos]
    L = x.shape[0]
    base = np.asarray(_call(check, fn, args, where, convert))
    if base.ndim == 0 or base.shape[0] != L:
        return L // 2, []
    scale = max(float(np.max(np.abs(base))), 1e-300)
    for k0 in (L // 2, L - 1):
        x2 = x.copy()
        x2[k0] += 1.0
        moved = np.asarray(_call(check, fn, args[:pos] + (x2,) + args[pos + 1 :], where, convert))
        if moved.shape != base.shape:
            continue
        delta = np.abs(moved[:k0] - base[:k0]).reshape(k0, -1).max(axis=1)
        steps = [int(k) for k in np.flatnonzero(delta > 1e-9 * scale)]
        if steps:
            return k0, steps
    return L // 2, []


def _non_causal(check, k0, steps, what):
    shown = ", ".join(str(k) for k in steps[:5]) + (", ..." if len(steps) > 5 else "")
    raise CheckFailed(
        check,
        "non_causal",
        f"non-causal {what}: changing only input k0 = {k0} changed the output at steps {shown}, "
        f"before k0. The output at step k may depend on inputs 0..k only (sum over u_(k-j), j >= 0, "
        "with zeros before the first sample). Typical causes: np.convolve(..., mode='same') "
        "(centres the kernel), keeping the last L samples of a full convolution instead of the "
        "first L, correlating instead of convolving, or np.roll (wraps the end of the sequence "
        "round to its start).",
    )


def _finish(check, run, verbose):
    try:
        worst, cases = run()
    except _NotWritten as nw:
        if verbose:
            print(f"{nw.args[0]}: not written yet ({nw.args[1]} raises NotImplementedError)")
        return None
    report = CheckReport(check, float(worst), cases)
    if verbose:
        print(report)
    return report


def _rng(seed):
    return np.random.default_rng(seed)


def _stable_dense(rng, N, cplx, margin=(0.3, 1.5)):
    """A random Hurwitz matrix (N, N) whose eigenvalues have real part <= -margin[0]."""
    G = rng.standard_normal((N, N))
    if cplx:
        G = G + 1j * rng.standard_normal((N, N))
    G = G / np.sqrt(N)
    shift = np.max(np.linalg.eigvals(G).real) + rng.uniform(*margin)
    return G - shift * np.eye(N)


def _discrete_dense(rng, N, cplx, rho=0.85):
    """A random discrete matrix (N, N) with spectral radius `rho`."""
    G = rng.standard_normal((N, N))
    if cplx:
        G = G + 1j * rng.standard_normal((N, N))
    return rho * G / np.max(np.abs(np.linalg.eigvals(G)))


def _diagonal_modes(rng, N):
    """Stable continuous eigenvalues (N,), complex: decay in [0.2, 2], frequency in [-10, 10]."""
    return -rng.uniform(0.2, 2.0, N) + 1j * rng.uniform(-10.0, 10.0, N)


def _describe(**arrays):
    parts = []
    for k, v in arrays.items():
        if isinstance(v, np.ndarray):
            kind = "complex" if np.iscomplexobj(v) else "real"
            parts.append(f"{k} {v.shape} {kind}")
        else:
            parts.append(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}")
    return ", ".join(parts)


# -- discretization --------------------------------------------------------------------------


def check_discretize(fn, method="zoh", *, diagonal=False, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(A, B, dt) -> (Ab, Bb)` against [`smr_stability.discretize`][smr_stability.discretization.discretize].

    Rules (docs/theory.md §1), the input entering at the end of its step:

    * `'zoh'` holds `u` constant over the step and integrates exactly:
      `Ab = expm(dt A)`, `Bb = A^{-1} (expm(dt A) - I) B`;
    * `'bilinear'` is the trapezoid rule for the state:
      `Ab = (I - dt/2 A)^{-1} (I + dt/2 A)`, `Bb = (I - dt/2 A)^{-1} dt B`;
    * also `'euler'`, `'backward_diff'` and `'selective'`, as in the library.

    Parameters
    ----------
    fn : callable
        `fn(A, B, dt)` returning the pair `(Ab, Bb)`.
    method : {'zoh', 'bilinear', 'euler', 'backward_diff', 'selective'}
        The rule `fn` implements.
    diagonal : bool
        False: `A` is a dense (N, N) matrix (real or complex), and `Ab` must be (N, N).
        True: `A` is the vector (N,) of the eigenvalues of a diagonal matrix, and `Ab` must
        be the vector (N,) of the eigenvalues of `Ab`. `B` is (N, P) in both cases.
    seed : int
        Seed of the random cases (stable `A`, `B`, `dt` in [0.05, 0.5]).
    rtol : float
        Largest accepted relative error of `Ab` and of `Bb`.
    verbose : bool
        Print the one-line report.

    Returns
    -------
    CheckReport or None
        None when `fn` raises `NotImplementedError` (not written yet).

    Raises
    ------
    CheckFailed
        Mistakes named: `missing_dt` (`Bb` is the reference divided by `dt`), `extra_dt`,
        `transposed` (`A^T` used), `inverted` (`Ab` is the inverse of the reference:
        the two factors of the bilinear rule swapped), `wrong_rule` (`Ab` or `Bb` is
        another rule's, e.g. `Bb = dt B` for zoh), and `shape`, `raised`, `mismatch`.

    Examples
    --------
    >>> from smr_stability import discretize
    >>> from smr_stability.teaching import check_discretize
    >>> def zoh(A, B, dt):
    ...     return discretize(A, B, dt, method="zoh")
    >>> check_discretize(zoh, "zoh").cases
    check_discretize('zoh'): OK (max rel err 0e+00)
    4
    """
    if method not in _DISCRETIZE_METHODS:
        raise ParameterError(f"method must be one of {_DISCRETIZE_METHODS}; found {method!r}.")
    check = f"check_discretize({method!r})"

    def run():
        rng = _rng(seed)
        worst = 0.0
        shapes = [(3, 1, False), (4, 2, False), (1, 1, False), (3, 1, True)]
        for i, (N, P, cplx) in enumerate(shapes):
            A = _diagonal_modes(rng, N) if diagonal else _stable_dense(rng, N, cplx)
            B = rng.standard_normal((N, P))
            dt = float(rng.uniform(0.05, 0.5))
            where = f"case {i + 1} of {len(shapes)}: {_describe(A=A, B=B, dt=dt)}"
            out = _call(check, fn, (A, B, dt), where)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CheckFailed(check, "shape", f"{_name(fn)} must return the pair (Ab, Bb)\n  on {where}.")
            Ab, Bb = out
            ref_Ab, ref_Bb = discretize(A, B, dt, method=method)
            _check_shape(check, "Ab", Ab, ref_Ab, where, " (the vector of eigenvalues)" if diagonal else "")
            _check_shape(check, "Bb", Bb, ref_Bb, where)
            _check_finite(check, "Ab", Ab, where)
            _check_finite(check, "Bb", Bb, where)
            eA, eB = _rel(Ab, ref_Ab), _rel(Bb, ref_Bb)
            if max(eA, eB) > rtol:
                _diagnose_discretize(check, method, A, B, dt, Ab, Bb, ref_Ab, ref_Bb, eA, eB, rtol, where, diagonal)
            worst = max(worst, eA, eB)
        return worst, len(shapes)

    return _finish(check, run, verbose)


def _raise_first(check, err, where, candidates):
    """Raise [`CheckFailed`][smr_stability.teaching.CheckFailed] for the first
    `(mistake, test, text)` of `candidates` whose `test()` is true (tests run lazily, in order)."""
    for mistake, test, text in candidates:
        if test():
            raise CheckFailed(check, mistake, f"{text}\n  on {where}.", err)


def _diagnose_discretize(check, method, A, B, dt, Ab, Bb, ref_Ab, ref_Bb, eA, eB, rtol, where, diagonal):
    others = {m: discretize(A, B, dt, method=m) for m in _DISCRETIZE_METHODS if m != method}
    label = {"selective": "selective (S6) / forward Euler", "euler": "forward Euler", "backward_diff": "backward Euler"}
    rule = _formula(method)
    if eA > rtol:
        inverse = np.linalg.inv(ref_Ab) if not diagonal else 1.0 / ref_Ab
        candidates = [
            (
                "transposed",
                lambda: not diagonal and _close(Ab, ref_Ab.T),
                "Ab is the transpose of the library's: your formula used A^T (for instance expm(dt * A.T), "
                f"or a solve with a transposed matrix). The state equation is dx/dt = A x + B u, so {rule}",
            ),
            (
                "inverted",
                lambda: _close(Ab, inverse),
                f"Ab is the inverse of the library's: the two factors are swapped (or dt has the wrong sign). {rule}",
            ),
        ]
        candidates += [
            (
                "wrong_rule",
                lambda oA=oA: _close(Ab, oA) and not _close(oA, ref_Ab),
                f"Ab is the {label.get(m, m)} rule's, not {method}'s. {rule}",
            )  # fmt: skip
            for m, (oA, _) in others.items()
        ]
        _raise_first(check, eA, where, candidates)
    if eB > rtol:
        candidates = [
            (
                "missing_dt",
                lambda: _close(Bb * dt, ref_Bb),
                f"Bb is the library's divided by dt = {dt:.4g}: the factor dt is missing from Bb. {rule}",
            ),
            (
                "extra_dt",
                lambda: _close(Bb, ref_Bb * dt),
                f"Bb is the library's times dt = {dt:.4g}: one factor dt too many. {rule}",
            ),
            (
                "transposed",
                lambda: not diagonal and _close(Bb, discretize(A.T, B, dt, method=method)[1]),
                f"Bb is the one computed with A^T: your formula transposed A. {rule}",
            ),
        ]
        candidates += [
            (
                "wrong_rule",
                lambda oB=oB: _close(Bb, oB) and not _close(oB, ref_Bb),
                f"Bb is the {label.get(m, m)} rule's, not {method}'s. {rule}",
            )  # fmt: skip
            for m, (_, oB) in others.items()
        ]
        _raise_first(check, eB, where, candidates)
    what, err, got, ref = ("Ab", eA, Ab, ref_Ab) if eA > rtol else ("Bb", eB, Bb, ref_Bb)
    _mismatch(check, what, err, rtol, where, got, ref)


def _formula(method):
    return {
        "zoh": "zoh: Ab = expm(dt A), Bb = A^{-1} (expm(dt A) - I) B.",
        "bilinear": "bilinear: Ab = (I - dt/2 A)^{-1} (I + dt/2 A), Bb = (I - dt/2 A)^{-1} dt B.",
        "euler": "forward Euler: Ab = I + dt A, Bb = dt B.",
        "backward_diff": "backward Euler: Ab = (I - dt A)^{-1}, Bb = (I - dt A)^{-1} dt B.",
        "selective": "selective: Ab = expm(dt A), Bb = dt B.",
    }[method]


# -- kernel and convolution ---------------------------------------------------------------------


def check_kernel(fn, *, diagonal=False, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(Ab, Bb, C, L) -> K` against [`smr_stability.ssm_kernel`][smr_stability.kernels.ssm_kernel].

    `K_k = C Ab^k Bb` for `k = 0, ..., L-1`, shape `(L, Q, P)`: the impulse response of
    `x_k = Ab x_{k-1} + Bb u_k`, `y_k = C x_k` (docs/theory.md §0), so that `K_0 = C Bb`.

    Parameters
    ----------
    fn : callable
        `fn(Ab, Bb, C, L)` with `Ab` (N, N) (or (N,), the diagonal, when `diagonal`),
        `Bb` (N, P), `C` (Q, N) and an int `L`; returns `K` of shape (L, Q, P),
        complex when an input is.
    diagonal : bool
        Pass `Ab` as the vector of its diagonal.
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        Mistakes named: `one_step_shift` (`K_k = C Ab^(k+1) Bb`, or `K_0 = 0`),
        `transposed` (`Ab^T` used, or `B` and `C` swapped: `K_k` of shape (P, Q)),
        `elementwise_power` (`Ab**k` raises each entry to the power `k`), and
        `shape`, `raised`, `mismatch`.
    """
    check = "check_kernel"

    def run():
        rng = _rng(seed)
        worst = 0.0
        shapes = [(3, 2, 2, False), (4, 1, 1, True), (3, 2, 3, False)]
        for i, (N, P, Q, cplx) in enumerate(shapes):
            L = 16
            if diagonal:
                Ab = 0.9 * np.exp(1j * rng.uniform(-np.pi, np.pi, N)) * rng.uniform(0.3, 1.0, N)
            else:
                Ab = _discrete_dense(rng, N, cplx)
            Bb = rng.standard_normal((N, P)) + (1j * rng.standard_normal((N, P)) if cplx else 0)
            C = rng.standard_normal((Q, N)) + (1j * rng.standard_normal((Q, N)) if cplx else 0)
            where = f"case {i + 1} of {len(shapes)}: {_describe(Ab=Ab, Bb=Bb, C=C, L=L)}"
            K = _call(check, fn, (Ab, Bb, C, L), where)
            ref = ssm_kernel(Ab, Bb, C, L)
            if K.shape == (L, P, Q) and P != Q and _close(K, np.swapaxes(ref, 1, 2)):
                raise CheckFailed(
                    check,
                    "transposed",
                    f"K_k has shape (P, Q) = ({P}, {Q}) and equals (C Ab^k Bb)^T: B and C are swapped "
                    f"(or transposed). K_k = C Ab^k Bb maps the P inputs to the Q outputs: shape (Q, P)."
                    f"\n  on {where}.",
                )
            _check_shape(check, "K", K, ref, where, " = (L, Q, P)")
            _check_finite(check, "K", K, where)
            err = _rel(K, ref)
            if err > rtol:
                _diagnose_kernel(check, Ab, Bb, C, L, K, ref, err, rtol, where, diagonal)
            worst = max(worst, err)
        return worst, len(shapes)

    return _finish(check, run, verbose)


def _diagnose_kernel(check, Ab, Bb, C, L, K, ref, err, rtol, where, diagonal):
    shift = _shift(K, ref)
    dense = not diagonal
    candidates = [
        (
            "one_step_shift",
            lambda: shift == "late",
            "K_k equals the library's K_(k-1) (and K_0 = 0): one step late. That is the control-text "
            "order x_(k+1) = Ab x_k + Bb u_k; in the deep-SSM order x_k = Ab x_(k-1) + Bb u_k the input "
            "enters at once, so K_0 = C Bb (docs/theory.md §0).",
        ),
        (
            "one_step_shift",
            lambda: shift == "early",
            "K_k equals the library's K_(k+1) = C Ab^(k+1) Bb: one step early. The powers start at "
            "Ab^0 = I, so K_0 = C Bb.",
        ),
        (
            "transposed",
            lambda: dense and _close(K, ssm_kernel(Ab.T, Bb, C, L)),
            "K equals the kernel of Ab^T: your powers used the transpose of Ab. K_k = C Ab^k Bb.",
        ),
        (
            "transposed",
            lambda: dense and K.shape[1] == K.shape[2] and _close(K, np.swapaxes(ref, 1, 2)),
            "each K_k is the transpose of C Ab^k Bb: B and C are swapped (or transposed). "
            "K_k = C Ab^k Bb has shape (Q, P).",
        ),
        (
            "elementwise_power",
            lambda: dense and _close(K, np.stack([C @ (Ab**k) @ Bb for k in range(L)])),
            "K_k equals C (Ab**k) Bb with Ab**k the entrywise power: for a matrix, ** raises each "
            "entry to the power k. Use np.linalg.matrix_power(Ab, k), or better the running product "
            "X <- Ab @ X starting from X = Bb.",
        ),
    ]
    _raise_first(check, err, where, candidates)
    _mismatch(check, "K", err, rtol, where, K, ref)


def check_causal_conv(fn, *, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(K, u) -> y` against [`smr_stability.causal_conv`][smr_stability.kernels.causal_conv].

    `y_k = sum_{j=0..k} K_j u_{k-j}` for `k = 0, ..., L-1`: with the kernel of
    [`check_kernel`][smr_stability.teaching.check_kernel] this is the output `Re(C x_k)` of the recurrence started from
    `x_{-1} = 0` (docs/theory.md §0). Only inputs `0..k` may reach `y_k`.

    Parameters
    ----------
    fn : callable
        `fn(K, u)` with a real kernel `K` of shape (L, Q, P) and a real input `u` of shape
        (L, P); returns `y` of shape (L, Q).
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        Mistakes named: `one_step_shift` (`y_k` uses `u_(k-1)` or `u_(k+1)`),
        `non_causal` (an output changes when only a later input changes: `mode='same'`, a
        wrong slice of a full convolution, a correlation, `np.roll`), `transposed` (each
        `K_j` transposed), and `shape`, `raised`, `mismatch`.
    """
    check = "check_causal_conv"

    def run():
        rng = _rng(seed)
        worst = 0.0
        shapes = [(20, 2, 2), (15, 1, 1), (12, 3, 2)]
        for i, (L, Q, P) in enumerate(shapes):
            K = rng.standard_normal((L, Q, P)) * 0.8 ** np.arange(L)[:, None, None]
            u = rng.standard_normal((L, P))
            where = f"case {i + 1} of {len(shapes)}: {_describe(K=K, u=u)}"
            y = _call(check, fn, (K, u), where)
            ref = causal_conv(K, u)
            _check_shape(check, "y", y, ref, where, " = (L, Q)")
            _check_finite(check, "y", y, where)
            err = _rel(y, ref)
            if err > rtol:
                shift = _shift(y, ref)
                if shift is not None:
                    late = shift == "late"
                    raise CheckFailed(
                        check,
                        "one_step_shift",
                        f"y_k equals the library's y_(k{'-' if late else '+'}1): one step "
                        f"{'late' if late else 'early'}. The input u_k enters y_k at once through K_0: "
                        f"y_k = sum_(j=0..k) K_j u_(k-j).\n  on {where}.",
                        err,
                    )
                k0, steps = _future_dependence(check, fn, (K, u), 1, where)
                if steps:
                    _non_causal(check, k0, steps, "convolution")
                if Q == P and _close(y, causal_conv(np.swapaxes(K, 1, 2), u)):
                    raise CheckFailed(
                        check,
                        "transposed",
                        "y equals the convolution with every K_j transposed: K_j has shape (Q, P) and "
                        f"acts on u_(k-j) in R^P as K_j @ u_(k-j).\n  on {where}.",
                        err,
                    )
                _mismatch(check, "y", err, rtol, where, y, ref)
            worst = max(worst, err)
        return worst, len(shapes)

    return _finish(check, run, verbose)


# -- Proposition 1 ----------------------------------------------------------------------------


def _error_states(Ab, Bb, w):
    N = Bb.shape[0]
    return simulate_reference(Ab, Bb, np.eye(N), None, w)[1]


def check_error_system(fn, *, diagonal=False, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(Ab, Bb, w) -> e`, the error system (E) of Proposition 1 (docs/theory.md §2-§3).

    `e_k = Ab e_{k-1} + Bb w_k` with `e_{-1} = 0`, for `k = 0, ..., L-1`: the difference of
    two runs of the same model whose inputs differ by `w`. Compared with the states of
    [`smr_stability.simulate_reference`][smr_stability.simulation.simulate_reference] driven by `w`.

    Parameters
    ----------
    fn : callable
        `fn(Ab, Bb, w)` with `Ab` (N, N) (or (N,) when `diagonal`), `Bb` (N, P) and a
        real `w` (L, P); returns `e` of shape (L, N), complex when an input is.
    diagonal : bool
        Pass `Ab` as the vector of its diagonal.
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        Mistakes named: `one_step_shift` (`e_k` driven by `w_(k-1)`, the control order),
        `transposed` (`Ab^T` used), and `shape`, `raised`, `mismatch`.
    """
    check = "check_error_system"

    def run():
        rng = _rng(seed)
        worst = 0.0
        shapes = [(3, 1, False, 30), (4, 2, True, 25), (1, 1, False, 10)]
        for i, (N, P, cplx, L) in enumerate(shapes):
            if diagonal:
                Ab = 0.95 * np.exp(1j * rng.uniform(-np.pi, np.pi, N)) * rng.uniform(0.5, 1.0, N)
            else:
                Ab = _discrete_dense(rng, N, cplx, rho=0.9)
            Bb = rng.standard_normal((N, P)) + (1j * rng.standard_normal((N, P)) if cplx else 0)
            w = rng.standard_normal((L, P))
            where = f"case {i + 1} of {len(shapes)}: {_describe(Ab=Ab, Bb=Bb, w=w)}"
            e = _call(check, fn, (Ab, Bb, w), where)
            ref = _error_states(Ab, Bb, w)
            _check_shape(check, "e", e, ref, where, " = (L, N)")
            _check_finite(check, "e", e, where)
            err = _rel(e, ref)
            if err > rtol:
                shift = _shift(e, ref)
                if shift == "late":
                    raise CheckFailed(
                        check,
                        "one_step_shift",
                        "e_k equals the library's e_(k-1): you drove e_k with w_(k-1), the control-text "
                        "order e_(k+1) = Ab e_k + Bb w_k. In the toolkit's order the sampling error of "
                        "step k enters the state of step k: e_k = Ab e_(k-1) + Bb w_k, e_(-1) = 0 "
                        f"(docs/theory.md §2).\n  on {where}.",
                        err,
                    )
                if shift == "early":
                    raise CheckFailed(
                        check,
                        "one_step_shift",
                        "e_k equals the library's e_(k+1): one step early (is e_(-1) = 0 stored as "
                        f"the first row, or w_(k+1) used?).\n  on {where}.",
                        err,
                    )
                if not diagonal and _close(e, _error_states(Ab.T, Bb, w)):
                    raise CheckFailed(
                        check,
                        "transposed",
                        "e equals the error system of Ab^T: the state update must be Ab @ e_(k-1) "
                        f"(not e_(k-1) @ Ab, which is Ab^T e for a vector).\n  on {where}.",
                        err,
                    )
                _mismatch(check, "e", err, rtol, where, e, ref)
            worst = max(worst, err)
        return worst, len(shapes)

    return _finish(check, run, verbose)


def _sum_of_norms(Ab, Bb, norm, terms=4000):
    X, total = Bb, 0.0
    for _ in range(terms):
        total += norm(X)
        X = Ab @ X
    return total


def check_error_gain(fn, *, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(Ab, Bb) -> G_inf` against [`smr_stability.error_gain`][smr_stability.proposition1.error_gain] (Proposition 1(a)).

    `G_inf = sum_{j>=0} ||Ab^j Bb||_2`, the spectral norm of each N x P matrix `Ab^j Bb`,
    so that `sup_k ||e_k|| <= G_inf sup_i ||w_i||` for the error system of
    [`check_error_system`][smr_stability.teaching.check_error_system] (docs/theory.md §3). The random `Ab` are dense with spectral
    radius 0.85: summing until a term falls below `1e-16` times the sum is accurate enough.

    Parameters
    ----------
    fn : callable
        `fn(Ab, Bb)` with `Ab` (N, N) and `Bb` (N, P); returns a float.
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        Mistakes named: `one_step_shift` (the sum starts at `j = 1`: `G_inf - ||Bb||`),
        `frobenius_norm` (`np.linalg.norm` of a matrix without `ord=2`), `norm_of_sum`
        (`||sum_j Ab^j Bb|| = ||(I - Ab)^{-1} Bb||`), `transposed` (`Ab^T`),
        `truncated` (the sum stops too early), and `shape`, `raised`, `mismatch`.
    """
    check = "check_error_gain"

    def run():
        rng = _rng(seed)
        worst = 0.0
        shapes = [(3, 2, False), (3, 1, False), (2, 1, True)]
        for i, (N, P, cplx) in enumerate(shapes):
            Ab = _discrete_dense(rng, N, cplx)
            Bb = rng.standard_normal((N, P))
            where = f"case {i + 1} of {len(shapes)}: {_describe(Ab=Ab, Bb=Bb)}"
            got = _call(check, fn, (Ab, Bb), where)
            if got.size != 1:
                raise CheckFailed(
                    check, "shape", f"{_name(fn)} must return one number; found shape {got.shape}\n  on {where}."
                )
            got = got.reshape(())
            ref = np.asarray(error_gain(Ab, Bb, rtol=1e-13))
            _check_finite(check, "G_inf", got, where)
            err = _rel(got, ref)
            if err > rtol:
                _diagnose_gain(check, Ab, Bb, float(np.real(got)), float(ref), err, rtol, where)
            worst = max(worst, err)
        return worst, len(shapes)

    return _finish(check, run, verbose)


def _diagnose_gain(check, Ab, Bb, got, ref, err, rtol, where):
    N = Ab.shape[0]
    first = float(np.linalg.norm(Bb, 2))
    rho = float(np.max(np.abs(np.linalg.eigvals(Ab))))
    terms = int(np.ceil(np.log(1e-13) / np.log(rho))) if 0 < rho < 1 else "many"
    candidates = [
        (
            "one_step_shift",
            lambda: _close(got, ref - first),
            f"your sum equals G_inf - ||Bb|| = {ref - first:.6g}: it starts at j = 1 and misses the j = 0 "
            "term ||Ab^0 Bb|| = ||Bb||. The sampling error of step k enters e_k at once "
            "(e_k = Ab e_(k-1) + Bb w_k), through Ab^0 = I.",
        ),
        (
            "frobenius_norm",
            lambda: Bb.shape[1] > 1 and _close(got, _sum_of_norms(Ab, Bb, np.linalg.norm)),
            "your sum uses the Frobenius norm: np.linalg.norm(X) of a matrix is the Frobenius norm. "
            "Proposition 1 uses the spectral norm, np.linalg.norm(X, 2).",
        ),
        (
            "norm_of_sum",
            lambda: _close(got, np.linalg.norm(np.linalg.solve(np.eye(N) - Ab, Bb), 2)),
            "your value is the norm of the sum, ||sum_j Ab^j Bb|| = ||(I - Ab)^{-1} Bb||, not the sum "
            "of the norms: G_inf = sum_j ||Ab^j Bb||. The terms must not cancel, since Proposition 1 "
            "bounds errors whose directions can line up with each term.",
        ),
        (
            "transposed",
            lambda: _close(got, error_gain(Ab.T, Bb, rtol=1e-13)),
            "your value is G_inf of Ab^T: the powers must be Ab^j applied to Bb, Ab @ X.",
        ),
        (
            "truncated",
            lambda: got < ref,
            f"your sum is {err:.1e} below G_inf = {ref:.12g}: it stops too early. Keep adding terms "
            f"until they no longer change the sum: with rho(Ab) = {rho:.3g} the terms shrink about like "
            f"rho^j, so about {terms} terms.",
        ),
    ]
    _raise_first(check, err, where, candidates)
    _mismatch(check, "G_inf", err, rtol, where, np.asarray(got), np.asarray(ref))


# -- the SMR gate -------------------------------------------------------------------------------


def _gate_cases(seed):
    rng = _rng(seed)
    out = []
    for L, H, tau in [(20, 3, 3), (25, 2, 4), (6, 1, 4)]:  # the square case first: it shows a transposed m
        u = rng.standard_normal((L, H))
        m = rng.standard_normal((H, tau))
        b = rng.standard_normal(H)
        out.append((u, m, b))
    return out


def _check_gate(check, fn, seed, rtol, convert=None):
    worst = 0.0
    cases = _gate_cases(seed)
    for i, (u, m, b) in enumerate(cases):
        where = f"case {i + 1} of {len(cases)}: {_describe(u=u, m=m, b=b)}"
        got = _call(check, fn, (u, m, b), where, convert)
        ref, g = smr_gate(u, m, b, return_gate=True)
        _check_shape(check, "the gated input", got, ref, where, " = (L, H), the shape of u")
        _check_finite(check, "the gated input", got, where)
        err = _rel(got, ref)
        if err > rtol:
            _diagnose_gate(check, fn, u, m, b, got, ref, g, err, rtol, where, convert)
        worst = max(worst, err)
    return worst, len(cases)


def _diagnose_gate(check, fn, u, m, b, got, ref, g, err, rtol, where, convert):
    H, tau = m.shape
    lagged = np.concatenate([np.zeros((H, 1)), m], axis=1)  # the window one step late
    _raise_first(
        check,
        err,
        where,
        [
            (
                "returns_gate",
                lambda: _close(got, g),
                "your function returns the gate g, not the gated input g * u.",
            ),
            (
                "one_step_shift",
                lambda: _shift(got, ref) is not None or _close(got, smr_gate(u, lagged, b)),
                "your output is the library's shifted by one step (or the gate's window lags by one step): "
                "m[h, 0] weights the current sample u_k and m[h, j] the sample j steps back, "
                "g_k = sigmoid(sum_j m[h, j] u_(k-j) + b), output g_k u_k.",
            ),
        ],
    )
    k0, steps = _future_dependence(check, fn, (u, m, b), 0, where, convert)
    if steps:
        _non_causal(check, k0, steps, "gate")
    _raise_first(
        check,
        err,
        where,
        [
            (
                "reversed_kernel",
                lambda: tau > 1 and _close(got, smr_gate(u, m[:, ::-1], b)),
                "your gate uses the kernel reversed: m[h, 0] must weight the current sample u_k and "
                "m[h, tau-1] the oldest one, u_(k-tau+1).",
            ),
            (
                "transposed",
                lambda: H == tau and _close(got, smr_gate(u, m.T, b)),
                "your gate reads m as (tau, H): m has shape (H, tau), m[h, j] is channel h at lag j.",
            ),
        ],
    )
    _mismatch(check, "the gated input", err, rtol, where, got, ref)


def check_smr_gate(fn, *, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(u, m, b) -> u_tilde`, the SMR gate in numpy, against [`smr_stability.smr_gate`][smr_stability.smr.smr_gate].

    `g_{k,h} = sigmoid(sum_{j=0..tau-1} m[h, j] u_{k-j,h} + b[h])` with `u_{k-j} = 0` for
    `k < j`, and `u_tilde_{k,h} = g_{k,h} u_{k,h}` (docs/theory.md §5). The gate is causal.

    Parameters
    ----------
    fn : callable
        `fn(u, m, b)` with `u` (L, H), `m` (H, tau) and `b` (H,), all real; returns the
        gated input, shape (L, H).
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        Mistakes named: `returns_gate` (`g` instead of `g u`), `one_step_shift` (output
        or window shifted by one step), `non_causal` (the gate sees later samples),
        `reversed_kernel`, `transposed` (`m` read as (tau, H)), and `shape`,
        `raised`, `mismatch`.
    """
    check = "check_smr_gate"
    return _finish(check, lambda: _check_gate(check, fn, seed, rtol), verbose)


def check_smr_gate_torch(fn, *, seed=0, rtol=RTOL, verbose=True):
    """Check `fn(u, m, b) -> u_tilde`, the SMR gate in torch: its values and its gradient.

    The values are compared with [`smr_stability.smr_gate`][smr_stability.smr.smr_gate] as in [`check_smr_gate`][smr_stability.teaching.check_smr_gate],
    on float64 tensors `u` (L, H), `m` (H, tau), `b` (H,). Then
    `torch.autograd.gradcheck` compares the gradient autograd computes through `fn` with
    finite differences, with respect to `u`, `m` and `b`: the gate must be built from
    torch operations only, so that a model can learn `m` and `b`.

    Parameters
    ----------
    fn : callable
        `fn(u, m, b)` on torch tensors; returns a tensor of shape (L, H).
    seed, rtol, verbose
        As in [`check_discretize`][smr_stability.teaching.check_discretize].

    Returns
    -------
    CheckReport or None

    Raises
    ------
    CheckFailed
        The mistakes of [`check_smr_gate`][smr_stability.teaching.check_smr_gate], and `no_autograd` (the output is not a tensor
        or is cut from the graph: `.numpy()`, `.detach()`, `torch.tensor(...)` of a
        result), `wrong_gradient` (gradcheck fails).
    MissingDependencyError
        If torch is not installed.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the nn layer
        raise MissingDependencyError("check_smr_gate_torch needs torch: pip install torch.") from None
    check = "check_smr_gate_torch"

    def to_numpy(out):
        if not isinstance(out, torch.Tensor):
            raise CheckFailed(
                check,
                "no_autograd",
                f"{_name(fn)} returned a {type(out).__name__}, not a torch.Tensor: autograd cannot "
                "follow it. Use torch operations only (slicing, torch.cat, torch.sigmoid, *, +).",
            )
        return out.detach().cpu().numpy()

    def as_torch(u, m, b):
        return fn(*(torch.tensor(a, dtype=torch.float64) for a in (u, m, b)))

    as_torch.__name__ = _name(fn)

    def run():
        worst, cases = _check_gate(check, as_torch, seed, rtol, to_numpy)
        rng = _rng(seed + 1)
        args = tuple(
            torch.tensor(a, dtype=torch.float64, requires_grad=True)
            for a in (rng.standard_normal((8, 2)), rng.standard_normal((2, 3)), rng.standard_normal(2))
        )
        where = "u (8, 2), m (2, 3), b (2,) float64 tensors with requires_grad=True"
        out = fn(*args)
        if not (isinstance(out, torch.Tensor) and out.requires_grad):
            raise CheckFailed(
                check,
                "no_autograd",
                "the output does not require grad although u, m and b do: it was cut from the graph "
                "(by .numpy(), .detach(), .item() or torch.tensor(...) of an intermediate result). "
                f"Build it from torch operations only.\n  on {where}.",
            )
        try:
            ok = torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7, rtol=1e-5)
        except Exception as exc:  # GradcheckError, or an error of the backward pass
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckFailed(
                check,
                "wrong_gradient",
                f"torch.autograd.gradcheck failed: {first}. The gradient autograd computes through "
                "your function differs from finite differences: look for in-place changes of a "
                f"tensor autograd still needs, or a hand-written backward.\n  on {where}.",
            ) from exc
        if not ok:  # pragma: no cover - gradcheck raises by default
            raise CheckFailed(check, "wrong_gradient", f"torch.autograd.gradcheck failed\n  on {where}.")
        return worst, cases + 1

    return _finish(check, run, verbose)


# -- figures in the notebooks ----------------------------------------------------------------


def notebook_style():
    """Matplotlib settings of the notebooks: 7 x 3.5 in figures at 100 px/in, text >= 9 pt.

    Shown by [`show`][smr_stability.teaching.show] at their natural width (700 px for 7 in) or scaled down to a column
    of about 570 px, 9-10 pt text stays above 9 px on screen.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 3.5),
            "figure.dpi": 100,
            "figure.constrained_layout.use": True,
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.title_fontsize": 9,
        }
    )


def _png_width(png):
    """Width in pixels read from a PNG's IHDR chunk."""
    return struct.unpack(">I", png[16:20])[0]


def _html(png, caption, alt, width):
    data = base64.b64encode(png).decode("ascii")
    return (
        '<figure style="margin: 0.8em 0;">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" width="{width}" '
        'style="max-width: 100%; height: auto;">'
        f'<figcaption style="font-size: 0.9em; margin-top: 0.3em;">{html.escape(caption)}</figcaption>'
        "</figure>"
    )


def figure_html(fig, caption, alt=None, *, dpi=200):
    """A matplotlib figure as an HTML `<figure>`: a PNG with alt text, and a caption.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    caption : str
        Shown under the image (plain text; escaped).
    alt : str, optional
        The image's alternative text: what the figure shows, for a reader who cannot see it.
        Defaults to the caption.
    dpi : int
        Resolution of the PNG. It is displayed at 100 px per inch of the figure, so 200 gives
        a sharp image on high-density screens.

    Returns
    -------
    str
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    png = buf.getvalue()
    return _html(png, caption, caption if alt is None else alt, round(_png_width(png) * 100 / dpi))


def _in_ipython():
    """True inside IPython or Jupyter (where there is something to display on)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the docs tools
        return False
    return get_ipython() is not None


def _display_html(text):
    from IPython.display import HTML, display

    display(HTML(text))


def show(fig, caption, alt=None, *, dpi=200):
    """Display `fig` with a caption and alt text (see [`figure_html`][smr_stability.teaching.figure_html]), then close it.

    Closing the figure keeps the inline backend from showing it a second time. Outside IPython
    (the notebook run as a script) nothing is drawn or displayed: the figure is only closed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    caption : str
    alt : str, optional
        Defaults to the caption.
    dpi : int
        Resolution of the PNG (displayed at 100 px per inch).
    """
    import sys

    text = figure_html(fig, caption, alt, dpi=dpi) if _in_ipython() else None
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    if text is not None:
        _display_html(text)


def show_image(path, caption, alt, *, dpi=150):
    """Display a PNG file of the repository (a committed figure) with a caption and alt text.

    Parameters
    ----------
    path : str or Path
        The PNG file.
    caption, alt : str
        As in [`figure_html`][smr_stability.teaching.figure_html].
    dpi : int
        The resolution the PNG was saved at (`figures/` uses 150); it is displayed at 100 px
        per inch. Outside IPython nothing is displayed.
    """
    png = Path(path).read_bytes()
    if _in_ipython():
        _display_html(_html(png, caption, alt, round(_png_width(png) * 100 / dpi)))


def repo_file(relpath):
    """The path of a file of the repository, found from the working directory or the package.

    Looks for `relpath` under the working directory and each of its parents (a notebook runs
    from the repository root in the docs build, from `docs/notebooks` in Jupyter), then
    under the folder that holds the `smr_stability` package (an editable install).

    Raises
    ------
    FileNotFoundError
        If no such file exists; the message lists where it looked.
    """
    here = Path.cwd().resolve()
    roots = [here, *here.parents, Path(__file__).resolve().parents[1]]
    for root in roots:
        if (root / relpath).is_file():
            return root / relpath
    raise FileNotFoundError(
        f"{relpath} not found under the working directory {here}, its parents, or {roots[-1]}: "
        "run the notebook from a checkout of the repository."
    )
