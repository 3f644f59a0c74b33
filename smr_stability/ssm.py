"""The continuous-time state space model container [`SSM`][smr_stability.ssm.SSM] and its interop.

Convention (docs/theory.md §0): `dx/dt = A x + B u`, `y = Re(C x) + D u` with `x` in C^N or
R^N, `u` in R^P and `y` in R^Q. A diagonal `A = diag(lam)` is stored as the vector
`lam` of shape `(N,)`; every routine of the package takes the O(N) fast path for it.
"""

from dataclasses import dataclass

import numpy as np

from ._validation import as_array, check_shape, readonly, state_matrix
from .errors import InputTypeError, ShapeError

__all__ = ["SSM", "as_ssm"]


@dataclass(frozen=True, eq=False)
class SSM:
    """An immutable continuous state space model `(A, B, C, D)`.

    Parameters
    ----------
    A : array, shape (N, N), or (N,) for a diagonal state matrix `diag(A)`
    B : array, shape (N, P), or (N,) for a single input
    C : array, shape (Q, N), or (N,) for a single output
    D : array, shape (Q, P), scalar, or None (zeros)
    name : str, optional
        A label used in reports and plots.

    Notes
    -----
    The model is `dx/dt = A x + B u`, `y = Re(C x) + D u`. Real and complex entries are
    both allowed; arrays are stored as read-only float64 or complex128 copies. Shapes are
    validated on construction and every array must be finite.

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import SSM
    >>> sys = SSM(A=[-1.0, -2.0], B=[1.0, 1.0], C=[1.0, -1.0])
    >>> sys.diagonal, sys.N, sys.P, sys.Q
    (True, 2, 1, 1)
    >>> bool(np.allclose(sys.A_dense, np.diag([-1.0, -2.0])))
    True
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray = None
    name: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise InputTypeError(f"name: expected a str (a label); found {self.name!r} ({type(self.name).__name__}).")
        A = state_matrix(self.A)
        N = A.shape[0]
        if N == 0:
            raise ShapeError("A must have at least one state (N >= 1); found N = 0.")
        B = as_array(self.B, "B", ndim=(1, 2))
        B = B[:, None] if B.ndim == 1 else B
        check_shape(B, (N, None), "B (N = rows of A)")
        C = as_array(self.C, "C", ndim=(1, 2))
        C = C[None, :] if C.ndim == 1 else C
        check_shape(C, (None, N), "C (N = rows of A)")
        P, Q = B.shape[1], C.shape[0]
        if self.D is None:
            D = np.zeros((Q, P))
        else:
            D = as_array(self.D, "D", ndim=(0, 1, 2), allow_complex=False)
            if D.ndim == 0:
                D = np.broadcast_to(D, (Q, P))
            elif D.ndim == 1 and D.size == Q * P and 1 in (Q, P):
                D = D.reshape(Q, P)  # a vector for a single input or a single output
            check_shape(D, (Q, P), "D")
        for key, val in zip("ABCD", (A, B, C, D)):
            object.__setattr__(self, key, readonly(val))

    # -- shapes and flags -------------------------------------------------------------
    @property
    def diagonal(self):
        """True when `A` is stored as the vector of its diagonal."""
        return self.A.ndim == 1

    @property
    def N(self):
        """State dimension."""
        return self.A.shape[0]

    @property
    def P(self):
        """Input dimension."""
        return self.B.shape[1]

    @property
    def Q(self):
        """Output dimension."""
        return self.C.shape[0]

    @property
    def is_complex(self):
        """True if any of `A, B, C` is complex."""
        return any(np.iscomplexobj(m) for m in (self.A, self.B, self.C))

    @property
    def A_dense(self):
        """`A` as an `(N, N)` matrix (a new array)."""
        return np.diag(self.A) if self.diagonal else np.array(self.A)

    @property
    def eigenvalues(self):
        """Eigenvalues of `A`, shape (N,)."""
        return np.array(self.A) if self.diagonal else np.linalg.eigvals(self.A)

    def is_stable(self):
        """True if `A` is Hurwitz: every eigenvalue has `Re(lambda) < 0`."""
        return bool(np.max(self.eigenvalues.real) < 0)

    # -- conversions ------------------------------------------------------------------
    def discretize(self, dt, method="zoh", alpha=None):
        """Return `(Ab, Bb)`; see [`smr_stability.discretize`][smr_stability.discretization.discretize]."""
        from .discretization import discretize

        return discretize(self.A, self.B, dt, method=method, alpha=alpha)

    def to_dense(self):
        """The same model with `A` stored as an `(N, N)` matrix."""
        return SSM(self.A_dense, self.B, self.C, self.D, name=self.name)

    def realify(self):
        """An equivalent real model of size 2N for a complex one (returns `self` if real).

        With `x = xr + i xi` and real inputs, `d[xr; xi]/dt = [[Ar, -Ai], [Ai, Ar]] [xr; xi]
        + [Br; Bi] u` and `y = Re(C x) + D u = [Cr, -Ci] [xr; xi] + D u`, so the outputs are
        identical for every real input.
        """
        if not self.is_complex:
            return self
        A = self.A_dense
        Ar = np.block([[A.real, -A.imag], [A.imag, A.real]])
        Br = np.vstack([self.B.real, self.B.imag])
        Cr = np.hstack([self.C.real, -self.C.imag])
        return SSM(Ar, Br, Cr, self.D, name=self.name)

    def to_control(self):
        """Return a real `control.StateSpace` (complex models are realified, see
        [`realify`][smr_stability.ssm.SSM.realify])."""
        import control

        r = self.realify()
        return control.StateSpace(r.A_dense, r.B, r.C, r.D)

    @classmethod
    def from_control(cls, sys, name=""):
        """Build an [`SSM`][smr_stability.ssm.SSM] from a continuous-time `control.StateSpace`."""
        import control

        if not isinstance(sys, control.StateSpace):
            raise InputTypeError(f"sys: expected a control.StateSpace; found {type(sys).__name__}.")
        if sys.isdtime(strict=True):
            raise InputTypeError(
                f"expected a continuous-time control.StateSpace; found one with dt = {sys.dt}. "
                "Pass the continuous model (use control.d2c if you only have the discrete one)."
            )
        return cls(np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C), np.asarray(sys.D), name=name)

    def __repr__(self):
        kind = "diagonal" if self.diagonal else "dense"
        field = "complex" if self.is_complex else "real"
        label = f"{self.name!r}, " if self.name else ""
        return f"SSM({label}N={self.N}, P={self.P}, Q={self.Q}, {kind}, {field})"


def as_ssm(system):
    """Coerce an [`SSM`][smr_stability.ssm.SSM], a `control.StateSpace` or a tuple `(A, B, C[, D])` to an SSM."""
    if isinstance(system, SSM):
        return system
    if isinstance(system, (tuple, list)) and len(system) in (3, 4):
        return SSM(*system)
    try:
        import control

        if isinstance(system, control.StateSpace):
            return SSM.from_control(system)
    except ImportError:  # pragma: no cover - control is a hard dependency
        pass
    raise InputTypeError(
        f"system: expected an SSM, a control.StateSpace or a tuple (A, B, C[, D]); found {type(system).__name__}."
    )
