"""Importing state dicts in the layout of the state-spaces S4/S4D code (smr_stability.nn.statespaces).

Each state dict is written by hand from KNOWN parameters ``(A, B, C, D, dt)``, encoded as
state-spaces stores them (repository ``state-spaces/s4``: ``models/s4/s4d.py`` ``S4DKernel``;
``models/s4/s4.py`` ``SSMKernelDiag`` and ``SSMKernelDPLR``). The checks:

(a) the imported continuous parameters are the known ones (float64, to rounding);
(b) the kernel that state-spaces' formula gives, re-implemented here in plain numpy from those
    files (Vandermonde sums ``2 Re(sum_n ...)`` for the diagonal kernels; Cauchy sums, the
    Woodbury identity and an inverse real FFT at the roots of unity for DPLR), equals
    ``Re(ssm_kernel(Ab, Bb, C, L))`` of the imported system to 1e-12 relative;
(c) safetensors files (numpy and torch) give the same systems;
(d) the named errors.
"""

import numpy as np
import pytest
import torch

from smr_stability import ssm_kernel
from smr_stability.errors import InputTypeError, NonFiniteError, ParameterError, ShapeError
from smr_stability.nn.base import ExportedChannel
from smr_stability.nn.statespaces import find_s4_prefixes, import_s4_model, import_s4_state_dict

H, N, L = 4, 3, 48
RTOL = 1e-12


# --------------------------------------------------------------------------- known parameters


def known(seed=0, S=H, channels=1, rank=1, real=False):
    """Random known parameters: a (S, N) with Re < 0 and Im < 0 (state-spaces' init signs), b (S, N),
    c (channels, H, N), D (channels, H), dt (H,), P (rank, S, N)."""
    rng = np.random.default_rng(seed)
    a = -rng.uniform(0.2, 1.5, (S, N)) - 1j * rng.uniform(0.5, 8.0, (S, N))
    b = rng.normal(size=(S, N)) + 1j * rng.normal(size=(S, N))
    c = rng.normal(size=(channels, H, N)) + 1j * rng.normal(size=(channels, H, N))
    P = 0.5 * (rng.normal(size=(rank, S, N)) + 1j * rng.normal(size=(rank, S, N)))
    if real:
        a, b, c = a.real, b.real, c.real
    return {
        "a": a,
        "b": b,
        "c": c,
        "D": rng.normal(size=(channels, H)),
        "dt": rng.uniform(0.01, 0.2, H),
        "P": P,
    }


def inv_transform(x, name):
    """The stored value that state-spaces' ``param_transform(., name)`` maps to ``x`` (exactly, unlike their
    ``inv_transform`` for 'relu', which ignores the + 1e-4)."""
    return {
        "none": lambda v: v,
        "exp": np.log,
        "relu": lambda v: v - 1e-4,
        "sigmoid": lambda v: np.log(v) - np.log1p(-v),
        "softplus": lambda v: np.log(np.expm1(v)),
    }[name](x)


def real_view(z):
    """``torch.view_as_real`` in numpy: a last axis of (real, imaginary)."""
    return np.stack([z.real, z.imag], -1)


def s4d_minimal_dict(p, prefix=""):
    """models/s4/s4d.py: dt = exp(log_dt), A = -exp(log_A_real) + i A_imag, C as view_as_real, D (H,)."""
    return {
        prefix + "D": p["D"][0],
        prefix + "kernel.C": real_view(p["c"][0]),
        prefix + "kernel.log_dt": np.log(p["dt"]),
        prefix + "kernel.log_A_real": np.log(-p["a"].real),
        prefix + "kernel.A_imag": p["a"].imag,
        prefix + "output_linear.0.weight": np.zeros((2 * H, H, 1)),  # not read
    }


def diag_dict(p, prefix="layer.", real_t="exp", imag_t="none", dt_t="exp", dt_fast=False, real=False, untied=False):
    """models/s4/s4.py SSMKernelDiag inside FFTConv: A = -f(A_real) - i g(A_imag), dt = dt_t(inv_dt)."""
    inv_dt = inv_transform(p["dt"][:, None], dt_t)  # (H 1)
    if untied:
        inv_dt = inv_transform(p["dt_modes"], dt_t)  # (H N)
    if dt_fast:
        inv_dt = np.arcsinh(inv_dt)
    sd = {
        prefix + "D": p["D"],
        prefix + "kernel.inv_dt": inv_dt,
        prefix + "kernel.A_real": inv_transform(-p["a"].real, real_t),
        prefix + "kernel.B": p["b"][None] if real else real_view(p["b"])[None],
        prefix + "kernel.C": p["c"] if real else real_view(p["c"]),
    }
    if not real:
        sd[prefix + "kernel.A_imag"] = inv_transform(-p["a"].imag, imag_t)
    return sd


# --------------------------------------------------------------------------- state-spaces' kernels, in numpy


def ss_diag_kernel(a, b, c, dt, disc, length):
    """``K[q, h, l] = 2 Re(sum_n c_qhn b_hn Bb'_hn mu_hn^l)`` (SSMKernelDiag.forward, log_vandermonde_naive).

    a, b (H, N) (already repeated over n_ssm), c (Q, H, N), dt (H, 1) or (H, N).
    """
    dtA = dt * a
    if disc == "zoh":
        coef, log_mu = (np.exp(dtA) - 1.0) / a, dtA
    else:
        coef, log_mu = dt / (1.0 - dtA / 2), np.log((1.0 + dtA / 2) / (1.0 - dtA / 2))
    v = c * b * coef  # (Q H N)
    V = np.exp(log_mu[..., None] * np.arange(length))  # (H N L)
    return 2 * np.einsum("qhn,hnl->qhl", v, V).real


def ss_dplr_kernel(a, P, b, ct, dt, length):
    """SSMKernelDPLR.forward at rate 1 for one channel: Cauchy sums over the conjugate-completed modes at
    ``z = 2 (1 - omega)/(1 + omega)``, the Woodbury correction, ``* 2/(1 + omega)``, irfft of length ``length``.

    a, b (N,), P (R, N), ct (Q, N) the stored C~, dt scalar. Returns (Q, length).
    """
    omega = np.exp(-2j * np.pi / length) ** np.arange(length // 2 + 1)
    z = 2 * (1 - omega) / (1 + omega)
    w = np.concatenate([dt * a, np.conj(dt * a)])  # (2N)

    def cauchy(x, y):  # sum over the 2N modes of x y dt / (z - w), with the conjugate half conjugated
        v = x * y * dt
        return (np.concatenate([v, np.conj(v)], -1)[..., None] / (z - w[:, None])).sum(-2)

    R = P.shape[0]
    r_cb = cauchy(ct, b)  # (Q J)
    r_cp = np.stack([cauchy(ct, P[k]) for k in range(R)], 1)  # (Q R J): c K dt p_k
    r_qb = np.stack([cauchy(np.conj(P[j]), b) for j in range(R)], 0)  # (R J): conj(p_j) K dt b
    G = np.stack([np.stack([cauchy(np.conj(P[j]), P[k]) for k in range(R)], 0) for j in range(R)], 0)  # (R R J)
    G = G + np.eye(R)[..., None]
    # Woodbury: corr_q = sum_{k,j} r_cp[q, k] (G^{-1})[k, j] r_qb[j], G[j, k] = delta_jk + conj(p_j) K dt p_k
    Ginv = np.linalg.inv(np.moveaxis(G, -1, 0))  # (J R R): [J, k, j] = (G^{-1})[k, j]
    corr = np.einsum("qkJ,Jkj,jJ->qJ", r_cp, Ginv, r_qb)
    k_f = (r_cb - corr) * 2 / (1 + omega)
    return np.fft.irfft(k_f, n=length)


def bilinear(A, B, dt):
    I = np.eye(A.shape[0])
    return np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A), np.linalg.solve(I - dt / 2 * A, dt * B)


def toolkit_kernel(ch, length):
    """``ssm_kernel`` of the imported discrete system: (Q, L), complex."""
    assert isinstance(ch, ExportedChannel)
    return ssm_kernel(ch.Ab, ch.Bb, ch.system.C, length)[:, :, 0].T


def assert_kernel(channels, K_ss):
    """state-spaces' kernel K_ss (Q, H, L) against Re(ssm_kernel) of every imported channel."""
    for h, ch in enumerate(channels):
        K = toolkit_kernel(ch, K_ss.shape[-1])
        scale = np.max(np.abs(K_ss[:, h]))
        assert np.max(np.abs(K.real - K_ss[:, h])) <= RTOL * scale, h


# --------------------------------------------------------------------------- models/s4/s4d.py


@pytest.mark.parametrize("conjugates", [None, "half", "full"])
def test_s4d_minimal(conjugates):
    p = known(seed=1)
    chans = import_s4_state_dict(s4d_minimal_dict(p, "layers.2."), prefix="layers.2", conjugates=conjugates)
    assert len(chans) == H
    for h, ch in enumerate(chans):
        a, c = p["a"][h], p["c"][0, h]
        if conjugates == "full":
            np.testing.assert_allclose(ch.system.A, np.concatenate([a, a.conj()]), rtol=1e-15)
            np.testing.assert_allclose(ch.system.B[:, 0], np.ones(2 * N), rtol=0)
            np.testing.assert_allclose(ch.system.C[0], np.concatenate([c, c.conj()]), rtol=0)
        else:
            np.testing.assert_allclose(ch.system.A, a, rtol=1e-15)
            np.testing.assert_allclose(ch.system.B[:, 0], np.ones(N), rtol=0)
            np.testing.assert_allclose(ch.system.C[0], 2 * c, rtol=0)
        assert ch.system.D[0, 0] == p["D"][0, h]
        assert ch.dt == pytest.approx(p["dt"][h], rel=1e-15)
        assert ch.method == "zoh" and ch.smr is None
    b1 = np.ones((H, N))
    assert_kernel(chans, ss_diag_kernel(p["a"], b1, p["c"], p["dt"][:, None], "zoh", L))
    if conjugates == "full":  # the completed system's kernel is real
        K = toolkit_kernel(chans[0], L)
        assert np.max(np.abs(K.imag)) <= 1e-13 * np.max(np.abs(K.real))


# --------------------------------------------------------------------------- models/s4/s4.py, SSMKernelDiag

DIAG_CASES = [
    # disc, real_transform, imag_transform, dt_transform, n_ssm, channels
    ("zoh", "exp", "none", "exp", H, 1),
    ("bilinear", "exp", "none", "softplus", H, 1),
    ("zoh", "relu", "exp", "softplus", 1, 2),
    ("bilinear", "none", "none", "exp", 2, 2),
    ("zoh", "softplus", "softplus", "sigmoid", 2, 1),
    ("bilinear", "sigmoid", "relu", "relu", 1, 1),
]


@pytest.mark.parametrize("conjugates", ["half", "full"])
@pytest.mark.parametrize("disc, real_t, imag_t, dt_t, S, Q", DIAG_CASES)
def test_ssm_kernel_diag(disc, real_t, imag_t, dt_t, S, Q, conjugates):
    p = known(seed=2, S=S, channels=Q)
    if real_t == "sigmoid":  # sigmoid keeps -Re A in (0, 1)
        p["a"] = -np.clip(-p["a"].real, 0.2, 0.9) + 1j * p["a"].imag
    sd = diag_dict(p, "layers.0.layer.", real_t, imag_t, dt_t)
    chans = import_s4_state_dict(
        sd,
        prefix="layers.0.",  # an S4Block's prefix: completed with 'layer.'
        disc=disc,
        dt_transform=dt_t,
        real_transform=real_t,
        imag_transform=imag_t,
        conjugates=conjugates,
    )
    t = np.arange(H) % S
    for h, ch in enumerate(chans):
        a, b, c = p["a"][t[h]], p["b"][t[h]], p["c"][:, h]
        if conjugates == "full":
            a, b, c = np.concatenate([a, a.conj()]), np.concatenate([b, b.conj()]), np.concatenate([c, c.conj()], -1)
        else:
            c = 2 * c
        np.testing.assert_allclose(ch.system.A, a, rtol=1e-14)
        np.testing.assert_allclose(ch.system.B[:, 0], b, rtol=0)
        np.testing.assert_allclose(ch.system.C, c, rtol=0)
        np.testing.assert_array_equal(ch.system.D[:, 0], p["D"][:, h])
        assert ch.dt == pytest.approx(p["dt"][h], rel=1e-14)
        assert ch.method == disc
    K_ss = ss_diag_kernel(p["a"][t], p["b"][t], p["c"], p["dt"][:, None], disc, L)
    assert_kernel(chans, K_ss)


def test_ssm_kernel_diag_is_real():
    """The is_real variant (no A_imag; real B and C): a real system of N states with C = 2c."""
    p = known(seed=3, real=True)
    chans = import_s4_state_dict(diag_dict(p, real=True), "layer.", disc="zoh", dt_transform="exp")
    for h, ch in enumerate(chans):
        assert not ch.system.is_complex
        np.testing.assert_allclose(ch.system.A, p["a"][h], rtol=1e-15)
        np.testing.assert_allclose(ch.system.C[0], 2 * p["c"][0, h], rtol=0)
    assert_kernel(chans, ss_diag_kernel(p["a"], p["b"], p["c"], p["dt"][:, None], "zoh", L))


def test_ssm_kernel_diag_options_not_stored():
    """force_real, bandlimit and dt_fast, as state-spaces' _get_params applies them."""
    p = known(seed=4)
    sd = diag_dict(p, dt_fast=True)
    chans = import_s4_state_dict(sd, "layer.", disc="bilinear", dt_transform="exp", dt_fast=True, force_real=True)
    assert_kernel(chans, ss_diag_kernel(p["a"].real + 0j, p["b"], p["c"], p["dt"][:, None], "bilinear", L))
    assert all(np.all(ch.system.A.imag == 0) for ch in chans)

    bandlimit = 0.1
    chans = import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp", dt_fast=True, bandlimit=bandlimit)
    mask = p["dt"][:, None] * np.abs(p["a"].imag) / (2 * np.pi) < bandlimit / 2
    assert 0 < mask.sum() < mask.size  # some modes kept, some cut
    assert_kernel(chans, ss_diag_kernel(p["a"], p["b"], p["c"] * mask, p["dt"][:, None], "zoh", L))


def test_untied_dt_is_refused_or_imported_in_steps():
    p = known(seed=5)
    p["dt_modes"] = np.random.default_rng(0).uniform(0.01, 0.2, (H, N))
    sd = diag_dict(p, untied=True)
    with pytest.raises(ParameterError, match="untied_dt='steps'"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")
    for disc in ("zoh", "bilinear"):
        chans = import_s4_state_dict(sd, "layer.", disc=disc, dt_transform="exp", untied_dt="steps")
        assert all(ch.dt == 1.0 for ch in chans)
        np.testing.assert_allclose(chans[1].system.A, p["dt_modes"][1] * p["a"][1], rtol=1e-14)
        assert_kernel(chans, ss_diag_kernel(p["a"], p["b"], p["c"], p["dt_modes"], disc, L))


# --------------------------------------------------------------------------- models/s4/s4.py, SSMKernelDPLR


def dplr_full(p, h):
    """The known dense system of channel h (n_ssm = 1 here): A = diag([a, conj a]) - sum_r P_r P_r^H."""
    a, b, P = p["a"][0], p["b"][0], p["P"][:, 0]
    Pf = np.concatenate([P, P.conj()], -1)
    A = np.diag(np.concatenate([a, a.conj()])) - Pf.T @ Pf.conj()
    return A, np.concatenate([b, b.conj()]), np.concatenate([p["c"][:, h], p["c"][:, h].conj()], -1)


@pytest.mark.parametrize("rank, l_kernel", [(1, 0), (1, 32), (2, 40)])
def test_ssm_kernel_dplr(rank, l_kernel):
    p = known(seed=6, S=1, channels=2, rank=rank)
    sd = diag_dict(p, dt_t="softplus")
    sd["layer.kernel.P"] = real_view(p["P"])
    sd["layer.kernel.l_kernel"] = np.array(l_kernel)
    # The stored C is C itself while l_kernel = 0, and C~ = C (I - Ab^l_kernel) on the full system after
    # SSMKernelDPLR._setup_C; its forward always sets C~ up for the kernel length first (here: length).
    length = l_kernel or L
    C_tilde = np.empty_like(p["c"])
    for h in range(H):
        A, B, C = dplr_full(p, h)
        Ab, _ = bilinear(A, B, p["dt"][h])
        Ct = C @ (np.eye(2 * N) - np.linalg.matrix_power(Ab, length))
        np.testing.assert_allclose(Ct[:, N:], Ct[:, :N].conj(), atol=1e-13)  # still conjugate-symmetric
        C_tilde[:, h] = Ct[:, :N]
    sd["layer.kernel.C"] = real_view(C_tilde if l_kernel else p["c"])

    chans = import_s4_state_dict(sd, "layer.", dt_transform="softplus")
    K_ss = np.stack(
        [ss_dplr_kernel(p["a"][0], p["P"][:, 0], p["b"][0], C_tilde[:, h], p["dt"][h], length) for h in range(H)], 1
    )
    for h, ch in enumerate(chans):
        A, B, C = dplr_full(p, h)
        assert ch.method == "bilinear" and ch.system.N == 2 * N and not ch.system.diagonal
        np.testing.assert_allclose(ch.system.A, A, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(ch.system.B[:, 0], B, rtol=0)
        np.testing.assert_allclose(ch.system.C, C, rtol=1e-12, atol=1e-12 * np.abs(C).max())
        np.testing.assert_array_equal(ch.system.D[:, 0], p["D"][:, h])
        K = toolkit_kernel(ch, length)
        assert np.max(np.abs(K.imag)) <= 1e-12 * np.max(np.abs(K.real))
    assert_kernel(chans, K_ss)


# --------------------------------------------------------------------------- files and whole models


def test_safetensors_numpy_round_trip(tmp_path):
    from safetensors.numpy import save_file

    p = known(seed=7, S=2, channels=2)
    sd = {k: np.ascontiguousarray(v) for k, v in diag_dict(p, "model.layers.1.layer.").items()}
    path = tmp_path / "model.safetensors"
    save_file(sd, str(path))
    kw = {"disc": "zoh", "dt_transform": "exp"}
    from_file = import_s4_state_dict(path, "model.layers.1.", **kw)
    from_dict = import_s4_state_dict(sd, "model.layers.1.", **kw)
    for f, d in zip(from_file, from_dict):
        for x, y in ((f.system.A, d.system.A), (f.system.C, d.system.C), (f.Ab, d.Ab), (f.Bb, d.Bb)):
            np.testing.assert_array_equal(x, y)
        assert f.dt == d.dt


def test_safetensors_torch_float32_and_whole_model(tmp_path):
    """A float32 torch state dict of two layers (an S4Block with the DPLR kernel, a minimal S4D) in one file."""
    from safetensors.torch import save_file

    p = known(seed=8, S=1, rank=1)
    sd = diag_dict(p, "layers.0.layer.")
    sd["layers.0.layer.kernel.P"] = real_view(p["P"])
    sd["layers.0.layer.kernel.l_kernel"] = np.array(0)
    sd.update(s4d_minimal_dict(known(seed=9), "layers.1."))
    sd["encoder.weight"] = np.ones((H, 1))
    tensors = {k: torch.tensor(v, dtype=torch.int64 if v.dtype.kind == "i" else torch.float32) for k, v in sd.items()}
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path))
    assert find_s4_prefixes(path) == ["layers.0.layer.", "layers.1."]
    models = import_s4_model(path, dt_transform="exp")  # the options of models/s4/s4.py skip the minimal S4D
    assert list(models) == ["layers.0.layer.", "layers.1."]
    assert [ch.method for ch in models["layers.0.layer."]] == ["bilinear"] * H
    # float32 values are widened, not re-rounded: the same as importing those float32 values as arrays
    as32 = {k: v.numpy() for k, v in tensors.items()}
    ref = import_s4_state_dict(as32, "layers.1.")
    for x, y in zip(models["layers.1."], ref):
        np.testing.assert_array_equal(x.system.A, y.system.A)
        np.testing.assert_array_equal(x.Bb, y.Bb)
    ref = import_s4_state_dict(as32, "layers.0.layer.", dt_transform="exp")
    np.testing.assert_array_equal(models["layers.0.layer."][2].system.C, ref[2].system.C)


# --------------------------------------------------------------------------- named errors


def test_missing_key_names_it_and_lists_the_keys_found():
    sd = s4d_minimal_dict(known(), "layers.0.")
    del sd["layers.0.kernel.A_imag"]
    with pytest.raises(InputTypeError, match=r"'layers\.0\.kernel\.A_imag'.*missing.*'layers\.0\.kernel\.C'"):
        import_s4_state_dict(sd, "layers.0.")
    with pytest.raises(InputTypeError, match=r"prefixes \['layers\.0\.'\]"):
        import_s4_state_dict(sd, "layers.7.")
    sd = diag_dict(known())
    del sd["layer.D"]
    with pytest.raises(InputTypeError, match=r"'layer\.D'"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")
    sd = diag_dict(known(S=1))
    sd["layer.kernel.P"] = real_view(known(S=1)["P"])
    with pytest.raises(InputTypeError, match="l_kernel"):
        import_s4_state_dict(sd, "layer.", dt_transform="exp")
    with pytest.raises(InputTypeError, match="at least one S4/S4D layer.*found none"):
        import_s4_model({"encoder.weight": np.ones(3)})


def test_wrong_shapes():
    sd = s4d_minimal_dict(known())
    sd["kernel.C"] = sd["kernel.C"][..., 0]  # complex C not stored as a real view
    with pytest.raises(ShapeError, match=r"kernel\.C: expected shape \(4, 3, 2\)"):
        import_s4_state_dict(sd)
    sd = diag_dict(known(S=3))  # n_ssm = 3 does not divide H = 4
    with pytest.raises(ShapeError, match="multiple of n_ssm"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")
    sd = diag_dict(known())
    sd["layer.kernel.inv_dt"] = np.zeros((H, 2))
    with pytest.raises(ShapeError, match="dt_tie"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")
    sd["layer.kernel.inv_dt"] = torch.zeros(H, 1, dtype=torch.complex64)
    with pytest.raises(InputTypeError, match="view_as_real"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")


def test_non_finite_values():
    sd = s4d_minimal_dict(known())
    sd["kernel.log_A_real"] = sd["kernel.log_A_real"].copy()
    sd["kernel.log_A_real"][1, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"kernel\.log_A_real.*index \(1, 2\)"):
        import_s4_state_dict(sd)
    sd = diag_dict(known())
    sd["layer.kernel.B"] = torch.tensor(sd["layer.kernel.B"]).index_fill_(1, torch.tensor([0]), float("inf"))
    with pytest.raises(NonFiniteError, match=r"layer\.kernel\.B"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp")


def test_pickle_files_are_refused_unread(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not read")
    for p in (path, str(path), tmp_path / "last.ckpt", tmp_path / "model.pth"):
        with pytest.raises(InputTypeError, match="never unpickles"):
            import_s4_state_dict(p)
    with pytest.raises(InputTypeError, match="no file"):
        import_s4_state_dict(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")  # a pickle header, not a safetensors one
    with pytest.raises(InputTypeError, match="readable safetensors"):
        import_s4_state_dict(bad)
    with pytest.raises(InputTypeError, match="state dict"):
        import_s4_state_dict([1, 2, 3])


def test_options_and_unsupported_layouts():
    sd = diag_dict(known())
    with pytest.raises(ParameterError, match="dt_transform.*softplus"):  # not stored, no guess
        import_s4_state_dict(sd, "layer.", disc="zoh")
    with pytest.raises(ParameterError, match="disc"):
        import_s4_state_dict(sd, "layer.", dt_transform="exp")
    with pytest.raises(ParameterError, match="dss"):
        import_s4_state_dict(sd, "layer.", disc="dss", dt_transform="exp")
    with pytest.raises(ParameterError, match="real_transform"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="exp", real_transform="tanh")
    with pytest.raises(ParameterError, match="'dplr'"):
        import_s4_state_dict(sd, "layer.", variant="dplr", dt_transform="exp")
    bi = dict(sd, **{"layer.kernel.C": np.concatenate([sd["layer.kernel.C"]] * 2)})  # bidirectional: 2x channels
    with pytest.raises(ParameterError, match="bidirectional"):
        import_s4_state_dict(bi, "layer.", disc="zoh", dt_transform="exp")
    with pytest.raises(ParameterError, match="do not apply"):  # the minimal S4D has no such options
        import_s4_state_dict(s4d_minimal_dict(known()), disc="zoh")
    old = {"kernel.log_dt": np.zeros(H), "kernel.inv_A_real": np.zeros((H, N)), "D": np.zeros((1, H))}
    with pytest.raises(ParameterError, match="older state-spaces layout"):
        import_s4_state_dict(old)
    dplr = dict(sd, **{"layer.kernel.P": real_view(known()["P"]), "layer.kernel.l_kernel": np.array(0)})
    with pytest.raises(ParameterError, match="half"):
        import_s4_state_dict(dplr, "layer.", dt_transform="exp", conjugates="half")
    with pytest.raises(ParameterError, match="bilinear"):
        import_s4_state_dict(dplr, "layer.", dt_transform="exp", disc="zoh")
    with pytest.raises(ParameterError, match="bandlimit"):
        import_s4_state_dict(dplr, "layer.", dt_transform="exp", bandlimit=0.5)
    with pytest.raises(ParameterError, match="dt > 0"):
        import_s4_state_dict(sd, "layer.", disc="zoh", dt_transform="none")  # stored log dt < 0 read as dt
