"""The command line's bad-input catalogue: one bad value (or more) per option of every command,
each exiting with status 2 and one line on stderr, before any long work. A meta-test reads the
parser and fails on an option without an entry."""

import argparse

import numpy as np
import pytest

from smr_stability.cli import build_parser, main

NO_DIR = "/proc/no-such-folder/x"  # a path whose folder cannot exist or be made
GOOD_NPZ = "good.npz"  # written into the test's working folder by the fixture

# (command, option, what, argv): argv has one bad value and is otherwise valid
CATALOGUE = [
    # figures
    ("figures", "--only", "unknown name", ["figures", "--only", "no-such-figure", "--out", "out"]),
    ("figures", "--only", "no name", ["figures", "--only"]),
    ("figures", "--quick", "given a value", ["figures", "--quick=yes"]),
    ("figures", "--out", "folder cannot be made", ["figures", "--only", "eigenvalues", "--out", NO_DIR]),
    ("figures", "--out", "no value", ["figures", "--out"]),
    ("figures", "--list", "given a value", ["figures", "--list=1"]),
    ("figures", "--retrain", "given a value", ["figures", "--retrain=1"]),
    ("figures", "--no-progress", "given a value", ["figures", "--no-progress=1"]),
    ("figures", "--scheduler", "malformed address", ["figures", "--only", "eigenvalues", "--scheduler", "nope"]),
    # verify-theorem1
    ("verify-theorem1", "--systems", "zero", ["verify-theorem1", "--systems", "0"]),
    ("verify-theorem1", "--systems", "not an int", ["verify-theorem1", "--systems", "ten"]),
    ("verify-theorem1", "--continuous", "negative", ["verify-theorem1", "--quick", "--continuous", "-1"]),
    ("verify-theorem1", "--seed", "negative", ["verify-theorem1", "--quick", "--seed", "-1"]),
    ("verify-theorem1", "--seed", "a float", ["verify-theorem1", "--seed", "1.5"]),
    ("verify-theorem1", "--json", "folder missing", ["verify-theorem1", "--quick", "--json", NO_DIR]),
    ("verify-theorem1", "--quick", "given a value", ["verify-theorem1", "--quick=no"]),
    ("verify-theorem1", "--workers", "zero", ["verify-theorem1", "--quick", "--workers", "0"]),
    ("verify-theorem1", "--checkpoint", "no such run", ["verify-theorem1", "--checkpoint", "no-such-run"]),
    ("verify-theorem1", "--sigma", "above 1", ["verify-theorem1", "--quick", "--sigma", "1.5"]),
    ("verify-theorem1", "--sigma", "NaN", ["verify-theorem1", "--quick", "--sigma", "nan"]),
    ("verify-theorem1", "--no-progress", "given a value", ["verify-theorem1", "--no-progress=1"]),
    ("verify-theorem1", "--scheduler", "malformed address", ["verify-theorem1", "--quick", "--scheduler", "x:y"]),
    # analyze
    ("analyze", "--model", "unknown name", ["analyze", "--model", "s7"]),
    ("analyze", "--run", "no such run", ["analyze", "--run", "no-such-run"]),
    ("analyze", "--run", "with --dt", ["analyze", "--run", "no-such-run", "--dt", "0.1"]),
    ("analyze", "--layer", "without --run", ["analyze", "--model", "s4d-lin", "--layer", "0"]),
    ("analyze", "--layer", "not an int", ["analyze", "--run", "r", "--layer", "first"]),
    ("analyze", "--npz", "missing file", ["analyze", "--npz", "missing.npz", "--dt", "0.1"]),
    ("analyze", "--npz", "not an npz", ["analyze", "--npz", "bad.npz", "--dt", "0.1"]),
    ("analyze", "--npz", "no --dt", ["analyze", "--npz", GOOD_NPZ]),
    ("analyze", "--N", "zero", ["analyze", "--model", "s4d-lin", "--N", "0"]),
    ("analyze", "--dt", "negative", ["analyze", "--model", "s4d-lin", "--N", "4", "--dt", "-0.1"]),
    ("analyze", "--dt", "inf", ["analyze", "--npz", GOOD_NPZ, "--dt", "inf"]),
    ("analyze", "--method", "unknown", ["analyze", "--npz", GOOD_NPZ, "--dt", "0.1", "--method", "rk4"]),
    ("analyze", "--method", "unknown (model)", ["analyze", "--model", "s4d-lin", "--N", "4", "--method", "rk4"]),
    (
        "analyze",
        "--sigma",
        "above 1 (unstable model)",
        ["analyze", "--model", "s4d-lin", "--method", "euler", "--sigma", "5"],
    ),  # fmt: skip
    ("analyze", "--sigma", "zero", ["analyze", "--npz", GOOD_NPZ, "--dt", "0.1", "--sigma", "0"]),
    ("analyze", "--seed", "negative", ["analyze", "--model", "random", "--N", "4", "--seed", "-2"]),
    ("analyze", "--json", "given a value", ["analyze", "--model", "s4d-lin", "--json=1"]),
    # train
    ("train", "--task", "unknown", ["train", "--task", "mnist", "--layer", "s4d", "--out", "r"]),
    ("train", "--layer", "unknown", ["train", "--task", "sines", "--layer", "lstm", "--out", "r"]),
    ("train", "--smr", "given a value", ["train", "--task", "sines", "--layer", "s4d", "--smr=1", "--out", "r"]),
    ("train", "--tau", "zero", ["train", "--task", "sines", "--layer", "s4d", "--tau", "0", "--out", "r"]),
    ("train", "--epochs", "zero", ["train", "--task", "sines", "--layer", "s4d", "--epochs", "0", "--out", "r"]),
    ("train", "--recipe", "given a value", ["train", "--task", "sines", "--layer", "s4d", "--recipe=1", "--out", "r"]),
    ("train", "--encoder", "unknown", ["train", "--task", "sines", "--layer", "s4d", "--encoder", "rnn", "--out", "r"]),
    (
        "train",
        "--encoder",
        "cnn on sines",
        ["train", "--task", "sines", "--layer", "s4d", "--encoder", "cnn", "--out", "r"],
    ),  # fmt: skip
    ("train", "--step", "unknown", ["train", "--task", "sines", "--layer", "s5", "--step", "mode", "--out", "r"]),
    ("train", "--step", "not S5", ["train", "--task", "sines", "--layer", "s4d", "--step", "state", "--out", "r"]),
    (
        "train",
        "--device",
        "unknown",
        ["train", "--task", "sines", "--layer", "s4d", "--small", "--device", "tpu", "--out", "r"],
    ),  # fmt: skip
    ("train", "--seed", "negative", ["train", "--task", "sines", "--layer", "s4d", "--seed", "-1", "--out", "r"]),
    ("train", "--small", "given a value", ["train", "--task", "sines", "--layer", "s4d", "--small=1", "--out", "r"]),
    (
        "train",
        "--use-timestamps",
        "given a value",
        ["train", "--task", "sines", "--layer", "s5", "--use-timestamps=1", "--out", "r"],
    ),  # fmt: skip
    ("train", "--out", "missing", ["train", "--task", "sines", "--layer", "s4d"]),
    (
        "train",
        "--out",
        "folder cannot be made",
        ["train", "--task", "sines", "--layer", "s4d", "--small", "--epochs", "2", "--out", NO_DIR],
    ),  # fmt: skip
    (
        "train",
        "--no-progress",
        "given a value",
        ["train", "--task", "sines", "--layer", "s4d", "--no-progress=1", "--out", "r"],
    ),  # fmt: skip
    # evaluate
    ("evaluate", "run", "no such run", ["evaluate", "no-such-run"]),
    ("evaluate", "run", "missing", ["evaluate"]),
    ("evaluate", "--schedules", "no name", ["evaluate", "no-such-run", "--schedules"]),
    ("evaluate", "--weights", "unknown", ["evaluate", "no-such-run", "--weights", "worst"]),
    ("evaluate", "--device", "unknown", ["evaluate", "no-such-run", "--device", "tpu"]),
    # the command itself
    ("", "COMMAND", "unknown", ["fit"]),
    ("", "--debug", "given a value", ["--debug=1", "analyze"]),
]

NOT_INPUT = {("", "--version")}  # prints the version; takes no value


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(GOOD_NPZ, A=np.array([-1.0, -2.0]), B=np.ones(2))
    (tmp_path / "bad.npz").write_text("not an npz file")
    return tmp_path


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return exc.code


@pytest.mark.parametrize("command, option, what, argv", CATALOGUE, ids=[f"{c[0]} {c[1]}: {c[2]}" for c in CATALOGUE])
def test_bad_option_exits_2_with_one_line(command, option, what, argv, in_tmp, capsys):
    assert _run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("smr-stability") and "error:" in err[0] and "Traceback" not in err[0]
    assert not (in_tmp / "r").exists()  # refused before a run folder was made


def _options(parser):
    """Every (command, option) of the parser; positionals by their dest."""
    out = set()
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out.add(("", "COMMAND"))
            for name, sub in a.choices.items():
                out |= {(name, o) for o, _ in _options_of(sub)}
        elif not isinstance(a, argparse._HelpAction):
            out |= {("", o) for o in (a.option_strings or [a.dest])}
    return out


def _options_of(parser):
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        names = [s for s in a.option_strings if not s.startswith("--no-")] or a.option_strings or [a.dest]
        yield names[0], a


def test_every_option_has_an_entry():
    covered = {(c[0], c[1]) for c in CATALOGUE}
    missing = sorted(_options(build_parser()) - covered - NOT_INPUT)
    assert not missing, f"options without a bad-input entry: {missing}"
