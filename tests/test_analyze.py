"""`analyze` of systems, exported channels, run directories and .npz files (Python and CLI):
each row against stability_report or a closed form from the layer's own parameters, the worst
channel against a brute-force search over the rows."""

import json

import numpy as np
import pytest
import scipy.linalg
import torch
from safetensors.torch import save_file

import smr_stability as smr
from smr_stability import errors
from smr_stability.cli import main
from smr_stability.nn import S4D, SequenceModel, TrainConfig
from smr_stability.nn.run_analysis import analyze, analyze_run
from smr_stability.stability import REPORT_KEYS, WORST, load_system, worst_channels
from smr_stability.stability import analyze as analyze_systems

SYSTEMS = [smr.s4d_lin(4, seed=0), smr.hippo_legs(3), smr.random_stable(3, seed=2)]


def _brute_worst(rows, key):
    """The worst row by a plain loop: None first, then the largest (or smallest) value."""
    missing = [r for r in rows if r[key] is None]
    if missing:
        return missing[0]
    best = rows[0]
    for r in rows[1:]:
        if (r[key] > best[key]) if WORST[key] == "max" else (r[key] < best[key]):
            best = r
    return best


def test_rows_equal_stability_report_and_worst_equals_a_brute_force_search():
    out = analyze_systems(SYSTEMS, dt=[0.1, 0.05, 0.2], method="zoh", sigma=0.3)
    assert [(r["layer"], r["channel"]) for r in out["channels"]] == [(0, 0), (0, 1), (0, 2)]
    for row, sys, dt in zip(out["channels"], SYSTEMS, (0.1, 0.05, 0.2)):
        ref = smr.stability_report(sys, dt=dt, method="zoh", sigma=0.3)
        assert {k: row[k] for k in ref} == ref
        # independent references: scipy's expm for zoh, its discrete Lyapunov solver for P
        Ab = scipy.linalg.expm(dt * sys.A_dense)
        P = scipy.linalg.solve_discrete_lyapunov(Ab.conj().T, np.eye(sys.N))  # Ab^H P Ab - P = -I
        assert row["spectral_radius"] == pytest.approx(np.abs(np.linalg.eigvals(Ab)).max(), rel=1e-12)
        assert row["kappa_P"] == pytest.approx(np.linalg.cond(P), rel=1e-8)
        assert row["transient_bound"] == pytest.approx(np.sqrt(np.linalg.cond(P)), rel=1e-8)
    for key in REPORT_KEYS:
        w = _brute_worst(out["channels"], key)
        assert out["worst"][key] == {"layer": 0, "channel": w["channel"], "value": w[key]}


def test_an_unstable_channel_is_the_worst_of_the_quantities_it_lacks():
    unstable = smr.SSM(np.array([0.5, -1.0]), np.ones(2), np.ones(2), name="unstable")
    out = analyze_systems([SYSTEMS[0], unstable], dt=0.1)
    row = out["channels"][1]
    # bilinear: mu = (1 + dt a / 2) / (1 - dt a / 2) for a = 0.5
    assert row["spectral_radius"] == pytest.approx((1 + 0.025) / (1 - 0.025), rel=1e-12)
    assert row["error_gain"] is None and row["euler_dt_limit"] is None
    for key in ("spectral_radius", "error_gain", "gamma_star", "kappa_P", "euler_dt_limit"):
        assert out["worst"][key]["channel"] == 1


def test_an_exported_layer_is_reported_with_its_own_step_and_method():
    torch.manual_seed(0)
    layer = S4D(3, N=4)
    channels = layer.export()
    out = analyze_systems(channels, sigma=0.5, layer=2)
    for h, (row, ch) in enumerate(zip(out["channels"], channels)):
        assert (row["layer"], row["channel"], row["method"], row["dt"]) == (2, h, ch.method, ch.dt)
        ref = smr.stability_report(ch.system, dt=ch.dt, method=ch.method, sigma=0.5)
        for key in REPORT_KEYS:
            assert row[key] == pytest.approx(ref[key], rel=1e-9)


def _write_run(path, layer="s4d"):
    """A run directory holding a freshly initialised model (config.json and model.safetensors)."""
    torch.manual_seed(1)
    config = TrainConfig(task="sines", layer=layer, width=4, state=4, depth=2, small=True)
    model = SequenceModel(config, 1, 1)
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config.to_dict()))
    save_file(model.state_dict(), str(path / "model.safetensors"))
    return model


def test_run_rows_match_the_closed_form_of_each_s4d_channel(tmp_path):
    model = _write_run(tmp_path / "run")
    out = analyze_run(tmp_path / "run", weights="last")
    assert len(out["channels"]) == 2 * 4
    for row in out["channels"]:
        s4d = model.layers[row["layer"]]
        h = row["channel"]
        lam = -np.exp(s4d.log_A_real[h].detach().double().numpy()) + 1j * s4d.A_imag[h].detach().double().numpy()
        dt = float(np.exp(s4d.log_dt[h].item()))
        mu = np.exp(dt * lam) if s4d.method == "zoh" else (1 + dt * lam / 2) / (1 - dt * lam / 2)
        assert row["spectral_radius"] == pytest.approx(np.abs(mu).max(), rel=1e-6)  # float32 weights
        assert row["dt"] == pytest.approx(dt, rel=1e-6)
    assert out["worst"] == worst_channels(out["channels"])
    one = analyze(str(tmp_path / "run"), layer=1)
    assert [r["layer"] for r in one["channels"]] == [1] * 4


def test_npz_system_and_cli(tmp_path, capsys):
    A = np.array([-1.0, -3.0 + 2j, -3.0 - 2j])
    np.savez(tmp_path / "sys.npz", A=A, B=np.ones(3))
    sys = load_system(tmp_path / "sys.npz")
    assert np.allclose(sys.C, np.eye(3)) and sys.name == "sys"
    assert main(["analyze", "--npz", str(tmp_path / "sys.npz"), "--dt", "0.1", "--method", "zoh", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["channels"][0]["spectral_radius"] == pytest.approx(np.exp(-0.1), rel=1e-12)
    _write_run(tmp_path / "run")
    assert main(["analyze", "--run", str(tmp_path / "run"), "--layer", "0"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["layer", "channel", "model"] and "worst of 4 channel(s):" in table
    rho = [float(line.split()[6]) for line in table[1:5]]
    assert rho == sorted(rho, reverse=True)  # the worst channels first


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["analyze", "--model", "s4d-lin", "--method", "euler", "--sigma", "5"], "sigma"),
        (["analyze", "--npz", "missing.npz", "--dt", "0.1"], "no such file"),
        (["analyze", "--npz", "x.npz"], "--dt"),
        (["analyze", "--run", "nowhere"], "run directory"),
        (["analyze", "--model", "s4d-lin", "--layer", "1"], "--layer"),
        (["analyze"], "exactly one"),
    ],
)
def test_cli_bad_analyze_input_is_one_line_and_exit_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: analyze_systems(SYSTEMS, dt=None), errors.ParameterError),
        (lambda: analyze_systems([], dt=0.1), errors.ShapeError),
        (lambda: analyze_systems(SYSTEMS, dt=[0.1, 0.2]), errors.ShapeError),
        (lambda: analyze_systems(SYSTEMS, dt=0.1, method="nope"), errors.MethodError),
        (lambda: analyze_systems(SYSTEMS, dt=0.1, sigma=1.5), errors.ParameterError),
        (lambda: analyze_systems(SYSTEMS, dt=0.1, layer=-1), errors.ParameterError),
        (lambda: analyze_systems("not a system", dt=0.1), errors.InputTypeError),
    ],
)
def test_bad_analyze_arguments(call, error):
    with pytest.raises(error):
        call()
