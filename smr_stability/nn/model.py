"""The sequence model that the training loop fits: encoder, residual SSM blocks, decoder.

Shapes: B batch, L length, P input channels, H width, Q output channels.
"""

import importlib

import numpy as np
import torch
from torch import nn

from .base import param_groups

__all__ = ["LAYERS", "SequenceModel"]

#: Layer names of the command line -> (module, class) in ``smr_stability.nn``.
LAYERS = {
    "s4d": ("s4d", "S4D"),
    "s4": ("s4", "S4"),
    "s5": ("s5", "S5"),
    "s6": ("s6", "S6"),
    "mega": ("mega", "MegaEMA"),
    "spade": ("spade", "SPADE"),
}


class SequenceModel(nn.Module):
    """Linear encoder, ``depth`` blocks ``x + layer(norm(x))``, linear decoder: (B, L, P) -> (B, L, Q).

    Parameters
    ----------
    config : TrainConfig
        Uses ``layer``, ``width``, ``state``, ``depth``, ``smr``, ``tau`` and ``use_timestamps``.
    P, Q : int
        Input and output channels.
    time_unit : float
        With ``use_timestamps``, the gaps are divided by it (the task's grid step), so that a gap
        of one grid step is one learned step, as in fixed-step mode; saved with the weights.
    """

    def __init__(self, config, P, Q, time_unit=1.0):
        super().__init__()
        module, cls = LAYERS[config.layer]
        Layer = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        self.encoder = nn.Linear(P, config.width)
        self.norms = nn.ModuleList(nn.LayerNorm(config.width) for _ in range(config.depth))
        self.layers = nn.ModuleList(
            Layer(config.width, N=config.state, smr=config.smr, tau=config.tau) for _ in range(config.depth)
        )
        self.decoder = nn.Linear(config.width, Q)
        self.use_timestamps = config.use_timestamps
        if self.use_timestamps:
            self.register_buffer("time_unit", torch.tensor(float(time_unit)))

    def forward(self, u, t=None):
        """``u`` (B, L, P), timestamps ``t`` (B, L) (used only with ``use_timestamps``).

        With ``use_timestamps`` the layers get the gaps ``(t_k - t_{k-1}) / time_unit``
        (the first gap repeats the second), which multiply their learned steps.
        """
        dt = None
        if self.use_timestamps and t is not None:
            gaps = torch.diff(t, dim=-1, prepend=t[:, :1] - (t[:, 1:2] - t[:, :1]))  # (B, L)
            dt = (gaps / self.time_unit).to(u.dtype)
        x = self.encoder(u)  # (B, L, H)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x), dt)
        return self.decoder(x)  # (B, L, Q)

    def layer_inputs(self, u):
        """What the first SSM layer sees: ``norm(encoder(u))`` for task inputs ``u`` (n, L, P).

        Returns a float64 numpy array (n, L, H), computed without gradients; the inputs of the
        channels that :meth:`SSMLayer.export` describes. ``u`` goes to torch as a C-contiguous
        float32 copy: torch's CPU kernels for a strided input can round differently (a fused
        multiply-add or not), so the same values in another memory layout would give inputs one
        float32 rounding apart, and a zero perturbation a nonzero state error.
        """
        with torch.no_grad():
            u = torch.from_numpy(np.array(u, dtype=np.float32, order="C"))  # a C-contiguous copy: see below
            x = self.norms[0](self.encoder(u))  # (n, L, H)
        return x.double().numpy()

    def param_groups(self, config):
        """SSM parameters (dt, A) without weight decay and with ``ssm_lr``; the rest with both.

        See :func:`smr_stability.nn.base.param_groups`.
        """
        return param_groups(self, config.weight_decay, config.ssm_lr)
