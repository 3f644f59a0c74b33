"""The bad-input catalogue: each entry is a call with one bad argument and the named error it must
raise (a subclass of ValueError or TypeError, never a raw library exception). Issue 15 grows it
to every parameter of every public function and option."""

import numpy as np
import pytest
import torch

import smr_stability as smr
from smr_stability import errors, sampling, signals
from smr_stability.divergence import divergence_experiment
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.s4d import S4D
from smr_stability.nn.s5 import S5

SIG, SYS = signals.SumOfSines(seed=0), smr.s4d_lin(4)
JIT = sampling.jitter(10, 0.1, 0.2, seed=0)

CATALOGUE = [
    # divergence_experiment
    ("divergence: empty schedules", lambda: divergence_experiment(SYS, SIG, [], 0.1), errors.InputTypeError),
    ("divergence: not a schedule", lambda: divergence_experiment(SYS, SIG, [1, 2], 0.1), errors.InputTypeError),
    ("divergence: dt an array", lambda: divergence_experiment(SYS, SIG, JIT, np.ones(3)), errors.ShapeError),
    ("divergence: dt negative", lambda: divergence_experiment(SYS, SIG, JIT, -0.1), errors.StepSizeError),
    (
        "divergence: refine 0",
        lambda: divergence_experiment(SYS, SIG, JIT, 0.1, exact="continuous", refine=0),
        errors.ParameterError,
    ),  # fmt: skip
    ("divergence: refine 2.5", lambda: divergence_experiment(SYS, SIG, JIT, 0.1, refine=2.5), errors.InputTypeError),
    # random_stable
    ("random_stable: decay of one number", lambda: smr.random_stable(4, decay=[0.1]), errors.ParameterError),
    ("random_stable: decay of strings", lambda: smr.random_stable(4, decay="ab"), errors.InputTypeError),
    ("random_stable: decay reversed", lambda: smr.random_stable(4, decay=(2.0, 1.0)), errors.ParameterError),
    ("random_stable: freq NaN", lambda: smr.random_stable(4, freq=float("nan")), errors.ParameterError),
    ("random_stable: N = 0", lambda: smr.random_stable(0), errors.ShapeError),
    # verify_theorem1
    ("verify_theorem1: n 2.5", lambda: smr.verify_theorem1(2.5), errors.InputTypeError),
    ("verify_theorem1: n 0", lambda: smr.verify_theorem1(0), errors.ParameterError),
    ("verify_theorem1: seed -1", lambda: smr.verify_theorem1(10, seed=-1), errors.ParameterError),
    ("verify_theorem1: steps '3'", lambda: smr.verify_theorem1(10, steps="3"), errors.InputTypeError),
    ("verify_theorem1: workers 0", lambda: smr.verify_theorem1(10, workers=0), errors.ParameterError),
    # seeds
    ("jitter: seed a string", lambda: sampling.jitter(10, 0.1, 0.2, seed="x"), errors.InputTypeError),
    ("jitter: seed negative", lambda: sampling.jitter(10, 0.1, 0.2, seed=-3), errors.ParameterError),
    ("SumOfSines: seed a float", lambda: signals.SumOfSines(seed=1.5), errors.InputTypeError),
    ("irregular: cv negative", lambda: sampling.irregular(10, 0.1, cv=-1.0), errors.ParameterError),
    # sizes that cannot fit in memory: refused before allocating
    ("jitter: 10^12 samples", lambda: sampling.jitter(10**6, 0.1, 0.2, draws=10**6), errors.ParameterError),
    (
        "simulate: 10^12 states",
        lambda: smr.simulate(
            np.full(10**6, 0.5), np.ones(10**6), np.ones(10**6), None, np.zeros((1000, 1000, 1)), return_states=True
        ),
        errors.ParameterError,
    ),  # fmt: skip
    # torch layers
    ("S4D: wrong channel count", lambda: S4D(4, N=4)(torch.randn(1, 5, 3)), errors.ShapeError),
    ("S4D: 2-D input", lambda: S4D(4, N=4)(torch.randn(5, 4)), errors.ShapeError),
    ("S5: negative gaps", lambda: S5(4, N=4)(torch.randn(1, 5, 4), -torch.ones(1, 5)), errors.StepSizeError),
    (
        "S5: NaN gap",
        lambda: S5(4, N=4)(torch.randn(1, 2, 4), torch.tensor([[1.0, float("nan")]])),
        errors.StepSizeError,
    ),  # fmt: skip
    ("S5: gaps of the wrong shape", lambda: S5(4, N=4)(torch.randn(1, 5, 4), torch.ones(1, 4)), errors.ShapeError),
    # TrainConfig
    ("TrainConfig: epochs 2.5", lambda: TrainConfig(epochs=2.5), errors.InputTypeError),
    ("TrainConfig: seed -1", lambda: TrainConfig(seed=-1), errors.ParameterError),
    ("TrainConfig: weight_decay -1", lambda: TrainConfig(weight_decay=-1.0), errors.ParameterError),
    ("TrainConfig: lr a string", lambda: TrainConfig(lr="1"), errors.InputTypeError),
    ("TrainConfig: augment on the pendulum", lambda: TrainConfig(task="pendulum", augment=True), errors.ParameterError),
]


@pytest.mark.parametrize("name, call, error", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_raises_its_named_error(name, call, error):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError))
    assert "found" in str(info.value)  # the message says what it found, beside what it expected


@pytest.mark.parametrize(
    "argv",
    [
        ["figures", "--only", "eigenvalues", "--out", "/proc/no-such-folder/figures"],  # a path that cannot be made
        ["analyze", "--model", "s4d-lin", "--N", "4", "--dt", "-0.1"],  # a project error
    ],
)
def test_the_cli_prints_one_line_and_exits_2(argv, capsys):
    from smr_stability.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("smr-stability: error:") and "Traceback" not in err
    with pytest.raises((OSError, ValueError)):
        main(["--debug"] + argv)
