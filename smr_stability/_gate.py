"""Compiled SMR gate (numba) for the torch layer `smr_stability.nn.SMR`, forward and adjoint.

`z_{k,h} = b_h + sum_j m_{h,j} u_{k-j,h}` (`u_{k-j} = 0` for `k < j`), `g = sigmoid(z)`
and `y = g u`, over arrays of layout (B, L, H), in parallel over the batch. `exp(-z)` is the
branch-free one of `_vecmath` (within 1 ulp), so the loop over channels vectorises. Sums over the batch
and time are float64. The numpy reference is [`smr_stability.smr.smr_gate`][smr_stability.smr.smr_gate].
"""

import numba
import numpy as np

from ._jit import kernel
from ._vecmath import expm1_exp


@kernel
def gate_forward(u, mT, b, g, y):  # pragma: no cover - compiled
    """u, g, y (B, L, H) (g, y out); mT (tau, H), the kernel transposed; b (H,)."""
    Bn, L, H = u.shape
    tau = mT.shape[0]
    for i in numba.prange(Bn):
        z, e = np.empty(H), np.empty(H)
        for k in range(L):
            for h in range(H):
                z[h] = b[h]
            for j in range(min(tau, k + 1)):
                for h in range(H):
                    z[h] += mT[j, h] * u[i, k - j, h]
            for h in range(H):  # exp(-z) clamped to |z| <= 700: exact for z > 700 (g = 1); g < 1e-304 below
                e[h] = expm1_exp(min(max(-z[h], -700.0), 700.0))[1]
            for h in range(H):  # a loop of its own: the exp loop alone vectorises (2.2x faster measured)
                s = 1.0 / (1.0 + e[h])
                g[i, k, h] = s
                y[i, k, h] = s * u[i, k, h]


@kernel
def gate_adjoint(u, mT, g, dy, du, dmT, db):  # pragma: no cover - compiled
    """Gradients for the cotangent dy (B, L, H): du (B, L, H); dmT (B, tau, H) and db (B, H) per batch."""
    Bn, L, H = u.shape
    tau = mT.shape[0]
    for i in numba.prange(Bn):
        dz = np.zeros((tau, H))  # dz of the steps k .. k + tau - 1, cyclic in k
        acc = np.empty(H)
        dm_i = np.zeros((tau, H))
        db_i = np.zeros(H)
        for k in range(L - 1, -1, -1):
            slot = k % tau
            for h in range(H):
                s = g[i, k, h]
                dz[slot, h] = dy[i, k, h] * u[i, k, h] * s * (1.0 - s)
                acc[h] = dy[i, k, h] * s
                db_i[h] += dz[slot, h]
            for j in range(min(tau, L - k)):  # u_k enters z_{k+j} with weight m_j
                row = (k + j) % tau
                for h in range(H):
                    acc[h] += mT[j, h] * dz[row, h]
            for j in range(min(tau, k + 1)):
                for h in range(H):
                    dm_i[j, h] += dz[slot, h] * u[i, k - j, h]
            for h in range(H):
                du[i, k, h] = acc[h]
        for h in range(H):
            db[i, h] = db_i[h]
            for j in range(tau):
                dmT[i, j, h] = dm_i[j, h]
