"""Parallel associative scan for diagonal linear recurrences (docs/theory.md §1, variable step).

``x_k = a_k * x_{k-1} + b_k`` with ``x_{-1} = 0`` is the prefix "sum" of the pairs ``(a_k, b_k)``
under the associative operator

    (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2),

so it runs in ``ceil(log2 L)`` vectorised steps instead of ``L`` sequential ones.
"""

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


def linear_scan(a, b):
    """``x_k = a_k * x_{k-1} + b_k`` (``x_{-1} = 0``) along dim -2, by a log-depth parallel scan.

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
    Hillis-Steele doubling: after the step with offset ``s`` every position holds the
    composition of the (up to) ``2 s`` pairs ending at it, so after ``ceil(log2 L)`` steps ``b``
    holds ``x``. Out-of-place, so autograd differentiates it. Work O(L log L N), depth O(log L);
    the sequential :func:`linear_scan_reference` is the oracle it is tested against.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.rand(2, 7, 3, dtype=torch.float64), torch.randn(2, 7, 3, dtype=torch.float64)
    >>> bool(torch.allclose(linear_scan(a, b), linear_scan_reference(a, b)))
    True
    """
    a, b = _check(a, b)
    L, s = a.shape[-2], 1
    while s < L:
        # pair k <- pair (k - s) o pair k, for k >= s; the first s positions are already complete
        b = torch.cat([b[..., :s, :], a[..., s:, :] * b[..., :-s, :] + b[..., s:, :]], dim=-2)
        a = torch.cat([a[..., :s, :], a[..., s:, :] * a[..., :-s, :]], dim=-2)
        s *= 2
    return b


def linear_scan_reference(a, b):
    """The plain Python loop ``x = a[k] * x + b[k]``: the oracle for :func:`linear_scan`.

    Same parameters and result as :func:`linear_scan`; O(L) sequential steps.
    """
    a, b = _check(a, b)
    x = torch.zeros_like(b[..., 0, :])
    xs = []
    for k in range(a.shape[-2]):
        x = a[..., k, :] * x + b[..., k, :]
        xs.append(x)
    return torch.stack(xs, dim=-2) if xs else b.clone()
