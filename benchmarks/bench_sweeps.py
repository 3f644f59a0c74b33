"""The Dask executor against the process pool it replaced: per-cell overhead, and the Theorem 1
verifier's systems per second with 1 and 2 local workers. Prints ratios.

1. 200 trivial cells (the mean of four numbers) through ``run_cells`` on a fresh cache, so the
   time is the executor's own: Dask's ``LocalCluster`` with 2 workers against the spawned
   ``ProcessPoolExecutor`` with 2 workers that the sweeps used before (rebuilt here as the
   baseline: submit every cell, write each result atomically as it completes), and against
   the in-process loop. Both pools are timed with their start-up and without it (a second
   sweep on the pool already started).
2. ``verify_theorem1`` on ``n`` systems (no continuous V3) with ``workers=1`` (in this process)
   and ``workers=2`` (a local cluster): systems per second and the speed-up.

    python benchmarks/bench_sweeps.py            # 200 cells, 4000 systems (about a minute)
    python benchmarks/bench_sweeps.py --quick    # smoke run: 20 cells, 400 systems
"""

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import smr_stability as smr
from smr_stability.experiments.sweeps import run_cells
from smr_stability.parallel import session


def _pool_cell(cell, path):
    """The baseline's worker: compute and write the result (the old pool wrote on the worker)."""
    result = statistics.fmean(**cell)
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"cell": cell, "result": result}))
    os.replace(tmp, path)
    return result


def _pool_sweep(pool, cells, folder):
    folder.mkdir(parents=True, exist_ok=True)
    futures = [pool.submit(_pool_cell, c, folder / f"{i}.json") for i, c in enumerate(cells)]
    return [f.result() for f in as_completed(futures)]


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cell_overhead(n):
    """Seconds per cell of each executor on ``n`` trivial cells."""
    cells = [{"data": [i, i + 1.0, 2.0, 3.0]} for i in range(n)]
    tmp = Path(tempfile.mkdtemp())
    run_cells("warm", statistics.fmean, cells[:1], cache_dir=tmp / "w", workers=1, progress=False)  # imports
    out = {"serial": _timed(lambda: run_cells("b", statistics.fmean, cells, cache_dir=tmp / "s", workers=1, progress=False))}  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        _pool_sweep(pool, cells, tmp / "p1")
        out["pool, with start-up"] = time.perf_counter() - t0
        out["pool, started"] = _timed(lambda: _pool_sweep(pool, cells, tmp / "p2"))
    t0 = time.perf_counter()
    with session() as s:
        s.get(2)
        run_cells("b", statistics.fmean, cells, cache_dir=tmp / "d1", workers=2, progress=False)
        out["dask, with start-up"] = time.perf_counter() - t0
        out["dask, started"] = _timed(lambda: run_cells("b", statistics.fmean, cells, cache_dir=tmp / "d2", progress=False))  # fmt: skip
    return {k: v / n for k, v in out.items()}


def verifier_rate(n):
    """Systems per second of verify_theorem1 with 1 and 2 workers."""
    rate = {}
    for workers in (1, 2):
        report = smr.verify_theorem1(n, n_continuous=0, workers=workers)
        rate[workers] = n / report.seconds
    return rate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="20 cells and 400 systems, for a smoke run")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    n_cells, n_systems = (20, 400) if a.quick else (200, 4000)
    per = cell_overhead(n_cells)
    print(f"{n_cells} trivial cells, 2 workers: seconds per cell (lower is better)")
    for k, v in per.items():
        print(f"  {k:22s} {v * 1e3:8.2f} ms")
    print(f"dask / pool per cell, with start-up: {per['dask, with start-up'] / per['pool, with start-up']:.2f}x")
    print(f"dask / pool per cell, started:       {per['dask, started'] / per['pool, started']:.2f}x")
    rate = verifier_rate(n_systems)
    print(f"verify_theorem1, {n_systems} systems: {rate[1]:.0f} systems/s with 1 worker, {rate[2]:.0f} with 2")
    print(f"speed-up with 2 workers: {rate[2] / rate[1]:.2f}x")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
