"""Where a model trains and runs: the CPU by default, a GPU on request."""

import numba
import torch

from ..errors import ParameterError

__all__ = ["resolve_device", "set_threads"]


def set_threads():
    """Run the compiled CPU kernels of the layers on torch's thread count (at most numba's pool),
    so that ``torch.set_num_threads`` governs them as it does torch's own kernels."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def resolve_device(device):
    """A ``torch.device`` from ``'cpu'``, ``'cuda'``, ``'cuda:K'`` or ``'auto'`` (cuda where torch
    sees a GPU, else cpu); a GPU that is not there raises :class:`ParameterError`."""
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
