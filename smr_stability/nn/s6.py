"""S6: a simplified Mamba selective SSM, H real diagonal SISO systems with input-dependent steps."""

import numpy as np
import torch
from torch import nn

from .._validation import check_int
from ..errors import ShapeError
from ..ssm import SSM
from .base import SSMLayer, check_dt_range
from .scan import selective_scan

__all__ = ["S6"]


class S6(SSMLayer):
    """Selective SSM: per channel `h`, `x_k = exp(dt_k A) x_{k-1} + dt_k B_k u_k`, `y_k = C_k . x_k + D u_k`.

    Parameters
    ----------
    H : int
        Channels (one SISO system each).
    N : int
        State size per channel (real diagonal).
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] (length `tau`) first.
    tau : int
    dt_min, dt_max : float
        `softplus(dt_bias)` starts log-uniform in `[dt_min, dt_max]` (as Mamba).

    Notes
    -----
    `A_h = -exp(A_log_h)`, initialised as S4D-Real (`-(n+1)`,
    [`smr_stability.s4d_real`][smr_stability.systems.s4d_real]). Selection (Mamba, without the
    conv/gating block): `dt_{k,h} = softplus(W_dt u_k + dt_bias)_h`, `B_k = W_B u_k + b_B` and
    `C_k = W_C u_k + b_C` in R^N, shared over channels. The discretization is 'selective'
    (`Ab = exp(dt A)`, `Bb = dt B`); the time-varying recurrence runs by
    [`selective_scan`][smr_stability.nn.selective_scan], cost O(B L H N). Optional gaps `dt` (B, L)
    multiply the selected steps. `D` starts at 1. `A_log, dt_bias` are the SSM parameters.

    [`export_channels`][smr_stability.nn.S6.export_channels] returns the linearisation at `u = 0`: the LTI system with
    `dt = softplus(dt_bias_h)`, `B = b_B`, `C = b_C` that the layer runs on a zero input.
    The trained layer is input-dependent, so the exported system describes it only near `u = 0`.
    """

    ssm_parameter_names = ("A_log", "dt_bias")

    def __init__(self, H, N=16, smr=False, tau=4, dt_min=1e-3, dt_max=1e-1):
        super().__init__(H, smr=smr, tau=tau)
        dt_min, dt_max = check_dt_range(dt_min, dt_max)
        self.N = check_int(N, "N", 1, error=ShapeError)
        self.A_log = nn.Parameter(
            torch.log(torch.arange(1, self.N + 1, dtype=torch.float32)).repeat(self.H, 1)
        )  # (H, N)
        self.D = nn.Parameter(torch.ones(self.H))  # (H,)
        self.dt_proj = nn.Linear(self.H, self.H, bias=False)
        dt0 = torch.exp(np.log(dt_min) + torch.rand(self.H) * (np.log(dt_max) - np.log(dt_min)))  # (H,)
        self.dt_bias = nn.Parameter(dt0 + torch.log(-torch.expm1(-dt0)))  # softplus^{-1}(dt0)
        self.B_proj = nn.Linear(self.H, self.N)
        self.C_proj = nn.Linear(self.H, self.N)

    def selection(self, u):
        """`(dt, B, C)` for `u` (B, L, H): shapes (B, L, H), (B, L, N), (B, L, N)."""
        dt = nn.functional.softplus(self.dt_proj(u) + self.dt_bias)  # (B L H)
        return dt, self.B_proj(u), self.C_proj(u)

    def ssm(self, u, dt=None):
        """`u` (B, L, H) -> `y` (B, L, H); optional gaps `dt` (B, L) scale the selected steps."""
        if u.ndim != 3 or u.shape[-1] != self.H:
            raise ShapeError(f"u must have shape (B, L, H) with H = {self.H}; found {tuple(u.shape)}.")
        delta, Bk, Ck = self.selection(u)
        if dt is not None:
            if dt.shape != u.shape[:2]:
                raise ShapeError(f"dt must have shape (B, L) = {tuple(u.shape[:2])} (as u); found {tuple(dt.shape)}.")
            delta = delta * dt.to(delta.dtype)[..., None]
        A = -torch.exp(self.A_log)  # (H N)
        y = selective_scan(delta, A, Bk, Ck, u)  # (B L H)
        return y + u * self.D

    def export_channels(self):
        """Per channel `(SSM(A_h, b_B, b_C, D_h), softplus(dt_bias_h), 'selective')`: the linearisation at u = 0."""
        with torch.no_grad():
            A = (-torch.exp(self.A_log)).cpu().numpy().astype(np.float64)  # (H, N)
            dt = nn.functional.softplus(self.dt_bias).cpu().numpy().astype(np.float64)  # (H,)
            B = self.B_proj.bias.cpu().numpy().astype(np.float64)  # (N,)
            C = self.C_proj.bias.cpu().numpy().astype(np.float64)  # (N,)
            D = self.D.cpu().numpy().astype(np.float64)  # (H,)
        return [(SSM(A[h], B, C, D[h], name=f"s6[{h}]"), float(dt[h]), "selective") for h in range(self.H)]
