"""The SMR gate as a torch layer (docs/theory.md §5); the numpy reference is `smr_stability.smr_gate`."""

import numpy as np
import torch
from torch import nn

from .._gate import gate_adjoint, gate_forward
from .._validation import check_int, check_real
from ..errors import ShapeError
from .device import set_threads

__all__ = ["SMR"]


class _Gate(torch.autograd.Function):
    """`y = sigmoid(b + sum_j m_j u_{k-j}) * u` by the compiled kernels of `smr_stability._gate`."""

    @staticmethod
    def forward(ctx, u, m, b):
        g, y = torch.empty_like(u), torch.empty_like(u)  # (B L H)
        set_threads()
        gate_forward(
            u.numpy(), m.detach().T.contiguous().numpy(), b.detach().contiguous().numpy(), g.numpy(), y.numpy()
        )
        ctx.save_for_backward(u, m, g)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        u, m, g = ctx.saved_tensors
        du = torch.empty_like(u)  # (B L H)
        dmT = u.new_empty(u.shape[0], m.shape[1], m.shape[0])  # (B tau H): per batch, summed below
        db = u.new_empty(u.shape[0], m.shape[0])  # (B H)
        set_threads()
        mT = m.T.contiguous().numpy()  # (tau H)
        gate_adjoint(u.numpy(), mT, g.numpy(), dy.contiguous().numpy(), du.numpy(), dmT.numpy(), db.numpy())
        return du, dmT.sum(0).T, db.sum(0)


class SMR(nn.Module):
    """`u~_{k,h} = sigmoid(sum_j m_{h,j} u_{k-j,h} + b_h) * u_{k,h}`: causal, depthwise, length tau.

    Parameters
    ----------
    H : int
        Channels.
    tau : int
        Kernel length (>= 1); `m[h, j]` weights `u_{k-j}`.
    init_bias : float
        Initial `b` (default 2.0, a gate near `sigmoid(2) = 0.88`, so training starts close
        to the identity). `m` starts at `N(0, 0.1^2 / tau)`, seeded by torch's generator.

    Notes
    -----
    On the CPU, [`forward`][smr_stability.nn.SMR.forward] runs one compiled kernel forward and one backward (numba, in
    parallel over the batch, torch's thread count; sums over batch and time in float64); it
    stores only the gate. Elsewhere, and in [`gate`][smr_stability.nn.SMR.gate], it is a grouped `conv1d` on the input
    left-padded with `tau - 1` zeros. Either way `g_k` depends on `u_0..u_k` only, and the
    cost is O(tau L H).
    """

    def __init__(self, H, tau=4, init_bias=2.0):
        super().__init__()
        self.H, self.tau = check_int(H, "H", 1, error=ShapeError), check_int(tau, "tau", 1, error=ShapeError)
        init_bias = check_real(init_bias, "init_bias")
        self.m = nn.Parameter(torch.randn(self.H, self.tau) * (0.1 / np.sqrt(self.tau)))  # (H, tau)
        self.b = nn.Parameter(torch.full((self.H,), init_bias))  # (H,)

    def gate(self, u):
        """The gate `g` for `u` of shape (B, L, H); same shape."""
        x = u.transpose(1, 2)  # (B, H, L)
        x = nn.functional.pad(x, (self.tau - 1, 0))  # (B, H, L + tau - 1), causal zero padding
        w = self.m.flip(-1).unsqueeze(1)  # (H, 1, tau): conv1d correlates, so flip to weight u_{k-j} by m[:, j]
        z = nn.functional.conv1d(x, w.to(x.dtype), groups=self.H)  # (B, H, L)
        return torch.sigmoid(z + self.b.to(x.dtype)[:, None]).transpose(1, 2)  # (B, L, H)

    def forward(self, u):
        """Gate `u` of shape (B, L, H): `g(u) * u`, same shape."""
        if u.ndim != 3 or u.shape[-1] != self.H:
            raise ShapeError(f"u must have shape (B, L, H) with H = {self.H}; found {tuple(u.shape)}.")
        if u.device.type != "cpu" or u.dtype not in (torch.float32, torch.float64) or u.shape[1] == 0:
            return self.gate(u) * u
        return _Gate.apply(u.contiguous(), self.m.to(u.dtype), self.b.to(u.dtype))

    def export(self):
        """`(m, b)` as numpy arrays, shapes (H, tau) and (H,), for `smr_stability.smr_gate`."""
        return self.m.detach().cpu().numpy().astype(np.float64), self.b.detach().cpu().numpy().astype(np.float64)
