"""Compiled sequential scans of the deep-SSM recurrence (numba).

Each kernel runs `x_k = Ab_k x_{k-1} + Bb_k u_k`, `y_k = Re(C x_k) + D u_k` over a batch
of M independent trajectories, in parallel over the batch (each kernel also has a serial build,
taken on one numba thread: `smr_stability._jit`). Fixed-step systems are passed as
zero-stride views along the time axis, so one kernel serves fixed and variable steps.
The plain-Python oracle these are tested against is
[`smr_stability.simulation.simulate_reference`][smr_stability.simulation.simulate_reference].
"""

import math

import numba
import numpy as np

from ._jit import kernel
from ._vecmath import expm1_exp, sincos_vers


@kernel
def scan_diagonal(Ab, Bb, u, C, D, x0, y, xs):  # pragma: no cover - compiled
    """Ab (M, L, N), Bb (M, L, N, P), u (M, L, P), C (M, Q, N), D (Q, P), x0 (M, N),
    y (M, L, Q) out, xs (M, L or 0, N) out."""
    M, L, P = u.shape
    N = x0.shape[1]
    store = xs.shape[1] > 0
    for m in numba.prange(M):
        x = x0[m].copy()
        for k in range(L):
            for n in range(N):
                acc = Ab[m, k, n] * x[n]
                for p in range(P):
                    acc += Bb[m, k, n, p] * u[m, k, p]
                x[n] = acc
            _output(C[m], D, x, u[m, k], y[m, k])
            if store:
                xs[m, k, :] = x


@kernel
def scan_dense(Ab, Bb, u, C, D, x0, y, xs):  # pragma: no cover - compiled
    """As `scan_diagonal` with Ab (M, L, N, N)."""
    M, L, P = u.shape
    N = x0.shape[1]
    store = xs.shape[1] > 0
    for m in numba.prange(M):
        x = x0[m].copy()
        xn = np.empty_like(x)
        for k in range(L):
            for i in range(N):
                acc = Ab[m, k, i, 0] * x[0]
                for j in range(1, N):
                    acc += Ab[m, k, i, j] * x[j]
                for p in range(P):
                    acc += Bb[m, k, i, p] * u[m, k, p]
                xn[i] = acc
            x[:] = xn
            _output(C[m], D, x, u[m, k], y[m, k])
            if store:
                xs[m, k, :] = x


@numba.njit(cache=True, inline="always")
def _output(C, D, x, uk, yk):  # pragma: no cover - compiled
    Q, N = C.shape
    P = uk.shape[0]
    for q in range(Q):
        s = 0.0
        for n in range(N):
            s += (C[q, n] * x[n]).real
        for p in range(P):
            s += D[q, p] * uk[p]
        yk[q] = s


ZOH, SELECTIVE, GBT = 0, 1, 2


@numba.njit(cache=True, inline="always")
def _zoh_coefficients(d, lam, inv_lam):  # pragma: no cover - compiled
    """`(exp(d lam), (exp(d lam) - 1)/lam)` without cancellation for small `d lam`.

    One call of exp or expm1 (whichever is exact for the range), one sin/cos pair, and
    `1 - cos t` as `sin^2 t/(1 + cos t)` when `cos t > 0`.
    """
    x, t = d * lam.real, d * lam.imag
    if x < -0.5:
        ex = math.exp(x)
        em1 = ex - 1.0
    else:
        em1 = math.expm1(x)
        ex = em1 + 1.0
    if t == 0.0:
        c, s, omc = 1.0, 0.0, 0.0
    else:
        c, s = math.cos(t), math.sin(t)
        omc = s * s / (1.0 + c) if c > 0 else 1.0 - c
    mu = complex(ex * c, ex * s)
    if abs(x) < 1e-5 and abs(t) < 1e-5:  # Taylor series of d*phi1(z): no 1/lam overflow, error < 1e-21
        z = complex(x, t)
        return mu, d * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z / 24.0)))
    return mu, complex(em1 * c - omc, ex * s) * inv_lam


@numba.njit(cache=True)
def _inverse(lam):  # pragma: no cover - compiled
    """`1 / lam` elementwise, 0 where `lam = 0` (those modes never use it)."""
    inv = np.empty_like(lam)
    for n in range(lam.shape[0]):
        inv[n] = 1.0 / lam[n] if lam[n] != 0 else 0.0
    return inv


# The zoh branch of scan_diagonal_steps runs in blocks of steps: mu = exp(d lam) and
# scale = (exp(d lam) - 1)/lam for every mode of a block in branch-free loops that LLVM
# vectorises (numba's math.exp/sin/cos are scalar libm calls: no SVML here), then the recurrence
# over the block. expm1_exp and sincos_vers are checked against math.* in tests/test_simulation.py.


_ZOH_BLOCK = 32  # steps per block: the four coefficient buffers (32 x N float64 each) stay in cache
_ZOH_T_MAX = 1e5  # |d Im lam| up to which sincos_vers applies
_ZOH_X_MAX = 700.0  # |d Re lam| up to which expm1_exp applies
_ZOH_Z_MIN = 1e-290  # |d lam| from which (exp(d lam) - 1) * (1/lam) loses nothing to subnormals


@numba.njit(cache=True, fastmath={"contract"})
def _zoh_block(dt, lr, li, ir, ii, same_re, mr, mi, sr, si):  # pragma: no cover - compiled
    """zoh coefficients of the steps dt (K,) for all modes, out (K, N): `mu = exp(d lam)` in
    (mr, mi), `scale = (exp(d lam) - 1) * (1/lam)` in (sr, si); lam = lr + i li, 1/lam = ir + i ii.

    Valid for the modes whose steps lie in the range `_zoh_range` gives (the others are
    overwritten); exp first (its results parked in mr, sr), then sin/cos: two loops with fewer
    live constants than one. `same_re`: all `lr` are equal (S4D's and S5's -1/2), so one exp
    per step serves every mode (the same argument `d * lr[n]`: the same result).
    """
    N = lr.shape[0]
    for j in range(dt.shape[0]):
        d = dt[j]
        if same_re:
            em1, ex = expm1_exp(d * lr[0])
            sr[j, :] = em1
            mr[j, :] = ex
        else:
            for n in range(N):
                sr[j, n], mr[j, n] = expm1_exp(d * lr[n])
    for j in range(dt.shape[0]):
        d = dt[j]
        for n in range(N):
            s, c, omc = sincos_vers(d * li[n])
            em1, ex = sr[j, n], mr[j, n]
            ar, ai = em1 * c - omc, ex * s  # exp(d lam) - 1 = e^x cos t - 1 + i e^x sin t
            mr[j, n], mi[j, n] = ex * c, ai
            sr[j, n], si[j, n] = ar * ir[n] - ai * ii[n], ar * ii[n] + ai * ir[n]


@numba.njit(cache=True)
def _zoh_block_scalar(dt, lam, inv_lam, modes, mr, mi, sr, si):  # pragma: no cover - compiled
    """As `_zoh_block` for the listed modes only, by `_zoh_coefficients` (any d lam)."""
    for j in range(dt.shape[0]):
        for n in modes:
            mu, scale = _zoh_coefficients(dt[j], lam[n], inv_lam[n])
            mr[j, n], mi[j, n], sr[j, n], si[j, n] = mu.real, mu.imag, scale.real, scale.imag


@numba.njit(cache=True)
def _zoh_range(lam, inv_lam):  # pragma: no cover - compiled
    """`(d_lo, d_hi)` (N,): the steps `d_lo <= d <= d_hi` for which `_zoh_block` does mode n
    (its exp and sin/cos apply, no subnormal `d lam`); an empty range for lam = 0 or 1/lam not finite."""
    N = lam.shape[0]
    d_lo, d_hi = np.full(N, np.inf), np.full(N, np.inf)
    for n in range(N):
        re, im = abs(lam[n].real), abs(lam[n].imag)
        if lam[n] == 0 or not (np.isfinite(inv_lam[n].real) and np.isfinite(inv_lam[n].imag)):
            continue
        d_lo[n] = _ZOH_Z_MIN / abs(lam[n])
        if im > 0:
            d_hi[n] = _ZOH_T_MAX / im
        if re > 0:
            d_hi[n] = min(d_hi[n], _ZOH_X_MAX / re)
    return d_lo, d_hi


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _zoh_recurrence(mr, mi, sr, si, Br, Bi, Cr, Ci, D, u, xr, xi, bu_r, bu_i, y, xs):  # pragma: no cover - compiled
    """`x_k = mu_k x_{k-1} + scale_k (B u_k)`, `y_k = Re(C x_k) + D u_k` over one block.

    u (K, P), y (K, Q) out, xs (K or 0, N) out; the state (xr, xi) is carried in place; B, C split
    into real and imaginary parts (Br (P, N)) so the mode loops vectorise (`reassoc` only
    reorders the sums over modes: rounding-level differences from the sequential reference).
    """
    N, P, Q = xr.shape[0], Br.shape[0], Cr.shape[0]
    store = xs.shape[0] > 0
    if P == 1 and Q == 1:  # one loop over modes per step
        for j in range(u.shape[0]):
            up = u[j, 0]
            acc = 0.0
            for n in range(N):
                br, bi = Br[0, n] * up, Bi[0, n] * up
                a = mr[j, n] * xr[n] - mi[j, n] * xi[n] + (sr[j, n] * br - si[j, n] * bi)
                b = mr[j, n] * xi[n] + mi[j, n] * xr[n] + (sr[j, n] * bi + si[j, n] * br)
                xr[n], xi[n] = a, b
                acc += Cr[0, n] * a - Ci[0, n] * b
            y[j, 0] = acc + D[0, 0] * up
            if store:
                for n in range(N):
                    xs[j, n] = complex(xr[n], xi[n])
        return
    for j in range(u.shape[0]):
        bu_r[:] = 0.0
        bu_i[:] = 0.0
        for p in range(P):
            up = u[j, p]
            for n in range(N):
                bu_r[n] += Br[p, n] * up
                bu_i[n] += Bi[p, n] * up
        for n in range(N):
            a = mr[j, n] * xr[n] - mi[j, n] * xi[n] + (sr[j, n] * bu_r[n] - si[j, n] * bu_i[n])
            b = mr[j, n] * xi[n] + mi[j, n] * xr[n] + (sr[j, n] * bu_i[n] + si[j, n] * bu_r[n])
            xr[n], xi[n] = a, b
        for q in range(Q):
            acc = 0.0
            for n in range(N):
                acc += Cr[q, n] * xr[n] - Ci[q, n] * xi[n]
            for p in range(P):
                acc += D[q, p] * u[j, p]
            y[j, q] = acc
        if store:
            for n in range(N):
                xs[j, n] = complex(xr[n], xi[n])


@numba.njit(cache=True)
def _zoh_trajectory(lam, inv_lam, d_range, Br, Bi, Cr, Ci, D, dt, u, x0, y, xs):  # pragma: no cover - compiled
    """The zoh scan of one trajectory: dt (L,), u (L, P), x0 (N,), y (L, Q) out, xs (L or 0, N)
    out; `d_range = _zoh_range(lam, inv_lam)`. Every block of steps takes `_zoh_block`,
    then the scalar `_zoh_block_scalar` for the modes whose range does not hold its steps."""
    d_lo, d_hi = d_range
    N, L, K = lam.shape[0], dt.shape[0], _ZOH_BLOCK
    lr, li = lam.real.copy(), lam.imag.copy()
    ir, ii = inv_lam.real.copy(), inv_lam.imag.copy()
    same_re = N > 0 and np.all(lr == lr[0])
    mr, mi, sr, si = np.empty((K, N)), np.empty((K, N)), np.empty((K, N)), np.empty((K, N))
    xr, xi = x0.real.copy(), x0.imag.copy()
    bu_r, bu_i = np.empty(N), np.empty(N)
    special = np.empty(N, dtype=np.int64)
    for k0 in range(0, L, K):
        k1 = min(k0 + K, L)
        d = dt[k0:k1]
        dmin, dmax = np.min(d), np.max(d)
        n_special = 0
        for n in range(N):
            if not (d_lo[n] <= dmin and dmax <= d_hi[n]):
                special[n_special] = n
                n_special += 1
        _zoh_block(d, lr, li, ir, ii, same_re, mr, mi, sr, si)
        if n_special > 0:
            _zoh_block_scalar(d, lam, inv_lam, special[:n_special], mr, mi, sr, si)
        _zoh_recurrence(mr, mi, sr, si, Br, Bi, Cr, Ci, D, u[k0:k1], xr, xi, bu_r, bu_i, y[k0:k1], xs[k0:k1])


@kernel
def scan_diagonal_steps(lam, Bc, C, D, dt, u, kind, alpha, x0, y, xs):  # pragma: no cover - compiled
    """Variable-step scan of a diagonal continuous system, discretizing on the fly.

    lam (N,) complex, Bc (N, P), C (Q, N), D (Q, P), dt (M, L), u (M, L, P), x0 (M, N),
    y (M, L, Q) out, xs (M, L or 0, N) out. kind: ZOH, SELECTIVE or GBT (with alpha).
    ZOH runs each trajectory in blocks of steps (`_zoh_trajectory`): its coefficients by
    vectorised exp and sin/cos, then the recurrence; the others discretize step by step.
    """
    M, L, P = u.shape
    N = lam.shape[0]
    store = xs.shape[1] > 0
    inv_lam = _inverse(lam)
    if kind == ZOH:  # in blocks of steps, the coefficients by vectorised exp and sin/cos
        d_range = _zoh_range(lam, inv_lam)
        Br, Bi = np.ascontiguousarray(Bc.T.real), np.ascontiguousarray(Bc.T.imag)
        Cr, Ci = np.ascontiguousarray(C.real), np.ascontiguousarray(C.imag)
        for m in numba.prange(M):
            _zoh_trajectory(lam, inv_lam, d_range, Br, Bi, Cr, Ci, D, dt[m], u[m], x0[m], y[m], xs[m])
    else:
        for m in numba.prange(M):
            x = x0[m].copy()
            for k in range(L):
                d = dt[m, k]
                for n in range(N):
                    z = d * lam[n]
                    if kind == SELECTIVE:
                        mu = np.exp(z)
                        scale = complex(d, 0.0)
                    else:
                        den = 1.0 - alpha * z
                        mu = (1.0 + (1.0 - alpha) * z) / den
                        scale = d / den
                    bu = complex(0.0, 0.0)
                    for p in range(P):
                        bu += Bc[n, p] * u[m, k, p]
                    x[n] = mu * x[n] + scale * bu
                _output(C, D, x, u[m, k], y[m, k])
                if store:
                    xs[m, k, :] = x


@kernel(fastmath={"reassoc", "contract"})
def divergence_moments(mu, bw, C, d, pw, w, n_tasks, acc):  # pragma: no cover - compiled
    """Per-step Monte-Carlo moments of the error system of a fixed diagonal single-input model.

    For every signal b and draw m: `e_k = mu * e_{k-1} + bw w_k` and `y_k = Re(C e_k) + d w_k`.
    Nothing of size draws x L is stored: each task (signal b, a share of the draws) keeps Welford
    running moments `acc[b, task] = [mean ||e_k||, M2 ||e_k||, mean ||y_k||, M2 ||y_k||,
    sum ||e_k||^2, max ||e_k||, mean L_k, M2 L_k]` (each of length L) with the Lyapunov value
    `L_k = sum_n pw_n |e_{k,n}|^2` (a diagonal P), combined over tasks afterwards.
    mu, bw (N,) complex; C (Q, N) complex; d (Q,); pw (N,); w (B, M, L); acc (B, n_tasks, 8, L)
    zeros. Split real/imaginary arrays let the mode loops vectorise; `reassoc` only reorders
    sums over modes (rounding-level differences from the sequential reference).
    """
    B, M, L = w.shape
    N, Q = mu.shape[0], C.shape[0]
    mr, mi = mu.real.copy(), mu.imag.copy()
    br, bi = bw.real.copy(), bw.imag.copy()
    cr, ci = np.ascontiguousarray(C.real), np.ascontiguousarray(C.imag)
    for task in numba.prange(B * n_tasks):
        b, part = task // n_tasks, task % n_tasks
        lo, hi = part * M // n_tasks, (part + 1) * M // n_tasks
        er, ei = np.empty(N), np.empty(N)
        a_ = acc[b, part]
        for m in range(lo, hi):
            er[:], ei[:] = 0.0, 0.0
            count = m - lo + 1
            for k in range(L):
                wk = w[b, m, k]
                se, sl = 0.0, 0.0
                for n in range(N):
                    x = mr[n] * er[n] - mi[n] * ei[n] + br[n] * wk
                    y = mr[n] * ei[n] + mi[n] * er[n] + bi[n] * wk
                    er[n], ei[n] = x, y
                    s2 = x * x + y * y
                    se += s2
                    sl += pw[n] * s2
                sy = 0.0
                for q in range(Q):
                    yq = d[q] * wk
                    for n in range(N):
                        yq += cr[q, n] * er[n] - ci[q, n] * ei[n]
                    sy += yq * yq
                e_norm, y_norm = math.sqrt(se), math.sqrt(sy)
                delta = e_norm - a_[0, k]  # Welford updates of the mean and M2
                a_[0, k] += delta / count
                a_[1, k] += delta * (e_norm - a_[0, k])
                delta = y_norm - a_[2, k]
                a_[2, k] += delta / count
                a_[3, k] += delta * (y_norm - a_[2, k])
                a_[4, k] += se
                a_[5, k] = max(a_[5, k], e_norm)
                delta = sl - a_[6, k]
                a_[6, k] += delta / count
                a_[7, k] += delta * (sl - a_[6, k])


# Kernels of the torch layers (smr_stability.nn): the diagonal recurrence and the selective scan,
# forward and adjoint, over contiguous arrays. Accumulations over channels and time are float64.


@kernel
def recurrence(a, b, x):  # pragma: no cover - compiled
    """`x_k = a_k x_{k-1} + b_k` with `x_{-1} = 0`; a, b, x (M, L, N) (x out)."""
    M, L, N = a.shape
    for m in numba.prange(M):
        if L == 0:
            continue
        for n in range(N):
            x[m, 0, n] = b[m, 0, n]
        for k in range(1, L):
            for n in range(N):
                x[m, k, n] = a[m, k, n] * x[m, k - 1, n] + b[m, k, n]


@kernel
def recurrence_adjoint(a, x, dx, da, db):  # pragma: no cover - compiled
    """Gradients of `recurrence` for the cotangent dx (torch's conjugate convention).

    `g_k = dx_k + conj(a_{k+1}) g_{k+1}`; `db_k = g_k`, `da_k = g_k conj(x_{k-1})`.
    a, x, dx, da, db (M, L, N) (da, db out).
    """
    M, L, N = a.shape
    for m in numba.prange(M):
        g = np.zeros(N, dtype=dx.dtype)
        for k in range(L - 1, -1, -1):
            for n in range(N):
                gn = dx[m, k, n] + g[n]
                db[m, k, n] = gn
                da[m, k, n] = gn * np.conj(x[m, k - 1, n]) if k > 0 else 0.0 * gn
                g[n] = gn * np.conj(a[m, k, n])


@kernel
def selective(Ab, delta, Bk, Ck, u, xs, y):  # pragma: no cover - compiled
    """The selective scan (Mamba's S6), real: for every batch b and channel h,

    `x_k = Ab_k x_{k-1} + delta_k B_k u_k`, `y_k = C_k . x_k`.
    Ab, xs (B, L, H, N) (xs out); delta, u, y (B, L, H) (y out); Bk, Ck (B, L, N).
    """
    Bn, L, H, N = Ab.shape
    for b in numba.prange(Bn):
        x = np.zeros((H, N), dtype=xs.dtype)
        for k in range(L):
            for h in range(H):
                du = delta[b, k, h] * u[b, k, h]
                s = 0.0
                for n in range(N):
                    x[h, n] = Ab[b, k, h, n] * x[h, n] + du * Bk[b, k, n]
                    s += Ck[b, k, n] * x[h, n]
                y[b, k, h] = s
            xs[b, k] = x


@kernel
def selective_adjoint(Ab, A, delta, Bk, Ck, u, xs, dy, d_delta, dA, dB, dC, du):  # pragma: no cover - compiled
    """Gradients of `selective` with `Ab = exp(delta A)`, for the cotangent dy (B, L, H).

    The adjoint state `g_k = dy_k C_k + Ab_{k+1} g_{k+1}` runs backwards in time. Out:
    d_delta, du (B, L, H); dA (B, H, N) per batch (sum over b afterwards); dB, dC (B, L, N).
    """
    Bn, L, H, N = Ab.shape
    for b in numba.prange(Bn):
        g = np.zeros((H, N))
        dA_b = np.zeros((H, N))
        dB_k = np.zeros(N)
        dC_k = np.zeros(N)
        for k in range(L - 1, -1, -1):
            dB_k[:] = 0.0
            dC_k[:] = 0.0
            for h in range(H):
                dyk, d, uk = dy[b, k, h], delta[b, k, h], u[b, k, h]
                s_du, s_dd = 0.0, 0.0
                for n in range(N):
                    gn = dyk * Ck[b, k, n] + g[h, n]
                    dC_k[n] += dyk * xs[b, k, h, n]
                    dB_k[n] += gn * d * uk
                    s_du += gn * d * Bk[b, k, n]
                    x_prev = xs[b, k - 1, h, n] if k > 0 else 0.0
                    dAb = gn * x_prev * Ab[b, k, h, n]  # d/d(delta A) of Ab_k x_{k-1}, times g
                    s_dd += gn * Bk[b, k, n] * uk + dAb * A[h, n]
                    dA_b[h, n] += dAb * d
                    g[h, n] = gn * Ab[b, k, h, n]
                d_delta[b, k, h] = s_dd
                du[b, k, h] = s_du
            for n in range(N):
                dB[b, k, n] = dB_k[n]
                dC[b, k, n] = dC_k[n]
        for h in range(H):
            for n in range(N):
                dA[b, h, n] = dA_b[h, n]


_PHI1_PRIME = tuple(n / math.factorial(n + 1) for n in range(13, 0, -1))  # n / (n+1)!, n = 13 .. 1


@numba.njit(cache=True, inline="always")
def _zoh_scale_dlam(d, z, mu, scale, inv_lam):  # pragma: no cover - compiled
    """`d scale / d lam = d^2 phi1'(z)` for `scale = d phi1(d lam)`: a series for `|z| < 0.1`."""
    if abs(z) < 0.1:  # phi1'(z) = sum_{n>=1} n z^{n-1} / (n+1)!, 13 terms by Horner: error < 1e-15 relative
        s = complex(0.0, 0.0)
        for c in _PHI1_PRIME:
            s = s * z + c
        return d * d * s
    return (d * mu - scale) * inv_lam


@kernel
def zoh_gaps(lam, step, gaps, Bu, x):  # pragma: no cover - compiled
    """`x_k = mu_k x_{k-1} + scale_k Bu_k` with `d = gaps_k step_n`, `mu = exp(d lam)`, `scale = d phi1(d lam)`.

    lam (N,) complex128; step (S,) float64 with S = 1 (one step) or N (one per state);
    gaps (B, L) float64; Bu, x (B, L, N) complex (x out).
    """
    Bn, L, N = Bu.shape
    per_state = step.shape[0] > 1
    inv_lam = _inverse(lam)
    for b in numba.prange(Bn):
        xs = np.zeros(N, dtype=np.complex128)
        for k in range(L):
            for n in range(N):
                d = gaps[b, k] * step[n if per_state else 0]
                mu, scale = _zoh_coefficients(d, lam[n], inv_lam[n])
                xs[n] = mu * xs[n] + scale * Bu[b, k, n]
                x[b, k, n] = xs[n]


@kernel
def zoh_gaps_adjoint(lam, step, gaps, Bu, x, dx, dBu, dlam, dstep, dgaps):  # pragma: no cover - compiled
    """Gradients of `zoh_gaps` for the cotangent dx (torch's conjugate convention).

    Adjoint `g_k = dx_k + conj(mu_{k+1}) g_{k+1}`; `dBu_k = g_k conj(scale_k)`; with
    `dmu_k = g_k conj(x_{k-1})` and `dscale_k = g_k conj(Bu_k)`: `dlam += dmu conj(d mu) +
    dscale conj(d^2 phi1'(z))` and `dd = Re(dmu conj(lam mu) + dscale conj(mu))`.
    Out: dBu (B, L, N); dlam (B, N) and dstep (B, S) per batch (sum over b afterwards); dgaps (B, L).
    """
    Bn, L, N = Bu.shape
    per_state = step.shape[0] > 1
    inv_lam = _inverse(lam)
    for b in numba.prange(Bn):
        g = np.zeros(N, dtype=np.complex128)
        mu_next = np.zeros(N, dtype=np.complex128)
        dlam_b = np.zeros(N, dtype=np.complex128)
        dstep_b = np.zeros(step.shape[0])
        for k in range(L - 1, -1, -1):
            dgap = 0.0
            for n in range(N):
                sn = step[n if per_state else 0]
                d = gaps[b, k] * sn
                mu, scale = _zoh_coefficients(d, lam[n], inv_lam[n])
                gn = dx[b, k, n] + np.conj(mu_next[n]) * g[n]
                g[n] = gn
                mu_next[n] = mu
                dBu[b, k, n] = gn * np.conj(scale)
                x_prev = complex(x[b, k - 1, n]) if k > 0 else complex(0.0, 0.0)
                dmu = gn * np.conj(x_prev)
                dscale = gn * np.conj(complex(Bu[b, k, n]))
                dlam_b[n] += dmu * np.conj(d * mu) + dscale * np.conj(
                    _zoh_scale_dlam(d, d * lam[n], mu, scale, inv_lam[n])
                )
                dd = (dmu * np.conj(lam[n] * mu) + dscale * np.conj(mu)).real
                dstep_b[n if per_state else 0] += dd * gaps[b, k]
                dgap += dd * sn
            dgaps[b, k] = dgap
        for n in range(N):
            dlam[b, n] = dlam_b[n]
        for s in range(step.shape[0]):
            dstep[b, s] = dstep_b[s]
