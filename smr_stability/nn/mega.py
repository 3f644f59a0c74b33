"""Mega's multi-dimensional damped EMA as an SSM layer."""

import numpy as np
import torch
from torch import nn

from .._validation import check_int
from ..errors import ShapeError
from ..ssm import SSM
from ..systems import mega_ema
from .base import ConvolutionLayer

__all__ = ["MegaEMA"]


class MegaEMA(ConvolutionLayer):
    r"""Mega's damped EMA per channel h (`h_t` in R^N):

    `h_t = q * h_{t-1} + p * beta x_t`, `y_t = (eta / sqrt(N)) . h_t + omega x_t`,

    with `p = sigmoid(alpha)` and `q = 1 - p sigmoid(delta)` (elementwise). The layer computes
    the kernel `K_k = sum_n eta_n / sqrt(N) p_n beta_n q_n^k` (`q^k = exp(k log q)`) and
    `y = K * x + omega x` by FFT convolution; [`recurrent`][smr_stability.nn.MegaEMA.recurrent] runs the loop.

    Parameters
    ----------
    H : int
        Channels.
    N : int
        EMA dimension per channel.
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] first.
    tau : int
        SMR kernel length.

    Notes
    -----
    The export is [`smr_stability.mega_ema`][smr_stability.systems.mega_ema] with the channel's raw
    parameters: the continuous real diagonal system whose zoh discretization at `dt = 1` is
    `(q, p beta)`, with `D = omega`. Initialisation as Mega: `alpha, delta ~ N(0, 0.2^2)`,
    `beta ~ N(+-1, 0.02^2)` with alternating signs, `eta ~ N(0, 1)`, `omega ~ N(0, 1)`.
    Cost O(H N L + B H L log L).

    References
    ----------
    Ma, Zhou, Kong, He, Gui, Neubig, May, Zettlemoyer, "Mega: Moving Average Equipped Gated
    Attention", ICLR 2023.

    Examples
    --------
    >>> import torch
    >>> from smr_stability.nn.mega import MegaEMA
    >>> MegaEMA(H=2, N=4)(torch.randn(1, 10, 2)).shape
    torch.Size([1, 10, 2])
    """

    ssm_parameter_names = ("alpha", "delta")

    def __init__(self, H, N=16, smr=False, tau=4):
        super().__init__(H, smr=smr, tau=tau)
        self.N = check_int(N, "N", 1, error=ShapeError)
        sign = torch.where(torch.arange(self.N) % 2 == 1, -1.0, 1.0)  # (N)
        self.alpha = nn.Parameter(torch.randn(self.H, self.N) * 0.2)  # (H N)
        self.delta = nn.Parameter(torch.randn(self.H, self.N) * 0.2)  # (H N)
        self.beta = nn.Parameter(sign + torch.randn(self.H, self.N) * 0.02)  # (H N)
        self.eta = nn.Parameter(torch.randn(self.H, self.N))  # (H N)
        self.omega = nn.Parameter(torch.randn(self.H))  # (H)

    def discrete(self):
        """`(log q, p beta)`, each (H, N); `log q = log1p(-p sigmoid(delta))` keeps q near 1 exact."""
        p = torch.sigmoid(self.alpha)  # (H N)
        return torch.log1p(-p * torch.sigmoid(self.delta)), p * self.beta

    def kernel(self, L):
        """`K_{h,k} = sum_n eta_hn / sqrt(N) p_hn beta_hn q_hn^k`, shape (H, L)."""
        log_q, Bb = self.discrete()  # (H N)
        k = torch.arange(L, dtype=log_q.dtype, device=log_q.device)  # (L)
        V = torch.exp(log_q[..., None] * k)  # (H N L)
        return torch.einsum("hn,hnl->hl", self.eta / np.sqrt(self.N) * Bb, V)  # (H L)

    def skip(self):
        """The direct term `omega` (H,), Mega's D."""
        return self.omega

    def recurrent(self, u):
        """Reference loop `h_t = q h_{t-1} + p beta x_t`, `y_t = eta/sqrt(N) . h_t + omega x_t`."""
        if self.gate is not None:
            u = self.gate(u)  # (B L H)
        log_q, Bb = self.discrete()  # (H N)
        q, c = torch.exp(log_q), self.eta / np.sqrt(self.N)  # (H N)
        h = torch.zeros(u.shape[0], self.H, self.N, dtype=q.dtype)  # (B H N)
        ys = []
        for t in range(u.shape[1]):
            h = q * h + Bb * u[:, t, :, None]  # (B H N)
            ys.append((c * h).sum(-1) + self.omega * u[:, t])  # (B H)
        return torch.stack(ys, 1)  # (B L H)

    def export_channels(self):
        """Per channel the continuous EMA `mega_ema(N, dt=1)` with skip `omega`, step 1.0 and 'zoh'."""
        raw = {k: getattr(self, k).detach().cpu().numpy().astype(np.float64) for k in ("alpha", "delta", "beta", "eta")}
        omega = self.omega.detach().cpu().numpy().astype(np.float64)  # (H)
        out = []
        for h in range(self.H):
            sys = mega_ema(self.N, dt=1.0, **{k: v[h] for k, v in raw.items()})
            out.append((SSM(sys.A, sys.B, sys.C, omega[h], name=f"mega-ema[{h}]"), 1.0, "zoh"))
        return out
