"""Mamba layers of a Hugging Face `transformers` model as the toolkit's systems.

What `transformers.MambaMixer` computes on an input `h` (B, L, D) of one block, channel
`c = 1..H` (`H` = `intermediate_size`), state `N` (`state_size`), step `k`:

1. `[x~, z] = in_proj(h)`: the SSM branch `x~` and the gate `z`, each (B, L, H);
2. `u = act(conv1d(x~))`: a depthwise causal convolution then SiLU, the SSM input (B, L, H);
3. `[r, B_k, C_k] = x_proj(u_k)` (no bias), `dt_{k,c} = softplus(dt_proj(r)_c)` (with bias);
4. `A = -exp(A_log)` (H, N), real diagonal per channel; the 'selective' discretization
   (docs/theory.md §1) `Ab_{k,c} = exp(dt_{k,c} A_c)`, `Bb_{k,c} = dt_{k,c} B_k` (B and C
   shared over channels);
5. the scan `s_{k,c} = Ab_{k,c} * s_{k-1,c} + Bb_{k,c} u_{k,c}`, `s_{-1} = 0`, and
   `y_{k,c} = C_k . s_{k,c} + D_c u_{k,c}`: the deep-SSM order of docs/theory.md §0;
6. `out_proj(y * silu(z))`.

[`trace_mamba`][smr_stability.nn.hf_mamba.trace_mamba] returns steps 2-5 of every block on a given
input (a time-varying system per channel); [`export_mamba`][smr_stability.nn.hf_mamba.export_mamba]
freezes them at an operating point (a time-invariant system per channel, as
[`S6.export_channels`][smr_stability.nn.S6.export_channels]). `transformers` is imported only inside
these functions and is not a dependency of the package.

Precision: transformers' reference (non-CUDA) scan upcasts `A_log, D`, the `dt` bias, `B_k`
and `u` with `.float()` (meant for half-precision models), so even a float64 model runs its
state update with float32 roundings. This module computes everything in float64.
"""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..discretization import discretize
from ..errors import CheckpointError, InputTypeError, MissingDependencyError, ParameterError, ShapeError
from ..simulation import simulate_tv
from ..ssm import SSM
from .base import ExportedChannel

__all__ = ["MambaTrace", "export_mamba", "load_mamba", "trace_mamba"]


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError(
            "smr_stability.nn.hf_mamba needs the optional package transformers (>= 4.39, with Mamba); "
            "it is not installed. Install it with `pip install transformers`."
        ) from None
    return transformers


# --------------------------------------------------------------------------- the model


def load_mamba(source):
    """The Mamba backbone (a `transformers.MambaModel`) of a model or of a local checkpoint.

    Parameters
    ----------
    source : MambaModel, MambaForCausalLM, str or path
        A loaded model (returned as it is, or its `backbone` for a causal LM), a local folder
        written by `save_pretrained`, or a `.safetensors` file with a `config.json` beside
        it. Paths are read with `from_pretrained(..., local_files_only=True)`: nothing is
        downloaded. A causal-LM checkpoint loads as its backbone (the LM head is not needed).

    Returns
    -------
    transformers.MambaModel

    Raises
    ------
    MissingDependencyError
        If transformers is not installed.
    InputTypeError
        If `source` is not a Mamba model, or the checkpoint's `model_type` is not `'mamba'`.
    CheckpointError
        If the path does not exist, is not a folder or a `.safetensors` file, or has no
        `config.json`.
    """
    tf = _transformers()
    if isinstance(source, (str, Path)):
        source = _load_checkpoint(tf, Path(source))
    if not isinstance(source, tf.MambaPreTrainedModel):
        raise InputTypeError(
            "expected a transformers MambaModel or MambaForCausalLM, or the path of one saved with "
            f"save_pretrained; found {type(source).__name__}. Load the model with transformers first."
        )
    return getattr(source, "backbone", source)


def _load_checkpoint(tf, path):
    if path.is_dir():
        folder = path
    elif path.is_file() and path.suffix == ".safetensors":
        folder = path.parent
    else:
        raise CheckpointError(
            f"expected a local folder written by save_pretrained or a .safetensors file; found {str(path)!r}, "
            "which is neither. Pass the folder that holds config.json and model.safetensors."
        )
    if not (folder / "config.json").is_file():
        raise CheckpointError(
            f"expected {folder / 'config.json'} beside the weights; it is missing. Save the model with "
            "save_pretrained, which writes both."
        )
    config = tf.AutoConfig.from_pretrained(folder, local_files_only=True)
    if config.model_type != "mamba":
        raise InputTypeError(
            f"expected a Mamba checkpoint (model_type 'mamba'); found model_type {config.model_type!r} in "
            f"{folder / 'config.json'}. Only transformers' Mamba (v1) layers can be imported."
        )
    return tf.MambaModel.from_pretrained(path, config=config, local_files_only=True)


def _float64(backbone):
    """`backbone` itself if it is float64, else a float64 copy (the caller's model is left as it is)."""
    if backbone.dtype == torch.float64:
        return backbone
    return copy.deepcopy(backbone).to(torch.float64)


def _selection(mixer, u):
    """`(dt, B, C)` of a mixer for SSM inputs `u` (..., H): shapes (..., H), (..., N), (..., N)."""
    N, R = mixer.ssm_state_size, mixer.time_step_rank
    r, B, C = torch.split(mixer.x_proj(u), [R, N, N], dim=-1)  # (... R), (... N), (... N)
    return nn.functional.softplus(mixer.dt_proj(r)), B, C  # dt: (... H)


def _ssm_input(mixer, h):
    """The SSM input `u` and the gate `z` of a mixer for its input `h` (B, L, D): both (B, L, H)."""
    L = h.shape[1]
    x, z = mixer.in_proj(h).chunk(2, dim=-1)  # (B L H) each
    x = mixer.conv1d(x.transpose(1, 2))[..., :L]  # (B H L): padding K-1, the first L outputs are causal
    return mixer.act(x).transpose(1, 2), z


def _numpy(t):
    return t.detach().cpu().numpy()


# --------------------------------------------------------------------------- time-invariant


def export_mamba(model, at=None):
    """Every block's channels frozen at an operating point, as
    [`ExportedChannel`][smr_stability.nn.ExportedChannel] objects.

    Parameters
    ----------
    model : MambaModel, MambaForCausalLM, str or path
        See [`load_mamba`][smr_stability.nn.hf_mamba.load_mamba].
    at : array, shape (H,) or (n_layers, H), optional
        The SSM input `u*` (the conv + SiLU output, step 2 of the module docstring) at which
        the selection is frozen, for every block or per block. Default zeros.

    Returns
    -------
    list (one per block) of list (one per channel, H) of ExportedChannel
        Channel `c` of block `i`: `SSM(A_c, B*, C*, D_c)` with `A_c = -exp(A_log_c)`
        (diagonal, N), `dt = dt*_c`, method `'selective'` and `Ab = exp(dt A_c)`,
        `Bb = dt B*`, where `[r*, B*, C*] = x_proj(u*)` and `dt* = softplus(dt_proj(r*))`.
        The same layout as `SequenceModel.export()`.

    Notes
    -----
    The default `u* = 0` is the linearisation at rest, as
    [`S6.export_channels`][smr_stability.nn.S6.export_channels]: `x_proj` has no bias, so
    `B* = C* = 0` and `dt* = softplus(dt_proj.bias)`. Because `dt B_k u_k` and `C_k . s_k` are
    bilinear, the first-order (Jacobian) model of the channel around `u = 0, s = 0` is exactly this
    one: the state update `s_k = exp(dt* A) s_{k-1}` (all of the stability information: spectral
    radius, Lyapunov functions, gamma*) and the output `D u`; the state does not feel the input to
    first order. For input-output measures (error gains) freeze at a typical input instead, e.g. `at`
    = the mean over steps of `MambaTrace.u` on representative data. A zero *block* input
    gives `u* = silu(conv1d.bias + sum_j w_j b_x)` (`b_x` the SSM half of `in_proj.bias`,
    zero by default), not `u* = 0`.
    """
    backbone = _float64(load_mamba(model))
    blocks = backbone.layers
    H = backbone.config.intermediate_size
    u_star = np.zeros(H) if at is None else np.asarray(at, dtype=np.float64)
    if u_star.shape not in ((H,), (len(blocks), H)) or not np.all(np.isfinite(u_star)):
        raise ShapeError(
            f"at: expected finite SSM inputs of shape (H,) = ({H},) or (n_layers, H) = ({len(blocks)}, {H}); "
            f"found shape {u_star.shape}. Pass one value per channel (intermediate_size)."
        )
    u_star = np.broadcast_to(u_star, (len(blocks), H))
    return [_export_block(i, block.mixer, u_star[i]) for i, block in enumerate(blocks)]


def _export_block(i, mixer, u_star):
    device = mixer.A_log.device
    with torch.no_grad():
        dt, B, C = map(_numpy, _selection(mixer, torch.tensor(np.array(u_star), device=device)))  # (H), (N), (N)
        A, D = _numpy(-torch.exp(mixer.A_log)), _numpy(mixer.D)  # (H N), (H)
    out = []
    for c in range(A.shape[0]):
        system = SSM(A[c], B, C, D[c], name=f"mamba{i}[{c}]")
        Ab, Bb = discretize(system.A, system.B, float(dt[c]), method="selective")
        out.append(ExportedChannel(system, float(dt[c]), "selective", Ab, Bb))
    return out


# --------------------------------------------------------------------------- time-varying


@dataclass
class MambaTrace:
    """The time-varying system that one Mamba block runs on a given input (float64 numpy arrays).

    Shapes: B sequences, L steps, H channels (`intermediate_size`), N state.

    Attributes
    ----------
    layer : int
        The block's index.
    A : ndarray, shape (H, N)
        Continuous diagonal state matrices `-exp(A_log)`.
    dt : ndarray, shape (B, L, H)
        Selected steps `softplus(dt_proj(r_k))`.
    Ab : ndarray, shape (B, L, H, N)
        `exp(dt_{k,c} A_c)`, the diagonal of the state matrix of channel c at step k.
    Bb : ndarray, shape (B, L, H, N)
        `dt_{k,c} B_k`, the input vector of channel c at step k ('selective', docs/theory.md §1).
    C : ndarray, shape (B, L, N)
        `C_k`, shared over channels.
    D : ndarray, shape (H,)
    u : ndarray, shape (B, L, H)
        The SSM input: the conv + SiLU output that drives the state.
    z : ndarray, shape (B, L, H)
        The gate; the block's mixer outputs `out_proj(y * silu(z))`.

    Notes
    -----
    Channel `c` runs `s_k = Ab_{k,c} * s_{k-1} + Bb_{k,c} u_{k,c}` from `s_{-1} = 0` and
    outputs `y_{k,c} = C_k . s_k + D_c u_{k,c}`: the convention of
    [`smr_stability.simulate_tv`][smr_stability.simulation.simulate_tv] with `P = 1` input, except
    that `C` varies with `k`.
    """

    layer: int
    A: np.ndarray
    dt: np.ndarray
    Ab: np.ndarray
    Bb: np.ndarray
    C: np.ndarray
    D: np.ndarray
    u: np.ndarray
    z: np.ndarray

    def simulate(self):
        """`y` (B, L, H) before the gate, by
        [`smr_stability.simulate_tv`][smr_stability.simulation.simulate_tv] (states, then `C_k`).

        The states come from `simulate_tv` with `C = I` (output = state, shape (B, H, L, N));
        `y_{k,c} = C_k . s_{k,c} + D_c u_{k,c}` then follows at every step.
        """
        Ab = self.Ab.transpose(0, 2, 1, 3)  # (B H L N)
        Bb = self.Bb.transpose(0, 2, 1, 3)[..., None]  # (B H L N 1)
        u = self.u.transpose(0, 2, 1)[..., None]  # (B H L 1)
        N = Ab.shape[-1]
        _, s = simulate_tv(Ab, Bb, np.eye(N), 0.0, u, return_states=True)  # (B H L N)
        return np.einsum("bhln,bln->blh", s, self.C) + self.D * self.u  # (B L H)


def trace_mamba(model, input_ids=None, *, inputs_embeds=None):
    """Every block's time-varying system on one input, computed with transformers' own modules.

    Parameters
    ----------
    model : MambaModel, MambaForCausalLM, str or path
        See [`load_mamba`][smr_stability.nn.hf_mamba.load_mamba]. A model that is not float64 is
        copied to float64 first.
    input_ids : array of int, shape (L,) or (B, L), optional
        Token ids in `[0, vocab_size)`.
    inputs_embeds : array of float, shape (L, D) or (B, L, D), optional
        Embeddings instead of ids (exactly one of the two), `D = hidden_size`.

    Returns
    -------
    list of MambaTrace
        One per block.

    Raises
    ------
    MissingDependencyError, InputTypeError, CheckpointError
        As [`load_mamba`][smr_stability.nn.hf_mamba.load_mamba]; `InputTypeError` also for
        non-integer ids or non-real embeddings.
    ParameterError
        If not exactly one of `input_ids` and `inputs_embeds` is given, or an id is out of range.
    ShapeError
        If the input has the wrong shape.

    Notes
    -----
    The model runs forward (float64, no cache, no padding mask) with a hook that records the input
    `h` of every block's mixer; each block's `in_proj`, `conv1d`, `act`, `x_proj`,
    `dt_proj`, `A_log` and `D` then give steps 2-5 of the module docstring. The mixer
    inputs are those of transformers' own forward, whose scan rounds to float32 (module
    docstring): deeper blocks inherit those roundings, while each block's system is float64.
    """
    backbone = _float64(load_mamba(model))
    kwargs = _model_input(backbone, input_ids, inputs_embeds)
    seen = {}

    def record(module, args, kwargs):
        seen[id(module)] = args[0] if args else kwargs["hidden_states"]

    mixers = [block.mixer for block in backbone.layers]
    handles = [m.register_forward_pre_hook(record, with_kwargs=True) for m in mixers]
    try:
        with torch.no_grad():
            backbone(**kwargs, use_cache=False)
            return [_trace_block(i, m, seen[id(m)]) for i, m in enumerate(mixers)]
    finally:
        for handle in handles:
            handle.remove()


def _trace_block(i, mixer, h):
    u, z = _ssm_input(mixer, h)  # (B L H) each
    dt, B, C = _selection(mixer, u)  # (B L H), (B L N), (B L N)
    A = -torch.exp(mixer.A_log)  # (H N)
    Ab = torch.exp(dt[..., None] * A)  # (B L H N)
    Bb = dt[..., None] * B[:, :, None, :]  # (B L H N)
    arrays = map(_numpy, (A, dt, Ab, Bb, C, mixer.D, u, z))
    return MambaTrace(i, *arrays)


def _model_input(backbone, input_ids, inputs_embeds):
    """`{'input_ids': (B, L) long}` or `{'inputs_embeds': (B, L, D) float64}` on the model's device."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ParameterError(
            "expected exactly one of input_ids (token ids) and inputs_embeds (embeddings); found "
            f"{'both' if input_ids is not None else 'neither'}. Pass one of them."
        )
    device = backbone.embeddings.weight.device
    if input_ids is not None:
        ids = torch.as_tensor(input_ids)
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise InputTypeError(f"input_ids: expected integer token ids; found dtype {ids.dtype}. Tokenize first.")
        ids = _batched(ids, 1, "input_ids", "(L,) or (B, L)")
        V = backbone.config.vocab_size
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= V):
            raise ParameterError(
                f"input_ids: expected ids in [0, {V}) (vocab_size); found the range "
                f"[{int(ids.min())}, {int(ids.max())}]. Use the model's own tokenizer."
            )
        return {"input_ids": ids.to(device=device, dtype=torch.long)}
    emb = torch.as_tensor(inputs_embeds)
    if not emb.is_floating_point():
        raise InputTypeError(f"inputs_embeds: expected real floating-point embeddings; found dtype {emb.dtype}.")
    D = backbone.config.hidden_size
    emb = _batched(emb, 2, "inputs_embeds", f"(L, {D}) or (B, L, {D})")
    if emb.shape[-1] != D:
        raise ShapeError(f"inputs_embeds: expected shape (L, {D}) or (B, L, {D}); found {tuple(emb.shape)}.")
    return {"inputs_embeds": emb.to(device=device, dtype=torch.float64)}


def _batched(t, ndim, name, expected):
    """`t` with a leading batch axis added when it has `ndim` dims; `ndim + 1` dims and L >= 1 required."""
    if t.ndim == ndim:
        t = t[None]
    if t.ndim != ndim + 1 or t.shape[1] == 0:
        raise ShapeError(
            f"{name}: expected shape {expected} with L >= 1; found {tuple(t.shape)}. Add or remove a batch axis."
        )
    return t
