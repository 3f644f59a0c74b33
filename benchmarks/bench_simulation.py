"""Simulation speed against the baselines a user would otherwise pick. Prints ratios.

1. Fixed step: ``smr_stability.simulate`` (kernel + FFT convolution, outputs only) on a batch
   of trajectories of a complex diagonal system, against ``scipy.signal.dlsim`` looped over
   the trajectories (on the equivalent real 2N-state system, since dlsim is real-only).
2. Variable step: ``smr_stability.simulate_variable_step`` (zoh at every gap) against a plain
   numpy time loop over the same batch that discretizes each step and updates the state. Also
   printed: the time numpy's exp, sin and cos alone take on the M x L x N arguments (the
   transcendental functions bound any zoh scan), and the kernel's time over it.

Both sides are checked to agree before timing. dlsim costs the same per trajectory, so it is
timed on a subset and scaled to the batch (printed). Run:

    python benchmarks/bench_simulation.py            # full sizes (about a minute)
    python benchmarks/bench_simulation.py --quick    # smoke run on tiny sizes (CI)
"""

import argparse
import time

import numba
import numpy as np
import scipy.signal

import smr_stability as smr


def best_time(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def dlsim_loop(sys_real, Ab, Bb, u):
    """dlsim uses x_{k+1} = A x_k + B u_k, y_k = C x_k + D u_k: shift to the deep-SSM output."""
    Cr = sys_real.C @ Ab
    Dr = sys_real.C @ Bb + sys_real.D
    return np.stack([scipy.signal.dlsim((Ab, Bb, Cr, Dr, 1.0), ui)[1] for ui in u])


def plain_variable_step_loop(sys, u, dt):
    """What a user would write: per step, discretize (zoh, vectorised over the batch) and update."""
    lam, B, C, D = sys.A, sys.B, sys.C, sys.D
    M, L, _ = u.shape
    x = np.zeros((M, sys.N), dtype=complex)
    y = np.empty((M, L, sys.Q))
    for k in range(L):
        z = dt[:, k, None] * lam  # (M, N)
        Ab = np.exp(z)
        Bb = (Ab - 1.0) / lam  # zoh, times B below
        x = Ab * x + Bb * (u[:, k] @ B.T)
        y[:, k] = (x @ C.T).real + u[:, k] @ D.T
    return y


def transcendentals_alone(sys, gaps, rows=4):
    """The machine's limit for any zoh scan: numpy's exp, sin and cos of every ``d lam`` (real and
    imaginary parts), M x L x N values each, in blocks of ``rows`` trajectories. Only the three
    calls are timed (not the products that make their arguments)."""
    lam = sys.A
    out = np.empty((min(rows, len(gaps)), gaps.shape[1], lam.shape[0]))
    total = 0.0
    for b in range(0, len(gaps), rows):
        g = gaps[b : b + rows, :, None]
        x, t = g * lam.real, g * lam.imag
        o = out[: len(g)]
        t0 = time.perf_counter()
        np.exp(x, out=o)
        np.sin(t, out=o)
        np.cos(t, out=o)
        total += time.perf_counter() - t0
    return total


def plain_tv_loop(Ab, Bb, C, u):
    """The textbook loop over precomputed per-step matrices (diagonal Ab)."""
    M, L, _ = u.shape
    x = np.zeros((M, Ab.shape[-1]), dtype=complex)
    y = np.empty((M, L, C.shape[0]))
    for k in range(L):
        x = Ab[:, k] * x + Bb[:, k, :, 0] * u[:, k]
        y[:, k] = (x @ C.T).real
    return y


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--N", type=int, default=64)
    p.add_argument("--L", type=int, default=4096)
    p.add_argument("--dlsim-subset", type=int, default=25, help="trajectories timed with dlsim")
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args(argv)
    if a.quick:
        a.batch, a.N, a.L, a.dlsim_subset, a.repeat = 8, 8, 64, 2, 1
    rng = np.random.default_rng(0)
    sys = smr.s4d_lin(a.N, seed=0)
    dt = 0.01
    Ab, Bb = smr.discretize(sys.A, sys.B, dt)
    u = rng.standard_normal((a.batch, a.L, 1))

    # warm-up (numba compilation is not timed)
    smr.simulate_variable_step(sys, u[:1, :4], np.full((1, 4), dt))
    smr.simulate_tv(*smr.discretize(sys.A, sys.B, np.full((1, 4), dt)), sys.C, sys.D, u[:1, :4])

    t_fft, y_fft = best_time(lambda: smr.simulate(Ab, Bb, sys.C, sys.D, u), a.repeat)
    real = smr.SSM(Ab, Bb, sys.C, sys.D).realify()  # discrete matrices, realified
    n_sub = min(a.dlsim_subset, a.batch)
    t_sub, y_sub = best_time(lambda: dlsim_loop(real, real.A, real.B, u[:n_sub]), 1)
    t_dlsim = t_sub * a.batch / n_sub
    err1 = np.max(np.abs(y_sub - y_fft[:n_sub])) / np.max(np.abs(y_sub))
    print(f"fixed step  ({a.batch} trajectories, N={a.N} diagonal complex, L={a.L}, outputs only)")
    print(f"  smr_stability.simulate (FFT): {t_fft:9.4f} s")
    print(f"  scipy.signal.dlsim loop:      {t_dlsim:9.4f} s  (timed on {n_sub}, scaled x{a.batch / n_sub:g})")
    print(f"  speed-up: {t_dlsim / t_fft:8.1f}x   (target >= 300x; max relative difference {err1:.1e})")

    gaps = rng.exponential(dt, (a.batch, a.L))  # irregular sampling: exponential gaps, mean dt
    t_vs, y_vs = best_time(lambda: smr.simulate_variable_step(sys, u, gaps), a.repeat)
    t_loop, y_loop = best_time(lambda: plain_variable_step_loop(sys, u, gaps), 1)
    err2 = np.max(np.abs(y_loop - y_vs)) / np.max(np.abs(y_loop))
    print(f"variable step ({a.batch} trajectories, N={a.N}, L={a.L}, zoh at each exponential gap)")
    print(f"  smr_stability.simulate_variable_step: {t_vs:9.4f} s")
    print(f"  plain numpy time loop:                {t_loop:9.4f} s")
    print(f"  speed-up: {t_loop / t_vs:8.1f}x   (target >= 5x; max relative difference {err2:.1e})")
    t_tr = min(transcendentals_alone(sys, gaps) for _ in range(2))
    print(
        f"  numpy exp + sin + cos alone (the machine's limit): {t_tr:9.4f} s   "
        f"(kernel / limit: {t_vs / t_tr:.2f}; numpy on 1 thread, the kernel on {numba.get_num_threads()})"
    )

    # The recurrence alone, on precomputed per-step (Ab_k, Bb_k): M x L x N arrays, so a smaller batch.
    m = max(1, a.batch // 5)
    Abk, Bbk = smr.discretize(sys.A, sys.B, gaps[:m])  # (m, L, N), (m, L, N, 1)
    t_tv, y_tv = best_time(lambda: smr.simulate_tv(Abk, Bbk, sys.C, sys.D, u[:m]), a.repeat)
    t_tl, y_tl = best_time(lambda: plain_tv_loop(Abk, Bbk, sys.C, u[:m]), 1)
    err3 = np.max(np.abs(y_tl - y_tv)) / np.max(np.abs(y_tl))
    print(f"time-varying recurrence ({m} trajectories, precomputed Ab_k, Bb_k of {Abk.nbytes / 2**20:.0f} MiB)")
    print(f"  smr_stability.simulate_tv: {t_tv:9.4f} s")
    print(f"  plain numpy time loop:     {t_tl:9.4f} s")
    print(f"  speed-up: {t_tl / t_tv:8.1f}x   (max relative difference {err3:.1e})")


if __name__ == "__main__":
    main()
