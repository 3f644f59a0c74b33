"""The diagonal linear recurrence ``x_k = a_k x_{k-1} + b_k``, forward plus backward. Prints ratios.

``smr_stability.nn.linear_scan`` on the CPU (``method='compiled'``: the sequential loop compiled,
with its adjoint) against its own ``method='chunked'`` (the path on other devices) and the ways a
user would otherwise write it in PyTorch, timed in alternation in one run, at S6's shape
(B, H, L, N) in float32:

* the log-depth doubling scan (Hillis-Steele; this package's scan before the chunked one),
  written out below, autograd through its ``ceil(log2 L)`` levels;
* the plain loop, :func:`smr_stability.nn.linear_scan_reference`, autograd through ``L`` steps.

mambapy's ``pscan`` is compared in ``bench_table.py``.

It also prints how far the results are apart (relative, forward and gradients). Run:

    python benchmarks/bench_scan.py            # B=8, H=32, L=1024, N=16 and the pendulum's shape, one thread
    python benchmarks/bench_scan.py --quick    # smoke run on tiny sizes (CI)
"""

import argparse
import functools
import statistics
import time

import torch

from smr_stability.nn import linear_scan, linear_scan_reference


def doubling_scan(a, b):
    """The Hillis-Steele doubling scan: after the level with offset ``s``, position ``k`` holds the
    composition of the pairs ``(a, b)`` from ``k - 2s + 1`` to ``k``."""
    L, s = a.shape[-2], 1
    while s < L:
        b = torch.cat([b[..., :s, :], a[..., s:, :] * b[..., :-s, :] + b[..., s:, :]], dim=-2)
        a = torch.cat([a[..., :s, :], a[..., s:, :] * a[..., :-s, :]], dim=-2)
        s *= 2
    return b


def inputs(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (0.5 + 0.5 * torch.rand(shape, generator=g)).requires_grad_()  # exp(dt A) of S6: in (0, 1)
    b = torch.randn(shape, generator=g).requires_grad_()
    return a, b


def step(scan, a, b, w):
    """Forward and backward of a fixed linear functional; returns the time, the states and the grads."""
    t = time.perf_counter()
    x = scan(a, b)
    ga, gb = torch.autograd.grad((x * w).sum(), (a, b))
    return time.perf_counter() - t, x.detach(), (ga, gb)


def rel(x, y):
    return float((x - y).abs().max() / y.abs().max())


def compare(shape, repeats, scans):
    a, b = inputs(shape)
    w = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    for scan in scans.values():  # compile (the first calls of the compiled kernels) and warm up, untimed
        for _ in range(2):
            step(scan, a, b, w)
    times = {name: [] for name in scans}
    results = {}
    for _ in range(repeats):  # in alternation, so that load changes hit all alike
        for name, scan in scans.items():
            dt, x, g = step(scan, a, b, w)
            times[name].append(dt)
            results[name] = (x, g)
    med = {name: statistics.median(v) for name, v in times.items()}
    x0, g0 = results["compiled"]
    for name in scans:
        x, g = results[name]
        err = max(rel(x0, x), *(rel(p, q) for p, q in zip(g0, g)))
        line = f"  {name:10s} {1e3 * med[name]:9.2f} ms"
        if name != "compiled":
            line += f"   {med[name] / med['compiled']:6.1f}x the compiled scan's time; max rel. difference {err:.1e}"
        print(line)
    return med


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: keep torch's default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    shapes = [(2, 3, 40, 4)] if a.quick else [(8, 32, 1024, 16), (32, 30, 50, 16)]
    for shape in shapes:
        B, H, L, N = shape
        print(f"B={B} H={H} L={L} N={N}, float32, forward + backward, {torch.get_num_threads()} thread(s):")
        scans = {"compiled": linear_scan, "chunked": functools.partial(linear_scan, method="chunked")}
        scans["doubling"] = doubling_scan
        if L <= 64:
            scans["loop"] = linear_scan_reference
        compare(shape, 3 if a.quick else 7, scans)


if __name__ == "__main__":
    main()
