"""Numerical verification of Theorem 1 (docs/theory.md §4): protocol V1 (implication), V2
(non-vacuity) and V3 (continuous form).

Discrete form, control convention `e_{k+1} = Ab e_k + Bb w_k`: with `Ab^H P Ab - P = -Q`,
`a = ||Ab^H P Bb||`, `b = ||Bb^H P Bb||` and `gamma* = (-a + sqrt(a^2 + b sigma lmin(Q)))/b`,
every `||w_k|| <= gamma ||e_k||` with `gamma <= gamma*` gives

```text
L(k+1) - L(k) <= -(1 - sigma) lmin(Q) ||e_k||^2,   L(k) <= (1 - (1-sigma) lmin(Q)/lmax(P))^k L(0),
```

with `L = e^H P e`. Continuous form: `A^H P + P A = -Q` and
`||w|| <= sigma lmin(Q)/(2 ||P B||) ||e||` give `dL/dt <= -(1-sigma) lmin(Q) ||e||^2` and
`L(t) <= L(0) exp(-(1-sigma) lmin(Q)/lmax(P) t)`.
"""

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from ._validation import check_bool, check_int
from .bounds import gamma_star, spectral_radius
from .discretization import discretize
from .lyapunov import lyapunov_matrix
from .proposition1 import error_gain
from .simulation import simulate
from .smr import smr_gate
from .systems import random_stable

__all__ = ["Theorem1Report", "channel_measures", "verify_theorem1"]

RTOL = 1e-9  # relative to the size of the Lyapunov values compared (docs/theory.md §4)
_SIZES = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256])
_SIZE_P = np.array([12, 12, 10, 10, 8, 8, 8, 8, 6, 6, 2.0, 0.6, 0.2])  # mostly small, some large
_METHODS = ("zoh", "bilinear", "euler", "backward_diff", "gbt", "selective")


@dataclass
class Theorem1Report:
    """What [`verify_theorem1`][smr_stability.theorem1.verify_theorem1] checked and found.

    `v1_*`: discrete implication on `v1_systems` random stable systems (`v1_steps` steps
    checked, each step two inequalities); `v1_worst_margin` is the smallest
    `(rhs - lhs) / scale` seen (>= -RTOL means no violation). `v2_*`: systems driven at
    `gamma = v2_factor * gamma*` along the worst direction, and how many had `L` increase.
    `v3_*`: continuous form along solve_ivp trajectories. `examples`: `L_e(k)` and the
    envelope of a few V1 and V2 systems, for [`plot`][smr_stability.theorem1.Theorem1Report.plot].
    """

    v1_systems: int = 0
    v1_steps: int = 0
    v1_violations: int = 0
    v1_worst_margin: float = np.inf
    v1_skipped_unstable: int = 0
    v2_systems: int = 0
    v2_increases: int = 0
    v2_factor: float = 4.0
    v3_systems: int = 0
    v3_points: int = 0
    v3_violations: int = 0
    v3_worst_margin: float = np.inf
    seconds: float = 0.0
    config: dict = field(default_factory=dict)
    examples: list = field(default_factory=list)

    @property
    def passed(self):
        """True when V1 and V3 found no violation and V2 found the bound non-vacuous."""
        return self.v1_violations == 0 and self.v3_violations == 0 and self.v2_increases > 0

    def table(self):
        """The report as a text table."""
        rows = [
            (
                "V1 implication (discrete)",
                f"{self.v1_systems} systems, {self.v1_steps} steps",
                self.v1_violations,
                f"{self.v1_worst_margin:.3e}",
            ),
            (
                "V2 non-vacuity",
                f"{self.v2_systems} systems at {self.v2_factor:g} gamma*",
                f"L increased on {self.v2_increases}",
                "-",
            ),
            (
                "V3 continuous (solve_ivp)",
                f"{self.v3_systems} systems, {self.v3_points} points",
                self.v3_violations,
                f"{self.v3_worst_margin:.3e}",
            ),
        ]
        head = f"{'check':28s} {'checked':34s} {'violations':>22s} {'worst margin':>14s}"
        lines = [head, "-" * len(head)] + [f"{a:28s} {b:34s} {str(c):>22s} {d:>14s}" for a, b, c, d in rows]
        lines.append(
            f"skipped (rho(Ab) >= 1 after discretization): {self.v1_skipped_unstable}; time {self.seconds:.1f} s; "
            f"{'PASSED' if self.passed else 'FAILED'}"
        )
        return "\n".join(lines)

    def to_json(self, path):
        """Write the report (examples included) as JSON."""
        doc = asdict(self)
        for key in ("v1_worst_margin", "v3_worst_margin"):
            doc[key] = None if not np.isfinite(doc[key]) else doc[key]
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)

    def plot(self, ax=None):
        """`L_e(k)` of the example systems against their Theorem 1 envelopes (log scale).

        Draws on `ax`, or on a new Figure detached from pyplot (headless-safe); in Jupyter,
        show it with `report.plot().figure` as a cell's last expression. Returns the Axes.
        """
        from .plotting import new_figure

        if ax is None:
            _, axes = new_figure(1, 1, size=(5.0, 3.2))
            ax = axes[0, 0]
        for ex in self.examples:
            k = np.arange(len(ex["L"]))
            line = ax.semilogy(k, ex["L"], lw=1.2, label=ex["label"])[0]
            if ex.get("envelope"):
                ax.semilogy(k, ex["envelope"], ls="--", lw=0.8, color=line.get_color())
        ax.set_xlabel("k")
        ax.set_ylabel("L_e(k) = e^H P e")
        ax.set_title("Theorem 1: L_e (solid) and envelope (dashed)")
        ax.legend(fontsize=6)
        return ax


def _draw_system(rng):
    N = int(rng.choice(_SIZES, p=_SIZE_P / _SIZE_P.sum()))
    diagonal, cplx = bool(rng.integers(2)), bool(rng.integers(2))
    P = int(rng.integers(1, 3))
    method = str(rng.choice(_METHODS))
    alpha = float(rng.uniform()) if method == "gbt" else None
    dt = float(10 ** rng.uniform(-3, 0))
    sys = random_stable(N, P, 1, diagonal=diagonal, complex=cplx, seed=rng)
    Ab, Bb = discretize(sys.A, sys.B, dt, method=method, alpha=alpha)
    label = f"N={N} {'diag' if diagonal else 'dense'} {'complex' if cplx else 'real'} {method} dt={dt:.2g}"
    return Ab, Bb, label


def _random_Q(rng, N, cplx):
    if rng.integers(2):
        return np.eye(N)
    G = rng.standard_normal((N, N)) + (1j * rng.standard_normal((N, N)) if cplx else 0)
    return G @ G.conj().T / N + 0.1 * np.eye(N)  # Hermitian positive definite


def _constants(Ab, Bb, Q, sigma):
    """A (dense), P, lmin(Q), lmax(P) and gamma* of the discrete form
    ([`gamma_star`][smr_stability.bounds.gamma_star])."""
    g = gamma_star(Ab, Bb, sigma, Q, return_info=True)
    A = np.diag(Ab) if Ab.ndim == 1 else Ab
    return A, g.P, g.lambda_min_Q, g.lambda_max_P, g.gamma


def _run_discrete(A, Bb, P, lmin_Q, lmax_P, gamma, sigma, e0, steps, rng, worst):
    """Iterate the error system; return L(k), the decrease and envelope margins, and the rate.

    `worst`: `w = gamma ||e|| v/||v||` with `v = Bb^H P A e`, the direction maximising
    `Re(e^H A^H P Bb w)` (a random direction where `v = 0`); otherwise a random direction
    and a random size below `gamma ||e||`.
    """
    rate = 1.0 - (1.0 - sigma) * lmin_Q / lmax_P
    M = Bb.conj().T @ P @ A  # (P, N): v = M e
    cplx = np.iscomplexobj(A) or np.iscomplexobj(Bb)
    e = e0
    L = [float(np.vdot(e, P @ e).real)]
    margins = np.empty(2 * steps)
    for k in range(steps):
        ne = np.sqrt(np.vdot(e, e).real)
        if worst:
            v = M @ e
            nv = np.sqrt(np.vdot(v, v).real)
            u = v / nv if nv > 0 else _random_unit(rng, Bb.shape[1], cplx)
            w = (gamma * ne) * u
        else:
            w = (gamma * ne * rng.uniform()) * _random_unit(rng, Bb.shape[1], cplx)
        e = A @ e + Bb @ w
        L_next = float(np.vdot(e, P @ e).real)
        bound = -(1.0 - sigma) * lmin_Q * ne * ne
        margins[2 * k] = (bound - (L_next - L[-1])) / (abs(L[-1]) + abs(L_next) + abs(bound))  # decrease
        envelope = rate ** (k + 1) * L[0]
        margins[2 * k + 1] = (envelope - L_next) / (abs(envelope) + abs(L_next))  # exponential envelope
        L.append(L_next)
    return np.array(L), margins, rate


def _random_unit(rng, p, cplx):
    v = rng.standard_normal(p) + (1j * rng.standard_normal(p) if cplx else 0)
    return v / np.linalg.norm(v)


def _v1_v2(report, n_systems, steps, rng, progress):
    from tqdm import tqdm

    for i in tqdm(range(n_systems), desc="V1/V2", unit="sys", disable=not progress):
        Ab, Bb, label = _draw_system(rng)
        while spectral_radius(Ab) >= 1:  # redraw: count checked systems
            report.v1_skipped_unstable += 1
            Ab, Bb, label = _draw_system(rng)
        cplx = np.iscomplexobj(Ab) or np.iscomplexobj(Bb)
        Q = _random_Q(rng, Bb.shape[0], cplx)
        sigma = float(rng.uniform(0.05, 0.95))
        A, P, lmin_Q, lmax_P, gstar = _constants(Ab, Bb, Q, sigma)
        e0 = _random_unit(rng, Bb.shape[0], cplx)
        for worst in (True, False):
            gamma = gstar if worst else gstar * rng.uniform(0.2, 1.0)
            L, margins, rate = _run_discrete(A, Bb, P, lmin_Q, lmax_P, gamma, sigma, e0, steps, rng, worst)
            report.v1_steps += steps
            report.v1_violations += int(np.sum(margins < -RTOL))
            report.v1_worst_margin = min(report.v1_worst_margin, float(margins.min()))
            if worst and len(report.examples) < 4:
                report.examples.append(
                    {
                        "label": "V1 " + label,
                        "L": L.tolist(),
                        "envelope": (L[0] * rate ** np.arange(steps + 1)).tolist(),
                    }
                )
        report.v1_systems += 1
        if i % 5 == 0:  # V2 on a subset: well above gamma*, worst direction
            L, _, _ = _run_discrete(A, Bb, P, lmin_Q, lmax_P, report.v2_factor * gstar, sigma, e0, steps, rng, True)
            report.v2_systems += 1
            increased = bool(np.any(np.diff(L) > RTOL * L[:-1]))
            report.v2_increases += increased
            if increased and sum(ex["label"].startswith("V2") for ex in report.examples) < 2:
                report.examples.append(
                    {"label": f"V2 {report.v2_factor:g} gamma* " + label, "L": L.tolist(), "envelope": None}
                )


def _v3(report, n_systems, rng, progress):
    """Continuous form along solve_ivp trajectories with the worst-case w = gamma_c ||e|| B^H P e/||.||."""
    from tqdm import tqdm

    for _ in tqdm(range(n_systems), desc="V3", unit="sys", disable=not progress):
        N = int(rng.integers(1, 9))
        cplx = bool(rng.integers(2))
        sys = random_stable(N, int(rng.integers(1, 3)), 1, diagonal=bool(rng.integers(2)), complex=cplx, seed=rng)
        A, B = sys.A_dense, sys.B
        Q = _random_Q(rng, N, cplx)
        sigma = float(rng.uniform(0.05, 0.95))
        P = lyapunov_matrix(A, Q, discrete=False)
        lmin_Q, lmax_P = np.linalg.eigvalsh(Q)[0], np.linalg.eigvalsh(P)[-1]
        gamma = sigma * lmin_Q / (2 * np.linalg.norm(P @ B, 2))

        def w_of(e):
            v = B.conj().T @ (P @ e)
            n = np.linalg.norm(v)
            return np.zeros(B.shape[1], complex) if n == 0 else gamma * np.linalg.norm(e) * v / n

        e0 = _random_unit(rng, N, True)
        T = 5.0 / (-np.max(np.linalg.eigvals(A).real))
        sol = solve_ivp(
            lambda t, e: A @ e + B @ w_of(e), (0.0, T), e0, rtol=1e-11, atol=1e-14, t_eval=np.linspace(0, T, 200)
        )
        L0 = float(np.real(e0.conj() @ P @ e0))
        rate = (1 - sigma) * lmin_Q / lmax_P
        for t, e in zip(sol.t, sol.y.T):
            L = float(np.real(e.conj() @ P @ e))
            dL = float(np.real(-(e.conj() @ Q @ e) + 2 * (e.conj() @ P @ B @ w_of(e))))
            bound = -(1 - sigma) * lmin_Q * np.linalg.norm(e) ** 2
            m1 = (bound - dL) / (abs(bound) + abs(dL) + 1e-300)
            env = L0 * np.exp(-rate * t)
            m2 = (env - L) / (env + abs(L))
            report.v3_points += 1
            report.v3_violations += int(m1 < -RTOL) + int(m2 < -RTOL)
            report.v3_worst_margin = min(report.v3_worst_margin, m1, m2)
        report.v3_systems += 1


#: V1 runs in chunks of at most this many systems, and at least 8 chunks: fixed by `n_systems`
#: alone, so that the report does not depend on the workers.
CHUNK_SYSTEMS = 2500
_MIN_CHUNKS = 8


def _chunk(args):
    """V1/V2 on one chunk of systems (V3 when `kind == 'v3'`); returns a partial report."""
    kind, n, steps, seed_seq, progress = args
    rng = np.random.default_rng(seed_seq)
    part = Theorem1Report()
    if kind == "v3":
        _v3(part, n, rng, progress)
    else:
        _v1_v2(part, n, steps, rng, progress)
    return part


def _merge(report, part):
    for name in (
        "v1_systems",
        "v1_steps",
        "v1_violations",
        "v1_skipped_unstable",
        "v2_systems",
        "v2_increases",
        "v3_systems",
        "v3_points",
        "v3_violations",
    ):
        setattr(report, name, getattr(report, name) + getattr(part, name))
    report.v1_worst_margin = min(report.v1_worst_margin, part.v1_worst_margin)
    report.v3_worst_margin = min(report.v3_worst_margin, part.v3_worst_margin)
    keep = {
        "V1": 4 - sum(ex["label"].startswith("V1") for ex in report.examples),
        "V2": 2 - sum(ex["label"].startswith("V2") for ex in report.examples),
    }
    for ex in part.examples:
        if keep[ex["label"][:2]] > 0:
            report.examples.append(ex)
            keep[ex["label"][:2]] -= 1


def verify_theorem1(
    n_systems=10_000, *, seed=0, steps=30, n_continuous=100, quick=False, progress=False, workers=1, client=None
):
    """Run the verification protocol V1-V3 of docs/theory.md §4 and return a
    [`Theorem1Report`][smr_stability.theorem1.Theorem1Report].

    Parameters
    ----------
    n_systems : int
        Systems checked by V1: random stable continuous systems (dense and diagonal, real and
        complex, N from 1 to 256, P in {1, 2}), each discretized by a random method with a
        random step; a draw whose discretization is unstable is counted and redrawn. Every
        fifth system also runs V2.
    seed : int
        The systems are drawn in fixed chunks (`chunk_sizes`), each seeded from
        `SeedSequence(seed)`, so the report does not depend on the workers.
    steps : int
        Steps of the error system per run; each V1 system runs once with the worst-case
        disturbance at `gamma = gamma*` and once with random disturbances below it.
    n_continuous : int
        Systems for V3 (N <= 8), integrated with solve_ivp (rtol 1e-11) over five time
        constants with the worst-case `w`.
    quick : bool
        Small settings (500 systems, 20 continuous) for a smoke run.
    progress : bool
        One progress bar over the systems as their chunks complete.
    workers : int
        Workers of a local Dask cluster (`smr_stability.parallel`; the command line uses 2);
        1 runs in this process unless a cluster is named. More than 1 needs the usual
        `if __name__ == "__main__":` guard in scripts. The report does not depend on it.
    client : distributed.Client or str, optional
        An existing Dask cluster to run the chunks on (default: `$SMR_STABILITY_SCHEDULER`).

    Notes
    -----
    A check fails when `rhs - lhs < -1e-9 * scale`, with `scale` the sum of the magnitudes
    compared (rounding in `L(k+1) - L(k)` is relative to `L`). The chunks' partial reports
    are merged in chunk order as they arrive, so the systems are never all held at once.
    """
    from tqdm import tqdm

    from .parallel import check_client, run_tasks

    check_client(client)
    n_systems, steps = check_int(n_systems, "n_systems"), check_int(steps, "steps")
    n_continuous, workers = check_int(n_continuous, "n_continuous", 0), check_int(workers, "workers")
    seed, quick = check_int(seed, "seed", 0), check_bool(quick, "quick")
    progress = check_bool(progress, "progress")
    if quick:
        n_systems, n_continuous = min(n_systems, 500), min(n_continuous, 20)
    sizes = chunk_sizes(n_systems)
    children = np.random.SeedSequence(seed).spawn(len(sizes) + 1)
    v1_seeds = children[:_MIN_CHUNKS] + children[_MIN_CHUNKS + 1 :]  # child 8 is V3's, as with 8 chunks
    jobs = [("v3", n_continuous, steps, children[_MIN_CHUNKS], False)]  # the longest first
    jobs += [("v1", int(n), steps, sq, False) for n, sq in zip(sizes, v1_seeds) if n]
    report = Theorem1Report(
        config={"n_systems": n_systems, "seed": seed, "steps": steps, "n_continuous": n_continuous, "rtol": RTOL}
    )
    t0 = time.perf_counter()
    done, waiting = 0, {}
    with tqdm(total=n_systems + n_continuous, desc="Theorem 1", unit="sys", disable=not progress) as bar:
        for i, part in run_tasks(_chunk, [(job,) for job in jobs], client=client, workers=workers):
            waiting[i] = part
            bar.update(jobs[i][1])
            while done in waiting:  # merge in job order: the same report whatever the completion order
                _merge(report, waiting.pop(done))
                done += 1
    report.seconds = time.perf_counter() - t0
    return report


def chunk_sizes(n_systems):
    """The sizes of V1's chunks for `n_systems`: `max(8, ceil(n / CHUNK_SYSTEMS))` chunks, as
    equal as integers allow. Depends on `n_systems` only."""
    n = max(_MIN_CHUNKS, -(-n_systems // CHUNK_SYSTEMS))
    return np.diff(np.arange(n + 1) * n_systems // n)


def _sq_norms(z, weights=None):
    """`sum_n weights_n |z_n|^2` over the last axis (weights 1 by default), through a real view
    of a complex `z` (no complex temporaries)."""
    if np.iscomplexobj(z):
        v = np.ascontiguousarray(z).view(np.float64)  # (..., 2N): real and imaginary parts interleaved
        weights = None if weights is None else np.repeat(weights, 2)
    else:
        v = z
    return np.einsum("...i,...i->...", v, v) if weights is None else np.einsum("...i,...i,i->...", v, v, weights)


def _final_state(Ab, Bb, C, u):
    """`x_L` of `x_k = Ab x_{k-1} + Bb u_k` from zero, shape (n, N): for a diagonal `Ab`
    `sum_k Ab^(L-1-k) Bb u_k` as one product with the powers; otherwise the last state of a scan."""
    if Ab.ndim != 1:
        return simulate(Ab, Bb, C, None, u, return_states=True)[1][:, -1]
    L = u.shape[1]
    powers = np.ones((L, Ab.shape[0]), dtype=np.result_type(Ab, float))  # (L, N): Ab^j, j = 0..L-1
    powers[1:] = np.cumprod(np.broadcast_to(Ab, (L - 1, Ab.shape[0])), axis=0)
    return u[..., 0] @ (powers[::-1] * Bb[:, 0])  # sum_k u_k Ab^(L-1-k) Bb


def channel_measures(Ab, Bb, u_nom, u_per, gate, sigma, iss=True):
    """V4's measures of one discretized SISO channel fed nominal and perturbed inputs.

    The channel runs `x_k = Ab x_{k-1} + Bb u_k` (deep-SSM convention) on the nominal inputs
    and on the perturbed ones, through the SMR gate when one is given (docs/theory.md §5); the
    sampling error `w_k = u~_k - u_k` drives the error `e_k = Ab e_{k-1} + Bb w_k`.

    Parameters
    ----------
    Ab : array, shape (N,) or (N, N)
    Bb : array, shape (N,) or (N, 1)
    u_nom, u_per : array, shape (n, L, 1)
        Inputs on the training grid and on the perturbed schedule.
    gate : None or (m, b)
        The SMR kernel `m` (1, tau) and bias `b` (1,) applied to both inputs.
    sigma : float in (0, 1)
        Theorem 1's sigma (`Q = I`).
    iss : bool
        Also give Proposition 1's radius; `False` skips the series for `G_inf`, the slow
        part when `rho(Ab)` is close to 1.

    Returns
    -------
    dict
        `holds` (n, L-1) bool: the hypothesis `|w_k| <= gamma* ||e_{k-1}||` (docs/theory.md
        §4, control-convention indexing) at steps `k >= 1`; `gamma`: gamma*(sigma);
        `max_L_e`: `max_k e_k^H P e_k` with `Ab^H P Ab - P = -I`; `final_abs_error` and
        `final_rel_error` (n,): `||e_L||` and `||e_L|| / ||x_L||`; `observed_sup`:
        `max_k ||e_k||`; with `iss`, `iss_bound`: `G_inf max_k |w_k|` (docs/theory.md §3).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.sin(np.linspace(0, 3, 20))[None, :, None]
    >>> found = channel_measures(np.array([0.9]), np.array([0.1]), u, u + 0.01, None, 0.5)
    >>> bool(found["observed_sup"] <= found["iss_bound"])  # Proposition 1's ball holds
    True
    """
    if gate is not None:
        u_nom, u_per = smr_gate(u_nom, *gate), smr_gate(u_per, *gate)
    w = u_per - u_nom  # (n, L, 1)
    Bb = Bb if Bb.ndim == 2 else Bb[:, None]  # (N, 1)
    N = Bb.shape[0]
    C = np.zeros((1, N))  # only the states are read: one output, not N
    _, e = simulate(Ab, Bb, C, None, w, return_states=True)  # (n, L, N)
    info = gamma_star(Ab, Bb, sigma, return_info=True)  # Q = I; carries P
    P, g = info.P, info.gamma
    e_norm, w_norm = np.sqrt(_sq_norms(e)), np.abs(w[..., 0])  # (n, L)
    holds = w_norm[:, 1:] <= g * e_norm[:, :-1]  # e_k = Ab e_{k-1} + Bb w_k
    if Ab.ndim == 1:  # diagonal: P is diagonal too, e^H P e = sum_n P_nn |e_n|^2
        L_e = _sq_norms(e, np.real(np.diag(P)))
    else:
        L_e = np.sum(e.conj() * (e @ P.T), axis=-1).real  # e_k^H P e_k, the product by BLAS
    x_final = np.maximum(np.sqrt(_sq_norms(_final_state(Ab, Bb, C, u_nom))), np.finfo(float).tiny)
    out = {
        "holds": holds,
        "gamma": g,
        "max_L_e": float(L_e.max()),
        "final_abs_error": e_norm[:, -1],
        "final_rel_error": e_norm[:, -1] / x_final,
        "observed_sup": float(e_norm.max()),
    }
    if iss:
        out["iss_bound"] = float(error_gain(Ab, Bb, return_info=True).upper * w_norm.max())
    return out
