"""Torch layers of the paper's SSM families, with optional State Memory Replay (SMR).

Shapes: B batch, L length, H channels, N state. Every layer maps ``u`` of shape (B, L, H) to
``y`` of shape (B, L, H), optionally gating ``u`` with :class:`SMR` first, and exports what the
analysis needs with :meth:`SSMLayer.export` (see :class:`ExportedChannel`).
"""

from .base import ExportedChannel as ExportedChannel
from .base import SSMLayer as SSMLayer
from .smr import SMR as SMR

__all__ = ["ExportedChannel", "SMR", "SSMLayer"]
