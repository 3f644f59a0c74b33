"""State Memory Replay (SMR): the reference numpy gate (docs/theory.md §5).

Per channel h, with kernel `m_h` in R^tau and bias `b_h`:

```text
g_{k,h} = sigmoid( sum_{j=0..tau-1} m_{h,j} u_{k-j,h} + b_h ),   u_{k-j} = 0 for k - j < 0,
u~_{k,h} = g_{k,h} u_{k,h},
```

and the SSM runs on `u~`. The gate is causal: `g_k` depends on `u_0..u_k` only. Under
perturbed sampling the error entering the error system (E) is `g~_k u(t~_k) - g_k u(t_k)`.
"""

import numpy as np
from scipy.special import expit

from ._validation import as_array, check_bool
from .errors import ShapeError

__all__ = ["smr_gate"]


def smr_gate(u, m, b=0.0, *, return_gate=False):
    """Gate `u` by a sigmoid of a short causal convolution of itself.

    Parameters
    ----------
    u : array, shape (..., L, H), real
        Input sequences, H channels.
    m : array, shape (H, tau), tau >= 1
        `m[h, j]` weights `u_{k-j, h}` (`j = 0` is the current sample).
    b : float or array of shape (H,)
        Bias inside the sigmoid.
    return_gate : bool
        Also return the gate `g` (same shape as `u`).

    Returns
    -------
    u_tilde : ndarray, same shape as `u`
        `g * u` with `g_{k,h} = sigmoid(sum_j m[h, j] u_{k-j,h} + b_h)`, zero padding.
    g : ndarray, same shape as `u`
        The gate; returned only if `return_gate`.

    Notes
    -----
    Cost O(tau L H). `m = 0` and `b -> +inf` give `g = 1`, the identity.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import smr_gate
    >>> u = np.array([[1.0], [2.0], [3.0]])  # L = 3, H = 1
    >>> m = np.array([[0.0, 1.0]])           # g_k = sigmoid(u_{k-1})
    >>> np.round(smr_gate(u, m), 4)[:, 0]
    array([0.5   , 1.4621, 2.6424])
    """
    return_gate = check_bool(return_gate, "return_gate")
    u = as_array(u, "u", allow_complex=False)
    if u.ndim < 2:
        raise ShapeError(f"u must have shape (..., L, H); found {u.shape}. For one channel use u[..., None].")
    H = u.shape[-1]
    m = as_array(m, "m", allow_complex=False)
    if m.ndim != 2 or m.shape[0] != H:
        raise ShapeError(f"m must have shape (H, tau) = ({H}, tau) for u with H = {H} channels; found {m.shape}.")
    if m.shape[1] < 1:
        raise ShapeError(f"the SMR kernel length tau must be >= 1; found tau = {m.shape[1]} (m of shape {m.shape}).")
    b = as_array(b, "b", allow_complex=False)
    if b.ndim > 1 or (b.ndim == 1 and b.shape[0] != H):
        raise ShapeError(f"b must be a scalar or have shape ({H},); found {b.shape}.")
    z = np.broadcast_to(b, (H,)) + m[:, 0] * u  # (..., L, H)
    for j in range(1, min(m.shape[1], u.shape[-2])):
        z[..., j:, :] += m[:, j] * u[..., :-j, :]  # u_{k-j}; zero padding for k < j
    g = expit(z)
    return (g * u, g) if return_gate else g * u
