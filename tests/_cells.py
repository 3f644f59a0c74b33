"""Cell functions of the executor tests, importable by workers started elsewhere (the tests put
this folder on their PYTHONPATH)."""

import os
import time

import numpy as np


def logged_cell(x, log, pause=0.0):
    """A small BLAS-using result of ``x`` (a least-squares fit), after ``pause`` seconds; appends
    ``x`` to the file ``log`` each time it is computed."""
    time.sleep(pause)
    with open(log, "a") as f:
        f.write(f"{x} {os.getpid()}\n")
    rng = np.random.default_rng(x)
    A, b = rng.standard_normal((40, 6)), rng.standard_normal(40)
    return np.linalg.lstsq(A, b, rcond=None)[0].tolist()
