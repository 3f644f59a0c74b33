"""The contract every SSM layer follows."""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._validation import check_bool, check_int, check_real
from ..errors import InputTypeError, NonFiniteError, ShapeError, StepSizeError
from ..ssm import SSM
from .smr import SMR

__all__ = [
    "ConvolutionLayer",
    "ExportedChannel",
    "SSMLayer",
    "check_dt_range",
    "check_layer_input",
    "check_tensor",
    "fft_conv",
    "param_groups",
]


@dataclass
class ExportedChannel:
    """What the analysis needs from one channel of a trained layer.

    Attributes
    ----------
    system : SSM
        The continuous `(A, B, C, D)` of the channel (S5: the one MIMO system).
    dt : float
        The channel's step.
    method : str
        The discretization the layer uses (a name of `smr_stability.METHODS`).
    Ab, Bb : ndarray
        `smr_stability.discretize(system.A, system.B, dt, method)`, as the layer computes them.
    smr : tuple (m, b) or None
        The channel's SMR kernel, shapes (P, tau) and (P,) with P the system's inputs.
    """

    system: SSM
    dt: float
    method: str
    Ab: np.ndarray
    Bb: np.ndarray
    smr: tuple = None


def check_tensor(x, name):
    """Raise [`InputTypeError`][smr_stability.errors.InputTypeError] unless `x` is a torch tensor."""
    if not isinstance(x, torch.Tensor):
        raise InputTypeError(
            f"{name}: expected a torch.Tensor; found {type(x).__name__}. Convert it with torch.as_tensor."
        )
    return x


def check_finite_tensor(x, name):
    """Raise [`NonFiniteError`][smr_stability.errors.NonFiniteError] if `x` holds NaN or infinity (one
    reduction; the element-wise test only when the sum is not finite)."""
    with torch.no_grad():
        if bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all()):  # huge finite entries may overflow the sum
            return x
    raise NonFiniteError(f"{name}: expected finite values; found NaN or inf. Remove or replace non-finite values.")


def check_dt_range(dt_min, dt_max):
    """`(dt_min, dt_max)` as floats with `0 < dt_min <= dt_max`; else a named error."""
    dt_min = check_real(dt_min, "dt_min", 0.0, open_lo=True)
    return dt_min, check_real(dt_max, "dt_max", dt_min)


def check_train_config(config, what="config"):
    """Raise [`InputTypeError`][smr_stability.errors.InputTypeError] unless `config` is a run's config
    (a [`TrainConfig`][smr_stability.nn.config.TrainConfig], recognised by its fields so that the
    modules `config` itself imports need not import it back)."""
    fields = ("task", "layer", "width", "state", "depth", "seed", "to_dict")
    if not all(hasattr(config, f) for f in fields):
        raise InputTypeError(
            f"{what}: expected a TrainConfig (its task, layer and sizes name the model and the data); "
            f"found {type(config).__name__}. Build one first: TrainConfig(task=..., layer=...)."
        )


def check_layer_input(u, H, dt=None):
    """Raise [`ShapeError`][smr_stability.errors.ShapeError] unless `u` is (B, L, H) and `dt` is None
    or (B, L), [`NonFiniteError`][smr_stability.errors.NonFiniteError] if `u` is not finite, and
    [`StepSizeError`][smr_stability.errors.StepSizeError] unless every gap is finite and >= 0 (a zero gap,
    two samples at one time, is a step of length 0)."""
    check_tensor(u, "u")
    if u.ndim != 3 or u.shape[-1] != H:
        raise ShapeError(f"u: expected shape (B, L, H) with H = {H} channels; found {tuple(u.shape)}.")
    check_finite_tensor(u, "u")
    if dt is None:
        return
    check_tensor(dt, "dt")
    if dt.shape != u.shape[:2]:
        raise ShapeError(f"dt: expected the gaps of shape (B, L) = {tuple(u.shape[:2])}; found {tuple(dt.shape)}.")
    if not bool(torch.all(torch.isfinite(dt) & (dt >= 0))):
        raise StepSizeError(
            "dt: expected finite gaps >= 0 (non-decreasing timestamps); found a negative or non-finite gap. "
            "Sort the timestamps."
        )


class SSMLayer(nn.Module):
    """Base class: optional SMR gate, then the SSM; `(B, L, H) -> (B, L, H)`.

    Subclasses implement [`ssm`][smr_stability.nn.SSMLayer.ssm] and
    [`export_channels`][smr_stability.nn.SSMLayer.export_channels], and list the names of their SSM
    parameters (dt, A) in `ssm_parameter_names` so that
    [`param_groups`][smr_stability.nn.SSMLayer.param_groups] puts them in their own optimiser group
    without weight decay, as S4 does. Positive parameters are stored as logs.
    """

    ssm_parameter_names = ()

    def __init__(self, H, smr=False, tau=4):
        super().__init__()
        self.H = check_int(H, "H", 1, error=ShapeError)
        tau = check_int(tau, "tau", 1, error=ShapeError)  # the SMR kernel length
        self.gate = SMR(H, tau) if check_bool(smr, "smr") else None

    def forward(self, u, dt=None):
        """`u` (B, L, H), optional per-step gaps `dt` (B, L) (used by S5's variable-step mode)."""
        check_layer_input(u, self.H, dt)
        if self.gate is not None:
            u = self.gate(u)  # (B, L, H)
        return self.ssm(u, dt)

    def ssm(self, u, dt=None):  # pragma: no cover - abstract
        """The SSM alone (no gate): `u` (B, L, H) -> `y` (B, L, H); `dt` (B, L) optional gaps."""
        raise NotImplementedError

    def export_channels(self):  # pragma: no cover - abstract
        """List of `(system, dt, method)` per channel (continuous systems as the core's SSM)."""
        raise NotImplementedError

    def export(self):
        """Per channel an [`ExportedChannel`][smr_stability.nn.ExportedChannel], so the sampling
        engine and the Lyapunov tools
        run on the trained model directly."""
        from ..discretization import discretize

        m, b = self.gate.export() if self.gate is not None else (None, None)
        out = []
        for h, (system, dt, method) in enumerate(self.export_channels()):
            Ab, Bb = discretize(system.A, system.B, dt, method=method)
            P = system.P
            smr = None if m is None else ((m[h : h + 1] if P == 1 else m), (b[h : h + 1] if P == 1 else b))
            out.append(ExportedChannel(system, float(dt), method, Ab, Bb, smr))
        return out

    def param_groups(self, weight_decay=0.01, ssm_lr=None):
        """Optimiser groups of this layer; see [`param_groups`][smr_stability.nn.param_groups]."""
        return param_groups(self, weight_decay, ssm_lr)


def param_groups(module, weight_decay=0.01, ssm_lr=None):
    """Optimiser groups of `module`: its SSM parameters, then the rest.

    The SSM parameters are those of every [`SSMLayer`][smr_stability.nn.SSMLayer] inside `module` (itself
    included) named in the layer's `ssm_parameter_names` (the step and the state matrix):
    they get no weight decay and, when given, their own learning rate `ssm_lr`. Both
    groups keep the order of `module.parameters()`.

    Returns
    -------
    list of dict
        `[{"params": ssm, "weight_decay": 0.0[, "lr": ssm_lr]}, {"params": rest, "weight_decay": weight_decay}]`.
    """
    if not isinstance(module, nn.Module):
        raise InputTypeError(f"module: expected a torch.nn.Module; found {type(module).__name__}.")
    check_real(weight_decay, "weight_decay", 0.0)
    if ssm_lr is not None:
        check_real(ssm_lr, "ssm_lr", 0.0, open_lo=True)
    ssm_ids = {
        id(p)
        for layer in module.modules()
        if isinstance(layer, SSMLayer)
        for name, p in layer.named_parameters()
        if name.split(".")[-1] in layer.ssm_parameter_names
    }
    ssm, rest = [], []
    for p in module.parameters():
        (ssm if id(p) in ssm_ids else rest).append(p)
    group = {"params": ssm, "weight_decay": 0.0}
    if ssm_lr is not None:
        group["lr"] = ssm_lr
    return [group, {"params": rest, "weight_decay": weight_decay}]


def fft_conv(K, u):
    """Causal convolution `y_{k,h} = sum_{j=0..k} K_{h,j} u_{k-j,h}` by FFT.

    Parameters
    ----------
    K : tensor, shape (H, L)
        Real kernel per channel.
    u : tensor, shape (B, L, H)
        Real input.

    Returns
    -------
    y : tensor, shape (B, L, H)

    Notes
    -----
    Zero-padding to `n = 2L` makes the circular FFT convolution a linear (causal) one.
    Cost O(B H L log L).
    """
    L = u.shape[1]
    x = u.transpose(1, 2)  # (B H L)
    Kf = torch.fft.rfft(K, n=2 * L)  # (H 2L/2+1)
    uf = torch.fft.rfft(x, n=2 * L)  # (B H 2L/2+1)
    y = torch.fft.irfft(uf * Kf, n=2 * L)[..., :L]  # (B H L)
    return y.transpose(1, 2)  # (B L H)


class ConvolutionLayer(SSMLayer):
    """A fixed-step layer that is a causal convolution: `y = K * u + D u` (S4, S4D, Mega).

    Subclasses provide `kernel(L)` of shape (H, L) and, if their direct term is not `D`,
    `skip()`.
    """

    def kernel(self, L):  # pragma: no cover - abstract
        """The convolution kernel `K_{h,k} = C_h Ab_h^k Bb_h`, shape (H, L)."""
        raise NotImplementedError

    def skip(self):
        """The direct term (H,)."""
        return self.D

    def ssm(self, u, dt=None):
        """`y = K * u + D u` for `u` (B, L, H); `dt` is unused (fixed step)."""
        return fft_conv(self.kernel(u.shape[1]), u) + self.skip() * u  # (B L H)
