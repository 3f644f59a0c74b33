"""The typed configuration of a training run, saved as ``config.json`` in its run directory."""

import dataclasses
from dataclasses import dataclass

from .._validation import check_int, check_real
from ..errors import InputTypeError, ParameterError
from .model import LAYERS
from .tasks import TASKS

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as ``config.json`` in the run directory.

    Values are checked, never coerced: the config's dict is the identity of a cached run
    (:func:`smr_stability.experiments.sweeps.run_dir`).
    """

    task: str = "sines"  # a key of smr_stability.nn.tasks.TASKS
    layer: str = "s4d"  # a key of smr_stability.nn.model.LAYERS
    smr: bool = False
    tau: int = 4
    width: int = 32  # H, channels of each SSM layer
    state: int = 32  # N
    depth: int = 2
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3
    ssm_lr: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0
    small: bool = False  # the tasks' small configuration (tests, CI)
    use_timestamps: bool = False  # feed the true gaps to layers that use them (S5)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ParameterError(f"task must be one of {', '.join(map(repr, TASKS))}; found {self.task!r}.")
        if self.layer not in LAYERS:
            raise ParameterError(f"layer must be one of {', '.join(LAYERS)}; found {self.layer!r}.")
        for name in ("tau", "width", "state", "depth", "epochs", "batch_size"):
            check_int(getattr(self, name), name, 1)
        check_int(self.seed, "seed", 0)
        for name in ("lr", "ssm_lr", "grad_clip"):
            check_real(getattr(self, name), name, 0.0, open_lo=True)
        check_real(self.weight_decay, "weight_decay", 0.0)
        for name in ("smr", "small", "use_timestamps"):
            if not isinstance(getattr(self, name), bool):
                raise InputTypeError(f"{name}: expected True or False; found {getattr(self, name)!r}.")

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, rejecting unknown keys (with the list of valid ones)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParameterError(f"unknown config key(s) {unknown}; valid keys are {sorted(names)}.")
        return cls(**d)

    def to_dict(self):
        """The config as a plain dict (saved as ``config.json``; :meth:`from_dict` reads it back)."""
        return dataclasses.asdict(self)
