"""Torch layers of the paper's SSM families, with optional State Memory Replay (SMR).

Shapes: B batch, L length, H channels, N state. Every layer maps ``u`` of shape (B, L, H) to
``y`` of shape (B, L, H), optionally gating ``u`` with :class:`SMR` first, and exports what the
analysis needs with :meth:`SSMLayer.export` (see :class:`ExportedChannel`).
"""

from .base import ExportedChannel as ExportedChannel
from .base import SSMLayer as SSMLayer
from .mega import MegaEMA as MegaEMA
from .s4 import S4 as S4
from .s4d import S4D as S4D
from .s5 import S5 as S5
from .s6 import S6 as S6
from .scan import linear_scan as linear_scan
from .scan import linear_scan_reference as linear_scan_reference
from .smr import SMR as SMR
from .spade import SPADE as SPADE

__all__ = ["ExportedChannel", "MegaEMA", "S4", "S4D", "S5", "S6", "SMR", "SPADE", "SSMLayer", "linear_scan", "linear_scan_reference"]
