"""Training cost of SMR: one training step of each layer without and with SMR. Prints ratios.

1. Per layer (s4d, s4, s5, s6, mega, spade): the median wall time of one training step
   (forward, MSE loss, backward, gradient clipping, AdamW) of a depth-1 ``SequenceModel``,
   without and with the SMR gate (tau = 4), and the ratio with/without.
2. S5 in convolution mode (equal steps) against its variable-step scan (the true gaps
   passed as ``dt``), for several L, and the ratio scan/conv.

Each compared pair is timed in alternation in one run (``smr_stability.experiments.cost.measure``), so the
ratios are the numbers to read; absolute times move with the machine's load. Run:

    python benchmarks/bench_training.py            # B=8, L=1024, H=32, N=32, one thread (about a minute)
    python benchmarks/bench_training.py --quick    # smoke run on tiny sizes (CI)
"""

import argparse
import time

from smr_stability.experiments.cost import measure


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--layers", nargs="+", default=None, help="layers to time (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads while timing (0: keep torch's default)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    res = measure(quick=a.quick, layers=a.layers, progress=print, threads=a.threads or None)
    s = res["sizes"]
    print(
        f"sizes B={s['B']} L={s['L']} H={s['H']} N={s['N']} tau={s['tau']}; torch {res['torch']}, "
        f"{res['threads']} thread(s); medians of up to {s['repeats']} interleaved steps"
    )
    ratios = [v["ratio"] for v in res["layers"].values()]
    if ratios:
        print(f"SMR overhead (with/without): min {min(ratios):.2f}x, max {max(ratios):.2f}x over {len(ratios)} layers")
    scan = [r["ratio"] for r in res["s5_modes"]]
    print(f"S5 scan/conv: min {min(scan):.2f}x, max {max(scan):.2f}x over L = {s['scan_L']}")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
