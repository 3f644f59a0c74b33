"""Figure 9, the Theorem 1 threshold map of the trained model (quick setting)."""

import csv
import json
import os

import numpy as np
import pytest
import scipy.linalg

from smr_stability.experiments import threshold_map as tm

SIGMA = 0.5


@pytest.fixture(scope="module")
def quick_map(tmp_path_factory):
    """The quick map, built once; a private cache holds the trained run and the sweep's cells."""
    out = tmp_path_factory.mktemp("threshold_map")
    cache = tmp_path_factory.mktemp("cache")
    saved = os.environ.get("SMR_STABILITY_CACHE")
    os.environ["SMR_STABILITY_CACHE"] = str(cache)
    try:
        paths = tm.threshold_map(out, quick=True)
    finally:
        if saved is None:
            os.environ.pop("SMR_STABILITY_CACHE")
        else:
            os.environ["SMR_STABILITY_CACHE"] = saved
    return out, cache, paths


def _data(quick_map):
    return json.loads((quick_map[0] / "threshold_map.json").read_text())


def test_writes_figure_and_data(quick_map):
    out, _, paths = quick_map
    assert sorted(paths) == sorted(str(out / f"threshold_map.{ext}") for ext in ("json", "csv", "png", "pdf"))
    for ext in ("png", "pdf"):
        assert (out / f"threshold_map.{ext}").stat().st_size > 1000


def test_data_shape_finite_and_fractions_in_unit_interval(quick_map):
    data = _data(quick_map)
    nj, ns, H = len(data["jitters"]), len(data["scales"]), data["channels"]
    assert (nj, ns, H) == (3, 3, 4) and data["sigma"] == SIGMA and 0.0 in data["jitters"]
    for gate in ("off", "on"):
        for key, value in data["gates"][gate].items():
            a = np.array(value)
            assert a.shape == (nj, ns) and np.all(np.isfinite(a)), key
        frac = np.array(data["gates"][gate]["fraction"])
        assert np.all((frac >= 0) & (frac <= 1))
    gamma = np.array(data["gamma_star"]["per_channel"])  # (channels, scales)
    assert gamma.shape == (H, ns) and np.all(np.isfinite(gamma)) and np.all(gamma > 0)
    assert np.allclose(data["gamma_star"]["min"], gamma.min(axis=0))
    assert np.allclose(data["gamma_star"]["median"], np.median(gamma, axis=0))
    with open(quick_map[0] / "threshold_map.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * nj * ns
    for r in rows:
        i, k = data["jitters"].index(float(r["jitter"])), data["scales"].index(float(r["dt_scale"]))
        assert float(r["hypothesis_fraction"]) == data["gates"][r["smr"]]["fraction"][i][k]


def test_no_jitter_means_no_disturbance_so_the_hypothesis_holds_everywhere(quick_map):
    """j = 0: t~_k = k dt exactly, w = 0, e = 0, and 0 <= gamma* 0 at every step, gate or not."""
    data = _data(quick_map)
    i = data["jitters"].index(0.0)
    for gate in ("off", "on"):
        assert data["gates"][gate]["fraction"][i] == [1.0] * len(data["scales"])
        assert data["gates"][gate]["final_abs_error"][i] == [0.0] * len(data["scales"])
        assert data["gates"][gate]["max_L_e"][i] == [0.0] * len(data["scales"])


def test_gamma_star_matches_an_independent_recomputation(quick_map, monkeypatch):
    """zoh by the block exponential, P by scipy's solver, gamma* by the root of docs/theory.md §4, by hand."""
    from smr_stability.experiments.studies import reference_run
    from smr_stability.nn.checkpoint import load_run

    data = _data(quick_map)
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(quick_map[1]))
    _, model = load_run(reference_run(quick=True)[1])  # cached: no training
    h, k = 1, len(data["scales"]) - 1
    ch = model.layers[0].export()[h]
    assert ch.method == "zoh" and data["dt_train"][h] == ch.dt
    dt = data["scales"][k] * ch.dt
    N = ch.system.A.shape[0]
    M = np.zeros((N + 1, N + 1), complex)
    M[:N, :N], M[:N, N:] = np.diag(ch.system.A), ch.system.B
    E = scipy.linalg.expm(M * dt)
    Ab, Bb = E[:N, :N], E[:N, N:]
    P = scipy.linalg.solve_discrete_lyapunov(Ab.conj().T, np.eye(N))  # Ab^H P Ab - P = -I
    assert np.allclose(Ab.conj().T @ P @ Ab - P, -np.eye(N), atol=1e-8 * np.abs(P).max())
    a = np.linalg.norm(Ab.conj().T @ P @ Bb, 2)
    b = np.linalg.norm(Bb.conj().T @ P @ Bb, 2)
    gamma = (-a + np.sqrt(a**2 + b * SIGMA * 1.0)) / b  # lambda_min(Q) = 1
    assert data["gamma_star"]["per_channel"][h][k] == pytest.approx(gamma, rel=1e-6)


def _refuse(**cell):
    raise AssertionError("a finished cell was recomputed")


def test_second_call_reads_cached_cells(quick_map, monkeypatch, tmp_path):
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(quick_map[1]))
    monkeypatch.setattr(tm, "threshold_cell", _refuse)
    tm.threshold_map(tmp_path, quick=True)
    assert json.loads((tmp_path / "threshold_map.json").read_text()) == _data(quick_map)
