"""Import S4/S4D weights in the layout of the state-spaces code as the toolkit's systems.

The reader turns a state dict written by the reference implementation of S4 and S4D
(repository `state-spaces/s4`, https://github.com/state-spaces/s4) into one
[`ExportedChannel`][smr_stability.nn.ExportedChannel] per channel: the continuous
[`SSM`][smr_stability.ssm.SSM], the step `dt` and the discretization the layer uses, so that
`ssm_kernel(*discretize(system.A, system.B, dt, method), system.C, L)` reproduces that
layer's convolution kernel (docs/theory.md §0-1). It is written from the layouts below, read
from their source; no code of that repository is used or imported, and files are never
unpickled (`.pt`/`.pth`/`.ckpt`/... are refused; `.safetensors` is read).

Layouts (`kernel.*` keys under the prefix of the module that holds `D` and `kernel`;
`N` below is the number of *stored* modes, half the state size `d_state`):

`s4d_minimal` -- `state-spaces/s4`, `models/s4/s4d.py`, classes `S4D` and `S4DKernel`
    Keys `D` (H,), `kernel.log_dt` (H,), `kernel.log_A_real` (H, N), `kernel.A_imag`
    (H, N), `kernel.C` (H, N, 2) (`torch.view_as_real` of a complex C). The layer computes
    `dt = exp(log_dt)`, `A = -exp(log_A_real) + i A_imag` and the kernel
    `K_l = 2 Re(sum_n C_n (exp(dt A_n) - 1)/A_n exp(dt A_n l))`: zero-order hold with `B = 1`
    on one mode of each conjugate pair, hence the factor 2.

`diag` -- `state-spaces/s4`, `models/s4/s4.py`, class `SSMKernelDiag` inside `FFTConv`
    (itself `layer` inside `S4Block`: keys `layer.D`, `layer.kernel.*`). Keys `D`
    (channels, H), `kernel.inv_dt` (H, 1), or (H, N) when `dt_tie=False`,
    `kernel.A_real` (S, N), `kernel.A_imag` (S, N), `kernel.B` (1, S, N, 2),
    `kernel.C` (channels, H, N, 2), with `S = n_ssm` dividing H (channel h uses copy
    `h % S`, einops `'t n -> (v t) n'`). The layer computes
    `A = -f(A_real) - i g(A_imag)` with `f = real_transform`, `g = imag_transform`
    (`param_transform`: 'none' x, 'exp' exp(x), 'relu' relu(x) + 1e-4, 'sigmoid', 'softplus'
    with torch's threshold 20), `dt = dt_transform(inv_dt)` (after `sinh` when
    `dt_fast`), and `K_l = 2 Re(sum_n C_n B_n Bb'_n mu_n^l)` with `disc` 'zoh'
    (`mu = exp(dt A)`, `Bb' = (mu - 1)/A`) or 'bilinear' (`mu = (1 + dt A/2)/(1 - dt A/2)`,
    `Bb' = dt/(1 - dt A/2)`). Both versions of that file are read: with `is_real=True`
    (no `kernel.A_imag`; `B` (1, S, N) and `C` (channels, H, N) real) and with
    `force_real=True` (`A` replaced by its real part, an option not stored in the state dict).
    `bandlimit` (also not stored) zeroes `C_n` where `dt |Im A_n| / (2 pi) >= bandlimit/2`.
    `disc='dss'` is refused: it rescales C by `1/(exp(dt A L) - 1)`, so it is no fixed
    system independent of the length L.

`dplr` -- `state-spaces/s4`, `models/s4/s4.py`, class `SSMKernelDPLR` (the original S4)
    As `diag`, plus `kernel.P` (R, S, N, 2) (rank R) and the buffer `kernel.l_kernel`
    (0-d). The state matrix is `diag(Lambda) - sum_r P_r P_r^H` on the `2N` modes
    completed by conjugation (`Lambda = [A, conj A]`, `P_r = [P_r, conj P_r]`), discretized
    with the bilinear rule whatever `disc` says (the Cauchy/Woodbury kernel is bilinear). When
    `l_kernel = L0 > 0` the stored `C` is `C~ = C (I - Ab^L0)` (`_setup_C`); the reader
    solves for the true `C`, so the kernel is right at every length. `bandlimit` is refused
    for this variant (state-spaces applies it to `C~` in the convolution but not in its
    recurrent step, so the two modes are different systems).

Refused with a named error: the older layouts of that repository (`log_dt` with
`inv_A_real`/`w`, `src/models/sequence/ss/`), `bidirectional=True` (kernel channels
twice those of `D`: a non-causal kernel), and untied steps (`inv_dt` of shape (H, N)) unless
`untied_dt='steps'`: then each mode has its own step `dt_n`, which is exactly the system
`(diag(dt) A, dt B)` run with step 1, returned as such (time measured in steps).

What comes back (per channel h, an `ExportedChannel(system, dt, method, Ab, Bb)`):

- `conjugates='half'` (the default for the diagonal variants): the N stored modes,
  `A = diag(a)`, `B = b` (`1` for `s4d_minimal`), `C = 2 c`. Since
  `2 Re(c x) = Re(2c x)`, the toolkit's output `y = Re(C x)` is state-spaces' output
  exactly, and `Re(ssm_kernel(...))` is their kernel (`causal_conv` uses the real part).
  This keeps the O(N) diagonal path; `system.realify()` gives an equivalent real system.
- `conjugates='full'`: the `2N` modes `[a, conj a]`, `[b, conj b]`, `[c, conj c]`;
  `ssm_kernel` is then real up to rounding and equals their kernel. The DPLR variant is
  always full (its low-rank term couples each mode with its conjugate): a dense complex A of
  size 2N, as [`smr_stability.nn.s4.S4.export_channels`][smr_stability.nn.S4.export_channels].
- A real `is_real` kernel gives a real system of N states with `C = 2c`.
- `C` has one row per kernel channel (`channels`: e.g. 2 with `activation='glu'` in
  `FFTConv`) and `D` is `D[:, h]`: a single-input system with `channels` outputs.

Options that the state dict does not record (`disc`, the transforms, `dt_fast`,
`force_real`, `bandlimit`) must be passed as the layer was built. `dt_transform` and,
for `diag`, `disc` have no default: state-spaces' `SSMKernel` defaults to
`dt_transform='exp'` while its configs (`configs/model/layer/s4.yaml`) set `'softplus'`,
and the two give steps a few per cent apart, so guessing would silently import another model.
"""

import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._validation import check_finite
from ..discretization import discretize
from ..errors import InputTypeError, NonFiniteError, ParameterError, ShapeError, SingularSystemError
from ..ssm import SSM
from .base import ExportedChannel

__all__ = ["DISCS", "TRANSFORMS", "VARIANTS", "find_s4_prefixes", "import_s4_model", "import_s4_state_dict"]

#: Layouts read (see the module docstring).
VARIANTS = ("s4d_minimal", "diag", "dplr")
#: `param_transform` names of `models/s4/s4.py`.
TRANSFORMS = ("none", "exp", "relu", "sigmoid", "softplus")
#: Discretizations of `SSMKernelDiag` that are fixed systems.
DISCS = ("zoh", "bilinear")

_PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".tar", ".zip")
_MARKERS = ("kernel.log_A_real", "kernel.inv_dt")  # keys whose presence marks a supported kernel
_OLD_MARKERS = ("kernel.inv_A_real", "kernel.w", "kernel.log_dt")  # older layouts (log_dt without log_A_real)


# --------------------------------------------------------------------------- reading the source


def _load(source):
    """A mapping `key -> tensor or array` from a state dict or a `.safetensors` path."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix in _PICKLE_SUFFIXES or suffix != ".safetensors":
            raise InputTypeError(
                f"expected a state dict or a .safetensors file; found the path {str(path)!r} (suffix {suffix!r}). "
                "smr_stability never unpickles files (torch.load runs arbitrary code). Convert it once, where you "
                "trust it: `safetensors.torch.save_file({k: v.contiguous() for k, v in torch.load(p, "
                "map_location='cpu')['state_dict'].items()}, 'model.safetensors')` (drop ['state_dict'] for a bare "
                "state dict), then pass the .safetensors file."
            )
        if not path.is_file():
            raise InputTypeError(f"expected an existing .safetensors file; found no file at {str(path)!r}.")
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for a corrupt header
            raise InputTypeError(
                f"expected a readable safetensors file at {str(path)!r}; reading it failed: {exc}. "
                "Write it again with safetensors.torch.save_file."
            ) from None
    raise InputTypeError(
        f"expected a state dict (a mapping of names to tensors or arrays) or the path of a .safetensors file; "
        f"found {type(source).__name__}."
    )


def _numpy(value, key):
    """`value` (torch tensor, numpy array or number) as a numpy array, float64 unless integer."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        if value.is_complex():
            raise InputTypeError(
                f"{key}: expected a real tensor (state-spaces stores complex parameters as torch.view_as_real, "
                f"with a last axis of 2); found a complex tensor of shape {tuple(value.shape)}. "
                "Pass torch.view_as_real(x)."
            )
        value = value.double().numpy() if value.is_floating_point() else value.numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise InputTypeError(f"{key}: expected an array of numbers; could not convert it: {exc}") from None
    if np.iscomplexobj(arr):
        raise InputTypeError(
            f"{key}: expected a real array (complex parameters are stored as real and imaginary parts in a last "
            f"axis of 2); found a complex array of shape {arr.shape}. Pass np.stack([x.real, x.imag], -1)."
        )
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise InputTypeError(f"{key}: expected real numbers; found dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.integer):
        return arr
    arr = arr.astype(np.float64)
    try:
        return check_finite(arr, key)
    except NonFiniteError as exc:
        raise NonFiniteError(f"{exc} The checkpoint is damaged or the training diverged; use an earlier one.") from None


class _Reader:
    """The keys of one layer (`prefix`) of a state dict, read as float64 numpy arrays."""

    def __init__(self, sd, prefix):
        self.sd, self.prefix = sd, prefix

    def has(self, name):
        return self.prefix + name in self.sd

    def get(self, name, variant, shape=None):
        key = self.prefix + name
        if key not in self.sd:
            raise InputTypeError(
                f"expected the key {key!r} of the state-spaces '{variant}' layout ({_SOURCE[variant]}); it is missing. "
                f"{_found(self.sd, self.prefix)}"
            )
        arr = _numpy(self.sd[key], key)
        if shape is not None:
            _check_shape(arr, shape, key)
        return arr


_SOURCE = {
    "s4d_minimal": "state-spaces/s4 models/s4/s4d.py, S4DKernel",
    "diag": "state-spaces/s4 models/s4/s4.py, SSMKernelDiag",
    "dplr": "state-spaces/s4 models/s4/s4.py, SSMKernelDPLR",
}


def _found(sd, prefix, limit=25):
    """A sentence listing the keys found under `prefix` (and the S4 prefixes in `sd`)."""
    keys = [k for k in sd if k.startswith(prefix)]
    shown = ", ".join(repr(k) for k in keys[:limit]) + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")
    msg = f"Keys found under prefix {prefix!r}: {shown or 'none'}."
    prefixes = find_s4_prefixes(sd)
    if prefixes:
        msg += f" S4/S4D layers were found under the prefixes {prefixes}: pass one of them as prefix."
    else:
        msg += " No S4/S4D kernel was found in this state dict (keys ending in 'kernel.inv_dt' or 'kernel.log_A_real')."
    return msg


def _check_shape(arr, expected, key):
    """`expected`: a tuple of ints (checked) and None or str (any size; a str names the dimension)."""
    if arr.ndim != len(expected) or any(isinstance(e, int) and e != s for e, s in zip(expected, arr.shape)):
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ShapeError(f"{key}: expected shape {want}; found {arr.shape}.")


# --------------------------------------------------------------------------- finding layers


def find_s4_prefixes(state_dict):
    """The prefixes of the S4/S4D modules (`FFTConv` or `S4D`) in a state dict, in key order.

    Parameters
    ----------
    state_dict : mapping or str or os.PathLike
        A state dict, or the path of a `.safetensors` file.

    Returns
    -------
    list of str
        Each prefix `p` holds `p + 'kernel.inv_dt'` (`models/s4/s4.py`) or
        `p + 'kernel.log_A_real'` (`models/s4/s4d.py`); pass it to
        [`import_s4_state_dict`][smr_stability.nn.statespaces.import_s4_state_dict].

    Examples
    --------
    >>> find_s4_prefixes({"encoder.weight": 0, "layers.0.layer.kernel.inv_dt": 0, "layers.0.layer.D": 0})
    ['layers.0.layer.']
    """
    sd = _load(state_dict)
    out = []
    for key in sd:
        for marker in _MARKERS:
            if key == marker or key.endswith("." + marker):
                prefix = key[: len(key) - len(marker)]
                if prefix not in out:
                    out.append(prefix)
    return out


def _resolve_prefix(sd, prefix):
    if not isinstance(prefix, str):
        raise InputTypeError(f"prefix: expected a str such as 'layers.0.layer.'; found {type(prefix).__name__}.")
    if prefix and not prefix.endswith("."):
        prefix += "."
    if any(prefix + m in sd for m in _MARKERS + _OLD_MARKERS):
        return prefix
    if any(prefix + "layer." + m in sd for m in _MARKERS):  # the prefix of an S4Block: its FFTConv is 'layer'
        return prefix + "layer."
    return prefix


def _detect(reader, variant):
    has = reader.has
    if has("kernel.log_A_real"):
        found = "s4d_minimal"
    elif has("kernel.inv_dt") and has("kernel.A_real"):
        found = "dplr" if has("kernel.P") else "diag"
    elif any(has(m) for m in _OLD_MARKERS):
        raise ParameterError(
            f"the kernel under prefix {reader.prefix!r} is in an older state-spaces layout (keys such as 'kernel.log_dt' "
            "with 'kernel.inv_A_real' or 'kernel.w', from src/models/sequence/ss/); expected the layout of "
            "models/s4/s4.py ('kernel.inv_dt', 'kernel.A_real') or models/s4/s4d.py ('kernel.log_A_real'). "
            "Older layouts are not supported: load the weights into the current state-spaces S4 and save its state dict."
        )
    else:
        raise InputTypeError(
            f"expected an S4/S4D kernel under prefix {reader.prefix!r} (the key {reader.prefix + 'kernel.inv_dt'!r} "
            f"or {reader.prefix + 'kernel.log_A_real'!r}); found neither. {_found(reader.sd, reader.prefix)}"
        )
    if variant == "auto":
        return found
    if variant not in VARIANTS:
        raise ParameterError(f"variant: expected 'auto' or one of {VARIANTS}; found {variant!r}.")
    if variant != found:
        raise ParameterError(
            f"variant={variant!r} was asked, but the keys under prefix {reader.prefix!r} are those of {found!r} "
            f"({_SOURCE[found]}). Use variant={found!r} or 'auto'."
        )
    return found


# --------------------------------------------------------------------------- transforms


def _transform(x, name, option):
    """state-spaces' `param_transform` in float64 (`models/s4/s4.py`)."""
    if name == "none":
        return x
    if name == "exp":
        with np.errstate(over="ignore"):
            return np.exp(x)
    if name == "relu":
        return np.maximum(x, 0.0) + 1e-4
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1/(1 + exp(-x)), without overflow
    if name == "softplus":  # torch.nn.functional.softplus: beta 1, linear above the threshold 20
        return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))
    raise ParameterError(f"{option}: expected one of {TRANSFORMS} (state-spaces' param_transform); found {name!r}.")


def _check_choice(value, choices, option, why=""):
    if value is None:
        raise ParameterError(
            f"{option}: the state dict does not record it, so it must be passed as the layer was built; expected one "
            f"of {choices}, found None.{why}"
        )
    if value not in choices:
        raise ParameterError(f"{option}: expected one of {choices}; found {value!r}.")
    return value


# --------------------------------------------------------------------------- the layouts


def _read_minimal(r, options):
    """`models/s4/s4d.py`: per channel (a, b, c, D, dt); c of shape (1, N)."""
    given = [k for k, v in options.items() if v is not None and v is not False]
    if given:
        raise ParameterError(
            f"options {given} do not apply to the minimal S4D of models/s4/s4d.py, whose kernel is fixed "
            "(dt = exp(log_dt), A = -exp(log_A_real) + i A_imag, zoh, B = 1); drop them."
        )
    v = "s4d_minimal"
    log_dt = r.get("kernel.log_dt", v, ("H",))
    H = log_dt.shape[0]
    log_A_real = r.get("kernel.log_A_real", v, (H, None))
    N = log_A_real.shape[1]
    A_imag = r.get("kernel.A_imag", v, (H, N))
    C = r.get("kernel.C", v, (H, N, 2))
    D = r.get("D", v, (H,))
    with np.errstate(over="ignore"):
        a = -np.exp(log_A_real) + 1j * A_imag  # (H N)
        dt = np.exp(log_dt)  # (H)
    _finite(a, r.prefix + "kernel.log_A_real", "exp(log_A_real)")
    _positive_steps(dt, r.prefix + "kernel.log_dt")
    c = (C[..., 0] + 1j * C[..., 1])[:, None, :]  # (H 1 N)
    b = np.ones((H, N), dtype=np.complex128)
    return a, b, c, D[:, None], dt[:, None], None, "zoh", False


def _read_s4(r, variant, options):
    """`models/s4/s4.py` (SSMKernelDiag / SSMKernelDPLR): per channel arrays, see
    [`import_s4_state_dict`][smr_stability.nn.statespaces.import_s4_state_dict]."""
    disc = options["disc"]
    if variant == "dplr":
        if disc not in (None, "bilinear"):
            raise ParameterError(
                f"disc: the DPLR kernel (SSMKernelDPLR) is always bilinear, its Cauchy/Woodbury forward ignores disc; "
                f"found disc={disc!r}. Pass disc=None or 'bilinear'."
            )
        if options["bandlimit"] is not None:
            raise ParameterError(
                "bandlimit is not supported for the DPLR kernel: state-spaces masks C~ in its convolution but not in "
                "its recurrent step, so the layer is two different systems. Drop bandlimit, or import a diag kernel."
            )
        method = "bilinear"
    else:
        if disc == "dss":
            raise ParameterError(
                "disc='dss' is not supported: it divides C by exp(dt A L) - 1, so its kernel depends on the length L "
                "and is no fixed system. Expected disc 'zoh' or 'bilinear'."
            )
        method = _check_choice(disc, DISCS, "disc", " state-spaces' SSMKernelDiag defaults to 'zoh'.")
    dt_transform = _check_choice(
        options["dt_transform"],
        TRANSFORMS,
        "dt_transform",
        " state-spaces' SSMKernel defaults to 'exp' but its configs (configs/model/layer/s4.yaml) set 'softplus'.",
    )
    real_transform = options["real_transform"] or "exp"
    imag_transform = options["imag_transform"] or "none"
    _check_choice(real_transform, TRANSFORMS, "real_transform")
    _check_choice(imag_transform, TRANSFORMS, "imag_transform")

    key = r.prefix + "kernel."
    A_real = r.get("kernel.A_real", variant, (None, None))
    S, N = A_real.shape
    is_real = not r.has("kernel.A_imag")
    if is_real:
        B = r.get("kernel.B", variant, (1, S, N))
        C = r.get("kernel.C", variant, (None, None, N))
        b = B[0]
        c = C
    else:
        A_imag = r.get("kernel.A_imag", variant, (S, N))
        B = r.get("kernel.B", variant, (1, S, N, 2))
        C = r.get("kernel.C", variant, (None, None, N, 2))
        b = B[0, ..., 0] + 1j * B[0, ..., 1]  # (S N)
        c = C[..., 0] + 1j * C[..., 1]  # (channels H N)
    channels, H = c.shape[:2]
    if H % S:
        raise ShapeError(
            f"{key}C: expected H = {H} channels to be a multiple of n_ssm = {S} (the rows of {key}A_real); found "
            f"{H} % {S} = {H % S}."
        )
    inv_dt = r.get("kernel.inv_dt", variant, (H, None))
    if inv_dt.shape[1] not in (1, N):
        raise ShapeError(
            f"{key}inv_dt: expected shape ({H}, 1) (dt_tie=True) or ({H}, {N}) (dt_tie=False); found {inv_dt.shape}."
        )
    D = r.get("D", variant, (None, H))
    if D.shape[0] != channels:
        if 2 * D.shape[0] == channels:
            raise ParameterError(
                f"{key}C has {channels} kernel channels, twice the {D.shape[0]} of {r.prefix}D: the layer was built with "
                "bidirectional=True, whose kernel is non-causal (half of it runs backwards in time). Only causal "
                "layers are systems; bidirectional layers are not supported."
            )
        raise ShapeError(f"{r.prefix}D: expected shape ({channels}, {H}) (channels as {key}C); found {D.shape}.")

    if options["dt_fast"]:
        with np.errstate(over="ignore"):
            inv_dt = np.sinh(inv_dt)
    dt = _transform(inv_dt, dt_transform, "dt_transform")  # (H 1) or (H N)
    _positive_steps(dt, key + "inv_dt")
    a = -_transform(A_real, real_transform, "real_transform")  # (S N)
    if not is_real:
        a = a - 1j * _transform(A_imag, imag_transform, "imag_transform")
    _finite(a, key + "A_real/A_imag", "A")
    if options["force_real"]:
        a = a.real + 0j if not is_real else a
    t = np.arange(H) % S  # channel h uses copy h % S (einops 't n -> (v t) n')
    a, b = a[t], b[t]  # (H N)
    c = np.moveaxis(c, 1, 0)  # (H channels N)
    if options["bandlimit"] is not None:
        freqs = dt * np.abs(np.imag(a)) / (2 * math.pi)  # (H N)
        c = c * (freqs < 0.5 * float(options["bandlimit"]))[:, None, :]
    P = None
    if variant == "dplr":
        Pr = r.get("kernel.P", variant, (None, S, N, 2))
        P = np.moveaxis((Pr[..., 0] + 1j * Pr[..., 1])[:, t], 1, 0)  # (H R N)
    return a, b, c, D.T, dt, P, method, is_real


def _finite(x, key, what):
    if not np.all(np.isfinite(x)):
        raise NonFiniteError(f"{key}: expected a finite {what}; found inf/nan (the parameter overflowed float64).")


def _positive_steps(dt, key):
    if not np.all(np.isfinite(dt) & (dt > 0)):
        bad = dt[~(np.isfinite(dt) & (dt > 0))].ravel()[0]
        raise ParameterError(
            f"{key}: expected steps dt > 0 after the transform; found dt = {bad!r}. Check dt_transform (with 'none' the "
            "stored value is dt itself)."
        )


# --------------------------------------------------------------------------- the systems


def _l_kernel(r):
    key = r.prefix + "kernel.l_kernel"
    if key not in r.sd:
        raise InputTypeError(
            f"expected the buffer {key!r} of SSMKernelDPLR (state-spaces/s4 models/s4/s4.py): it says whether the stored "
            "C is C itself (0) or C~ = C (I - Ab^L) for L = l_kernel; it is missing. Save the full state dict "
            "(buffers included)."
        )
    L0 = _numpy(r.sd[key], key)
    if L0.size != 1 or L0.ravel()[0] < 0 or L0.ravel()[0] != int(L0.ravel()[0]):
        raise ShapeError(f"{key}: expected one integer >= 0; found {L0!r}.")
    return int(L0.ravel()[0])


def _power_minus_identity(A, dt, L):
    """`Ab^L - I` for the bilinear `Ab` of `A` (dense), accurate when `Ab` is close to `I`.

    With `E = Ab - I = (I - dt/2 A)^{-1} dt A`, repeated squaring on the increments:
    `(I + G)(I + E) - I = G + E + G E`, so the O(dt) part is never rounded against the identity.
    """
    n = A.shape[0]
    I = np.eye(n)
    E = np.linalg.solve(I - dt / 2 * A, dt * A)
    G = np.zeros_like(E)
    while L:
        if L & 1:
            G = G + E + G @ E
        L >>= 1
        if L:
            E = 2 * E + E @ E
    return G


def _true_C(A, dt, Ct, L0, key):
    """`C` from `C~ = C (I - Ab^L0)` (`Ct` of shape (Q, n))."""
    M = -_power_minus_identity(A, dt, L0)  # I - Ab^L0
    cond = np.linalg.cond(M)
    if not np.isfinite(cond) or cond > 1e14:
        raise SingularSystemError(
            f"{key}: the stored C is C~ = C (I - Ab^L) with L = l_kernel = {L0}, and I - Ab^L is singular or nearly so "
            f"(condition number {cond:.3g}): Ab has an eigenvalue mu with mu^L close to 1 (a mode on the unit circle), "
            "so C cannot be recovered."
        )
    return np.linalg.solve(M.T, Ct.T).T


def import_s4_state_dict(
    state_dict,
    prefix="",
    variant="auto",
    *,
    disc=None,
    dt_transform=None,
    real_transform=None,
    imag_transform=None,
    dt_fast=False,
    force_real=False,
    bandlimit=None,
    conjugates=None,
    untied_dt="refuse",
):
    """Per channel the continuous system, step and discretization of a state-spaces S4/S4D layer.

    Parameters
    ----------
    state_dict : mapping or str or os.PathLike
        `name -> torch.Tensor or numpy array`, or the path of a `.safetensors` file. Pickle
        files (`.pt`, `.pth`, `.ckpt`, ...) are refused.
    prefix : str
        The prefix of the module that holds `D` and `kernel` (an `FFTConv` or the minimal
        `S4D`), e.g. `'layers.0.layer.'`; the prefix of an `S4Block` (`'layers.0.'`) is
        completed with `'layer.'`. [`find_s4_prefixes`][smr_stability.nn.statespaces.find_s4_prefixes] lists them.
    variant : {'auto', 's4d_minimal', 'diag', 'dplr'}
        The layout (module docstring); 'auto' reads it from the keys.
    disc : {'zoh', 'bilinear'}
        `SSMKernelDiag`'s discretization; required for 'diag' (not stored), None or
        'bilinear' for 'dplr', None for 's4d_minimal'.
    dt_transform : {'none', 'exp', 'relu', 'sigmoid', 'softplus'}
        How `inv_dt` gives `dt`; required for 'diag' and 'dplr' (not stored).
    real_transform, imag_transform : str, optional
        How `A_real` and `A_imag` give `-Re A` and `-Im A`; default state-spaces'
        'exp' and 'none'.
    dt_fast : bool
        `inv_dt` is stored under `asinh` (state-spaces' `dt_fast=True`).
    force_real : bool
        The layer used only `Re A` (state-spaces' `force_real=True`).
    bandlimit : float, optional
        state-spaces' `bandlimit` ('diag' only): modes with `dt |Im A| / 2 pi >= bandlimit / 2`
        get `C = 0`.
    conjugates : {'half', 'full'}, optional
        The stored modes with `C = 2c` ('half', the default of the diagonal variants) or the
        modes completed by their conjugates ('full', always so for 'dplr').
    untied_dt : {'refuse', 'steps'}
        For a step per mode (`dt_tie=False`): refuse, or return `(diag(dt) A, dt B)` with
        step 1 (time in steps).

    Returns
    -------
    list of ExportedChannel
        One per channel h: `system` (an [`SSM`][smr_stability.ssm.SSM], one input, one output per
        kernel channel, `D[:, h]`), `dt`, `method` ('zoh' or 'bilinear'), and `Ab, Bb =
        discretize(system.A, system.B, dt, method)`; `smr` is None. `Re(ssm_kernel(Ab, Bb,
        system.C, L))[:, q, 0]` is state-spaces' kernel `K[q, h, :L]`.

    Raises
    ------
    InputTypeError
        A pickle path, a missing file, a missing key (the message lists the keys found), a
        complex or non-numeric array.
    ShapeError
        Shapes that do not fit the layout or each other.
    NonFiniteError
        NaN or infinity in a parameter.
    ParameterError
        An option that is missing, unknown, or does not apply; an unsupported layout
        (older versions, bidirectional, `disc='dss'`, untied steps without `untied_dt='steps'`).
    SingularSystemError
        DPLR: `I - Ab^l_kernel` is singular, so `C` cannot be recovered from `C~`.

    Notes
    -----
    Everything is computed in float64 from the stored values (float32 weights are widened, not
    rounded again), so the imported kernel equals the formula of state-spaces evaluated in
    float64; their float32 kernel differs from it by their own rounding.

    Examples
    --------
    >>> import numpy as np
    >>> sd = {"D": np.zeros(1), "kernel.log_dt": np.log([0.1]), "kernel.log_A_real": np.log([[0.5, 0.5]]),
    ...       "kernel.A_imag": np.pi * np.array([[0.0, 1.0]]), "kernel.C": np.ones((1, 2, 2))}
    >>> (ch,) = import_s4_state_dict(sd)
    >>> ch.system.A, round(ch.dt, 12), ch.method, ch.system.C  # C = 2c: y = 2 Re(c x) = Re(C x)
    (array([-0.5+0.j        , -0.5+3.14159265j]), 0.1, 'zoh', array([[2.+2.j, 2.+2.j]]))
    """
    sd = _load(state_dict)
    prefix = _resolve_prefix(sd, prefix)
    reader = _Reader(sd, prefix)
    variant = _detect(reader, variant)
    if untied_dt not in ("refuse", "steps"):
        raise ParameterError(f"untied_dt: expected 'refuse' or 'steps'; found {untied_dt!r}.")
    if conjugates not in (None, "half", "full"):
        raise ParameterError(f"conjugates: expected None, 'half' or 'full'; found {conjugates!r}.")
    if variant == "dplr" and conjugates == "half":
        raise ParameterError(
            "conjugates='half' is not possible for the DPLR kernel: its low-rank term couples each mode with its "
            "conjugate, so the system needs all 2N states. Use conjugates=None or 'full'."
        )
    options = {
        "disc": disc,
        "dt_transform": dt_transform,
        "real_transform": real_transform,
        "imag_transform": imag_transform,
        "dt_fast": dt_fast,
        "force_real": force_real,
        "bandlimit": bandlimit,
    }
    if variant == "s4d_minimal":
        a, b, c, D, dt, P, method, is_real = _read_minimal(reader, options)
    else:
        a, b, c, D, dt, P, method, is_real = _read_s4(reader, variant, options)
    untied = dt.shape[-1] > 1
    if untied and untied_dt == "refuse":
        raise ParameterError(
            f"{prefix}kernel.inv_dt has shape {dt.shape}: a step per mode (dt_tie=False), so the channel has no single "
            "step. Pass untied_dt='steps' to import the equivalent system (diag(dt) A, dt B) with step 1 (time "
            "measured in steps)."
        )
    full = variant == "dplr" or conjugates == "full"
    L0 = _l_kernel(reader) if variant == "dplr" else 0
    out = []
    for h in range(a.shape[0]):
        step = dt[h]  # (1) or (N)
        if variant == "dplr":
            system = _dplr_system(a[h], b[h], c[h], P[h], step, untied, L0, prefix + "kernel.C")
        else:
            system = _diag_system(a[h], b[h], c[h], step, untied, full and not is_real)
        A, B, C = system
        ch_dt = 1.0 if untied else float(step[0])
        ssm = SSM(A, B, C, D[h], name=f"{prefix}{variant}[{h}]")
        Ab, Bb = discretize(ssm.A, ssm.B, ch_dt, method=method)
        out.append(ExportedChannel(ssm, ch_dt, method, Ab, Bb))
    return out


def _diag_system(a, b, c, step, untied, full):
    """`(A, B, C)` of one diagonal channel: a (N), b (N), c (Q, N)."""
    if untied:  # exp(dt_n a_n) and (exp(dt_n a_n) - 1)/a_n b_n = phi(dt_n a_n) dt_n b_n: step 1
        a, b = step * a, step * b
    if full:
        return np.concatenate([a, np.conj(a)]), np.concatenate([b, np.conj(b)]), np.concatenate([c, np.conj(c)], -1)
    return a, b, 2 * c


def _dplr_system(a, b, c, P, step, untied, L0, key):
    """Dense `(A, B, C)` of one DPLR channel on the 2N conjugate-completed modes."""
    lam = np.concatenate([a, np.conj(a)])  # (2N)
    Pf = np.concatenate([P, np.conj(P)], -1)  # (R 2N)
    A = np.diag(lam) - Pf.T @ Pf.conj()  # diag(Lambda) - sum_r P_r P_r^H
    B = np.concatenate([b, np.conj(b)])
    C = np.concatenate([c, np.conj(c)], -1)  # (Q 2N)
    if untied:  # the Cauchy kernel with a step per mode is the bilinear (diag(dt) A, dt B) with step 1
        d = np.concatenate([step, step])
        A, B, step = d[:, None] * A, d * B, np.ones(1)
    if L0:
        C = _true_C(A, float(step[0]), C, L0, key)
    return A, B, C


def import_s4_model(state_dict, **options):
    """[`import_s4_state_dict`][smr_stability.nn.statespaces.import_s4_state_dict] for every S4/S4D
    layer of a state dict.

    Parameters
    ----------
    state_dict : mapping or str or os.PathLike
        A state dict or the path of a `.safetensors` file.
    **options
        Passed to [`import_s4_state_dict`][smr_stability.nn.statespaces.import_s4_state_dict] for
        every layer (`disc`, `dt_transform`, ...); those of `models/s4/s4.py` alone are not passed
        to the layers of `models/s4/s4d.py`, which have none (only `conjugates` and `untied_dt`
        reach them).

    Returns
    -------
    dict
        `{prefix: list of ExportedChannel}` in key order
        ([`find_s4_prefixes`][smr_stability.nn.statespaces.find_s4_prefixes]).

    Raises
    ------
    InputTypeError
        If the state dict holds no S4/S4D layer; otherwise as
        [`import_s4_state_dict`][smr_stability.nn.statespaces.import_s4_state_dict].
    """
    sd = _load(state_dict)
    prefixes = find_s4_prefixes(sd)
    if not prefixes:
        raise InputTypeError(
            "expected at least one S4/S4D layer (a key ending in 'kernel.inv_dt' or 'kernel.log_A_real'); found none "
            f"among {len(sd)} keys. {_found(sd, '')}"
        )
    minimal = {k: v for k, v in options.items() if k in ("conjugates", "untied_dt")}
    return {p: import_s4_state_dict(sd, p, **(minimal if p + "kernel.log_A_real" in sd else options)) for p in prefixes}
