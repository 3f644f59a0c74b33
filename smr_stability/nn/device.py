"""Where a model trains and runs: the CPU by default, a GPU on request."""

import numba
import torch

from ..errors import ParameterError

__all__ = ["resolve_device", "set_threads"]


def _start_numba_threads():
    """Start numba's thread pool now, keeping torch's thread count.

    Both use the same OpenMP runtime here: starting numba's pool (its first `set_num_threads`,
    `get_num_threads` or parallel call) sets OpenMP's thread count to numba's, which torch then
    reports as its own, so a run set to one torch thread would silently use two. Once the pool
    runs, neither changes the other's count.
    """
    threads = torch.get_num_threads()
    numba.get_num_threads()
    torch.set_num_threads(threads)


_start_numba_threads()


def set_threads():
    """Run the compiled CPU kernels of the layers on torch's thread count (at most numba's pool),
    so that `torch.set_num_threads` governs them as it does torch's own kernels."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def resolve_device(device):
    """A `torch.device` from `'cpu'`, `'cuda'`, `'cuda:K'` or `'auto'` (cuda where torch
    sees a GPU, else cpu); a GPU that is not there raises [`ParameterError`][smr_stability.errors.ParameterError]."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(
            f"device: expected a device torch sees; found {name!r} but no GPU is available. Use 'cpu'."
        )
    try:
        return torch.device(name)
    except RuntimeError:
        raise ParameterError(f"device: expected 'cpu', 'cuda', 'cuda:K' or 'auto'; found {name!r}.") from None
