"""The training loop: every layer trains; checkpoints are safetensors; resume loses nothing; a
non-finite value stops the run and keeps the last good checkpoint; trained models export to the
core's analysis."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import smr_stability as smr
from smr_stability import errors, sampling, signals
from smr_stability.cli import main
from smr_stability.errors import NonFiniteTrainingError
from smr_stability.nn import train as train_mod
from smr_stability.nn.checkpoint import load_run
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.model import SequenceModel
from smr_stability.nn.train import train


@pytest.fixture(autouse=True)
def task_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path_factory.getbasetemp() / "task-cache"))


def small(**kw):
    return TrainConfig(
        **({"task": "sines", "layer": "s4d", "epochs": 2, "small": True, "width": 8, "state": 8, "depth": 1} | kw)
    )


@pytest.mark.parametrize("layer", ["s4", "s4d", "s5", "s6", "mega", "spade"])
def test_every_layer_trains_and_saves_safetensors(layer, tmp_path):
    rows = train(small(layer=layer, epochs=1, smr=True), tmp_path, progress=False)
    assert len(rows) == 1 and np.isfinite(rows[0]["train_loss"]) and np.isfinite(rows[0]["val_loss"])
    files = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "CHECKPOINT", "model.safetensors", "best.safetensors", "state.json", "metrics.csv"} <= files
    ckpt = {p.name for p in (tmp_path / (tmp_path / "CHECKPOINT").read_text()).iterdir()}
    assert ckpt == {"model.safetensors", "optimizer.safetensors", "best.safetensors", "state.json", "metrics.csv"}
    assert not any(p.name.endswith((".pt", ".pth", ".pkl", ".pickle")) for p in tmp_path.rglob("*"))
    assert all(torch.isfinite(v).all() for v in load_file(str(tmp_path / "model.safetensors")).values())


def test_training_is_deterministic(tmp_path):
    train(small(), tmp_path / "a", progress=False)
    train(small(), tmp_path / "b", progress=False)
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_interruption_loses_nothing(tmp_path, interrupt_training):
    full = train(small(epochs=3), tmp_path / "full", progress=False)
    interrupt_training()
    with pytest.raises(KeyboardInterrupt):
        train(small(epochs=3), tmp_path / "resumed", progress=False)
    assert json.loads((tmp_path / "resumed" / "state.json").read_text())["epoch"] == 1
    interrupt_training.undo()
    resumed = train(small(epochs=3), tmp_path / "resumed", progress=False)
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_loss"] for r in resumed] == pytest.approx([r["val_loss"] for r in full], rel=0, abs=0)


def test_non_finite_loss_stops_cleanly_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    saved = {}
    original_save, original_forward = train_mod.save_checkpoint, SequenceModel.forward

    def spy(run, *args):
        original_save(run, *args)
        saved["model"] = (run / "model.safetensors").read_bytes()

    calls = {"n": 0}

    def poisoned(self, u, t=None):  # calls: epoch-1 train, epoch-1 validation, epoch-2 train -> NaN
        calls["n"] += 1
        y = original_forward(self, u, t)
        return y * float("nan") if calls["n"] == 3 else y

    monkeypatch.setattr(train_mod, "save_checkpoint", spy)
    monkeypatch.setattr(SequenceModel, "forward", poisoned)
    with pytest.raises(NonFiniteTrainingError, match="non-finite loss at step 1"):
        train(small(epochs=2), tmp_path, progress=False)
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    assert (tmp_path / "model.safetensors").read_bytes() == saved["model"]  # the epoch-1 checkpoint, intact
    assert isinstance(NonFiniteTrainingError("x"), ValueError)


def test_config_rejects_unknown_keys_and_foreign_runs(tmp_path):
    with pytest.raises(errors.ParameterError, match="unknown config key"):
        TrainConfig.from_dict({"task": "sines", "layer": "s4d", "learning_rate": 1.0})
    with pytest.raises(errors.ParameterError, match="layer"):
        TrainConfig(layer="lstm")
    train(small(epochs=1), tmp_path, progress=False)
    with pytest.raises(errors.ParameterError, match="another config"):
        train(small(epochs=1, seed=5), tmp_path, progress=False)


def test_trained_model_runs_in_the_divergence_engine_and_the_lyapunov_tools(tmp_path):
    train(small(smr=True), tmp_path, progress=False)
    config, model = load_run(tmp_path)
    channels = model.layers[0].export()
    assert len(channels) == config.width and all(ch.smr is not None for ch in channels)
    ch = channels[0]
    res = smr.divergence_experiment(
        ch.system,
        signals.SumOfSines(B=1, seed=0),
        sampling.jitter(64, ch.dt, 0.2, draws=4, seed=1),
        ch.dt,
        method=ch.method,
        smr=ch.smr,
    )
    assert np.all(np.isfinite(res.metrics["rel_state_error"])) and np.all(
        res.bounds["observed_sup"] <= res.bounds["iss_bound"]
    )
    P = smr.lyapunov_matrix(ch.Ab)
    assert (
        np.all(np.linalg.eigvalsh(P) > 0)
        and smr.gamma_star(ch.Ab, ch.Bb[:, None] if ch.Bb.ndim == 1 else ch.Bb, 0.5) > 0
    )


def test_cli_train_and_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "sines",
                "--layer",
                "s4d",
                "--epochs",
                "1",
                "--small",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert main(["evaluate", str(out), "--schedules", "uniform", "jitter0.2"]) == 0
    text = capsys.readouterr().out
    assert "jitter0.2" in text and (out / "evaluation.csv").exists()


def test_v4_on_a_trained_model_matches_a_brute_force_channel(tmp_path, capsys):
    """V4 measures on a trained model; one channel recomputed with plain loops, scipy's P and
    the gamma* formula of docs/theory.md §4."""
    import scipy.linalg

    from smr_stability.nn.sines import sines_eval_set
    from smr_stability.nn.tasks import load_task
    from smr_stability.nn.v4 import verify_checkpoint
    from smr_stability.theorem1 import channel_measures

    train(small(smr=True, epochs=1), tmp_path, progress=False)
    rows = verify_checkpoint(tmp_path, schedules=["jitter0.4", "rate1.25"]).rows
    assert [(r["schedule"], r["smr"]) for r in rows if r["block"] == 0] == [
        ("jitter0.4", "on"),
        ("jitter0.4", "off"),
        ("rate1.25", "on"),
        ("rate1.25", "off"),
    ]
    for r in rows:
        assert 0 <= r["hypothesis_fraction"] <= 1 and r["observed_sup"] <= r["iss_bound"] and np.isfinite(r["max_L_e"])

    config, model = load_run(tmp_path)
    data = load_task(config)
    x_nom = model.layer_inputs(data.test.u)[..., :1]
    x_per = model.layer_inputs(sines_eval_set(data.config, "rate1.25").u)[..., :1]
    ch = model.layers[0].export()[0]
    got = channel_measures(ch.Ab, ch.Bb, x_nom, x_per, ch.smr, 0.5)
    A = np.diag(ch.Ab) if ch.Ab.ndim == 1 else ch.Ab
    Bb = ch.Bb.reshape(-1, 1)
    P = scipy.linalg.solve_discrete_lyapunov(A.conj().T, np.eye(len(A)))
    a, b = np.linalg.norm(A.conj().T @ P @ Bb, 2), np.linalg.norm(Bb.conj().T @ P @ Bb, 2)
    g = (-a + np.sqrt(a * a + 0.5 * b)) / b
    holds, Lmax = [], 0.0
    for n in range(len(x_nom)):
        w = smr.smr_gate(x_per[n], *ch.smr) - smr.smr_gate(x_nom[n], *ch.smr)  # (L, 1)
        e = np.zeros(len(A), dtype=complex)
        for k in range(w.shape[0]):
            if k >= 1:
                holds.append(abs(w[k, 0]) <= g * np.linalg.norm(e))
            e = A @ e + Bb[:, 0] * w[k, 0]
            Lmax = max(Lmax, float(np.real(e.conj() @ P @ e)))
    assert got["holds"].mean() == pytest.approx(np.mean(holds), abs=1e-12)
    assert got["max_L_e"] == pytest.approx(Lmax, rel=1e-9)
    assert main(["verify-theorem1", "--checkpoint", str(tmp_path)]) == 0
    assert "V4" in capsys.readouterr().out


def test_v4_report_table_json_and_plot(tmp_path):
    from smr_stability.nn.v4 import V4_KEYS, V4Report, verify_checkpoint

    train(small(smr=True, epochs=1), tmp_path / "run", progress=False)
    report = verify_checkpoint(tmp_path / "run", schedules=["uniform", "jitter0.2"], sigma=0.25)
    assert isinstance(report, V4Report) and report.sigma == 0.25
    assert [(r["schedule"], r["smr"]) for r in report.rows if r["block"] == 0] == [
        ("jitter0.2", "on"),
        ("jitter0.2", "off"),
    ]  # uniform is the grid
    lines = report.table().splitlines()
    assert "sigma = 0.25" in lines[0] and all(k in lines[1] for k in V4_KEYS) and len(lines) == 3 + len(report.rows)
    report.to_json(tmp_path / "v4.json")
    doc = json.loads((tmp_path / "v4.json").read_text())
    assert doc == {"run": str(tmp_path / "run"), "sigma": 0.25, "rows": report.rows}
    axes = report.plot()
    heights = [p.get_height() for p in axes[0].patches]
    assert sorted(heights) == sorted(r["hypothesis_fraction"] for r in report.rows)
    with pytest.raises(errors.ParameterError, match="unknown schedule"):
        verify_checkpoint(tmp_path / "run", schedules=["jitter9"])


def test_v4_refuses_a_task_without_a_nominal_grid(tmp_path):
    from smr_stability.nn.v4 import verify_checkpoint

    train(small(task="pendulum", epochs=1), tmp_path, progress=False)
    with pytest.raises(errors.ParameterError, match="nominal grid"):
        verify_checkpoint(tmp_path)
    with pytest.raises(errors.ParameterError, match="sigma"):
        verify_checkpoint(tmp_path, sigma=1.5)
    with pytest.raises(errors.InputTypeError, match="sigma"):
        verify_checkpoint(tmp_path, sigma="half")


def test_true_gaps_are_measured_in_grid_steps(tmp_path):
    """With use_timestamps, the gaps are divided by the task's grid step (saved with the weights):
    on the grid itself the true-gap S5 computes exactly what the fixed-step S5 computes."""
    cfg = dict(task="pendulum", layer="s5", width=8, state=8, depth=1, epochs=1, small=True)
    train(TrainConfig(**cfg, use_timestamps=True), tmp_path / "gaps", progress=False)
    config, gaps = load_run(tmp_path / "gaps")
    from smr_stability.nn.pendulum import PendulumConfig

    dt = PendulumConfig.small().dt
    assert float(gaps.time_unit) == pytest.approx(dt)
    fixed = SequenceModel(TrainConfig(**cfg), 576, 2)
    fixed.load_state_dict({k: v for k, v in gaps.state_dict().items() if k != "time_unit"})
    u = torch.rand(3, 20, 576)
    t = dt * torch.arange(20.0).expand(3, 20)
    with torch.no_grad():
        torch.testing.assert_close(gaps(u, t), fixed(u, t), rtol=1e-5, atol=1e-6)
        t2 = t.clone()
        t2[:, 10:] += dt  # one gap of two grid steps: a different output from there on
        diff = (gaps(u, t2) - gaps(u, t)).abs().amax(dim=(0, 2))
    assert torch.all(diff[:10] == 0) and torch.all(diff[10:] > 0)


def test_load_run_names_a_missing_run(tmp_path):
    with pytest.raises(errors.ParameterError, match="Train it first"):
        load_run(tmp_path / "nothing")


def test_layer_inputs_do_not_depend_on_the_memory_layout(tmp_path):
    """The same inputs in C and Fortran order give bit-identical layer inputs (torch rounds a
    strided input differently on some CPUs): a zero perturbation must give exactly zero error."""
    train(small(smr=True, epochs=1), tmp_path, progress=False)
    _, model = load_run(tmp_path)
    u = np.random.default_rng(0).standard_normal((8, 64, 1)).astype(np.float32)
    x = model.layer_inputs(u)
    assert x.dtype == np.float64 and x.shape == (8, 64, model.encoder.out_features)
    assert np.array_equal(model.layer_inputs(np.asfortranarray(u)), x)
    assert np.array_equal(model.layer_inputs(u[:, ::-1][:, ::-1]), x)
    reference = model.norms[0](model.encoder(torch.from_numpy(u))).detach().double().numpy()
    assert np.array_equal(x, reference)


def test_v4_measures_every_block_and_refuses_mimo_layers(tmp_path):
    """A two-block model: a row per block, schedule and gate; block 1's channels measured on the
    inputs the model itself feeds them (checked against a forward hook); S5 (MIMO) is refused."""
    from smr_stability.nn.tasks import load_task
    from smr_stability.nn.v4 import verify_checkpoint

    train(small(smr=True, epochs=1, depth=2, activation="gelu"), tmp_path / "deep", progress=False)
    report = verify_checkpoint(tmp_path / "deep", schedules=["jitter0.4"])
    assert [(r["block"], r["schedule"], r["smr"]) for r in report.rows] == [
        (0, "jitter0.4", "on"),
        (0, "jitter0.4", "off"),
        (1, "jitter0.4", "on"),
        (1, "jitter0.4", "off"),
    ]
    config, model = load_run(tmp_path / "deep")
    u = load_task(config).test.u
    seen = {}

    def keep(module, args):  # returns None: the layer's input is left as it is
        seen["x"] = args[0].detach().double().numpy()

    hook = model.layers[1].register_forward_pre_hook(keep)
    model.eval()
    with torch.no_grad():
        model(torch.from_numpy(np.array(u)))
    hook.remove()
    assert np.array_equal(model.layer_inputs(u, block=1), seen["x"])
    assert report.table().splitlines()[1].split()[0] == "block"
    train(small(layer="s5", epochs=1), tmp_path / "s5", progress=False)
    with pytest.raises(errors.ParameterError, match="SISO"):
        verify_checkpoint(tmp_path / "s5")


def test_analysis_pendulum_table_reads_stored_runs(tmp_path, monkeypatch, capsys):
    """analysis/pendulum_table.py on a folder with two finished tiny pendulum runs (two seeds) and an
    unfinished one: one row, mean of the two test MSEs (recomputed here with split_mse)."""
    import importlib.util
    from pathlib import Path

    from smr_stability.nn.evaluate import split_mse
    from smr_stability.nn.tasks import load_task

    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path / "cache"))
    runs = tmp_path / "runs"
    mses = []
    for seed in (0, 1):
        config = small(task="pendulum", epochs=1, seed=seed)
        train(config, runs / f"r{seed}", progress=False)
        _, model = load_run(runs / f"r{seed}", weights="best")
        mses.append(1e3 * split_mse(model, load_task(config).test, 100))
    train(small(task="pendulum", epochs=1, seed=2), runs / "r2", progress=False)
    (runs / "r2" / "metrics.csv").write_text("epoch,step,train_loss,val_loss,lr,seconds\n")  # unfinished
    path = Path(__file__).resolve().parents[1] / "analysis" / "pendulum_table.py"
    spec = importlib.util.spec_from_file_location("pendulum_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--runs", str(runs), "--json", str(tmp_path / "t.json")])
    table = json.loads((tmp_path / "t.json").read_text())["ours"]
    assert len(table) == 1 and table[0]["seeds"] == [0, 1]
    assert table[0]["mean"] == pytest.approx(np.mean(mses), rel=1e-9)
    assert "s4d, fixed step, no SMR, linear encoder" in capsys.readouterr().out


def test_cli_train_with_the_recipe_and_the_step_choice(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--task", "sines", "--layer", "s5", "--recipe", "--epochs", "2", "--small", "--no-progress"]
    assert main([*args, "--step", "layer", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["depth"], config["width"], config["activation"], config["step_per_state"]) == (4, 30, "glu2", False)
    assert (out / "best.safetensors").is_file() and (out / "evaluation.csv").is_file()
    assert main(["train", "--task", "sines", "--layer", "s4d", "--step", "state", "--out", str(tmp_path / "x")]) == 2


def test_analysis_sines_table_trains_stores_and_measures(tmp_path, monkeypatch, capsys):
    """analysis/sines_table.py --small --train: the runs land in --runs, and the NMSE it prints is
    the test MSE (recomputed here) over the test targets' variance."""
    import importlib.util
    from pathlib import Path

    from smr_stability.experiments.sweeps import stored_run_dir
    from smr_stability.nn.config import TrainConfig
    from smr_stability.nn.evaluate import split_mse
    from smr_stability.nn.tasks import load_task

    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path / "cache"))
    path = Path(__file__).resolve().parents[1] / "analysis" / "sines_table.py"
    spec = importlib.util.spec_from_file_location("sines_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    runs = tmp_path / "runs"
    module.main(["--runs", str(runs), "--layers", "s4d", "--small", "--train", "--json", str(tmp_path / "t.json")])
    config = TrainConfig.recipe("sines", layer="s4d", small=True, epochs=2)
    stored = stored_run_dir(config, runs)
    assert (stored / "best.safetensors").is_file()
    _, model = load_run(stored, weights="best")
    test = load_task(config).test
    table = json.loads((tmp_path / "t.json").read_text())
    want = split_mse(model, test, 100) / float(test.y.astype(np.float64).var())
    assert table["layers"]["s4d"]["nmse"] == [pytest.approx(want, rel=1e-9)]
    y_train, y_test = (s.y.astype(np.float64) for s in (load_task(config).train, test))
    shift = (y_test.mean() - y_train.mean()) ** 2 / y_test.var()  # E(y - m)^2 = var + (mean - m)^2
    assert table["mean_predictors"]["global_mean"] == pytest.approx(1.0 + shift, rel=1e-9)
    assert "mean predictors" in capsys.readouterr().out
