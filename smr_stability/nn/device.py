"""Where a model trains and runs: the CPU by default, a GPU on request."""

import torch

from ..errors import ParameterError

__all__ = ["resolve_device"]


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
