"""The chunked scan and the S5/S6 layers against sequential loops and the numpy core (float64)."""

import numpy as np
import pytest
import torch

from smr_stability import discretize, simulate, simulate_variable_step
from smr_stability.errors import ShapeError
from smr_stability.nn.s5 import S5
from smr_stability.nn.s6 import S6
from smr_stability.nn.scan import linear_scan, linear_scan_reference

F64 = torch.float64


def rel(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300) if np.any(y) else np.max(np.abs(x))


def random_ab(L, complex_, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (2, 3, L, 4)
    r = 0.2 + 0.79 * torch.rand(shape, generator=g, dtype=F64)  # |a| in (0.2, 0.99)
    if complex_:
        a = torch.polar(r, 2 * np.pi * torch.rand(shape, generator=g, dtype=F64))
        b = torch.complex(torch.randn(shape, generator=g, dtype=F64), torch.randn(shape, generator=g, dtype=F64))
    else:
        a = r * torch.sign(torch.randn(shape, generator=g, dtype=F64))
        b = torch.randn(shape, generator=g, dtype=F64)
    return a.requires_grad_(), b.requires_grad_()


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("L", [1, 2, 5, 16, 37, 50, 101])
def test_linear_scan_equals_loop_forward_and_gradients(L, complex_):
    a, b = random_ab(L, complex_, seed=L)
    w = torch.randn(a.shape, generator=torch.Generator().manual_seed(99), dtype=F64)

    def functional(x):  # a random real functional of the (possibly complex) states
        return (w * (x.real + 0.5 * x.imag if complex_ else x) ** 2).sum()

    x, x_ref = linear_scan(a, b), linear_scan_reference(a, b)
    assert x.shape == x_ref.shape == a.shape
    assert rel(x.detach(), x_ref.detach()) <= 1e-10
    g = torch.autograd.grad(functional(x), (a, b), materialize_grads=True)  # L = 1: x = b, a unused
    g_ref = torch.autograd.grad(functional(x_ref), (a, b))
    for gi, gr in zip(g, g_ref):
        assert rel(gi, gr) <= 1e-10


def test_linear_scan_broadcasts_and_promotes():
    a = torch.full((1, 6, 1), 0.5, dtype=F64)  # one real decay for every batch and state
    b = torch.complex(torch.randn(3, 6, 2, dtype=F64), torch.randn(3, 6, 2, dtype=F64))
    x = linear_scan(a, b)
    assert x.dtype == torch.complex128 and x.shape == (3, 6, 2)
    assert rel(x, linear_scan_reference(a, b)) <= 1e-12


def test_linear_scan_gradients_through_broadcast_and_promotion():
    """A real ``a`` broadcast over the batch and promoted to complex: autograd sums and takes the real part."""
    g = torch.Generator().manual_seed(3)
    a = (0.3 + 0.6 * torch.rand(1, 23, 2, generator=g, dtype=F64)).requires_grad_()
    b = torch.complex(torch.randn(3, 23, 2, generator=g, dtype=F64), torch.randn(3, 23, 2, generator=g, dtype=F64))
    b.requires_grad_()
    w = torch.randn(3, 23, 2, generator=g, dtype=F64)
    grads = [torch.autograd.grad((w * f(a, b).abs() ** 2).sum(), (a, b)) for f in (linear_scan, linear_scan_reference)]
    assert grads[0][0].shape == a.shape and grads[0][0].dtype == F64
    for gi, gr in zip(*grads):
        assert rel(gi, gr) <= 1e-12
    assert torch.autograd.gradcheck(
        linear_scan, (a[:, :7].detach().requires_grad_(), b[:, :7].detach().requires_grad_())
    )


def test_linear_scan_is_exact_where_the_products_of_a_underflow():
    """Products of many small ``a`` underflow to 0 within a chunk; no division by them, so no NaN or inf."""
    a = torch.full((2, 1000, 3), 1e-3, dtype=F64)
    b = torch.randn(2, 1000, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    x = linear_scan(a, b)
    assert torch.isfinite(x).all() and rel(x, linear_scan_reference(a, b)) <= 1e-14


def test_linear_scan_of_an_empty_sequence_is_empty():
    a, b = torch.ones(2, 0, 3, dtype=F64), torch.ones(2, 0, 3, dtype=F64)
    for scan in (linear_scan, linear_scan_reference):
        assert scan(a, b).shape == (2, 0, 3)


def test_linear_scan_rejects_bad_shapes():
    with pytest.raises(ShapeError, match="dim -2"):
        linear_scan(torch.ones(5), torch.ones(5))
    with pytest.raises(ShapeError, match="broadcast"):
        linear_scan(torch.ones(4, 3), torch.ones(5, 3))


def make_s5(H=3, N=8, seed=0, smr=False, per_state=False):
    torch.manual_seed(seed)
    return S5(H, N=N, smr=smr, step_per_state=per_state).double()


@pytest.mark.parametrize("per_state", [False, True])
def test_s5_equal_gaps_equal_convolution_mode(per_state):
    layer = make_s5(per_state=per_state)
    u = torch.randn(2, 33, 3, dtype=F64)
    y_conv = layer(u)
    y_scan = layer(u, dt=torch.ones(2, 33, dtype=F64))  # gaps 1: step exp(log_dt) everywhere
    assert rel(y_scan.detach(), y_conv.detach()) <= 1e-10


@pytest.mark.parametrize("per_state", [False, True])
def test_s5_matches_numpy_core_fixed_and_variable_step(per_state):
    layer = make_s5(seed=1, per_state=per_state)
    assert layer.log_dt.shape == ((8,) if per_state else (1,))
    u = torch.randn(2, 40, 3, dtype=F64)
    (ch,) = layer.export()
    assert ch.method == "zoh" and ch.system.N == 8 and ch.system.P == ch.system.Q == 3
    y_core = simulate(ch.Ab, ch.Bb, ch.system.C, ch.system.D, u.numpy())
    assert rel(layer(u).detach(), y_core) <= 1e-10
    gaps = torch.rand(2, 40, dtype=F64) * 3.0 + 0.1
    y_core = simulate_variable_step(ch.system, u.numpy(), gaps.numpy() * ch.dt, method="zoh")
    assert rel(layer(u, dt=gaps).detach(), y_core) <= 1e-10


@pytest.mark.parametrize("per_state", [False, True])
def test_s5_export_stable_gradients_and_param_groups(per_state):
    layer = make_s5(smr=True, per_state=per_state)
    (ch,) = layer.export()
    Ab_ref, _ = discretize(ch.system.A, ch.system.B, ch.dt, "zoh")
    np.testing.assert_allclose(ch.Ab, Ab_ref)
    assert np.all(ch.system.A.real < 0) and np.max(np.abs(ch.Ab)) < 1
    m, b = ch.smr
    assert m.shape == (3, 4) and b.shape == (3,)  # MIMO: the whole gate
    u = torch.randn(2, 20, 3, dtype=F64)
    for dt in (None, torch.rand(2, 20, dtype=F64) + 0.5):
        layer.zero_grad()
        layer(u, dt=dt).pow(2).sum().backward()
        for name, p in layer.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    no_wd, rest = layer.param_groups()
    names = {id(p): n for n, p in layer.named_parameters()}
    assert {names[id(p)] for p in no_wd["params"]} == {"A_re_log", "A_im", "log_dt"}
    assert no_wd["weight_decay"] == 0.0 and rest["weight_decay"] > 0


def test_s5_rejects_bad_shapes():
    with pytest.raises(ShapeError, match="P"):
        S5(3, P=2)
    layer = make_s5()
    with pytest.raises(ShapeError, match="dt"):
        layer(torch.randn(2, 5, 3, dtype=F64), dt=torch.ones(2, 4, dtype=F64))


def s6_loop(layer, u, gaps=None):
    """The selective recurrence written out step by step, channel by channel."""
    A = -torch.exp(layer.A_log)  # (H, N)
    Bsz, L, H = u.shape
    y = torch.zeros_like(u)
    for b in range(Bsz):
        for h in range(H):
            x = torch.zeros(layer.N, dtype=u.dtype)
            for k in range(L):
                uk = u[b, k]
                dt = torch.nn.functional.softplus(layer.dt_proj.weight[h] @ uk + layer.dt_bias[h])
                if gaps is not None:
                    dt = dt * gaps[b, k]
                Bk = layer.B_proj.weight @ uk + layer.B_proj.bias
                Ck = layer.C_proj.weight @ uk + layer.C_proj.bias
                x = torch.exp(dt * A[h]) * x + dt * Bk * uk[h]
                y[b, k, h] = Ck @ x + layer.D[h] * uk[h]
    return y


@pytest.mark.parametrize("with_gaps", [False, True])
def test_s6_scan_equals_plain_loop(with_gaps):
    torch.manual_seed(2)
    layer = S6(3, N=5).double()
    with torch.no_grad():
        layer.D.normal_()
    u = torch.randn(2, 13, 3, dtype=F64)
    gaps = torch.rand(2, 13, dtype=F64) + 0.5 if with_gaps else None
    with torch.no_grad():
        assert rel(layer(u, dt=gaps), s6_loop(layer, u, gaps)) <= 1e-10


def test_s6_export_is_linearisation_at_zero_input():
    torch.manual_seed(3)
    layer = S6(3, N=5, smr=True).double()
    chans = layer.export()
    assert len(chans) == 3
    for ch in chans:
        assert ch.method == "selective" and ch.system.N == 5 and ch.system.P == ch.system.Q == 1
        assert ch.Ab.shape == (5,) and ch.Bb.shape == (5, 1) and ch.smr[0].shape == (1, 4)
        assert np.all(ch.system.A < 0) and np.all(np.abs(ch.Ab) < 1)
        np.testing.assert_allclose(ch.system.A, -np.arange(1.0, 6.0))  # S4D-Real init
    # A tiny input sees the exported LTI systems: the layer is their linearisation at u = 0.
    layer.gate = None
    u = 1e-6 * torch.randn(1, 30, 3, dtype=F64)
    with torch.no_grad():
        y = layer(u).numpy()
    for h, ch in enumerate(chans):
        y_lin = simulate(ch.Ab, ch.Bb, ch.system.C, ch.system.D, u[0, :, h : h + 1].numpy())
        assert rel(y[0, :, h : h + 1], y_lin) <= 1e-4


def test_s6_gradients_finite_and_param_groups():
    torch.manual_seed(4)
    layer = S6(3, N=4, smr=True).double()
    u = torch.randn(2, 17, 3, dtype=F64)
    layer(u).pow(2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    no_wd, rest = layer.param_groups(ssm_lr=1e-3)
    names = {id(p): n for n, p in layer.named_parameters()}
    assert {names[id(p)] for p in no_wd["params"]} == {"A_log", "dt_bias"}
    assert (
        no_wd["weight_decay"] == 0.0 and no_wd["lr"] == 1e-3 and len(rest["params"]) == 8
    )  # D, dt_proj, B_proj (2), C_proj (2), gate (2)


def test_s5_per_state_steps_export_folds_the_steps_into_the_system():
    """With a step per state the export is SSM(step lambda, step B, C, D) at dt = 1: its zoh is
    Ab = exp(step lambda), Bb = step phi1(step lambda) B, computed here directly."""
    layer = make_s5(seed=3, per_state=True)
    (ch,) = layer.export()
    step = torch.exp(layer.log_dt).detach().numpy()
    lam = layer._lambda().detach().numpy()
    B = layer._BC()[0].detach().numpy()
    z = step * lam
    assert ch.dt == 1.0
    np.testing.assert_allclose(ch.Ab, np.exp(z), rtol=1e-13)
    np.testing.assert_allclose(ch.Bb, (np.expm1(z) / lam)[:, None] * B, rtol=1e-12)
    assert len(set(np.round(step, 12))) == 8  # one step per state
