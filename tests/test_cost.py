"""Figure 10 (training cost): the data it stores, and that the timed comparisons are fair.

No assertion here is on a time: machines are noisy. The tests check that every measurement is
stored and consistent, that the two sides of each comparison compute the same model except for
what is compared (the SMR gate; conv vs scan), and that the benchmark runs.
"""

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from smr_stability.errors import ParameterError
from smr_stability.experiments.cost import build_step, measure, step_time, time_interleaved, training_cost
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.model import LAYERS, SequenceModel
from smr_stability.nn.s5 import S5

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cost_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cost")
    paths = training_cost(out, quick=True)
    return out, paths


def test_writes_json_csv_png_pdf(cost_dir):
    out, paths = cost_dir
    names = {Path(p).name for p in paths}
    assert names == {"training_cost.json", "training_cost.csv", "training_cost.png", "training_cost.pdf"}
    for ext in ("png", "pdf"):
        assert (out / f"training_cost.{ext}").stat().st_size > 1000


def test_every_layer_timed_with_and_without_smr(cost_dir):
    out, _ = cost_dir
    data = json.loads((out / "training_cost.json").read_text())
    assert set(data["layers"]) == set(LAYERS)
    for _name, v in data["layers"].items():
        for side in ("without", "with"):
            t = v[side]
            assert all(math.isfinite(x) and x > 0 for x in t["times"] + [t["median"], t["min"], t["max"]])
            assert t["min"] <= t["median"] <= t["max"]
            assert len(t["times"]) == data["sizes"]["repeats"]
        assert v["ratio"] == pytest.approx(v["with"]["median"] / v["without"]["median"], rel=1e-12)
    assert data["torch"] == torch.__version__ and data["threads"] >= 1


def test_s5_modes_stored_with_ratios(cost_dir):
    out, _ = cost_dir
    data = json.loads((out / "training_cost.json").read_text())
    seen = {(r["L"], r["smr"]) for r in data["s5_modes"]}
    assert seen == {(L, smr) for L in data["sizes"]["scan_L"] for smr in (False, True)}
    for r in data["s5_modes"]:
        for mode in ("conv", "scan"):
            assert all(math.isfinite(x) and x > 0 for x in r[mode]["times"])
        assert r["ratio"] == pytest.approx(r["scan"]["median"] / r["conv"]["median"], rel=1e-12)


def test_csv_has_one_row_per_measurement_matching_json(cost_dir):
    out, _ = cost_dir
    data = json.loads((out / "training_cost.json").read_text())
    with open(out / "training_cost.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(data["layers"]) + 2 * len(data["s5_modes"])
    for r in rows:
        if r["panel"] == "A":
            side = "with" if r["smr"] == "True" else "without"
            assert float(r["median_s"]) == pytest.approx(data["layers"][r["layer"]][side]["median"])


@pytest.mark.parametrize("layer", list(LAYERS))
def test_smr_model_differs_only_by_the_gate(layer):
    """The timed pair has the same parameters (names and shapes) plus the gate's m (H, tau), b (H,)."""
    H, N, tau = 8, 8, 4
    without, _ = build_step(layer, False, B=1, L=8, H=H, N=N, tau=tau)
    with_, _ = build_step(layer, True, B=1, L=8, H=H, N=N, tau=tau)
    a = {k: tuple(p.shape) for k, p in without.named_parameters()}
    b = {k: tuple(p.shape) for k, p in with_.named_parameters()}
    extra = {k: b[k] for k in set(b) - set(a)}
    assert set(a) <= set(b)
    assert all(a[k] == b[k] for k in a)
    assert extra == {"layers.0.gate.m": (H, tau), "layers.0.gate.b": (H,)}
    n_a = sum(p.numel() for p in without.parameters())
    n_b = sum(p.numel() for p in with_.parameters())
    assert n_b - n_a == H * tau + H
    assert all(p.dtype == torch.float32 for p in with_.parameters())


@pytest.mark.parametrize("smr", [False, True])
def test_s5_scan_with_unit_gaps_equals_convolution(smr):
    """S5 scales the gaps by its learned step, so ``dt = 1`` everywhere is the convolution's step:
    the variable-step scan and the FFT convolution compute the same output (float64)."""
    torch.manual_seed(0)
    layer = S5(6, N=8, smr=smr).double()
    u = torch.randn(3, 50, 6, dtype=torch.float64)
    y_conv = layer(u)
    y_scan = layer(u, torch.ones(3, 50, dtype=torch.float64))
    assert torch.allclose(y_scan, y_conv, rtol=1e-9, atol=1e-10)


def test_sequence_model_timestamps_on_a_unit_grid_equal_convolution():
    """Through the model the benchmark times: timestamps 0, 1, 2, ... give gaps of 1 (the first
    gap is extrapolated), so use_timestamps=True matches the convolution mode (float32)."""
    torch.manual_seed(0)
    conv = SequenceModel(TrainConfig(layer="s5", width=8, state=8, depth=1), 1, 1)
    scan = SequenceModel(TrainConfig(layer="s5", width=8, state=8, depth=1, use_timestamps=True), 1, 1)
    scan.load_state_dict(conv.state_dict() | {"time_unit": scan.time_unit})  # time_unit 1: gaps in grid steps
    u = torch.randn(2, 64, 1)
    t = torch.arange(64, dtype=torch.float32).expand(2, 64)
    assert torch.allclose(scan(u, t), conv(u, t), rtol=1e-5, atol=1e-5)


def test_time_interleaved_counts_and_budget():
    calls = []
    res = time_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], repeats=4, warmup=2)
    assert calls == ["a", "a", "b", "b"] + ["a", "b"] * 4
    assert [len(r.times) for r in res] == [4, 4]
    res = time_interleaved([lambda: None], repeats=10, warmup=0, budget=0.0, min_repeats=3)
    assert len(res[0].times) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: step_time("lstm", repeats=1),
        lambda: measure(quick=True, layers=["s4d", "S5"]),
        lambda: step_time("s4d", repeats=0),
        lambda: build_step("s4d", False, B=0, L=8, H=4, N=4),
    ],
)
def test_bad_arguments_raise_parameter_error(call):
    with pytest.raises(ParameterError, match="found"):
        call()


def test_benchmark_quick_prints_ratios():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_training.py"), "--quick", "--layers", "s4d", "mega"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert re.search(r"s4d .*ratio\s+\d+\.\d+x", r.stdout)
    assert re.search(r"mega .*ratio\s+\d+\.\d+x", r.stdout)
    assert re.search(r"ratio scan/conv\s+\d+\.\d+x", r.stdout)
    assert "SMR overhead (with/without)" in r.stdout


def test_methods_benchmark_quick_prints_ratios():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_methods.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = re.findall(r"^\| (.+?) \| (\d+\.\d+) \| (\d+\.\d+)x \|$", r.stdout, re.M)
    assert [name for name, _, _ in rows][:2] == ["plain (grid)", "SMR tau=2"]
    assert len(rows) == 9
    assert float(rows[0][2]) == 1.0  # the plain model is the baseline
