"""smr_stability.nn.hf_mamba against transformers' own Mamba (a tiny random model, float64).

The reference is transformers' forward itself, read with hooks that the import code does not
use: the output of every mixer's ``in_proj`` (which holds the gate ``z``) and the input of its
``out_proj`` (``y * silu(z)``, the gated output of transformers' scan). The imported system is run
by the toolkit's own :func:`smr_stability.simulate_tv`.

transformers' reference (non-CUDA) scan upcasts ``A_log, D``, the dt bias, ``B_k`` and the SSM
input with ``.float()``, which for a float64 model rounds them to float32. The 1e-10 comparison
therefore runs transformers with ``Tensor.float`` made the identity on float64 tensors (fixture
``float64_scan``); a second test compares with the unmodified forward at float32 level.
"""

import sys

import numpy as np
import pytest
import scipy.linalg

transformers = pytest.importorskip("transformers")
import torch  # noqa: E402

from smr_stability import simulate_reference, simulate_tv, stability_report  # noqa: E402
from smr_stability.errors import (  # noqa: E402
    CheckpointError,
    InputTypeError,
    MissingDependencyError,
    ParameterError,
    ShapeError,
)
from smr_stability.nn import ExportedChannel  # noqa: E402
from smr_stability.nn.hf_mamba import (  # noqa: E402
    MambaTrace,
    export_mamba,
    load_mamba,
    trace_mamba,
)

VOCAB, HIDDEN, STATE, LAYERS, EXPAND, CONV = 50, 8, 4, 2, 2, 4
H = EXPAND * HIDDEN


def tiny_mamba(seed=0):
    """A seeded random ``MambaForCausalLM`` in float64, its SSM parameters spread out.

    The default initialisation (dt in [1e-3, 0.1], D = 1, small x_proj) leaves the state's share
    of ``y = C.s + D u`` near 1e-3; wider dt, A, D and x_proj make the state term as large as the
    direct term, so the comparison tests the scan and not only ``D u``.
    """
    torch.manual_seed(seed)
    config = transformers.MambaConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        state_size=STATE,
        num_hidden_layers=LAYERS,
        expand=EXPAND,
        conv_kernel=CONV,
    )
    model = transformers.MambaForCausalLM(config).to(torch.float64).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for block in model.backbone.layers:
            mixer = block.mixer
            mixer.x_proj.weight.normal_(0.0, 3.0, generator=g)
            mixer.dt_proj.bias.uniform_(-2.0, 0.5, generator=g)  # dt = softplus(.) in [0.13, 0.97]
            mixer.A_log.uniform_(np.log(0.5), np.log(3.0), generator=g)
            mixer.D.normal_(0.0, 1.0, generator=g)
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_mamba()


@pytest.fixture(scope="module")
def ids():
    return torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(1))


@pytest.fixture
def float64_scan(monkeypatch):
    """transformers' scan without its float32 upcasts: ``.float()`` leaves float64 tensors as they are."""
    upcast = torch.Tensor.float

    def keep_float64(self, *args, **kwargs):
        return self if self.dtype == torch.float64 else upcast(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "float", keep_float64)


def transformers_reference(model, ids):
    """Per block: the gate ``z`` (from ``in_proj``'s output) and ``y * silu(z)`` (``out_proj``'s input), (B, L, H)."""
    seen = {}
    handles = []
    for i, block in enumerate(model.backbone.layers):
        mixer = block.mixer
        handles.append(mixer.in_proj.register_forward_hook(lambda m, a, out, i=i: seen.__setitem__(("in", i), out)))
        handles.append(mixer.out_proj.register_forward_pre_hook(lambda m, a, i=i: seen.__setitem__(("out", i), a[0])))
    try:
        with torch.no_grad():
            model(ids, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    z = [seen["in", i].chunk(2, dim=-1)[1].numpy() for i in range(LAYERS)]
    gated = [seen["out", i].numpy() for i in range(LAYERS)]  # out_proj's input, (B, L, H)
    return z, gated


def toolkit_output(trace):
    """``y = C_k . s_k + D u_k`` (B, L, H), the states ``s`` by :func:`simulate_tv`, one system per channel."""
    Ab = trace.Ab.transpose(0, 2, 1, 3)  # (B H L N)
    Bb = trace.Bb.transpose(0, 2, 1, 3)[..., None]  # (B H L N 1)
    u = trace.u.transpose(0, 2, 1)[..., None]  # (B H L 1)
    _, s = simulate_tv(Ab, Bb, np.eye(STATE), 0.0, u, return_states=True)  # (B H L N)
    state_part = np.einsum("bhln,bln->blh", s, trace.C)
    return state_part + trace.D * trace.u, state_part


def silu(z):
    return z / (1.0 + np.exp(-z))


def relative_error(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


# --------------------------------------------------------------------------- agreement


def test_trace_reproduces_the_mixer_scan_in_float64(model, ids, float64_scan):
    z, gated = transformers_reference(model, ids)
    traces = trace_mamba(model, ids)
    assert len(traces) == LAYERS
    worst = 0.0
    for i, trace in enumerate(traces):
        y, state_part = toolkit_output(trace)
        assert np.max(np.abs(state_part)) > 0.1 * np.max(np.abs(y))  # the scan matters, not only D u
        rel = relative_error(y * silu(z[i]), gated[i])
        worst = max(worst, rel)
        assert rel < 1e-10, f"block {i}: relative disagreement {rel:.3g}"
    print(f"\nmax relative disagreement with transformers' float64 scan: {worst:.3g}")


def test_trace_agrees_with_the_unmodified_mixer_to_float32_rounding(model, ids):
    z, gated = transformers_reference(model, ids)
    worst = max(
        relative_error(toolkit_output(t)[0] * silu(z[t.layer]), gated[t.layer]) for t in trace_mamba(model, ids)
    )
    print(f"\nmax relative disagreement with transformers' unmodified scan (float32 upcasts): {worst:.3g}")
    assert worst < 1e-5


def test_trace_simulate_matches_a_sequential_loop(model, ids):
    trace = trace_mamba(model, ids[:1, :6])[1]
    y = trace.simulate()  # (1 L H)
    for c in (0, 5, H - 1):
        Bb = trace.Bb[0, :, c, :, None]  # (L N 1)
        s = simulate_reference(trace.Ab[0, :, c], Bb, np.eye(STATE), 0.0, trace.u[0, :, c, None])[1]  # (L N)
        want = np.sum(s * trace.C[0], axis=-1) + trace.D[c] * trace.u[0, :, c]
        np.testing.assert_allclose(y[0, :, c], want, rtol=1e-13, atol=1e-14)


def test_trace_shapes_and_selective_discretization(model, ids):
    trace = trace_mamba(model, ids)[0]
    B, L = ids.shape
    assert isinstance(trace, MambaTrace)
    assert trace.A.shape == (H, STATE) and trace.D.shape == (H,)
    assert trace.Ab.shape == trace.Bb.shape == (B, L, H, STATE)
    assert trace.C.shape == (B, L, STATE)
    assert trace.dt.shape == trace.u.shape == trace.z.shape == (B, L, H)
    assert all(a.dtype == np.float64 for a in (trace.Ab, trace.Bb, trace.C, trace.u))
    np.testing.assert_allclose(trace.Ab, np.exp(trace.dt[..., None] * trace.A), rtol=1e-15)
    assert np.all(trace.dt > 0) and np.all((trace.Ab > 0) & (trace.Ab < 1))


def test_ids_and_embeddings_give_the_same_trace(model, ids):
    embeds = model.backbone.embeddings(ids).detach()
    a, b = trace_mamba(model, ids[0]), trace_mamba(model, inputs_embeds=embeds[0])
    for ta, tb in zip(a, b):
        assert ta.u.shape == (1, ids.shape[1], H)
        np.testing.assert_array_equal(ta.Ab, tb.Ab)
        np.testing.assert_array_equal(ta.u, tb.u)


def test_float32_model_is_traced_in_float64_and_left_unchanged():
    model32 = tiny_mamba().to(torch.float32)
    trace = trace_mamba(model32, [1, 2, 3])[0]
    assert trace.Ab.dtype == np.float64 and model32.dtype == torch.float32


# --------------------------------------------------------------------------- time-invariant export


def test_export_at_rest_is_exp_dt_a_with_dt_at_the_bias(model):
    blocks = export_mamba(model)
    assert len(blocks) == LAYERS and all(len(b) == H for b in blocks)
    for block, channels in zip(model.backbone.layers, blocks):
        mixer = block.mixer
        dt = np.log1p(np.exp(mixer.dt_proj.bias.detach().numpy()))  # softplus(dt_proj.bias)
        A = -np.exp(mixer.A_log.detach().numpy())
        for c, ch in enumerate(channels):
            assert isinstance(ch, ExportedChannel) and ch.method == "selective"
            assert ch.system.diagonal and ch.system.N == STATE and ch.system.P == ch.system.Q == 1
            np.testing.assert_allclose(ch.dt, dt[c], rtol=1e-14)
            np.testing.assert_allclose(ch.system.A, A[c], rtol=1e-15)
            np.testing.assert_allclose(ch.Ab, np.diag(scipy.linalg.expm(ch.dt * np.diag(A[c]))), rtol=1e-13)
            assert not np.any(ch.system.B) and not np.any(ch.system.C) and not np.any(ch.Bb)  # x_proj has no bias
            assert ch.system.D[0, 0] == mixer.D[c].item()


def test_export_at_an_operating_point(model):
    u_star = np.random.default_rng(2).standard_normal(H)
    channels = export_mamba(model, at=u_star)[1]
    mixer = model.backbone.layers[1].mixer
    W = mixer.x_proj.weight.detach().numpy()  # (R + 2N, H)
    R = W.shape[0] - 2 * STATE
    r, B, C = np.split(W @ u_star, [R, R + STATE])
    dt = np.log1p(np.exp(mixer.dt_proj.weight.detach().numpy() @ r + mixer.dt_proj.bias.detach().numpy()))
    for c in (0, H - 1):
        ch = channels[c]
        np.testing.assert_allclose(ch.dt, dt[c], rtol=1e-13)
        np.testing.assert_allclose(ch.system.B[:, 0], B, rtol=1e-13)
        np.testing.assert_allclose(ch.system.C[0], C, rtol=1e-13)
        np.testing.assert_allclose(ch.Bb[:, 0], dt[c] * B, rtol=1e-13)
        np.testing.assert_allclose(ch.Ab, np.diag(scipy.linalg.expm(ch.dt * np.diag(ch.system.A))), rtol=1e-13)


def test_exported_channels_feed_the_analysis(model):
    from smr_stability.stability import analyze

    channels = export_mamba(model, at=np.ones(H))[1]
    rows = analyze(channels, layer=1)["channels"]
    assert [(r["layer"], r["channel"]) for r in rows] == [(1, c) for c in range(H)]
    for row, ch in zip(rows, channels):
        assert row["method"] == "selective" and row["dt"] == ch.dt
        assert row["spectral_radius"] == pytest.approx(np.max(ch.Ab), rel=1e-12) and row["spectral_radius"] < 1
    at_rest = export_mamba(model)[0][0]  # B = C = 0: the state update alone, no input-output gain
    report = stability_report(at_rest.system, dt=at_rest.dt, method=at_rest.method)
    assert report["error_gain"] == 0.0 and report["spectral_radius"] == pytest.approx(np.max(at_rest.Ab), rel=1e-12)


# --------------------------------------------------------------------------- loading


def test_load_from_a_folder_and_a_safetensors_file(model, tmp_path):
    model.save_pretrained(tmp_path)
    for source in (tmp_path, str(tmp_path / "model.safetensors")):
        backbone = load_mamba(source)
        assert isinstance(backbone, transformers.MambaModel)
        for p, q in zip(backbone.parameters(), model.backbone.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    a, b = export_mamba(tmp_path)[1][7], export_mamba(model)[1][7]
    assert a.dt == b.dt and np.array_equal(a.Ab, b.Ab)


def test_loaded_model_is_returned_as_its_backbone(model):
    assert load_mamba(model) is model.backbone
    assert load_mamba(model.backbone) is model.backbone


def test_checkpoint_errors(model, tmp_path):
    with pytest.raises(CheckpointError, match="neither"):
        load_mamba(tmp_path / "missing")
    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json"):
        load_mamba(tmp_path / "m" / "model.safetensors")
    transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(InputTypeError, match="model_type 'gpt2'"):
        load_mamba(tmp_path / "gpt2")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [torch.nn.Linear(2, 2), 42, None])
def test_not_a_mamba_model(bad):
    with pytest.raises(InputTypeError, match="MambaModel"):
        export_mamba(bad)
    with pytest.raises(InputTypeError, match="MambaModel"):
        trace_mamba(bad, [1, 2])


def test_bad_inputs(model, ids):
    with pytest.raises(ParameterError, match="exactly one"):
        trace_mamba(model)
    with pytest.raises(ParameterError, match="both"):
        trace_mamba(model, ids, inputs_embeds=np.zeros((3, HIDDEN)))
    with pytest.raises(InputTypeError, match="integer token ids"):
        trace_mamba(model, np.ones(4))
    with pytest.raises(ShapeError, match=r"\(L,\) or \(B, L\)"):
        trace_mamba(model, ids[None])
    with pytest.raises(ShapeError, match="L >= 1"):
        trace_mamba(model, np.zeros((2, 0), dtype=int))
    with pytest.raises(ParameterError, match=r"\[0, 50\)"):
        trace_mamba(model, [1, VOCAB])
    with pytest.raises(ShapeError, match="inputs_embeds"):
        trace_mamba(model, inputs_embeds=np.zeros((2, 5, HIDDEN + 1)))
    with pytest.raises(InputTypeError, match="inputs_embeds"):
        trace_mamba(model, inputs_embeds=np.zeros((5, HIDDEN), dtype=int))
    with pytest.raises(ShapeError, match="at:"):
        export_mamba(model, at=np.zeros(H + 1))
    with pytest.raises(ShapeError, match="at:"):
        export_mamba(model, at=np.full(H, np.nan))


def test_missing_transformers_is_a_named_error(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match="pip install transformers") as info:
        export_mamba(model)
    assert isinstance(info.value, ImportError)
