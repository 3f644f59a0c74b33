"""Figures 5-8 (trained-model studies): their data files, checked against facts that are
certain and against independent code paths (evaluate_run, a hand-made schedule)."""

import json

import numpy as np
import pytest

from smr_stability.errors import NonFiniteError, ParameterError, ShapeError
from smr_stability.experiments.studies import NMSE_BREAK, breaking_point, sines_measures
from smr_stability.experiments.sweeps import run_dir
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.evaluate import evaluate_run


def _load(folder, name):
    return json.loads((folder / f"{name}.json").read_text())


# ---------------------------------------------------------------- breaking_point


def test_breaking_point_interpolates_linearly():
    v = np.linspace(0, 1, 11)
    assert breaking_point(v, 0.3 * v, threshold=0.12) == pytest.approx(0.4)
    assert breaking_point(v, 0.05 + v) == pytest.approx(NMSE_BREAK - 0.05)


def test_breaking_point_edges():
    assert breaking_point([0, 1, 2], [0.01, 0.02, 0.03]) is None  # tolerated throughout
    assert breaking_point([0, 1, 2], [0.5, 0.6, 0.7]) == 0.0  # broken on the grid already
    assert breaking_point([0, 1, 2], [0.0, 0.1, 0.2]) == 1.0  # reaching the threshold counts


@pytest.mark.parametrize(
    "values, nmse, error",
    [
        ([0, 1, 2], [0.1, 0.2], ShapeError),
        ([], [], ShapeError),
        ([0, 2, 1], [0.0, 0.1, 0.2], ParameterError),
        ([0, 1, np.nan], [0.0, 0.1, 0.2], ParameterError),
        ([0, 1, 2], [0.0, np.nan, 0.2], NonFiniteError),
    ],
)
def test_breaking_point_rejects_bad_input(values, nmse, error):
    with pytest.raises(error):
        breaking_point(values, nmse)


def test_sines_measures_rejects_an_unknown_schedule_kind():
    with pytest.raises(ParameterError, match="'jitter', 'rate', 'irregular', 'drops'; found 'warp'"):
        sines_measures({"task": "sines", "small": True, "epochs": 1}, [["warp", 0.1]])
    with pytest.raises(ParameterError, match="states=False"):
        sines_measures({"task": "sines", "small": True, "epochs": 1}, [["rate", 1.5]], rescale=True)


# ---------------------------------------------------------------- figure 5


def test_pendulum_mse_data(quick_figures, quick_cache, monkeypatch):
    data = _load(quick_figures, "pendulum_mse")
    assert set(data["models"]) == {"S4D", "S5 (fixed step)", "S6", "S5 (true gaps)"}
    for _name, per in data["models"].items():
        for label in ("without_smr", "with_smr"):
            vals = per[label]["values"]
            assert len(vals) == len(data["seeds"]) and all(np.isfinite(vals)) and min(vals) > 0
            assert per[label]["mean"] == pytest.approx(np.mean(vals))
        assert per["ratio_with_over_without"] == pytest.approx(per["with_smr"]["mean"] / per["without_smr"]["mean"])
    # independent path: evaluate_run on the same trained run gives the same test MSE
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(quick_cache))
    cfg = dict(data["configs"]["S5 (true gaps)"], seed=data["seeds"][1])
    rows = evaluate_run(run_dir(TrainConfig.from_dict(cfg)))
    assert rows[0]["mse"] == pytest.approx(data["models"]["S5 (true gaps)"]["with_smr"]["values"][1], rel=1e-5)


# ---------------------------------------------------------------- figure 6


def test_sensitivity_data_and_certainties(quick_figures):
    data = _load(quick_figures, "sensitivity")
    jit, rates, seeds = data["jitter"], data["rate"], data["seeds"]
    i0, i1 = jit.index(0.0), rates.index(1.0)
    for label in ("without_smr", "with_smr"):
        per = data["models"][label]
        for kind, n in (("jitter", len(jit)), ("rate", len(rates))):
            for m in ("nmse", "rel_state_error", "hypothesis_fraction"):
                arr = np.array(per[kind][m])
                assert arr.shape == (len(seeds), n) and np.all(np.isfinite(arr))
        # jitter 0 and rate 1 are the training grid: no error at all, the hypothesis holds at every step
        assert np.all(np.array(per["jitter"]["rel_state_error"])[:, i0] == 0)
        assert np.all(np.array(per["rate"]["rel_state_error"])[:, i1] == 0)
        assert np.all(np.array(per["jitter"]["hypothesis_fraction"])[:, i0] == 1)
        assert np.array(per["jitter"]["nmse"])[:, i0] == pytest.approx(np.array(per["rate"]["nmse"])[:, i1], rel=1e-12)
        # the stored breaking points are those of the stored errors
        for s, bp in enumerate(per["breaking_point"]["jitter"]):
            assert bp == breaking_point(jit, per["jitter"]["nmse"][s])


def test_sines_measures_on_the_grid_match_evaluate_run(quick_figures, quick_cache, monkeypatch):
    """NMSE on the grid = evaluate_run's uniform MSE / Var(y_test): two code paths, one number."""
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(quick_cache))
    config = _load(quick_figures, "sensitivity")["config"]
    (grid,) = sines_measures(config, [["jitter", 0.0]])
    rows = evaluate_run(run_dir(TrainConfig.from_dict(config)), schedules=["uniform"])
    from smr_stability.nn.tasks import load_task

    y = load_task(TrainConfig.from_dict(config)).test.y.astype(float)
    assert grid["mse"] == pytest.approx(rows[0]["mse"], rel=1e-5)
    assert grid["nmse"] == pytest.approx(rows[0]["mse"] / np.var(y), rel=1e-5)


# ---------------------------------------------------------------- figures 7 and 8


@pytest.mark.parametrize("name", ["tau_sweep", "state_size_sweep"])
def test_sweep_data(quick_figures, name):
    data = _load(quick_figures, name)
    seeds = len(data["seeds"])
    for _label, series in data["series"].items():
        for _x, per in series.items():
            for m, st in per.items():
                assert len(st["values"]) == seeds and np.all(np.isfinite(st["values"]))
                assert st["mean"] == pytest.approx(np.mean(st["values"]))
                assert st["median"] == pytest.approx(np.median(st["values"]))
                if m.startswith("hypothesis"):
                    assert all(0 <= v <= 1 for v in st["values"])
                elif m.startswith("nmse_excess"):  # may be negative; it is the difference of the stored two
                    diff = np.subtract(per["nmse_jitter0.4"]["values"], per["nmse_grid"]["values"])
                    assert st["values"] == pytest.approx(diff, rel=1e-12, abs=1e-15)
                else:
                    assert all(v >= 0 for v in st["values"])
    assert [str(x) for x in data["x"]] == list(data["series"]["with_smr"])


def test_state_size_ratios_are_the_stored_means(quick_figures):
    data = _load(quick_figures, "state_size_sweep")
    s = data["series"]
    for key, stat in (("ratio_with_over_without", "median"), ("ratio_of_means_with_over_without", "mean")):
        for N, per in data[key].items():
            for m, r in per.items():
                assert r == pytest.approx(s["with_smr"][N][m][stat] / s["without_smr"][N][m][stat])


def test_the_sweeps_share_trained_models(quick_figures):
    """tau = 4 of the tau sweep, N = 16 of the N sweep and the sensitivity models are one config,
    evaluated in different cells: the same grid NMSE (recomputed, not copied)."""
    sens = _load(quick_figures, "sensitivity")
    i0 = sens["jitter"].index(0.0)
    tau = _load(quick_figures, "tau_sweep")["series"]["with_smr"]["4"]["nmse_grid"]["values"]
    nsw = _load(quick_figures, "state_size_sweep")["series"]["with_smr"]["16"]["nmse_grid"]["values"]
    direct = [row[i0] for row in sens["models"]["with_smr"]["jitter"]["nmse"]]
    assert tau == pytest.approx(direct, rel=1e-12) and nsw == pytest.approx(direct, rel=1e-12)
