"""Measured convergence orders of the discretizations under the deep-SSM convention.

docs/theory.md §1: for the homogeneous system zoh is exact, bilinear order 2, Euler and backward
Euler order 1; with a smooth input fed at the step end (``x_k = Ab x_{k-1} + Bb u(t_k)``)
every method is order 1. This script measures the orders as the slope of log(error) against
log(dt) at T = 1 on a 2-state system with u = sin(3t), against the exact solution (expm of the
system augmented with the oscillator that generates sin(3t)), and prints a table.

    python analysis/discretization_accuracy.py [--json PATH]
"""

import argparse
import json

import numpy as np
from scipy.linalg import expm

import smr_stability as smr

A = np.array([[-0.5, 2.0], [-2.0, -1.0]])
B = np.array([[1.0], [0.5]])
x0 = np.array([1.0, -1.0])
OMEGA, T = 3.0, 1.0
METHODS = ("zoh", "bilinear", "euler", "backward_diff")


def exact_state(t, forced):
    """x(t) from expm of [[A, B e1^T], [0, W]], with w' = W w generating w_1 = sin(OMEGA t)."""
    W = np.array([[0.0, OMEGA], [-OMEGA, 0.0]])
    G = np.zeros((4, 4))
    G[:2, :2], G[2:, 2:] = A, W
    if forced:
        G[:2, 2:3] = B
    return (expm(t * G) @ np.concatenate([x0, [0.0, 1.0]]))[:2]


def final_error(method, dt, forced):
    K = int(round(T / dt))
    Ab, Bb = smr.discretize(A, B, dt, method=method)
    u = np.sin(OMEGA * dt * np.arange(1, K + 1))[:, None] if forced else np.zeros((K, 1))
    _, x = smr.simulate(Ab, Bb, np.eye(2), None, u, x0=x0, return_states=True)
    return np.linalg.norm(x[-1] - exact_state(T, forced)) / np.linalg.norm(exact_state(T, forced))


def measured_orders(dts=(1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256)):
    """{method: {"homogeneous": (order, errors), "forced": (order, errors)}}; order None if exact."""
    out = {}
    for method in METHODS:
        out[method] = {}
        for label, forced in (("homogeneous", False), ("forced", True)):
            err = np.array([final_error(method, dt, forced) for dt in dts])
            exact = np.all(err < 1e-13)  # at rounding level: no order to fit
            order = None if exact else float(np.polyfit(np.log(dts), np.log(err), 1)[0])
            out[method][label] = (order, err.tolist())
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", help="also write the table as JSON")
    args = p.parse_args(argv)
    res = measured_orders()
    print(f"{'method':15s} {'homogeneous':>22s} {'forced (input at step end)':>28s}")
    for method, r in res.items():
        h_order, h_err = r["homogeneous"]
        f_order, _ = r["forced"]
        h = f"exact (err {max(h_err):.0e})" if h_order is None else f"order {h_order:.2f}"
        print(f"{method:15s} {h:>22s} {'order ' + format(f_order, '.2f'):>28s}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
