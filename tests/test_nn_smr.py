"""The torch SMR layer against the numpy reference gate (float64)."""

import numpy as np
import pytest
import torch

from smr_stability import errors, smr_gate
from smr_stability.nn import SMR


@pytest.mark.parametrize("tau", [1, 3, 8])
def test_torch_gate_equals_numpy_reference(tau):
    """Both paths: the compiled kernel (forward) and the conv1d one (gate)."""
    torch.manual_seed(tau)
    layer = SMR(3, tau).double()
    with torch.no_grad():
        layer.m.normal_()
        layer.b.normal_()
    u = torch.randn(2, 25, 3, dtype=torch.float64)
    m, b = layer.export()
    reference = smr_gate(u.numpy(), m, b)
    np.testing.assert_allclose(layer(u).detach().numpy(), reference, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose((layer.gate(u) * u).detach().numpy(), reference, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("L, tau", [(1, 4), (3, 4), (17, 1), (40, 5), (64, 16)])
def test_compiled_gate_gradients_equal_the_conv_path(L, tau):
    """The compiled adjoint against autograd through conv1d, for u, m and b; sequences shorter than tau too."""
    torch.manual_seed(L)
    layer = SMR(3, tau).double()
    u = torch.randn(2, L, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, L, 3, dtype=torch.float64)
    params = [u, layer.m, layer.b]
    g = torch.autograd.grad((w * layer(u)).sum(), params)
    g_ref = torch.autograd.grad((w * layer.gate(u) * u).sum(), params)
    for gi, gr in zip(g, g_ref):
        assert gi.shape == gr.shape and float((gi - gr).abs().max()) <= 1e-13 * max(1.0, float(gr.abs().max()))


def test_compiled_gate_gradcheck():
    layer = SMR(2, 3).double()
    u = torch.randn(2, 6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u: layer(u), (u,))
    assert torch.autograd.gradcheck(lambda m, b: SMR.forward(_with(layer, m, b), u.detach()), (layer.m, layer.b))


def _with(layer, m, b):
    """A copy of ``layer`` whose parameters are the tensors m and b (for gradcheck in m, b)."""
    clone = SMR(layer.H, layer.tau).double()
    clone.m, clone.b = m, b
    return clone


def test_gate_rejects_bad_shapes():
    layer = SMR(3, 2)
    for bad in (torch.randn(4, 3), torch.randn(1, 4, 2)):
        with pytest.raises(errors.ShapeError, match="\\(B, L, H\\) with H = 3"):
            layer(bad)


def test_gate_is_causal_and_differentiable():
    layer = SMR(2, 4).double()
    u = torch.randn(1, 30, 2, dtype=torch.float64, requires_grad=True)
    y = layer(u)
    y[0, 10].sum().backward()
    assert torch.all(u.grad[0, 11:] == 0) and torch.any(u.grad[0, :11] != 0)


def test_tau_must_be_positive():
    with pytest.raises(errors.ShapeError, match="tau"):
        SMR(2, 0)


def test_compiled_gate_is_bit_identical_on_one_and_two_threads():
    """One torch thread runs the kernels' serial build, more the parallel one: same loops per
    batch element, so the same bits, forward and backward."""
    layer = SMR(3, 4).double()
    u = torch.randn(4, 33, 3, dtype=torch.float64, requires_grad=True)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            y = layer(u)
            results.append((y.detach(), *torch.autograd.grad(y.square().sum(), [u, layer.m, layer.b])))
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_gate_in_float16_takes_the_conv_path():
    """Dtypes the compiled kernel does not take go through conv1d: same values as the float32 gate
    to float16 rounding."""
    layer = SMR(3, 4)
    u = torch.randn(2, 20, 3)
    y16 = layer.half()(u.half())
    assert y16.dtype == torch.float16
    assert float((y16.float() - layer.float()(u)).detach().abs().max()) <= 5e-3
