"""Chunked scan for diagonal linear recurrences (docs/theory.md §1, variable step).

``x_k = a_k * x_{k-1} + b_k`` with ``x_{-1} = 0``. The sequence is cut into ``C`` chunks of
``T ~ sqrt(L)`` steps. Every chunk is scanned from a zero state, all chunks at once (``T``
vectorised steps); the states entering the chunks follow from their last local states and the
chunks' products of ``a`` (``C`` small sequential steps); adding ``prod(a) * carry`` to each local
state gives ``x``. That is ``O(sqrt L)`` vectorised steps and ``O(L N)`` work, with no division
by products of ``a`` (which underflow), so it is as accurate as the plain loop.

The gradient is the adjoint recurrence ``g_k = dx_k + conj(a_{k+1}) g_{k+1}``, the same scan
run backwards in time; then ``db_k = g_k`` and ``da_k = g_k conj(x_{k-1})`` (torch's convention
for complex gradients). Only ``a`` and ``x`` are kept for the backward pass.
"""

import math

import torch

from ..errors import ShapeError

__all__ = ["linear_scan", "linear_scan_reference"]


def _check(a, b):
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
    """The recurrence along dim -2 for contiguous ``a``, ``b`` of one shape and dtype (no autograd)."""
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


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        x = _scan_forward(a, b)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dx):
        a, x = ctx.saved_tensors
        a_next = torch.cat([a[..., 1:, :], torch.zeros_like(a[..., :1, :])], dim=-2).conj()  # conj(a_{k+1})
        g = _scan_forward(a_next.flip(-2), dx.flip(-2).contiguous()).flip(-2)  # g_k, backwards in time
        x_prev = torch.cat([torch.zeros_like(x[..., :1, :]), x[..., :-1, :]], dim=-2)  # x_{k-1}
        return g * x_prev.conj(), g


def linear_scan(a, b):
    """``x_k = a_k * x_{k-1} + b_k`` (``x_{-1} = 0``) along dim -2, by the chunked scan.

    Parameters
    ----------
    a : tensor, shape (..., L, N), real or complex
        Diagonal (elementwise) transition per step, e.g. ``Ab_k``.
    b : tensor, shape (..., L, N), real or complex
        Input term per step, e.g. ``Bb_k u_k``. ``a`` and ``b`` broadcast.

    Returns
    -------
    x : tensor, shape (..., L, N), dtype promoted from ``a`` and ``b``

    Notes
    -----
    The chunked scan of the module docstring: ``O(sqrt L)`` vectorised steps, ``O(L N)`` work,
    memory for ``x`` and the chunks' products. Differentiable once (a custom backward pass, the
    adjoint scan; no double backward). The sequential :func:`linear_scan_reference` is the
    oracle it is tested against.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.rand(2, 7, 3, dtype=torch.float64), torch.randn(2, 7, 3, dtype=torch.float64)
    >>> bool(torch.allclose(linear_scan(a, b), linear_scan_reference(a, b)))
    True
    """
    a, b = _check(a, b)
    if a.shape[-2] == 0:  # an empty sequence: no steps, no states
        return b.clone()
    return _LinearScan.apply(a.contiguous(), b.contiguous())


def linear_scan_reference(a, b):
    """The plain Python loop ``x = a[k] * x + b[k]``: the oracle for :func:`linear_scan`.

    Same parameters and result as :func:`linear_scan`; O(L) sequential steps.
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
