"""S4 with the dense HiPPO-LegS state matrix, bilinear, kernel by power doubling."""

import numpy as np
import torch
from torch import nn

from ..ssm import SSM
from ..systems import hippo_legs
from .base import ConvolutionLayer
from .s4d import log_uniform_dt

__all__ = ["S4"]


class S4(ConvolutionLayer):
    r"""S4 (dense HiPPO-LegS): per channel h, ``dx/dt = A x + B u``, ``y = C_h x + D_h u``.

    ``A`` (N, N) and ``B`` (N,) are HiPPO-LegS (:func:`smr_stability.hippo_legs`), shared by all
    channels and fixed; each channel learns its step ``dt_h`` (as ``log dt_h``), ``C_h`` and ``D_h``.
    Bilinear discretization

    ``Ab_h = (I - dt_h/2 A)^{-1} (I + dt_h/2 A)``, ``Bb_h = (I - dt_h/2 A)^{-1} dt_h B``,

    kernel ``K_{h,k} = C_h Ab_h^k Bb_h`` and ``y = K * u + D u`` (causal FFT convolution), equal
    to the recurrence ``x_k = Ab x_{k-1} + Bb u_k``, ``y_k = C x_k + D u_k`` (:meth:`recurrent`).

    Parameters
    ----------
    H : int
        Channels.
    N : int
        State size (the dense kernel costs O(H N^3 log L + H N^2 L); meant for N <= 64).
    dt_min, dt_max : float
        ``log dt_h`` uniform in ``[log dt_min, log dt_max]``.
    smr : bool
        Gate the input with :class:`SMR` first.
    tau : int
        SMR kernel length.

    Notes
    -----
    The kernel uses power doubling: with ``X = [Bb]`` (N, 1) and ``P = Ab``, repeat
    ``X <- [X, P X]``, ``P <- P^2`` until X has L columns, so ``X = [Bb, Ab Bb, ..., Ab^{L-1} Bb]``
    after ``ceil(log2 L)`` matrix products; then ``K = C X``. The recurrent (unstructured) form is
    what S4 computes through its NPLR/Cauchy kernel; here the dense form keeps it simple and exact.
    ``C ~ N(0, 1/N)``, ``D ~ N(0, 1)``.

    References
    ----------
    Gu, Goel, Re, "Efficiently Modeling Long Sequences with Structured State Spaces" (S4), ICLR 2022.

    Examples
    --------
    >>> import torch
    >>> from smr_stability.nn.s4 import S4
    >>> S4(H=2, N=8)(torch.randn(1, 16, 2)).shape
    torch.Size([1, 16, 2])
    """

    ssm_parameter_names = ("log_dt",)

    def __init__(self, H, N=64, dt_min=1e-3, dt_max=1e-1, smr=False, tau=4):
        super().__init__(H, smr=smr, tau=tau)
        self.N = int(N)
        hippo = hippo_legs(self.N)
        self.register_buffer("A", torch.tensor(hippo.A, dtype=torch.float32))  # (N N)
        self.register_buffer("B", torch.tensor(hippo.B[:, 0], dtype=torch.float32))  # (N)
        self.log_dt = nn.Parameter(log_uniform_dt(self.H, dt_min, dt_max))  # (H)
        self.C = nn.Parameter(torch.randn(self.H, self.N) / np.sqrt(self.N))  # (H N)
        self.D = nn.Parameter(torch.randn(self.H))  # (H)

    def discrete(self):
        """Bilinear ``(Ab, Bb)``, shapes (H, N, N) and (H, N)."""
        dt = torch.exp(self.log_dt)[:, None, None]  # (H 1 1)
        I = torch.eye(self.N, dtype=self.A.dtype, device=self.A.device)  # (N N)
        lhs = I - dt / 2 * self.A  # (H N N)
        rhs = torch.cat([I + dt / 2 * self.A, dt * self.B[:, None]], -1)  # (H N N+1)
        sol = torch.linalg.solve(lhs, rhs)  # (H N N+1)
        return sol[..., : self.N], sol[..., self.N]

    def kernel(self, L):
        """``K_{h,k} = C_h Ab_h^k Bb_h``, shape (H, L), by power doubling."""
        Ab, Bb = self.discrete()  # (H N N), (H N)
        X, P = Bb[..., None], Ab  # (H N 1), (H N N)
        while X.shape[-1] < L:
            X = torch.cat([X, P @ X], -1)  # (H N 2m)
            P = P @ P  # (H N N)
        return torch.einsum("hn,hnl->hl", self.C, X[..., :L])  # (H L)

    def recurrent(self, u):
        """Reference loop ``x_k = Ab x_{k-1} + Bb u_k``, ``y_k = C x_k + D u_k`` (after the gate)."""
        if self.gate is not None:
            u = self.gate(u)  # (B L H)
        Ab, Bb = self.discrete()  # (H N N), (H N)
        x = torch.zeros(u.shape[0], self.H, self.N, dtype=Ab.dtype)  # (B H N)
        ys = []
        for k in range(u.shape[1]):
            x = torch.einsum("hnm,bhm->bhn", Ab, x) + Bb * u[:, k, :, None]  # (B H N)
            ys.append((self.C * x).sum(-1) + self.D * u[:, k])  # (B H)
        return torch.stack(ys, 1)  # (B L H)

    def export_channels(self):
        """Per channel the shared HiPPO-LegS ``(A, B)`` with ``(C_h, D_h)``, the step ``exp(log_dt_h)`` and 'bilinear'."""
        A = self.A.detach().cpu().numpy().astype(np.float64)  # (N N)
        B = self.B.detach().cpu().numpy().astype(np.float64)  # (N)
        C = self.C.detach().cpu().numpy().astype(np.float64)  # (H N)
        D = self.D.detach().cpu().numpy().astype(np.float64)  # (H)
        dt = np.exp(self.log_dt.detach().cpu().numpy().astype(np.float64))  # (H)
        return [(SSM(A, B, C[h], D[h], name=f"s4-legs[{h}]"), float(dt[h]), "bilinear") for h in range(self.H)]
