"""Diagonal closed-form Lyapunov solutions against scipy's dense solvers.

For a diagonal ``A = diag(mu)`` (S4D, S5, S6, Mega) the toolkit's ``dlyap(mu, Q)`` and
``lyap(lam, Q)`` evaluate docs/theory.md §7's closed forms in O(N^2) (one compiled pass). The
baseline is what a user would otherwise write: ``scipy.linalg.solve_discrete_lyapunov`` and
``solve_continuous_lyapunov`` on the dense ``np.diag(mu)``, O(N^3). Both solve the same
equation (``A X A^H - X + Q = 0``, ``A X + X A^H + Q = 0``) on the same complex Q; the run
checks that they agree to 1e-12 relative (Frobenius) before it prints the ratio.

    python benchmarks/bench_lyapunov.py            # N = 1024 (scipy takes several seconds)
    python benchmarks/bench_lyapunov.py --quick    # smoke run, N = 32 (CI)
"""

import argparse
import time

import numpy as np
import scipy.linalg

from smr_stability.lyapunov import _diagonal_reference, dlyap, lyap


def best_of(f, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def system(N, seed=0):
    """Complex S4D-like modes (|mu| up to 0.999) and a complex Hermitian positive definite Q."""
    rng = np.random.default_rng(seed)
    lam = -rng.uniform(0.001, 1.0, N) + 1j * np.pi * rng.uniform(-N / 2, N / 2, N)
    mu = np.exp(0.1 * lam)
    M = (rng.standard_normal((N, N)) + 1j * rng.standard_normal((N, N))) / np.sqrt(2 * N)
    return lam, mu, M @ M.conj().T + np.eye(N)


def rel(X, Y):
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--N", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=20, help="repeats of the closed form (best kept)")
    a = p.parse_args(argv)
    if a.quick:
        a.N, a.repeat = 32, 3
    lam, mu, Q = system(a.N)
    t0 = time.perf_counter()
    q = np.ascontiguousarray(Q[:2, :2])
    dlyap(mu[:2], q), lyap(lam[:2], q)  # compile (or load) the kernels, not timed
    t_jit = time.perf_counter() - t0
    print(
        f"diagonal Lyapunov equations, N={a.N} complex modes, complex Hermitian Q (kernel load/compile {t_jit:.2f} s, not timed)"
    )
    rows = [
        (
            "dlyap",
            dlyap,
            mu,
            lambda: scipy.linalg.solve_discrete_lyapunov(np.diag(mu), Q),
            "solve_discrete_lyapunov",
            True,
        ),
        (
            "lyap",
            lyap,
            lam,
            lambda: scipy.linalg.solve_continuous_lyapunov(np.diag(lam), -Q),
            "solve_continuous_lyapunov",
            False,
        ),
    ]
    ok = True
    for name, solve, ev, baseline, bname, discrete in rows:
        t_fast, X = best_of(lambda: solve(ev, Q), a.repeat)
        t_np, X_np = best_of(lambda: _diagonal_reference(ev, Q, discrete), max(1, a.repeat // 4))
        t_base, X_ref = best_of(baseline, 1)
        diff = rel(X, X_ref)
        ok &= diff <= 1e-12 and rel(X_np, X_ref) <= 1e-12
        print(f"  {name}(diag), compiled closed form: {t_fast * 1e3:10.3f} ms")
        print(f"  {name}, numpy closed form:          {t_np * 1e3:10.3f} ms")
        print(f"  scipy.linalg.{bname} on np.diag: {t_base * 1e3:10.1f} ms")
        print(
            f"  speed-up: {t_base / t_fast:8.0f}x (numpy closed form {t_base / t_np:.0f}x; target >= 1000x); "
            f"max relative difference {diff:.1e} (must be <= 1e-12)"
        )
    if not ok:
        raise SystemExit("closed form and scipy disagree beyond 1e-12 relative")


if __name__ == "__main__":
    main()
