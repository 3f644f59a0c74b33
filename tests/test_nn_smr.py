"""The torch SMR layer against the numpy reference gate (float64)."""

import numpy as np
import pytest
import torch

from smr_stability import errors, smr_gate
from smr_stability.nn import SMR


@pytest.mark.parametrize("tau", [1, 3, 8])
def test_torch_gate_equals_numpy_reference(tau):
    torch.manual_seed(tau)
    layer = SMR(3, tau).double()
    with torch.no_grad():
        layer.m.normal_()
        layer.b.normal_()
    u = torch.randn(2, 25, 3, dtype=torch.float64)
    m, b = layer.export()
    np.testing.assert_allclose(layer(u).detach().numpy(), smr_gate(u.numpy(), m, b), rtol=1e-13, atol=1e-15)


def test_gate_is_causal_and_differentiable():
    layer = SMR(2, 4).double()
    u = torch.randn(1, 30, 2, dtype=torch.float64, requires_grad=True)
    y = layer(u)
    y[0, 10].sum().backward()
    assert torch.all(u.grad[0, 11:] == 0) and torch.any(u.grad[0, :11] != 0)


def test_tau_must_be_positive():
    with pytest.raises(errors.ShapeError, match="tau"):
        SMR(2, 0)
