"""Scans for diagonal linear recurrences (docs/theory.md §1, variable step), and the selective scan.

`x_k = a_k * x_{k-1} + b_k` with `x_{-1} = 0`. On the CPU it runs as a compiled sequential
loop (numba, in parallel over the batch, with torch's thread count): one pass over the data
forward and one backward. On other devices it runs as the chunked scan: the sequence is cut into `C` chunks of
`T ~ sqrt(L)` steps. Every chunk is scanned from a zero state, all chunks at once (`T`
vectorised steps); the states entering the chunks follow from their last local states and the
chunks' products of `a` (`C` small sequential steps); adding `prod(a) * carry` to each local
state gives `x`. That is `O(sqrt L)` vectorised steps and `O(L N)` work, with no division
by products of `a` (which underflow), so it is as accurate as the plain loop.

The gradient is the adjoint recurrence `g_k = dx_k + conj(a_{k+1}) g_{k+1}`, the same scan
run backwards in time; then `db_k = g_k` and `da_k = g_k conj(x_{k-1})` (torch's convention
for complex gradients). Only `a` and `x` are kept for the backward pass.
"""

import functools
import math

import numpy as np
import torch

from .._scan import recurrence, recurrence_adjoint, selective, selective_adjoint, zoh_gaps, zoh_gaps_adjoint
from ..errors import InputTypeError, MethodError, ShapeError
from .base import check_tensor
from .device import set_threads

__all__ = [
    "linear_scan",
    "linear_scan_reference",
    "phi1",
    "selective_scan",
    "selective_scan_reference",
    "zoh_gap_scan",
]

METHODS = ("auto", "compiled", "chunked")


def _check(a, b):
    check_tensor(a, "a"), check_tensor(b, "b")
    try:
        a, b = torch.broadcast_tensors(a, b)
    except RuntimeError:
        raise ShapeError(
            f"a and b must broadcast to one shape (..., L, N); found {tuple(a.shape)} and {tuple(b.shape)}."
        ) from None
    if a.ndim < 2:
        raise ShapeError(
            f"a and b must have shape (..., L, N) (time along dim -2); found {tuple(a.shape)}. For one state use x[..., None]."
        )
    dtype = torch.result_type(a, b)
    return a.to(dtype), b.to(dtype)


def _chunk_length(L):
    return max(1, math.isqrt(L))


def _scan_forward(a, b):
    """The recurrence along dim -2 for contiguous `a`, `b` of one shape and dtype (no autograd)."""
    L, N = a.shape[-2], a.shape[-1]
    T = _chunk_length(L)
    pad = (-L) % T
    if pad:  # identity steps at the end: a = 1, b = 0
        a = torch.cat([a, a.new_ones(*a.shape[:-2], pad, N)], dim=-2)
        b = torch.cat([b, b.new_zeros(*b.shape[:-2], pad, N)], dim=-2)
    C = a.shape[-2] // T
    a4 = a.reshape(*a.shape[:-2], C, T, N)  # (..., C, T, N)
    b4 = b.reshape(*b.shape[:-2], C, T, N)
    x = torch.empty_like(b4)  # (..., C, T, N)
    x[..., 0, :] = b4[..., 0, :]
    for t in range(1, T):  # every chunk from a zero state, all chunks at once
        x[..., t, :] = a4[..., t, :] * x[..., t - 1, :] + b4[..., t, :]
    if C > 1:
        P = torch.cumprod(a4, dim=-2)  # products of a within each chunk: (..., C, T, N)
        carry = torch.zeros_like(x[..., 0, :])  # the state entering each chunk: (..., C, N)
        for c in range(1, C):
            carry[..., c, :] = P[..., c - 1, -1, :] * carry[..., c - 1, :] + x[..., c - 1, -1, :]
        x += P * carry[..., None, :]
    return x.reshape(*x.shape[:-3], C * T, N)[..., :L, :]


def _np(t):
    """A contiguous CPU tensor as a numpy array sharing its memory, flattened to (M, L, N)."""
    return t.detach().reshape(-1, *t.shape[-2:]).numpy()


def _compiled_forward(a, b):
    x = torch.empty_like(b)
    set_threads()
    recurrence(_np(a), _np(b), _np(x))
    return x


def _compiled_adjoint(a, x, dx):
    da, db = torch.empty_like(a), torch.empty_like(a)
    set_threads()
    recurrence_adjoint(_np(a), _np(x), _np(dx.contiguous()), _np(da), _np(db))
    return da, db


def _chunked_adjoint(a, x, dx):
    a_next = torch.cat([a[..., 1:, :], torch.zeros_like(a[..., :1, :])], dim=-2).conj()  # conj(a_{k+1})
    g = _scan_forward(a_next.flip(-2), dx.flip(-2).contiguous()).flip(-2)  # g_k, backwards in time
    x_prev = torch.cat([torch.zeros_like(x[..., :1, :]), x[..., :-1, :]], dim=-2)  # x_{k-1}
    return g * x_prev.conj(), g


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, compiled):
        x = _compiled_forward(a, b) if compiled else _scan_forward(a, b)
        ctx.compiled = compiled
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dx):
        a, x = ctx.saved_tensors
        da, db = (_compiled_adjoint if ctx.compiled else _chunked_adjoint)(a, x, dx)
        return da, db, None


_COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def _use_compiled(method, *tensors):
    """Whether `method` runs the compiled CPU kernels on `tensors`: 'compiled' always (or an
    error where it cannot), 'auto' where every tensor is on the CPU in a dtype the kernels take
    (float32/64, complex64/128), 'chunked' never."""
    if method not in METHODS:
        raise MethodError(f"method must be one of {METHODS}; found {method!r}.")
    on_cpu = all(t.device.type == "cpu" for t in tensors)
    dtypes_ok = all(t.dtype in _COMPILED_DTYPES for t in tensors)
    if method == "compiled" and not on_cpu:
        raise MethodError("method='compiled' runs on the CPU only; use method='auto' or 'chunked' on other devices.")
    if method == "compiled" and not dtypes_ok:
        found = sorted({str(t.dtype) for t in tensors if t.dtype not in _COMPILED_DTYPES})
        raise InputTypeError(
            f"method='compiled' takes float32/64 or complex64/128 tensors; found {', '.join(found)}. "
            "Convert them, or use method='chunked'."
        )
    return method == "compiled" or (method == "auto" and on_cpu and dtypes_ok)


def linear_scan(a, b, method="auto"):
    """`x_k = a_k * x_{k-1} + b_k` (`x_{-1} = 0`) along dim -2.

    Parameters
    ----------
    a : tensor, shape (..., L, N), real or complex
        Diagonal (elementwise) transition per step, e.g. `Ab_k`.
    b : tensor, shape (..., L, N), real or complex
        Input term per step, e.g. `Bb_k u_k`. `a` and `b` broadcast.
    method : {'auto', 'compiled', 'chunked'}
        'compiled': the sequential loop, compiled (CPU only); 'chunked': the chunked scan of the
        module docstring (any device); 'auto' (default): compiled on the CPU, chunked elsewhere.

    Returns
    -------
    x : tensor, shape (..., L, N)
        Its dtype is promoted from those of `a` and `b`.

    Notes
    -----
    Both methods do `O(L N)` work with no division by products of `a` (which underflow), so
    they are as accurate as the plain loop. Differentiable once: the backward pass is the
    adjoint scan `g_k = dx_k + conj(a_{k+1}) g_{k+1}` (no double backward). The sequential
    [`linear_scan_reference`][smr_stability.nn.linear_scan_reference] is the oracle both are tested against.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.rand(2, 7, 3, dtype=torch.float64), torch.randn(2, 7, 3, dtype=torch.float64)
    >>> bool(torch.allclose(linear_scan(a, b), linear_scan_reference(a, b)))
    True
    """
    a, b = _check(a, b)
    compiled = _use_compiled(method, a, b)
    if a.shape[-2] == 0:  # an empty sequence: no steps, no states
        return b.clone()
    return _LinearScan.apply(a.contiguous(), b.contiguous(), compiled)


def linear_scan_reference(a, b):
    """The plain Python loop `x = a[k] * x + b[k]`: the oracle for [`linear_scan`][smr_stability.nn.linear_scan].

    Same parameters and result as [`linear_scan`][smr_stability.nn.linear_scan]; O(L) sequential steps.
    """
    a, b = _check(a, b)
    if a.shape[-2] == 0:
        return b.clone()
    x = torch.zeros_like(b[..., 0, :])
    xs = []
    for k in range(a.shape[-2]):
        x = a[..., k, :] * x + b[..., k, :]
        xs.append(x)
    return torch.stack(xs, dim=-2)


class _SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, delta, A, Bk, Ck, u):
        Ab = torch.exp(delta[..., None] * A)  # (B L H N)
        xs = torch.empty_like(Ab)  # (B L H N)
        y = torch.empty_like(u)  # (B L H)
        set_threads()
        selective(Ab.numpy(), delta.numpy(), Bk.numpy(), Ck.numpy(), u.numpy(), xs.numpy(), y.numpy())
        ctx.save_for_backward(Ab, A, delta, Bk, Ck, u, xs)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        Ab, A, delta, Bk, Ck, u, xs = ctx.saved_tensors
        Bn, L, H, N = Ab.shape
        d_delta, du = torch.empty_like(delta), torch.empty_like(u)  # (B L H)
        dA = A.new_empty(Bn, H, N)  # (B H N): per batch, summed below
        dB, dC = torch.empty_like(Bk), torch.empty_like(Ck)  # (B L N)
        arrays = (Ab, A, delta, Bk, Ck, u, xs, dy.contiguous(), d_delta, dA, dB, dC, du)
        set_threads()
        selective_adjoint(*(t.numpy() for t in arrays))
        return d_delta, dA.sum(0), dB, dC, du


def _check_selective(delta, A, Bk, Ck, u):
    for name, x in zip(("delta", "A", "Bk", "Ck", "u"), (delta, A, Bk, Ck, u)):
        check_tensor(x, name)
    if u.ndim != 3 or delta.shape != u.shape or A.ndim != 2 or A.shape[0] != u.shape[-1]:
        raise ShapeError(
            "selective_scan needs delta, u (B, L, H), A (H, N), Bk, Ck (B, L, N); found "
            f"delta {tuple(delta.shape)}, A {tuple(A.shape)}, Bk {tuple(Bk.shape)}, Ck {tuple(Ck.shape)}, u {tuple(u.shape)}."
        )
    if Bk.shape != (*u.shape[:2], A.shape[1]) or Ck.shape != Bk.shape:
        raise ShapeError(
            f"Bk and Ck must have shape (B, L, N) = {(*u.shape[:2], A.shape[1])}; found {tuple(Bk.shape)} and {tuple(Ck.shape)}."
        )
    tensors = (delta, A, Bk, Ck, u)
    if any(t.is_complex() for t in tensors):
        raise InputTypeError("selective_scan is real (Mamba's S6); found a complex input. Pass real tensors.")
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return tuple(t.to(dtype) for t in tensors)


def selective_scan(delta, A, Bk, Ck, u, method="auto"):
    """Mamba's selective scan: per batch and channel `h`, with `Ab_k = exp(delta_k A_h)`,

    `x_k = Ab_k x_{k-1} + delta_k B_k u_k` (`x_{-1} = 0`) and `y_k = C_k . x_k`.

    Parameters
    ----------
    delta : tensor, shape (B, L, H)
        Steps (positive).
    A : tensor, shape (H, N)
        Diagonal continuous state matrices, one row per channel.
    Bk, Ck : tensor, shape (B, L, N)
        Input and output vectors per step, shared over channels.
    u : tensor, shape (B, L, H)
        Input.
    method : {'auto', 'compiled', 'chunked'}
        'compiled': one fused kernel forward and one backward (CPU only) that stores only
        `Ab` and the states, two (B, L, H, N) tensors; 'chunked': `Ab`, `delta B u` built
        by torch and run through [`linear_scan`][smr_stability.nn.linear_scan] (any device); 'auto':
        compiled on the CPU.

    Returns
    -------
    y : tensor, shape (B, L, H), real
        Without the skip term `D u`.

    Notes
    -----
    The compiled backward pass runs the adjoint `g_k = dy_k C_k + Ab_{k+1} g_{k+1}` and
    accumulates in float64. Differentiable once. The oracle is
    [`selective_scan_reference`][smr_stability.nn.selective_scan_reference].
    """
    delta, A, Bk, Ck, u = _check_selective(delta, A, Bk, Ck, u)
    if not _use_compiled(method, delta, A, Bk, Ck, u):
        return _selective_torch(delta, A, Bk, Ck, u, lambda a, b: linear_scan(a, b, method=method))
    if u.shape[1] == 0:
        return u.clone()
    return _SelectiveScan.apply(*(t.contiguous() for t in (delta, A, Bk, Ck, u)))


def _selective_torch(delta, A, Bk, Ck, u, scan):
    d = delta.transpose(1, 2)[..., None]  # (B H L 1)
    Ab = torch.exp(d * A[:, None, :])  # (B H L N)
    Bu = d * Bk[:, None] * u.transpose(1, 2)[..., None]  # (B H L N)
    x = scan(Ab, Bu)  # (B H L N)
    return torch.einsum("bhln,bln->blh", x, Ck)  # (B L H)


def selective_scan_reference(delta, A, Bk, Ck, u):
    """The selective scan of [`selective_scan`][smr_stability.nn.selective_scan] as torch ops and a
    plain loop over time: its oracle."""
    delta, A, Bk, Ck, u = _check_selective(delta, A, Bk, Ck, u)
    return _selective_torch(delta, A, Bk, Ck, u, linear_scan_reference)


def phi1(z):
    """`(exp(z) - 1) / z` for a complex tensor, accurate for small `|z|` (as the core's zoh)."""
    small = z.abs() < 1e-5
    zs = torch.where(small, torch.ones_like(z), z)  # no 0/0 in either branch (or its gradient)
    x, y = zs.real, zs.imag
    expm1 = torch.complex(torch.expm1(x) * torch.cos(y) - 2.0 * torch.sin(0.5 * y) ** 2, torch.exp(x) * torch.sin(y))
    taylor = 1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0
    return torch.where(small, taylor, expm1 / zs)


class _ZohGapScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, lam, step, gaps, Bu):
        x = torch.empty_like(Bu)  # (B L N)
        args = (lam.detach().cpu().numpy().astype(np.complex128), step.detach().cpu().numpy().astype(np.float64))
        args += (gaps.detach().numpy().astype(np.float64), Bu.detach().numpy())
        set_threads()
        zoh_gaps(*args, x.numpy())
        ctx.save_for_backward(lam, step, gaps, Bu, x)
        ctx.args = args
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dx):
        lam, step, gaps, Bu, x = ctx.saved_tensors
        Bn, N = Bu.shape[0], Bu.shape[-1]
        dBu = torch.empty_like(Bu)  # (B L N)
        dlam = np.empty((Bn, N), np.complex128)  # per batch, summed below
        dstep = np.empty((Bn, step.shape[0]))
        dgaps = np.empty(gaps.shape)  # (B L)
        set_threads()
        zoh_gaps_adjoint(*ctx.args, x.numpy(), dx.contiguous().numpy(), dBu.numpy(), dlam, dstep, dgaps)
        return (
            torch.from_numpy(dlam.sum(0)).to(lam.dtype),
            torch.from_numpy(dstep.sum(0)).to(step.dtype),
            torch.from_numpy(dgaps).to(gaps.dtype),
            dBu,
        )


def zoh_gap_scan(lam, step, gaps, Bu, method="auto"):
    """The zoh recurrence of a diagonal system over per-step gaps, discretized as it scans:

    `d_k = gaps_k step`, `x_k = exp(d_k lam) x_{k-1} + d_k phi1(d_k lam) Bu_k` (`x_{-1} = 0`).

    Parameters
    ----------
    lam : tensor, shape (N,), complex
        Continuous eigenvalues.
    step : tensor, shape (1,) or (N,), real
        The learned step, one for all states or one per state; it scales the gaps.
    gaps : tensor, shape (B, L), real
        Gaps between the samples.
    Bu : tensor, shape (B, L, N), complex
        `B u_k` (before the discretization).
    method : {'auto', 'compiled', 'chunked'}
        'compiled' (CPU only): one kernel forward and one backward, which compute the zoh
        coefficients in complex128 as they scan and keep only the states; 'chunked': torch ops
        and [`linear_scan`][smr_stability.nn.linear_scan] (any device); 'auto': compiled on the CPU.

    Returns
    -------
    x : tensor, shape (B, L, N)
        The dtype of `Bu`.
    """
    for name, x in zip(("lam", "step", "gaps", "Bu"), (lam, step, gaps, Bu)):
        check_tensor(x, name)
    if Bu.ndim != 3 or gaps.shape != Bu.shape[:2] or lam.shape != Bu.shape[-1:] or step.shape not in ((1,), lam.shape):
        raise ShapeError(
            "zoh_gap_scan needs lam (N,), step (1,) or (N,), gaps (B, L), Bu (B, L, N); found "
            f"lam {tuple(lam.shape)}, step {tuple(step.shape)}, gaps {tuple(gaps.shape)}, Bu {tuple(Bu.shape)}."
        )
    if not (lam.is_complex() and Bu.is_complex()) or step.is_complex() or gaps.is_complex():
        raise InputTypeError(
            "zoh_gap_scan needs complex lam and Bu and real step and gaps; found dtypes "
            f"lam {lam.dtype}, step {step.dtype}, gaps {gaps.dtype}, Bu {Bu.dtype}. Cast them (e.g. Bu.to(torch.complex64))."
        )
    if _use_compiled(method, lam, step, gaps, Bu) and Bu.shape[1] > 0:
        return _ZohGapScan.apply(lam, step, gaps, Bu.contiguous())
    s = gaps[..., None] * step  # (B L 1) or (B L N)
    z = s * lam  # (B L N)
    return linear_scan(torch.exp(z), Bu * (s * phi1(z)), method=method)  # (B L N)
