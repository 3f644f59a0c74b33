"""The typed configuration of a training run, saved as ``config.json`` in its run directory."""

import dataclasses
from dataclasses import dataclass

from .._validation import check_int, check_real
from ..errors import InputTypeError, ParameterError
from .model import LAYERS
from .tasks import TASKS

__all__ = ["CHOICES", "RECIPES", "TrainConfig"]

#: The allowed values of the architecture's string fields.
CHOICES = {
    "encoder": ("linear", "cnn"),
    "decoder": ("linear", "mlp"),
    "activation": ("none", "gelu", "glu"),
    "norm": ("pre", "post"),
    "head": ("mse", "gaussian_nll"),
}

#: Per task, the deep network and training recipe of :meth:`TrainConfig.recipe`. Pendulum: S5's
#: (Smith et al. 2023, appendix F.3; its pendulum run script): 4 blocks of width 30, state 16,
#: half-GLU, post-norm, no dropout, lr 0.012 (SSM 0.003), no weight decay, batch 32, 100 epochs,
#: one warm-up epoch then cosine to 0; a tanh-MLP decoder; S5 with a step per state. Sines: the
#: same network, 40 epochs.
_DEEP = {"width": 30, "state": 16, "depth": 4, "activation": "glu", "norm": "post", "decoder": "mlp", "dropout": 0.0}
_S5_OPT = {"lr": 0.012, "ssm_lr": 0.003, "weight_decay": 0.0, "batch_size": 32, "warmup_epochs": 1}
RECIPES = {
    "pendulum": {**_DEEP, **_S5_OPT, "epochs": 100},
    "sines": {**_DEEP, **_S5_OPT, "epochs": 40},
}


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as ``config.json`` in the run directory.

    Values are checked, never coerced: the config's dict is the identity of a cached run
    (:func:`smr_stability.experiments.sweeps.run_dir`). The field defaults are the small
    one-block model of the first studies (no nonlinearity, pre-norm, linear decoder, cosine
    schedule without warm-up); :meth:`recipe` gives the deep S5-style network and its training
    recipe per task.
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
    encoder: str = "linear"  # 'linear' or 'cnn' (CRU's image encoder; square frames)
    decoder: str = "linear"  # 'linear' or 'mlp' (Linear, tanh, Linear)
    activation: str = "none"  # after each SSM: 'none', 'gelu' or 'glu' (S5's half-GLU)
    norm: str = "pre"  # LayerNorm before the SSM ('pre') or after the residual sum ('post')
    dropout: float = 0.0
    warmup_epochs: int = 0  # linear warm-up from 0, then cosine to 0
    head: str = "mse"  # 'mse', or 'gaussian_nll' (a variance per output; the metric stays MSE)
    step_per_state: bool = False  # S5 only: a learned step per state (S5's dt_global=False)

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
        check_int(self.warmup_epochs, "warmup_epochs", 0)
        check_real(self.dropout, "dropout", 0.0, 1.0, open_hi=True)
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ParameterError(
                    f"{name}: expected one of {', '.join(map(repr, allowed))}; found {getattr(self, name)!r}."
                )
        if self.warmup_epochs >= self.epochs:
            raise ParameterError(
                f"warmup_epochs: expected fewer than epochs = {self.epochs}; found {self.warmup_epochs}. "
                "Lower warmup_epochs or train longer."
            )
        if self.step_per_state is True and self.layer != "s5":
            raise ParameterError(
                f"step_per_state: only S5 has a step per state; found layer {self.layer!r}. Use layer='s5' or drop it."
            )
        for name in ("smr", "small", "use_timestamps", "step_per_state"):
            if not isinstance(getattr(self, name), bool):
                raise InputTypeError(f"{name}: expected True or False; found {getattr(self, name)!r}.")

    @classmethod
    def recipe(cls, task, **overrides):
        """The deep network and training recipe of :data:`RECIPES` for ``task``, with ``overrides``.

        Examples
        --------
        >>> c = TrainConfig.recipe("pendulum", layer="s5", use_timestamps=True)
        >>> c.depth, c.width, c.lr, c.activation, c.norm, c.step_per_state
        (4, 30, 0.012, 'glu', 'post', True)
        """
        if task not in RECIPES:
            raise ParameterError(f"task must be one of {', '.join(map(repr, RECIPES))}; found {task!r}.")
        values = {"task": task, **RECIPES[task], **overrides}
        if values.get("layer") == "s5":
            values.setdefault("step_per_state", True)  # S5's dt_global=False
        return cls.from_dict(values)

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
