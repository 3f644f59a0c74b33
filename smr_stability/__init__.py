"""smr_stability: stability of deep state space models under perturbed sampling.

The public surface, one screen long. Conventions: docs/theory.md §0 (`docs/`); errors live in
[`smr_stability.errors`][smr_stability.errors].
"""

from . import errors as errors
from . import sampling as sampling
from . import signals as signals
from . import teaching as teaching
from ._version import __version__ as __version__
from .bounds import GammaStar as GammaStar
from .bounds import KreissResult as KreissResult
from .bounds import continuous_threshold as continuous_threshold
from .bounds import discrete_eigenvalues as discrete_eigenvalues
from .bounds import discrete_spectral_radius as discrete_spectral_radius
from .bounds import envelope_rate as envelope_rate
from .bounds import euler_dt_limit as euler_dt_limit
from .bounds import gamma_star as gamma_star
from .bounds import kreiss_constant as kreiss_constant
from .bounds import spectral_radius as spectral_radius
from .bounds import transient_bound as transient_bound
from .discretization import METHODS as METHODS
from .discretization import discretize as discretize
from .discretization import eigenvalue_map as eigenvalue_map
from .divergence import DivergenceResult as DivergenceResult
from .divergence import divergence_experiment as divergence_experiment
from .kernels import causal_conv as causal_conv
from .kernels import ssm_kernel as ssm_kernel
from .lyapunov import dlyap as dlyap
from .lyapunov import lyap as lyap
from .lyapunov import lyapunov_matrix as lyapunov_matrix
from .proposition1 import ErrorGain as ErrorGain
from .proposition1 import error_gain as error_gain
from .proposition1 import error_gain_bound as error_gain_bound
from .proposition1 import iss_error_bound as iss_error_bound
from .proposition1 import long_memory_limit as long_memory_limit
from .proposition1 import mode_gain as mode_gain
from .simulation import simulate as simulate
from .simulation import simulate_reference as simulate_reference
from .simulation import simulate_tv as simulate_tv
from .simulation import simulate_variable_step as simulate_variable_step
from .smr import smr_gate as smr_gate
from .ssm import SSM as SSM
from .ssm import as_ssm as as_ssm
from .stability import analyze as analyze
from .stability import load_system as load_system
from .stability import stability_report as stability_report
from .systems import hippo_legs as hippo_legs
from .systems import mega_ema as mega_ema
from .systems import random_stable as random_stable
from .systems import s4d_inv as s4d_inv
from .systems import s4d_lin as s4d_lin
from .systems import s4d_real as s4d_real
from .systems import s5_hippo as s5_hippo
from .theorem1 import Theorem1Report as Theorem1Report
from .theorem1 import verify_theorem1 as verify_theorem1

__all__ = [
    "DivergenceResult",
    "ErrorGain",
    "GammaStar",
    "KreissResult",
    "METHODS",
    "SSM",
    "Theorem1Report",
    "__version__",
    "analyze",
    "as_ssm",
    "causal_conv",
    "continuous_threshold",
    "discrete_eigenvalues",
    "discrete_spectral_radius",
    "discretize",
    "divergence_experiment",
    "dlyap",
    "eigenvalue_map",
    "envelope_rate",
    "error_gain",
    "error_gain_bound",
    "errors",
    "euler_dt_limit",
    "gamma_star",
    "hippo_legs",
    "iss_error_bound",
    "kreiss_constant",
    "load_system",
    "long_memory_limit",
    "lyap",
    "lyapunov_matrix",
    "mega_ema",
    "mode_gain",
    "random_stable",
    "s4d_inv",
    "s4d_lin",
    "s4d_real",
    "s5_hippo",
    "sampling",
    "signals",
    "simulate",
    "simulate_reference",
    "simulate_tv",
    "simulate_variable_step",
    "smr_gate",
    "spectral_radius",
    "ssm_kernel",
    "stability_report",
    "symbolic",
    "teaching",
    "transient_bound",
    "verify_theorem1",
]


def __getattr__(name):
    """Import [`smr_stability.symbolic`][smr_stability.symbolic] (sympy, about 0.5 s) only when first used."""
    if name == "symbolic":
        import importlib

        return importlib.import_module(".symbolic", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
