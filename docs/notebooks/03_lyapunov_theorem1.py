# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Lyapunov functions and Theorem 1
#
# Notebook 2 bounded the state error of a stable model by a ball whose size is set by the
# largest sampling error. Theorem 1 asks for more: if each sampling error is small *relative to
# the current state error*, the error does not just stay bounded, it decays, at a rate we can
# compute. The tool is a Lyapunov function of the error, $L_e = e^H P e$ with $P$ Hermitian
# positive definite.
#
# **The statement** (discrete form, [docs/theory.md §4](../theory.md#4-theorem-1-a-relative-bound-on-the-sampling-error)).
# Write the error system in the control order, $e_{k+1} = \bar A e_k + \bar B w_k$: the
# disturbance of step $k$ acts on the error of step $k$ (the deep-SSM recurrence shifted by one
# step). Let $\rho(\bar A) < 1$, $Q \succ 0$, and $P$ solve $\bar A^H P \bar A - P = -Q$. With
# $a = \|\bar A^H P \bar B\|$ and $b = \|\bar B^H P \bar B\|$, let $\gamma^*(\sigma)$ be the
# positive root of
#
# $$b\,\gamma^2 + 2a\,\gamma = \sigma\,\lambda_{\min}(Q), \qquad 0 < \sigma < 1 .$$
#
# If $\|w_k\| \le \gamma \|e_k\|$ at every step, with $\gamma \le \gamma^*$, then
#
# $$L_e(k+1) - L_e(k) \le -(1-\sigma)\,\lambda_{\min}(Q)\,\|e_k\|^2, \qquad
# L_e(k) \le \Big(1 - (1-\sigma)\frac{\lambda_{\min}(Q)}{\lambda_{\max}(P)}\Big)^{k} L_e(0).$$
#
# In words: a disturbance may use up a share $\sigma$ of the decrease the free recurrence
# guarantees, and the rest still makes $L_e$ decay geometrically. The continuous form is the same
# idea with $A^H P + P A = -Q$ and the condition
# $\|w(t)\| \le \frac{\sigma\lambda_{\min}(Q)}{2\|PB\|}\|e(t)\|$.
#
# **What you will learn**
#
# - how to get $P$ from the discrete Lyapunov equation with `smr.lyapunov_matrix` /
#   `smr.dlyap`, and how to check it against scipy;
# - the two numbers of Theorem 1: the largest allowed relative disturbance $\gamma^*$
#   (`smr.gamma_star`) and the per-step decay factor of the envelope (`smr.envelope_rate`);
# - what the theorem promises when its hypothesis $\|w_k\| \le \gamma^* \|e_k\|$ holds, and what
#   happens when it does not ($L_e$ can grow);
# - how the library verifies the theorem on random systems (`smr.verify_theorem1`).

# %%
# %matplotlib inline
# --- default parameters (change them here, then re-run everything) ---
N = 8  # state size of the HiPPO-LegS (S4) model
dt = 0.05  # discretization step
method = "bilinear"  # discretization rule
sigma = 0.5  # Theorem 1's sigma in (0, 1): the share of the decrease a disturbance may use up
steps = 60  # steps of the error system
factor_bad = 4.0  # the violating runs use gamma = factor_bad * gamma*
mu_scalar = 0.95  # the scalar mode of the simplest example
b_scalar = 0.3  # its input gain
seed = 0  # seed of the random initial errors and random disturbances
n_systems = 24  # random systems for verify_theorem1 (the library default is 10,000)
n_continuous = 2  # systems for the continuous-form check (solve_ivp) of verify_theorem1

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import solve_discrete_lyapunov

import smr_stability as smr
from smr_stability import teaching

teaching.notebook_style()
rng = np.random.default_rng(seed)

# %% [markdown]
# ## A Lyapunov function for a stable recurrence
#
# For a stable $\bar A$ (spectral radius below 1) and any positive definite $Q$, the equation
# $\bar A^H P \bar A - P = -Q$ has one solution, and it is positive definite. Then
# $L(x) = x^H P x$ is an energy that the free recurrence $x_{k+1} = \bar A x_k$ always loses:
# $L(x_{k+1}) - L(x_k) = -x_k^H Q x_k < 0$.
#
# Orientation matters. scipy's `solve_discrete_lyapunov(A, Q)` solves $A X A^H - X + Q = 0$, and
# so does the library's `smr.dlyap`; Theorem 1's $P$ is therefore `dlyap(Ab^H, Q)`, which
# `smr.lyapunov_matrix(Ab, Q)` returns after checking that $\bar A$ is stable and $P$ positive
# definite.

# %%
s4 = smr.hippo_legs(N)
Ab, Bb = smr.discretize(s4.A, s4.B, dt, method=method)  # dense (N, N) and (N, 1)
Q = np.eye(N)
P = smr.lyapunov_matrix(Ab)  # Q = I by default
P_dlyap = smr.dlyap(Ab.conj().T, Q)
P_scipy = solve_discrete_lyapunov(Ab.conj().T, Q)
print(f"spectral radius of Ab          = {smr.spectral_radius(Ab):.6f}")
print(f"residual ||Ab^H P Ab - P + Q|| = {np.linalg.norm(Ab.conj().T @ P @ Ab - P + Q):.1e}")
print(f"max |P - dlyap(Ab^H, I)|       = {np.abs(P - P_dlyap).max():.1e}")
print(
    f"max |P - scipy|                = {np.abs(P - P_scipy).max():.1e}   (relative to max|P|: "
    f"{np.abs(P - P_scipy).max() / np.abs(P).max():.1e})"
)
print(f"eigenvalues of P: min {np.linalg.eigvalsh(P).min():.3f}, max {np.linalg.eigvalsh(P).max():.3f}")

# %% [markdown]
# For a diagonal model (S4D) the solution has a closed form,
# $P_{ij} = Q_{ij} / (1 - \overline{\mu_i}\,\mu_j)$, which the library uses ($O(N^2)$ instead of
# $O(N^3)$). Check it against scipy on the dense diagonal matrix:

# %%
mu_d, _ = smr.discretize(smr.s4d_lin(N).A, smr.s4d_lin(N).B, dt, method="zoh")  # vector of eigenvalues
P_diag = smr.lyapunov_matrix(mu_d)
P_ref = solve_discrete_lyapunov(np.diag(mu_d).conj().T, np.eye(N))
print(f"S4D-Lin: max |P_closed_form - P_scipy| = {np.abs(P_diag - P_ref).max():.1e}")

# %% [markdown]
# ## The error Lyapunov function and Theorem 1's numbers
#
# Along the error system the change of $L_e = e^H P e$ in one step is
#
# $$L_e(k+1) - L_e(k) = -e^H Q e + 2\operatorname{Re}(e^H \bar A^H P \bar B w) + w^H \bar B^H P \bar B w .$$
#
# The first term is the loss of the free recurrence; the others are what a disturbance can add.
# With $a = \|\bar A^H P \bar B\|$, $b = \|\bar B^H P \bar B\|$ and $\|w\| \le \gamma\|e\|$ they add
# at most $(2a\gamma + b\gamma^2)\|e\|^2$. Asking this to use up at most a share $\sigma$ of the
# loss $\lambda_{\min}(Q)\|e\|^2$ gives the largest admissible $\gamma$, called $\gamma^*$. The
# remaining loss, $(1 - \sigma)\lambda_{\min}(Q)\|e\|^2$, is at least
# $(1 - \sigma)\lambda_{\min}(Q)/\lambda_{\max}(P)$ times $L_e$, which gives the envelope
# $L_e(k) \le r^k L_e(0)$ with $r = 1 - (1 - \sigma)\lambda_{\min}(Q)/\lambda_{\max}(P)$.

# %%
g = smr.gamma_star(Ab, Bb, sigma, return_info=True)
r = smr.envelope_rate(Ab, sigma)
print(f"a = {g.a:.4f}, b = {g.b:.4f}, lambda_min(Q) = {g.lambda_min_Q:.3f}, lambda_max(P) = {g.lambda_max_P:.3f}")
print(
    f"gamma*(sigma={sigma}) = {g.gamma:.5f}   check b g^2 + 2 a g - sigma lambda_min(Q) = "
    f"{g.b * g.gamma**2 + 2 * g.a * g.gamma - sigma * g.lambda_min_Q:.1e}"
)
print(f"envelope factor per step r = {r:.5f}")

# %% [markdown]
# ## Hypothesis holds vs hypothesis fails
#
# We drive the error system with disturbances of size $\gamma\|e_k\|$:
#
# - **worst case** direction: $w$ along $\bar B^H P \bar A e_k$, which makes the cross term
#   $2\operatorname{Re}(e^H \bar A^H P \bar B w)$ as large as possible (an adversary who wants
#   $L_e$ to grow);
# - **random** direction and a random size below $\gamma\|e_k\|$.
#
# With $\gamma = \gamma^*$ the theorem applies: $L_e$ must stay under the envelope. With
# $\gamma$ = `factor_bad` $\gamma^*$ it does not, and the adversary can make $L_e$ grow.


# %%
def run(Ab, Bb, P, gamma, e0, worst, steps, rng):
    """Iterate e_{k+1} = Ab e_k + Bb w_k with ||w_k|| = gamma ||e_k|| (or less); return L_e(k) and ||w_k||/||e_k||."""
    A = np.diag(Ab) if Ab.ndim == 1 else Ab
    B = Bb.reshape(len(e0), -1)
    M = B.conj().T @ P @ A  # v = M e is the worst direction
    e, L, ratio = e0, [np.vdot(e0, P @ e0).real], []
    for _ in range(steps):
        ne = np.linalg.norm(e)
        if worst:
            v = M @ e
            w = gamma * ne * v / np.linalg.norm(v)
        else:
            d = rng.standard_normal(B.shape[1])
            w = gamma * ne * rng.uniform() * d / np.linalg.norm(d)
        ratio.append(np.linalg.norm(w) / ne)
        e = A @ e + B @ w
        L.append(np.vdot(e, P @ e).real)
    return np.array(L), np.array(ratio)


e0 = rng.standard_normal(N)
k = np.arange(steps + 1)
cases = {
    "gamma*, worst direction (holds)": (g.gamma, True),
    "gamma*, random (holds)": (g.gamma, False),
    f"{factor_bad:g} gamma*, worst direction (fails)": (factor_bad * g.gamma, True),
}
runs = {name: run(Ab, Bb, P, gam, e0, worst, steps, rng) for name, (gam, worst) in cases.items()}

# %% [markdown]
# The same on the simplest system there is, one real mode $e_{k+1} = \mu e_k + b\,w_k$. Here
# the worst case at $\gamma^*$ meets the decrease bound with equality, and any larger $\gamma$ in
# the worst direction makes $L_e$ decrease more slowly, then grow.

# %%
mu1, b1 = np.array([mu_scalar]), np.array([b_scalar])
P1 = smr.lyapunov_matrix(mu1)
g1 = smr.gamma_star(mu1, b1, sigma)
r1 = smr.envelope_rate(mu1, sigma)
e01 = np.array([1.0])
runs1 = {name: run(mu1, b1, P1, gam / g.gamma * g1, e01, worst, steps, rng) for name, (gam, worst) in cases.items()}
print(f"scalar mode: gamma* = {g1:.5f}, envelope factor r = {r1:.5f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), sharey=True)
styles = ["-", "--", "-."]
for ax, rr, rs, title in [
    (axes[0], r, runs, f"HiPPO-LegS N={N}, {method}"),
    (axes[1], r1, runs1, f"one mode, mu={mu_scalar}, b={b_scalar}"),
]:
    for (name, (L, _)), ls in zip(rs.items(), styles):
        ax.semilogy(k, L / L[0], ls=ls, lw=1.5, label=name.split(" (")[0])
    ax.semilogy(k, rr**k, "k:", lw=1.5, label="envelope r^k")
    ax.set_xlabel("k")
    ax.set_title(title)
axes[0].set_ylabel("L_e(k) / L_e(0)")
axes[1].legend(loc="lower left")
teaching.show(
    fig,
    f"L_e(k) relative to L_e(0) for disturbances of size gamma ||e_k||: at gamma = gamma* (worst and random "
    f"direction) and at {factor_bad:g} gamma* in the worst direction, against Theorem 1's envelope r^k (dotted).",
    alt=f"Two log-scale panels. At gamma* both curves stay below the dotted envelope in both panels. At "
    f"{factor_bad:g} gamma* the curve rises above L_e(0) in both panels, far above the envelope.",
)

# %%
for label, rr, rs in [("HiPPO-LegS", r, runs), ("scalar", r1, runs1)]:
    for name, (L, ratio) in rs.items():
        under = np.all(L <= rr**k * L[0] * (1 + 1e-9))
        assert under == ("holds" in name)  # the theorem where it applies; growth where it does not
        print(
            f"{label:10s} {name:34s} max ||w||/||e|| = {ratio.max():.4f}  "
            f"L_e(end)/L_e(0) = {L[-1] / L[0]:.3e}  below envelope at every k: {under}"
        )

# %% [markdown]
# When the hypothesis holds, $L_e$ stays under the envelope at every step, whether the
# disturbance is adversarial or random. When it fails by a factor of a few, the adversarial
# disturbance makes $L_e$ *grow*: the theorem's condition is not just a convenience of the
# proof. Note also how conservative the envelope is for HiPPO-LegS: $\lambda_{\max}(P)$ is set by
# the slowest mode, so $r$ is close to 1.

# %% [markdown]
# ## The verifier: many random systems
#
# `smr.verify_theorem1` repeats this on random stable systems (dense and diagonal, real and
# complex, every discretization): V1 checks the decrease and the envelope at $\gamma^*$ (worst
# case and random), V2 checks at $4\gamma^*$ in the worst direction that $L_e$ does grow on some
# systems (so the bound is not trivially true), V3 checks the continuous form along `solve_ivp`
# trajectories. The command line runs 10,000 systems; a handful is enough here.

# %%
report = smr.verify_theorem1(n_systems, n_continuous=n_continuous, steps=30, seed=seed, progress=False)
print(
    f"verify_theorem1: V1 {report.v1_violations} violations on {report.v1_systems} systems, "
    f"V2 L_e grew on {report.v2_increases} of {report.v2_systems} at {report.v2_factor:g} gamma*, "
    f"V3 {report.v3_violations} violations on {report.v3_systems} continuous systems: "
    f"{'PASSED' if report.passed else 'FAILED'}"
)
assert report.passed

fig, axes = plt.subplots(1, 2, figsize=(7, 4.4))
for ex in report.examples:
    L = np.array(ex["L"])
    if ex.get("envelope"):  # V1: L_e against its envelope, at most 1 where the theorem holds
        axes[0].semilogy(np.arange(len(L)), L / np.array(ex["envelope"]), lw=1.3, label=ex["label"][3:])
    else:  # V2: L_e against its start, above 1 where it grew
        axes[1].plot(np.arange(len(L)), L / L[0], lw=1.3, label=ex["label"].split("gamma* ")[-1])
for ax, title, ylabel in [
    (axes[0], "V1, at gamma*", "L_e(k) / envelope(k)"),
    (axes[1], f"V2, at {report.v2_factor:g} gamma*", "L_e(k) / L_e(0)"),
]:
    ax.axhline(1, color="k", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("k")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
teaching.show(
    fig,
    "Examples from verify_theorem1. Left: V1 systems driven at gamma*, their L_e over Theorem 1's envelope, "
    "which must stay at or below 1. Right: V2 systems driven at 4 gamma* in the worst direction, their L_e "
    "over its start, which rises above 1. The legends name each system: size, structure, entries, rule, step.",
    alt="Left, log scale: every curve starts at 1 and stays at or below the line at 1, some falling by orders "
    "of magnitude. Right: the curves start at 1 and end above it, one after a short dip.",
)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** $\sigma$ trades the size of admissible disturbances against the speed of
# decay. For the HiPPO-LegS model above, tabulate $\gamma^*$ and the envelope factor $r$ for
# $\sigma = 0.1, 0.3, 0.5, 0.7, 0.9$. Which one increases with $\sigma$, and why must the other one
# get worse?

# %% [markdown]
# <details><summary>Solution</summary>
#
# $\gamma^*$ increases with $\sigma$ (more of the loss may be used up by the disturbance), and
# the factor $r = 1 - (1 - \sigma)\lambda_{\min}(Q)/\lambda_{\max}(P)$ increases towards 1 too,
# i.e. the guaranteed decay gets slower: what the disturbance may take, the envelope no longer
# promises.
#
# ```python
# sigmas = [0.1, 0.3, 0.5, 0.7, 0.9]
# gammas = [smr.gamma_star(Ab, Bb, s) for s in sigmas]
# rates = [smr.envelope_rate(Ab, s) for s in sigmas]
# for s, gs, rs in zip(sigmas, gammas, rates):
#     print(f"sigma = {s}: gamma* = {gs:.5f}, r = {rs:.6f}")
# assert np.all(np.diff(gammas) > 0) and np.all(np.diff(rates) > 0) and rates[-1] < 1
# ```
# </details>

# %% [markdown]
# **Exercise 2.** For the scalar mode, find numerically the smallest factor $c$ such that the
# worst-case disturbance $w = c\,\gamma^* |e|$ makes $L_e$ grow. Compare with the exact answer:
# $L_e$ grows when $|\mu| + |b|\,c\,\gamma^* > 1$.

# %% [markdown]
# <details><summary>Solution</summary>
#
# In the worst direction $|e_{k+1}| = (|\mu| + |b|\gamma)|e_k|$, so $L_e$ grows exactly when
# $\gamma > (1 - |\mu|)/|b|$. For $\mu = 0.95$, $b = 0.3$, $\sigma = 0.5$ that is $c \approx 2$.
#
# ```python
# cs = np.linspace(1, 4, 301)
# grows = [run(mu1, b1, P1, c * g1, e01, True, 5, rng)[0][-1] > P1[0, 0].real for c in cs]
# numerical, exact = cs[np.argmax(grows)], (1 - mu_scalar) / b_scalar / g1
# print("numerical:", numerical, " exact:", exact)
# assert exact <= numerical <= exact + (cs[1] - cs[0])  # the first grid point past the exact threshold
# ```
# </details>

# %% [markdown]
# **Exercise 3.** Does real sampling error satisfy the hypothesis? Discretize S4D-Lin
# ($N = 16$, zoh, $\Delta = 0.01$), feed it a sum of sines on the grid and on a jittered schedule
# (notebook 2), and compute the fraction of steps where $\|w_k\| \le \gamma^* \|e_k\|$. Mind the
# convention: in the deep-SSM recurrence $e_k = \bar A e_{k-1} + \bar B w_k$, so compare $w_k$
# with $e_{k-1}$.

# %% [markdown]
# <details><summary>Solution</summary>
#
# It holds on only a few percent of the steps: jitter error does not shrink when the state
# error does (at $k = 0$ the state error is zero and $w$ is not). On the other steps Theorem 1
# says nothing, and the ISS ball of Proposition 1 is the bound that applies.
#
# ```python
# from smr_stability import sampling, signals
# m = smr.s4d_lin(16)
# mu, bb = smr.discretize(m.A, m.B, 0.01, method="zoh")
# sig = signals.SumOfSines(B=1, P=1, seed=0)
# t = 0.01 * np.arange(2000)
# jit = sampling.jitter(2000, 0.01, 0.2, seed=1)
# w = sig(jit.times)[0, 0, :, 0] - sig(t)[0, :, 0]
# e, norms = np.zeros(16, complex), []
# for wk in w:
#     norms.append(np.linalg.norm(e))  # ||e_{k-1}||
#     e = mu * e + bb[:, 0] * wk
# gs = smr.gamma_star(mu, bb, 0.5)
# fraction = np.mean(np.abs(w) <= gs * np.array(norms))
# print("gamma* =", gs, " fraction of steps with the hypothesis:", fraction)
# assert fraction < 0.1
# ```
# </details>
