"""The S4 layer (learned DPLR state matrix, Cauchy/Woodbury kernel) against dense numpy references.

References are built from the layer's raw parameters in numpy float64, independently of the
layer's own assembly: ``A = diag(Lambda) - P P^H`` on the conjugate-completed modes, then
``smr_stability.discretize(..., 'bilinear')`` (docs/theory.md §1) and the recurrence
``x_k = Ab x_{k-1} + Bb u_k``, ``y_k = Re(C x_k) + D u_k`` (docs/theory.md §0).
"""

import numpy as np
import pytest
import torch

from smr_stability import discretize, hippo_legs, lyapunov_matrix, smr_gate
from smr_stability.errors import ShapeError
from smr_stability.nn.base import param_groups
from smr_stability.nn.s4 import S4, legs_dplr
from smr_stability.nn.s4d import S4D
from smr_stability.nn.spade import SPADE

H = 3
SSM_NAMES = {"log_dt", "log_lambda_real", "lambda_imag", "P", "B"}


@pytest.fixture
def float64_default():
    """Build layers in float64 from the start, so the HiPPO initialisation is not rounded to float32."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


def make(N=8, smr=False, seed=0, perturb=True, dt_min=0.05, dt_max=0.5):
    """A float64 S4 layer; ``perturb`` moves Lambda, P, B away from HiPPO so that A is generic."""
    torch.manual_seed(seed)
    layer = S4(H, N, dt_min=dt_min, dt_max=dt_max, smr=smr).double()
    with torch.no_grad():
        if perturb:
            layer.log_lambda_real.add_(0.3 * torch.randn_like(layer.log_lambda_real))
            layer.lambda_imag.add_(0.5 * torch.randn_like(layer.lambda_imag))
            layer.P.add_(0.3 * torch.randn_like(layer.P))
            layer.B.add_(0.3 * torch.randn_like(layer.B))
        if smr:
            layer.gate.m.normal_()  # a gate far from the identity
    return layer


def numpy_systems(layer):
    """Per channel the dense ``(A, B, C, D, dt)`` from the raw parameters, numpy float64/complex128."""

    def cplx(p):
        x = p.detach().numpy().astype(np.float64)
        return x[..., 0] + 1j * x[..., 1]  # (H M)

    def full(x):  # (H M) -> (H N): the stored modes, then their conjugates
        return np.concatenate([x, x.conj()], -1)

    lam = full(-np.exp(layer.log_lambda_real.detach().numpy()) + 1j * layer.lambda_imag.detach().numpy())
    P, B, C = (full(cplx(p)) for p in (layer.P, layer.B, layer.C))
    D = layer.D.detach().numpy()
    dt = np.exp(layer.log_dt.detach().numpy())
    return [(np.diag(lam[h]) - np.outer(P[h], P[h].conj()), B[h], C[h], D[h], dt[h]) for h in range(layer.H)]


def dense_kernel(A, B, C, dt, L):
    """``K_k = Re(C Ab^k Bb)`` by repeated mat-vec on the dense bilinear discretization."""
    Ab, Bb = discretize(A, B, dt, method="bilinear")  # (N N), (N)
    x, K = Bb, np.empty(L)
    for k in range(L):
        K[k] = (C @ x).real
        x = Ab @ x
    return K


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


# -- the kernel ------------------------------------------------------------------------------
@pytest.mark.parametrize("N", [2, 8, 16])
@pytest.mark.parametrize("L", [1, 2, 37, 64, 100, 257])
def test_cauchy_kernel_equals_dense_bilinear_kernel(N, L):
    layer = make(N)
    with torch.no_grad():
        K = layer.kernel(L).numpy()  # (H L)
    for h, (A, B, C, _, dt) in enumerate(numpy_systems(layer)):
        assert rel(K[h], dense_kernel(A, B, C, dt, L)) <= 1e-10


@pytest.mark.parametrize("L", [1000, 1024])
def test_cauchy_kernel_equals_dense_kernel_at_s4_sizes(L):
    layer = make(64, dt_min=1e-3, dt_max=1e-1)
    with torch.no_grad():
        K = layer.kernel(L).numpy()  # (H L)
    for h, (A, B, C, _, dt) in enumerate(numpy_systems(layer)):
        assert rel(K[h], dense_kernel(A, B, C, dt, L)) <= 1e-10


def test_kernel_does_not_depend_on_the_length_it_is_computed_for():
    layer = make(16)
    with torch.no_grad():
        long, short = layer.kernel(300).numpy(), layer.kernel(77).numpy()
    assert rel(long[:, :77], short) <= 1e-12


def test_float32_kernel_is_close_to_float64():
    torch.manual_seed(0)
    layer = S4(8, 64)
    with torch.no_grad():
        K32 = layer.kernel(1024).double()
        K64 = layer.double().kernel(1024)
    assert float(((K32 - K64).norm(dim=-1) / K64.norm(dim=-1)).max()) <= 1e-4


# -- the layer's output ----------------------------------------------------------------------
@pytest.mark.parametrize("smr", [False, True])
def test_convolution_equals_plain_recurrence_on_exported_channels(smr):
    layer = make(8, smr=smr)
    u = torch.randn(2, 50, H, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = layer(u).numpy()  # (B L H)
    for h, ch in enumerate(layer.export()):
        v = u.numpy()[:, :, h : h + 1]  # (B L 1)
        if smr:
            v = smr_gate(v, *ch.smr)
        C, D = ch.system.C[0], ch.system.D[0, 0]
        for b in range(u.shape[0]):
            x, out = np.zeros(ch.system.N, dtype=complex), np.empty(u.shape[1])
            for k in range(u.shape[1]):
                x = ch.Ab @ x + ch.Bb[:, 0] * v[b, k, 0]
                out[k] = (C @ x).real + D * v[b, k, 0]
            assert rel(y[b, :, h], out) <= 1e-10


def test_convolution_equals_the_layers_recurrence():
    layer = make(12, smr=True)
    u = torch.randn(2, 40, H, dtype=torch.float64)
    with torch.no_grad():
        assert rel(layer(u).numpy(), layer.recurrent(u).numpy()) <= 1e-10


def test_gaps_are_ignored_as_in_s4d():
    u = torch.randn(2, 30, H, dtype=torch.float64)
    gaps = torch.rand(2, 30, dtype=torch.float64) + 0.5
    torch.manual_seed(0)
    for layer in (make(8), S4D(H, 8).double()):
        with torch.no_grad():
            assert torch.equal(layer(u, gaps), layer(u))


# -- initialisation --------------------------------------------------------------------------
def test_legs_dplr_is_hippo_legs_in_the_eigenbasis_of_its_normal_part():
    N = 8
    lam, P, B = legs_dplr(N)
    np.testing.assert_allclose(lam.real, -0.5, atol=1e-14)
    assert np.all(lam.imag > 0) and np.all(np.diff(lam.imag) > 0)
    np.testing.assert_allclose(P, B / np.sqrt(2.0), rtol=1e-14)
    # the input norm is kept by the unitary change of basis: 2 sum |B|^2 = sum (2n + 1) = N^2
    np.testing.assert_allclose(2 * np.sum(np.abs(B) ** 2), N**2, rtol=1e-12)


@pytest.mark.parametrize("N, tol", [(2, 1e-12), (4, 1e-12), (6, 1e-10), (8, 1e-9)])
def test_init_has_the_eigenvalues_of_hippo_legs(N, tol, float64_default):
    # relative to the spectral radius N; the tolerance follows the eigenvalue condition numbers
    # of the non-normal A (measured: 7e-16, 3e-15, 3e-13, 2e-11)
    torch.manual_seed(0)
    layer = S4(H, N)
    expected = np.sort(np.linalg.eigvals(hippo_legs(N).A).real)  # -N, ..., -1 (triangular A)
    for ch in layer.export():
        ev = np.linalg.eigvals(ch.system.A)
        assert np.max(np.abs(ev.imag)) <= tol * N
        assert np.max(np.abs(np.sort(ev.real) - expected)) <= tol * N


@pytest.mark.parametrize("N", [16, 32, 64])
def test_init_is_unitarily_similar_to_hippo_legs(N, float64_default):
    # eigenvalues of the dense, strongly non-normal matrix are ill-conditioned beyond N ~ 8, so
    # larger N checks the characteristic polynomial at points and the singular values instead
    torch.manual_seed(0)
    A = S4(1, N).export()[0].system.A
    A_legs = hippo_legs(N).A
    np.testing.assert_allclose(
        np.linalg.svd(A, compute_uv=False), np.linalg.svd(A_legs, compute_uv=False), rtol=1e-11, atol=1e-11
    )
    for s in (0.0, 0.5j, 3j, 40j, 1.0, 2.5 + 1j):
        sign, logdet = np.linalg.slogdet(s * np.eye(N) - A)
        factors = s + np.arange(1, N + 1)  # det(s I - A_legs) = prod (s + n + 1)
        assert abs(logdet - np.sum(np.log(np.abs(factors)))) <= 1e-11 * N
        assert abs(np.angle(sign * np.prod(np.abs(factors) / factors))) <= 1e-11 * N


def test_init_is_the_same_for_every_channel_and_odd_N_is_refused():
    torch.manual_seed(0)
    layer = S4(4, 8)
    for p in (layer.log_lambda_real, layer.lambda_imag, layer.P, layer.B):
        assert torch.equal(p, p[:1].expand_as(p))
    for N in (0, 1, 7):
        with pytest.raises(ShapeError):
            S4(2, N)


# -- gradients and optimiser groups ----------------------------------------------------------
def test_gradients_are_finite_reach_every_parameter_and_match_the_recurrence():
    layer = make(8, smr=True)
    u = torch.randn(2, 33, H, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (layer(u) ** 2).mean().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters()}
    for n in ("log_lambda_real", "lambda_imag", "P", "B", "C", "log_dt", "D", "gate.m", "gate.b"):
        assert torch.all(torch.isfinite(grads[n])), n
        assert torch.any(grads[n] != 0), n
    layer.zero_grad()
    (layer.recurrent(u) ** 2).mean().backward()
    for n, p in layer.named_parameters():
        assert rel(grads[n].numpy(), p.grad.numpy()) <= 1e-8, n


def test_param_groups_put_the_ssm_parameters_without_weight_decay():
    layer = make(8, smr=True)
    ssm, rest = layer.param_groups(weight_decay=0.1, ssm_lr=1e-3)
    names = {id(p): n for n, p in layer.named_parameters()}
    assert {names[id(p)] for p in ssm["params"]} == SSM_NAMES
    assert ssm["weight_decay"] == 0.0 and ssm["lr"] == 1e-3 and rest["weight_decay"] == 0.1
    assert {names[id(p)] for p in rest["params"]} == {"C", "D", "gate.m", "gate.b"}


# -- export ----------------------------------------------------------------------------------
def test_export_is_the_dense_dplr_system_with_bilinear_steps():
    layer = make(8)
    for ch, (A, B, C, D, dt) in zip(layer.export(), numpy_systems(layer)):
        sys = ch.system
        assert not sys.diagonal and sys.is_complex and sys.A.shape == (8, 8) and ch.method == "bilinear"
        np.testing.assert_allclose(sys.A, A, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(sys.B[:, 0], B, rtol=1e-14)
        np.testing.assert_allclose(sys.C[0], C, rtol=1e-14)
        assert sys.D[0, 0] == D and ch.dt == pytest.approx(dt, rel=1e-15)
        Ab, Bb = discretize(A, B, dt, method="bilinear")
        np.testing.assert_allclose(ch.Ab, Ab, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ch.Bb[:, 0], Bb, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("perturb", [False, True])
def test_exported_steps_are_contractions(perturb):
    # float32 as trained; Re(Lambda) < 0 makes the Hermitian part of A negative definite
    torch.manual_seed(0)
    layer = S4(4, 64, dt_min=1e-3, dt_max=10.0)
    if perturb:
        with torch.no_grad():
            for p in (layer.log_lambda_real, layer.lambda_imag, layer.P, layer.B):
                p.add_(torch.randn_like(p))
    for ch in layer.export():
        A = ch.system.A
        assert np.max(np.linalg.eigvalsh((A + A.conj().T) / 2)) < 0
        assert np.max(np.abs(np.linalg.eigvals(ch.Ab))) < 1.0
        assert np.linalg.norm(ch.Ab, 2) < 1.0 + 1e-12


def test_lyapunov_matrix_of_an_exported_channel():
    torch.manual_seed(0)
    ch = S4(1, 16).export()[0]
    P = lyapunov_matrix(ch.Ab)
    np.testing.assert_allclose(ch.Ab.conj().T @ P @ ch.Ab - P, -np.eye(16), atol=1e-8)
    assert np.min(np.linalg.eigvalsh(P)) > 0


# -- SPADE -----------------------------------------------------------------------------------
@pytest.mark.parametrize("smr", [False, True])
def test_spade_runs_on_the_new_s4(smr):
    torch.manual_seed(0)
    layer = SPADE(4, N=8, window=3, heads=2, smr=smr).double()
    u = torch.randn(2, 20, 4, dtype=torch.float64)
    with torch.no_grad():
        y = layer(u)
        assert y.shape == (2, 20, 4)
        assert rel(y.numpy(), layer.recurrent(u).numpy()) <= 1e-10
    channels = layer.export()
    assert len(channels) == 4 and all(ch.system.A.shape == (8, 8) for ch in channels)
    ssm, _ = param_groups(layer)
    assert {n.split(".")[-1] for n, p in layer.named_parameters() if any(p is q for q in ssm["params"])} == SSM_NAMES
