"""The torch SSM layers (S4D, S4, MegaEMA, SPADE) against their recurrences and the numpy core (float64)."""

import numpy as np
import pytest
import torch

from smr_stability import discretize, simulate, ssm_kernel
from smr_stability.errors import ShapeError
from smr_stability.nn.mega import MegaEMA
from smr_stability.nn.s4 import S4
from smr_stability.nn.s4d import S4D
from smr_stability.nn.spade import SPADE, LocalAttention

H, L = 3, 40

MAKERS = {
    "s4d-lin-zoh": lambda smr=False: S4D(H, N=8, init="lin", method="zoh", learn_B=True, smr=smr),
    "s4d-inv-bilinear": lambda smr=False: S4D(H, N=8, init="inv", method="bilinear", smr=smr),
    "s4d-real-zoh": lambda smr=False: S4D(H, N=6, init="real", dt_min=0.05, dt_max=0.5, smr=smr),
    "s4": lambda smr=False: S4(H, N=12, dt_min=0.05, dt_max=0.5, smr=smr),
    "mega": lambda smr=False: MegaEMA(H, N=6, smr=smr),
    "spade": lambda smr=False: SPADE(H, N=8, window=5, heads=1, smr=smr),
}
SSM_NAMES = {
    "s4d-lin-zoh": {"log_dt", "log_A_real", "A_imag", "B"},
    "s4d-inv-bilinear": {"log_dt", "log_A_real", "A_imag"},
    "s4d-real-zoh": {"log_dt", "log_A_real"},
    "s4": {"log_dt", "log_lambda_real", "lambda_imag", "P", "B"},
    "mega": {"alpha", "delta"},
    "spade": {"log_dt", "log_lambda_real", "lambda_imag", "P", "B"},
}


def make(name, smr=False, seed=0):
    torch.manual_seed(seed)
    layer = MAKERS[name](smr).double()
    if smr:
        with torch.no_grad():
            layer.gate.m.normal_()  # a gate far from the identity
    return layer


def inputs(seed=1, batch=2):
    return torch.randn(batch, L, H, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


@pytest.mark.parametrize("smr", [False, True])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_convolution_equals_recurrence(name, smr):
    layer = make(name, smr)
    u = inputs()
    with torch.no_grad():
        assert rel(layer(u).numpy(), layer.recurrent(u).numpy()) <= 1e-10


def _kernel_layer(layer):
    return layer.s4 if isinstance(layer, SPADE) else layer


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_kernel_equals_core_kernel_of_export(name):
    layer = make(name)
    channels = layer.export()
    with torch.no_grad():
        K = _kernel_layer(layer).kernel(L).numpy()  # (H L)
    for h, ch in enumerate(channels):
        K_core = ssm_kernel(ch.Ab, ch.Bb, ch.system.C, L)[:, 0, 0]  # (L)
        assert rel(K[h], K_core.real) <= 1e-10


@pytest.mark.parametrize("name", ["s4d-lin-zoh", "s4d-inv-bilinear", "s4d-real-zoh", "s4", "mega"])
def test_output_equals_core_simulation_of_export(name):
    layer = make(name)
    u = inputs(batch=1)
    with torch.no_grad():
        y = layer(u).numpy()[0]  # (L H)
    for h, ch in enumerate(layer.export()):
        y_core = simulate(ch.Ab, ch.Bb, ch.system.C, ch.system.D, u.numpy()[0, :, h : h + 1])  # (L 1)
        assert rel(y[:, h], y_core[:, 0]) <= 1e-10


@pytest.mark.parametrize("smr", [False, True])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_export_shapes_stability_and_smr(name, smr):
    layer = make(name, smr)
    channels = layer.export()
    assert len(channels) == H
    for h, ch in enumerate(channels):
        sys, N = ch.system, ch.system.N
        assert sys.P == 1 and sys.Q == 1 and ch.method in ("zoh", "bilinear") and ch.dt > 0
        assert ch.Ab.shape == ((N,) if sys.diagonal else (N, N)) and ch.Bb.shape[0] == N
        Ab_again, Bb_again = discretize(sys.A, sys.B, ch.dt, ch.method)
        np.testing.assert_allclose(ch.Ab, Ab_again)
        mu = ch.Ab if sys.diagonal else np.linalg.eigvals(ch.Ab)
        assert np.max(np.abs(mu)) < 1.0
        assert np.max(np.real(sys.A if sys.diagonal else np.linalg.eigvals(sys.A))) < 0.0
        if smr:
            m, b = ch.smr
            np.testing.assert_array_equal(m, layer.gate.m.detach().numpy()[h : h + 1])
            np.testing.assert_array_equal(b, layer.gate.b.detach().numpy()[h : h + 1])
        else:
            assert ch.smr is None
    assert isinstance(layer, (S4D, S4, MegaEMA, SPADE))


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_gradients_are_finite_for_all_parameters(name):
    layer = make(name, smr=True)
    (layer(inputs()) ** 2).mean().backward()
    for pname, p in layer.named_parameters():
        assert p.grad is not None, pname
        assert torch.all(torch.isfinite(p.grad)), pname
        assert torch.any(p.grad != 0), pname


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_param_groups_put_ssm_parameters_without_weight_decay(name):
    layer = make(name, smr=True)
    ssm_group, rest = layer.param_groups(weight_decay=0.1)
    names = {id(p): n.split(".")[-1] for n, p in layer.named_parameters()}
    assert {names[id(p)] for p in ssm_group["params"]} == SSM_NAMES[name]
    assert ssm_group["weight_decay"] == 0.0 and rest["weight_decay"] == 0.1
    assert not {names[id(p)] for p in rest["params"]} & SSM_NAMES[name]
    assert len(ssm_group["params"]) + len(rest["params"]) == len(list(layer.parameters()))


@pytest.mark.parametrize("smr", [False, True])
def test_spade_is_causal(smr):
    layer = make("spade", smr)
    u = inputs(batch=1)
    v = u.clone()
    v[:, 25:] = torch.randn(1, L - 25, H, dtype=torch.float64)
    with torch.no_grad():
        y, z = layer(u), layer(v)
    assert torch.equal(y[:, :25], z[:, :25]) or float((y[:, :25] - z[:, :25]).abs().max()) <= 1e-12
    assert float((y[:, 25:] - z[:, 25:]).abs().max()) > 1e-3


def test_spade_attention_is_local():
    layer = make("spade")
    u = inputs(batch=1)
    v = u.clone()
    v[:, 10] += 1.0
    with torch.no_grad():
        a, b = layer.attention(u), layer.attention(v)
    changed = (a - b).abs().amax(-1)[0] > 0  # (L)
    assert changed[10:15].all() and not changed[:10].any() and not changed[15:].any()  # window 5


@pytest.mark.parametrize("L_, window, heads", [(1, 1, 1), (5, 3, 2), (37, 8, 2), (64, 16, 1), (100, 1, 1), (10, 50, 2)])
def test_blocked_local_attention_equals_the_masked_reference(L_, window, heads):
    """The O(L window) blocked attention against the O(L^2) banded mask, forward and gradients:
    lengths that are and are not multiples of the window, a window of 1 and one longer than L."""
    torch.manual_seed(L_)
    attention = LocalAttention(4, window, heads).double()
    u = torch.randn(2, L_, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, L_, 4, dtype=torch.float64)
    y, y_ref = attention(u), attention.forward_masked(u)
    assert float((y - y_ref).detach().abs().max()) <= 1e-12
    g = torch.autograd.grad((w * y).sum(), [u, *attention.parameters()])
    g_ref = torch.autograd.grad((w * y_ref).sum(), [u, *attention.parameters()])
    assert max(float((a - b).abs().max()) for a, b in zip(g, g_ref)) <= 1e-12


def test_local_attention_rejects_bad_shapes():
    attention = LocalAttention(4, 3)
    for bad in (torch.randn(5, 4), torch.randn(1, 5, 3)):
        with pytest.raises(ShapeError, match="\\(B, L, H\\) with H = 4"):
            attention(bad)


def test_float32_default_runs():
    torch.manual_seed(0)
    for layer in (S4D(2, N=4), S4(2, N=4), MegaEMA(2, N=4), SPADE(2, N=4, window=2)):
        y = layer(torch.randn(1, 9, 2))
        assert y.dtype == torch.float32 and y.shape == (1, 9, 2) and torch.all(torch.isfinite(y))


def test_s4d_real_exports_a_real_system():
    sys = make("s4d-real-zoh").export()[0].system
    assert not (np.iscomplexobj(sys.A) or np.iscomplexobj(sys.B) or np.iscomplexobj(sys.C))
    assert np.iscomplexobj(make("s4d-lin-zoh").export()[0].system.A)
