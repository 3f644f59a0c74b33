"""The SMR reference gate against a plain loop of its definition (docs/theory.md §5)."""

import numpy as np
import pytest

from smr_stability import errors
from smr_stability.smr import smr_gate


def gate_loop(u, m, b):
    """g_{k,h} = sigmoid(sum_j m[h, j] u_{k-j, h} + b_h) with zero padding, one entry at a time."""
    L, H = u.shape
    g = np.empty_like(u)
    for k in range(L):
        for h in range(H):
            z = b[h] + sum(m[h, j] * u[k - j, h] for j in range(m.shape[1]) if k - j >= 0)
            g[k, h] = 1.0 / (1.0 + np.exp(-z))
    return g * u, g


@pytest.mark.parametrize("tau", [1, 2, 5, 40])
def test_gate_equals_loop(tau):
    rng = np.random.default_rng(tau)
    u, m, b = rng.standard_normal((30, 3)), rng.standard_normal((3, tau)), rng.standard_normal(3)
    ut, g = smr_gate(u, m, b, return_gate=True)
    ref_ut, ref_g = gate_loop(u, m, b)
    np.testing.assert_allclose(g, ref_g, rtol=1e-13)
    np.testing.assert_allclose(ut, ref_ut, rtol=1e-13, atol=1e-15)


def test_gate_batched_over_leading_dims():
    rng = np.random.default_rng(1)
    u, m = rng.standard_normal((2, 4, 25, 3)), rng.standard_normal((3, 4))
    ut = smr_gate(u, m, 0.3)
    for i in range(2):
        for j in range(4):
            np.testing.assert_allclose(ut[i, j], gate_loop(u[i, j], m, np.full(3, 0.3))[0], rtol=1e-13, atol=1e-15)


def test_zero_kernel_and_large_bias_is_identity():
    u = np.random.default_rng(2).standard_normal((50, 2))
    for b in (10.0, 20.0, 40.0):
        _, g = smr_gate(u, np.zeros((2, 4)), b, return_gate=True)
        np.testing.assert_allclose(1.0 - g, 1.0 / (1.0 + np.exp(b)), rtol=0, atol=2.3e-16)  # closed form, to rounding
    np.testing.assert_array_equal(smr_gate(u, np.zeros((2, 4)), 40.0), u)  # 1 - sigmoid(40) < eps/2


def test_gate_is_causal():
    rng = np.random.default_rng(3)
    u, m = rng.standard_normal((40, 2)), rng.standard_normal((2, 6))
    _, g = smr_gate(u, m, 0.0, return_gate=True)
    for k in (0, 7, 20, 38):
        v = u.copy()
        v[k + 1 :] = rng.standard_normal(v[k + 1 :].shape)  # change the future only
        _, gv = smr_gate(v, m, 0.0, return_gate=True)
        np.testing.assert_array_equal(gv[: k + 1], g[: k + 1])
        assert not np.allclose(gv[k + 1 :], g[k + 1 :])


@pytest.mark.parametrize(
    "u, m, b, exc",
    [
        (np.ones((5, 2)), np.ones((2, 0)), 0.0, errors.ShapeError),  # tau < 1
        (np.ones((5, 2)), np.ones((3, 2)), 0.0, errors.ShapeError),  # H mismatch
        (np.ones((5, 2)), np.ones(2), 0.0, errors.ShapeError),  # m not (H, tau)
        (np.ones((5, 2)), np.ones((2, 2)), np.ones(3), errors.ShapeError),
        (np.ones(5), np.ones((1, 2)), 0.0, errors.ShapeError),
        (np.full((5, 2), np.nan), np.ones((2, 2)), 0.0, errors.NonFiniteError),
        (np.ones((5, 2)) * 1j, np.ones((2, 2)), 0.0, errors.InputTypeError),
    ],
)
def test_bad_input(u, m, b, exc):
    with pytest.raises(exc, match="found"):
        smr_gate(u, m, b)
