"""The Theorem 1 verifier: it passes on the theorem's hypothesis and catches violations beyond it."""

import json
import subprocess
import sys

import numpy as np
import pytest

import smr_stability as smr
from smr_stability.cli import main
from smr_stability.stability import MODELS
from smr_stability.theorem1 import RTOL, _constants, _run_discrete, verify_theorem1


@pytest.fixture(scope="module")
def quick_report():
    return verify_theorem1(300, seed=1, n_continuous=8)


def test_quick_run_finds_no_violation_and_is_not_vacuous(quick_report):
    r = quick_report
    assert r.v1_systems == 300 and r.v1_steps == 2 * 30 * 300 and r.v1_skipped_unstable > 0
    assert r.v1_violations == 0 and r.v3_violations == 0
    assert r.v1_worst_margin >= -RTOL and r.v3_worst_margin >= -RTOL
    assert 0 < r.v2_increases <= r.v2_systems
    assert r.passed and "PASSED" in r.table()


MU = 0.9 * np.exp(0.3j)


def scalar_case(mu=MU, b=0.7 + 0.2j, sigma=0.5):
    """N = P = 1, Q = 1: the decrease bound is attained along the worst direction (closed form)."""
    Bb, Q = np.array([[b]]), np.eye(1)
    A, P, lmin_Q, lmax_P, gstar = _constants(np.array([mu]), Bb, Q, sigma)
    p = 1 / (1 - abs(mu) ** 2)  # P of |mu|^2 P - P = -1
    a, bb = abs(mu) * p * abs(b), p * abs(b) ** 2
    assert P[0, 0].real == pytest.approx(p, rel=1e-13)
    assert gstar == pytest.approx((-a + np.sqrt(a * a + bb * sigma)) / bb, rel=1e-13)  # docs/theory.md §4
    return A, Bb, P, lmin_Q, lmax_P, gstar, sigma


def test_decrease_bound_is_tight_at_gamma_star():
    A, Bb, P, lmin_Q, lmax_P, gstar, sigma = scalar_case()
    rng = np.random.default_rng(0)
    _, margins, _ = _run_discrete(A, Bb, P, lmin_Q, lmax_P, gstar, sigma, np.array([1.0 + 0j]), 20, rng, True)
    decrease = margins[0::2]
    assert np.all(decrease >= -RTOL) and np.all(decrease < 1e-12)  # equality, to rounding


def test_checker_flags_disturbances_above_gamma_star():
    """The verifier can fail: at 1.01 gamma* the decrease inequality breaks at every step."""
    A, Bb, P, lmin_Q, lmax_P, gstar, sigma = scalar_case()
    rng = np.random.default_rng(0)
    _, margins, _ = _run_discrete(A, Bb, P, lmin_Q, lmax_P, 1.01 * gstar, sigma, np.array([1.0 + 0j]), 20, rng, True)
    assert np.all(margins[0::2] < -RTOL)


def test_random_disturbances_below_gamma_star_never_beat_the_worst_case():
    """Brute force over many random w with ||w|| <= gamma* ||e||: Delta L <= -(1-sigma) lmin(Q) ||e||^2."""
    rng = np.random.default_rng(3)
    for seed in range(20):
        sys = smr.random_stable(4, 2, 1, diagonal=seed % 2 == 0, complex=seed % 3 == 0, seed=seed)
        Ab, Bb = smr.discretize(sys.A, sys.B, 0.2, method="bilinear")
        A, P, lmin_Q, _, gstar = _constants(Ab, Bb, np.eye(4), 0.6)
        e = rng.standard_normal(4) + 1j * rng.standard_normal(4)
        W = rng.standard_normal((2000, 2)) + 1j * rng.standard_normal((2000, 2))
        W *= gstar * np.linalg.norm(e) * rng.uniform(size=(2000, 1)) / np.linalg.norm(W, axis=1, keepdims=True)
        E = (A @ e)[None, :] + W @ Bb.T
        dL = np.einsum("ki,ij,kj->k", E.conj(), P, E).real - np.vdot(e, P @ e).real
        assert np.all(dL <= -(1 - 0.6) * lmin_Q * np.linalg.norm(e) ** 2 * (1 - 1e-12))


def test_report_json_and_plot(quick_report, tmp_path):
    quick_report.to_json(tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["v1_violations"] == 0 and doc["v1_systems"] == quick_report.v1_systems
    ax = quick_report.plot()
    assert len(ax.lines) >= 4


def test_cli_verify_theorem1_quick(tmp_path, capsys):
    path = tmp_path / "t1.json"
    assert (
        main(
            [
                "verify-theorem1",
                "--quick",
                "--systems",
                "100",
                "--continuous",
                "4",
                "--no-progress",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "V1 implication" in out and "PASSED" in out
    assert json.loads(path.read_text())["v1_violations"] == 0


KEYS = [
    "model",
    "N",
    "dt",
    "method",
    "sigma",
    "spectral_radius",
    "error_gain",
    "gamma_star",
    "kappa_P",
    "transient_bound",
    "kreiss_lower_bound",
    "euler_dt_limit",
]


@pytest.mark.parametrize("model", ["hippo-legs", "s4d-lin", "s4d-inv", "s4d-real", "s5", "mega-ema", "random"])
def test_cli_analyze_json(model):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "smr_stability",
            "analyze",
            "--model",
            model,
            "--N",
            "16",
            "--dt",
            "0.05",
            "--method",
            "bilinear",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert list(doc) == KEYS
    sys_ = MODELS[model](16, 0.05, 0)
    Ab, _ = smr.discretize(sys_.A, sys_.B, 0.05, method="bilinear")
    rho = np.max(np.abs(Ab if Ab.ndim == 1 else np.linalg.eigvals(Ab)))
    assert doc["spectral_radius"] == pytest.approx(rho, rel=1e-12)
    assert doc["kreiss_lower_bound"] <= doc["transient_bound"] * (1 + 1e-9)
    lam = sys_.eigenvalues
    assert doc["euler_dt_limit"] == pytest.approx(np.min(-2 * lam.real / np.abs(lam) ** 2), rel=1e-12)


def test_cli_analyze_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--model", "nope"])
    assert info.value.code == 2
    assert main(["analyze", "--model", "s4d-lin", "--N", "8", "--sigma", "1.5"]) == 2
    assert "sigma" in capsys.readouterr().err
