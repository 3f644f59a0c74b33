"""S5: one MIMO diagonal SSM over all H channels, zoh, fixed or per-step `dt` (docs/theory.md §0-§2)."""

import numpy as np
import torch
from torch import nn

from .._validation import check_bool, check_int
from ..errors import ShapeError
from ..ssm import SSM
from ..systems import s5_hippo
from .base import SSMLayer, check_dt_range
from .scan import phi1, zoh_gap_scan

__all__ = ["S5"]


class S5(SSMLayer):
    """S5 layer: `x_k = Ab_k x_{k-1} + Bb_k u_k`, `y_k = Re(C x_k) + D u_k` with `u_k` in R^H.

    Parameters
    ----------
    H : int
        Channels; the system has P = Q = H inputs and outputs.
    N : int
        State size (complex diagonal).
    P : int
        Inputs of the MIMO system; must equal `H` (kept so the signature names it).
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] (length `tau`) first.
    tau : int
    dt_min, dt_max : float
        The learned step `exp(log_dt)` starts log-uniform in `[dt_min, dt_max]`.
    step_per_state : bool
        One learned step per state (S5's `dt_global=False`, each mode its own time scale)
        instead of one for the layer.
    blocks : int, optional
        S5's block initialisation with conjugate symmetry (`s5_hippo(..., blocks=blocks)`):
        `N` complex modes standing for `2 N` real states, as S5's `ssm_size = 2 N` with
        `conj_sym`. By default the eigenvalues of one HiPPO-LegS of size `N`.

    Notes
    -----
    `A = diag(lambda)` with `lambda = -exp(A_re_log) + i A_im`, initialised from
    [`smr_stability.s5_hippo`][smr_stability.systems.s5_hippo] (eigenvalues of HiPPO-LegS's normal
    part, `Re = -1/2`); `B` (N, H) and `C` (H, N) complex from the same call (real and imaginary
    parts stored as real parameters, so `.double()` casts them), `D` (H,) standard normal. The
    initial seed is drawn from torch's generator. zoh: `Ab = exp(dt lambda)`,
    `Bb = dt phi1(dt lambda) B`.

    * `dt=None`: one step `exp(log_dt)`; convolution mode, the state kernel `Ab^k` applied to
      `Bb u` by a causal FFT convolution, then `C`. Cost O(B L log L N + B L H N).
    * `dt` of shape (B, L): the true gaps; step `k` uses `dt_k * exp(log_dt)` (the learned
      step scales the gaps), discretized per step and run by [`zoh_gap_scan`][smr_stability.nn.zoh_gap_scan] (on the CPU
      one compiled kernel each way that discretizes as it scans).

    `A_re_log, A_im, log_dt` are the SSM parameters (no weight decay in
    [`param_groups`][smr_stability.nn.SSMLayer.param_groups]).
    """

    ssm_parameter_names = ("A_re_log", "A_im", "log_dt")

    def __init__(self, H, N=64, P=None, smr=False, tau=4, dt_min=1e-3, dt_max=1e-1, step_per_state=False, blocks=None):
        super().__init__(H, smr=smr, tau=tau)
        P = self.H if P is None else check_int(P, "P", 1, error=ShapeError)
        if P != self.H:
            raise ShapeError(f"S5 maps H channels to H channels, so P (inputs) must equal H = {self.H}; found P = {P}.")
        dt_min, dt_max = check_dt_range(dt_min, dt_max)
        step_per_state = check_bool(step_per_state, "step_per_state")
        self.N = check_int(N, "N", 1, error=ShapeError)
        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        sys = s5_hippo(self.N, P=self.H, Q=self.H, seed=seed, blocks=blocks)
        lam = sys.A
        self.A_re_log = nn.Parameter(torch.tensor(np.log(-lam.real)))  # (N,)
        self.A_im = nn.Parameter(torch.tensor(lam.imag.copy()))  # (N,)
        self.B_re = nn.Parameter(torch.tensor(sys.B.real.copy()))  # (N, H)
        self.B_im = nn.Parameter(torch.tensor(sys.B.imag.copy()))  # (N, H)
        self.C_re = nn.Parameter(torch.tensor(sys.C.real.copy()))  # (H, N)
        self.C_im = nn.Parameter(torch.tensor(sys.C.imag.copy()))  # (H, N)
        self.D = nn.Parameter(torch.randn(self.H, dtype=torch.float64))  # (H,)
        if step_per_state:
            log_dt = np.log(dt_min) + torch.rand(self.N, dtype=torch.float64).numpy() * np.log(dt_max / dt_min)
            self.log_dt = nn.Parameter(torch.tensor(log_dt))  # (N,)
        else:
            log_dt = np.log(dt_min) + float(torch.rand(())) * (np.log(dt_max) - np.log(dt_min))
            self.log_dt = nn.Parameter(torch.tensor([log_dt]))  # (1,)
        self.float()  # torch's default dtype, like every nn layer; .double() for float64

    def _lambda(self):
        return torch.complex(-torch.exp(self.A_re_log), self.A_im)  # (N,)

    def _BC(self):
        return torch.complex(self.B_re, self.B_im), torch.complex(self.C_re, self.C_im)  # (N, H), (H, N)

    def ssm(self, u, dt=None):
        """`u` (B, L, H) -> `y` (B, L, H); `dt` (B, L) per-step gaps or None (fixed step)."""
        if u.ndim != 3 or u.shape[-1] != self.H:
            raise ShapeError(f"u must have shape (B, L, H) with H = {self.H}; found {tuple(u.shape)}.")
        lam = self._lambda()  # (N,)
        B, C = self._BC()
        step = torch.exp(self.log_dt)  # (1,) or (N,)
        L = u.shape[1]
        Bu = torch.einsum("blh,nh->bln", u.to(B.dtype), B)  # (B L N)
        if dt is None:
            z = step * lam  # (N,)
            Bu = Bu * (step * phi1(z))  # Bb u: (B L N)
            k = torch.arange(L, dtype=self.A_im.dtype, device=u.device)
            K = torch.exp(k[:, None] * z)  # state kernel Ab^k: (L N)
            n = 2 * L
            x = torch.fft.ifft(torch.fft.fft(Bu, n=n, dim=1) * torch.fft.fft(K, n=n, dim=0), n=n, dim=1)[
                :, :L
            ]  # (B L N)
        else:
            if dt.shape != u.shape[:2]:
                raise ShapeError(f"dt must have shape (B, L) = {tuple(u.shape[:2])} (as u); found {tuple(dt.shape)}.")
            x = zoh_gap_scan(lam, step, dt.to(step.dtype), Bu)  # (B L N)
        y = torch.einsum("bln,hn->blh", x, C).real  # (B L H)
        return y + u * self.D

    def export_channels(self):
        """One entry: the MIMO `SSM(lambda, B, C, diag(D))`, the step `exp(log_dt)` and 'zoh'.

        With a step per state, the steps are folded into the system, `SSM(step * lambda,
        step * B, C, diag(D))` with `dt = 1`: zoh of that system at `dt = 1` is the layer's
        `Ab = exp(step lambda)`, `Bb = step phi1(step lambda) B`, and one unit of time is
        one grid step.
        """
        with torch.no_grad():
            lam = self._lambda().cpu().numpy().astype(np.complex128)
            B, C = (m.cpu().numpy().astype(np.complex128) for m in self._BC())
            D = np.diag(self.D.cpu().numpy().astype(np.float64))
            step = torch.exp(self.log_dt).cpu().numpy().astype(np.float64)  # (1,) or (N,)
        if step.size == 1:
            return [(SSM(lam, B, C, D, name="s5"), float(step[0]), "zoh")]
        return [(SSM(step * lam, step[:, None] * B, C, D, name="s5"), 1.0, "zoh")]
