"""The sequence model that the training loop fits: encoder, residual SSM blocks, decoder.

Shapes: B batch, L length, P input channels, H width, Q output channels.

The network is built as S4 and S5 build theirs (Gu et al. 2022; Smith et al. 2023):

```text
x = encoder(u)                                              # (B, L, H)
for each block:  z = norm(x) if pre-norm else x
                 z = dropout(act(SSM(z)))                   # SSM optionally gated by SMR
                 x = x + z;  x = norm(x) if post-norm
y = decoder(x)                                              # (B, L, Q)
```

`act` is none, GELU, or one of S5's half-GLUs: `g * sigmoid(W g)` with `g = GELU(z)`
('glu', S5's `half_glu1`) or `z * sigmoid(W GELU(z))` ('glu2', `half_glu2`); the encoder
is linear or CRU's CNN on square frames; the decoder is linear or a tanh MLP. With
`head='gaussian_nll'` the decoder also gives a log-variance per output.
"""

import contextlib
import importlib
import math

import numpy as np
import torch
from torch import nn

from .._validation import check_bool, check_int, check_real
from ..errors import ParameterError, ShapeError
from .base import check_tensor, check_train_config, param_groups

__all__ = ["LAYERS", "TIMESCALE_LAYERS", "CNNEncoder", "SequenceModel"]

#: Layer names of the command line -> (module, class) in `smr_stability.nn`.
LAYERS = {
    "s4d": ("s4d", "S4D"),
    "s4": ("s4", "S4"),
    "s5": ("s5", "S5"),
    "s6": ("s6", "S6"),
    "mega": ("mega", "MegaEMA"),
    "spade": ("spade", "SPADE"),
}

#: The layers with a learned step, drawn log-uniform in `[dt_min, dt_max]` at initialisation.
TIMESCALE_LAYERS = ("s4d", "s4", "s5", "s6")


class CNNEncoder(nn.Module):
    """CRU's image encoder, per frame: (B, L, s*s) -> (B, L, H) for square `s x s` frames.

    conv 5x5 (12 channels, padding 2), ReLU, max-pool 2; conv 3x3 stride 2 (12 channels,
    padding 1), ReLU, max-pool 2; flatten; dense to `H` (Schirmer et al. 2022, pendulum).
    """

    def __init__(self, P, H):
        super().__init__()
        self.size = math.isqrt(P)
        if self.size * self.size != P or self.size < 8:
            raise ParameterError(
                f"encoder='cnn' needs square frames of at least 8x8, P = s*s inputs; found P = {P}. "
                "Use encoder='linear' for other inputs."
            )
        self.conv = nn.Sequential(
            nn.Conv2d(1, 12, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(12, 12, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            features = self.conv(torch.zeros(1, 1, self.size, self.size)).shape[-1]
        self.dense = nn.Linear(features, H)

    def forward(self, u):
        """`u` (B, L, P) -> (B, L, H)."""
        B, L, _ = u.shape
        frames = u.reshape(B * L, 1, self.size, self.size)  # (B*L, 1, s, s)
        return self.dense(self.conv(frames)).reshape(B, L, -1)  # (B, L, H)


class SequenceModel(nn.Module):
    """Encoder, `depth` residual SSM blocks, decoder: (B, L, P) -> (B, L, Q) (module docstring).

    Parameters
    ----------
    config : TrainConfig
        Uses `layer`, `width` (H), `state` (N), `depth`, `smr`, `tau`,
        `use_timestamps`, `encoder`, `decoder`, `activation`, `norm`, `dropout`,
        `head`, `step_per_state` and `blocks` (S5), and `dt_min`/`dt_max`
        (`TIMESCALE_LAYERS`).
    P, Q : int
        Input and output channels.
    time_unit : float
        With `use_timestamps`, the gaps are divided by it (the task's grid step), so that a gap
        of one grid step is one learned step, as in fixed-step mode; saved with the weights.
    """

    def __init__(self, config, P, Q, time_unit=1.0):
        super().__init__()
        check_train_config(config)
        P, Q = check_int(P, "P", 1, error=ShapeError), check_int(Q, "Q", 1, error=ShapeError)
        time_unit = check_real(time_unit, "time_unit", 0.0, open_lo=True)
        self.P = P
        module, cls = LAYERS[config.layer]
        Layer = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        H = config.width
        self.gap_input = config.gap_input  # S5's "append" baseline: the gap as one more input channel
        self.encoder = CNNEncoder(P, H) if config.encoder == "cnn" else nn.Linear(P + int(self.gap_input), H)
        self.norms = nn.ModuleList(nn.LayerNorm(H) for _ in range(config.depth))
        extra = {"step_per_state": True} if config.step_per_state else {}
        if config.blocks is not None:
            extra["blocks"] = config.blocks
        if config.layer in TIMESCALE_LAYERS:
            extra.update(dt_min=config.dt_min, dt_max=config.dt_max)
        self.layers = nn.ModuleList(
            Layer(H, N=config.state, smr=config.smr, tau=config.tau, **extra) for _ in range(config.depth)
        )
        if config.activation in ("glu", "glu2"):  # S5's half-GLUs: the gate's own weights per block
            self.glus = nn.ModuleList(nn.Linear(H, H) for _ in range(config.depth))
        self.activation, self.prenorm = config.activation, config.norm == "pre"
        self.drop = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.Q, self.nll = Q, config.head == "gaussian_nll"
        out = 2 * Q if self.nll else Q
        if config.decoder == "mlp":
            self.decoder = nn.Sequential(nn.Linear(H, H), nn.Tanh(), nn.Linear(H, out))
        else:
            self.decoder = nn.Linear(H, out)
        self.use_timestamps = config.use_timestamps
        if self.use_timestamps or self.gap_input:
            self.register_buffer("time_unit", torch.tensor(float(time_unit)))

    def _act(self, z, i):
        if self.activation == "gelu":
            return nn.functional.gelu(z)
        if self.activation == "glu":
            g = nn.functional.gelu(z)
            return g * torch.sigmoid(self.glus[i](g))
        if self.activation == "glu2":
            return z * torch.sigmoid(self.glus[i](nn.functional.gelu(z)))
        return z

    def gaps(self, t, dtype):
        """The per-step gaps `(t_k - t_{k-1}) / time_unit` (B, L) the layers get with
        `use_timestamps` (the first gap repeats the second); `None` otherwise."""
        if not self.use_timestamps or t is None:
            return None
        return self._gaps(t, dtype)

    def _gaps(self, t, dtype):
        gaps = torch.diff(t, dim=-1, prepend=t[:, :1] - (t[:, 1:2] - t[:, :1]))  # (B, L)
        return (gaps / self.time_unit).to(dtype)

    def encode(self, u, t=None):
        """The encoder on `u` (B, L, P) -> (B, L, H); with `gap_input` the gaps of `t`
        (as in [`gaps`][smr_stability.nn.model.SequenceModel.gaps]) are appended to `u` as channel P first."""
        if not self.gap_input:
            return self.encoder(u)
        if t is None:
            raise ParameterError(
                "this model reads the gaps as an input channel (gap_input=True): expected timestamps t (B, L); "
                "found t=None. Pass the sample times."
            )
        return self.encoder(torch.cat([u, self._gaps(t, u.dtype)[..., None]], dim=-1))  # (B, L, H)

    def block(self, i, x, dt=None, ssm=None):
        """Block `i` on `x` (B, L, H); `ssm` replaces its SSM layer (a callable), for tests."""
        z = self.norms[i](x) if self.prenorm else x
        z = (ssm or self.layers[i])(z, dt)  # (B, L, H)
        x = x + self.drop(self._act(z, i))
        return x if self.prenorm else self.norms[i](x)

    def forward(self, u, t=None, return_var=False):
        """`u` (B, L, P), timestamps `t` (B, L) (used only with `use_timestamps`).

        Returns the prediction (B, L, Q); with `return_var` (`head='gaussian_nll'` only)
        also its variance (B, L, Q).
        """
        self._check_forward(u, t, return_var)
        dt = self.gaps(t, u.dtype)
        x = self.encode(u, t)  # (B, L, H)
        for i in range(len(self.layers)):
            x = self.block(i, x, dt)
        out = self.decoder(x)  # (B, L, Q) or (B, L, 2Q)
        mean = out[..., : self.Q]
        if not return_var:
            return mean
        if not self.nll:
            raise ParameterError("return_var needs head='gaussian_nll'; found head='mse'. Train with that head.")
        return mean, nn.functional.softplus(out[..., self.Q :]) + 1e-6

    def _check_forward(self, u, t, return_var):
        """Types and shapes of [`forward`][smr_stability.nn.model.SequenceModel.forward]'s arguments
        (the layers check finiteness)."""
        check_tensor(u, "u")
        if u.ndim != 3 or u.shape[-1] != self.P:
            raise ShapeError(f"u: expected shape (B, L, P) with P = {self.P} inputs; found {tuple(u.shape)}.")
        if t is not None and (self.use_timestamps or self.gap_input):
            if check_tensor(t, "t").shape != u.shape[:2]:
                raise ShapeError(
                    f"t: expected timestamps of shape (B, L) = {tuple(u.shape[:2])}; found {tuple(t.shape)}."
                )
        check_bool(return_var, "return_var")

    def layer_inputs(self, u, block=0, t=None):
        """What the SSM layer of block `block` sees for task inputs `u` (n, L, P).

        Returns a float64 numpy array (n, L, H), computed without gradients (dropout off); the
        inputs of the channels that `self.layers[block].export()` describes. `u` goes to
        torch as a C-contiguous float32 copy: torch's CPU kernels for a strided input can round
        differently (a fused multiply-add or not), so the same values in another memory layout
        would give inputs one float32 rounding apart, and a zero perturbation a nonzero state
        error.
        """
        training = self.training
        self.eval()
        with torch.no_grad():
            device = self.norms[0].weight.device
            u = torch.from_numpy(np.array(u, dtype=np.float32, order="C")).to(device)  # a C-contiguous copy
            t = None if t is None else torch.from_numpy(np.array(t, dtype=np.float64, order="C")).to(device)
            dt = self.gaps(t, u.dtype)
            x = self.encode(u, t)  # (n, L, H)
            for i in range(block):
                x = self.block(i, x, dt)
            x = self.norms[block](x) if self.prenorm else x
        self.train(training)
        return x.double().cpu().numpy()

    @contextlib.contextmanager
    def scaled_steps(self, s):
        """Within the block, every learned step `exp(log_dt)` is multiplied by `s > 0`.

        Test-time step rescaling (S4's zero-shot resampling): a model trained at rate `dt`
        run on samples `s dt` apart. `s = 1` changes nothing; the steps are restored on exit.

        Raises
        ------
        ParameterError
            `s` not a positive number, or (for `s != 1`) a layer without a learned step.
        """
        s = float(s)
        if not (s > 0 and math.isfinite(s)):
            raise ParameterError(f"s: expected a finite step factor > 0; found {s!r}.")
        if s != 1 and not all(hasattr(layer, "log_dt") for layer in self.layers):
            raise ParameterError(
                f"scaled_steps: layer {type(self.layers[0]).__name__} has no learned step log_dt to rescale; "
                "use S4, S4D or S5."
            )
        saved = [layer.log_dt.detach().clone() for layer in self.layers] if s != 1 else []
        try:
            with torch.no_grad():
                for layer in self.layers if s != 1 else ():
                    layer.log_dt += math.log(s)
            yield self
        finally:
            with torch.no_grad():
                for layer, old in zip(self.layers, saved):
                    layer.log_dt.copy_(old)

    def export(self):
        """Every block's channels: a list (one per block) of `layer.export()`."""
        return [layer.export() for layer in self.layers]

    def param_groups(self, config):
        """SSM parameters (dt, A) without weight decay and with `ssm_lr`; the rest with both.

        See [`smr_stability.nn.base.param_groups`][smr_stability.nn.param_groups].
        """
        return param_groups(self, config.weight_decay, config.ssm_lr)
