"""Symbolic derivations (sympy) of the discretizations and of Theorem 1 (docs/theory.md §1, §4).

Every function returns a [`Derivation`][smr_stability.symbolic.Derivation]: the sympy result `expr`, the `symbols` it
depends on (in the argument order of
[`Derivation.lambdify`][smr_stability.symbolic.Derivation.lambdify]), the intermediate steps in
`details` and a LaTeX rendering for notebooks
([`Derivation.latex`][smr_stability.symbolic.Derivation.latex], or just display the object). The
numeric code of [`smr_stability.discretization`][smr_stability.discretization] is what these must
agree with; `tests/test_symbolic.py` lambdifies each result and compares it at random points.

| function | result |
|---|---|
| [`eigenvalue_map_expr`][smr_stability.symbolic.eigenvalue_map_expr] | `mu = phi(z)`, `z = dt lambda` (zoh, bilinear, gbt, ...) |
| [`input_matrix_expr`][smr_stability.symbolic.input_matrix_expr] | scalar `Bb(lambda, dt) b` (and `Ab` in `details`) |
| [`discretize_2x2`][smr_stability.symbolic.discretize_2x2] | `(Ab, Bb)` of a 2 x 2 system, symbolic entries |
| [`bilinear_stability_identity`][smr_stability.symbolic.bilinear_stability_identity] | `|1 + z/2|^2 - |1 - z/2|^2 = 2 Re z` |
| [`euler_step_limit_expr`][smr_stability.symbolic.euler_step_limit_expr] | `|1 + dt lambda| < 1  <=>  dt < -2 Re(lambda)/|lambda|^2` |
| [`lyapunov_difference_expr`][smr_stability.symbolic.lyapunov_difference_expr] | `Delta L_e` of Theorem 1, discrete form |
| [`gamma_star_expr`][smr_stability.symbolic.gamma_star_expr] | the positive root `gamma*` of Theorem 1 |
| [`continuous_derivative_expr`][smr_stability.symbolic.continuous_derivative_expr] | `dL_e/dt` and the threshold of Theorem 1, continuous form |
| [`derivation_latex`][smr_stability.symbolic.derivation_latex] | LaTeX strings of the derivations, by name |

Symbols: `z` (complex, `dt * lambda`), `lambda` (complex mode), `Delta` (the step
`dt > 0`), `alpha` (gbt, when left symbolic), `Abar`/`Bbar` (`Ab`/`Bb`, printed
`\\bar{A}`/`\\bar{B}`), `P`, `Q`, `e`, `w`. Complex symbols carry no assumption,
so `conjugate(e)` stays an independent atom and identities are checked by plain expansion.

Shapes in `lambdify`: a sympy `Matrix` of symbols in `symbols` is one argument; pass an
array of the same shape, or `(n,)` for a one-column matrix (`e`, `w`, `B`).
"""

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

import sympy as sp

from ._validation import check_bool, check_int, resolve_method
from .errors import AlphaError, InputTypeError, ParameterError, ShapeError

__all__ = [
    "Derivation",
    "eigenvalue_map_expr",
    "input_matrix_expr",
    "discretize_2x2",
    "bilinear_stability_identity",
    "euler_step_limit_expr",
    "lyapunov_difference_expr",
    "gamma_star_expr",
    "continuous_derivative_expr",
    "latex",
    "derivation_latex",
]

# -- shared symbols -----------------------------------------------------------------------
z = sp.Symbol("z")  # dt * lambda, complex
lam = sp.Symbol("lambda")  # continuous eigenvalue, complex
dt = sp.Symbol("Delta", positive=True)  # the step
alpha = sp.Symbol("alpha", real=True)  # gbt parameter when left symbolic
b = sp.Symbol("b")  # scalar input gain, complex
sigma = sp.Symbol("sigma", positive=True)  # Theorem 1's 0 < sigma < 1
lambda_min = sp.Symbol("lambda_min", positive=True)  # lambda_min(Q)
_Re = sp.Function("Re")  # unevaluated Re(.) for the abstract (matrix) display forms


@dataclass(frozen=True, eq=False)
class Derivation:
    """A symbolic result with the symbols it depends on and its intermediate steps.

    Attributes
    ----------
    name : str
        Short name (the keys of [`derivation_latex`][smr_stability.symbolic.derivation_latex]).
    lhs : sympy object or tuple
        What `expr` is, for display (e.g. `mu`, or `(Abar, Bbar)`).
    expr : sympy Expr, ImmutableMatrix, or tuple of them
        The result.
    symbols : tuple
        The free symbols, in the argument order of
        [`lambdify`][smr_stability.symbolic.Derivation.lambdify]. A Matrix of symbols is one
        argument (an array of that shape; `(n,)` for a one-column Matrix).
    details : Mapping[str, object]
        Intermediate steps and checks (sympy objects), e.g. `details['residual'] == 0`.
    display : sympy object, optional
        The equation [`latex`][smr_stability.symbolic.Derivation.latex] renders, when it differs from `Eq(lhs, expr)`
        (e.g. the abstract matrix form of Theorem 1).
    """

    name: str
    lhs: Any
    expr: Any
    symbols: tuple
    details: Mapping[str, Any] = field(default_factory=dict)
    display: Any = None

    def lambdify(self, key=None, modules="numpy", **kwargs):
        """Return a numeric function of `symbols` evaluating `expr` (or `details[key]`).

        Parameters
        ----------
        key : str, optional
            A key of `details`; default: `expr`.
        modules : str or list
            Passed to `sympy.lambdify` (default `'numpy'`).
        **kwargs
            Passed to `sympy.lambdify` (e.g. `cse=True`).
        """
        if key is not None and key not in self.details:
            raise ParameterError(f"key: expected None or one of {sorted(self.details)}; found {key!r}.")
        if not isinstance(modules, (str, list, tuple, dict, type(sp))):
            raise InputTypeError(
                f"modules: expected a module name such as 'numpy', a list, a dict or a module; found {modules!r}."
            )
        target = self.expr if key is None else self.details[key]
        return sp.lambdify(_as_args(self.symbols), target, modules=modules, **kwargs)

    def equation(self):
        """The displayed equation: `display`, or `Eq(lhs, expr)` (a tuple for tuples)."""
        if self.display is not None:
            return self.display
        if isinstance(self.lhs, tuple):
            return tuple(sp.Eq(l, r, evaluate=False) for l, r in zip(self.lhs, self.expr))
        return sp.Eq(self.lhs, self.expr, evaluate=False)

    def latex(self):
        """LaTeX string of [`equation`][smr_stability.symbolic.Derivation.equation] (`sympy.latex`);
        tuples joined by `,\\quad`."""
        return latex(self.equation())

    def _repr_latex_(self):
        return f"$\\displaystyle {self.latex()}$"


def latex(obj):
    """LaTeX string of a [`Derivation`][smr_stability.symbolic.Derivation], a sympy object, or a tuple of them.

    Examples
    --------
    >>> import sympy as sp
    >>> from smr_stability.symbolic import latex
    >>> latex(sp.Symbol("Abar"))
    '\\\\bar{A}'
    """
    if isinstance(obj, Derivation):
        return obj.latex()
    if isinstance(obj, (tuple, list)):
        return r",\quad ".join(latex(o) for o in obj)
    if not isinstance(obj, (sp.Basic, sp.MatrixBase, numbers.Number)):
        raise InputTypeError(
            f"obj: expected a Derivation, a sympy object or a tuple of them; found {type(obj).__name__}."
        )
    return sp.latex(obj)


def _as_args(symbols):
    out = []
    for s in symbols:
        if isinstance(s, sp.MatrixBase):
            out.append(list(s) if s.shape[1] == 1 else s.tolist())
        else:
            out.append(s)
    return out


def _derivation(name, lhs, expr, symbols, details=None, display=None):
    return Derivation(name, lhs, expr, tuple(symbols), MappingProxyType(dict(details or {})), display)


# -- methods ------------------------------------------------------------------------------


def _resolve(method, alpha_value):
    """`(kind, a)`: kind in {'zoh', 'selective', 'gbt'}; `a` an exact sympy number or expression.

    Validates as [`smr_stability.discretize`][smr_stability.discretization.discretize] (MethodError,
    AlphaError), and also accepts a sympy `alpha` (None: the symbol `alpha`) for `method='gbt'`.
    """
    if isinstance(method, str) and method == "gbt" and (alpha_value is None or isinstance(alpha_value, sp.Basic)):
        a = alpha if alpha_value is None else alpha_value
        if a.is_number and not (a.is_real and 0 <= a <= 1):
            raise AlphaError(
                f"alpha must lie in [0, 1]; found {alpha_value!r}. Use 0 (Euler), 1/2 (bilinear) or 1 (backward Euler)."
            )
        return "gbt", a
    kind, a = resolve_method(method, alpha_value)
    return kind, (None if a is None else sp.nsimplify(a, rational=True))


def _alpha_symbols(a):
    """The free symbols of a symbolic alpha (sorted by name), else ()."""
    return tuple(sorted(a.free_symbols, key=str)) if isinstance(a, sp.Basic) else ()


def _mu_of(kind, a, arg):
    if kind in ("zoh", "selective"):
        return sp.exp(arg)
    return (1 + (1 - a) * arg) / (1 - a * arg)


def eigenvalue_map_expr(method="zoh", alpha=None):
    """Symbolic eigenvalue map `mu = phi(z)`, `z = dt * lambda` (docs/theory.md §1).

    $$
    \\mu_{\\mathrm{zoh}} = \\mu_{\\mathrm{selective}} = e^{z}, \\qquad
    \\mu_{\\mathrm{gbt}(\\alpha)} = \\frac{1 + (1-\\alpha) z}{1 - \\alpha z}
    $$

    (bilinear `alpha = 1/2`: `(1 + z/2)/(1 - z/2)`; euler `alpha = 0`: `1 + z`;
    backward_diff `alpha = 1`: `1/(1 - z)`), as
    [`smr_stability.eigenvalue_map`][smr_stability.discretization.eigenvalue_map].

    Parameters
    ----------
    method : str
        One of `smr_stability.METHODS`.
    alpha : float, sympy expression, or None
        Only for `method='gbt'`: a number in [0, 1] (made an exact rational), or None to keep
        the symbol `alpha`.

    Returns
    -------
    Derivation
        `expr` = mu; `symbols` = `(z,)`, or `(z, alpha)` for a symbolic alpha.

    Raises
    ------
    MethodError, AlphaError
        As [`smr_stability.discretize`][smr_stability.discretization.discretize].

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import eigenvalue_map
    >>> from smr_stability.symbolic import eigenvalue_map_expr
    >>> d = eigenvalue_map_expr("bilinear")
    >>> d.expr
    (z/2 + 1)/(1 - z/2)
    >>> zs = np.array([-0.3 + 2j, 0.1 - 1j])
    >>> bool(np.allclose(d.lambdify()(zs), eigenvalue_map(zs, "bilinear")))
    True
    """
    return _eigenvalue_map_expr(method, *_resolve(method, alpha))


@cache
def _eigenvalue_map_expr(method, kind, a):
    mu = _mu_of(kind, a, z)
    return _derivation(f"mu_{method}", sp.Symbol("mu"), mu, (z,) + _alpha_symbols(a))


def input_matrix_expr(method="zoh", alpha=None):
    """Symbolic `Bb` of a scalar mode `dx/dt = lambda x + b u` (docs/theory.md §1).

    $$
    \\bar B_{\\mathrm{zoh}} = \\frac{e^{\\Delta\\lambda} - 1}{\\lambda} b, \\qquad
    \\bar B_{\\mathrm{gbt}(\\alpha)} = \\frac{\\Delta b}{1 - \\alpha\\Delta\\lambda}, \\qquad
    \\bar B_{\\mathrm{selective}} = \\Delta b.
    $$

    Parameters
    ----------
    method : str
        One of `smr_stability.METHODS`.
    alpha : float, sympy expression, or None
        Only for `method='gbt'` (None keeps the symbol `alpha`).

    Returns
    -------
    Derivation
        `expr` = Bb; `symbols` = `(lambda, Delta, b)` (+ `alpha`);
        `details['Ab']` = `mu(Delta lambda)`; for zoh `details['at_lambda_0']` = the limit
        `lambda -> 0`, `Delta b` (why zoh works for singular `A`).

    Examples
    --------
    >>> import numpy as np
    >>> from smr_stability import discretize
    >>> from smr_stability.symbolic import input_matrix_expr
    >>> d = input_matrix_expr("zoh")
    >>> d.details["at_lambda_0"]
    Delta*b
    >>> lam, b = np.array([-0.5 + 3j]), np.array([2.0 + 0j])
    >>> Ab, Bb = discretize(lam, b, 0.1, "zoh")
    >>> bool(np.allclose(d.lambdify()(lam, 0.1, b), Bb))
    True
    """
    return _input_matrix_expr(method, *_resolve(method, alpha))


@cache
def _input_matrix_expr(method, kind, a):
    Ab = _mu_of(kind, a, dt * lam)
    details = {"Ab": Ab}
    if kind == "zoh":
        Bb = (sp.exp(dt * lam) - 1) / lam * b
        details["at_lambda_0"] = sp.limit(Bb, lam, 0)
    elif kind == "selective":
        Bb = dt * b
    else:
        Bb = dt * b / (1 - a * dt * lam)
    return _derivation(f"Bb_{method}", sp.Symbol("Bbar"), Bb, (lam, dt, b) + _alpha_symbols(a), details)


# -- 2 x 2 systems ------------------------------------------------------------------------


def _generic(name, rows, cols):
    return sp.ImmutableMatrix(
        rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}" if cols > 1 else f"{name}_{i + 1}")
    )


def _exp_2x2(M):
    """`exp(M)` for a 2 x 2 M by Cayley-Hamilton: `e^m (cosh(s) I + sinh(s)/s (M - m I))`."""
    m = M.trace() / 2
    s = sp.sqrt(m**2 - M.det())
    I = sp.eye(2)
    return sp.ImmutableMatrix(sp.exp(m) * (sp.cosh(s) * I + sp.sinh(s) / s * (M - m * I))), m, s


def _phi1_2x2(M):
    """`phi1(M) = M^{-1}(exp(M) - I)` by Sylvester's formula, eigenvalues `m +- s`."""
    m = M.trace() / 2
    s = sp.sqrt(m**2 - M.det())
    lp, lm = m + s, m - s
    I = sp.eye(2)

    def phi1(x):
        return (sp.exp(x) - 1) / x

    return sp.ImmutableMatrix((phi1(lp) * (M - lm * I) - phi1(lm) * (M - lp * I)) / (2 * s))


def discretize_2x2(method="zoh", alpha=None, A=None, B=None, simplify=True):
    """Symbolic `(Ab, Bb)` of a 2 x 2 system `dx/dt = A x + B u` (docs/theory.md §1).

    $$
    \\bar A_{\\mathrm{gbt}} = (I - \\alpha\\Delta A)^{-1}(I + (1-\\alpha)\\Delta A), \\quad
    \\bar B_{\\mathrm{gbt}} = (I - \\alpha\\Delta A)^{-1}\\Delta B, \\quad
    (I - \\alpha\\Delta A)^{-1} = \\frac{\\operatorname{adj}(I - \\alpha\\Delta A)}{\\det(I - \\alpha\\Delta A)};
    $$

    zoh: `Ab = exp(Delta A)`, `Bb = Delta phi1(Delta A) B` with `phi1(M) = M^{-1}(e^M - I)`.

    Parameters
    ----------
    method : str
        One of `smr_stability.METHODS`.
    alpha : float, sympy expression, or None
        Only for `method='gbt'` (None keeps the symbol `alpha`).
    A : sympy Matrix (2, 2), optional
        A structured example (e.g. `[[lambda, 1], [0, lambda]]`, `[[0, 1], [0, 0]]`).
        Default: generic symbols `a_11 .. a_22`.
    B : sympy Matrix (2, 1), optional
        Default: symbols `b_1, b_2`.
    simplify : bool
        Simplify the entries when `A` is given (`sympy.simplify`; can be slow for a
        large expression, keep `A` small).

    Returns
    -------
    Derivation
        `expr = (Ab, Bb)` (2 x 2 and 2 x 1 ImmutableMatrix). `symbols`: the generic
        `A` and `B` are one Matrix argument each, `(A, B, Delta)`; a given `A` (or
        `B`) contributes its free symbols sorted by name instead (those of `B` not already
        in `A`); `alpha` last when symbolic. `details`: gbt `'M'` (= `I - alpha Delta A`) and
        `'det'`; generic zoh/selective `'m'`, `'s'` (eigenvalues of `Delta A` are
        `m +- s`).

    Raises
    ------
    ShapeError
        If `A` is not 2 x 2 or `B` not 2 x 1.

    Notes
    -----
    Generic zoh: by Cayley-Hamilton, with `Delta A` having eigenvalues `m +- s`,
    `exp(Delta A) = e^m (cosh s I + sinh(s)/s (Delta A - m I))` and `phi1` by Sylvester's
    formula. Both divide by `s` (and `phi1` by the eigenvalues): they hold for distinct,
    nonzero eigenvalues of `Delta A`; repeated or zero eigenvalues are removable
    singularities, handled exactly by passing a structured `A`, for which zoh takes the top
    blocks of `exp(Delta [[A, B], [0, 0]])` (sympy's matrix exponential), as the numeric
    code does. Evaluate the generic zoh form with complex arrays: `s` is the square root of
    a discriminant that is negative for a real `A` with complex eigenvalues.

    Examples
    --------
    >>> import sympy as sp
    >>> from smr_stability.symbolic import discretize_2x2
    >>> d = discretize_2x2("zoh", A=sp.Matrix([[0, 1], [0, 0]]), B=sp.Matrix([0, 1]))
    >>> Ab, Bb = d.expr
    >>> Ab, Bb.T
    (Matrix([
    [1, Delta],
    [0,     1]]), Matrix([[Delta**2/2, Delta]]))
    >>> d.symbols
    (Delta,)
    >>> import numpy as np
    >>> from smr_stability import discretize
    >>> Ab_n, Bb_n = discretize(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([0.0, 1.0]), 0.5)
    >>> Ab_s, Bb_s = d.lambdify()(0.5)
    >>> bool(np.allclose(Ab_s, Ab_n) and np.allclose(Bb_s.ravel(), Bb_n))
    True
    """
    simplify = check_bool(simplify, "simplify")
    if A is not None:
        A = sp.ImmutableMatrix(A)
        if A.shape != (2, 2):
            raise ShapeError(f"A must be a 2 x 2 sympy Matrix; found shape {A.shape}.")
    if B is not None:
        B = sp.ImmutableMatrix(B)
        if B.shape == (1, 2):
            B = B.T
        if B.shape != (2, 1):
            raise ShapeError(f"B must be a 2 x 1 sympy Matrix; found shape {B.shape}.")
    kind, a = _resolve(method, alpha)
    return _discretize_2x2(method, kind, a, A, B, bool(simplify))


@cache
def _discretize_2x2(method, kind, a, A, B, simplify):
    generic, generic_B = A is None, B is None
    A = _generic("a", 2, 2) if generic else A
    B = _generic("b", 2, 1) if generic_B else B
    I = sp.eye(2)
    details = {}
    if kind == "gbt":
        M = sp.ImmutableMatrix(I - a * dt * A)
        det = sp.expand(M.det())
        adj = M.adjugate()
        Ab = (adj * (I + (1 - a) * dt * A)).applyfunc(sp.expand) / det
        Bb = (adj * dt * B).applyfunc(sp.expand) / det
        details.update(M=M, det=det)
        if not generic and simplify:
            Ab, Bb = Ab.applyfunc(sp.cancel), Bb.applyfunc(sp.cancel)
    elif generic:
        Ab, m, s = _exp_2x2(dt * A)
        Bb = dt * _phi1_2x2(dt * A) * B if kind == "zoh" else dt * B
        details.update(m=m, s=s)
    else:
        if kind == "zoh":
            Mb = sp.zeros(3, 3)
            Mb[:2, :2] = dt * A
            Mb[:2, 2] = dt * B
            E = Mb.exp()
            Ab, Bb = E[:2, :2], E[:2, 2]
        else:
            Ab, Bb = (dt * A).exp(), dt * B
        if simplify:
            Ab, Bb = Ab.applyfunc(sp.simplify), Bb.applyfunc(sp.simplify)
    extra = set(_alpha_symbols(a)) | {dt}
    args_A = (A,) if generic else tuple(sorted(A.free_symbols - extra, key=str))
    args_B = (B,) if generic_B else tuple(sorted(B.free_symbols - extra - set(args_A), key=str))
    symbols = args_A + args_B + (dt,) + _alpha_symbols(a)
    Ab, Bb = sp.ImmutableMatrix(Ab), sp.ImmutableMatrix(Bb)
    return _derivation(f"discretize_2x2_{method}", (sp.Symbol("Abar"), sp.Symbol("Bbar")), (Ab, Bb), symbols, details)


# -- stability regions --------------------------------------------------------------------


@cache
def bilinear_stability_identity():
    """The bilinear map's stability region: `|mu| < 1  <=>  Re z < 0` (docs/theory.md §1).

    With `mu = (1 + z/2)/(1 - z/2)` and `z = x + i y` (`x, y` real):

    $$
    |1 + z/2|^2 - |1 - z/2|^2 = 2\\,\\mathrm{Re}\\, z, \\qquad
    |\\mu|^2 - 1 = \\frac{2\\,\\mathrm{Re}\\, z}{|1 - z/2|^2},
    $$

    and `|1 - z/2|^2 > 0` for `z != 2`, so `|mu|^2 < 1` exactly when `Re z < 0`
    (`|mu| = 1` on the imaginary axis).

    Returns
    -------
    Derivation
        `expr` = `2 x` (the simplified difference); `symbols` = `(x, y)`. `details`:
        `'z'` (`x + i y`), `'mu'`, `'difference'` (`|1+z/2|^2 - |1-z/2|^2` before
        simplification), `'abs_mu2_minus_1'`, `'condition'` (`x < 0`, from
        `sympy.reduce_inequalities`).

    Examples
    --------
    >>> from smr_stability.symbolic import bilinear_stability_identity
    >>> d = bilinear_stability_identity()
    >>> d.expr, d.details["condition"]
    (2*x, x < 0)
    """
    x, y = sp.symbols("x y", real=True)
    zz = x + sp.I * y
    mu = (1 + zz / 2) / (1 - zz / 2)
    difference = sp.Abs(1 + zz / 2) ** 2 - sp.Abs(1 - zz / 2) ** 2
    expr = sp.expand(difference)
    den = sp.expand(sp.Abs(1 - zz / 2) ** 2)
    details = {
        "z": zz,
        "mu": mu,
        "difference": difference,
        "abs_mu2_minus_1": expr / den,
        "condition": sp.reduce_inequalities([expr < 0], x),
    }
    display = (
        sp.Eq(sp.Abs(1 + z / 2) ** 2 - sp.Abs(1 - z / 2) ** 2, 2 * sp.re(z), evaluate=False),
        sp.Eq(sp.Abs(sp.Symbol("mu")) ** 2 - 1, 2 * sp.re(z) / sp.Abs(1 - z / 2) ** 2, evaluate=False),
    )
    return _derivation("bilinear_stability", difference, expr, (x, y), details, display)


@cache
def euler_step_limit_expr():
    """Forward Euler's step limit: `|1 + dt lambda| < 1  <=>  dt < -2 Re(lambda)/|lambda|^2`.

    With `lambda = lambda_r + i lambda_i`,

    $$
    |1 + \\Delta\\lambda|^2 - 1 = \\Delta\\,(2\\lambda_r + \\Delta|\\lambda|^2),
    $$

    whose roots in `Delta` are 0 and `Delta_max = -2 lambda_r / |lambda|^2` (from
    `sympy.solve`). For `Delta > 0` the factor `2 lambda_r + Delta |lambda|^2` is
    increasing, so `|mu| < 1` exactly when `Delta < Delta_max`; no `Delta > 0` works when
    `lambda_r >= 0` (`Delta_max <= 0`).

    Returns
    -------
    Derivation
        `expr` = `Delta_max`; `symbols` = `(lambda_r, lambda_i)` (real).
        `details`: `'abs_mu2_minus_1'` (factored, a function of `lambda_r, lambda_i` and
        `Delta`), `'roots'`. `display` uses a complex `lambda`.

    Examples
    --------
    >>> from smr_stability.symbolic import euler_step_limit_expr
    >>> euler_step_limit_expr().expr
    -2*lambda_r/(lambda_i**2 + lambda_r**2)
    """
    lr, li = sp.symbols("lambda_r lambda_i", real=True)
    h = sp.Symbol("Delta")  # no sign assumption, so solve returns both roots
    abs2_minus_1 = sp.factor(sp.expand((1 + h * lr) ** 2 + (h * li) ** 2 - 1))
    roots = sp.solve(abs2_minus_1, h)
    nonzero = [r for r in roots if r != 0]
    if len(nonzero) != 1:  # pragma: no cover - sympy behaviour guard
        raise RuntimeError(f"expected the roots 0 and -2 lambda_r/|lambda|^2; sympy gave {roots}.")
    limit = nonzero[0]
    details = {"abs_mu2_minus_1": abs2_minus_1.subs(h, dt), "roots": tuple(roots)}
    display = sp.Eq(sp.Symbol("Delta_max"), -2 * sp.re(lam) / sp.Abs(lam) ** 2, evaluate=False)
    return _derivation("euler_step_limit", sp.Symbol("Delta_max"), limit, (lr, li), details, display)


# -- Theorem 1 ----------------------------------------------------------------------------


def _hermitian(name, n):
    """An n x n Hermitian matrix of symbols (real diagonal) and the argument matrix for lambdify.

    The argument matrix names the lower triangle `name_ij` (i > j) too, but the expression
    reads only the diagonal and the upper triangle.
    """
    diag = [sp.Symbol(f"{name}_{i + 1}{i + 1}", real=True) for i in range(n)]

    def entry(i, j):
        if i == j:
            return diag[i]
        if i < j:
            return sp.Symbol(f"{name}_{i + 1}{j + 1}")
        return sp.conjugate(sp.Symbol(f"{name}_{j + 1}{i + 1}"))

    H = sp.ImmutableMatrix(n, n, entry)
    arg = sp.ImmutableMatrix(n, n, lambda i, j: H[i, j] if i <= j else sp.Symbol(f"{name}_{i + 1}{j + 1}"))
    return H, arg


def _re_to_conj(expr):
    """Replace `Re(X)` by `(X + conj(X))/2` so identities reduce to polynomial expansion."""
    return expr.replace(sp.re, lambda X: (X + sp.conjugate(X)) / 2)


def _abstract(names):
    return [sp.Symbol(s, commutative=False) for s in names]


@cache
def lyapunov_difference_expr(n=1, m=1):
    """Theorem 1, discrete form: the one-step change of `L_e = e^H P e` (docs/theory.md §4).

    Along `e_{k+1} = Ab e_k + Bb w_k` (control convention), with `P = P^H` and
    `Q = P - Ab^H P Ab` (i.e. `Ab^H P Ab - P = -Q`):

    $$
    \\Delta L_e = L_e(k+1) - L_e(k)
    = -e^H Q e + 2\\,\\mathrm{Re}(e^H \\bar A^H P \\bar B w) + w^H \\bar B^H P \\bar B w.
    $$

    Parameters
    ----------
    n : int
        State dimension (1: scalar symbols `Abar, Bbar, P, Q, e, w`; else Matrices).
    m : int
        Input dimension (`w` in C^m, `Bb` n x m).

    Returns
    -------
    Derivation
        `expr` = the right-hand side (as a function of `Ab, Bb, P, Q, e, w`);
        `symbols` = `(Abar, Bbar, P, Q, e, w)`. For n > 1, `P` and `Q` are Hermitian
        and only their diagonal and upper triangle are read. `details`: `'e_next'`,
        `'direct'` (`e_{k+1}^H P e_{k+1} - e^H P e`), `'Q'` (`P - Ab^H P Ab`),
        `'residual'` (`direct - expr` with that Q, expanded: 0).

    Raises
    ------
    ParameterError
        If `n` or `m` is not a positive integer.

    Notes
    -----
    Complex symbols have no assumptions, so `conj(e)` is an independent atom (Wirtinger
    calculus) and, after writing `2 Re X = X + conj(X)`, the identity is a polynomial identity
    checked by `sympy.expand` alone. The cross terms `e^H Ab^H P Bb w` and
    `w^H Bb^H P Ab e` are conjugate only because `P = P^H`.

    Examples
    --------
    >>> from smr_stability.symbolic import lyapunov_difference_expr
    >>> d = lyapunov_difference_expr()
    >>> d.details["residual"]
    0
    """
    n, m = check_int(n, "n", error=ParameterError), check_int(m, "m", error=ParameterError)
    if n == 1 and m == 1:
        Ab, Bb, e, w = sp.symbols("Abar Bbar e w")
        P, Q = sp.symbols("P Q", positive=True)
        P_arg, Q_arg = P, Q
        H = sp.conjugate
        e_next = Ab * e + Bb * w
        direct = H(e_next) * P * e_next - H(e) * P * e
        Q_lyap = P - H(Ab) * P * Ab
        expr = -H(e) * Q * e + 2 * sp.re(H(e) * H(Ab) * P * Bb * w, evaluate=False) + H(w) * H(Bb) * P * Bb * w
        residual = sp.expand(direct - _re_to_conj(expr).subs(Q, Q_lyap))
    else:
        Ab, Bb = _generic("Abar", n, n), _generic("Bbar", n, m)
        e, w = _generic("e", n, 1), _generic("w", m, 1)
        P, P_arg = _hermitian("P", n)
        Q, Q_arg = _hermitian("Q", n)
        e_next = Ab * e + Bb * w
        direct = (e_next.H * P * e_next - e.H * P * e)[0]
        Q_lyap = P - Ab.H * P * Ab
        X = (e.H * Ab.H * P * Bb * w)[0]
        expr = -(e.H * Q * e)[0] + 2 * sp.re(X, evaluate=False) + (w.H * Bb.H * P * Bb * w)[0]
        subs = {Q[i, j]: Q_lyap[i, j] for i in range(n) for j in range(i, n)}
        residual = sp.expand(direct - _re_to_conj(expr).subs(subs))
    # display: the abstract (noncommutative) form, which reads as docs/theory.md writes it
    eH, Qs, es, wH, AH, Ps, Bs, ws, BH = _abstract(["e^H", "Q", "e", "w^H", "Abar^H", "P", "Bbar", "w", "Bbar^H"])
    rhs = -eH * Qs * es + 2 * _Re(eH * AH * Ps * Bs * ws) + wH * BH * Ps * Bs * ws
    display = sp.Eq(sp.Symbol(r"\Delta L_e"), rhs, evaluate=False)
    details = {"e_next": e_next, "direct": direct, "Q": Q_lyap, "residual": residual}
    symbols = (Ab, Bb, P_arg, Q_arg, e, w)
    return _derivation("lyapunov_difference", sp.Symbol(r"\Delta L_e"), expr, symbols, details, display)


@cache
def gamma_star_expr():
    """Theorem 1's gain `gamma*(sigma)`: the positive root of `b g^2 + 2 a g = sigma lambda_min(Q)`.

    With `a = ||Ab^H P Bb||_2 >= 0`, `b = ||Bb^H P Bb||_2 > 0` and `||w|| <= g ||e||`,
    `Delta L_e <= (-lambda_min(Q) + 2 a g + b g^2) ||e||^2`; the largest `g` that keeps the
    bracket at `-(1 - sigma) lambda_min(Q)` solves the quadratic:

    $$
    \\gamma^* = \\frac{-a + \\sqrt{a^2 + b\\,\\sigma\\,\\lambda_{\\min}(Q)}}{b}
    = \\frac{\\sigma\\,\\lambda_{\\min}(Q)}{a + \\sqrt{a^2 + b\\,\\sigma\\,\\lambda_{\\min}(Q)}}.
    $$

    The root is chosen from `sympy.solve`'s two by discarding the one sympy proves
    negative; the second (rationalized) form is manifestly positive and is the one to
    evaluate when `b sigma lambda_min << a^2` (no cancellation).

    Returns
    -------
    Derivation
        `expr` = `gamma*`; `symbols` = `(a, b, sigma, lambda_min)`. `details`:
        `'quadratic'` (the equation), `'roots'` (both), `'rationalized'`,
        `'decrease_rate'` (`-lambda_min + 2 a gamma* + b gamma*^2`, simplified:
        `-(1 - sigma) lambda_min`).

    Examples
    --------
    >>> from smr_stability.symbolic import gamma_star_expr
    >>> d = gamma_star_expr()
    >>> d.expr
    (-a + sqrt(a**2 + b*lambda_min*sigma))/b
    >>> d.details["decrease_rate"]
    lambda_min*(sigma - 1)
    """
    a = sp.Symbol("a", nonnegative=True)
    bb = sp.Symbol("b", positive=True)
    g = sp.Symbol("gamma")
    quadratic = sp.Eq(bb * g**2 + 2 * a * g, sigma * lambda_min)
    roots = sp.solve(quadratic, g)
    kept = [r for r in roots if r.is_negative is not True]
    if len(roots) != 2 or len(kept) != 1:  # pragma: no cover - sympy behaviour guard
        raise RuntimeError(f"expected one root that is not provably negative; sympy gave {roots}.")
    root = kept[0]
    sq = sp.sqrt(a**2 + bb * sigma * lambda_min)
    rationalized = sigma * lambda_min / (a + sq)
    # root * (a + sq) == sigma lambda_min proves root == rationalized, which is positive
    if sp.expand(root * (a + sq) - sigma * lambda_min) != 0 or rationalized.is_positive is not True:  # pragma: no cover
        raise RuntimeError("gamma* failed its positivity check.")
    rate = sp.factor(sp.expand(-lambda_min + 2 * a * root + bb * root**2))
    details = {"quadratic": quadratic, "roots": tuple(roots), "rationalized": rationalized, "decrease_rate": rate}
    return _derivation("gamma_star", sp.Symbol("gamma^*"), root, (a, bb, sigma, lambda_min), details)


@cache
def continuous_derivative_expr(n=1, m=1):
    """Theorem 1, continuous form: `dL_e/dt` along `de/dt = A e + B w` (docs/theory.md §4).

    With `P = P^H` and `Q = -(A^H P + P A)`:

    $$
    \\frac{dL_e}{dt} = -e^H Q e + 2\\,\\mathrm{Re}(e^H P B w)
    \\le -\\lambda_{\\min}(Q)\\|e\\|^2 + 2\\|PB\\|\\,\\|e\\|\\,\\|w\\|,
    $$

    so `||w|| <= sigma lambda_min(Q) / (2 ||PB||) ||e||` gives
    `dL_e/dt <= -(1 - sigma) lambda_min(Q) ||e||^2`.

    Parameters
    ----------
    n, m : int
        State and input dimensions (1, 1: scalar symbols `A, B, P, Q, e, w`).

    Returns
    -------
    Derivation
        `expr` = `-e^H Q e + 2 Re(e^H P B w)`; `symbols` = `(A, B, P, Q, e, w)`, and
        `sigma` last in the scalar case. For n > 1, `P` and `Q` are Hermitian and only
        their diagonal and upper triangle are read. `details`: `'de_dt'`, `'direct'`
        (the product rule `(de/dt)^H P e + e^H P de/dt`), `'Q'` (`-(A^H P + P A)`),
        `'residual'` (0). Scalar case also: `'bound'` (`-Q|e|^2 + 2 P|B||e||w|`),
        `'w_threshold'` (`sigma Q / (2 P |B|) |e|`), `'bound_at_threshold'`
        (`-(1 - sigma) Q |e|^2`; for scalars `lambda_min(Q) = Q`, `||PB|| = P|B|`).

    Raises
    ------
    ParameterError
        If `n` or `m` is not a positive integer.

    Examples
    --------
    >>> from smr_stability.symbolic import continuous_derivative_expr
    >>> d = continuous_derivative_expr()
    >>> d.details["residual"], d.details["bound_at_threshold"]
    (0, Q*(sigma - 1)*Abs(e)**2)
    """
    n, m = check_int(n, "n", error=ParameterError), check_int(m, "m", error=ParameterError)
    details = {}
    if n == 1 and m == 1:
        A, B, e, w = sp.symbols("A B e w")
        P, Q = sp.symbols("P Q", positive=True)
        P_arg, Q_arg = P, Q
        H = sp.conjugate
        de = A * e + B * w
        direct = H(de) * P * e + H(e) * P * de
        Q_lyap = -(H(A) * P + P * A)
        expr = -H(e) * Q * e + 2 * sp.re(H(e) * P * B * w, evaluate=False)
        residual = sp.expand(direct - _re_to_conj(expr).subs(Q, Q_lyap))
        E, W, PB = sp.Abs(e), sp.Abs(w), P * sp.Abs(B)
        bound = -Q * E**2 + 2 * PB * E * W
        threshold = sigma * Q / (2 * PB) * E
        details.update(bound=bound, w_threshold=threshold, bound_at_threshold=sp.factor(bound.subs(W, threshold)))
        symbols = (A, B, P_arg, Q_arg, e, w, sigma)
    else:
        A, B = _generic("A", n, n), _generic("B", n, m)
        e, w = _generic("e", n, 1), _generic("w", m, 1)
        P, P_arg = _hermitian("P", n)
        Q, Q_arg = _hermitian("Q", n)
        de = A * e + B * w
        direct = (de.H * P * e + e.H * P * de)[0]
        Q_lyap = -(A.H * P + P * A)
        expr = -(e.H * Q * e)[0] + 2 * sp.re((e.H * P * B * w)[0], evaluate=False)
        subs = {Q[i, j]: Q_lyap[i, j] for i in range(n) for j in range(i, n)}
        residual = sp.expand(direct - _re_to_conj(expr).subs(subs))
        symbols = (A, B, P_arg, Q_arg, e, w)
    details.update(de_dt=de, direct=direct, Q=Q_lyap, residual=residual)
    t = sp.Symbol("t")
    lhs = sp.Derivative(sp.Function("L_e")(t), t)
    eH, Qs, es, Ps, Bs, ws = _abstract(["e^H", "Q", "e", "P", "B", "w"])
    E, W, PBn = sp.symbols(r"\|e\| \|w\| \|PB\|", positive=True)
    display = (
        sp.Eq(lhs, -eH * Qs * es + 2 * _Re(eH * Ps * Bs * ws), evaluate=False),
        sp.Implies(
            sp.Le(W, sigma * lambda_min / (2 * PBn) * E), sp.Le(lhs, -(1 - sigma) * lambda_min * E**2), evaluate=False
        ),
    )
    return _derivation("continuous_derivative", lhs, expr, symbols, details, display)


# -- LaTeX for notebooks ------------------------------------------------------------------

_SCALAR_METHODS = ("zoh", "bilinear", "euler", "backward_diff", "gbt", "selective")


def _registry():
    reg = {}
    for meth in _SCALAR_METHODS:
        reg[f"mu_{meth}"] = lambda meth=meth: eigenvalue_map_expr(meth)
        reg[f"Bb_{meth}"] = lambda meth=meth: input_matrix_expr(meth)
    reg["bilinear_stability"] = bilinear_stability_identity
    reg["euler_step_limit"] = euler_step_limit_expr
    reg["lyapunov_difference"] = lyapunov_difference_expr
    reg["gamma_star"] = gamma_star_expr
    reg["continuous_derivative"] = continuous_derivative_expr
    return reg


_REGISTRY = _registry()


def derivation_latex(name=None):
    """LaTeX strings of the derivations, for notebooks (`IPython.display.Math(...)`).

    Parameters
    ----------
    name : str, optional
        One of `mu_<method>`, `Bb_<method>` (method in zoh, bilinear, euler,
        backward_diff, gbt (symbolic alpha), selective), `bilinear_stability`,
        `euler_step_limit`, `lyapunov_difference`, `gamma_star`,
        `continuous_derivative`. None: all of them.

    Returns
    -------
    str, or dict of str
        `Derivation.latex()` of the named derivation, or `{name: latex}` for all.
        The 2 x 2 discretizations are long; render them with
        `discretize_2x2(method).latex()`.

    Raises
    ------
    ParameterError
        For an unknown name.

    Examples
    --------
    >>> from smr_stability.symbolic import derivation_latex
    >>> derivation_latex("mu_euler")
    '\\\\mu = z + 1'
    """
    if name is None:
        return {k: f().latex() for k, f in _REGISTRY.items()}
    if name not in _REGISTRY:
        raise ParameterError(
            f"name: expected None or one of {', '.join(_REGISTRY)}; found unknown derivation {name!r}."
        )
    return _REGISTRY[name]().latex()
