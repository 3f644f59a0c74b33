"""S4D: H independent diagonal complex SISO systems, run as a causal FFT convolution."""

import numpy as np
import torch
from torch import nn

from .._validation import check_bool
from ..errors import MethodError, ParameterError
from ..ssm import SSM
from ..systems import s4d_inv, s4d_lin, s4d_real
from .base import ConvolutionLayer, check_dt_range, fft_conv  # noqa: F401 (fft_conv re-exported)

__all__ = ["S4D", "fft_conv"]

_INITS = {"lin": s4d_lin, "inv": s4d_inv, "real": s4d_real}


def log_uniform_dt(H, dt_min, dt_max):
    """`log dt` drawn uniformly in `[log dt_min, log dt_max]`, shape (H,) (S4's init)."""
    dt_min, dt_max = check_dt_range(dt_min, dt_max)
    return torch.rand(H) * (np.log(dt_max) - np.log(dt_min)) + np.log(dt_min)  # (H)


class S4D(ConvolutionLayer):
    r"""S4D: per channel h, `dx/dt = diag(lambda_h) x + B_h u`, `y = Re(C_h x) + D_h u`.

    With step `dt_h` and `mu = phi(dt_h lambda)` (zoh: `exp(dt lambda)`, `Bb = (mu - 1)/lambda B`;
    bilinear: `(1 + dt lambda/2)/(1 - dt lambda/2)`, `Bb = dt/(1 - dt lambda/2) B`) the layer
    computes the kernel `K_{h,k} = Re(sum_n C_{hn} Bb_{hn} mu_{hn}^k)` (a Vandermonde product,
    `mu^k = exp(k log mu)`) and `y = K * u + D u`, equal to the recurrence
    `x_k = diag(mu) x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k` ([`recurrent`][smr_stability.nn.S4D.recurrent]).

    Parameters
    ----------
    H : int
        Channels.
    N : int
        Complex modes per channel (all N kept, `y = Re(C x)`, no factor 2).
    init : {'lin', 'inv', 'real'}
        Eigenvalues of [`smr_stability.s4d_lin`][smr_stability.systems.s4d_lin],
        [`s4d_inv`][smr_stability.systems.s4d_inv] or [`s4d_real`][smr_stability.systems.s4d_real],
        the same for every channel.
    method : {'zoh', 'bilinear'}
        Discretization.
    dt_min, dt_max : float
        `log dt_h` uniform in `[log dt_min, log dt_max]`.
    learn_B : bool
        Learn `B` (complex, initialised to 1); otherwise `B = 1` is a fixed buffer.
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] first.
    tau : int
        SMR kernel length.

    Notes
    -----
    `A` is stored as `log(-Re lambda)` and `Im lambda`, so `Re lambda < 0` (stable) for
    every parameter value. `C ~ CN(0, 1)` per channel (as the core's constructors), `D ~ N(0, 1)`.
    Cost O(H N L) for the kernel and O(B H L log L) for the convolution.

    References
    ----------
    Gu, Gupta, Goel, Re, "On the Parameterization and Initialization of Diagonal State Space
    Models" (S4D), NeurIPS 2022.

    Examples
    --------
    >>> import torch
    >>> from smr_stability.nn.s4d import S4D
    >>> layer = S4D(H=3, N=8)
    >>> layer(torch.randn(2, 20, 3)).shape
    torch.Size([2, 20, 3])
    """

    ssm_parameter_names = ("log_dt", "log_A_real", "A_imag", "B")

    def __init__(self, H, N=64, init="lin", method="zoh", dt_min=1e-3, dt_max=1e-1, learn_B=False, smr=False, tau=4):
        super().__init__(H, smr=smr, tau=tau)
        if init not in _INITS:
            raise ParameterError(f"init must be one of {sorted(_INITS)}; found {init!r}.")
        if method not in ("zoh", "bilinear"):
            raise MethodError(f"method must be 'zoh' or 'bilinear'; found {method!r}.")
        self.N, self.init, self.method = int(N), init, method
        lam = np.asarray(_INITS[init](self.N).A, dtype=np.complex128)  # (N)
        self.log_A_real = nn.Parameter(torch.tensor(np.log(-lam.real), dtype=torch.float32).repeat(self.H, 1))  # (H N)
        A_imag = torch.tensor(lam.imag, dtype=torch.float32).repeat(self.H, 1)  # (H N)
        if init == "real":  # a real system: Im(lambda) = 0 and C real, fixed so
            self.register_buffer("A_imag", A_imag)
        else:
            self.A_imag = nn.Parameter(A_imag)
        self.log_dt = nn.Parameter(log_uniform_dt(self.H, dt_min, dt_max))  # (H)
        B = torch.zeros(self.H, self.N, 2)
        B[..., 0] = 1.0  # (H N 2): real and imaginary parts of B = 1
        if check_bool(learn_B, "learn_B"):
            self.B = nn.Parameter(B)
        else:
            self.register_buffer("B", B)
        # C ~ CN(0, 1) stored as (H N 2) real and imaginary parts; real N(0, 1) of shape (H N) for init='real'
        self.C = nn.Parameter(
            torch.randn(self.H, self.N) if init == "real" else torch.randn(self.H, self.N, 2) / np.sqrt(2.0)
        )
        self.D = nn.Parameter(torch.randn(self.H))  # (H)

    def _C(self):
        if self.C.ndim == 2:
            return torch.complex(self.C, torch.zeros_like(self.C))  # (H N)
        return torch.view_as_complex(self.C)  # (H N)

    def _lambda(self):
        return torch.complex(-torch.exp(self.log_A_real), self.A_imag)  # (H N)

    def discrete(self):
        """`(log mu, Bb)`, each of shape (H, N), complex; `mu = exp(log mu)` is `Ab`."""
        lam = self._lambda()  # (H N)
        dt = torch.exp(self.log_dt)[:, None]  # (H 1)
        z = dt * lam  # (H N)
        B = torch.view_as_complex(self.B)  # (H N)
        if self.method == "zoh":
            return z, (torch.exp(z) - 1.0) / lam * B
        den = 1.0 - z / 2  # (H N)
        return torch.log((1.0 + z / 2) / den), dt / den * B

    def kernel(self, L):
        """`K_{h,k} = Re(sum_n C_hn Bb_hn mu_hn^k)`, shape (H, L)."""
        log_mu, Bb = self.discrete()  # (H N)
        k = torch.arange(L, dtype=self.log_dt.dtype, device=log_mu.device)  # (L)
        V = torch.exp(log_mu[..., None] * k)  # (H N L)
        CB = self._C() * Bb  # (H N)
        return torch.einsum("hn,hnl->hl", CB, V).real  # (H L)

    def recurrent(self, u):
        """Reference loop `x_k = mu x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k` (after the gate)."""
        if self.gate is not None:
            u = self.gate(u)  # (B L H)
        log_mu, Bb = self.discrete()  # (H N)
        mu, C = torch.exp(log_mu), self._C()  # (H N)
        x = torch.zeros(u.shape[0], self.H, self.N, dtype=mu.dtype)  # (B H N)
        ys = []
        for k in range(u.shape[1]):
            x = mu * x + Bb * u[:, k, :, None]  # (B H N)
            ys.append((C * x).sum(-1).real + self.D * u[:, k])  # (B H)
        return torch.stack(ys, 1)  # (B L H)

    def export_channels(self):
        """Per channel the diagonal `SSM(lambda_h, B_h, C_h, D_h)` (real for S4D-Real), its step and method."""
        lam = self._lambda().detach().cpu().numpy().astype(np.complex128)  # (H N)
        B = torch.view_as_complex(self.B).detach().cpu().numpy().astype(np.complex128)  # (H N)
        C = self._C().detach().cpu().numpy().astype(np.complex128)  # (H N)
        D = self.D.detach().cpu().numpy().astype(np.float64)  # (H)
        dt = np.exp(self.log_dt.detach().cpu().numpy().astype(np.float64))  # (H)
        if not (np.any(lam.imag) or np.any(B.imag) or np.any(C.imag)):  # S4D-Real: export a real system
            lam, B, C = lam.real, B.real, C.real
        return [
            (SSM(lam[h], B[h], C[h], D[h], name=f"s4d-{self.init}[{h}]"), float(dt[h]), self.method)
            for h in range(self.H)
        ]
