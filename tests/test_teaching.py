"""smr_stability.teaching: correct functions pass, each usual mistake fails with its name.

References: the library functions each checker compares with (discretize, ssm_kernel,
causal_conv, simulate_reference, error_gain, smr_gate), and hand-written correct versions, the
way a student would write them; every wrong version below makes one named mistake. The folded
solutions of docs/notebooks/01b_build_it.py must pass their checkers.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

import smr_stability as smr
from smr_stability import teaching
from smr_stability.errors import SMRStabilityError
from smr_stability.teaching import CheckFailed, CheckReport

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "01b_build_it.py"

# -- correct implementations ----------------------------------------------------------------------


def zoh(A, B, dt):
    Ab = scipy.linalg.expm(dt * A)
    return Ab, np.linalg.solve(A, (Ab - np.eye(len(A))) @ B)


def bilinear(A, B, dt):
    I = np.eye(len(A))
    return np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A), np.linalg.solve(I - dt / 2 * A, dt * B)


def zoh_diagonal(lam, B, dt):
    mu = np.exp(dt * lam)
    return mu, ((mu - 1) / lam)[:, None] * B


def kernel(Ab, Bb, C, L):
    K, X = [], Bb
    for _ in range(L):
        K.append(C @ X)
        X = Ab @ X
    return np.array(K)


def kernel_diagonal(mu, Bb, C, L):
    return np.einsum("qn,nl,np->lqp", C, mu[:, None] ** np.arange(L), Bb)


def conv(K, u):
    L = len(u)
    return np.array([sum(K[j] @ u[k - j] for j in range(k + 1)) for k in range(L)])


def error_system(Ab, Bb, w):
    e, out = np.zeros(len(Bb), dtype=np.result_type(Ab, Bb, w)), []
    for w_k in w:
        e = (Ab * e if Ab.ndim == 1 else Ab @ e) + Bb @ w_k
        out.append(e)
    return np.array(out)


def gain(Ab, Bb):
    G, X = 0.0, Bb
    while True:
        term = np.linalg.norm(X, 2)
        G += term
        if term <= 1e-16 * G:
            return G
        X = Ab @ X


def gate(u, m, b):
    L = len(u)
    z = np.zeros(u.shape) + b
    for j in range(m.shape[1]):
        z[j:] += m[:, j] * u[: L - j]
    return u / (1 + np.exp(-z))


# -- passing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "check, fn, kwargs",
    [
        (teaching.check_discretize, zoh, {"method": "zoh"}),
        (teaching.check_discretize, bilinear, {"method": "bilinear"}),
        (teaching.check_discretize, zoh_diagonal, {"method": "zoh", "diagonal": True}),
        (teaching.check_kernel, kernel, {}),
        (teaching.check_kernel, kernel_diagonal, {"diagonal": True}),
        (teaching.check_causal_conv, conv, {}),
        (teaching.check_error_system, error_system, {}),
        (teaching.check_error_system, error_system, {"diagonal": True}),
        (teaching.check_error_gain, gain, {}),
        (teaching.check_smr_gate, gate, {}),
    ],
)
def test_correct_implementations_pass(check, fn, kwargs, capsys):
    report = check(fn, **kwargs)
    assert isinstance(report, CheckReport) and report.max_rel_err <= teaching.RTOL and report.cases >= 3
    out = capsys.readouterr().out
    assert re.fullmatch(r"check_\w+(\('\w+'\))?: OK \(max rel err \d(\.\d+)?e[+-]\d\d\)\n", out), out


def test_the_library_passes_its_own_checks(capsys):
    for method in ("zoh", "bilinear", "euler", "backward_diff", "selective"):
        assert teaching.check_discretize(lambda A, B, dt, m=method: smr.discretize(A, B, dt, method=m), method)
    assert teaching.check_kernel(smr.ssm_kernel)
    assert teaching.check_causal_conv(smr.causal_conv)
    assert teaching.check_error_gain(lambda Ab, Bb: smr.error_gain(Ab, Bb, rtol=1e-13))
    assert teaching.check_smr_gate(smr.smr_gate)
    assert teaching.check_smr_gate(smr.smr_gate, seed=5, verbose=False).check == "check_smr_gate"


def test_not_written_yet_is_reported_not_failed(capsys):
    def stub(A, B, dt):
        raise NotImplementedError

    assert teaching.check_discretize(stub, "zoh") is None
    assert "check_discretize('zoh'): not written yet (stub raises NotImplementedError)" in capsys.readouterr().out


def test_checkfailed_is_a_named_value_error():
    assert issubclass(CheckFailed, SMRStabilityError) and issubclass(CheckFailed, ValueError)


def test_an_exception_is_reported_with_the_case():
    def broken(K, u):
        raise IndexError("index 3 is out of bounds")

    with pytest.raises(
        CheckFailed, match=r"broken raised IndexError: index 3.*\n  on case 1 of 3: K \(20, 2, 2\)"
    ) as info:
        teaching.check_causal_conv(broken)
    assert info.value.mistake == "raised"


def test_a_non_array_result_is_refused():
    def returns_none(Ab, Bb, w):
        return None

    err = fails(teaching.check_error_system, returns_none, "shape", r"returned NoneType, not an array of numbers")
    assert err.check == "check_error_system"


def test_unknown_method_is_refused():
    with pytest.raises(smr.errors.ParameterError, match="method must be one of"):
        teaching.check_discretize(zoh, "gbt")


# -- the named mistakes ---------------------------------------------------------------------------


def fails(check, fn, mistake, pattern, **kwargs):
    """The check raises CheckFailed with this mistake key and a message matching ``pattern``."""
    with pytest.raises(CheckFailed) as info:
        check(fn, **kwargs)
    assert info.value.mistake == mistake, str(info.value)
    assert re.search(pattern, str(info.value), re.S), str(info.value)
    return info.value


def test_discretize_missing_dt():
    def bilinear_no_dt(A, B, dt):
        I = np.eye(len(A))
        return np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A), np.linalg.solve(I - dt / 2 * A, B)

    err = fails(
        teaching.check_discretize, bilinear_no_dt, "missing_dt", r"divided by dt.*dt is missing", method="bilinear"
    )
    assert err.max_rel_err > 1


def test_discretize_extra_dt():
    def zoh_extra_dt(A, B, dt):
        Ab, Bb = zoh(A, B, dt)
        return Ab, dt * Bb

    fails(teaching.check_discretize, zoh_extra_dt, "extra_dt", r"times dt", method="zoh")


def test_discretize_transposed():
    def zoh_transposed(A, B, dt):
        Ab = scipy.linalg.expm(dt * A.T)
        return Ab, np.linalg.solve(A.T, (Ab - np.eye(len(A))) @ B)

    fails(teaching.check_discretize, zoh_transposed, "transposed", r"transpose.*A\^T", method="zoh")


def test_discretize_inverted_bilinear():
    def bilinear_swapped(A, B, dt):
        I = np.eye(len(A))
        return np.linalg.solve(I + dt / 2 * A, I - dt / 2 * A), np.linalg.solve(I - dt / 2 * A, dt * B)

    fails(teaching.check_discretize, bilinear_swapped, "inverted", r"inverse.*swapped", method="bilinear")


def test_discretize_wrong_rule():
    def zoh_with_euler_input(A, B, dt):
        return scipy.linalg.expm(dt * A), dt * B

    fails(
        teaching.check_discretize,
        zoh_with_euler_input,
        "wrong_rule",
        r"Bb is the .*forward Euler.*not zoh",
        method="zoh",
    )


def test_kernel_one_step_shift_late():
    def kernel_late(Ab, Bb, C, L):  # the control order: K_0 = 0, K_k = C Ab^(k-1) Bb
        K = kernel(Ab, Bb, C, L)
        return np.concatenate([np.zeros_like(K[:1]), K[:-1]])

    fails(teaching.check_kernel, kernel_late, "one_step_shift", r"one step late.*K_0 = C Bb")


def test_kernel_one_step_shift_early():
    def kernel_early(Ab, Bb, C, L):  # powers starting at Ab^1
        return kernel(Ab, Ab @ Bb, C, L)

    fails(teaching.check_kernel, kernel_early, "one_step_shift", r"one step early")


def test_kernel_transposed_state_matrix():
    def kernel_At(Ab, Bb, C, L):
        return kernel(Ab.T, Bb, C, L)

    fails(teaching.check_kernel, kernel_At, "transposed", r"Ab\^T")


def test_kernel_b_and_c_swapped():
    def kernel_swapped(Ab, Bb, C, L):  # K_k^T: (P, Q) instead of (Q, P)
        return np.swapaxes(kernel(Ab, Bb, C, L), 1, 2)

    fails(teaching.check_kernel, kernel_swapped, "transposed", r"B and C are swapped")


def test_kernel_elementwise_power():
    def kernel_power(Ab, Bb, C, L):
        return np.array([C @ Ab**k @ Bb for k in range(L)])

    fails(teaching.check_kernel, kernel_power, "elementwise_power", r"entrywise power.*matrix_power")


def test_conv_one_step_shift():
    def conv_late(K, u):  # y_k = sum_j K_j u_(k-1-j)
        y = conv(K, u)
        return np.concatenate([np.zeros_like(y[:1]), y[:-1]])

    fails(teaching.check_causal_conv, conv_late, "one_step_shift", r"y_\(k-1\).*enters y_k at once")


def test_conv_non_causal():
    def conv_same(K, u):  # correlation: y_k = sum_j K_j u_(k+j), which reads the future
        L = len(u)
        return np.array([sum(K[j] @ u[k + j] for j in range(L - k)) for k in range(L)])

    err = fails(
        teaching.check_causal_conv, conv_same, "non_causal", r"non-causal convolution.*changed the output at steps 0, 1"
    )
    assert "mode='same'" in str(err)


def test_conv_transposed():
    def conv_t(K, u):
        return conv(np.swapaxes(K, 1, 2), u)

    fails(teaching.check_causal_conv, conv_t, "transposed", r"every K_j transposed")


def test_conv_shape():
    def conv_squeezed(K, u):
        return conv(K, u)[:, 0]

    fails(teaching.check_causal_conv, conv_squeezed, "shape", r"y has shape \(20,\); expected \(20, 2\) = \(L, Q\)")


def test_error_system_one_step_shift():
    def control_order(Ab, Bb, w):  # e_k = Ab e_(k-1) + Bb w_(k-1)
        return error_system(Ab, Bb, np.concatenate([np.zeros_like(w[:1]), w[:-1]]))

    fails(teaching.check_error_system, control_order, "one_step_shift", r"w_\(k-1\).*control-text order")


def test_error_system_transposed():
    def row_vector(Ab, Bb, w):  # e @ Ab = Ab^T e
        return error_system(Ab.T, Bb, w)

    fails(teaching.check_error_system, row_vector, "transposed", r"Ab\^T")


def test_error_gain_one_step_shift():
    def from_one(Ab, Bb):
        return gain(Ab, Ab @ Bb)

    fails(teaching.check_error_gain, from_one, "one_step_shift", r"starts at j = 1")


def test_error_gain_frobenius():
    def frobenius(Ab, Bb):
        G, X = 0.0, Bb
        for _ in range(2000):
            G += np.linalg.norm(X)
            X = Ab @ X
        return G

    fails(teaching.check_error_gain, frobenius, "frobenius_norm", r"Frobenius.*np.linalg.norm\(X, 2\)")


def test_error_gain_norm_of_sum():
    def norm_of_sum(Ab, Bb):
        return np.linalg.norm(np.linalg.solve(np.eye(len(Ab)) - Ab, Bb), 2)

    fails(teaching.check_error_gain, norm_of_sum, "norm_of_sum", r"norm of the sum")


def test_error_gain_transposed():
    def transposed(Ab, Bb):
        return gain(Ab.T, Bb)

    fails(teaching.check_error_gain, transposed, "transposed", r"G_inf of Ab\^T")


def test_error_gain_mismatch_shows_both_values():
    def doubled(Ab, Bb):
        return 2 * gain(Ab, Bb)

    fails(teaching.check_error_gain, doubled, "mismatch", r"found \d+\.\d+, expected \d+\.\d+")


def test_error_gain_truncated():
    def twenty_terms(Ab, Bb):
        return sum(np.linalg.norm(np.linalg.matrix_power(Ab, j) @ Bb, 2) for j in range(20))

    fails(teaching.check_error_gain, twenty_terms, "truncated", r"stops too early.*about \d+ terms")


def test_gate_returns_the_gate():
    def gate_only(u, m, b):
        return gate(u, m, b) / u

    fails(teaching.check_smr_gate, gate_only, "returns_gate", r"returns the gate g, not the gated input")


def test_gate_one_step_shift():
    def lagging(u, m, b):  # m[:, 0] weights u_(k-1)
        return gate(u, np.concatenate([np.zeros((len(m), 1)), m], axis=1), b)

    fails(
        teaching.check_smr_gate, lagging, "one_step_shift", r"shifted by one step.*m\[h, 0\] weights the current sample"
    )


def test_gate_non_causal():
    def rolled(u, m, b):  # np.roll wraps the end of the sequence round to its start
        z = np.zeros(u.shape) + b
        for j in range(m.shape[1]):
            z += m[:, j] * np.roll(u, j, axis=0)
        return u / (1 + np.exp(-z))

    fails(teaching.check_smr_gate, rolled, "non_causal", r"non-causal gate.*np.roll")


def test_gate_reversed_kernel():
    def reversed_m(u, m, b):
        return gate(u, m[:, ::-1], b)

    fails(teaching.check_smr_gate, reversed_m, "reversed_kernel", r"kernel reversed")


def test_gate_transposed():
    def m_as_tau_by_h(u, m, b):  # reads m[j, h]: works only when tau = H (the first case)
        L = len(u)
        z = np.zeros(u.shape) + b
        for j in range(m.shape[0]):
            z[j:] += m[j] * u[: L - j]
        return u / (1 + np.exp(-z))

    fails(teaching.check_smr_gate, m_as_tau_by_h, "transposed", r"reads m as \(tau, H\)")


def test_general_mismatch_gives_the_error():
    def tanh_gate(u, m, b):
        L = len(u)
        z = np.zeros(u.shape) + b
        for j in range(m.shape[1]):
            z[j:] += m[:, j] * u[: L - j]
        return u * (1 + np.tanh(z)) / 2.01

    err = fails(teaching.check_smr_gate, tanh_gate, "mismatch", r"max rel err \d\.\de-\d\d > 1e-10 \(largest at index")
    assert err.max_rel_err > 1e-3


# -- torch -------------------------------------------------------------------------------------


def test_torch_gate_passes_and_fails_by_name(capsys):
    torch = pytest.importorskip("torch")

    def gate_torch(u, m, b):
        L, H = u.shape
        tau = m.shape[1]
        padded = torch.cat([u.new_zeros(tau - 1, H), u])
        z = b + sum(m[:, j] * padded[tau - 1 - j : tau - 1 - j + L] for j in range(tau))
        return torch.sigmoid(z) * u

    report = teaching.check_smr_gate_torch(gate_torch)
    assert report.check == "check_smr_gate_torch" and report.max_rel_err < 1e-14
    assert "check_smr_gate_torch: OK" in capsys.readouterr().out

    def through_numpy(u, m, b):  # right values, but cut from the graph
        return torch.tensor(gate(u.detach().numpy(), m.detach().numpy(), b.detach().numpy()))

    fails(teaching.check_smr_gate_torch, through_numpy, "no_autograd", r"does not require grad")

    def returns_numpy(u, m, b):
        return gate(u.detach().numpy(), m.detach().numpy(), b.detach().numpy())

    fails(teaching.check_smr_gate_torch, returns_numpy, "no_autograd", r"returned a ndarray, not a torch.Tensor")

    class WrongBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u, m, b):
            ctx.save_for_backward(u, m, b)
            return gate_torch(u, m, b)

        @staticmethod
        def backward(ctx, grad):
            u, m, b = ctx.saved_tensors
            return grad, torch.zeros_like(m), torch.zeros_like(b)

    fails(teaching.check_smr_gate_torch, WrongBackward.apply, "wrong_gradient", r"gradcheck failed")

    def torch_non_causal(u, m, b):  # the kernel applied to later samples
        L, H = u.shape
        tau = m.shape[1]
        padded = torch.cat([u, u.new_zeros(tau - 1, H)])
        z = b + sum(m[:, j] * padded[j : j + L] for j in range(tau))
        return torch.sigmoid(z) * u

    fails(teaching.check_smr_gate_torch, torch_non_causal, "non_causal", r"non-causal gate")


# -- the figure helpers ---------------------------------------------------------------------------


def test_figure_html_has_alt_caption_and_retina_png():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5))
    fig.subplots().plot([0, 1], [1, 0])
    text = teaching.figure_html(fig, 'A caption with "quotes" & <tags>', alt="A line falling from 1 to 0.")
    assert text.startswith("<figure") and 'alt="A line falling from 1 to 0."' in text
    assert 'width="700"' in text and "max-width: 100%" in text  # 1400 px PNG shown at 700 px
    assert "<figcaption" in text and "&quot;quotes&quot; &amp; &lt;tags&gt;" in text
    assert teaching.figure_html(fig, "cap").count('alt="cap"') == 1  # alt defaults to the caption


def test_show_closes_the_figure_and_shows_nothing_outside_ipython(capsys):
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    teaching.show(fig, "caption", alt="alt")
    assert not plt.fignum_exists(fig.number)
    assert capsys.readouterr().out == ""


def test_repo_file_finds_the_committed_figure(monkeypatch, tmp_path):
    assert teaching.repo_file("docs/theory.md") == ROOT / "docs" / "theory.md"
    monkeypatch.chdir(ROOT / "docs" / "notebooks")
    assert teaching.repo_file("docs/theory.md").resolve() == (ROOT / "docs" / "theory.md").resolve()
    with pytest.raises(FileNotFoundError, match="no/such/file.png not found"):
        teaching.repo_file("no/such/file.png")


# -- the notebook's solutions ---------------------------------------------------------------------


def _solutions():
    jupytext = pytest.importorskip("jupytext")
    blocks = []
    for cell in jupytext.read(NOTEBOOK).cells:
        if cell.cell_type == "markdown" and "<summary>Solution</summary>" in cell.source:
            blocks += re.findall(r"```python\n(.*?)```", cell.source, re.S)
    return blocks


def test_the_notebook_solutions_pass_their_checks(capsys):
    """Each folded solution of 01b_build_it runs (with its own asserts), and its functions pass."""
    torch = pytest.importorskip("torch")
    namespace = {"np": np, "scipy": scipy, "torch": torch, "smr": smr, "teaching": teaching}
    blocks = _solutions()
    assert len(blocks) == 6  # exercises 4 and 5 share one solution
    for code in blocks:
        exec(compile(code, str(NOTEBOOK), "exec"), namespace)
    checks = [
        (teaching.check_discretize, "zoh", {"method": "zoh"}),
        (teaching.check_discretize, "bilinear", {"method": "bilinear"}),
        (teaching.check_kernel, "kernel", {}),
        (teaching.check_causal_conv, "causal_conv", {}),
        (teaching.check_error_system, "error_system", {}),
        (teaching.check_error_gain, "error_gain", {}),
        (teaching.check_smr_gate, "gate_numpy", {}),
        (teaching.check_smr_gate_torch, "gate_torch", {}),
    ]
    for check, name, kwargs in checks:
        for seed in (0, 1):
            assert isinstance(check(namespace[name], seed=seed, **kwargs), CheckReport), name
