"""Named exceptions of smr_stability.

Every error subclasses a builtin (`ValueError` or `TypeError`) so that generic handlers
keep working, and every message says what was expected, what was found, and how to fix it.
"""

__all__ = [
    "SMRStabilityError",
    "ShapeError",
    "NonFiniteError",
    "StepSizeError",
    "MethodError",
    "AlphaError",
    "SingularSystemError",
    "UnstableSystemError",
    "InputTypeError",
    "ParameterError",
    "NonFiniteTrainingError",
    "CheckpointError",
    "MissingDependencyError",
]


class SMRStabilityError(Exception):
    """Base class of every error raised by smr_stability."""


class ShapeError(SMRStabilityError, ValueError):
    """An array has the wrong number of dimensions or the wrong size."""


class NonFiniteError(SMRStabilityError, ValueError):
    """An array holds NaN or infinity where finite numbers are required."""


class StepSizeError(SMRStabilityError, ValueError):
    """A step size `dt` is not positive and finite."""


class MethodError(SMRStabilityError, ValueError):
    """An unknown discretization (or other) method name."""


class AlphaError(SMRStabilityError, ValueError):
    """The `alpha` of the generalized bilinear transform is missing or outside [0, 1]."""


class SingularSystemError(SMRStabilityError, ValueError):
    """A linear system that must be solved is singular, e.g. `I - alpha dt A`."""


class UnstableSystemError(SMRStabilityError, ValueError):
    """A quantity that exists only for stable systems was asked of an unstable one."""


class InputTypeError(SMRStabilityError, TypeError):
    """An argument has the wrong type (e.g. complex where real is required)."""


class ParameterError(SMRStabilityError, ValueError):
    """A scalar parameter is outside its valid range (e.g. a decay-rate interval)."""


class NonFiniteTrainingError(SMRStabilityError, ValueError):
    """A loss, gradient or parameter became NaN or infinite in training; the last good checkpoint is kept."""


class CheckpointError(SMRStabilityError, ValueError):
    """A run's checkpoint is missing, truncated or corrupt; the message names the file and the way out."""


class MissingDependencyError(SMRStabilityError, ImportError):
    """An optional package that a function needs (e.g. `transformers`) is not installed; the
    message says what to install. Not bad input, so an `ImportError`."""
