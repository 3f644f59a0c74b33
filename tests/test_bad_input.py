"""The bad-input catalogue: each entry is a call with one bad argument and the named error it must
raise (a subclass of ValueError or TypeError, never a raw library exception).

An entry is ``(callable, parameter, what, call, error)``: the public callable and the parameter
it exercises, a few words on the bad value, the call and the named error. The coverage test
below introspects every covered callable and asserts that each of its parameters is named by
at least one entry (bar :data:`NO_USER_INPUT`), so the catalogue cannot fall behind the API.
"""

import atexit
import functools
import inspect
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import smr_stability as smr
import smr_stability.nn as snn
from smr_stability import errors, sampling, signals
from smr_stability.divergence import DivergenceResult

E = errors
SIG, SYS = signals.SumOfSines(seed=0), smr.s4d_lin(4)
A, B, C = SYS.A, SYS.B, SYS.C  # diagonal (4,), (4, 1), (1, 4)
AB, BB = smr.discretize(A, B, 0.1)  # (4,), (4, 1)
AD = smr.random_stable(3, seed=0).A  # dense (3, 3)
U = np.ones((1, 5, 1))  # (B, L, P)
M = np.ones((1, 2))  # an SMR kernel (H, tau)
DT = np.full(5, 0.1)  # the gaps of U
JIT = sampling.jitter(10, 0.1, 0.2, seed=0)
NAN, INF = float("nan"), float("inf")
AN = np.array([np.nan, -1.0])  # a diagonal state matrix with a NaN
ASQ = np.ones((2, 3))  # not square
T = torch.randn(1, 5, 4)  # (B, L, H) of the layers below


def _nan(shape=(1, 5, 4)):
    x = torch.zeros(shape)
    x.view(-1)[0] = NAN
    return x


def _dense(**kw):  # a divergence experiment on two systems
    return smr.divergence_experiment(SYS, SIG, JIT, 0.1, **kw)


def _sm(**kw):  # a small SequenceModel
    return snn.SequenceModel(snn.TrainConfig(width=4, state=4, depth=1, **kw), 1, 1)


@functools.cache
def _run():
    """A tiny untrained run directory (config.json and model.safetensors), removed at exit."""
    from smr_stability.nn.checkpoint import save_weights

    run = Path(tempfile.mkdtemp(prefix="bad-input-run-"))
    atexit.register(shutil.rmtree, run, ignore_errors=True)
    config = snn.TrainConfig(width=4, state=4, depth=1, small=True)
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    save_weights(snn.SequenceModel(config, 1, 1), run / "model.safetensors")
    return run


def _derivation():
    return smr.symbolic.gamma_star_expr()


CATALOGUE = [
    # ---------------------------------------------------------------- systems
    ("as_ssm", "system", "a string", lambda: smr.as_ssm("s4d"), E.InputTypeError),
    ("causal_conv", "K", "NaN", lambda: smr.causal_conv(np.array([1.0, NAN]), np.ones(3)), E.NonFiniteError),
    ("causal_conv", "u", "strings", lambda: smr.causal_conv(np.ones(3), ["a", "b"]), E.InputTypeError),
    ("continuous_threshold", "A", "not square", lambda: smr.continuous_threshold(ASQ, B, 0.5), E.ShapeError),
    ("continuous_threshold", "B", "wrong rows", lambda: smr.continuous_threshold(A, np.ones((3, 1)), 0.5), E.ShapeError),
    ("continuous_threshold", "sigma", "1.5", lambda: smr.continuous_threshold(A, B, 1.5), E.ParameterError),
    ("continuous_threshold", "Q", "wrong shape", lambda: smr.continuous_threshold(A, B, 0.5, Q=np.eye(3)), E.ShapeError),
    ("discrete_eigenvalues", "A", "NaN", lambda: smr.discrete_eigenvalues(AN, 0.1), E.NonFiniteError),
    ("discrete_eigenvalues", "dt", "zero", lambda: smr.discrete_eigenvalues(A, 0.0), E.StepSizeError),
    ("discrete_eigenvalues", "method", "unknown", lambda: smr.discrete_eigenvalues(A, 0.1, "rk4"), E.MethodError),
    ("discrete_eigenvalues", "alpha", "2", lambda: smr.discrete_eigenvalues(A, 0.1, "gbt", 2.0), E.AlphaError),
    ("discrete_spectral_radius", "A", "not square", lambda: smr.discrete_spectral_radius(ASQ, 0.1), E.ShapeError),
    ("discrete_spectral_radius", "dt", "inf", lambda: smr.discrete_spectral_radius(A, INF), E.StepSizeError),
    ("discrete_spectral_radius", "method", "None", lambda: smr.discrete_spectral_radius(A, 0.1, None), E.MethodError),
    ("discrete_spectral_radius", "alpha", "with zoh", lambda: smr.discrete_spectral_radius(A, 0.1, "zoh", 0.5), E.AlphaError),
    ("discretize", "A", "3-D", lambda: smr.discretize(np.ones((2, 2, 2)), B, 0.1), E.ShapeError),
    ("discretize", "B", "wrong rows", lambda: smr.discretize(A, np.ones(3), 0.1), E.ShapeError),
    ("discretize", "dt", "negative", lambda: smr.discretize(A, B, -0.1), E.StepSizeError),
    ("discretize", "method", "unknown", lambda: smr.discretize(A, B, 0.1, "rk4"), E.MethodError),
    ("discretize", "alpha", "missing for gbt", lambda: smr.discretize(A, B, 0.1, "gbt"), E.AlphaError),
    ("eigenvalue_map", "z", "strings", lambda: smr.eigenvalue_map(["a"]), E.InputTypeError),
    ("eigenvalue_map", "method", "unknown", lambda: smr.eigenvalue_map(-1.0, "rk4"), E.MethodError),
    ("eigenvalue_map", "alpha", "-1", lambda: smr.eigenvalue_map(-1.0, "gbt", -1.0), E.AlphaError),
    ("euler_dt_limit", "A", "NaN", lambda: smr.euler_dt_limit(AN), E.NonFiniteError),
    ("spectral_radius", "Ab", "not square", lambda: smr.spectral_radius(ASQ), E.ShapeError),
    ("envelope_rate", "Ab", "NaN", lambda: smr.envelope_rate(np.array([NAN, 0.5]), 0.5), E.NonFiniteError),
    ("envelope_rate", "sigma", "0", lambda: smr.envelope_rate(AB, 0.0), E.ParameterError),
    ("envelope_rate", "Q", "wrong shape", lambda: smr.envelope_rate(AB, 0.5, Q=np.eye(2)), E.ShapeError),
    ("envelope_rate", "discrete", "a string", lambda: smr.envelope_rate(AB, 0.5, discrete="yes"), E.InputTypeError),
    ("gamma_star", "Ab", "not square", lambda: smr.gamma_star(ASQ, BB, 0.5), E.ShapeError),
    ("gamma_star", "Bb", "wrong rows", lambda: smr.gamma_star(AB, np.ones((3, 1)), 0.5), E.ShapeError),
    ("gamma_star", "sigma", "NaN", lambda: smr.gamma_star(AB, BB, NAN), E.ParameterError),
    ("gamma_star", "Q", "NaN", lambda: smr.gamma_star(AB, BB, 0.5, Q=np.full((4, 4), NAN)), E.NonFiniteError),
    ("gamma_star", "return_info", "a string", lambda: smr.gamma_star(AB, BB, 0.5, return_info="yes"), E.InputTypeError),
    ("kreiss_constant", "Ab", "unstable", lambda: smr.kreiss_constant(np.array([1.5, 0.5])), E.UnstableSystemError),
    ("kreiss_constant", "n_radii", "0", lambda: smr.kreiss_constant(AB, n_radii=0), E.ParameterError),
    ("kreiss_constant", "n_angles", "2.5", lambda: smr.kreiss_constant(AB, n_angles=2.5), E.ParameterError),
    ("kreiss_constant", "refine", "-1", lambda: smr.kreiss_constant(AB, refine=-1), E.ParameterError),
    ("kreiss_constant", "return_info", "None", lambda: smr.kreiss_constant(AB, return_info=None), E.InputTypeError),
    ("transient_bound", "Ab", "unstable", lambda: smr.transient_bound(np.array([1.5, 0.5])), E.UnstableSystemError),
    ("transient_bound", "Q", "wrong shape", lambda: smr.transient_bound(AB, Q=np.eye(2)), E.ShapeError),
    # ---------------------------------------------------------------- analyze
    ("analyze", "target", "an empty list", lambda: smr.analyze([], dt=0.1), E.ShapeError),
    ("analyze", "dt", "missing", lambda: smr.analyze(SYS), E.ParameterError),
    ("analyze", "dt", "one per channel, too few", lambda: smr.analyze([SYS, SYS], dt=[0.1]), E.ShapeError),
    ("analyze", "method", "unknown", lambda: smr.analyze(SYS, 0.1, "rk4"), E.MethodError),
    ("analyze", "sigma", "1.5", lambda: smr.analyze(SYS, 0.1, sigma=1.5), E.ParameterError),
    ("analyze", "layer", "negative", lambda: smr.analyze(SYS, 0.1, layer=-1), E.ParameterError),
    ("load_system", "path", "missing", lambda: smr.load_system("/nonexistent/system.npz"), E.ParameterError),
    ("nn.analyze", "target", "an empty list", lambda: snn.analyze([], dt=0.1), E.ShapeError),
    ("nn.analyze", "dt", "given for a run", lambda: snn.analyze(str(_run()), dt=0.1), E.ParameterError),
    ("nn.analyze", "method", "unknown", lambda: snn.analyze(SYS, 0.1, "rk4"), E.MethodError),
    ("nn.analyze", "sigma", "0", lambda: snn.analyze(SYS, 0.1, sigma=0.0), E.ParameterError),
    ("nn.analyze", "layer", "no such block", lambda: snn.analyze(str(_run()), layer=3), E.ParameterError),
    ("nn.analyze_run", "run", "no run there", lambda: snn.analyze_run("/nonexistent/run"), E.ParameterError),
    ("nn.analyze_run", "layer", "a string", lambda: snn.analyze_run(_run(), layer="0"), E.InputTypeError),
    ("nn.analyze_run", "sigma", "NaN", lambda: snn.analyze_run(_run(), sigma=NAN), E.ParameterError),
    ("nn.analyze_run", "weights", "unknown", lambda: snn.analyze_run(_run(), weights="first"), E.ParameterError),
    # ---------------------------------------------------------------- kernels, lyapunov
    ("ssm_kernel", "Ab", "NaN", lambda: smr.ssm_kernel(np.array([NAN] * 4), BB, C, 5), E.NonFiniteError),
    ("ssm_kernel", "Bb", "wrong rows", lambda: smr.ssm_kernel(AB, np.ones((3, 1)), C, 5), E.ShapeError),
    ("ssm_kernel", "C", "wrong columns", lambda: smr.ssm_kernel(AB, BB, np.ones((1, 3)), 5), E.ShapeError),
    ("ssm_kernel", "L", "-1", lambda: smr.ssm_kernel(AB, BB, C, -1), E.ShapeError),
    ("dlyap", "A", "not square", lambda: smr.dlyap(ASQ, np.eye(2)), E.ShapeError),
    ("dlyap", "Q", "wrong shape", lambda: smr.dlyap(AD * 0.1, np.eye(2)), E.ShapeError),
    ("dlyap", "rtol", "negative", lambda: smr.dlyap(AD * 0.1, np.eye(3), rtol=-1.0), E.ParameterError),
    ("lyap", "A", "NaN", lambda: smr.lyap(np.full((2, 2), NAN), np.eye(2)), E.NonFiniteError),
    ("lyap", "Q", "strings", lambda: smr.lyap(AD, "eye"), E.InputTypeError),
    ("lyap", "rtol", "a string", lambda: smr.lyap(AD, np.eye(3), rtol="1e-10"), E.ParameterError),
    ("lyapunov_matrix", "Ab", "unstable", lambda: smr.lyapunov_matrix(np.array([1.5, 0.5])), E.UnstableSystemError),
    ("lyapunov_matrix", "Q", "wrong shape", lambda: smr.lyapunov_matrix(AB, Q=np.eye(2)), E.ShapeError),
    ("lyapunov_matrix", "discrete", "a string", lambda: smr.lyapunov_matrix(AB, discrete="no"), E.InputTypeError),
    # ---------------------------------------------------------------- proposition 1
    ("error_gain", "Ab", "unstable", lambda: smr.error_gain(np.array([1.5, 0.5]), np.ones((2, 1))), E.UnstableSystemError),
    ("error_gain", "Bb", "wrong rows", lambda: smr.error_gain(AB, np.ones((3, 1))), E.ShapeError),
    ("error_gain", "rtol", "0", lambda: smr.error_gain(AB, BB, 0.0), E.ParameterError),
    ("error_gain", "max_terms", "0", lambda: smr.error_gain(AB, BB, max_terms=0), E.ParameterError),
    ("error_gain", "return_info", "a string", lambda: smr.error_gain(AB, BB, return_info="yes"), E.InputTypeError),
    ("error_gain_bound", "Ab", "NaN", lambda: smr.error_gain_bound(np.array([NAN] * 4), BB), E.NonFiniteError),
    ("error_gain_bound", "Bb", "wrong rows", lambda: smr.error_gain_bound(AB, np.ones((3, 1))), E.ShapeError),
    ("iss_error_bound", "Ab", "not square", lambda: smr.iss_error_bound(ASQ, BB, 1.0), E.ShapeError),
    ("iss_error_bound", "Bb", "NaN", lambda: smr.iss_error_bound(AB, np.full((4, 1), NAN), 1.0), E.NonFiniteError),
    ("iss_error_bound", "w_bound", "negative", lambda: smr.iss_error_bound(AB, BB, -1.0), E.ParameterError),
    ("iss_error_bound", "rtol", "NaN", lambda: smr.iss_error_bound(AB, BB, 1.0, rtol=NAN), E.ParameterError),
    ("long_memory_limit", "lam", "strings", lambda: smr.long_memory_limit("a"), E.InputTypeError),
    ("long_memory_limit", "B", "NaN", lambda: smr.long_memory_limit(-1.0, B=NAN), E.NonFiniteError),
    ("mode_gain", "lam", "NaN", lambda: smr.mode_gain(NAN, 0.1), E.NonFiniteError),
    ("mode_gain", "dt", "zero", lambda: smr.mode_gain(-1.0, 0.0), E.StepSizeError),
    ("mode_gain", "method", "unknown", lambda: smr.mode_gain(-1.0, 0.1, "rk4"), E.MethodError),
    ("mode_gain", "B", "strings", lambda: smr.mode_gain(-1.0, 0.1, B="one"), E.InputTypeError),
    ("mode_gain", "alpha", "1.5", lambda: smr.mode_gain(-1.0, 0.1, "gbt", alpha=1.5), E.AlphaError),
    # ---------------------------------------------------------------- model families
    ("hippo_legs", "N", "0", lambda: smr.hippo_legs(0), E.ShapeError),
    ("hippo_legs", "seed", "a string", lambda: smr.hippo_legs(4, seed="x"), E.InputTypeError),
    ("s4d_inv", "N", "2.5", lambda: smr.s4d_inv(2.5), E.ShapeError),
    ("s4d_inv", "seed", "negative", lambda: smr.s4d_inv(4, seed=-1), E.ParameterError),
    ("s4d_lin", "N", "a string", lambda: smr.s4d_lin("4"), E.ShapeError),
    ("s4d_lin", "seed", "a float", lambda: smr.s4d_lin(4, seed=0.5), E.InputTypeError),
    ("s4d_real", "N", "negative", lambda: smr.s4d_real(-2), E.ShapeError),
    ("s4d_real", "seed", "negative", lambda: smr.s4d_real(4, seed=-1), E.ParameterError),
    ("s5_hippo", "N", "0", lambda: smr.s5_hippo(0), E.ShapeError),
    ("s5_hippo", "P", "0", lambda: smr.s5_hippo(4, P=0), E.ShapeError),
    ("s5_hippo", "Q", "2.5", lambda: smr.s5_hippo(4, Q=2.5), E.ShapeError),
    ("s5_hippo", "seed", "a string", lambda: smr.s5_hippo(4, seed="x"), E.InputTypeError),
    ("s5_hippo", "blocks", "not a divisor", lambda: smr.s5_hippo(4, blocks=3), E.ShapeError),
    ("mega_ema", "N", "0", lambda: smr.mega_ema(0), E.ShapeError),
    ("mega_ema", "dt", "negative", lambda: smr.mega_ema(4, dt=-1.0), E.StepSizeError),
    ("mega_ema", "seed", "negative", lambda: smr.mega_ema(4, seed=-1), E.ParameterError),
    ("mega_ema", "alpha", "inf", lambda: smr.mega_ema(4, alpha=np.full(4, INF)), E.NonFiniteError),
    ("mega_ema", "delta", "wrong shape", lambda: smr.mega_ema(4, delta=np.full(3, 0.5)), E.ShapeError),
    ("mega_ema", "beta", "NaN", lambda: smr.mega_ema(4, beta=np.full(4, NAN)), E.NonFiniteError),
    ("mega_ema", "eta", "strings", lambda: smr.mega_ema(4, eta=["a"] * 4), E.InputTypeError),
    ("random_stable", "N", "N = 0", lambda: smr.random_stable(0), E.ShapeError),
    ("random_stable", "P", "0", lambda: smr.random_stable(4, P=0), E.ShapeError),
    ("random_stable", "Q", "a float", lambda: smr.random_stable(4, Q=1.5), E.ShapeError),
    ("random_stable", "diagonal", "a string", lambda: smr.random_stable(4, diagonal="yes"), E.InputTypeError),
    ("random_stable", "complex", "a string", lambda: smr.random_stable(4, complex="yes"), E.InputTypeError),
    ("random_stable", "seed", "a string", lambda: smr.random_stable(4, seed="x"), E.InputTypeError),
    ("random_stable", "decay", "one number", lambda: smr.random_stable(4, decay=[0.1]), E.ParameterError),
    ("random_stable", "decay", "strings", lambda: smr.random_stable(4, decay="ab"), E.InputTypeError),
    ("random_stable", "decay", "reversed", lambda: smr.random_stable(4, decay=(2.0, 1.0)), E.ParameterError),
    ("random_stable", "freq", "NaN", lambda: smr.random_stable(4, freq=NAN), E.ParameterError),
    # ---------------------------------------------------------------- SSM
    ("SSM", "A", "not square", lambda: smr.SSM(ASQ, np.ones(2), np.ones(2)), E.ShapeError),
    ("SSM", "B", "wrong rows", lambda: smr.SSM(A, np.ones(3), np.ones(4)), E.ShapeError),
    ("SSM", "C", "NaN", lambda: smr.SSM(A, np.ones(4), np.full(4, NAN)), E.NonFiniteError),
    ("SSM", "D", "complex", lambda: smr.SSM(A, np.ones(4), np.ones(4), 1j), E.InputTypeError),
    ("SSM", "name", "a number", lambda: smr.SSM(A, np.ones(4), np.ones(4), name=3), E.InputTypeError),
    ("SSM.discretize", "dt", "negative", lambda: SYS.discretize(-0.1), E.StepSizeError),
    ("SSM.discretize", "method", "unknown", lambda: SYS.discretize(0.1, "rk4"), E.MethodError),
    ("SSM.discretize", "alpha", "a string", lambda: SYS.discretize(0.1, "gbt", "x"), E.AlphaError),
    ("SSM.from_control", "sys", "not a control system", lambda: smr.SSM.from_control(3), E.InputTypeError),
    ("SSM.from_control", "name", "a number", lambda: smr.SSM.from_control(SYS.to_control(), name=3), E.InputTypeError),
    # ---------------------------------------------------------------- simulation
    ("simulate", "Ab", "not square", lambda: smr.simulate(ASQ, BB, C, None, U), E.ShapeError),
    ("simulate", "Bb", "wrong rows", lambda: smr.simulate(AB, np.ones((3, 1)), C, None, U), E.ShapeError),
    ("simulate", "C", "wrong columns", lambda: smr.simulate(AB, BB, np.ones((1, 3)), None, U), E.ShapeError),
    ("simulate", "D", "wrong shape", lambda: smr.simulate(AB, BB, C, np.ones((2, 2)), U), E.ShapeError),
    ("simulate", "u", "NaN", lambda: smr.simulate(AB, BB, C, None, np.full((1, 5, 1), NAN)), E.NonFiniteError),
    ("simulate", "x0", "wrong shape", lambda: smr.simulate(AB, BB, C, None, U, x0=np.ones(3)), E.ShapeError),
    ("simulate", "return_states", "a string", lambda: smr.simulate(AB, BB, C, None, U, return_states="y"), E.InputTypeError),
    ("simulate", "mode", "unknown", lambda: smr.simulate(AB, BB, C, None, U, mode="fast"), E.MethodError),
    (
        "simulate",
        "u",
        "10^12 states",
        lambda: smr.simulate(
            np.full(10**6, 0.5), np.ones(10**6), np.ones(10**6), None, np.zeros((1000, 1000, 1)), return_states=True
        ),
        E.ParameterError,
    ),  # fmt: skip
    ("simulate_reference", "Ab", "NaN", lambda: smr.simulate_reference(np.array([NAN] * 4), BB, C, None, U[0]), E.NonFiniteError),
    ("simulate_reference", "Bb", "wrong rows", lambda: smr.simulate_reference(AB, np.ones((3, 1)), C, None, U[0]), E.ShapeError),
    ("simulate_reference", "C", "strings", lambda: smr.simulate_reference(AB, BB, "C", None, U[0]), E.InputTypeError),
    ("simulate_reference", "D", "NaN", lambda: smr.simulate_reference(AB, BB, C, NAN, U[0]), E.NonFiniteError),
    ("simulate_reference", "u", "wrong channels", lambda: smr.simulate_reference(AB, BB, C, None, np.ones((5, 2))), E.ShapeError),
    ("simulate_reference", "x0", "NaN", lambda: smr.simulate_reference(AB, BB, C, None, U[0], x0=np.full(4, NAN)), E.NonFiniteError),
    ("simulate_tv", "Ab", "wrong length", lambda: smr.simulate_tv(np.full((3, 4), 0.5), np.ones((5, 4, 1)), C, None, U), E.ShapeError),
    ("simulate_tv", "Bb", "NaN", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.full((5, 4, 1), NAN), C, None, U), E.NonFiniteError),
    ("simulate_tv", "C", "wrong columns", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.ones((5, 4, 1)), np.ones((1, 3)), None, U), E.ShapeError),
    ("simulate_tv", "D", "complex", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.ones((5, 4, 1)), C, 1j, U), E.InputTypeError),
    ("simulate_tv", "u", "strings", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.ones((5, 4, 1)), C, None, "u"), E.InputTypeError),
    ("simulate_tv", "x0", "wrong shape", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.ones((5, 4, 1)), C, None, U, x0=np.ones(2)), E.ShapeError),
    ("simulate_tv", "return_states", "a string", lambda: smr.simulate_tv(np.full((5, 4), 0.5), np.ones((5, 4, 1)), C, None, U, return_states="y"), E.InputTypeError),
    ("simulate_variable_step", "system", "a string", lambda: smr.simulate_variable_step("s4d", U, DT), E.InputTypeError),
    ("simulate_variable_step", "u", "NaN", lambda: smr.simulate_variable_step(SYS, np.full((1, 5, 1), NAN), DT), E.NonFiniteError),
    ("simulate_variable_step", "dt", "a negative gap", lambda: smr.simulate_variable_step(SYS, U, np.array([0.1, -0.1, 0.1, 0.1, 0.1])), E.StepSizeError),
    ("simulate_variable_step", "method", "unknown", lambda: smr.simulate_variable_step(SYS, U, DT, "rk4"), E.MethodError),
    ("simulate_variable_step", "alpha", "with zoh", lambda: smr.simulate_variable_step(SYS, U, DT, alpha=0.5), E.AlphaError),
    ("simulate_variable_step", "x0", "wrong shape", lambda: smr.simulate_variable_step(SYS, U, DT, x0=np.ones(3)), E.ShapeError),
    ("simulate_variable_step", "return_states", "a string", lambda: smr.simulate_variable_step(SYS, U, DT, return_states="y"), E.InputTypeError),
    ("smr_gate", "u", "NaN", lambda: smr.smr_gate(np.full((1, 5, 1), NAN), M), E.NonFiniteError),
    ("smr_gate", "m", "wrong shape", lambda: smr.smr_gate(U, np.ones((2, 2))), E.ShapeError),
    ("smr_gate", "b", "NaN", lambda: smr.smr_gate(U, M, b=NAN), E.NonFiniteError),
    ("smr_gate", "return_gate", "a string", lambda: smr.smr_gate(U, M, return_gate="y"), E.InputTypeError),
    # ---------------------------------------------------------------- divergence_experiment
    ("divergence_experiment", "systems", "a string", lambda: smr.divergence_experiment("s4d", SIG, JIT, 0.1), E.InputTypeError),
    ("divergence_experiment", "signal", "not callable", lambda: smr.divergence_experiment(SYS, 3, JIT, 0.1), E.InputTypeError),
    ("divergence_experiment", "schedules", "empty", lambda: smr.divergence_experiment(SYS, SIG, [], 0.1), E.InputTypeError),
    ("divergence_experiment", "schedules", "not a schedule", lambda: smr.divergence_experiment(SYS, SIG, [1, 2], 0.1), E.InputTypeError),
    ("divergence_experiment", "dt", "an array", lambda: smr.divergence_experiment(SYS, SIG, JIT, np.ones(3)), E.ShapeError),
    ("divergence_experiment", "dt", "negative", lambda: smr.divergence_experiment(SYS, SIG, JIT, -0.1), E.StepSizeError),
    ("divergence_experiment", "method", "unknown", lambda: _dense(method="rk4"), E.MethodError),
    ("divergence_experiment", "alpha", "with zoh", lambda: _dense(alpha=0.5), E.AlphaError),
    ("divergence_experiment", "smr", "not a pair", lambda: _dense(smr=0), E.ParameterError),
    ("divergence_experiment", "smr", "m of the wrong shape", lambda: _dense(smr=(np.ones((2, 3)), 0.0)), E.ShapeError),
    ("divergence_experiment", "exact", "unknown", lambda: _dense(exact="exactly"), E.ParameterError),
    ("divergence_experiment", "refine", "0", lambda: _dense(exact="continuous", refine=0), E.ParameterError),
    ("divergence_experiment", "refine", "2.5", lambda: _dense(refine=2.5), E.InputTypeError),
    ("DivergenceResult.table", "metrics", "unknown", lambda: _dense().table(metrics=["nope"]), E.ParameterError),
    ("DivergenceResult.from_npz", "path", "missing", lambda: DivergenceResult.from_npz("/nonexistent/x.npz"), E.ParameterError),
    # ---------------------------------------------------------------- verify_theorem1
    ("verify_theorem1", "n_systems", "2.5", lambda: smr.verify_theorem1(2.5), E.InputTypeError),
    ("verify_theorem1", "n_systems", "0", lambda: smr.verify_theorem1(0), E.ParameterError),
    ("verify_theorem1", "seed", "-1", lambda: smr.verify_theorem1(10, seed=-1), E.ParameterError),
    ("verify_theorem1", "steps", "'3'", lambda: smr.verify_theorem1(10, steps="3"), E.InputTypeError),
    ("verify_theorem1", "n_continuous", "-1", lambda: smr.verify_theorem1(10, n_continuous=-1), E.ParameterError),
    ("verify_theorem1", "quick", "a string", lambda: smr.verify_theorem1(10, quick="yes"), E.InputTypeError),
    ("verify_theorem1", "workers", "0", lambda: smr.verify_theorem1(10, workers=0), E.ParameterError),
    ("verify_theorem1", "client", "malformed address", lambda: smr.verify_theorem1(10, client="nope"), E.ParameterError),
    ("verify_theorem1", "client", "not a client", lambda: smr.verify_theorem1(10, client=3.5), E.InputTypeError),
    # ---------------------------------------------------------------- sampling
    ("sampling.Schedule", "times", "decreasing", lambda: sampling.Schedule(np.array([[0.0, 0.2, 0.1]]), 0.1), E.StepSizeError),
    ("sampling.Schedule", "dt", "zero", lambda: sampling.Schedule(np.zeros((1, 1)), 0.0), E.StepSizeError),
    ("sampling.Schedule", "name", "a number", lambda: sampling.Schedule(np.zeros((1, 1)), 0.1, name=3), E.InputTypeError),
    ("sampling.Schedule", "replaced", "wrong shape", lambda: sampling.Schedule(np.zeros((1, 1)), 0.1, replaced=np.ones((1, 2), bool), fill="zeros"), E.ShapeError),
    ("sampling.Schedule", "fill", "unknown", lambda: sampling.Schedule(np.zeros((1, 1)), 0.1, replaced=np.ones((1, 1), bool), fill="ones"), E.MethodError),
    ("sampling.Schedule", "noise_std", "negative", lambda: sampling.Schedule(np.zeros((1, 1)), 0.1, noise_std=-1.0), E.ParameterError),
    ("sampling.Schedule", "seed", "a string", lambda: sampling.Schedule(np.zeros((1, 1)), 0.1, seed="x"), E.InputTypeError),
    ("Schedule.sample", "signal", "not callable", lambda: JIT.sample(3), E.InputTypeError),
    ("Schedule.sample", "draws", "an int", lambda: JIT.sample(SIG, draws=1.5), E.InputTypeError),
    ("sampling.uniform", "L", "0", lambda: sampling.uniform(0, 0.1), E.ParameterError),
    ("sampling.uniform", "dt", "negative", lambda: sampling.uniform(5, -0.1), E.StepSizeError),
    ("sampling.uniform", "draws", "a string", lambda: sampling.uniform(5, 0.1, draws="2"), E.InputTypeError),
    ("sampling.jitter", "L", "2.5", lambda: sampling.jitter(2.5, 0.1, 0.2), E.InputTypeError),
    ("sampling.jitter", "dt", "NaN", lambda: sampling.jitter(10, NAN, 0.2), E.StepSizeError),
    ("sampling.jitter", "magnitude", "negative", lambda: sampling.jitter(10, 0.1, -0.2), E.ParameterError),
    ("sampling.jitter", "draws", "10^12 samples", lambda: sampling.jitter(10**6, 0.1, 0.2, draws=10**6), E.ParameterError),
    # sizes that cannot fit in memory, refused before allocating
    ("hippo_legs", "N", "10^12 dense entries", lambda: smr.hippo_legs(10**6), E.ParameterError),
    ("s5_hippo", "N", "10^12 dense entries", lambda: smr.s5_hippo(10**6), E.ParameterError),
    ("random_stable", "N", "10^12 dense entries", lambda: smr.random_stable(10**6), E.ParameterError),
    ("s4d_lin", "N", "10^10 modes", lambda: smr.s4d_lin(10**10), E.ParameterError),
    ("ssm_kernel", "L", "10^12 lags", lambda: smr.ssm_kernel([0.5], [1.0], [1.0], 10**12), E.ParameterError),
    ("sampling.jitter", "dist", "unknown", lambda: sampling.jitter(10, 0.1, 0.2, dist="cauchy"), E.MethodError),
    ("sampling.jitter", "seed", "a string", lambda: sampling.jitter(10, 0.1, 0.2, seed="x"), E.InputTypeError),
    ("sampling.jitter", "seed", "negative", lambda: sampling.jitter(10, 0.1, 0.2, seed=-3), E.ParameterError),
    ("sampling.jitter", "sort", "a string", lambda: sampling.jitter(10, 0.1, 0.2, sort="yes"), E.InputTypeError),
    ("sampling.rate_change", "L", "0", lambda: sampling.rate_change(0, 0.1, 2.0), E.ParameterError),
    ("sampling.rate_change", "dt", "a string", lambda: sampling.rate_change(5, "0.1", 2.0), E.InputTypeError),
    ("sampling.rate_change", "scale", "zero", lambda: sampling.rate_change(5, 0.1, 0.0), E.ParameterError),
    ("sampling.rate_change", "draws", "0", lambda: sampling.rate_change(5, 0.1, 2.0, draws=0), E.ParameterError),
    ("sampling.irregular", "L", "a string", lambda: sampling.irregular("5", 0.1), E.InputTypeError),
    ("sampling.irregular", "dt", "zero", lambda: sampling.irregular(5, 0.0), E.StepSizeError),
    ("sampling.irregular", "draws", "-1", lambda: sampling.irregular(5, 0.1, draws=-1), E.ParameterError),
    ("sampling.irregular", "seed", "a float", lambda: sampling.irregular(5, 0.1, seed=0.5), E.InputTypeError),
    ("sampling.irregular", "cv", "negative", lambda: sampling.irregular(10, 0.1, cv=-1.0), E.ParameterError),
    ("sampling.drops", "L", "0", lambda: sampling.drops(0, 0.1, 0.5), E.ParameterError),
    ("sampling.drops", "dt", "inf", lambda: sampling.drops(5, INF, 0.5), E.StepSizeError),
    ("sampling.drops", "fraction", "1.5", lambda: sampling.drops(5, 0.1, 1.5), E.ParameterError),
    ("sampling.drops", "mode", "unknown", lambda: sampling.drops(5, 0.1, 0.5, mode="drop"), E.MethodError),
    ("sampling.drops", "draws", "2.5", lambda: sampling.drops(5, 0.1, 0.5, draws=2.5), E.InputTypeError),
    ("sampling.drops", "seed", "negative", lambda: sampling.drops(5, 0.1, 0.5, seed=-1), E.ParameterError),
    ("sampling.drops", "noise_std", "NaN", lambda: sampling.drops(5, 0.1, 0.5, mode="noise", noise_std=NAN), E.ParameterError),
    ("sampling.timestamps", "t", "decreasing", lambda: sampling.timestamps([0.0, 0.2, 0.1], 0.1), E.StepSizeError),
    ("sampling.timestamps", "dt", "negative", lambda: sampling.timestamps([0.0, 0.1], -0.1), E.StepSizeError),
    # ---------------------------------------------------------------- signals
    ("signals.Signal.__call__", "t", "NaN", lambda: SIG(np.array([0.0, NAN])), E.NonFiniteError),
    ("signals.SumOfSines", "B", "0", lambda: signals.SumOfSines(B=0), E.ParameterError),
    ("signals.SumOfSines", "P", "a float", lambda: signals.SumOfSines(P=1.5), E.InputTypeError),
    ("signals.SumOfSines", "n_terms", "0", lambda: signals.SumOfSines(n_terms=0), E.ParameterError),
    ("signals.SumOfSines", "freq", "reversed", lambda: signals.SumOfSines(freq=(2.0, 1.0)), E.ParameterError),
    ("signals.SumOfSines", "seed", "a float", lambda: signals.SumOfSines(seed=1.5), E.InputTypeError),
    ("signals.Pendulum", "B", "0", lambda: signals.Pendulum(B=0), E.ParameterError),
    ("signals.Pendulum", "duration", "negative", lambda: signals.Pendulum(duration=-1.0), E.ParameterError),
    ("signals.Pendulum", "seed", "a string", lambda: signals.Pendulum(seed="x"), E.InputTypeError),
    ("signals.Pendulum", "sim_dt", "zero", lambda: signals.Pendulum(sim_dt=0.0), E.StepSizeError),
    ("signals.Pendulum", "friction", "negative", lambda: signals.Pendulum(friction=-1.0), E.ParameterError),
    ("signals.Pendulum", "transition_noise_std", "NaN", lambda: signals.Pendulum(transition_noise_std=NAN), E.ParameterError),
    ("signals.Pendulum", "g", "a string", lambda: signals.Pendulum(g="9.81"), E.InputTypeError),
    ("signals.Pendulum", "length", "zero", lambda: signals.Pendulum(length=0.0), E.ParameterError),
    ("signals.Pendulum", "observe", "unknown", lambda: signals.Pendulum(observe="height"), E.MethodError),
    ("signals.Pendulum", "max_init_velocity", "inf", lambda: signals.Pendulum(max_init_velocity=INF), E.ParameterError),
    ("signals.ArraySignal", "values", "wrong length", lambda: signals.ArraySignal([1.0, 2.0], [0.0, 1.0, 2.0]), E.ShapeError),
    ("signals.ArraySignal", "times", "duplicated", lambda: signals.ArraySignal([1.0, 2.0], [0.0, 0.0]), E.StepSizeError),
    ("signals.ArraySignal", "interp", "unknown", lambda: signals.ArraySignal([1.0], [0.0], interp="cubic"), E.MethodError),
    # ---------------------------------------------------------------- symbolic
    ("symbolic.eigenvalue_map_expr", "method", "unknown", lambda: smr.symbolic.eigenvalue_map_expr("rk4"), E.MethodError),
    ("symbolic.eigenvalue_map_expr", "alpha", "2", lambda: smr.symbolic.eigenvalue_map_expr("gbt", 2), E.AlphaError),
    ("symbolic.input_matrix_expr", "method", "unknown", lambda: smr.symbolic.input_matrix_expr("rk4"), E.MethodError),
    ("symbolic.input_matrix_expr", "alpha", "with zoh", lambda: smr.symbolic.input_matrix_expr("zoh", 0.5), E.AlphaError),
    ("symbolic.discretize_2x2", "method", "unknown", lambda: smr.symbolic.discretize_2x2("rk4"), E.MethodError),
    ("symbolic.discretize_2x2", "alpha", "-1", lambda: smr.symbolic.discretize_2x2("gbt", -1), E.AlphaError),
    ("symbolic.discretize_2x2", "A", "3x3", lambda: smr.symbolic.discretize_2x2(A=np.eye(3)), E.ShapeError),
    ("symbolic.discretize_2x2", "B", "3 rows", lambda: smr.symbolic.discretize_2x2(B=np.ones((3, 1))), E.ShapeError),
    ("symbolic.discretize_2x2", "simplify", "a string", lambda: smr.symbolic.discretize_2x2(simplify="y"), E.InputTypeError),
    ("symbolic.lyapunov_difference_expr", "n", "0", lambda: smr.symbolic.lyapunov_difference_expr(n=0), E.ParameterError),
    ("symbolic.lyapunov_difference_expr", "m", "2.5", lambda: smr.symbolic.lyapunov_difference_expr(m=2.5), E.ParameterError),
    ("symbolic.continuous_derivative_expr", "n", "-1", lambda: smr.symbolic.continuous_derivative_expr(n=-1), E.ParameterError),
    ("symbolic.continuous_derivative_expr", "m", "a string", lambda: smr.symbolic.continuous_derivative_expr(m="1"), E.ParameterError),
    ("symbolic.latex", "obj", "a lambda", lambda: smr.symbolic.latex(lambda: 0), E.InputTypeError),
    ("symbolic.derivation_latex", "name", "unknown", lambda: smr.symbolic.derivation_latex("nope"), E.ParameterError),
    ("symbolic.Derivation.lambdify", "key", "unknown", lambda: _derivation().lambdify("nope"), E.ParameterError),
    ("symbolic.Derivation.lambdify", "modules", "a number", lambda: _derivation().lambdify(modules=3), E.InputTypeError),
    # ---------------------------------------------------------------- torch layers
    ("nn.S4", "H", "0", lambda: snn.S4(0), E.ShapeError),
    ("nn.S4", "N", "2.5", lambda: snn.S4(4, N=2.5), E.ShapeError),
    ("nn.S4", "dt_min", "negative", lambda: snn.S4(4, dt_min=-1.0), E.ParameterError),
    ("nn.S4", "dt_max", "below dt_min", lambda: snn.S4(4, dt_min=0.1, dt_max=0.01), E.ParameterError),
    ("nn.S4", "smr", "a string", lambda: snn.S4(4, smr="yes"), E.InputTypeError),
    ("nn.S4", "tau", "0", lambda: snn.S4(4, smr=True, tau=0), E.ShapeError),
    ("nn.S4.forward", "u", "wrong channels", lambda: snn.S4(4, N=4)(torch.randn(1, 5, 3)), E.ShapeError),
    ("nn.S4.forward", "dt", "wrong shape", lambda: snn.S4(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    ("nn.S4D", "H", "a string", lambda: snn.S4D("4"), E.ShapeError),
    ("nn.S4D", "N", "0", lambda: snn.S4D(4, N=0), E.ShapeError),
    ("nn.S4D", "init", "unknown", lambda: snn.S4D(4, init="hippo"), E.ParameterError),
    ("nn.S4D", "method", "unknown", lambda: snn.S4D(4, method="rk4"), E.MethodError),
    ("nn.S4D", "dt_min", "NaN", lambda: snn.S4D(4, dt_min=NAN), E.ParameterError),
    ("nn.S4D", "dt_max", "zero", lambda: snn.S4D(4, dt_max=0.0), E.ParameterError),
    ("nn.S4D", "learn_B", "a string", lambda: snn.S4D(4, learn_B="yes"), E.InputTypeError),
    ("nn.S4D", "smr", "1", lambda: snn.S4D(4, smr=1), E.InputTypeError),
    ("nn.S4D", "tau", "2.5", lambda: snn.S4D(4, smr=True, tau=2.5), E.ShapeError),
    ("nn.S4D.forward", "u", "wrong channel count", lambda: snn.S4D(4, N=4)(torch.randn(1, 5, 3)), E.ShapeError),
    ("nn.S4D.forward", "u", "2-D input", lambda: snn.S4D(4, N=4)(torch.randn(5, 4)), E.ShapeError),
    ("nn.S4D.forward", "u", "NaN", lambda: snn.S4D(4, N=4)(_nan()), E.NonFiniteError),
    ("nn.S4D.forward", "u", "a numpy array", lambda: snn.S4D(4, N=4)(np.ones((1, 5, 4))), E.InputTypeError),
    ("nn.S4D.forward", "dt", "wrong shape", lambda: snn.S4D(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    ("nn.S5", "H", "0", lambda: snn.S5(0), E.ShapeError),
    ("nn.S5", "N", "a float", lambda: snn.S5(4, N=4.0), E.ShapeError),
    ("nn.S5", "P", "0", lambda: snn.S5(4, N=4, P=0), E.ShapeError),
    ("nn.S5", "smr", "a string", lambda: snn.S5(4, N=4, smr="no"), E.InputTypeError),
    ("nn.S5", "tau", "0", lambda: snn.S5(4, N=4, smr=True, tau=0), E.ShapeError),
    ("nn.S5", "dt_min", "inf", lambda: snn.S5(4, N=4, dt_min=INF), E.ParameterError),
    ("nn.S5", "dt_max", "a string", lambda: snn.S5(4, N=4, dt_max="0.1"), E.InputTypeError),
    ("nn.S5", "step_per_state", "a string", lambda: snn.S5(4, N=4, step_per_state="y"), E.InputTypeError),
    ("nn.S5", "blocks", "not a divisor", lambda: snn.S5(4, N=4, blocks=3), E.ShapeError),
    ("nn.S5.forward", "u", "3 channels", lambda: snn.S5(4, N=4)(torch.randn(1, 5, 3)), E.ShapeError),
    ("nn.S5.forward", "dt", "negative gaps", lambda: snn.S5(4, N=4)(T, -torch.ones(1, 5)), E.StepSizeError),
    ("nn.S5.forward", "dt", "NaN gap", lambda: snn.S5(4, N=4)(torch.randn(1, 2, 4), torch.tensor([[1.0, NAN]])), E.StepSizeError),
    ("nn.S5.forward", "dt", "wrong shape", lambda: snn.S5(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    ("nn.S6", "H", "-1", lambda: snn.S6(-1), E.ShapeError),
    ("nn.S6", "N", "0", lambda: snn.S6(4, N=0), E.ShapeError),
    ("nn.S6", "smr", "None", lambda: snn.S6(4, smr=None), E.InputTypeError),
    ("nn.S6", "tau", "a string", lambda: snn.S6(4, smr=True, tau="4"), E.ShapeError),
    ("nn.S6", "dt_min", "zero", lambda: snn.S6(4, dt_min=0.0), E.ParameterError),
    ("nn.S6", "dt_max", "NaN", lambda: snn.S6(4, dt_max=NAN), E.ParameterError),
    ("nn.S6.forward", "u", "NaN", lambda: snn.S6(4, N=4)(_nan()), E.NonFiniteError),
    ("nn.S6.forward", "dt", "wrong shape", lambda: snn.S6(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    ("nn.SMR", "H", "0", lambda: snn.SMR(0), E.ShapeError),
    ("nn.SMR", "tau", "0", lambda: snn.SMR(4, tau=0), E.ShapeError),
    ("nn.SMR", "init_bias", "NaN", lambda: snn.SMR(4, init_bias=NAN), E.ParameterError),
    ("nn.SMR.forward", "u", "wrong channels", lambda: snn.SMR(4)(torch.randn(1, 5, 3)), E.ShapeError),
    ("nn.SPADE", "H", "a float", lambda: snn.SPADE(4.0), E.ShapeError),
    ("nn.SPADE", "N", "0", lambda: snn.SPADE(4, N=0), E.ShapeError),
    ("nn.SPADE", "window", "0", lambda: snn.SPADE(4, window=0), E.ParameterError),
    ("nn.SPADE", "heads", "not a divisor", lambda: snn.SPADE(4, heads=3), E.ParameterError),
    ("nn.SPADE", "smr", "a string", lambda: snn.SPADE(4, smr="y"), E.InputTypeError),
    ("nn.SPADE", "tau", "0", lambda: snn.SPADE(4, smr=True, tau=0), E.ShapeError),
    ("nn.SPADE.forward", "u", "2-D", lambda: snn.SPADE(4, N=4)(torch.randn(5, 4)), E.ShapeError),
    ("nn.SPADE.forward", "dt", "wrong shape", lambda: snn.SPADE(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    ("nn.MegaEMA", "H", "0", lambda: snn.MegaEMA(0), E.ShapeError),
    ("nn.MegaEMA", "N", "a string", lambda: snn.MegaEMA(4, N="4"), E.ShapeError),
    ("nn.MegaEMA", "smr", "a string", lambda: snn.MegaEMA(4, smr="y"), E.InputTypeError),
    ("nn.MegaEMA", "tau", "-1", lambda: snn.MegaEMA(4, smr=True, tau=-1), E.ShapeError),
    ("nn.MegaEMA.forward", "u", "NaN", lambda: snn.MegaEMA(4, N=4)(_nan()), E.NonFiniteError),
    ("nn.MegaEMA.forward", "dt", "wrong shape", lambda: snn.MegaEMA(4, N=4)(T, torch.ones(1, 4)), E.ShapeError),
    # ---------------------------------------------------------------- scans
    ("nn.linear_scan", "a", "2-D vs 3-D", lambda: snn.linear_scan(torch.ones(5, 2), torch.ones(2, 6, 2)), E.ShapeError),
    ("nn.linear_scan", "b", "a numpy array", lambda: snn.linear_scan(torch.ones(5, 2), np.ones((5, 2))), E.InputTypeError),
    ("nn.linear_scan", "method", "unknown", lambda: snn.linear_scan(torch.ones(5, 2), torch.ones(5, 2), "fast"), E.MethodError),
    ("nn.linear_scan_reference", "a", "1-D", lambda: snn.linear_scan_reference(torch.ones(5), torch.ones(5)), E.ShapeError),
    ("nn.linear_scan_reference", "b", "a list", lambda: snn.linear_scan_reference(torch.ones(5, 2), [[1.0]]), E.InputTypeError),
    ("nn.selective_scan", "delta", "wrong shape", lambda: snn.selective_scan(torch.ones(1, 5, 3), *_sel()[1:]), E.ShapeError),
    ("nn.selective_scan", "A", "wrong shape", lambda: snn.selective_scan(_sel()[0], torch.ones(3, 2), *_sel()[2:]), E.ShapeError),
    ("nn.selective_scan", "Bk", "wrong shape", lambda: snn.selective_scan(*_sel()[:2], torch.ones(1, 5, 3), *_sel()[3:]), E.ShapeError),
    ("nn.selective_scan", "Ck", "a numpy array", lambda: snn.selective_scan(*_sel()[:3], np.ones((1, 5, 2)), _sel()[4]), E.InputTypeError),
    ("nn.selective_scan", "u", "wrong shape", lambda: snn.selective_scan(*_sel()[:4], torch.ones(1, 4, 4)), E.ShapeError),
    ("nn.selective_scan", "method", "unknown", lambda: snn.selective_scan(*_sel(), method="fast"), E.MethodError),
    ("nn.selective_scan_reference", "delta", "a list", lambda: snn.selective_scan_reference([1.0], *_sel()[1:]), E.InputTypeError),
    ("nn.selective_scan_reference", "A", "3-D", lambda: snn.selective_scan_reference(_sel()[0], torch.ones(1, 4, 2), *_sel()[2:]), E.ShapeError),
    ("nn.selective_scan_reference", "Bk", "2-D", lambda: snn.selective_scan_reference(*_sel()[:2], torch.ones(5, 2), *_sel()[3:]), E.ShapeError),
    ("nn.selective_scan_reference", "Ck", "wrong length", lambda: snn.selective_scan_reference(*_sel()[:3], torch.ones(1, 4, 2), _sel()[4]), E.ShapeError),
    ("nn.selective_scan_reference", "u", "a list", lambda: snn.selective_scan_reference(*_sel()[:4], [1.0]), E.InputTypeError),
    ("nn.zoh_gap_scan", "lam", "wrong length", lambda: snn.zoh_gap_scan(torch.ones(3, dtype=torch.cfloat), *_zoh()[1:]), E.ShapeError),
    ("nn.zoh_gap_scan", "step", "wrong length", lambda: snn.zoh_gap_scan(_zoh()[0], torch.ones(3), *_zoh()[2:]), E.ShapeError),
    ("nn.zoh_gap_scan", "gaps", "wrong shape", lambda: snn.zoh_gap_scan(*_zoh()[:2], torch.ones(1, 4), _zoh()[3]), E.ShapeError),
    ("nn.zoh_gap_scan", "Bu", "a numpy array", lambda: snn.zoh_gap_scan(*_zoh()[:3], np.ones((1, 5, 2))), E.InputTypeError),
    ("nn.zoh_gap_scan", "method", "unknown", lambda: snn.zoh_gap_scan(*_zoh(), method="fast"), E.MethodError),
    # ---------------------------------------------------------------- model, configs, tasks
    ("nn.SequenceModel", "config", "a dict", lambda: snn.SequenceModel({"layer": "s4d"}, 1, 1), E.InputTypeError),
    ("nn.SequenceModel", "P", "0", lambda: snn.SequenceModel(snn.TrainConfig(), 0, 1), E.ShapeError),
    ("nn.SequenceModel", "Q", "a float", lambda: snn.SequenceModel(snn.TrainConfig(), 1, 1.5), E.ShapeError),
    ("nn.SequenceModel", "time_unit", "zero", lambda: snn.SequenceModel(snn.TrainConfig(), 1, 1, time_unit=0.0), E.ParameterError),
    ("nn.SequenceModel.forward", "u", "wrong channels", lambda: _sm()(torch.ones(1, 5, 2)), E.ShapeError),
    ("nn.SequenceModel.forward", "t", "wrong shape", lambda: _sm(layer="s5", use_timestamps=True)(torch.ones(1, 5, 1), torch.ones(1, 4)), E.ShapeError),
    ("nn.SequenceModel.forward", "return_var", "with the mse head", lambda: _sm()(torch.ones(1, 5, 1), return_var=True), E.ParameterError),
    ("nn.TrainConfig", "task", "unknown", lambda: snn.TrainConfig(task="mnist"), E.ParameterError),
    ("nn.TrainConfig", "layer", "unknown", lambda: snn.TrainConfig(layer="lstm"), E.ParameterError),
    ("nn.TrainConfig", "smr", "1", lambda: snn.TrainConfig(smr=1), E.InputTypeError),
    ("nn.TrainConfig", "tau", "0", lambda: snn.TrainConfig(tau=0), E.ParameterError),
    ("nn.TrainConfig", "width", "2.5", lambda: snn.TrainConfig(width=2.5), E.InputTypeError),
    ("nn.TrainConfig", "state", "0", lambda: snn.TrainConfig(state=0), E.ParameterError),
    ("nn.TrainConfig", "depth", "a string", lambda: snn.TrainConfig(depth="2"), E.InputTypeError),
    ("nn.TrainConfig", "epochs", "2.5", lambda: snn.TrainConfig(epochs=2.5), E.InputTypeError),
    ("nn.TrainConfig", "batch_size", "0", lambda: snn.TrainConfig(batch_size=0), E.ParameterError),
    ("nn.TrainConfig", "lr", "a string", lambda: snn.TrainConfig(lr="1"), E.InputTypeError),
    ("nn.TrainConfig", "ssm_lr", "zero", lambda: snn.TrainConfig(ssm_lr=0.0), E.ParameterError),
    ("nn.TrainConfig", "weight_decay", "-1", lambda: snn.TrainConfig(weight_decay=-1.0), E.ParameterError),
    ("nn.TrainConfig", "grad_clip", "NaN", lambda: snn.TrainConfig(grad_clip=NAN), E.ParameterError),
    ("nn.TrainConfig", "seed", "-1", lambda: snn.TrainConfig(seed=-1), E.ParameterError),
    ("nn.TrainConfig", "small", "a string", lambda: snn.TrainConfig(small="yes"), E.InputTypeError),
    ("nn.TrainConfig", "use_timestamps", "0", lambda: snn.TrainConfig(use_timestamps=0), E.InputTypeError),
    ("nn.TrainConfig", "encoder", "unknown", lambda: snn.TrainConfig(encoder="rnn"), E.ParameterError),
    ("nn.TrainConfig", "decoder", "unknown", lambda: snn.TrainConfig(decoder="rnn"), E.ParameterError),
    ("nn.TrainConfig", "activation", "unknown", lambda: snn.TrainConfig(activation="relu6"), E.ParameterError),
    ("nn.TrainConfig", "norm", "unknown", lambda: snn.TrainConfig(norm="batch"), E.ParameterError),
    ("nn.TrainConfig", "dropout", "1", lambda: snn.TrainConfig(dropout=1.0), E.ParameterError),
    ("nn.TrainConfig", "warmup_epochs", "as many as epochs", lambda: snn.TrainConfig(warmup_epochs=10), E.ParameterError),
    ("nn.TrainConfig", "head", "unknown", lambda: snn.TrainConfig(head="l1"), E.ParameterError),
    ("nn.TrainConfig", "step_per_state", "on S4D", lambda: snn.TrainConfig(step_per_state=True), E.ParameterError),
    ("nn.TrainConfig", "blocks", "not a divisor", lambda: snn.TrainConfig(layer="s5", state=4, blocks=3), E.ParameterError),
    ("nn.TrainConfig", "dt_min", "zero", lambda: snn.TrainConfig(dt_min=0.0), E.ParameterError),
    ("nn.TrainConfig", "dt_max", "below dt_min", lambda: snn.TrainConfig(dt_min=0.1, dt_max=0.01), E.ParameterError),
    ("nn.TrainConfig", "augment", "on the pendulum", lambda: snn.TrainConfig(task="pendulum", augment=True), E.ParameterError),
    ("nn.TrainConfig", "gap_input", "with the cnn encoder", lambda: snn.TrainConfig(task="pendulum", encoder="cnn", gap_input=True), E.ParameterError),
    ("nn.TrainConfig", "encoder", "cnn on the sines task", lambda: snn.TrainConfig(encoder="cnn"), E.ParameterError),
    ("nn.TrainConfig.recipe", "task", "unknown", lambda: snn.TrainConfig.recipe("mnist"), E.ParameterError),
    ("nn.TrainConfig.recipe", "overrides", "unknown key", lambda: snn.TrainConfig.recipe("sines", widht=4), E.ParameterError),
    ("nn.TrainConfig.from_dict", "d", "unknown key", lambda: snn.TrainConfig.from_dict({"widht": 4}), E.ParameterError),
    ("nn.TrainConfig.from_dict", "d", "not a dict", lambda: snn.TrainConfig.from_dict(["width"]), E.InputTypeError),
    ("nn.SinesConfig", "n_train", "0", lambda: snn.SinesConfig(n_train=0), E.ParameterError),
    ("nn.SinesConfig", "n_val", "a float", lambda: snn.SinesConfig(n_val=1.5), E.InputTypeError),
    ("nn.SinesConfig", "n_test", "-1", lambda: snn.SinesConfig(n_test=-1), E.ParameterError),
    ("nn.SinesConfig", "L", "0", lambda: snn.SinesConfig(L=0), E.ParameterError),
    ("nn.SinesConfig", "dt", "zero", lambda: snn.SinesConfig(dt=0.0), E.ParameterError),
    ("nn.SinesConfig", "n_terms", "a string", lambda: snn.SinesConfig(n_terms="4"), E.InputTypeError),
    ("nn.SinesConfig", "freq", "reversed", lambda: snn.SinesConfig(freq=(2.0, 1.0)), E.ParameterError),
    ("nn.SinesConfig", "seed", "-1", lambda: snn.SinesConfig(seed=-1), E.ParameterError),
    ("nn.SinesConfig.small", "overrides", "unknown key", lambda: snn.SinesConfig.small(LL=4), E.ParameterError),
    ("nn.PendulumConfig", "n_train", "0", lambda: snn.PendulumConfig(n_train=0), E.ParameterError),
    ("nn.PendulumConfig", "n_val", "-1", lambda: snn.PendulumConfig(n_val=-1), E.ParameterError),
    ("nn.PendulumConfig", "n_test", "a float", lambda: snn.PendulumConfig(n_test=2.5), E.InputTypeError),
    ("nn.PendulumConfig", "steps", "0", lambda: snn.PendulumConfig(steps=0), E.ParameterError),
    ("nn.PendulumConfig", "keep", "above steps", lambda: snn.PendulumConfig(keep=200), E.ParameterError),
    ("nn.PendulumConfig", "size", "0", lambda: snn.PendulumConfig(size=0), E.ParameterError),
    ("nn.PendulumConfig", "canvas", "a string", lambda: snn.PendulumConfig(canvas="128"), E.InputTypeError),
    ("nn.PendulumConfig", "line_length", "negative", lambda: snn.PendulumConfig(line_length=-1.0), E.ParameterError),
    ("nn.PendulumConfig", "line_width", "0", lambda: snn.PendulumConfig(line_width=0), E.ParameterError),
    ("nn.PendulumConfig", "dt", "zero", lambda: snn.PendulumConfig(dt=0.0), E.ParameterError),
    ("nn.PendulumConfig", "sim_dt", "above dt", lambda: snn.PendulumConfig(sim_dt=0.1), E.ParameterError),
    ("nn.PendulumConfig", "friction", "negative", lambda: snn.PendulumConfig(friction=-1.0), E.ParameterError),
    ("nn.PendulumConfig", "process_noise", "NaN", lambda: snn.PendulumConfig(process_noise=NAN), E.ParameterError),
    ("nn.PendulumConfig", "observation_noise", "negative", lambda: snn.PendulumConfig(observation_noise=-1.0), E.ParameterError),
    ("nn.PendulumConfig", "noise", "1.5", lambda: snn.PendulumConfig(noise=1.5), E.ParameterError),
    ("nn.PendulumConfig", "noise_step", "negative", lambda: snn.PendulumConfig(noise_step=-0.1), E.ParameterError),
    ("nn.PendulumConfig", "noise_low", "reversed", lambda: snn.PendulumConfig(noise_low=(0.25, 0.0)), E.ParameterError),
    ("nn.PendulumConfig", "noise_high", "one number", lambda: snn.PendulumConfig(noise_high=0.75), E.ParameterError),
    ("nn.PendulumConfig", "clean_frames", "-1", lambda: snn.PendulumConfig(clean_frames=-1), E.ParameterError),
    ("nn.PendulumConfig", "quantize", "a string", lambda: snn.PendulumConfig(quantize="yes"), E.InputTypeError),
    ("nn.PendulumConfig", "seed", "-1", lambda: snn.PendulumConfig(seed=-1), E.ParameterError),
    ("nn.PendulumConfig.small", "overrides", "unknown key", lambda: snn.PendulumConfig.small(stepz=4), E.ParameterError),
    ("nn.load_task", "config", "a SinesConfig", lambda: snn.load_task(snn.SinesConfig()), E.InputTypeError),
    ("nn.make_sines", "config", "a TrainConfig", lambda: snn.make_sines(snn.TrainConfig()), E.InputTypeError),
    ("nn.make_sines", "cache_dir", "a number", lambda: snn.make_sines(snn.SinesConfig.small(), cache_dir=3), E.InputTypeError),
    ("nn.make_pendulum", "config", "a dict", lambda: snn.make_pendulum({}), E.InputTypeError),
    ("nn.make_pendulum", "cache_dir", "a number", lambda: snn.make_pendulum(snn.PendulumConfig.small(), cache_dir=3), E.InputTypeError),
    ("nn.make_pendulum", "progress", "a string", lambda: snn.make_pendulum(snn.PendulumConfig.small(), progress="y"), E.InputTypeError),
    ("nn.param_groups", "module", "not a module", lambda: snn.param_groups([1, 2]), E.InputTypeError),
    ("nn.param_groups", "weight_decay", "negative", lambda: snn.param_groups(snn.S4D(4, N=4), weight_decay=-1.0), E.ParameterError),
    ("nn.param_groups", "ssm_lr", "zero", lambda: snn.param_groups(snn.S4D(4, N=4), ssm_lr=0.0), E.ParameterError),
    # ---------------------------------------------------------------- runs
    ("nn.load_run", "out", "no run there", lambda: snn.load_run("/nonexistent/run"), E.ParameterError),
    ("nn.load_run", "out", "a number", lambda: snn.load_run(3), E.InputTypeError),
    ("nn.load_run", "weights", "unknown", lambda: snn.load_run("/nonexistent/run", weights="first"), E.ParameterError),
    ("nn.evaluate_run", "run", "no run there", lambda: snn.evaluate_run("/nonexistent/run"), E.ParameterError),
    ("nn.evaluate_run", "schedules", "unknown", lambda: snn.evaluate_run("/nonexistent/run", schedules=["nope"]), E.ParameterError),
    ("nn.evaluate_run", "batch_size", "0", lambda: snn.evaluate_run("/nonexistent/run", batch_size=0), E.ParameterError),
    ("nn.evaluate_run", "weights", "unknown", lambda: snn.evaluate_run("/nonexistent/run", weights="first"), E.ParameterError),
    ("nn.evaluate_run", "device", "unknown", lambda: snn.evaluate_run("/nonexistent/run", device="tpu"), E.ParameterError),
    ("nn.verify_checkpoint", "run", "a number", lambda: snn.verify_checkpoint(3), E.InputTypeError),
    ("nn.verify_checkpoint", "schedules", "a string", lambda: snn.verify_checkpoint("/nonexistent/run", schedules="jitter"), E.InputTypeError),
    ("nn.verify_checkpoint", "sigma", "1", lambda: snn.verify_checkpoint("/nonexistent/run", sigma=1.0), E.ParameterError),
    ("nn.verify_checkpoint", "weights", "unknown", lambda: snn.verify_checkpoint("/nonexistent/run", weights="first"), E.ParameterError),
]  # fmt: skip


def _sel(B=1, L=5, H=4, N=2):
    """Valid selective_scan arguments: delta (B, L, H), A (H, N), Bk, Ck (B, L, N), u (B, L, H)."""
    return torch.ones(B, L, H), -torch.ones(H, N), torch.ones(B, L, N), torch.ones(B, L, N), torch.ones(B, L, H)


def _zoh(B=1, L=5, N=2):
    """Valid zoh_gap_scan arguments: lam (N,), step (1,), gaps (B, L), Bu (B, L, N)."""
    return -torch.ones(N, dtype=torch.cfloat), torch.ones(1), torch.ones(B, L), torch.ones(B, L, N, dtype=torch.cfloat)


# Public classes that hold results: the library builds them, users read them.
OUTPUTS = ("DivergenceResult", "ErrorGain", "GammaStar", "KreissResult", "Theorem1Report")
NN_OUTPUTS = ("ExportedChannel", "V4Report", "SSMLayer", "LAYERS")  # SSMLayer: the layers' abstract base
SKIP = ("stability_report",)  # being reworked elsewhere; issue 15 leaves it out of the catalogue

# Every public callable the catalogue covers, by the name its entries use.
COVERED = {
    **{n: getattr(smr, n) for n in smr.__all__ if callable(getattr(smr, n)) and n[0].islower() and n not in SKIP},
    "SSM": smr.SSM,
    "SSM.discretize": smr.SSM.discretize,
    "SSM.from_control": smr.SSM.from_control,
    "DivergenceResult.table": DivergenceResult.table,
    "DivergenceResult.from_npz": DivergenceResult.from_npz,
    **{f"sampling.{n}": getattr(sampling, n) for n in sampling.__all__},
    "Schedule.sample": sampling.Schedule.sample,
    **{f"signals.{n}": getattr(signals, n) for n in signals.__all__ if callable(getattr(signals, n)) and n != "Signal"},
    "signals.Signal.__call__": signals.Signal.__call__,
    **{
        f"symbolic.{n}": getattr(smr.symbolic, n)
        for n in smr.symbolic.__all__
        if callable(getattr(smr.symbolic, n)) and n != "Derivation"
    },
    "symbolic.Derivation.lambdify": smr.symbolic.Derivation.lambdify,
    **{f"nn.{n}": getattr(snn, n) for n in snn.__all__ if callable(getattr(snn, n)) and n not in NN_OUTPUTS},
    **{f"nn.{n}.forward": getattr(snn, n).forward for n in ("S4", "S4D", "S5", "S6", "SMR", "SPADE", "MegaEMA")},
    "nn.SequenceModel.forward": snn.SequenceModel.forward,
    "nn.TrainConfig.recipe": snn.TrainConfig.recipe,
    "nn.TrainConfig.from_dict": snn.TrainConfig.from_dict,
    "nn.SinesConfig.small": snn.SinesConfig.small,
    "nn.PendulumConfig.small": snn.PendulumConfig.small,
}

# Parameters that take no data from the user, by callable: display switches only.
NO_USER_INPUT = {
    ("verify_theorem1", "progress"),  # a tqdm bar on or off; any truthy value works
}
# **overrides: the message names the bad key; there is no parameter name to give.
NAMELESS = ("overrides",)


def _parameters(f):
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    sig = inspect.signature(f)
    return [p.name for p in sig.parameters.values() if p.kind not in kinds and p.name not in ("self", "cls")]


@pytest.mark.parametrize("name, param, what, call, error", CATALOGUE, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CATALOGUE])
def test_bad_input_raises_its_named_error(name, param, what, call, error):
    with pytest.raises(error) as info:
        call()
    msg = str(info.value)
    assert isinstance(info.value, errors.SMRStabilityError) and isinstance(info.value, (ValueError, TypeError))
    assert "found" in msg and len(msg) > 30, msg  # what it found, beside what it expected (or 'must be')
    assert param in msg or param in NAMELESS, f"the message does not name {param!r}: {msg}"


def test_every_expected_error_is_a_named_value_or_type_error():
    for name, param, what, _, error in CATALOGUE:
        assert issubclass(error, errors.SMRStabilityError), (name, param, what)
        assert issubclass(error, (ValueError, TypeError)), (name, param, what)
        assert error.__name__ in errors.__all__, (name, param, what)


def test_every_parameter_of_every_public_callable_is_in_the_catalogue():
    named = {(c[0], c[1]) for c in CATALOGUE}
    missing = [
        (name, p)
        for name, f in COVERED.items()
        for p in _parameters(f)
        if (name, p) not in named and (name, p) not in NO_USER_INPUT
    ]
    assert not missing, f"parameters without a bad-input entry: {missing}"
    assert {c[0] for c in CATALOGUE} <= set(COVERED), "an entry names a callable that is not covered"
    for name, param, *_ in CATALOGUE:
        assert param in inspect.signature(COVERED[name]).parameters, (name, param)


def test_the_covered_callables_are_the_whole_public_api():
    public = {n for n in smr.__all__ if callable(getattr(smr, n))} - set(OUTPUTS) - set(SKIP)
    assert public <= set(COVERED)
    assert {f"nn.{n}" for n in snn.__all__} - {f"nn.{n}" for n in NN_OUTPUTS} <= set(COVERED)
    assert {f"sampling.{n}" for n in sampling.__all__} <= set(COVERED)
    assert {f"signals.{n}" for n in ("SumOfSines", "Pendulum", "ArraySignal")} <= set(COVERED)


@pytest.mark.parametrize(
    "argv",
    [
        ["figures", "--only", "eigenvalues", "--out", "/proc/no-such-folder/figures"],  # a path that cannot be made
        ["analyze", "--model", "s4d-lin", "--N", "4", "--dt", "-0.1"],  # a project error
    ],
)
def test_the_cli_prints_one_line_and_exits_2(argv, capsys):
    from smr_stability.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("smr-stability: error:") and "Traceback" not in err
    with pytest.raises((OSError, ValueError)):
        main(["--debug"] + argv)
