"""S4: a learned diagonal-plus-low-rank state matrix, bilinear, kernel by Cauchy sums and Woodbury."""

import numpy as np
import torch
from torch import nn

from .._validation import check_int
from ..errors import ShapeError
from ..ssm import SSM
from ..systems import s5_hippo
from .base import ConvolutionLayer
from .s4d import log_uniform_dt

__all__ = ["S4", "legs_dplr"]


def legs_dplr(N):
    r"""HiPPO-LegS in diagonal-plus-low-rank form, one mode of each conjugate pair.

    HiPPO-LegS ([`smr_stability.hippo_legs`][smr_stability.systems.hippo_legs]) is `A = S - p p^T`
    with `p_n = sqrt(n + 1/2)` and `S = -I/2 + (skew-symmetric)` normal. With
    `S = V diag(lambda) V^H` (V unitary, from
    [`smr_stability.s5_hippo`][smr_stability.systems.s5_hippo]) the same model in the coordinates
    `V^H x` has `A = diag(lambda) - (V^H p)(V^H p)^H` and input `V^H b`, with
    `b_n = sqrt(2n + 1) = sqrt(2) p_n`. The eigenvalues of `S` are `-1/2 +- i w`; since `S`, `p` and
    `b` are real, the `-w` mode is the complex conjugate of the `+w` mode, so the `N/2` modes with
    `w > 0` determine the model ([`S4`][smr_stability.nn.S4] completes them by conjugation).

    Parameters
    ----------
    N : int
        State size, even and >= 2.

    Returns
    -------
    Lambda, P, B : ndarray, shape (N/2,), complex
        The kept eigenvalues (`Im` increasing), `V^H p` and `V^H b` on the kept modes.

    Examples
    --------
    >>> from smr_stability.nn.s4 import legs_dplr
    >>> import numpy as np
    >>> Lambda, P, B = legs_dplr(4)
    >>> Lambda.shape, bool(np.allclose(Lambda.real, -0.5)), bool(np.allclose(P, B / np.sqrt(2)))
    ((2,), True, True)
    """
    N = check_int(N, "N", 2, error=ShapeError)
    if N % 2:
        raise ShapeError(
            f"S4 keeps one mode of each conjugate pair of HiPPO-LegS, so N must be even; found N = {N}. "
            "Use an even state size."
        )
    sys = s5_hippo(N)  # diag(lambda), V^H b
    lam, b = np.asarray(sys.A), np.asarray(sys.B)[:, 0]  # (N), (N)
    keep = np.flatnonzero(lam.imag > 0)  # (N/2): w > 0, eigh's ascending order
    if keep.size != N // 2:  # pragma: no cover - the skew part of LegS has no zero eigenvalue for even N
        raise ShapeError(f"expected N/2 = {N // 2} modes with Im(lambda) > 0 in HiPPO-LegS; found {keep.size}.")
    B = b[keep]
    return lam[keep], B / np.sqrt(2.0), B


class S4(ConvolutionLayer):
    r"""S4: per channel h, `dx/dt = A_h x + B_h u`, `y = Re(C_h x) + D_h u` with `A_h = Lambda_h - P_h P_h^H`.

    The state matrix is diagonal plus rank one (DPLR), learned: `Lambda_h` complex diagonal
    with `Re Lambda_h < 0`, `P_h`, `B_h` and `C_h` complex, and the step `dt_h`; `D_h`
    real. Everything starts from HiPPO-LegS in its normal-plus-low-rank form
    (`legs_dplr`), so at initialisation `A_h` is unitarily similar to
    [`smr_stability.hippo_legs`][smr_stability.systems.hippo_legs]. Bilinear discretization (docs/theory.md §1)

    `Ab_h = (I - dt_h/2 A_h)^{-1} (I + dt_h/2 A_h)`, `Bb_h = (I - dt_h/2 A_h)^{-1} dt_h B_h`,

    kernel `K_{h,k} = Re(C_h Ab_h^k Bb_h)` and `y = K * u + D u` (causal FFT convolution), equal
    to the recurrence `x_k = Ab x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k` (docs/theory.md §0,
    [`recurrent`][smr_stability.nn.S4.recurrent]).

    Parameters
    ----------
    H : int
        Channels, each with its own `(Lambda, P, B, C, D, dt)` (S4's `n_ssm = H`).
    N : int
        State size, even: the layer stores `N/2` modes, one of each conjugate pair.
    dt_min, dt_max : float
        `log dt_h` uniform in `[log dt_min, log dt_max]`.
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] first.
    tau : int
        SMR kernel length.

    Notes
    -----
    **Conjugate symmetry.** As in S4, the parameters hold `M = N/2` modes; the model is the
    `N`-state system whose other half is their complex conjugate:
    `Lambda = [lam, conj(lam)]`, `P = [p, conj(p)]`, `B = [b, conj(b)]`, `C = [c, conj(c)]`
    ([`full`][smr_stability.nn.S4.full]). That system is similar to a real one, so `C x` is real and
    `Re(C x) = 2 Re(c x_half)`. `Lambda` is stored as `log(-Re lam)` and `Im lam`.
    Since `Re lam < 0`, the Hermitian part `diag(Re Lambda) - P P^H` of `A` is negative
    definite, so `A` is Hurwitz and `||Ab||_2 < 1` for every parameter value and step.

    **Kernel** (S4's algorithm). With `C~ = C (I - Ab^L)` the truncated generating function is
    `sum_{k<L} K_k z^k = C~ (I - z Ab)^{-1} Bb = 2 C~ (a I - b A)^{-1} B` with
    `a = (2/dt)(1 - z)` and `b = 1 + z`. `a I - b A = diag(d) + b P P^H` with
    `d_n = a - b Lambda_n`, and the Woodbury identity gives

    `2 [r_CB - b r_CP r_PB / (1 + b r_PP)]`, `r_XY(z) = sum_n X'_n Y_n / d_n(z)`,

    with `X' = C~` or `conj(P)`: four Cauchy sums over the `N` modes. A conjugate pair
    `(lam, conj lam)` with numerator `v` is summed as one fraction,
    `(2 Re(v) a - 2 b Re(v conj(lam))) / ((a - b lam)(a - b conj(lam)))`, so the sums run over
    the `M` stored modes. The kernel is real: it is evaluated at `z_j = exp(-2 pi i j / L)`,
    `j = 0..L//2`, and `K = irfft(.)` of length L (any L, not only powers of two). Writing
    S4's bilinear factor `2/(1+z)` into `d` keeps `z = -1` (even L) regular.

    Unlike S4, which learns `C~` for one reference length, the layer learns `C` itself, so
    that the exported system is exact at every L and `kernel(L)` is a prefix of
    `kernel(L')` for `L < L'`. `C Ab^L` comes from the dense `Ab` by repeated squaring
    (`_C_tilde`, in complex128). Cost per channel: O(N^3 log L) for `C~`, O(N L) for the
    Cauchy sums, O(L log L) for the FFT; then O(B H L log L) for the convolution.

    `C ~ CN(0, 1)` on the stored half, `D ~ N(0, 1)`. A fixed-step convolution: the gaps
    `dt` of [`forward`][smr_stability.nn.SSMLayer.forward] are ignored, as in [`S4D`][smr_stability.nn.S4D].

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

    ssm_parameter_names = ("log_dt", "log_lambda_real", "lambda_imag", "P", "B")

    def __init__(self, H, N=64, dt_min=1e-3, dt_max=1e-1, smr=False, tau=4):
        super().__init__(H, smr=smr, tau=tau)
        lam, P, B = legs_dplr(N)  # (M) each, M = N/2
        self.N, self.M = int(N), len(lam)

        def per_channel(x):  # (M) -> (H M), or (H M 2) real and imaginary parts for a complex x
            x = np.stack([x.real, x.imag], -1) if np.iscomplexobj(x) else x
            return torch.tensor(x, dtype=torch.get_default_dtype()).expand(self.H, *x.shape).clone()

        # torch's default dtype, as nn.Linear: float64 by default keeps HiPPO unrounded
        self.log_lambda_real = nn.Parameter(per_channel(np.log(-lam.real)))  # (H M)
        self.lambda_imag = nn.Parameter(per_channel(lam.imag))  # (H M)
        self.P = nn.Parameter(per_channel(P))  # (H M 2)
        self.B = nn.Parameter(per_channel(B))  # (H M 2)
        self.log_dt = nn.Parameter(log_uniform_dt(self.H, dt_min, dt_max))  # (H)
        self.C = nn.Parameter(torch.randn(self.H, self.M, 2) / np.sqrt(2.0))  # (H M 2): C ~ CN(0, 1)
        self.D = nn.Parameter(torch.randn(self.H))  # (H)

    # -- the continuous system ---------------------------------------------------------
    def _lambda(self):
        return torch.complex(-torch.exp(self.log_lambda_real), self.lambda_imag)  # (H M)

    def full(self):
        """`(Lambda, P, B, C)` of the `N`-state system, each (H, N) complex: the stored modes, then their conjugates."""
        half = (self._lambda(), *(torch.view_as_complex(x) for x in (self.P, self.B, self.C)))  # 4 x (H M)
        return tuple(torch.cat([x, x.conj()], -1) for x in half)  # 4 x (H N)

    def dense_A(self):
        """`A = diag(Lambda) - P P^H`, shape (H, N, N), complex."""
        lam, P, _, _ = self.full()  # (H N)
        return torch.diag_embed(lam) - P[:, :, None] * P.conj()[:, None, :]  # (H N N)

    def discrete(self):
        """Dense bilinear `(Ab, Bb)` of the `N`-state system, shapes (H, N, N) and (H, N), complex."""
        A, B = self.dense_A(), self.full()[2]  # (H N N), (H N)
        dt = torch.exp(self.log_dt).to(A.dtype)[:, None, None]  # (H 1 1)
        I = torch.eye(self.N, dtype=A.dtype, device=A.device)  # (N N)
        sol = torch.linalg.solve(I - dt / 2 * A, torch.cat([I + dt / 2 * A, dt * B[..., None]], -1))  # (H N N+1)
        return sol[..., : self.N], sol[..., self.N]

    # -- the convolution kernel --------------------------------------------------------
    def _C_tilde(self, L):
        """`C~ = C (I - Ab^L)` on the stored modes, (H, M) complex.

        Computed in the real coordinates `xi = [Re x; Im x]` of the stored modes
        (`x_full = T xi`, `T = [[I, iI], [I, -iI]]`), where the N-state system is real:
        `A_r = [[Re lam, -Im lam], [Im lam, Re lam]] - 2 p p^T` with `p = [Re P; Im P]` and
        `C_r = [2 Re C, -2 Im C]`; then `C Ab^L = C_r Ab_r^L T^{-1}`, whose first half is
        `(w_1 - i w_2) / 2` for `w = C_r Ab_r^L`. `C_r Ab_r^L` by repeated squaring written on
        the increments: with `Ab_r^(2^i) = I + E_i`, `E_{i+1} = 2 E_i + E_i E_i` and
        `v (I + E_i) = v + v E_i`, so the O(dt) part is never rounded against the identity. This
        O(N^3 log L) part runs in float64 whatever the layer's dtype (a real float64 product costs a
        quarter of a complex128 one): in complex64 it lost up to 2e-4 of `C~` at N = 256, more
        than the Cauchy sums lose.
        """
        f64 = torch.float64
        lam, P, C = self._lambda(), torch.view_as_complex(self.P), torch.view_as_complex(self.C)  # (H M)
        re, im = lam.real.to(f64), lam.imag.to(f64)  # (H M)
        p = torch.cat([P.real, P.imag], -1).to(f64)  # (H N)
        A = (
            torch.diag_embed(torch.cat([re, re], -1))
            - torch.diag_embed(im, offset=self.M)
            + torch.diag_embed(im, offset=-self.M)
            - 2 * p[:, :, None] * p[:, None, :]
        )  # (H N N), real
        dt = torch.exp(self.log_dt.to(f64))[:, None, None]  # (H 1 1)
        I = torch.eye(self.N, dtype=f64, device=A.device)  # (N N)
        E = torch.linalg.solve(I - dt / 2 * A, dt * A)  # (H N N): Ab_r - I
        v, n = torch.cat([2 * C.real, -2 * C.imag], -1).to(f64)[:, None, :], int(L)  # (H 1 N): C_r
        while n:
            if n & 1:
                v = v + v @ E  # (H 1 N)
            n >>= 1
            if n:
                E = 2 * E + E @ E  # (H N N)
        w = v[:, 0]  # (H N): C_r Ab_r^L
        return C - torch.complex(w[:, : self.M], -w[:, self.M :]).to(C.dtype) / 2  # (H M)

    def kernel(self, L):
        """`K_{h,k} = Re(C_h Ab_h^k Bb_h)`, shape (H, L), by Cauchy sums and the Woodbury identity."""
        L = int(L)
        lam = self._lambda()  # (H M)
        P, B = torch.view_as_complex(self.P), torch.view_as_complex(self.B)  # (H M)
        Ct = self._C_tilde(L)  # (H M)
        dt = torch.exp(self.log_dt)  # (H)
        j = torch.arange(L // 2 + 1, dtype=torch.float64, device=dt.device)  # (J)
        z = torch.polar(torch.ones_like(j), -2 * np.pi * j / L).to(lam.dtype)  # (J): roots of unity, half circle
        a = (2 / dt)[:, None, None] * (1 - z)  # (H 1 J)
        b = 1 + z  # (J)
        lam_ = lam[..., None]  # (H M 1)
        inv = 1 / ((a - b * lam_) * (a - b * lam_.conj()))  # (H M J): shared denominator of a conjugate pair
        v = torch.stack([Ct * B, Ct * P, P.conj() * B, P.conj() * P], 1)  # (H 4 M): CB, CP, PB, PP
        num_a = (2 * v.real).to(inv.dtype)  # (H 4 M)
        num_b = (2 * (v * lam.conj()[:, None, :]).real).to(inv.dtype)  # (H 4 M)
        r = a * (num_a @ inv) - b * (num_b @ inv)  # (H 4 J)
        r_CB, r_CP, r_PB, r_PP = r.unbind(1)  # (H J) each
        K_hat = 2 * (r_CB - b * r_CP * r_PB / (1 + b * r_PP))  # (H J)
        return torch.fft.irfft(K_hat, n=L)  # (H L)

    # -- references and export -----------------------------------------------------------
    def recurrent(self, u):
        """Reference loop `x_k = Ab x_{k-1} + Bb u_k`, `y_k = Re(C x_k) + D u_k` on the dense
        N-state system (after the gate)."""
        if self.gate is not None:
            u = self.gate(u)  # (B L H)
        Ab, Bb = self.discrete()  # (H N N), (H N)
        _, _, _, C = self.full()  # (H N)
        x = torch.zeros(u.shape[0], self.H, self.N, dtype=Ab.dtype, device=Ab.device)  # (B H N)
        ys = []
        for k in range(u.shape[1]):
            x = torch.einsum("hnm,bhm->bhn", Ab, x) + Bb * u[:, k, :, None]  # (B H N)
            ys.append((C * x).sum(-1).real + self.D * u[:, k])  # (B H)
        return torch.stack(ys, 1)  # (B L H)

    def export_channels(self):
        """Per channel the dense complex `SSM(Lambda - P P^H, B, C, D)` of N states, its step and 'bilinear'."""
        lam, P, B, C = (x.detach().cpu().numpy().astype(np.complex128) for x in self.full())  # (H N)
        D = self.D.detach().cpu().numpy().astype(np.float64)  # (H)
        dt = np.exp(self.log_dt.detach().cpu().numpy().astype(np.float64))  # (H)
        return [
            (
                SSM(np.diag(lam[h]) - np.outer(P[h], P[h].conj()), B[h], C[h], D[h], name=f"s4[{h}]"),
                float(dt[h]),
                "bilinear",
            )
            for h in range(self.H)
        ]
