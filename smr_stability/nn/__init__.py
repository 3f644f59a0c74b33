"""Torch layers of the paper's SSM families, with optional State Memory Replay (SMR), and the
training core that fits them.

Shapes: B batch, L length, H channels, N state. Every layer maps `u` of shape (B, L, H) to
`y` of shape (B, L, H), optionally gating `u` with [`SMR`][smr_stability.nn.SMR] first, and exports what the
analysis needs with [`SSMLayer.export`][smr_stability.nn.SSMLayer.export] (see
[`ExportedChannel`][smr_stability.nn.ExportedChannel]).

Modules: the layers (`s4`, `s4d`, `s5`, `s6`, `mega`, `spade` on `base`,
`scan` and `smr`); the tasks (`data`, `sines`, `pendulum`, `tasks`); the model
(`model`), its config (`config`), the loop (`train`), the run directory
(`checkpoint`), evaluation (`evaluate`), the stability report of a run's channels
(`run_analysis`) and Theorem 1 on a trained run (`v4`).
"""

from .base import ExportedChannel as ExportedChannel
from .base import SSMLayer as SSMLayer
from .base import param_groups as param_groups
from .checkpoint import load_run as load_run
from .config import TrainConfig as TrainConfig
from .evaluate import evaluate_run as evaluate_run
from .mega import MegaEMA as MegaEMA
from .model import LAYERS as LAYERS
from .model import SequenceModel as SequenceModel
from .pendulum import PendulumConfig as PendulumConfig
from .pendulum import make_pendulum as make_pendulum
from .run_analysis import analyze as analyze
from .run_analysis import analyze_run as analyze_run
from .s4 import S4 as S4
from .s4d import S4D as S4D
from .s5 import S5 as S5
from .s6 import S6 as S6
from .scan import linear_scan as linear_scan
from .scan import linear_scan_reference as linear_scan_reference
from .scan import selective_scan as selective_scan
from .scan import selective_scan_reference as selective_scan_reference
from .scan import zoh_gap_scan as zoh_gap_scan
from .sines import SinesConfig as SinesConfig
from .sines import make_sines as make_sines
from .smr import SMR as SMR
from .spade import SPADE as SPADE
from .tasks import load_task as load_task
from .v4 import V4Report as V4Report
from .v4 import verify_checkpoint as verify_checkpoint

__all__ = [
    "LAYERS",
    "S4",
    "S4D",
    "S5",
    "S6",
    "SMR",
    "SPADE",
    "ExportedChannel",
    "MegaEMA",
    "PendulumConfig",
    "SSMLayer",
    "SequenceModel",
    "SinesConfig",
    "TrainConfig",
    "V4Report",
    "analyze",
    "analyze_run",
    "evaluate_run",
    "linear_scan",
    "linear_scan_reference",
    "selective_scan",
    "selective_scan_reference",
    "zoh_gap_scan",
    "load_run",
    "load_task",
    "make_pendulum",
    "make_sines",
    "param_groups",
    "verify_checkpoint",
]
