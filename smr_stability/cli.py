"""The `smr-stability` command line (a thin layer over the library)."""

import argparse
import os
import sys

from ._version import __version__


def _figures(args):
    from .experiments.gallery import FIGURES, make_figures

    if args.list:
        print("\n".join(FIGURES))
        return 0
    paths = make_figures(
        args.out,
        only=args.only,
        quick=args.quick,
        progress=not args.no_progress,
        retrain=args.retrain,
        client=args.scheduler,
    )
    print(f"wrote {len(paths)} files to {args.out}/")
    return 0


def _verify_theorem1(args):
    from ._validation import check_real

    check_real(args.sigma, "--sigma (Theorem 1's sigma)", 0.0, 1.0, open_lo=True, open_hi=True)
    if args.json:
        _writable_file(args.json, "--json")
    if args.checkpoint:
        from .nn.v4 import verify_checkpoint

        report = verify_checkpoint(args.checkpoint, sigma=args.sigma)
        print(report.table())
        if args.json:
            report.to_json(args.json)
            print(f"wrote {args.json}")
        return 0
    from .theorem1 import verify_theorem1

    report = verify_theorem1(
        args.systems,
        seed=args.seed,
        n_continuous=args.continuous,
        quick=args.quick,
        progress=not args.no_progress,
        workers=args.workers,
        client=args.scheduler,
    )
    print(report.table())
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}")
    return 1 if (report.v1_violations or report.v3_violations) else 0


def _analyze(args):
    import json

    sources = [x for x in (args.model, args.run, args.npz) if x is not None]
    if len(sources) != 1:
        raise _usage("analyze: expected exactly one of --model, --run, --npz; found " + str(len(sources)) + ".")
    if args.layer is not None and args.run is None:
        raise _usage("analyze: --layer selects a block of a run; found it without --run. Add --run RUN.")
    dt = 0.01 if args.dt is None else args.dt
    if args.model is not None:
        from .stability import stability_report

        result = stability_report(args.model, N=args.N, dt=dt, method=args.method, sigma=args.sigma, seed=args.seed)
        print(json.dumps(result, indent=1) if args.json else _key_values(result))
        return 0
    if args.run is not None:
        if args.dt is not None:
            raise _usage("analyze: --dt is for --model and --npz; a run's layers have their own steps. Drop --dt.")
        from .nn.run_analysis import analyze_run

        result = analyze_run(args.run, layer=args.layer, sigma=args.sigma)
    else:
        from .stability import analyze, load_system

        if args.dt is None:
            raise _usage("analyze: --npz needs the step of its continuous system; found no --dt. Add --dt DT.")
        result = analyze(load_system(args.npz), dt=args.dt, method=args.method, sigma=args.sigma)
    print(json.dumps(result, indent=1) if args.json else _channel_table(result))
    return 0


_ANALYZE_EXAMPLES = """\
--run and --npz report every channel: the keys of --model plus layer and channel, a table
with the worst channels first (largest spectral radius), and per quantity the worst channel
(largest spectral_radius, error_gain, kappa_P, transient_bound, kreiss_lower_bound; smallest
gamma_star and euler_dt_limit; an unstable channel, whose quantity is '-', counts as the worst).
With --json: {"channels": [...], "worst": {key: {"layer", "channel", "value"}}}.

examples:
  smr-stability analyze --model s4d-lin --N 64 --dt 0.01 --method bilinear
  smr-stability analyze --run runs/s4d --layer 0          # block 0 of a trained run
  python -c "import numpy as np; np.savez('sys.npz', A=[-1.0, -0.5+3j, -0.5-3j], B=[1, 1, 1])"
  smr-stability analyze --npz sys.npz --dt 0.05 --method zoh --json
"""


def _usage(message):
    from .errors import ParameterError

    return ParameterError(message)


def _fmt(v):
    return "-" if v is None else (format(v, ".6g") if isinstance(v, float) else str(v))


def _key_values(result):
    width = max(map(len, result))
    return "\n".join(f"{key:{width}s}  {_fmt(val)}" for key, val in result.items())


def _channel_table(result):
    """Every channel's row, the worst first (largest spectral radius, then error gain), then
    the worst channel per quantity."""
    from .stability import REPORT_KEYS, WORST

    def rank(row):
        rho, gain = row["spectral_radius"], row["error_gain"]
        return (-rho, -(float("inf") if gain is None else gain))

    cols = ("layer", "channel", "model", "N", "dt", "method", *REPORT_KEYS)
    rows = [[_fmt(r[c]) for c in cols] for r in sorted(result["channels"], key=rank)]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("")
    lines.append(f"worst of {len(result['channels'])} channel(s):")
    for key, w in result["worst"].items():
        lines.append(f"  {key} ({WORST[key]}): {_fmt(w['value'])} at layer {w['layer']}, channel {w['channel']}")
    return "\n".join(lines)


def _train(args):
    from .nn.config import TrainConfig
    from .nn.device import resolve_device
    from .nn.train import train

    resolve_device(args.device)  # before any data is made
    chosen = {"layer": args.layer, "smr": args.smr, "tau": args.tau, "seed": args.seed, "small": args.small}
    chosen |= {"use_timestamps": args.use_timestamps, "encoder": args.encoder}
    if args.epochs is not None:
        chosen["epochs"] = args.epochs
    if args.step is not None:
        chosen["step_per_state"] = args.step == "state"
    if args.recipe:
        config = TrainConfig.recipe(args.task, **chosen)
    else:
        config = TrainConfig(task=args.task, **{"epochs": 10, **chosen})
    rows = train(config, args.out, progress=not args.no_progress, device=args.device)
    last = rows[-1]
    print(f"{args.out}: epoch {last['epoch']}, train loss {last['train_loss']:.4g}, val loss {last['val_loss']:.4g}")
    args.run, args.schedules, args.weights = args.out, None, "best"
    return _evaluate(args)  # the test error on every schedule of the task


def _evaluate(args):
    from .nn.evaluate import evaluate_run

    rows = evaluate_run(args.run, schedules=args.schedules, weights=args.weights, device=args.device)
    print(f"{'schedule':28s} {'mse':>12s} {'relative to uniform':>20s}")
    for r in rows:
        print(f"{r['schedule']:28s} {r['mse']:12.4e} {r['relative_to_uniform']:20.3f}")
    print(f"wrote {args.run}/evaluation.csv")
    return 0


_SCHEDULER_HELP = (
    "run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (default: $SMR_STABILITY_SCHEDULER, "
    "else a local cluster, one worker per core)"
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2, as the
    command's other errors (the usage itself is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _writable_file(path, option):
    """Raise ParameterError unless `path` can be written: its folder exists and it is not a folder."""
    from pathlib import Path

    from .errors import ParameterError

    path = Path(path)
    if path.is_dir() or not path.parent.is_dir():
        raise ParameterError(
            f"{option}: expected a file path in an existing folder; found {str(path)!r} "
            f"({'a folder' if path.is_dir() else 'no folder ' + str(path.parent)}). Create the folder or fix the path."
        )


def build_parser():
    """The argument parser of `smr-stability`."""
    p = _Parser(
        prog="smr-stability",
        description="Stability of deep state space models under perturbed sampling, and State Memory Replay (SMR).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    f = sub.add_parser("figures", help="build the figures (PNG, PDF and their data)")
    f.add_argument("--only", nargs="+", metavar="NAME", help="build only these figures (see --list)")
    f.add_argument("--quick", action="store_true", help="small settings, for CI")
    f.add_argument("--out", default="figures", help="output folder (default: figures)")
    f.add_argument("--list", action="store_true", help="list the figure names and exit")
    f.add_argument(
        "--retrain", action="store_true", help="train every model again instead of using the runs stored in OUT/runs"
    )
    f.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    f.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    f.set_defaults(func=_figures)

    v = sub.add_parser("verify-theorem1", help="verify Theorem 1 numerically (V1-V3 of docs/theory.md §4)")
    v.add_argument("--systems", type=int, default=10_000, help="random stable systems for V1 (default 10000)")
    v.add_argument("--continuous", type=int, default=100, help="systems for the continuous form V3 (default 100)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    v.add_argument("--quick", action="store_true", help="500 systems, 20 continuous: a smoke run")
    v.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default: up to 2)"
    )
    v.add_argument(
        "--checkpoint", metavar="RUN", help="V4 instead: Theorem 1 on a trained sines run, with and without its SMR"
    )
    v.add_argument("--sigma", type=float, default=0.5, help="sigma of V4 (default 0.5)")
    v.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    v.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    v.set_defaults(func=_verify_theorem1)

    a = sub.add_parser(
        "analyze",
        help="stability report of a built-in model, a trained run or your own system",
        description="Stability report of one model (--model), of every channel of a trained run (--run) or of a "
        "continuous system stored in an .npz file (--npz, with --dt).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_ANALYZE_EXAMPLES,
    )
    a.add_argument(
        "--model",
        choices=("hippo-legs", "s4d-lin", "s4d-inv", "s4d-real", "s5", "mega-ema", "random"),
        help="a built-in model, built with --N and --seed",
    )
    a.add_argument("--run", metavar="RUN", help="a run directory (smr-stability train --out RUN): every channel")
    a.add_argument("--layer", type=int, metavar="K", help="with --run: block K only (0-based; default all)")
    a.add_argument("--npz", metavar="FILE", help="an .npz file with arrays A, B (optionally C, D); A (N, N) or (N,)")
    a.add_argument("--N", type=int, default=64, help="state size of --model (default 64)")
    a.add_argument("--dt", type=float, default=None, help="step (--model: default 0.01; --npz: required)")
    a.add_argument("--method", default="bilinear", help="discretization of --model and --npz (default bilinear)")
    a.add_argument("--sigma", type=float, default=0.5, help="Theorem 1 sigma in (0, 1) (default 0.5)")
    a.add_argument("--seed", type=int, default=0, help="seed of the random parts of --model (C, random model)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=_analyze)

    t = sub.add_parser("train", help="train a model on an irregularly sampled task (torch)")
    t.add_argument("--task", choices=("sines", "pendulum"), required=True)
    t.add_argument("--layer", choices=("s4", "s4d", "s5", "s6", "mega", "spade"), required=True)
    t.add_argument("--smr", action=argparse.BooleanOptionalAction, default=False, help="gate the inputs with SMR")
    t.add_argument("--tau", type=int, default=4, help="SMR kernel length (default 4)")
    t.add_argument("--epochs", type=int, default=None, help="epochs (default: 10, or the recipe's)")
    t.add_argument(
        "--recipe",
        action="store_true",
        help="the deep network and training recipe of the task (S5's, for the pendulum)",
    )
    t.add_argument("--encoder", choices=("linear", "cnn"), default="linear", help="frame encoder (default linear)")
    t.add_argument(
        "--step", choices=("layer", "state"), help="S5: one learned step per layer, or per state (the recipe's)"
    )
    t.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:K or auto")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--small", action="store_true", help="the task's small configuration (tests, CI)")
    t.add_argument("--use-timestamps", action="store_true", help="feed the true gaps to S5")
    t.add_argument("--out", required=True, help="run directory (resumes if it exists with the same config)")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="test error of a trained run on each sampling schedule")
    e.add_argument("run", help="run directory")
    e.add_argument("--schedules", nargs="+", help="schedule names (default: all of the task's)")
    e.add_argument(
        "--weights", choices=("best", "last"), default="best", help="best validation epoch (default) or last"
    )
    e.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:K or auto")
    e.set_defaults(func=_evaluate)
    return p


def main(argv=None):
    """Entry point of the `smr-stability` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .errors import SMRStabilityError

    try:
        return args.func(args)
    except (SMRStabilityError, ValueError, OSError) as exc:  # the project's named errors, unusable paths
        if args.debug:
            raise
        what = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.filename else str(exc)
        print(f"smr-stability: error: {' '.join(what.split())} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
