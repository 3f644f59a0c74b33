"""The typed configuration of a training run, saved as `config.json` in its run directory."""

import dataclasses
from dataclasses import dataclass

from .._validation import check_int, check_keys, check_real
from ..errors import InputTypeError, ParameterError
from .model import LAYERS, TIMESCALE_LAYERS
from .tasks import TASKS

__all__ = ["CHOICES", "LAYER_RECIPES", "MEGA_RECIPE", "RECIPES", "S5_RECIPE", "TrainConfig"]

#: The allowed values of the architecture's string fields.
CHOICES = {
    "encoder": ("linear", "cnn"),
    "decoder": ("linear", "mlp"),
    "activation": ("none", "gelu", "glu", "glu2"),
    "norm": ("pre", "post"),
    "head": ("mse", "gaussian_nll"),
}

#: Per task, the deep network and training recipe of [`TrainConfig.recipe`][smr_stability.nn.config.TrainConfig.recipe]. Pendulum: S5's
#: (Smith et al. 2023, appendix F.3; its pendulum run script): 4 blocks of width 30, half-GLU,
#: post-norm, no dropout, lr 0.012 (SSM 0.003), no weight decay, batch 32, 100 epochs, one
#: warm-up epoch then cosine to 0; a tanh-MLP decoder; state 16. Sines: the same network, 40
#: epochs. S5 itself gets the rest of that script from `S5_RECIPE`.
_DEEP = {"width": 30, "state": 16, "depth": 4, "activation": "glu", "norm": "post", "decoder": "mlp", "dropout": 0.0}
_S5_OPT = {"lr": 0.012, "ssm_lr": 0.003, "weight_decay": 0.0, "batch_size": 32, "warmup_epochs": 1}
RECIPES = {
    "pendulum": {**_DEEP, **_S5_OPT, "epochs": 100},
    "sines": {**_DEEP, **_S5_OPT, "epochs": 40},
}
#: The S5 layer's own settings in S5's pendulum script, on top of `RECIPES`: `ssm_size`
#: 16 with conjugate symmetry is 8 complex modes (`state=8`), initialised as 8 blocks; a
#: step per state (`dt_global=False`) drawn in [0.01, 0.1]; the `half_glu2` activation.
S5_RECIPE = {"state": 8, "blocks": 8, "step_per_state": True, "dt_min": 0.01, "dt_max": 0.1, "activation": "glu2"}
#: Mega trains its EMA parameters at the model's learning rate (it has no separate SSM rate).
#: Measured on sines (seed 0): test NMSE 0.0075 with `ssm_lr = lr`, 0.22 with 0.003, where
#: the EMAs keep the short memory (about 4 steps) of their initialisation.
MEGA_RECIPE = {"ssm_lr": 0.012}
#: Per layer, the settings that [`TrainConfig.recipe`][smr_stability.nn.config.TrainConfig.recipe] puts on top of `RECIPES`.
LAYER_RECIPES = {"s5": S5_RECIPE, "mega": MEGA_RECIPE}


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as `config.json` in the run directory.

    Values are checked, never coerced: the config's dict is the identity of a cached run
    ([`smr_stability.experiments.sweeps.run_dir`][smr_stability.experiments.sweeps.run_dir]). The
    field defaults are the small one-block model of the first studies (no nonlinearity, pre-norm,
    linear decoder, cosine schedule without warm-up);
    [`recipe`][smr_stability.nn.config.TrainConfig.recipe] gives the deep S5-style network and its
    training recipe per task.
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
    activation: str = "none"  # after each SSM: 'none', 'gelu', or S5's half-GLUs 'glu' (half_glu1), 'glu2'
    norm: str = "pre"  # LayerNorm before the SSM ('pre') or after the residual sum ('post')
    dropout: float = 0.0
    warmup_epochs: int = 0  # linear warm-up from 0, then cosine to 0
    head: str = "mse"  # 'mse', or 'gaussian_nll' (a variance per output; the metric stays MSE)
    step_per_state: bool = False  # S5 only: a learned step per state (S5's dt_global=False)
    blocks: int | None = None  # S5 only: S5's block initialisation with conjugate symmetry
    dt_min: float = 1e-3  # the learned steps start log-uniform in [dt_min, dt_max] (TIMESCALE_LAYERS)
    dt_max: float = 0.1
    augment: bool = False  # sines: train on perturbed schedules (smr_stability.nn.augment)
    gap_input: bool = False  # the gap t_k - t_{k-1} (in units of dt) as one more input channel (linear encoder)

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
        self._check_layer_fields()
        for field, allowed, found, why in (
            ("step_per_state", self.layer == "s5", f"layer {self.layer!r}", "only S5 has a step per state"),
            ("augment", self.task == "sines", f"task {self.task!r}", "only the sines task can be resampled"),
            (
                "encoder",
                self.encoder == "linear" or self.task == "pendulum",
                f"task {self.task!r}",
                "the CNN encoder reads the pendulum's square frames",
            ),  # fmt: skip
            (
                "gap_input",
                self.encoder == "linear",
                f"encoder {self.encoder!r}",
                "the gap goes into the linear encoder",
            ),
        ):
            if getattr(self, field) not in (False, "linear") and not allowed:
                raise ParameterError(f"{field}: {why}; found {found}. Drop {field} or change that setting.")
        for name in ("smr", "small", "use_timestamps", "step_per_state", "augment", "gap_input"):
            if not isinstance(getattr(self, name), bool):
                raise InputTypeError(f"{name}: expected True or False; found {getattr(self, name)!r}.")

    def _check_layer_fields(self):
        """`blocks` (S5 only, a divisor of `state`) and `[dt_min, dt_max]` (layers with a learned step)."""
        if self.blocks is not None:
            if self.layer != "s5":
                raise ParameterError(
                    f"blocks: only S5 has a block initialisation; found layer {self.layer!r}. Drop it."
                )
            check_int(self.blocks, "blocks", 1)
            if self.state % self.blocks:
                raise ParameterError(
                    f"blocks: expected a divisor of state = {self.state}; found {self.blocks}. Change state or blocks."
                )
        check_real(self.dt_min, "dt_min", 0.0, open_lo=True)
        check_real(self.dt_max, "dt_max", self.dt_min)
        default_range = (type(self).dt_min, type(self).dt_max)  # the field defaults
        if self.layer not in TIMESCALE_LAYERS and (self.dt_min, self.dt_max) != default_range:
            raise ParameterError(
                f"dt_min, dt_max: layer {self.layer!r} has no learned step; found ({self.dt_min}, {self.dt_max}). "
                f"Use one of {', '.join(TIMESCALE_LAYERS)} or drop them."
            )

    @classmethod
    def recipe(cls, task, **overrides):
        """The deep network and training recipe of `RECIPES` for `task`, with `overrides`.

        The layer's own settings of `LAYER_RECIPES` (S5's and Mega's) come on top; an
        override still wins.

        Examples
        --------
        >>> c = TrainConfig.recipe("pendulum", layer="s5", use_timestamps=True)
        >>> c.depth, c.width, c.lr, c.norm, c.state, c.blocks, c.step_per_state, c.activation
        (4, 30, 0.012, 'post', 8, 8, True, 'glu2')
        """
        if task not in RECIPES:
            raise ParameterError(f"task must be one of {', '.join(map(repr, RECIPES))}; found {task!r}.")
        check_keys(overrides, cls)
        layer_recipe = LAYER_RECIPES.get(overrides.get("layer"), {})
        return cls.from_dict({"task": task, **RECIPES[task], **layer_recipe, **overrides})

    @classmethod
    def from_dict(cls, d):
        """Build from a dict, rejecting unknown keys (with the list of valid ones)."""
        return cls(**check_keys(d, cls))

    def to_dict(self):
        """The config as a plain dict (saved as `config.json`;
        [`from_dict`][smr_stability.nn.config.TrainConfig.from_dict] reads it back)."""
        return dataclasses.asdict(self)
