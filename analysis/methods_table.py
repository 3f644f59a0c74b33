"""The methods-by-perturbations table of figure 12 as markdown, with the paired verdicts.

Reads ``figures/methods_table.json`` (``make figures`` or ``smr-stability figures --only
methods_table``) and prints, per method, the median test NMSE over seeds at each perturbation
of the table and on the pendulum, then per method its paired comparison with the plain model
and with SMR (tau = 4): the ratio of the NMSE (geometric mean over seeds) and whether the
difference exceeds the seed spread.

    python analysis/methods_table.py [--json figures/methods_table.json] [--ref plain|smr_tau4]
"""

import argparse
import json
from pathlib import Path

from smr_stability.experiments.methods import METHODS


def _fmt(v):
    return "-" if v is None else f"{v:.3g}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "figures" / "methods_table.json"
    parser.add_argument("--json", default=str(default))
    parser.add_argument("--ref", default="plain", choices=["plain", "smr_tau4"])
    a = parser.parse_args(argv)
    table = json.loads(Path(a.json).read_text())
    pend = table["pendulum"]
    print("| method | " + " | ".join(table["columns"]) + " | pendulum |")
    print("|---" * (len(table["columns"]) + 2) + "|")
    for m, label in METHODS.items():
        row = table["nmse_median"][m]
        if all(v is None for v in row) and m not in pend["nmse_median"]:
            continue
        print(f"| {label[0]} | " + " | ".join(map(_fmt, row)) + f" | {_fmt(pend['nmse_median'].get(m))} |")
    print(f"\nPaired against {METHODS[a.ref][0]} (NMSE ratio, geometric mean over seeds; * beyond the seed spread):")
    print("| method | " + " | ".join(table["columns"]) + " | pendulum |")
    print("|---" * (len(table["columns"]) + 2) + "|")
    for m, per in table["paired"][a.ref].items():
        cells = []
        for col in table["columns"]:
            p = per[col]["nmse"]
            cells.append("-" if p is None else f"{p['ratio']:.2f}{'*' if p['verdict'] != 'within spread' else ''}")
        p = pend["paired"][a.ref].get(m)
        cells.append("-" if p is None else f"{p['ratio']:.2f}{'*' if p['verdict'] != 'within spread' else ''}")
        print(f"| {METHODS[m][0]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
