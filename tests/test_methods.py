"""The methods comparison (figures 11-13): the best-SMR fit against channel_measures, the data of
the quick figures against their own definitions (certainties at zero perturbation, medians and
paired ratios recomputed from the stored seeds)."""

import json

import numpy as np
import pytest

import smr_stability as smr
from smr_stability import errors
from smr_stability.experiments.methods import METHODS, fit_best_gates, method_config, perturbations
from smr_stability.experiments.studies import perturbed_sines
from smr_stability.nn.base import ExportedChannel
from smr_stability.nn.sines import SinesConfig, sines_signal
from smr_stability.theorem1 import channel_measures

ZERO = {"jitter": 0.0, "rate": 1.0, "irregular": 0.0, "drops": 0.0}


def _channels(H, N, seed):
    out = []
    for h in range(H):
        sys = smr.s4d_lin(N, seed=seed + h)
        Ab, Bb = smr.discretize(sys.A, sys.B, 0.1)
        out.append(ExportedChannel(sys, 0.1, "zoh", Ab, Bb))
    return out


def _objective(channels, x_nom, x_per, gates):
    """The mean final relative state error by channel_measures (the sequential scan)."""
    return np.mean(
        [
            channel_measures(ch.Ab, ch.Bb, x_nom[..., h : h + 1], x_per[..., h : h + 1], g, 0.5, iss=False)[
                "final_rel_error"
            ].mean()
            for h, (ch, g) in enumerate(zip(channels, gates))
        ]
    )


def test_best_gates_lower_their_objective_as_channel_measures_computes_it():
    rng = np.random.default_rng(0)
    H, N, n, L = 3, 4, 6, 40
    channels = _channels(H, N, 1)
    x_nom = rng.standard_normal((n, L, H)).cumsum(axis=1) * 0.3
    x_per = x_nom + 0.2 * rng.standard_normal((n, L, H))
    gates, (start, end) = fit_best_gates(channels, x_nom, x_per, tau=3)
    assert [g[0].shape for g in gates] == [(1, 3)] * H and [g[1].shape for g in gates] == [(1,)] * H
    no_gate = _objective(channels, x_nom, x_per, [None] * H)
    assert start == pytest.approx(no_gate, rel=1e-10)  # the gate-free start: a constant gate changes no ratio
    assert end == pytest.approx(_objective(channels, x_nom, x_per, gates), rel=1e-10)
    assert end < 0.97 * start
    for _ in range(3):  # no other gate of the same length does better on the same data
        other = [(rng.normal(0, 0.5, (1, 3)), rng.normal(0, 0.5, (1,))) for _h in range(H)]
        assert end <= _objective(channels, x_nom, x_per, other)


def test_best_gates_refuse_dense_channels():
    sys = smr.hippo_legs(3)
    Ab, Bb = smr.discretize(sys.A, sys.B, 0.1)
    with pytest.raises(errors.ParameterError, match="diagonal"):
        fit_best_gates([ExportedChannel(sys, 0.1, "zoh", Ab, Bb)], np.zeros((1, 5, 1)), np.zeros((1, 5, 1)))


@pytest.mark.parametrize("kind", list(ZERO))
def test_zero_perturbation_is_the_grid_data(kind, tmp_path):
    cfg = SinesConfig.small()
    rows = cfg.n_train + cfg.n_val + np.arange(cfg.n_test)
    u, y, t = perturbed_sines(cfg, sines_signal(cfg), rows, kind, ZERO[kind], cfg.seed)
    from smr_stability.nn.sines import make_sines

    data = make_sines(cfg, cache_dir=tmp_path)
    assert np.array_equal(t, data.test.t)
    assert np.array_equal(u.astype(np.float32), data.test.u) and np.array_equal(y.astype(np.float32), data.test.y)


def test_method_configs():
    assert method_config("rescale", 1) == method_config("plain", 1) == method_config("best_smr", 1)
    assert method_config("true_gaps", 0)["layer"] == "s5" and method_config("true_gaps", 0)["use_timestamps"]
    assert method_config("gap_channel", 2)["gap_input"] and method_config("gap_channel", 2)["augment"]
    with pytest.raises(errors.ParameterError, match="method"):
        method_config("magic", 0)


def _frontier(quick_figures):
    return json.loads((quick_figures / "robustness_frontier.json").read_text())


def test_frontier_data_shapes_and_certainties(quick_figures):
    data = _frontier(quick_figures)
    kinds = perturbations(quick=True)
    assert set(data["measures"]) == set(METHODS) and data["perturbations"] == kinds
    for m, per in data["measures"].items():
        seeds = len(data["seeds"][m])
        for kind, values in kinds.items():
            assert set(per[kind]) == {str(v) for v in values}
            zero = per[kind][str(ZERO[kind])]
            if METHODS[m][2] != "best_smr":
                assert len(zero["nmse"]) == seeds
                grid = per["jitter"]["0.0"]["nmse"]
                assert zero["nmse"] == grid  # the same times, so exactly the grid numbers
            if "rel_state_error" in zero and METHODS[m][2] == "model":  # w = 0: no error, and |w| <= gamma |e| holds
                assert zero["rel_state_error"] == [0.0] * seeds and zero["hypothesis_fraction"] == [1.0] * seeds
        if m == "rescale":  # rescaling changes the model only on rate changes
            for kind, values in kinds.items():
                for v in values:
                    if kind != "rate" or v == 1.0:
                        assert per[kind][str(v)]["nmse"] == data["measures"]["plain"][kind][str(v)]["nmse"]


def test_table_medians_and_paired_ratios_equal_the_stored_seeds(quick_figures):
    per = _frontier(quick_figures)["measures"]
    table = json.loads((quick_figures / "methods_table.json").read_text())
    for i, col in enumerate(table["columns"]):
        kind, value = col.split()
        key = next(k for k in per["plain"][kind] if float(k) == float(value))
        for m in METHODS:
            nmse = [x for x in per[m][kind][key].get("nmse", []) if x is not None]
            assert table["nmse_median"][m][i] == (float(np.median(nmse)) if nmse else None)
        paired = table["paired"]["plain"]["smr_tau4"][col]["nmse"]
        ratio = np.exp(np.mean(np.log(np.array(per["smr_tau4"][kind][key]["nmse"]) / per["plain"][kind][key]["nmse"])))
        assert paired["ratio"] == pytest.approx(ratio, rel=1e-12)


def test_mechanism_data_is_consistent(quick_figures):
    per = _frontier(quick_figures)["measures"]
    mech = json.loads((quick_figures / "smr_mechanism.json").read_text())
    assert "best_smr" in mech["methods"] and "smr_tau4" in mech["methods"] and "plain" not in mech["methods"]
    for kind, values in perturbations(quick=True).items():
        for v in values:
            slot = per["smr_tau4"][kind][str(v)]
            assert len(slot["rel_state_error"]) == len(slot["share_removed"]) == 2  # one per seed
            for g, c in zip(slot["gate_variation"], slot["gate_w_correlation"]):
                assert g >= 0 and (c is None or -1 <= c <= 1)
            for share, w, wo in zip(
                slot["share_removed"], slot["rel_state_error"], slot["rel_state_error_without_gate"]
            ):
                assert share == pytest.approx(1 - w / wo if wo > 0 else 0.0, rel=1e-12, abs=1e-15)
            if v == ZERO[kind]:  # no perturbation: no divergence, so nothing to remove
                assert per["best_smr"][kind][str(v)]["share_removed"] == [0.0] * 2


def test_pendulum_column_equals_its_seeds(quick_figures):
    pend = json.loads((quick_figures / "methods_table.json").read_text())["pendulum"]
    assert set(pend["nmse"]) == {"plain", "smr_tau4", "true_gaps", "gap_channel"}
    for m, values in pend["nmse"].items():
        assert len(values) == len(pend["seeds"]) and all(v > 0 for v in values)
        assert pend["nmse_median"][m] == float(np.median(values))
    paired = pend["paired"]["plain"]["smr_tau4"]
    r = np.log(np.array(pend["nmse"]["smr_tau4"]) / pend["nmse"]["plain"])
    assert paired["ratio"] == pytest.approx(np.exp(r.mean()), rel=1e-12)
    expected = "within spread" if abs(r.mean()) <= r.std(ddof=1) else ("lower" if r.mean() < 0 else "higher")
    assert paired["verdict"] == expected


def test_analysis_script_prints_the_table(quick_figures, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "analysis" / "methods_table.py"
    spec = importlib.util.spec_from_file_location("methods_table_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--json", str(quick_figures / "methods_table.json"), "--ref", "smr_tau4"])
    out = capsys.readouterr().out
    table = json.loads((quick_figures / "methods_table.json").read_text())
    assert "| plain (grid) |" in out and "Paired against SMR tau=4" in out
    assert all(col in out for col in table["columns"])


def test_mechanism_measures_alone_equal_the_rows_of_sines_measures(quick_figures, quick_cache, monkeypatch):
    """mechanism_measures without ``with_gate`` measures the gated error itself: the same as the
    ``rel_state_error`` of sines_measures, and the share removed follows from it."""
    from smr_stability.experiments.methods import mechanism_measures
    from smr_stability.experiments.studies import sines_measures

    monkeypatch.setenv("SMR_STABILITY_CACHE", str(quick_cache))
    config = method_config("smr_tau4", 0, quick=True)
    schedules = [["jitter", 0.4], ["irregular", 0.5]]
    rows = sines_measures(config, schedules)
    mech = mechanism_measures(config, schedules)
    for row, m in zip(rows, mech, strict=True):
        assert m["rel_state_error"] == pytest.approx(row["rel_state_error"], rel=1e-12)
        assert m["share_removed"] == pytest.approx(1 - m["rel_state_error"] / m["rel_state_error_without_gate"])
        assert m["rel_state_error_without_gate"] > 0
