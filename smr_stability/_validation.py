"""Argument checks shared by the package; each raises a named error from :mod:`.errors`."""

import numbers

import numpy as np

from .errors import InputTypeError, NonFiniteError, ShapeError, StepSizeError


def as_array(x, name, *, ndim=None, allow_complex=True, finite=True):
    """Return ``x`` as a finite float64/complex128 array, checking its number of dimensions.

    ``ndim`` is an int or a tuple of allowed ints.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputTypeError(f"{name} must be array-like of numbers; could not convert it: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputTypeError(
            f"{name} must hold real or complex numbers; found dtype {arr.dtype}. "
            "Pass a numeric numpy array."
        )
    if np.iscomplexobj(arr):
        if not allow_complex:
            raise InputTypeError(
                f"{name} must be real; found a complex array. Pass its real part if that is meant."
            )
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
    """Raise :class:`NonFiniteError` if ``arr`` holds NaN or infinity."""
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
    """Check ``arr.shape`` against ``expected``, a tuple whose ``None`` entries match anything."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ShapeError(f"{name} must have shape {want}; found {arr.shape}.")
    return arr


def as_step(dt, name="dt"):
    """Return ``dt`` as a float64 array (0-d for a scalar) of positive finite steps."""
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
    """Return a ``numpy.random.Generator`` from a seed, a Generator, or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
