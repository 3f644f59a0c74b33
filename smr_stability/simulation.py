"""Simulation of discretized SSMs: reference loop, FFT convolution and compiled scans.

Every function uses the deep-SSM convention (docs/theory.md §0):

```text
x_k = Ab x_{k-1} + Bb u_k,   y_k = Re(C x_k) + D u_k,   x_{-1} = x0 (default 0).
```

(The control convention `x_{k+1} = Ab x_k + Bb u_k` is the same system shifted by one step.)
Shape legend: S system batch, T trajectory batch, L length, N state, P inputs, Q outputs.
"""

import numpy as np

from ._scan import GBT, SELECTIVE, ZOH, scan_dense, scan_diagonal, scan_diagonal_steps
from ._validation import as_array, as_step, check_bool, check_memory, check_shape, resolve_method
from .discretization import discretize, gbt_denominator
from .errors import MethodError, NonFiniteError, ShapeError
from .kernels import causal_conv_unchecked, ssm_kernel, system_arrays
from .ssm import as_ssm

__all__ = ["simulate", "simulate_reference", "simulate_tv", "simulate_variable_step"]


def _as_D(D, Q, P):
    if D is None:
        return np.zeros((Q, P))
    D = as_array(D, "D", allow_complex=False)
    if D.ndim == 0:
        return np.full((Q, P), float(D))
    return check_shape(D, (Q, P), "D")


def _as_input(u, P):
    u = as_array(u, "u", allow_complex=False)
    if u.ndim < 2 or u.shape[-1] != P:
        raise ShapeError(
            f"u must have shape (..., L, P) with P = {P} (columns of Bb); found {u.shape}. For one input use u[..., None]."
        )
    return u


def _finite(y, *arrays):
    """Raise [`NonFiniteError`][smr_stability.errors.NonFiniteError] instead of returning a diverged
    (inf/nan) simulation."""
    for a in (y,) + arrays:
        if a.size and not np.isfinite(np.sum(a)) and not np.all(np.isfinite(a)):  # sum: one cheap pass
            bad = np.argwhere(~np.isfinite(a))[0]
            raise NonFiniteError(
                f"the simulation overflowed float64 (first non-finite value at index {tuple(int(i) for i in bad)}): "
                "expected a finite trajectory, found inf/nan. The system is unstable (spectral radius of Ab >= 1) "
                "over this horizon; shorten L, rescale u, or check dt and the method."
            )
    return (y,) + arrays if arrays else y


def simulate_reference(Ab, Bb, C, D, u, x0=None):
    """Plain sequential loop over one trajectory: the oracle every fast path is tested against.

    Parameters
    ----------
    Ab : array, shape (N,) or (N, N), or per step (L, N) or (L, N, N)
    Bb : array, shape (N, P) (or (N,) with 1-D Ab), or per step (L, N, P)
    C : array, shape (Q, N) or (N,)
    D : array, shape (Q, P), scalar or None
    u : array, shape (L, P)
    x0 : array, shape (N,), optional
        The state `x_{-1}` before the first input.

    Returns
    -------
    y : ndarray, shape (L, Q)
    x : ndarray, shape (L, N)
        `x_k = Ab_k x_{k-1} + Bb_k u_k`, `y_k = Re(C x_k) + D u_k`.
    """
    Ab, Bb, C, diagonal = system_arrays(Ab, Bb, C)
    N, P, Q = Bb.shape[-2], Bb.shape[-1], C.shape[-2]
    u = _as_input(u, P)
    check_shape(u, (None, P), "u")
    L = u.shape[0]
    varying = Bb.ndim == 3
    if varying and (Bb.shape[0] != L or Ab.shape[0] != L):
        raise ShapeError(f"per-step Ab and Bb must have L = {L} steps (as u); found Ab {Ab.shape}, Bb {Bb.shape}.")
    D = _as_D(D, Q, P)
    dtype = np.result_type(Ab, Bb, C, float)
    if x0 is None:
        x = np.zeros(N, dtype=dtype)
    else:
        x0 = check_shape(as_array(x0, "x0"), (N,), "x0")
        x = x0.astype(np.result_type(dtype, x0.dtype))
    ys, xs = np.empty((L, Q)), np.empty((L, N), dtype=x.dtype)
    for k in range(L):
        A_k = Ab[k] if varying else Ab
        B_k = Bb[k] if varying else Bb
        x = (A_k * x if diagonal else A_k @ x) + B_k @ u[k]
        ys[k] = (C @ x).real + D @ u[k]
        xs[k] = x
    return ys, xs


def simulate(Ab, Bb, C, D, u, *, x0=None, return_states=False, mode="auto"):
    """Run a fixed-step discrete SSM over a batch of input sequences.

    Parameters
    ----------
    Ab : array, shape S + (N,) (diagonal) or S + (N, N) (dense)
    Bb : array, shape S + (N, P) (or (N,) with 1-D Ab)
    C : array, shape (Q, N), (N,) or S + (Q, N)
    D : array, shape (Q, P), scalar or None
    u : array, shape T + (L, P), real
        S and T broadcast to the batch shape M.
    x0 : array, shape M + (N,), optional
        Initial state `x_{-1}`; forces `mode='scan'`.
    return_states : bool
        Also return the states `x`, shape M + (L, N).
    mode : {'auto', 'fft', 'scan'}
        'fft': kernel ([`ssm_kernel`][smr_stability.kernels.ssm_kernel]) and causal FFT convolution (states by the state
        kernel `Ab^k Bb`, `x0` by the free response `Ab^{k+1} x0`); 'scan': compiled
        sequential scan, parallel over the batch; 'auto': fft for outputs from a zero state,
        scan otherwise.

    Returns
    -------
    y : ndarray, shape M + (L, Q)
    x : ndarray, shape M + (L, N)
        Returned only if `return_states`.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import simulate, simulate_reference
    >>> rng = np.random.default_rng(0)
    >>> Ab, Bb, C = np.array([0.9, -0.5]), np.ones((2, 1)), np.ones((1, 2))
    >>> u = rng.standard_normal((20, 1))
    >>> bool(np.allclose(simulate(Ab, Bb, C, 0.0, u), simulate_reference(Ab, Bb, C, 0.0, u)[0]))
    True
    """
    if mode not in ("auto", "fft", "scan"):
        raise MethodError(f"mode must be 'auto', 'fft' or 'scan'; found {mode!r}.")
    return_states = check_bool(return_states, "return_states")
    Ab, Bb, C, diagonal = system_arrays(Ab, Bb, C)
    P, Q = Bb.shape[-1], C.shape[-2]
    u = _as_input(u, P)
    D = _as_D(D, Q, P)
    if mode == "auto":
        mode = "scan" if (return_states or x0 is not None) else "fft"
    batch = np.broadcast_shapes(u.shape[:-2], Ab.shape[: Ab.ndim - (1 if diagonal else 2)])
    per_step = Q + (Bb.shape[-2] if return_states else 0)  # outputs (and states) per step
    check_memory(
        16 * int(np.prod(batch, dtype=np.float64)) * u.shape[-2] * per_step,
        f"simulate with a batch of {batch}, L = {u.shape[-2]} and {per_step} outputs and states per step",
        "Simulate the batch in pieces, or without return_states.",
    )
    if mode == "fft":
        with np.errstate(over="ignore", invalid="ignore"):
            out = _simulate_fft(Ab, Bb, C, D, u, x0, return_states, diagonal)
        return _finite(*out) if return_states else _finite(out)
    # Zero-stride views along time make the fixed system a (trivially) time-varying one.
    Ab_t = Ab[..., None, :] if diagonal else Ab[..., None, :, :]
    return _run_scan(Ab_t, Bb[..., None, :, :], C, D, u, x0, return_states, diagonal)


def _simulate_fft(Ab, Bb, C, D, u, x0, return_states, diagonal):
    L, N = u.shape[-2], Bb.shape[-2]
    Du = np.einsum("...lp,qp->...lq", u, D) if np.any(D) else None  # T + (L, Q)
    free = None
    if x0 is not None:
        x0 = as_array(x0, "x0")
        Ax0 = Ab * x0 if diagonal else np.einsum("...ij,...j->...i", Ab, x0)  # M + (N,)
        Ab_M = np.broadcast_to(Ab, Ax0.shape[:-1] + Ab.shape[Ab.ndim - (1 if diagonal else 2) :])
        free = ssm_kernel(Ab_M, Ax0[..., None], np.eye(N), L)[..., 0]  # Ab^{k+1} x0: M + (L, N)
    if not return_states:
        y = causal_conv_unchecked(ssm_kernel(Ab, Bb, C, L), u)  # M + (L, Q)
        if free is not None:
            y = y + np.einsum("...qn,...ln->...lq", C, free).real
    else:
        x = causal_conv_unchecked(ssm_kernel(Ab, Bb, np.eye(N), L), u, keep_imag=True)  # M + (L, N)
        x = x if free is None else x + free
        y = np.einsum("...qn,...ln->...lq", C, x).real
    y = y if Du is None else y + Du
    return (y, x) if return_states else y


def simulate_tv(Ab, Bb, C, D, u, *, x0=None, return_states=False):
    """Run a time-varying discrete SSM `x_k = Ab_k x_{k-1} + Bb_k u_k` (compiled scan).

    Parameters
    ----------
    Ab : array, shape T + (L, N) (diagonal) or T + (L, N, N) (dense)
    Bb : array, shape T + (L, N, P)
    C : array, shape (Q, N), (N,) or T + (Q, N)
    D : array, shape (Q, P), scalar or None
    u : array, shape T' + (L, P)
        T and T' broadcast to the batch shape M.
    x0, return_states
        As in [`simulate`][smr_stability.simulation.simulate].

    Returns
    -------
    y : ndarray, shape M + (L, Q)
    x : ndarray, shape M + (L, N)
        Returned only if `return_states`.
    """
    Ab, Bb, C, diagonal = system_arrays(Ab, Bb, C)
    if Bb.ndim < 3:
        raise ShapeError(f"Bb must have shape (..., L, N, P) for a time-varying system; found {Bb.shape}.")
    P, Q = Bb.shape[-1], C.shape[-2]
    u = _as_input(u, P)
    D = _as_D(D, Q, P)
    return_states = check_bool(return_states, "return_states")
    L = u.shape[-2]
    if Bb.shape[-3] != L or Ab.shape[-2 if diagonal else -3] != L:
        raise ShapeError(
            f"Ab and Bb must have one step per input, L = {L} (u {u.shape}); found Ab {Ab.shape}, Bb {Bb.shape}."
        )
    return _run_scan(Ab, Bb, C, D, u, x0, return_states, diagonal)


def _run_scan(Ab, Bb, C, D, u, x0, return_states, diagonal):
    """Broadcast to a flat batch M, call the compiled kernel, restore the batch shape."""
    N, P, Q = Bb.shape[-2], Bb.shape[-1], C.shape[-2]
    L = u.shape[-2]
    nA = 1 if diagonal else 2
    batch = np.broadcast_shapes(Ab.shape[: -1 - nA], Bb.shape[:-3], C.shape[:-2], u.shape[:-2])
    M = int(np.prod(batch))
    dtype = np.result_type(Ab, Bb, C, float)
    Ab = np.broadcast_to(Ab.astype(dtype, copy=False), batch + Ab.shape[-1 - nA :])
    Ab = Ab.reshape((M,) + Ab.shape[len(batch) :])
    Bb = np.broadcast_to(Bb.astype(dtype, copy=False), batch + Bb.shape[-3:]).reshape((M,) + Bb.shape[-3:])
    C = np.broadcast_to(C.astype(dtype, copy=False), batch + (Q, N)).reshape(M, Q, N)
    u = np.broadcast_to(u, batch + (L, P)).reshape(M, L, P)
    Ab = np.broadcast_to(Ab, (M, L) + Ab.shape[2:])  # a fixed system has a length-1 time axis
    Bb = np.broadcast_to(Bb, (M, L, N, P))
    x0 = _initial_state(x0, batch, N, dtype).reshape(M, N)
    y = np.empty((M, L, Q))
    xs = np.empty((M, L if return_states else 0, N), dtype=dtype)
    kernel = scan_diagonal if diagonal else scan_dense
    kernel(Ab, Bb, u, C, D, x0, y, xs)
    _finite(y, xs)
    y = y.reshape(batch + (L, Q))
    return (y, xs.reshape(batch + (L, N))) if return_states else y


def _initial_state(x0, batch, N, dtype):
    if x0 is None:
        return np.zeros(batch + (N,), dtype=dtype)
    x0 = as_array(x0, "x0")
    try:
        return np.array(np.broadcast_to(x0, batch + (N,)), dtype=np.result_type(x0, dtype))
    except ValueError:
        raise ShapeError(f"x0 must broadcast to {batch + (N,)}; found {x0.shape}.") from None


def simulate_variable_step(system, u, dt, method="zoh", alpha=None, *, x0=None, return_states=False):
    """Exact variable-step simulation: discretize with the actual gap `dt_k` at every step.

    `x_k = Ab(dt_k) x_{k-1} + Bb(dt_k) u_k`, `y_k = Re(C x_k) + D u_k`. With zoh and an
    input held constant over each gap this is the continuous solution at the sample times (the
    S5-style integration over irregular gaps).

    Parameters
    ----------
    system : SSM, control.StateSpace or (A, B, C[, D])
        The continuous model.
    u : array, shape T + (L, P), real
    dt : array, shape T' + (L,)
        Per-step gaps, positive; T and T' broadcast to the batch shape M.
    method, alpha
        As in [`smr_stability.discretize`][smr_stability.discretization.discretize].
    x0, return_states
        As in [`simulate`][smr_stability.simulation.simulate].

    Returns
    -------
    y : ndarray, shape M + (L, Q)
    x : ndarray, shape M + (L, N)
        Returned only if `return_states`.

    Notes
    -----
    Diagonal systems are discretized on the fly inside the compiled scan (no `M x L x N`
    arrays of `Ab_k`); dense systems call [`discretize`][smr_stability.discretization.discretize] for every step, then
    [`simulate_tv`][smr_stability.simulation.simulate_tv].
    """
    sys = as_ssm(system)
    kind, a = resolve_method(method, alpha)
    return_states = check_bool(return_states, "return_states")
    u = _as_input(u, sys.P)
    dt = as_step(dt)
    if dt.ndim < 1 or dt.shape[-1] != u.shape[-2]:
        raise ShapeError(f"dt must have shape (..., L) with L = {u.shape[-2]} (as u); found {dt.shape}.")
    if not sys.diagonal:
        Ab, Bb = discretize(sys.A, sys.B, dt, method=method, alpha=alpha)
        return simulate_tv(Ab, Bb, sys.C, sys.D, u, x0=x0, return_states=return_states)
    if kind == "gbt":
        gbt_denominator(dt[..., None] * sys.A, a)
    batch = np.broadcast_shapes(u.shape[:-2], dt.shape[:-1])
    M, L, N = int(np.prod(batch)), u.shape[-2], sys.N
    dtv = np.broadcast_to(dt, batch + (L,)).reshape(M, L)
    uv = np.broadcast_to(u, batch + (L, sys.P)).reshape(M, L, sys.P)
    x0 = _initial_state(x0, batch, N, np.complex128).astype(np.complex128).reshape(M, N)
    y = np.empty((M, L, sys.Q))
    xs = np.empty((M, L if return_states else 0, N), dtype=np.complex128)
    code = {"zoh": ZOH, "selective": SELECTIVE, "gbt": GBT}[kind]
    lam, Bc, C = (m.astype(np.complex128) for m in (sys.A, sys.B, sys.C))
    scan_diagonal_steps(lam, Bc, C, sys.D, dtv, uv, code, float(a or 0.0), x0, y, xs)
    _finite(y, xs)
    y = y.reshape(batch + (L, sys.Q))
    if not return_states:
        return y
    xs = xs.reshape(batch + (L, N))
    return y, (xs if sys.is_complex else xs.real.copy())
