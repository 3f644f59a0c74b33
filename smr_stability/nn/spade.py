"""SPADE: a global S4 and a local causal windowed attention, combined by a linear layer."""

import numpy as np
import torch
from torch import nn

from .._validation import check_int
from ..errors import ParameterError, ShapeError
from .base import SSMLayer
from .s4 import S4

__all__ = ["SPADE", "LocalAttention"]


class LocalAttention(nn.Module):
    r"""Causal sliding-window multi-head attention.

    Position k attends to positions `j` with `k - window < j <= k`:
    `a_k = softmax_j(q_k . k_j / sqrt(d)) v_j` per head (`d = H / heads`), then an output
    projection.

    Parameters
    ----------
    H : int
        Channels (divisible by `heads`).
    window : int
        Positions attended to, the current one included (>= 1).
    heads : int
        Attention heads.

    Notes
    -----
    Blocked: the sequence is cut into blocks of `window` positions, and each block of queries
    scores only its own block and the one before it (`2 window` keys), masked to the causal
    band. That is O(B L window H) time and O(B heads L window) memory. `forward_masked`
    is the banded mask on the full (L, L) score matrix, O(L^2): the reference it is tested against.
    """

    def __init__(self, H, window=16, heads=1):
        super().__init__()
        self.H, self.window, self.heads = (
            check_int(H, "H", 1, error=ShapeError),
            check_int(window, "window", 1),
            check_int(heads, "heads", 1),
        )
        if self.H % self.heads:
            raise ParameterError(
                f"heads: expected a divisor of H = {self.H}; found heads = {heads}. Change heads or H."
            )
        self.qkv = nn.Linear(self.H, 3 * self.H)
        self.out = nn.Linear(self.H, self.H)

    def _qkv(self, u):
        if u.ndim != 3 or u.shape[-1] != self.H:
            raise ShapeError(f"u must have shape (B, L, H) with H = {self.H}; found {tuple(u.shape)}.")
        Bsz, L, H = u.shape
        d = H // self.heads
        return self.qkv(u).view(Bsz, L, 3, self.heads, d).permute(2, 0, 3, 1, 4)  # 3 x (B heads L d)

    def _output(self, a):
        Bsz, heads, L, d = a.shape
        return self.out(a.transpose(1, 2).reshape(Bsz, L, heads * d))  # (B L H)

    def forward(self, u):
        """`u` (B, L, H) -> (B, L, H), blocked (see Notes)."""
        q, k, v = self._qkv(u)  # (B heads L d)
        L, d, w = q.shape[2], q.shape[3], self.window
        nb = -(-L // w)  # blocks
        pad = (0, 0, w, nb * w - L)  # a zero block in front (keys, values), zeros at the end

        def blocks(t):  # (B heads L d) -> (B heads nb 2w d): the block before, then the own block
            t = nn.functional.pad(t, pad).unflatten(2, (nb + 1, w))  # (B heads nb+1 w d)
            return torch.cat([t[:, :, :-1], t[:, :, 1:]], dim=3)

        qb = nn.functional.pad(q, (0, 0, 0, nb * w - L)).unflatten(2, (nb, w))  # (B heads nb w d)
        scores = qb @ blocks(k).transpose(-1, -2) / np.sqrt(d)  # (B heads nb w 2w)
        i = torch.arange(w, device=u.device)
        j = torch.arange(2 * w, device=u.device)
        lag = (i[:, None] + w) - j[None, :]  # (w 2w): query position - key position
        first = torch.arange(nb, device=u.device)[:, None] * w + j[None, :] - w  # (nb 2w): key position
        allowed = (lag >= 0) & (lag < w) & (first >= 0)[:, None, :]  # (nb w 2w)
        a = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1) @ blocks(v)  # (B heads nb w d)
        return self._output(a.flatten(2, 3)[:, :, :L])  # (B L H)

    def forward_masked(self, u):
        """As `forward` with the banded mask on the full (L, L) scores: O(L^2), the reference."""
        q, k, v = self._qkv(u)  # (B heads L d)
        L, d = q.shape[2], q.shape[3]
        scores = q @ k.transpose(-1, -2) / np.sqrt(d)  # (B heads L L)
        i = torch.arange(L, device=u.device)
        lag = i[:, None] - i[None, :]  # (L L): k - j
        allowed = (lag >= 0) & (lag < self.window)  # (L L), banded and causal
        a = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1) @ v  # (B heads L d)
        return self._output(a)


class SPADE(SSMLayer):
    r"""SPADE: `y = W [S4(u), LocalAttention(u)] + b`, a global S4 and a local attention.

    The S4 part ([`S4`][smr_stability.nn.S4], a learned diagonal-plus-low-rank state matrix initialised from
    HiPPO-LegS, bilinear) models long-range structure, the causal windowed attention
    (`LocalAttention`) local structure; a linear layer (2H -> H) mixes the two. The
    optional SMR gate acts on the input of both. The export is the S4 part's channels.

    Parameters
    ----------
    H : int
        Channels.
    N : int
        S4 state size.
    window : int
        Attention window (positions, the current one included).
    heads : int
        Attention heads (dividing H).
    smr : bool
        Gate the input with [`SMR`][smr_stability.nn.SMR] first.
    tau : int
        SMR kernel length.

    References
    ----------
    Zuo, Liu, Jiao, Charles, Manavoglu, Zhao, Gao, "Efficient Long Sequence Modeling via State
    Space Augmented Transformer" (SPADE), arXiv 2212.08136, 2022.

    Examples
    --------
    >>> import torch
    >>> from smr_stability.nn.spade import SPADE
    >>> SPADE(H=4, N=8, window=3, heads=2)(torch.randn(1, 12, 4)).shape
    torch.Size([1, 12, 4])
    """

    ssm_parameter_names = S4.ssm_parameter_names

    def __init__(self, H, N=32, window=16, heads=1, smr=False, tau=4):
        super().__init__(H, smr=smr, tau=tau)
        self.s4 = S4(H, N)
        self.attention = LocalAttention(H, window, heads)
        self.mix = nn.Linear(2 * self.H, self.H)

    def _combine(self, y_ssm, u):
        return self.mix(torch.cat([y_ssm, self.attention(u)], -1))  # (B L H)

    def ssm(self, u, dt=None):
        """`u` (B, L, H) (already gated) -> (B, L, H); `dt` is unused."""
        return self._combine(self.s4.ssm(u), u)

    def recurrent(self, u):
        """As [`forward`][smr_stability.nn.SSMLayer.forward] with the S4 part run by its recurrence (for tests)."""
        if self.gate is not None:
            u = self.gate(u)  # (B L H)
        return self._combine(self.s4.recurrent(u), u)

    def export_channels(self):
        """The channels of the inner S4 layer (the SSM half of SPADE), as
        [`S4.export_channels`][smr_stability.nn.S4.export_channels]."""
        return self.s4.export_channels()
