"""The scans (compiled and chunked) and the S5/S6 layers against sequential loops, the numpy core and mambapy."""

import functools

import numpy as np
import pytest
import torch

from smr_stability import discretize, simulate, simulate_variable_step
from smr_stability.errors import InputTypeError, MethodError, ShapeError
from smr_stability.nn.s5 import S5
from smr_stability.nn.s6 import S6
from smr_stability.nn.scan import (
    linear_scan,
    linear_scan_reference,
    phi1,
    selective_scan,
    selective_scan_reference,
    zoh_gap_scan,
)

F64 = torch.float64
METHODS = ["compiled", "chunked"]


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


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("L", [1, 2, 5, 16, 37, 50, 101])
def test_linear_scan_equals_loop_forward_and_gradients(L, complex_, method):
    a, b = random_ab(L, complex_, seed=L)
    w = torch.randn(a.shape, generator=torch.Generator().manual_seed(99), dtype=F64)

    def functional(x):  # a random real functional of the (possibly complex) states
        return (w * (x.real + 0.5 * x.imag if complex_ else x) ** 2).sum()

    x, x_ref = linear_scan(a, b, method=method), linear_scan_reference(a, b)
    assert x.shape == x_ref.shape == a.shape
    assert rel(x.detach(), x_ref.detach()) <= 1e-10
    g = torch.autograd.grad(functional(x), (a, b), materialize_grads=True)  # L = 1: x = b, a unused
    g_ref = torch.autograd.grad(functional(x_ref), (a, b))
    for gi, gr in zip(g, g_ref):
        assert rel(gi, gr) <= 1e-10


@pytest.mark.parametrize("method", METHODS)
def test_linear_scan_broadcasts_and_promotes(method):
    a = torch.full((1, 6, 1), 0.5, dtype=F64)  # one real decay for every batch and state
    b = torch.complex(torch.randn(3, 6, 2, dtype=F64), torch.randn(3, 6, 2, dtype=F64))
    x = linear_scan(a, b, method=method)
    assert x.dtype == torch.complex128 and x.shape == (3, 6, 2)
    assert rel(x, linear_scan_reference(a, b)) <= 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_linear_scan_gradients_through_broadcast_and_promotion(method):
    """A real ``a`` broadcast over the batch and promoted to complex: autograd sums and takes the real part."""
    scan = functools.partial(linear_scan, method=method)
    g = torch.Generator().manual_seed(3)
    a = (0.3 + 0.6 * torch.rand(1, 23, 2, generator=g, dtype=F64)).requires_grad_()
    b = torch.complex(torch.randn(3, 23, 2, generator=g, dtype=F64), torch.randn(3, 23, 2, generator=g, dtype=F64))
    b.requires_grad_()
    w = torch.randn(3, 23, 2, generator=g, dtype=F64)
    grads = [torch.autograd.grad((w * f(a, b).abs() ** 2).sum(), (a, b)) for f in (scan, linear_scan_reference)]
    assert grads[0][0].shape == a.shape and grads[0][0].dtype == F64
    for gi, gr in zip(*grads):
        assert rel(gi, gr) <= 1e-12
    assert torch.autograd.gradcheck(scan, (a[:, :7].detach().requires_grad_(), b[:, :7].detach().requires_grad_()))


@pytest.mark.parametrize("method", METHODS)
def test_linear_scan_is_exact_where_the_products_of_a_underflow(method):
    """Products of many small ``a`` underflow to 0 within a chunk; no division by them, so no NaN or inf."""
    a = torch.full((2, 1000, 3), 1e-3, dtype=F64)
    b = torch.randn(2, 1000, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    x = linear_scan(a, b, method=method)
    assert torch.isfinite(x).all() and rel(x, linear_scan_reference(a, b)) <= 1e-14


def test_linear_scan_of_an_empty_sequence_is_empty():
    a, b = torch.ones(2, 0, 3, dtype=F64), torch.ones(2, 0, 3, dtype=F64)
    for scan in (linear_scan, linear_scan_reference):
        assert scan(a, b).shape == (2, 0, 3)


def test_linear_scan_rejects_bad_shapes_and_methods():
    with pytest.raises(ShapeError, match="dim -2"):
        linear_scan(torch.ones(5), torch.ones(5))
    with pytest.raises(ShapeError, match="broadcast"):
        linear_scan(torch.ones(4, 3), torch.ones(5, 3))
    with pytest.raises(MethodError, match="'auto', 'compiled', 'chunked'"):
        linear_scan(torch.ones(4, 3), torch.ones(4, 3), method="fast")


def test_linear_scan_float32_agrees_with_float64_loop_and_with_mambapy_pscan():
    """float32: both methods within 1e-5 (relative) of the float64 loop; mambapy's parallel scan
    (an independent implementation, layout (B, L, D, N)) agrees to the same tolerance, gradients too."""
    pscan = pytest.importorskip("mambapy.pscan").pscan
    a64, b64 = random_ab(64, False, seed=5)
    a64 = a64.detach().abs().requires_grad_()  # mambapy's Blelloch scan assumes nothing, but S6's a is in (0, 1)
    w = torch.randn(a64.shape, generator=torch.Generator().manual_seed(6), dtype=F64)
    x_ref = linear_scan_reference(a64, b64)
    g_ref = torch.autograd.grad((w * x_ref).sum(), (a64, b64))
    a, b = (t.detach().float().requires_grad_() for t in (a64, b64))
    runs = {m: functools.partial(linear_scan, method=m) for m in METHODS}
    runs["mambapy"] = lambda a, b: pscan(a.transpose(1, 2), b.transpose(1, 2)).transpose(1, 2)
    for name, scan in runs.items():
        x = scan(a, b)
        g = torch.autograd.grad((w.float() * x).sum(), (a, b))
        assert rel(x.detach(), x_ref.detach()) <= 1e-5, name
        assert max(rel(gi, gr) for gi, gr in zip(g, g_ref)) <= 1e-5, name


def random_selective(B=2, L=29, H=3, N=5, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    delta = 0.01 + 0.2 * torch.rand(B, L, H, generator=g, dtype=dtype)
    A = -0.1 - 3 * torch.rand(H, N, generator=g, dtype=dtype)
    Bk, Ck = torch.randn(B, L, N, generator=g, dtype=dtype), torch.randn(B, L, N, generator=g, dtype=dtype)
    u = torch.randn(B, L, H, generator=g, dtype=dtype)
    return tuple(t.requires_grad_() for t in (delta, A, Bk, Ck, u))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("L", [1, 2, 29, 64])
def test_selective_scan_equals_loop_forward_and_gradients(L, method):
    inputs = random_selective(L=L, seed=L)
    w = torch.randn(2, L, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    y, y_ref = selective_scan(*inputs, method=method), selective_scan_reference(*inputs)
    assert y.shape == (2, L, 3) and rel(y.detach(), y_ref.detach()) <= 1e-12
    g = torch.autograd.grad((w * y).sum(), inputs)
    g_ref = torch.autograd.grad((w * y_ref).sum(), inputs)
    for name, gi, gr in zip(("delta", "A", "Bk", "Ck", "u"), g, g_ref):
        assert gi.shape == gr.shape and rel(gi, gr) <= 1e-11, name


def test_selective_scan_gradcheck_compiled():
    inputs = random_selective(B=2, L=6, H=2, N=3, seed=4)
    assert torch.autograd.gradcheck(functools.partial(selective_scan, method="compiled"), inputs)


def test_selective_scan_float32_agrees_with_mambapy():
    """mambapy's ``selective_scan`` (its parallel scan, layout (B, L, ED, N)) with D = 0, the same
    parameters, in float32: equal outputs and gradients within 1e-5 relative of each other."""
    MambaBlock = pytest.importorskip("mambapy.mamba").MambaBlock
    inputs = random_selective(B=3, L=128, H=8, N=16, seed=2, dtype=torch.float32)
    delta, A, Bk, Ck, u = inputs
    w = torch.randn(3, 128, 8, generator=torch.Generator().manual_seed(3))
    y = selective_scan(*inputs)
    y_peer = MambaBlock.selective_scan(None, u, delta, A, Bk, Ck, torch.zeros(8))  # uses no state of self
    assert rel(y.detach(), y_peer.detach()) <= 1e-5
    g = torch.autograd.grad((w * y).sum(), inputs)
    g_peer = torch.autograd.grad((w * y_peer).sum(), inputs)
    for name, gi, gp in zip(("delta", "A", "Bk", "Ck", "u"), g, g_peer):
        assert rel(gi, gp) <= 1e-5, name


def test_selective_scan_rejects_bad_input():
    delta, A, Bk, Ck, u = (t.detach() for t in random_selective())
    with pytest.raises(ShapeError, match="A \\(H, N\\)"):
        selective_scan(delta, A[:2], Bk, Ck, u)
    with pytest.raises(ShapeError, match="Bk and Ck"):
        selective_scan(delta, A, Bk[:, :3], Ck, u)
    with pytest.raises(InputTypeError, match="real"):
        selective_scan(delta, A.to(torch.complex128), Bk, Ck, u)
    assert selective_scan(delta[:, :0], A, Bk[:, :0], Ck[:, :0], u[:, :0]).shape == (2, 0, 3)


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


def random_gap_inputs(per_state, scale, seed, N=6):
    g = torch.Generator().manual_seed(seed)
    lam = torch.complex(-2 * torch.rand(N, generator=g, dtype=F64), 3 * torch.randn(N, generator=g, dtype=F64))
    step = scale * torch.rand(N if per_state else 1, generator=g, dtype=F64) + 1e-9
    gaps = 2 * torch.rand(3, 40, generator=g, dtype=F64)
    Bu = torch.complex(torch.randn(3, 40, N, generator=g, dtype=F64), torch.randn(3, 40, N, generator=g, dtype=F64))
    return tuple(t.requires_grad_() for t in (lam, step, gaps, Bu))


@pytest.mark.parametrize("per_state", [False, True])
@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-7])
def test_zoh_gap_scan_compiled_equals_torch_ops_and_loop(per_state, scale):
    """The compiled kernels (zoh coefficients computed as they scan, their own adjoint) against
    autograd through torch's exp/phi1 and the sequential loop; steps from 1 down to where
    ``|d lam|`` is below the series thresholds, for the gradients in lam, step, gaps and Bu."""
    inputs = random_gap_inputs(per_state, scale, seed=int(per_state) + int(-np.log10(scale)))
    lam, step, gaps, Bu = inputs
    s = gaps[..., None] * step
    z = s * lam
    x_loop = linear_scan_reference(torch.exp(z), Bu * (s * phi1(z)))
    w = torch.complex(*torch.randn(2, 3, 40, 6, generator=torch.Generator().manual_seed(7), dtype=F64))

    def functional(x):
        return (x * w.conj()).real.sum()

    g_loop = torch.autograd.grad(functional(x_loop), inputs)
    for method in METHODS:
        x = zoh_gap_scan(*inputs, method=method)
        assert rel(x.detach(), x_loop.detach()) <= 1e-13, method
        g = torch.autograd.grad(functional(x), inputs)
        for name, gi, gr in zip(("lam", "step", "gaps", "Bu"), g, g_loop):
            assert gi.shape == gr.shape and rel(gi, gr) <= 1e-12, (method, name)


def test_zoh_gap_scan_gradcheck_and_bad_shapes():
    lam, step, gaps, Bu = random_gap_inputs(True, 0.5, seed=3, N=3)
    small = (lam, step, gaps[:2, :5].detach().requires_grad_(), Bu[:2, :5].detach().requires_grad_())
    assert torch.autograd.gradcheck(functools.partial(zoh_gap_scan, method="compiled"), small)
    with pytest.raises(ShapeError, match=r"step \(1,\) or \(N,\)"):
        zoh_gap_scan(lam, step[:2], gaps, Bu)


def peer_s5(layer):
    """s5-pytorch's S5 with the parameters of our S5 (a step per state): the same ``lambda``, ``B``,
    ``C``, ``D`` and ``log_dt`` (its ``log_step``), zoh, ``y = Re(C x) + D u``. Its step_scale is our gaps."""
    peer_module = pytest.importorskip("s5")
    peer = peer_module.S5(layer.H, layer.N).double()
    with torch.no_grad():
        peer.seq.Lambda.data = layer._lambda().detach().clone()
        peer.seq.B.data = torch.stack([layer.B_re, layer.B_im], -1).detach().clone()  # (N, H, 2): real, imaginary
        peer.seq.C.data = torch.complex(layer.C_re, layer.C_im).detach().clone()
        peer.seq.D.data = layer.D.detach().clone()
        peer.seq.log_step.data = layer.log_dt.detach().clone()
    return peer


@pytest.mark.parametrize("with_gaps", [False, True])
def test_s5_equals_s5_pytorch(with_gaps):
    """An independent implementation (s5-pytorch: vmap and its associative scan), float64: equal
    outputs and input gradients, with the true gaps (its step_scale per step) and without."""
    torch.manual_seed(11)
    layer = S5(4, 6, step_per_state=True).double()
    peer = peer_s5(layer)
    u = torch.randn(2, 37, 4, dtype=F64, requires_grad=True)
    gaps = 0.2 + 2 * torch.rand(2, 37, dtype=F64)
    y = layer.ssm(u, gaps if with_gaps else None)
    y_peer = peer(u, step_scale=gaps if with_gaps else 1.0)
    assert rel(y.detach(), y_peer.detach()) <= 1e-12
    w = torch.randn(2, 37, 4, dtype=F64)
    assert rel(torch.autograd.grad((w * y).sum(), u)[0], torch.autograd.grad((w * y_peer).sum(), u)[0]) <= 1e-12


def test_compiled_scans_are_bit_identical_on_one_and_two_threads():
    """One torch thread takes the kernels' serial build, two the parallel one (smr_stability._jit):
    the same loops per batch element, so the same bits, forward and gradients."""
    lin = random_ab(33, True, seed=1)
    sel = random_selective(L=33, seed=2)
    gap = random_gap_inputs(True, 0.5, seed=3)
    ops = [(linear_scan, lin), (selective_scan, sel), (zoh_gap_scan, gap)]
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = []
            for op, inputs in ops:
                y = op(*inputs)
                out += [y.detach(), *torch.autograd.grad(y.abs().square().sum(), inputs)]
            results.append(out)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_compiled_kernels_leave_torchs_thread_count_alone():
    """numba's pool and torch share one OpenMP runtime, and starting the pool would set torch to
    numba's thread count: a fresh process set to one torch thread stays at one, before and
    after importing the layers and running their compiled kernels."""
    import subprocess
    import sys

    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from smr_stability.nn import SMR, linear_scan\n"
        "a = torch.rand(2, 9, 3, requires_grad=True)\n"
        "linear_scan(a, a).sum().backward(); SMR(3)(a).sum().backward()\n"
        "print(torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1"]


def test_scans_take_other_dtypes_by_torch_and_refuse_them_compiled():
    """float16 and integer inputs: 'auto' runs them through torch ops (the chunked path), equal to
    the loop; 'compiled' says which dtypes it takes. zoh_gap_scan needs complex lam and Bu."""
    a = torch.full((2, 7, 3), 0.5, dtype=torch.float16)
    b = torch.ones(2, 7, 3, dtype=torch.float16)
    assert torch.equal(linear_scan(a, b), linear_scan_reference(a, b))
    ai, bi = torch.ones(2, 7, 3, dtype=torch.int64), torch.ones(2, 7, 3, dtype=torch.int64)
    assert torch.equal(linear_scan(ai, bi), linear_scan_reference(ai, bi))
    with pytest.raises(InputTypeError, match="float32/64 or complex64/128.*torch.float16"):
        linear_scan(a, b, method="compiled")
    lam, step, gaps, Bu = (t.detach() for t in random_gap_inputs(True, 0.5, seed=3, N=3))
    with pytest.raises(InputTypeError, match="complex lam and Bu"):
        zoh_gap_scan(lam, step, gaps, Bu.real)
    with pytest.raises(InputTypeError, match="complex lam and Bu"):
        zoh_gap_scan(lam, step.to(torch.complex128), gaps, Bu)
