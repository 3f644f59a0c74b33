"""The SMR gate as a torch layer (docs/theory.md §5); the numpy reference is ``smr_stability.smr_gate``."""

import numpy as np
import torch
from torch import nn

from ..errors import ShapeError

__all__ = ["SMR"]


class SMR(nn.Module):
    """``u~_{k,h} = sigmoid(sum_j m_{h,j} u_{k-j,h} + b_h) * u_{k,h}``: causal, depthwise, length tau.

    Parameters
    ----------
    H : int
        Channels.
    tau : int
        Kernel length (>= 1); ``m[h, j]`` weights ``u_{k-j}``.
    init_bias : float
        Initial ``b`` (default 2.0, a gate near ``sigmoid(2) = 0.88``, so training starts close
        to the identity). ``m`` starts at ``N(0, 0.1^2 / tau)``, seeded by torch's generator.

    Notes
    -----
    Implemented as a grouped ``conv1d`` on the input left-padded with ``tau - 1`` zeros, so
    ``g_k`` depends on ``u_0..u_k`` only. Cost O(tau L H).
    """

    def __init__(self, H, tau=4, init_bias=2.0):
        super().__init__()
        if int(tau) < 1:
            raise ShapeError(f"the SMR kernel length tau must be >= 1; found tau = {tau}.")
        self.H, self.tau = int(H), int(tau)
        self.m = nn.Parameter(torch.randn(self.H, self.tau) * (0.1 / np.sqrt(self.tau)))  # (H, tau)
        self.b = nn.Parameter(torch.full((self.H,), float(init_bias)))  # (H,)

    def gate(self, u):
        """The gate ``g`` for ``u`` of shape (B, L, H); same shape."""
        x = u.transpose(1, 2)  # (B, H, L)
        x = nn.functional.pad(x, (self.tau - 1, 0))  # (B, H, L + tau - 1), causal zero padding
        w = self.m.flip(-1).unsqueeze(1)  # (H, 1, tau): conv1d correlates, so flip to weight u_{k-j} by m[:, j]
        z = nn.functional.conv1d(x, w.to(x.dtype), groups=self.H)  # (B, H, L)
        return torch.sigmoid(z + self.b.to(x.dtype)[:, None]).transpose(1, 2)  # (B, L, H)

    def forward(self, u):
        """Gate ``u`` of shape (B, L, H)."""
        return self.gate(u) * u

    def export(self):
        """``(m, b)`` as numpy arrays, shapes (H, tau) and (H,), for ``smr_stability.smr_gate``."""
        return self.m.detach().cpu().numpy().astype(np.float64), self.b.detach().cpu().numpy().astype(np.float64)
