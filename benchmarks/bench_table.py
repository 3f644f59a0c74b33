"""Every speed target of the toolkit in one table, beside the peer or baseline a user would pick.

One run measures, for each target, the toolkit and its baseline in alternation (medians), the
ratio against the goal, and how far the two results are apart (relative, max over outputs and
gradients, float32 unless said). The peers are the PyPI packages of the ``bench`` extra:
``mambapy`` (Mamba's selective scan, pure PyTorch, Blelloch ``pscan``) and ``s5-pytorch``.

1. variable step: ``simulate_variable_step`` against a plain numpy time loop.
2. divergence: ``divergence_experiment`` end to end against two ``scipy.signal.dlsim`` runs per draw.
3. S6: the scan op ``linear_scan`` against mambapy's ``pscan``; the whole S6 layer (``S6.ssm``)
   against ``pscan``; the fused ``selective_scan`` against mambapy's ``selective_scan``; and the
   peak memory of ``selective_scan``, forward plus backward, in (B, L, H, N) tensors.
4. S5 with the true gaps: the variable-step scan against S5's own fixed-step convolution, and
   against s5-pytorch with the same parameters and gaps.
5. SPADE: the blocked local attention against the banded-mask one.
6. SMR: one training step with/without the gate, per layer.

Run (one thread, as the training runs):

    python benchmarks/bench_table.py            # the sizes of the targets (several minutes)
    python benchmarks/bench_table.py --quick    # smoke run on tiny sizes (CI)
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import smr_stability as smr
from smr_stability.experiments.cost import build_step, time_interleaved
from smr_stability.nn import LAYERS
from smr_stability.nn.s5 import S5
from smr_stability.nn.s6 import S6
from smr_stability.nn.scan import linear_scan, linear_scan_reference, selective_scan
from smr_stability.nn.spade import LocalAttention

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_divergence import baseline as dlsim_divergence  # noqa: E402
from bench_divergence import toolkit as toolkit_divergence  # noqa: E402
from bench_simulation import plain_variable_step_loop  # noqa: E402

SIZES = {
    "full": {
        "vs": dict(M=1000, N=64, L=4096),
        "div": dict(M=1000, N=64, L=4096, subset=10),
        "s6": dict(B=8, L=1024, H=32, N=16),
        "s5": dict(B=16, L=4096, H=64, N=64),
        "spade": dict(B=4, L=4096, H=64, w=128),
        "smr": dict(B=16, L=4096, H=64, N=64),
        "repeats": 5,
    },
    "quick": {
        "vs": dict(M=8, N=8, L=64),
        "div": dict(M=8, N=8, L=128, subset=2),
        "s6": dict(B=2, L=64, H=4, N=4),
        "s5": dict(B=2, L=64, H=4, N=4),
        "spade": dict(B=2, L=64, H=8, w=8),
        "smr": dict(B=2, L=64, H=8, N=8),
        "repeats": 3,
    },
}


def rel(x, y):
    """max |x - y| / max |y| over tensors or arrays (pairs zipped)."""
    x, y = (np.asarray(t.detach().cpu() if torch.is_tensor(t) else t) for t in (x, y))
    return float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))


def medians(fns, repeats):
    """Median wall time of each closure, timed in alternation after one untimed call each."""
    return [t.median for t in time_interleaved(fns, repeats=repeats, warmup=1)]


def fwd_bwd(fn, inputs, weight):
    """A closure: ``fn(*inputs)``, then the gradients of ``sum(weight * out)`` in the inputs."""

    def run():
        out = fn(*inputs)
        grads = torch.autograd.grad((weight * out).real.sum(), inputs)
        return out.detach(), grads

    return run


def agreement(run_a, run_b, grad_layout=lambda g: g):
    """Largest relative difference of the outputs and the gradients (the second run's gradients
    put into the first's layout by ``grad_layout``)."""
    (xa, ga), (xb, gb) = run_a(), run_b()
    return max(rel(xa, xb), *(rel(p, grad_layout(q)) for p, q in zip(ga, gb)))


def row(target, size, ours, t_ours, base, t_base, ratio, goal, met, agree):
    return dict(target=target, size=size, ours=ours, t_ours=t_ours, base=base, t_base=t_base, ratio=ratio,
                goal=goal, met=met, agreement=agree)  # fmt: skip


# 1. variable step ------------------------------------------------------------------------------


def variable_step(s, repeats):
    rng = np.random.default_rng(0)
    sys_, dt = smr.s4d_lin(s["N"], seed=0), 0.01
    u = rng.standard_normal((s["M"], s["L"], 1))
    gaps = rng.exponential(dt, (s["M"], s["L"]))
    smr.simulate_variable_step(sys_, u[:1, :4], gaps[:1, :4])  # compile
    t_ours = min(_timed(lambda: smr.simulate_variable_step(sys_, u, gaps)) for _ in range(repeats))
    t_loop = _timed(lambda: plain_variable_step_loop(sys_, u, gaps))
    agree = rel(smr.simulate_variable_step(sys_, u, gaps), plain_variable_step_loop(sys_, u, gaps))
    size = f"{s['M']} trajectories, N={s['N']}, L={s['L']}, float64"
    r = t_loop / t_ours
    return [row("1. variable step (zoh per gap)", size, "simulate_variable_step", t_ours, "numpy time loop", t_loop,
                f"{r:.1f}x faster", ">= 5x", r >= 5, agree)]  # fmt: skip


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# 2. divergence ---------------------------------------------------------------------------------


def divergence(s, repeats):
    sys_, dt = smr.s4d_lin(s["N"], seed=0), 0.01
    toolkit_divergence(sys_, 16, dt, 2, 0)  # compile
    t_ours = min(_timed(lambda: toolkit_divergence(sys_, s["L"], dt, s["M"], 0)) for _ in range(repeats))
    n = min(s["subset"], s["M"])
    t0 = time.perf_counter()
    ref = dlsim_divergence(sys_, s["L"], dt, n, 0)
    t_base = (time.perf_counter() - t0) * s["M"] / n
    check = toolkit_divergence(sys_, s["L"], dt, n, 0)
    agree = max(rel(check.metrics[k][0, 0, 0], v) for k, v in ref.items())
    size = f"{s['M']} jittered draws, N={s['N']}, L={s['L']}, float64; dlsim timed on {n}, scaled"
    r = t_base / t_ours
    return [row("2. divergence experiment, end to end", size, "divergence_experiment", t_ours, "dlsim loop + numpy",
                t_base, f"{r:.0f}x faster", ">= 300x", r >= 300, agree)]  # fmt: skip


# 3. S6 -----------------------------------------------------------------------------------------


def s6_inputs(s, seed=0):
    g = torch.Generator().manual_seed(seed)
    B, L, H, N = s["B"], s["L"], s["H"], s["N"]
    delta = (0.001 + 0.1 * torch.rand(B, L, H, generator=g)).requires_grad_()
    A = (-torch.arange(1, N + 1, dtype=torch.float32).repeat(H, 1)).requires_grad_()  # S4D-Real
    Bk, Ck = (torch.randn(B, L, N, generator=g).requires_grad_() for _ in range(2))
    u = torch.randn(B, L, H, generator=g).requires_grad_()
    return delta, A, Bk, Ck, u


def s6(s, repeats):
    from mambapy.mamba import MambaBlock
    from mambapy.pscan import pscan

    B, L, H, N = s["B"], s["L"], s["H"], s["N"]
    size = f"B={B}, L={L}, H={H}, N={N}, float32"
    delta, A, Bk, Ck, u = ins = s6_inputs(s)
    a = torch.exp(delta[..., None] * A).detach().requires_grad_()  # (B L H N): the op's inputs
    b = (delta[..., None] * Bk[:, :, None] * u[..., None]).detach().requires_grad_()  # (B L H N)
    w4 = torch.randn(B, L, H, N, generator=torch.Generator().manual_seed(1))
    # each scan on the same values in its own layout: time at dim 1 for pscan, at dim -2 for ours
    a_t, b_t = (x.detach().transpose(1, 2).contiguous().requires_grad_() for x in (a, b))  # (B H L N)
    ours_scan = fwd_bwd(linear_scan, (a_t, b_t), w4.transpose(1, 2))
    peer_scan = fwd_bwd(lambda a, b: pscan(a, b).transpose(1, 2), (a, b), w4.transpose(1, 2))
    loop_scan = fwd_bwd(linear_scan_reference, (a_t, b_t), w4.transpose(1, 2))
    w3 = torch.randn(B, L, H, generator=torch.Generator().manual_seed(2))
    ours_sel = fwd_bwd(selective_scan, ins, w3)
    peer_sel = fwd_bwd(
        lambda d, A, Bk, Ck, u: MambaBlock.selective_scan(None, u, d, A, Bk, Ck, torch.zeros(H)), ins, w3
    )
    torch.manual_seed(0)
    layer = S6(H, N)
    ours_layer = fwd_bwd(layer.ssm, (u,), w3)
    t_scan, t_pscan, t_sel, t_peer_sel, t_layer = medians(
        [ours_scan, peer_scan, ours_sel, peer_sel, ours_layer], repeats
    )
    agree_scan = max(agreement(ours_scan, peer_scan, lambda g: g.transpose(1, 2)), agreement(ours_scan, loop_scan))
    agree_sel = agreement(ours_sel, peer_sel)
    peak = memory_probe("selective_scan", s)
    return [
        row("3a. S6 scan op x_k = a_k x_k-1 + b_k, fwd+bwd", size, "linear_scan", t_scan, "mambapy pscan", t_pscan,
            f"{t_pscan / t_scan:.1f}x faster", ">= 1.5x", t_pscan / t_scan >= 1.5, agree_scan),
        row("3b. whole S6 layer (S6.ssm), fwd+bwd", size, "S6.ssm", t_layer, "mambapy pscan (op alone)", t_pscan,
            f"{t_layer / t_pscan:.2f}x the time", "<= 1.5x", t_layer / t_pscan <= 1.5, float("nan")),
        row("3c. selective scan (exp, B, C fused), fwd+bwd", size, "selective_scan", t_sel,
            "mambapy selective_scan", t_peer_sel, f"{t_peer_sel / t_sel:.1f}x faster", "(peer)", True, agree_sel),
        row("3d. peak memory of selective_scan, fwd+bwd", size, f"{peak:.2f} (B,L,H,N) tensors", float("nan"),
            "", float("nan"), f"{peak:.2f}", "<= 3", peak <= 3, float("nan")),
    ]  # fmt: skip


def memory_probe(name, s):
    """Peak resident memory that fn adds, in (B, L, H, N) float32 tensors, in a fresh process.

    glibc serves every allocation of 64 KiB or more by mmap there (``MALLOC_MMAP_THRESHOLD_``), so
    freed tensors leave the resident set at once; the peak (``VmHWM``) is reset after warm-up.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, __file__, "--probe", name, json.dumps(s)], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])["tensors"]


def _probe(name, s):
    def status(key):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {key} in /proc/self/status")

    torch.set_num_threads(1)
    small = dict(s, B=1, L=4)
    fn = {"selective_scan": selective_scan}[name]
    w = torch.randn(s["B"], s["L"], s["H"])
    fwd_bwd(fn, s6_inputs(small), torch.ones(1, 4, s["H"]))()  # load the compiled kernels
    inputs = s6_inputs(s)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set
    before = status("VmRSS")
    fwd_bwd(fn, inputs, w)()
    extra = status("VmHWM") - before
    print(json.dumps({"tensors": extra / (4 * s["B"] * s["L"] * s["H"] * s["N"])}))


# 4. S5 with true gaps ----------------------------------------------------------------------------


def s5(s, repeats):
    import s5 as peer_module

    B, L, H, N = s["B"], s["L"], s["H"], s["N"]
    torch.manual_seed(0)
    layer = S5(H, N, step_per_state=True)
    peer = peer_module.S5(H, N)
    with torch.no_grad():  # the same parameters: lambda, B (real, imaginary), C, D, log-steps
        peer.seq.Lambda.data = layer._lambda().detach().clone()
        peer.seq.B.data = torch.stack([layer.B_re, layer.B_im], -1).detach().clone()
        peer.seq.C.data = torch.complex(layer.C_re, layer.C_im).detach().clone()
        peer.seq.D.data = layer.D.detach().clone()
        peer.seq.log_step.data = layer.log_dt.detach().clone()
    g = torch.Generator().manual_seed(0)
    u = torch.randn(B, L, H, generator=g).requires_grad_()
    gaps = -torch.log(torch.rand(B, L, generator=g))  # exponential, mean 1: the true gaps
    w = torch.randn(B, L, H, generator=g)
    scan = fwd_bwd(lambda u: layer.ssm(u, gaps), (u,), w)
    conv = fwd_bwd(lambda u: layer.ssm(u, None), (u,), w)
    theirs = fwd_bwd(lambda u: peer(u, step_scale=gaps), (u,), w)
    t_scan, t_conv = medians([scan, conv], repeats)
    t_peer = _timed(theirs)  # seconds and gigabytes per call: timed once
    size = f"B={B}, L={L}, H={H}, P={N}, float32 (complex64)"
    return [
        row("4a. S5 with the true gaps, fwd+bwd", size, "S5 scan (zoh_gap_scan)", t_scan, "S5 fixed-step FFT conv",
            t_conv, f"{t_scan / t_conv:.2f}x the time", "<= 2x", t_scan / t_conv <= 2, float("nan")),
        row("4b. S5 with the true gaps, fwd+bwd", size, "S5 scan (zoh_gap_scan)", t_scan, "s5-pytorch, same gaps",
            t_peer, f"{t_peer / t_scan:.1f}x faster", "(peer)", True, agreement(scan, theirs)),
    ]  # fmt: skip


# 5. SPADE -----------------------------------------------------------------------------------------


def spade(s, repeats):
    torch.manual_seed(0)
    attention = LocalAttention(s["H"], s["w"], heads=1)
    u = torch.randn(s["B"], s["L"], s["H"]).requires_grad_()
    params = (u, *attention.parameters())
    w = torch.randn(s["B"], s["L"], s["H"])
    blocked = fwd_bwd(lambda u, *p: attention(u), params, w)
    masked = fwd_bwd(lambda u, *p: attention.forward_masked(u), params, w)
    t_blocked, t_masked = medians([blocked, masked], max(3, repeats // 2))
    size = f"B={s['B']}, L={s['L']}, H={s['H']}, window {s['w']}, float32"
    r = t_masked / t_blocked
    return [row("5. SPADE local attention, fwd+bwd", size, "blocked, O(L w)", t_blocked, "banded (L, L) mask",
                t_masked, f"{r:.1f}x faster", ">= 5x", r >= 5, agreement(blocked, masked))]  # fmt: skip


# 6. SMR overhead --------------------------------------------------------------------------------


def smr_overhead(s, repeats):
    rows = []
    size = f"B={s['B']}, L={s['L']}, H={s['H']}, N={s['N']}, tau=4, float32"
    for name in LAYERS:
        steps = [build_step(name, on, B=s["B"], L=s["L"], H=s["H"], N=s["N"])[1] for on in (False, True)]
        off, on = (
            t.median for t in time_interleaved(steps, repeats=repeats + 2, warmup=1)
        )  # a 10% effect: more rounds
        rows.append(row(f"6. SMR overhead, {name}", size, "with SMR", on, "without", off, f"{on / off:.2f}x",
                        "<= 1.10x", on / off <= 1.10, float("nan")))  # fmt: skip
    return rows


TARGETS = {"vs": variable_step, "div": divergence, "s6": s6, "s5": s5, "spade": spade, "smr": smr_overhead}


def fmt_time(t):
    return "" if not np.isfinite(t) else (f"{t:.3g} s" if t >= 1 else f"{1e3 * t:.3g} ms")


def print_table(rows):
    print("| target | size | toolkit | baseline / peer | ratio | goal | met | agreement |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ours = f"{r['ours']} {fmt_time(r['t_ours'])}".strip()
        base = f"{r['base']} {fmt_time(r['t_base'])}".strip()
        agree = "" if not np.isfinite(r["agreement"]) else f"{r['agreement']:.1e}"
        met = "yes" if r["met"] else "**no**"
        print(f"| {r['target']} | {r['size']} | {ours} | {base} | {r['ratio']} | {r['goal']} | {met} | {agree} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--only", nargs="+", choices=list(TARGETS), help="measure only these targets")
    p.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.probe:
        return _probe(a.probe[0], json.loads(a.probe[1]))
    torch.set_num_threads(1)
    sizes = SIZES["quick" if a.quick else "full"]
    rows = []
    t0 = time.perf_counter()
    for key in a.only or TARGETS:
        rows += TARGETS[key](sizes[key], sizes["repeats"])
        print(f"measured {key} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(f"smr_stability {smr.__version__}, torch {torch.__version__}, numpy {np.__version__}, one torch thread; "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs")  # fmt: skip
    print_table(rows)
    print(f"targets met: {sum(r['met'] for r in rows)} of {len(rows)}")


if __name__ == "__main__":
    main()
