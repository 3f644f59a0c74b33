"""A Monte-Carlo divergence experiment, end to end, against looping scipy.signal.dlsim.

End to end means: the jitter schedule, the signal evaluated on the grid and at the perturbed
times, the nominal and perturbed runs, and the per-step error metrics (state error, relative
state error, output error and their means over draws). The baseline is what a user would
write with scipy: for every draw, dlsim the nominal and the perturbed input (on the equivalent
real 2N-state system, since dlsim is real-only) and compute the metrics with numpy. dlsim
costs the same per draw, so it is timed on a subset and scaled (printed); the toolkit is run
on that subset too, untimed, to check the two agree.

    python benchmarks/bench_divergence.py            # 1000 draws, N=64, L=4096
    python benchmarks/bench_divergence.py --quick    # smoke run (CI)
"""

import argparse
import time

import numpy as np
import scipy.signal

import smr_stability as smr
from smr_stability import sampling, signals
from smr_stability.divergence import divergence_experiment


def toolkit(sys, L, dt, draws, seed):
    sched = sampling.jitter(L, dt, 0.2, draws=draws, seed=seed)
    sig = signals.SumOfSines(B=1, P=1, seed=seed)
    return divergence_experiment(sys, sig, sched, dt)


def baseline(sys, L, dt, draws, seed):
    """Per draw: two dlsim runs with states, then numpy metrics; returns the mean curves."""
    sched = sampling.jitter(L, dt, 0.2, draws=draws, seed=seed)
    sig = signals.SumOfSines(B=1, P=1, seed=seed)
    Ab, Bb = smr.discretize(sys.A, sys.B, dt)
    real = smr.SSM(Ab, Bb, sys.C, sys.D).realify()
    # deep-SSM x_k is dlsim's x_{k+1}: C' = C Ab, D' = C Bb + D
    lti = (real.A, real.B, real.C @ real.A, real.C @ real.B + real.D, 1.0)
    N2 = real.N
    sums = {k: np.zeros(L) for k in ("state_error", "rel_state_error", "output_error")}
    for m in range(draws):
        u_nom = sig(dt * np.arange(L))[0]  # (L, 1)
        u_per = sig(sched.times[m])[0]
        _, y0, x0 = scipy.signal.dlsim(lti, u_nom)
        _, y1, x1 = scipy.signal.dlsim(lti, u_per)
        x0 = real.A @ x0.T + real.B @ u_nom.T  # shift to the deep-SSM states x_k
        x1 = real.A @ x1.T + real.B @ u_per.T
        e = np.linalg.norm(x1 - x0, axis=0)
        sums["state_error"] += e
        sums["rel_state_error"] += e / np.linalg.norm(x0[:N2], axis=0)
        sums["output_error"] += np.abs(y1 - y0)[:, 0]
    return {k: v / draws for k, v in sums.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--N", type=int, default=64)
    p.add_argument("--L", type=int, default=4096)
    p.add_argument("--subset", type=int, default=10, help="draws timed with dlsim")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    if a.quick:
        a.draws, a.N, a.L, a.subset, a.repeat = 8, 8, 128, 2, 1
    dt, seed = 0.01, 0
    sys = smr.s4d_lin(a.N, seed=0)
    toolkit(sys, 16, dt, 2, seed)  # compile the scans (not timed)
    best = np.inf
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        toolkit(sys, a.L, dt, a.draws, seed)
        best = min(best, time.perf_counter() - t0)
    n = min(a.subset, a.draws)
    t0 = time.perf_counter()
    ref = baseline(sys, a.L, dt, n, seed)
    t_base = (time.perf_counter() - t0) * a.draws / n
    check = toolkit(sys, a.L, dt, n, seed)
    diff = max(np.max(np.abs(check.metrics[k][0, 0, 0] - v)) / np.max(np.abs(v)) for k, v in ref.items())
    print(f"divergence experiment ({a.draws} jittered draws, N={a.N} diagonal complex, L={a.L}, end to end)")
    print(f"  smr_stability.divergence_experiment: {best:9.3f} s")
    print(f"  dlsim loop (2 runs per draw):         {t_base:9.3f} s  (timed on {n}, scaled x{a.draws / n:g})")
    print(f"  speed-up: {t_base / best:8.1f}x   (target >= 300x; max relative difference {diff:.1e})")


if __name__ == "__main__":
    main()
