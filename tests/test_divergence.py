"""The divergence engine against a brute-force sequential reference (worked check of its paths)."""

import json

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import smr_stability as smr
from smr_stability import errors, sampling, signals
from smr_stability.divergence import DivergenceResult, divergence_experiment
from smr_stability.smr import smr_gate

DT, L = 0.05, 120


def brute_force(sys, signal, sched, method="zoh", smr_kernel=None):
    """Every metric from per-draw runs of simulate_reference on the nominal and perturbed inputs."""
    Ab, Bb = smr.discretize(sys.A, sys.B, DT, method=method)
    gate = (lambda u: u) if smr_kernel is None else (lambda u: smr_gate(u, *smr_kernel))
    u_nom = gate(signal(DT * np.arange(L)))  # (B, L, P)
    u_per = gate(sched.sample(signal)[:, :, :L])  # (B, M, L, P)
    out = {k: [] for k in ("state_error", "rel_state_error", "output_error", "rel_output_error", "state_variance")}
    spread = {"state_error": [], "output_error": []}
    for b in range(signal.B):
        y0, x0 = smr.simulate_reference(Ab, Bb, sys.C, sys.D, u_nom[b])
        runs = [smr.simulate_reference(Ab, Bb, sys.C, sys.D, u_per[b, m]) for m in range(sched.M)]
        X = np.stack([x for _, x in runs])  # (M, L, N)
        Y = np.stack([y for y, _ in runs])
        e = np.linalg.norm(X - x0, axis=-1)
        ye = np.linalg.norm(Y - y0, axis=-1)
        scale = np.sqrt(np.mean(np.sum(y0**2, -1)))
        out["state_error"].append(e.mean(0))
        out["rel_state_error"].append((e / np.linalg.norm(x0, axis=-1)).mean(0))
        out["output_error"].append(ye.mean(0))
        out["rel_output_error"].append((ye / scale).mean(0))
        out["state_variance"].append(np.sum(np.abs(X - X.mean(0)) ** 2, -1).mean(0))
        spread["state_error"].append(e.std(0))
        spread["output_error"].append(ye.std(0))
    return {k: np.array(v) for k, v in out.items()}, {k: np.array(v) for k, v in spread.items()}


def schedules(M=4):
    return [
        sampling.jitter(L, DT, 0.3, draws=M, seed=1),
        sampling.irregular(L, DT, draws=M, seed=2),
        sampling.drops(L, DT, 0.1, mode="noise", draws=M, seed=3, noise_std=0.5),
    ]


@pytest.mark.parametrize(
    "sys, path",
    [
        (smr.s4d_lin(12, seed=1), "scan"),  # diagonal, one input: the fused compiled scan
        (smr.hippo_legs(6, seed=2), "fft"),  # dense: states from the FFT state kernel
        (smr.s5_hippo(8, P=2, Q=2, seed=3), "fft"),  # diagonal MIMO: FFT
    ],
)
def test_metrics_equal_the_sequential_reference(sys, path):
    sig = signals.SumOfSines(B=2, P=sys.P, seed=5)
    res = divergence_experiment(sys, sig, schedules(), DT, method="bilinear")
    assert res.config["error_path"] == [path]
    for j, sched in enumerate(schedules()):
        ref, ref_spread = brute_force(sys, sig, sched, method="bilinear")
        for name, val in ref.items():
            got = res.metrics[name][0, j]
            assert np.max(np.abs(got - val)) <= 1e-10 * np.max(np.abs(val)), (name, sched.name)
        for name, val in ref_spread.items():  # Monte-Carlo spread (Welford moments on the scan path)
            assert np.max(np.abs(res.spread[name][0, j] - val)) <= 1e-9 * np.max(np.abs(val)), (name, sched.name)


@pytest.mark.parametrize("gated", [False, True])
def test_draws_in_pieces_equal_the_reference(monkeypatch, gated):
    """The scan path goes through the draws in pieces (here one or two draws each): the merged
    moments equal the per-draw reference, with and without an SMR gate."""
    import smr_stability.divergence as dv

    monkeypatch.setattr(dv, "_PIECE_VALUES", 2 * L)  # B = 2 signals of length L: one draw per piece
    sys, sig = smr.s4d_inv(10, seed=3), signals.SumOfSines(B=2, seed=4)
    kernel = (np.array([[0.6, -0.2, 0.3]]), -0.1) if gated else None
    scheds = [sampling.jitter(L, DT, 0.3, draws=5, seed=8), sampling.drops(L, DT, 0.2, mode="zeros", draws=3, seed=9)]
    res = divergence_experiment(sys, sig, scheds, DT, smr=kernel)
    for j, sched in enumerate(scheds):
        ref, ref_spread = brute_force(sys, sig, sched, smr_kernel=kernel)
        for name, val in ref.items():
            assert np.max(np.abs(res.metrics[name][0, j] - val)) <= 1e-10 * np.max(np.abs(val)), name
        for name, val in ref_spread.items():
            assert np.max(np.abs(res.spread[name][0, j] - val)) <= 1e-9 * np.max(np.abs(val)), name


def test_deterministic_draws_have_zero_variance():
    """Identical draws (a rate change repeated): the covariance is 0 up to rounding of ||e||^2."""
    res = divergence_experiment(
        smr.s4d_lin(8, seed=1), signals.SumOfSines(B=1, seed=2), sampling.rate_change(L, DT, 1.3, draws=4), DT
    )
    mean_sq = res.metrics["state_error"][0, 0, 0] ** 2
    assert np.all(res.metrics["state_variance"][0, 0, 0] <= 1e-13 * mean_sq.max())
    assert np.all(res.spread["state_error"][0, 0, 0] <= 1e-7 * res.metrics["state_error"][0, 0, 0].max())


def test_smr_gated_metrics_equal_the_reference():
    sys, sig = smr.s4d_inv(10, seed=0), signals.SumOfSines(B=1, seed=6)
    kernel = (np.array([[0.8, -0.3, 0.2, 0.1]]), 0.5)
    sched = sampling.jitter(L, DT, 0.25, draws=5, seed=7)
    res = divergence_experiment(sys, sig, sched, DT, smr=kernel)
    ref, _ = brute_force(sys, sig, sched, smr_kernel=kernel)
    for name, val in ref.items():
        assert np.max(np.abs(res.metrics[name][0, 0] - val)) <= 1e-10 * np.max(np.abs(val))
    assert res.config["smr"]["m"] == kernel[0].tolist()


def test_uniform_schedule_gives_zero_error():
    res = divergence_experiment(smr.s4d_lin(8), signals.SumOfSines(B=1, seed=1), sampling.rate_change(L, DT, 1.0), DT)
    assert np.all(res.metrics["state_error"] == 0) and np.all(res.metrics["state_variance"] == 0)


def test_exact_variable_step_reference():
    """x*(t~_k) from zoh over the true gaps equals per-step discretize + the reference loop."""
    sys, sig = smr.s4d_lin(6, seed=2), signals.SumOfSines(B=1, seed=3)
    sched = sampling.irregular(L, DT, draws=3, seed=4)
    res = divergence_experiment(sys, sig, sched, DT, exact="variable_step")
    Ab, Bb = smr.discretize(sys.A, sys.B, DT)
    u = sched.sample(sig)[0]  # (M, L, 1)
    errs = []
    for m in range(3):
        Abk, Bbk = smr.discretize(sys.A, sys.B, sched.gaps[m])
        x_star = smr.simulate_reference(Abk, Bbk, sys.C, None, u[m])[1]
        x_fix = smr.simulate_reference(Ab, Bb, sys.C, None, u[m])[1]
        errs.append(np.linalg.norm(x_fix - x_star, axis=-1))
    ref = np.mean(errs, axis=0)
    assert np.max(np.abs(res.metrics["exact_error"][0, 0, 0] - ref)) <= 1e-10 * ref.max()


def test_exact_continuous_reference_matches_solve_ivp():
    """The refined zoh reference converges to the ODE solution at the sample times (order 2)."""
    sys = smr.random_stable(3, diagonal=False, seed=8)
    sig = signals.SumOfSines(B=1, seed=9)
    sched = sampling.jitter(40, 0.1, 0.3, draws=1, seed=10)
    t_obs = sched.times[0]
    sol = solve_ivp(
        lambda t, x: sys.A_dense @ x + sys.B[:, 0] * sig(np.array(t))[0, 0],
        (t_obs[0] - 0.1, t_obs[-1]),
        np.zeros(3),
        t_eval=t_obs,
        rtol=1e-12,
        atol=1e-12,
        method="DOP853",
    )
    from smr_stability.divergence import _continuous_states

    errs = []
    for r in (4, 8, 16):
        x = _continuous_states(sys, sig, sched.times, sched.gaps, r)[0, 0]
        errs.append(np.max(np.abs(x - sol.y.T)) / np.max(np.abs(sol.y)))
    order = np.log2(errs[0] / errs[1]), np.log2(errs[1] / errs[2])
    assert errs[-1] < 1e-3 and all(1.8 < o < 2.2 for o in order), (errs, order)


def test_result_serialises_and_plots(tmp_path):
    res = divergence_experiment([smr.s4d_lin(8), smr.s4d_real(8)], signals.SumOfSines(B=2, seed=1), schedules(3), DT)
    res.to_npz(tmp_path / "r.npz")
    back = DivergenceResult.from_npz(tmp_path / "r.npz")
    assert back.systems == res.systems and back.schedules == res.schedules and back.config == res.config
    for k in res.metrics:
        np.testing.assert_array_equal(back.metrics[k], res.metrics[k])
    res.to_json(tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert np.allclose(doc["metrics"]["rel_state_error"], res.metrics["rel_state_error"])
    table = res.table()
    assert "rel_state_error" in table and "state_error" in table  # relative next to absolute
    ax = res.plot("rel_state_error")
    assert len(ax.lines) == 3
    with pytest.raises(errors.ParameterError):
        res.plot("nope")


def test_bad_input():
    sig = signals.SumOfSines(B=1, P=2, seed=1)
    with pytest.raises(errors.ShapeError, match="P = 2"):
        divergence_experiment(smr.s4d_lin(4), sig, schedules(2), DT)
    with pytest.raises(errors.InputTypeError, match="ArraySignal"):
        divergence_experiment(smr.s4d_lin(4), np.ones((1, 10, 1)), schedules(2), DT)
    with pytest.raises(errors.ParameterError, match="exact"):
        divergence_experiment(smr.s4d_lin(4), signals.SumOfSines(seed=1), schedules(2), DT, exact="magic")


@pytest.mark.parametrize("seed", range(4))
def test_observed_error_stays_inside_the_proposition1_ball(seed):
    systems = [smr.random_stable(6, diagonal=True, complex=True, seed=seed), smr.random_stable(5, seed=seed)]
    sig = signals.SumOfSines(B=2, seed=seed)
    res = divergence_experiment(systems, sig, schedules(6), DT, smr=(np.array([[0.4, 0.3]]), 0.2))
    b = res.bounds
    assert np.all(np.isfinite(b["iss_bound"])) and np.all(b["observed_sup"] > 0)
    assert np.all(b["observed_sup"] <= b["iss_bound"])
    ref, _ = brute_force(systems[0], sig, schedules(6)[0], smr_kernel=(np.array([[0.4, 0.3]]), 0.2))
    assert np.all(b["observed_sup"][0, 0] >= ref["state_error"].max(axis=-1) * (1 - 1e-12))  # max >= mean


def test_unstable_model_has_no_ball():
    unstable = smr.SSM(np.array([0.5 + 1j]), [1.0], [1.0])  # Re(lambda) > 0
    res = divergence_experiment(unstable, signals.SumOfSines(seed=1), sampling.jitter(40, DT, 0.2, draws=3, seed=0), DT)
    assert np.isinf(res.bounds["error_gain"][0]) and np.isinf(res.bounds["iss_bound"]).all()


@pytest.mark.parametrize("sys", [smr.s4d_inv(8, seed=3), smr.hippo_legs(5, seed=4)], ids=["scan", "fft"])
def test_error_lyapunov_function_equals_the_reference(sys):
    """L_e(k) = e_k^H P e_k with Ab^H P Ab - P = -I (P from scipy, independently), mean over draws."""
    import scipy.linalg

    sig, sched = signals.SumOfSines(B=1, seed=2), sampling.jitter(L, DT, 0.3, draws=4, seed=5)
    res = divergence_experiment(sys, sig, sched, DT)
    Ab, Bb = smr.discretize(sys.A, sys.B, DT)
    A = np.diag(Ab) if Ab.ndim == 1 else Ab
    P = scipy.linalg.solve_discrete_lyapunov(A.conj().T, np.eye(sys.N))
    u_nom, u_per = sig(DT * np.arange(L))[0], sched.sample(sig)[0]
    x0 = smr.simulate_reference(Ab, Bb, sys.C, None, u_nom)[1]
    Le = []
    for m in range(4):
        e = smr.simulate_reference(Ab, Bb, sys.C, None, u_per[m])[1] - x0
        Le.append(np.einsum("kn,nm,km->k", e.conj(), P, e).real)
    ref = np.mean(Le, axis=0)
    assert np.max(np.abs(res.metrics["lyapunov_error"][0, 0, 0] - ref)) <= 1e-10 * ref.max()
