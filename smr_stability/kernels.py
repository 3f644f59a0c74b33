"""Convolution kernels `K_k = C Ab^k Bb` and the causal FFT convolution `y = K * u`.

Shape legend: S system batch, L length, N state, P inputs, Q outputs. A diagonal `Ab` is
the vector of its diagonal, shape S + (N,); a dense one has shape S + (N, N). `Bb` always
carries its input axis, S + (N, P), except that a 1-D `Ab` (N,) may come with a 1-D `Bb`
(N,) for a single input. Recognising diagonal from dense therefore needs no flag:
`Bb.ndim == Ab.ndim + 1` is diagonal, `Bb.ndim == Ab.ndim` is dense.
"""

import numpy as np
import scipy.fft

from ._validation import as_array, check_int, check_memory
from .errors import NonFiniteError, ShapeError

__all__ = ["ssm_kernel", "causal_conv"]


def system_arrays(Ab, Bb, C):
    """Validate and normalise a discrete system `(Ab, Bb, C)` (shapes as in the module legend).

    Returns
    -------
    Ab : ndarray, shape S + (N,) (diagonal) or S + (N, N) (dense)
    Bb : ndarray, shape S + (N, P)
    C : ndarray, shape S' + (Q, N)
    diagonal : bool

    Raises
    ------
    ShapeError, NonFiniteError, InputTypeError
    """
    Ab = as_array(Ab, "Ab")
    Bb = as_array(Bb, "Bb")
    C = as_array(C, "C", ndim=None)
    if Ab.ndim == 0:
        raise ShapeError(
            "Ab must be (..., N) for a diagonal or (..., N, N) for a dense system; found a scalar. Use Ab=[a] for N = 1."
        )
    if Ab.ndim == 1 and Bb.ndim == 1:
        Bb = Bb[:, None]
    diagonal = Bb.ndim == Ab.ndim + 1
    if not diagonal and Bb.ndim != Ab.ndim:
        raise ShapeError(
            f"Bb must have shape S+(N, P) with Ab of shape S+(N,) (diagonal) or S+(N, N) (dense); "
            f"found Ab {Ab.shape} and Bb {Bb.shape}. Give Bb its input axis P (e.g. Bb[..., None])."
        )
    N = Ab.shape[-1]
    if not diagonal and Ab.shape[-2] != N:
        raise ShapeError(f"a dense Ab must be square in its last two axes; found {Ab.shape}.")
    if Bb.shape[-2] != N:
        raise ShapeError(f"Bb must have N = {N} rows (as Ab) in axis -2; found Bb {Bb.shape}.")
    C = C[None, :] if C.ndim == 1 else C
    if C.ndim < 2 or C.shape[-1] != N:
        raise ShapeError(f"C must have shape (..., Q, N) with N = {N}; found {C.shape}.")
    return Ab, Bb, C, diagonal


def ssm_kernel(Ab, Bb, C, L):
    """The convolution kernel `K_k = C Ab^k Bb` for `k = 0, ..., L-1`.

    Parameters
    ----------
    Ab : array, shape S + (N,) (diagonal) or S + (N, N) (dense)
    Bb : array, shape S + (N, P) (or (N,) with a 1-D Ab)
    C : array, shape (Q, N), (N,), or batched S + (Q, N)
    L : int
        Kernel length.

    Returns
    -------
    K : ndarray, shape S + (L, Q, P)
        Complex if any input is complex.

    Notes
    -----
    Diagonal path: `K_k = sum_n C_qn mu_n^k Bb_np` with `mu_n^k` evaluated as
    `exp(k log mu_n)` (a Vandermonde matrix, several times faster than `mu**k`); O(S N L P Q).
    Dense path: repeated matrix-vector products `X_{k+1} = Ab X_k`, `X_0 = Bb`; O(S N^2 L P).
    With the deep-SSM recurrence `x_k = Ab x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k`,
    `y = Re(K) * u + D u` (see [`causal_conv`][smr_stability.kernels.causal_conv]).

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import ssm_kernel
    >>> K = ssm_kernel(np.array([0.5]), np.array([2.0]), np.array([1.0]), 4)
    >>> K[:, 0, 0]
    array([2.  , 1.  , 0.5 , 0.25])
    """
    L = check_int(L, "L", 0, error=ShapeError)
    Ab, Bb, C, diagonal = system_arrays(Ab, Bb, C)
    try:
        S = np.broadcast_shapes(Ab.shape[: Ab.ndim - (1 if diagonal else 2)], Bb.shape[:-2], C.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"Ab, Bb, C: expected batch shapes that broadcast; found Ab {Ab.shape}, Bb {Bb.shape}, C {C.shape}."
        ) from None
    n = int(np.prod(S, dtype=np.float64)) * L * (C.shape[-2] * Bb.shape[-1] + (Ab.shape[-1] if diagonal else 0))
    check_memory(16 * n, f"a kernel of L = {L} lags", "Use a shorter L or fewer systems at once.")
    with np.errstate(over="ignore", invalid="ignore"):
        K = (_kernel_diagonal if diagonal else _kernel_dense)(Ab, Bb, C, L)
    if not np.all(np.isfinite(K)):
        k = int(np.argwhere(~np.isfinite(K))[0][-3])
        raise NonFiniteError(
            f"the kernel overflowed float64 at lag k = {k}: expected finite C Ab^k Bb, found inf/nan. "
            "Ab is unstable (spectral radius >= 1) over this length; use a shorter L or a stable Ab."
        )
    return K


def _kernel_diagonal(mu, Bb, C, L):
    k = np.arange(L)
    zero = mu == 0  # mu^k = [k == 0] exactly; log(0) would give nan at k = 0
    logmu = np.log(np.where(zero, 1.0, mu).astype(np.complex128))  # S + (N,)
    V = np.exp(logmu[..., :, None] * k)  # S + (N, L)
    V[zero] = k == 0
    K = np.einsum("...qn,...nl,...np->...lqp", C, V, Bb, optimize=True)  # S + (L, Q, P)
    if not (np.iscomplexobj(mu) or np.iscomplexobj(Bb) or np.iscomplexobj(C)):
        K = K.real.copy()
    return K


def _kernel_dense(Ab, Bb, C, L):
    S = np.broadcast_shapes(Ab.shape[:-2], Bb.shape[:-2], C.shape[:-2])
    Q, P = C.shape[-2], Bb.shape[-1]
    dtype = np.result_type(Ab, Bb, C)
    K = np.empty(S + (L, Q, P), dtype=dtype)
    X = np.broadcast_to(Bb, S + Bb.shape[-2:])
    for k in range(L):
        K[..., k, :, :] = C @ X  # S + (Q, P)
        X = Ab @ X  # S + (N, P)
    return K


def causal_conv(K, u):
    """Causal convolution `y_k = sum_{j=0..k} K_j u_{k-j}` by FFT, batched.

    Parameters
    ----------
    K : array, shape S + (L, Q, P)
        Kernel (e.g. from [`ssm_kernel`][smr_stability.kernels.ssm_kernel]). Only its real part is
        used when `u` is real, since `Re(K * u) = Re(K) * u`, which is the deep-SSM output
        `y = Re(C x)`.
    u : array, shape T + (L, P)
        Real input; `S` and `T` broadcast.

    Returns
    -------
    y : ndarray, shape broadcast(S, T) + (L, Q)

    Notes
    -----
    Zero-pads to `n >= 2L - 1` (`scipy.fft.next_fast_len`) so the circular convolution is
    the linear one; O(L log L) per pair of channels. Kernels shorter than `L` are
    zero-padded; longer ones are truncated.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import causal_conv
    >>> K = np.array([1.0, 0.5, 0.25])[:, None, None]
    >>> u = np.array([1.0, 0.0, 2.0])[:, None]
    >>> np.round(causal_conv(K, u)[:, 0], 12)
    array([1.  , 0.5 , 2.25])
    """
    K = as_array(K, "K")
    u = as_array(u, "u", allow_complex=False)
    if K.ndim < 3:
        raise ShapeError(f"K must have shape (..., L, Q, P); found {K.shape}.")
    if u.ndim < 2 or u.shape[-1] != K.shape[-1]:
        raise ShapeError(f"u must have shape (..., L, P) with P = {K.shape[-1]} (as K); found {u.shape}.")
    return causal_conv_unchecked(K, u)


def causal_conv_unchecked(K, u, keep_imag=False):
    """[`causal_conv`][smr_stability.kernels.causal_conv] on arrays already validated, without the checks.

    Parameters
    ----------
    K : ndarray, shape S + (L', Q, P)
    u : ndarray, shape T + (L, P), real
    keep_imag : bool
        Convolve a complex `K` fully (real and imaginary parts) instead of its real part.

    Returns
    -------
    y : ndarray, shape broadcast(S, T) + (L, Q)
        Complex if `keep_imag` and `K` is complex.
    """
    L = u.shape[-2]
    K = K[..., :L, :, :]
    n = scipy.fft.next_fast_len(2 * L - 1, real=True) if L else 1
    if K.shape[:-3] == () and K.shape[-2:] == (1, 1) and L:  # one SISO kernel for the whole batch

        def conv(k):
            return _conv_rows(k, u[..., 0].reshape(-1, L), n).reshape(u.shape[:-1] + (1,))

        return (
            conv(K.real[:, 0, 0]) + 1j * conv(K.imag[:, 0, 0])
            if keep_imag and np.iscomplexobj(K)
            else conv(K.real[:, 0, 0])
        )
    uf = scipy.fft.rfft(u, n=n, axis=-2, workers=-1)  # T + (F, P)
    parts = [K.real, K.imag] if keep_imag and np.iscomplexobj(K) else [K.real]
    ys = []
    for i, Kp in enumerate(parts):
        Kf = scipy.fft.rfft(Kp, n=n, axis=-3, workers=-1)  # S + (F, Q, P)
        if Kp.shape[-1] > 1:
            yf = np.einsum("...fqp,...fp->...fq", Kf, uf)
        elif i == len(parts) - 1 and np.broadcast_shapes(uf.shape, Kf.shape[:-1]) == uf.shape:
            yf = np.multiply(uf, Kf[..., 0], out=uf)  # last use of uf: in place, no new array
        else:
            yf = Kf[..., 0] * uf  # (F, Q) * (F, 1)
        y = scipy.fft.irfft(yf, n=n, axis=-2, workers=-1, overwrite_x=True)  # M + (n, Q)
        ys.append(y[..., :L, :])
    return ys[0] if len(ys) == 1 else ys[0] + 1j * ys[1]


def _conv_rows(k, u, n, rows=64):
    """Causal convolution of each row of `u` (M, L) with one real kernel `k` (L,).

    Rows go through the FFTs in blocks that reuse one zero-padded buffer: the same arithmetic
    as one big transform, without allocating (and page-faulting) three M x n arrays.
    """
    M, L = u.shape
    kf = scipy.fft.rfft(k, n=n)  # (F,)
    y = np.empty((M, L))
    buf = np.zeros((min(rows, M), n))  # columns L: stay zero
    for s in range(0, M, rows):
        r = min(rows, M - s)
        buf[:r, :L] = u[s : s + r]
        uf = scipy.fft.rfft(buf[:r], axis=-1, workers=-1)  # (r, F)
        uf *= kf
        y[s : s + r] = scipy.fft.irfft(uf, n=n, axis=-1, workers=-1, overwrite_x=True)[:, :L]
    return y
