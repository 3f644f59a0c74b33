"""Figures (data checked against closed forms), the command line, and benchmark smoke runs."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import smr_stability as smr
from smr_stability.cli import main
from smr_stability.experiments.gallery import FIGURES

ROOT = Path(__file__).resolve().parents[1]


def test_every_figure_writes_png_pdf_and_data(quick_figures):
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (quick_figures / f"{name}.{ext}").stat().st_size > 1000
        assert (quick_figures / f"{name}.json").exists()


def test_eigenvalue_data_matches_the_stability_conditions(quick_figures):
    """zoh, bilinear, backward Euler keep every Hurwitz eigenvalue inside the unit circle; forward
    Euler does exactly when dt < -2 Re(lambda)/|lambda|^2 for all continuous eigenvalues."""
    with open(quick_figures / "eigenvalues.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(np.isfinite(float(r["abs"])) for r in rows)
    radius = json.loads((quick_figures / "eigenvalues.json").read_text())["spectral_radius"]
    N = json.loads((quick_figures / "eigenvalues.json").read_text())["N"]
    models = {"S4D-Lin": smr.s4d_lin(N), "S4D-Inv": smr.s4d_inv(N), "S4 (HiPPO-LegS)": smr.hippo_legs(N)}
    for model, sys_ in models.items():
        lam = sys_.eigenvalues
        for dt in (0.01, 0.1, 1.0):
            for method in ("zoh", "bilinear", "backward_diff"):
                assert radius[f"{model} | {method} | dt={dt}"] < 1
            euler_ok = np.all(dt < -2 * lam.real / np.abs(lam) ** 2)
            assert (radius[f"{model} | euler | dt={dt}"] < 1) == euler_ok


def test_stability_region_areas_match_closed_forms(quick_figures):
    data = json.loads((quick_figures / "stability_regions.json").read_text())
    m = data["methods"]
    for method in ("zoh", "bilinear"):  # exactly the open left half-plane
        assert m[method]["stable_fraction_left_half_plane"] == 1.0
        assert m[method]["stable_fraction_right_half_plane"] == 0.0
    (lo, hi, _), (ilo, ihi, _) = data["grid"]["re"], data["grid"]["im"]
    left_area = -lo * (ihi - ilo)
    # forward Euler: the disk |1 + z| < 1 of area pi, inside the left window
    assert m["euler"]["stable_fraction_left_half_plane"] == pytest.approx(np.pi / left_area, rel=0.05)
    # backward Euler: everything but the disk |1 - z| < 1 (area pi) of the right window
    right_area = hi * (ihi - ilo)
    assert m["backward_diff"]["stable_fraction_right_half_plane"] == pytest.approx(1 - np.pi / right_area, rel=0.05)


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert smr.__version__ in capsys.readouterr().out
    assert main([]) == 0
    assert "figures" in capsys.readouterr().out


def test_cli_lists_and_rejects_unknown_figures(capsys, tmp_path):
    assert main(["figures", "--list"]) == 0
    assert set(capsys.readouterr().out.split()) == set(FIGURES)
    assert main(["figures", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_cli_runs_as_a_module(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "smr_stability",
            "figures",
            "--quick",
            "--only",
            "stability_regions",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote" in out.stdout and (tmp_path / "stability_regions.png").exists()


def smoke_run(script):
    """The stdout of ``benchmarks/<script> --quick``; a failing run fails the test."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"], capture_output=True, text=True, check=True
    ).stdout


def test_benchmark_smoke_run():
    """CI only smoke-runs the benchmark on tiny sizes; the two paths must agree to rounding."""
    out = smoke_run("bench_simulation.py")
    assert out.count("speed-up") == 3
    diffs = [float(x) for x in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(diffs) == 3 and max(diffs) < 1e-10


def test_benchmark_table_smoke_run():
    """The one table of speed targets (benchmarks/bench_table.py) on tiny sizes: every target has
    its row, and wherever a row checks agreement with the peer or baseline it is at float32
    rounding (the fast paths compute the same thing). Speed ratios at tiny sizes mean nothing."""
    out = smoke_run("bench_table.py")
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    targets = [r[0].lstrip("| ") for r in rows]
    for prefix in ("1.", "2.", "3a.", "3b.", "3c.", "3d.", "4a.", "4b.", "5.", "6. SMR overhead, s6"):
        assert any(t.startswith(prefix) for t in targets), prefix
    agreements = [float(r[-1].rstrip(" |")) for r in rows if r[-1].rstrip(" |")]
    assert len(agreements) >= 6 and max(agreements) < 1e-5
    assert re.search(rf"targets met: \d+ of {len(rows)}", out)


def test_analysis_discretization_accuracy_measures_the_theory_orders(tmp_path):
    """analysis/discretization_accuracy.py runs, and its measured orders are those of docs/theory.md §1."""
    path = tmp_path / "orders.json"
    subprocess.run(
        [sys.executable, str(ROOT / "analysis" / "discretization_accuracy.py"), "--json", str(path)],
        check=True,
        capture_output=True,
    )
    res = json.loads(path.read_text())
    assert max(res["zoh"]["homogeneous"][1]) < 1e-12  # exact
    expected = {"bilinear": 2, "euler": 1, "backward_diff": 1}
    for method, order in expected.items():
        assert abs(res[method]["homogeneous"][0] - order) < 0.1
    for method in ("zoh", "bilinear", "euler", "backward_diff"):
        assert abs(res[method]["forced"][0] - 1) < 0.1


def test_divergence_benchmark_smoke_run():
    out = smoke_run("bench_divergence.py")
    assert "speed-up" in out
    diff = float(re.search(r"max relative difference ([0-9.e+-]+)", out).group(1))
    assert diff < 1e-10


def test_scan_benchmark_smoke_run():
    """The scan benchmark's four recurrences agree to float32 rounding (forward and gradients)."""
    out = smoke_run("bench_scan.py")
    diffs = [float(d) for d in re.findall(r"max rel. difference ([0-9.e+-]+)", out)]
    assert len(diffs) == 3 and max(diffs) < 1e-5


def test_nss_data_is_consistent(quick_figures):
    """s = 1 reproduces the nominal run exactly; the engine's ||e_k|| (error system) and the
    directly simulated ||x~_k|| satisfy | ||x~|| - ||x|| | <= ||e|| <= ||x~|| + ||x||."""
    with open(quick_figures / "nss.csv") as f:
        rows = list(csv.DictReader(f))
    data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    one = data["rate"] == 1.0
    assert np.all(data["state_error"][one] == 0) and np.allclose(
        data["state_norm"][one], data["nominal_state_norm"][one], rtol=1e-12
    )
    x, xt, e = data["nominal_state_norm"], data["state_norm"], data["state_error"]
    assert (
        np.all(np.isfinite(e))
        and np.all(np.abs(xt - x) <= e * (1 + 1e-9) + 1e-12)
        and np.all(e <= (xt + x) * (1 + 1e-9) + 1e-12)
    )
    final = json.loads((quick_figures / "nss.json").read_text())["final_rel_state_error"]
    assert final["1.0"] == 0 and all(
        v > 0.01 for s, v in final.items() if s != "1.0"
    )  # the drift is measured, not assumed


def test_smr_divergence_data(quick_figures):
    """Trained channels with and without their SMR kernel: absolute and relative errors side by
    side, finite, and the same ungated runs whatever the gate (the ratio is a measurement)."""
    data = json.loads((quick_figures / "smr_divergence.json").read_text())
    assert data["channels"] >= 1 and data["run_config"]["smr"] is True
    for _name, vals in data["schedules"].items():
        for m in ("state_error", "rel_state_error"):
            for label in ("without_SMR", "with_SMR"):
                assert np.isfinite(vals[f"final_{m}_{label}"]) and vals[f"mean_{m}_{label}"] > 0
            assert vals[f"ratio_mean_{m}"] == pytest.approx(
                vals[f"mean_{m}_with_SMR"] / vals[f"mean_{m}_without_SMR"], rel=1e-12
            )


def test_lyapunov_error_data_stays_in_the_proposition1_ball(quick_figures):
    """L_e = e^H P e <= lmax(P) ||e||^2 <= lmax(P) (G_inf sup ||w||)^2: a certainty, checked on the data."""
    data = json.loads((quick_figures / "lyapunov_error.json").read_text())
    with open(quick_figures / "lyapunov_error.csv") as f:
        rows = list(csv.DictReader(f))
    for label in ("without SMR", "with SMR"):
        curve = np.array([float(r[f"L_e_{label.replace(' ', '_')}"]) for r in rows])
        ball = data[label]["prop1_ball_L_units"]
        assert np.all(np.isfinite(curve)) and np.all(curve >= 0) and curve.max() <= ball
        assert ball == pytest.approx(
            data["lambda_max_P"] * (data[label]["G_inf"] * data[label]["w_sup"]) ** 2, rel=1e-9
        )
    assert 0 < data["envelope_rate"] < 1


def test_v4_figure_covers_every_block_and_stays_in_the_proposition1_ball(quick_figures):
    """V4 on the quick reference model (4 blocks, SMR): every block, every perturbed schedule, gate
    on and off; the observed sup ||e|| never exceeds Proposition 1's radius (a certainty)."""
    from smr_stability.nn.sines import SINES_SCHEDULES

    data = json.loads((quick_figures / "v4.json").read_text())
    rows = data["rows"]
    assert data["sigma"] == 0.5 and "/" not in data["run"]  # no path of the machine that built it
    assert {r["block"] for r in rows} == {0, 1, 2, 3}
    assert {r["schedule"] for r in rows} == set(SINES_SCHEDULES) - {"uniform"}
    assert {r["smr"] for r in rows} == {"on", "off"}
    for r in rows:
        assert 0.0 <= r["hypothesis_fraction"] <= 1.0
        assert r["observed_sup"] <= r["iss_bound"] * (1 + 1e-9)
