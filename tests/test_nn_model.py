"""The deep sequence model: blocks against a plain recurrence, encoders, heads, the recipe, and the
training loop's warm-up, best weights and devices."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from smr_stability import errors, s5_hippo
from smr_stability.nn.checkpoint import load_run
from smr_stability.nn.config import RECIPES, TrainConfig
from smr_stability.nn.evaluate import split_mse
from smr_stability.nn.model import CNNEncoder, SequenceModel
from smr_stability.nn.tasks import load_task
from smr_stability.nn.train import _scheduler, train
from smr_stability.simulation import simulate_reference
from smr_stability.smr import smr_gate


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path / "cache"))


def deep(**kw):
    base = {
        "task": "sines",
        "layer": "s4d",
        "width": 6,
        "state": 4,
        "depth": 2,
        "activation": "glu",
        "norm": "post",
        "decoder": "mlp",
        "small": True,
        "epochs": 2,
    }
    return TrainConfig.from_dict({**base, **kw})


def _recurrent(layer):
    """The SSM layer as the core's plain loop on its exported channels (deep-SSM convention),
    through the exported SMR gate (numpy): a callable ``(z, dt) -> y`` like the layer."""
    channels = layer.export()

    def run(z, dt=None):
        z = z.detach().numpy()  # (B, L, H)
        out = np.zeros_like(z)
        for b in range(z.shape[0]):
            if len(channels) == 1 and channels[0].system.P == z.shape[-1]:  # S5: one MIMO system
                ch = channels[0]
                u = z[b] if ch.smr is None else smr_gate(z[b], *ch.smr)
                out[b] = simulate_reference(ch.Ab, ch.Bb, ch.system.C, ch.system.D, u)[0]
                continue
            for h, ch in enumerate(channels):
                u = z[b, :, h : h + 1] if ch.smr is None else smr_gate(z[b, :, h : h + 1], *ch.smr)
                out[b, :, h] = simulate_reference(ch.Ab, ch.Bb, ch.system.C, ch.system.D, u)[0][:, 0]
        return torch.from_numpy(out)

    return run


def assert_network_equals_its_recurrence(model):
    """The network's forward (float64) against the same blocks with each SSM as the core's loop."""
    u = torch.randn(2, 24, 1, dtype=torch.float64)
    with torch.no_grad():
        x = model.encoder(u)
        for i, lay in enumerate(model.layers):
            x = model.block(i, x, None, ssm=_recurrent(lay))
        torch.testing.assert_close(model.decoder(x), model(u), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("layer", ["s4d", "s4", "s5", "mega"])
@pytest.mark.parametrize("smr", [False, True])
def test_network_convolution_equals_its_recurrence(layer, smr):
    """Every block of the deep network (post-norm, half-GLU, MLP decoder), float64: the layers'
    convolution (or scan) against the core's sequential loop on the exported channels."""
    torch.manual_seed(0)
    config = deep(layer=layer, smr=smr)
    model = SequenceModel(config, 1, 1).double().eval()
    if smr:  # a gate that is not near-constant
        for lay in model.layers:
            with torch.no_grad():
                for p in lay.gate.parameters():
                    p.normal_(0.0, 1.0)
    assert_network_equals_its_recurrence(model)


def test_network_with_per_state_s5_steps_equals_its_recurrence():
    torch.manual_seed(4)
    model = SequenceModel(deep(layer="s5", step_per_state=True), 1, 1).double().eval()
    assert_network_equals_its_recurrence(model)
    with pytest.raises(errors.ParameterError, match="only S5"):
        deep(layer="s4d", step_per_state=True)


def test_network_with_s5_blocks_and_half_glu2_equals_its_recurrence():
    """S5's block init with conjugate symmetry, a step per state drawn in [0.01, 0.1], half_glu2."""
    torch.manual_seed(5)
    config = deep(layer="s5", step_per_state=True, blocks=2, activation="glu2", dt_min=0.01, dt_max=0.1)
    model = SequenceModel(config, 1, 1).double().eval()
    for lay in model.layers:
        step = torch.exp(lay.log_dt)
        assert step.shape == (4,) and bool(((step >= 0.01) & (step <= 0.1)).all())
        lam = lay._lambda().detach().numpy()
        np.testing.assert_allclose(lam, s5_hippo(4, blocks=2).A, rtol=1e-7)  # stored in float32 first
    assert_network_equals_its_recurrence(model)


def test_half_glu2_gates_the_ssm_output_itself():
    """S5's half_glu2: ``z * sigmoid(W GELU(z))`` (half_glu1 gates ``GELU(z)`` instead)."""
    torch.manual_seed(6)
    model = SequenceModel(deep(activation="glu2", norm="pre", depth=1), 1, 1).double().eval()
    x = torch.randn(2, 10, 6, dtype=torch.float64)
    with torch.no_grad():
        z = model.layers[0](model.norms[0](x))
        want = x + z * torch.sigmoid(model.glus[0](torch.nn.functional.gelu(z)))
        torch.testing.assert_close(model.block(0, x), want, rtol=0, atol=0)


def test_block_structure_pre_and_post_norm():
    """One block by hand: post-norm ``norm(x + act(ssm(x)))``, pre-norm ``x + act(ssm(norm(x)))``."""
    torch.manual_seed(1)
    for norm in ("pre", "post"):
        model = SequenceModel(deep(norm=norm, activation="gelu", depth=1), 1, 1).double().eval()
        x = torch.randn(2, 10, 6, dtype=torch.float64)
        with torch.no_grad():
            ssm, ln = model.layers[0], model.norms[0]
            want = (
                x + torch.nn.functional.gelu(ssm(ln(x))) if norm == "pre" else ln(x + torch.nn.functional.gelu(ssm(x)))
            )
            torch.testing.assert_close(model.block(0, x), want, rtol=0, atol=0)


def test_layer_inputs_of_every_block_match_a_forward_hook():
    torch.manual_seed(2)
    model = SequenceModel(deep(layer="s5", depth=3), 1, 1)
    u = torch.randn(3, 16, 1)
    seen = {}
    hooks = [
        lay.register_forward_pre_hook(lambda m, a, i=i: seen.__setitem__(i, a[0].detach().clone()))
        for i, lay in enumerate(model.layers)
    ]
    model.eval()
    with torch.no_grad():
        model(u)
    for h in hooks:
        h.remove()
    for i in range(3):
        assert np.array_equal(model.layer_inputs(u.numpy(), block=i), seen[i].double().numpy())
    assert [len(chs) for chs in model.export()] == [1, 1, 1]


def test_default_config_keeps_the_one_block_model_of_the_first_studies():
    model = SequenceModel(TrainConfig(depth=1, width=4, state=4), 1, 1)
    assert sorted(k for k in model.state_dict() if not k.startswith("layers.")) == [
        "decoder.bias",
        "decoder.weight",
        "encoder.bias",
        "encoder.weight",
        "norms.0.bias",
        "norms.0.weight",
    ]


def test_recipe_is_s5s_pendulum_recipe():
    c = TrainConfig.recipe("pendulum", layer="s5", use_timestamps=True)
    assert (c.depth, c.width, c.batch_size, c.epochs) == (4, 30, 32, 100)
    assert (c.lr, c.ssm_lr, c.weight_decay, c.warmup_epochs, c.dropout) == (0.012, 0.003, 0.0, 1, 0.0)
    assert (c.norm, c.decoder) == ("post", "mlp")
    # S5's own settings: ssm_size 16 with conj_sym = 8 modes in 8 blocks, dt per state in [0.01, 0.1]
    assert (c.state, c.blocks, c.step_per_state, c.dt_min, c.dt_max, c.activation) == (8, 8, True, 0.01, 0.1, "glu2")
    other = TrainConfig.recipe("pendulum", layer="s4d")
    assert (other.state, other.blocks, other.step_per_state, other.activation) == (16, None, False, "glu")
    assert not TrainConfig.recipe("pendulum", layer="s5", step_per_state=False).step_per_state
    assert TrainConfig.recipe("sines", layer="mega").ssm_lr == TrainConfig.recipe("sines", layer="mega").lr
    assert set(RECIPES) == {"pendulum", "sines"}
    with pytest.raises(errors.ParameterError, match="task must be one of"):
        TrainConfig.recipe("mnist")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("activation", "relu", errors.ParameterError),
        ("norm", "mid", errors.ParameterError),
        ("dropout", 1.0, errors.ParameterError),
        ("dropout", -0.1, errors.ParameterError),
        ("warmup_epochs", 2, errors.ParameterError),
        ("head", "l1", errors.ParameterError),
        ("encoder", "rnn", errors.ParameterError),
        ("warmup_epochs", 0.5, errors.InputTypeError),
        ("blocks", 3, errors.ParameterError),  # not a divisor of state = 4
        ("blocks", 0, errors.ParameterError),
        ("dt_min", 0.0, errors.ParameterError),
        ("dt_max", 1e-4, errors.ParameterError),  # below dt_min
        ("dt_min", "0.01", errors.InputTypeError),
    ],
)
def test_config_rejects_bad_architecture_values(field, value, error):
    with pytest.raises(error, match=field):
        deep(**{field: value})


def test_config_keeps_s5_and_timescale_fields_to_the_layers_that_have_them():
    assert deep(layer="s5", blocks=2).blocks == 2
    with pytest.raises(errors.ParameterError, match="only S5"):
        deep(layer="s4d", blocks=2)
    with pytest.raises(errors.ParameterError, match="no learned step"):
        deep(layer="mega", dt_min=0.01)
    assert deep(layer="mega").dt_min == 1e-3  # the defaults are allowed everywhere


def test_cnn_encoder_shapes_and_square_frames():
    enc = CNNEncoder(24 * 24, 30)
    assert enc(torch.rand(2, 5, 576)).shape == (2, 5, 30)
    assert enc.dense.in_features == 12 * 3 * 3  # 24 -> pool 12 -> stride 2: 6 -> pool 3
    with pytest.raises(errors.ParameterError, match="square frames"):
        CNNEncoder(50, 30)


def test_warmup_then_cosine_schedule():
    config = deep(epochs=4, warmup_epochs=1, lr=0.1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    sched = _scheduler(config, opt, steps_per_epoch=5)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:5] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1])  # linear from 0 over one epoch
    expected = [0.05 * (1 + np.cos(np.pi * k / 15)) for k in range(15)]
    assert lrs[5:] == pytest.approx(expected)  # cosine from lr to 0 over the rest


def test_a_tiny_deep_model_learns():
    """Two blocks of width 8 fit a causal filter of their input (an exponential moving average,
    by scipy's lfilter, plus a delayed copy) to under a tenth of the mean predictor's error in
    200 AdamW steps over 7 fixed batches, measured on an eighth batch."""
    import scipy.signal

    torch.manual_seed(0)
    config = deep(width=8, state=8, lr=0.01, ssm_lr=0.01, weight_decay=0.0)
    model = SequenceModel(config, 1, 1)
    opt = torch.optim.AdamW(model.param_groups(config), lr=config.lr)
    u = np.random.default_rng(1).standard_normal((8, 16, 64))  # (batches, B, L)
    delayed = np.concatenate([np.zeros((8, 16, 2)), u[..., :-2]], axis=-1)
    y = scipy.signal.lfilter([0.2], [1.0, -0.8], u, axis=-1) + 0.5 * delayed
    U, Y = (torch.tensor(a[..., None], dtype=torch.float32) for a in (u, y))  # (batches, B, L, 1)
    for step in range(200):
        loss = torch.nn.functional.mse_loss(model(U[step % 7]), Y[step % 7])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mse = float(torch.nn.functional.mse_loss(model(U[7]), Y[7]))
    assert mse < 0.1 * float(Y[7].var()), (mse, float(Y[7].var()))


def test_training_keeps_the_best_epoch(tmp_path):
    config = deep(epochs=4, warmup_epochs=1, lr=0.01, ssm_lr=0.01, batch_size=4)
    rows = train(config, tmp_path, progress=False)
    best = min(r["val_loss"] for r in rows)
    _, model = load_run(tmp_path, weights="best")
    assert split_mse(model, load_task(config).val, config.batch_size) == pytest.approx(best, rel=1e-6)
    last = load_file(str(tmp_path / "model.safetensors"))
    assert (rows[-1]["val_loss"] == best) == all(torch.equal(last[k], v) for k, v in model.state_dict().items())
    with pytest.raises(errors.ParameterError, match="'last' or 'best'"):
        load_run(tmp_path, weights="middle")


def test_gaussian_nll_head_trains_and_reports_mse(tmp_path):
    config = deep(head="gaussian_nll", epochs=2)
    rows = train(config, tmp_path, progress=False)
    _, model = load_run(tmp_path)
    u = torch.from_numpy(np.array(load_task(config).val.u))
    with torch.no_grad():
        mean, var = model(u, return_var=True)
        assert torch.equal(mean, model(u)) and bool(torch.all(var > 0))
    assert rows[-1]["val_loss"] == pytest.approx(split_mse(model, load_task(config).val, config.batch_size), rel=1e-6)
    plain = SequenceModel(deep(), 1, 1)
    with pytest.raises(errors.ParameterError, match="gaussian_nll"):
        plain(u, return_var=True)


def test_device_names(tmp_path):
    from smr_stability.nn.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(errors.ParameterError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(errors.ParameterError, match="no GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_and_gpu_training_agree(tmp_path):
    config = deep(epochs=2)
    cpu = train(config, tmp_path / "cpu", progress=False)
    gpu = train(config, tmp_path / "gpu", progress=False, device="cuda")
    for a, b in zip(cpu, gpu):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3)
    assert json.loads((tmp_path / "gpu" / "config.json").read_text()) == config.to_dict()
