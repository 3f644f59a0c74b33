"""Argument checks shared by the package; each raises a named error from [`errors`][smr_stability.errors]."""

import numbers

import numpy as np

from .errors import (
    AlphaError,
    InputTypeError,
    MethodError,
    NonFiniteError,
    ParameterError,
    ShapeError,
    StepSizeError,
    UnstableSystemError,
)

#: Accepted discretization method names (aliases included).
METHODS = ("zoh", "bilinear", "tustin", "euler", "forward_diff", "backward_diff", "gbt", "selective")
_GBT_ALPHA = {"bilinear": 0.5, "tustin": 0.5, "euler": 0.0, "forward_diff": 0.0, "backward_diff": 1.0}


def as_array(x, name, *, ndim=None, allow_complex=True, finite=True):
    """Return `x` as a finite float64/complex128 array, checking its number of dimensions.

    `ndim` is an int or a tuple of allowed ints.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputTypeError(f"{name} must be array-like of numbers; could not convert it: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputTypeError(
            f"{name} must hold real or complex numbers; found dtype {arr.dtype}. Pass a numeric numpy array."
        )
    if np.iscomplexobj(arr):
        if not allow_complex:
            raise InputTypeError(f"{name} must be real; found a complex array. Pass its real part if that is meant.")
        arr = arr.astype(np.complex128, copy=False)
    else:
        arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ShapeError(f"{name} must be {want}; found shape {arr.shape} ({arr.ndim}-D).")
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr, name):
    """Raise [`NonFiniteError`][smr_stability.errors.NonFiniteError] if `arr` holds NaN or infinity."""
    if np.isfinite(np.sum(arr)):  # fast path: any NaN/inf makes the sum non-finite
        return arr
    if not np.all(np.isfinite(arr)):  # the sum may also overflow on huge finite entries
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        raise NonFiniteError(
            f"{name} must be finite; found {len(bad)} NaN/inf entr{'y' if len(bad) == 1 else 'ies'}"
            f" (first at index {where}). Remove or replace non-finite values."
        )
    return arr


def check_shape(arr, expected, name):
    """Check `arr.shape` against `expected`, a tuple whose `None` entries match anything."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ShapeError(f"{name} must have shape {want}; found {arr.shape}.")
    return arr


def as_step(dt, name="dt"):
    """Return `dt` as a float64 array (0-d for a scalar) of positive finite steps."""
    if isinstance(dt, numbers.Complex) and not isinstance(dt, numbers.Real):
        raise InputTypeError(f"{name} must be real and positive; found complex {dt!r}.")
    arr = as_array(dt, name, allow_complex=False, finite=False)
    if not np.all(np.isfinite(arr)):
        raise StepSizeError(f"{name} must be finite; found NaN or inf in {name}. Pass finite steps dt > 0.")
    if arr.size and not np.all(arr > 0):
        bad = arr[~(arr > 0)].ravel()[0]
        raise StepSizeError(
            f"{name} must be positive; found {bad!r}. Steps are durations: pass dt > 0 "
            "(for timestamps, use their differences)."
        )
    return arr


def as_seed_rng(seed):
    """Return a `numpy.random.Generator` from a seed (an int >= 0), a Generator, or None."""
    if isinstance(seed, np.random.Generator) or seed is None:
        return np.random.default_rng(seed) if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputTypeError(
            f"seed: expected an int >= 0, a numpy.random.Generator or None; found {seed!r} ({type(seed).__name__})."
        )
    if seed < 0:
        raise ParameterError(f"seed: expected an int >= 0; found {seed!r}.")
    return np.random.default_rng(seed)


def readonly(a, dtype=None):
    """A read-only, C-contiguous copy of `a` (as `dtype` when given).

    Containers hand out no mutable state, and always in one memory layout: a broadcast grid
    copied in its own order comes out Fortran-ordered, and strided arrays can take other
    (differently rounding) kernel paths downstream, in torch for instance. An array that is
    already read-only, C-contiguous, of that dtype and owns its memory is returned as it is (the
    toolkit's own constructors freeze the new arrays they build, to spare the copy).
    """
    if (
        isinstance(a, np.ndarray)
        and not a.flags.writeable
        and a.flags.c_contiguous
        and a.flags.owndata
        and (dtype is None or a.dtype == np.dtype(dtype))
    ):
        return a
    a = np.array(a, dtype=dtype, copy=True, order="C")
    a.setflags(write=False)
    return a


def as_scalar_step(dt, name="dt"):
    """Return `dt` as a positive finite Python float; an array raises
    [`ShapeError`][smr_stability.errors.ShapeError]."""
    arr = as_step(dt, name)
    if arr.ndim:
        raise ShapeError(f"{name}: expected a positive scalar step; found an array of shape {arr.shape}.")
    return float(arr)


def check_int(x, name, minimum=1, *, error=None):
    """Return `x` as an int `>= minimum`; bools and non-integers are refused.

    Raises [`InputTypeError`][smr_stability.errors.InputTypeError] for a non-integer and
    [`ParameterError`][smr_stability.errors.ParameterError] below `minimum`, or `error` for both
    when given (e.g. [`ShapeError`][smr_stability.errors.ShapeError] for a dimension).
    """
    if not isinstance(x, numbers.Integral) or isinstance(x, bool):
        raise (error or InputTypeError)(f"{name}: expected an integer >= {minimum}; found {x!r} ({type(x).__name__}).")
    if x < minimum:
        raise (error or ParameterError)(f"{name}: expected an integer >= {minimum}; found {x!r}.")
    return int(x)


def check_bool(x, name):
    """Return `x` as a Python bool; anything but True, False (or a numpy bool) raises
    [`InputTypeError`][smr_stability.errors.InputTypeError]."""
    if not isinstance(x, (bool, np.bool_)):
        raise InputTypeError(f"{name}: expected True or False; found {x!r} ({type(x).__name__}).")
    return bool(x)


def check_path(x, name):
    """Return `x` (a str or os.PathLike) as a `pathlib.Path`; else
    [`InputTypeError`][smr_stability.errors.InputTypeError]."""
    import os
    from pathlib import Path

    if not isinstance(x, (str, os.PathLike)):
        raise InputTypeError(f"{name}: expected a path (str or pathlib.Path); found {x!r} ({type(x).__name__}).")
    return Path(x)


def check_keys(d, cls):
    """Raise unless `d` is a mapping whose keys are all fields of the dataclass `cls`."""
    import dataclasses
    from collections.abc import Mapping

    if not isinstance(d, Mapping):
        raise InputTypeError(f"expected a dict of {cls.__name__} fields; found {type(d).__name__}. Pass a dict.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ParameterError(
            f"unknown config key(s) of {cls.__name__}: expected keys among {sorted(names)}; found {unknown}. "
            "Check their spelling."
        )
    return d


def check_real(x, name, lo=None, hi=None, open_lo=False, *, open_hi=False, error=None):
    """Return `x` as a finite Python float in `[lo, hi]` (`open_lo`/`open_hi` exclude the ends).

    Raises [`InputTypeError`][smr_stability.errors.InputTypeError] for a non-real (bools included)
    and [`ParameterError`][smr_stability.errors.ParameterError]
    for NaN, infinity or a value outside the range, or `error` for all of them when given.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise (error or InputTypeError)(f"{name}: expected a real number; found {x!r} ({type(x).__name__}).")
    x = float(x)
    if not np.isfinite(x):
        raise (error or ParameterError)(f"{name}: expected a finite number; found {x!r}.")
    below = lo is not None and (x < lo or (open_lo and x == lo))
    above = hi is not None and (x > hi or (open_hi and x == hi))
    if below or above:
        raise (error or ParameterError)(f"{name}: expected {_interval(lo, hi, open_lo, open_hi)}; found {x!r}.")
    return x


def _interval(lo, hi, open_lo, open_hi):
    if hi is None:
        return f"a number {'>' if open_lo else '>='} {lo}"
    if lo is None:
        return f"a number {'<' if open_hi else '<='} {hi}"
    return f"a number in {'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}"


def resolve_method(method, alpha):
    """Validate a discretization method and its `alpha`; return `(kind, alpha)`.

    Parameters
    ----------
    method : str
        One of `METHODS`.
    alpha : float or None
        Required for, and only for, `method='gbt'`.

    Returns
    -------
    kind : {'zoh', 'selective', 'gbt'}
    alpha : float or None
        The gbt parameter (0 Euler, 0.5 bilinear, 1 backward Euler); None for zoh and selective.

    Raises
    ------
    MethodError, AlphaError
    """
    if not isinstance(method, str) or method not in METHODS:
        raise MethodError(f"method must be one of {', '.join(map(repr, METHODS))}; found {method!r}.")
    if method == "gbt":
        return "gbt", _gbt_alpha(alpha)
    if alpha is not None:
        raise AlphaError(
            f"alpha applies only to method='gbt'; found alpha={alpha!r} with method={method!r}. Drop alpha or use method='gbt'."
        )
    if method in _GBT_ALPHA:
        return "gbt", _GBT_ALPHA[method]
    return method, None


def _gbt_alpha(alpha):
    if alpha is None:
        raise AlphaError(
            "method='gbt' needs alpha in [0, 1] (0 forward Euler, 0.5 bilinear, 1 backward Euler); found None."
        )
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise AlphaError(f"alpha must be a real number in [0, 1]; found {alpha!r}.") from None
    if not 0.0 <= a <= 1.0:
        raise AlphaError(
            f"alpha must lie in [0, 1]; found {alpha!r}. Use 0 (Euler), 0.5 (bilinear) or 1 (backward Euler)."
        )
    return a


def state_matrix(A, name="A"):
    """Return `A` as a finite array of shape (N, N), or (N,) for a diagonal; else
    [`ShapeError`][smr_stability.errors.ShapeError]."""
    A = as_array(A, name, ndim=(1, 2))
    if A.ndim == 2 and A.shape[0] != A.shape[1]:
        raise ShapeError(
            f"{name} must be square, shape (N, N), or the vector (N,) of a diagonal; found shape {A.shape}."
        )
    return A


def input_matrix(B, N, name="B"):
    """Return `B` as a finite array of shape (N, P); a vector (N,) becomes one column."""
    B = as_array(B, name, ndim=(1, 2))
    if B.shape[0] != N:
        raise ShapeError(
            f"{name} must have shape ({N}, P) or ({N},), with N = {N} rows as the state matrix; found {B.shape}."
        )
    return B[:, None] if B.ndim == 1 else B


# What require_stable expects, what it reports and the fix: discrete (True) or continuous (False).
_STABILITY = {
    True: (
        "a stable discrete system, spectral radius rho(Ab) < 1",
        "rho(Ab)",
        "Check dt and the discretization method (forward Euler needs dt < -2 Re(lambda)/|lambda|^2).",
    ),
    False: (
        "a Hurwitz A, every Re(lambda) < 0",
        "max Re(lambda)",
        "A mode with Re(lambda) >= 0 never decays: use a stable continuous model.",
    ),
}


def require_stable(ev, discrete, what=None):
    """Raise [`UnstableSystemError`][smr_stability.errors.UnstableSystemError] unless the
    eigenvalues `ev` are those of a stable system.

    Parameters
    ----------
    ev : ndarray, shape (N,)
        Eigenvalues; N = 0 passes.
    discrete : bool
        Stable means `max |ev| < 1` (discrete) or `max Re(ev) < 0` (continuous, Hurwitz).
    what : str, optional
        The quantity that needs stability, named at the start of the message.
    """
    if ev.size == 0:
        return
    k = int(np.argmax(np.abs(ev) if discrete else ev.real))
    value = float(np.abs(ev[k]) if discrete else ev[k].real)
    if value < (1.0 if discrete else 0.0):
        return
    expected, found, fix = _STABILITY[bool(discrete)]
    lead = "expected" if what is None else f"{what} exists only for a stable system; expected"
    raise UnstableSystemError(f"{lead} {expected}; found {found} = {value!r} (eigenvalue {complex(ev[k])!r}). {fix}")


def available_memory():
    """Bytes of memory available to a new allocation: `MemAvailable` of /proc/meminfo on Linux,
    else the physical memory (`os.sysconf`), else None when neither can be read."""
    import os

    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(nbytes, what, fix):
    """Raise [`ParameterError`][smr_stability.errors.ParameterError] before allocating when `nbytes`
    exceed the available memory.

    The message gives the estimate (`what` needs N GiB), what is available, and `fix`.
    """
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ParameterError(
            f"{what}: expected to fit in the {avail / 2**30:.3g} GiB available on this machine; found that it "
            f"would need about {nbytes / 2**30:.3g} GiB. {fix}"
        )


def check_state_size(N, dense, what, copies=4):
    """`check_memory` for `copies` complex arrays of a state of size `N`: (N, N) each
    when `dense`, else (N,). Refuses a size like `hippo_legs(10**6)` (7 TiB) at once."""
    check_memory(16 * copies * N * (N if dense else 1), what, "Use a smaller state size N.")
