"""The ``smr-stability`` command line (a thin layer over the library)."""

import argparse
import sys

from ._version import __version__


def _figures(args):
    from .gallery import FIGURES, make_figures

    if args.list:
        print("\n".join(FIGURES))
        return 0
    paths = make_figures(args.out, only=args.only, quick=args.quick, progress=not args.no_progress)
    print(f"wrote {len(paths)} files to {args.out}/")
    return 0


def build_parser():
    """The argument parser of ``smr-stability``."""
    p = argparse.ArgumentParser(
        prog="smr-stability",
        description="Stability of deep state space models under perturbed sampling, and State Memory Replay (SMR).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    f = sub.add_parser("figures", help="build the figures (PNG, PDF and their data)")
    f.add_argument("--only", nargs="+", metavar="NAME", help="build only these figures (see --list)")
    f.add_argument("--quick", action="store_true", help="small settings, for CI")
    f.add_argument("--out", default="figures", help="output folder (default: figures)")
    f.add_argument("--list", action="store_true", help="list the figure names and exit")
    f.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    f.set_defaults(func=_figures)
    return p


def main(argv=None):
    """Entry point of the ``smr-stability`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ValueError as exc:  # named library errors subclass ValueError/TypeError
        print(f"smr-stability: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
