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
# # 1. Discretization and stability regions
#
# A deep SSM is written in continuous time, `dx/dt = A x + B u`, but it runs as a recurrence
# `x_k = Ab x_{k-1} + Bb u_k` on samples taken every `dt`. This notebook is about the step
# between the two.
#
# **What you will learn**
#
# - how `smr.discretize` turns `(A, B, dt)` into `(Ab, Bb)` for the four classical rules
#   (zoh, bilinear, forward Euler, backward Euler);
# - that each rule acts on an eigenvalue through a scalar map `mu = phi(dt * lambda)`, so
#   stability of the discrete model can be read off a picture in the `dt * lambda` plane;
# - why forward Euler is the odd one out: it has a largest stable step, and an S4D model
#   needs a tiny one;
# - how the closed-form formulas (derived with sympy in `smr_stability.symbolic`) match the
#   numbers the library computes.
#
# Conventions: the input enters at the end of its step (the deep-SSM convention), and `C`, `D`
# are not changed by discretization.

# %%
# %matplotlib inline
# --- default parameters (change them here, then re-run everything) ---
N = 64  # state size of the S4D-Lin / HiPPO-LegS models
dt = 0.1  # step used to compare the four discretizations
methods = ["zoh", "bilinear", "euler", "backward_diff"]  # the rules studied here
z_re = (-4.01, 3.03)  # real-part range of the dt*lambda plane for the stability regions
z_im = (-3.03, 3.01)  # imaginary-part range (ends chosen so no grid point hits a pole)
grid = 401  # grid points per axis for the stability-region pictures
euler_factors = (0.9, 1.1)  # forward-Euler steps as multiples of the step limit
seed = 0  # seed of the random test points in the symbolic-vs-numeric check
n_check = 200  # number of random (lambda, dt) points in that check

# %%
import matplotlib.pyplot as plt
import numpy as np

import smr_stability as smr
from smr_stability import symbolic as sym

# %% [markdown]
# ## From `(A, B)` to `(Ab, Bb)`
#
# Take a two-state system with a damped oscillation and discretize it with each rule. All four
# give nearly the same `Ab` for a small step; they differ at order `dt^2` (bilinear vs zoh) or
# order `dt` (the two Euler rules).

# %%
A = np.array([[-0.5, 2.0], [-2.0, -0.5]])  # eigenvalues -0.5 +- 2i
B = np.array([[1.0], [0.0]])
for m in methods:
    Ab, Bb = smr.discretize(A, B, dt, method=m)
    print(
        f"{m:14s} Ab = {np.array2string(Ab, precision=4).replace(chr(10), '')}   "
        f"Bb = {np.array2string(Bb.ravel(), precision=4)}"
    )

# %% [markdown]
# The eigenvalues of `Ab` are exactly `phi(dt * lambda)` applied to the eigenvalues of `A`:
# the rule acts on each mode separately. `smr.eigenvalue_map` is that scalar function.

# %%
lam = np.linalg.eigvals(A)
for m in methods:
    Ab, _ = smr.discretize(A, B, dt, method=m)
    mu_numeric = np.sort_complex(np.linalg.eigvals(Ab))
    mu_map = np.sort_complex(smr.eigenvalue_map(dt * lam, method=m))
    print(
        f"{m:14s} |mu| = {np.abs(mu_map).round(6)}   max |eig(Ab) - phi(dt lam)| = "
        f"{np.max(np.abs(mu_numeric - mu_map)):.1e}"
    )

# %% [markdown]
# ## Stability regions in the `dt * lambda` plane
#
# A discrete mode is stable when `|mu| < 1`. Shading the set of `z = dt * lambda` where
# `|phi(z)| < 1` gives each rule's stability region. The continuous model is stable when every
# `lambda` lies in the open left half-plane, so the question is: does the region contain the
# whole left half-plane?

# %%
x = np.linspace(*z_re, grid)
y = np.linspace(*z_im, grid)
Z = x[None, :] + 1j * y[:, None]

fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharey=True)
for ax, m in zip(axes, methods):
    absmu = np.abs(smr.eigenvalue_map(Z, method=m))
    ax.contourf(x, y, absmu < 1, levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.35)
    ax.contour(x, y, absmu, levels=[1.0], colors="tab:blue", linewidths=1.2)
    ax.axvline(0, color="k", lw=0.6)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_title(f"{m}: |mu| < 1 shaded")
    ax.set_xlabel("Re(dt lambda)")
    ax.set_aspect("equal")
axes[0].set_ylabel("Im(dt lambda)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Reading the pictures:
#
# - **zoh** (`mu = e^z`) and **bilinear** (`mu = (1 + z/2)/(1 - z/2)`): the region is exactly the
#   left half-plane. A stable continuous model stays stable at every step size.
# - **backward Euler** (`mu = 1/(1 - z)`): everything except a disk around `z = 1`. Stable models
#   stay stable, and even some unstable ones are made to look stable.
# - **forward Euler** (`mu = 1 + z`): only the disk of radius 1 around `z = -1`. A stable `lambda`
#   becomes unstable once `dt` is large enough to push `dt * lambda` out of that disk.

# %% [markdown]
# ## Forward Euler's step limit on S4D-Lin and HiPPO-LegS
#
# `|1 + dt lambda| < 1` holds exactly when `dt < -2 Re(lambda) / |lambda|^2`. A model's limit is the
# smallest of these over its modes, `smr.euler_dt_limit`. S4D-Lin has eigenvalues
# `-1/2 + i pi n`: the damping stays at 1/2 while the frequency grows with `n`, so the limit
# shrinks like `1/N^2`. HiPPO-LegS has real eigenvalues `-(n + 1)`, so its limit is `2/N`.

# %%
s4d = smr.s4d_lin(N)
hippo = smr.hippo_legs(N)
dt_s4d = smr.euler_dt_limit(s4d.A)
dt_hippo = smr.euler_dt_limit(hippo.A)
print(f"S4D-Lin    N={N}: Euler step limit = {dt_s4d:.3e}")
print(f"HiPPO-LegS N={N}: Euler step limit = {dt_hippo:.3e}   (2/N = {2 / N:.3e})")
for name, sys, lim in [("S4D-Lin", s4d, dt_s4d), ("HiPPO-LegS", hippo, dt_hippo)]:
    for f in euler_factors:
        Ab, _ = smr.discretize(sys.A, sys.B, f * lim, method="euler")
        print(f"  {name:10s} dt = {f:.2f} x limit: spectral radius of Ab = {smr.spectral_radius(Ab):.6f}")

# %%
theta = np.linspace(0, 2 * np.pi, 400)
n_idx = np.arange(N)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
for f, style in zip(euler_factors, ["o", "x"]):
    # S4D-Lin is diagonal: discretize returns the vector of eigenvalues mu of Ab
    mu, _ = smr.discretize(s4d.A, s4d.B, f * dt_s4d, method="euler")
    axes[0].plot(n_idx, np.abs(mu) - 1, style, ms=4, label=f"dt = {f:g} x limit")
    # HiPPO-LegS is dense: take the eigenvalues of Ab
    Ab_h, _ = smr.discretize(hippo.A, hippo.B, f * dt_hippo, method="euler")
    mu_h = np.linalg.eigvals(Ab_h)
    axes[1].plot(mu_h.real, mu_h.imag + (0.05 if f > 1 else -0.05), style, ms=4, label=f"dt = {f:g} x limit")
axes[0].axhline(0, color="k", lw=0.8)
axes[0].set_xlabel("mode index n  (lambda_n = -1/2 + i pi n)")
axes[0].set_ylabel("|mu_n| - 1")
axes[0].set_title(f"S4D-Lin N={N}, forward Euler")
axes[0].legend(fontsize=8)
axes[1].plot(np.cos(theta), np.sin(theta), "k", lw=0.8)
axes[1].set_aspect("equal")
axes[1].set_xlim(-1.3, 1.1)
axes[1].set_ylim(-0.6, 0.6)
axes[1].set_title(f"HiPPO-LegS N={N}, forward Euler: eig(Ab)")
axes[1].set_xlabel("Re mu  (both sets are real; shifted by +-0.05 to separate them)")
axes[1].legend(fontsize=8, loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# Just below the limit every eigenvalue of `Ab` lies inside the unit circle; 10% above it
# S4D-Lin's fastest-rotating modes (largest `|Im lambda|`) have crossed it, only barely
# (`|mu| - 1` of order `dt`), and HiPPO-LegS's fastest mode `lambda = -N` lands at
# `1 - 1.1 * 2 = -1.2`. The other three rules keep every eigenvalue inside at any `dt`
# (bilinear's radius creeps towards 1 at large `dt` because `(1 + z/2)/(1 - z/2)` sends the
# high-frequency modes close to the circle, but never onto it):

# %%
for m in methods:
    rho = [smr.spectral_radius(smr.discretize(s4d.A, s4d.B, h, method=m)[0]) for h in (0.01, 0.1, 1.0)]
    print(f"{m:14s} spectral radius at dt = 0.01, 0.1, 1: {np.round(rho, 6)}")

# %% [markdown]
# ## The formulas, derived symbolically
#
# `smr_stability.symbolic` derives the same maps with sympy. Each function returns a
# `Derivation` whose `.expr` is the formula, `.latex()` its LaTeX, and `.lambdify()` a numpy
# function of `.symbols`. Displaying it in the notebook renders the equation.

# %%
from IPython.display import Math, display

for m in methods:
    display(
        Math(
            sym.eigenvalue_map_expr(m).latex()
            + r"\qquad "
            + sym.input_matrix_expr(m).latex()
            + rf"\qquad \text{{({m.replace('_', ' ')})}}"
        )
    )

# %% [markdown]
# Now compare the symbolic `mu` and `Bb` of a scalar mode `dx/dt = lambda x + b u` with
# `smr.discretize`, at random stable `lambda`, random steps and random complex `b`.

# %%
rng = np.random.default_rng(seed)
lam_t = -rng.uniform(0.01, 3.0, n_check) + 1j * rng.uniform(-20, 20, n_check)
dt_t = rng.uniform(1e-3, 0.5, n_check)
b_t = rng.standard_normal(n_check) + 1j * rng.standard_normal(n_check)
for m in methods:
    d_B = sym.input_matrix_expr(m)  # symbols (lambda, Delta, b); details['Ab'] is mu(Delta lambda)
    Bb_sym = d_B.lambdify()(lam_t, dt_t, b_t)
    mu_sym = d_B.lambdify("Ab")(lam_t, dt_t, b_t)
    mu_num = np.empty(n_check, complex)
    Bb_num = np.empty(n_check, complex)
    for i in range(n_check):
        a_i, b_i = smr.discretize(lam_t[i : i + 1], b_t[i : i + 1], dt_t[i], method=m)
        mu_num[i], Bb_num[i] = a_i[0], b_i[0]
    err_mu = np.max(np.abs(mu_sym - mu_num))
    err_B = np.max(np.abs(Bb_sym - Bb_num) / np.abs(Bb_num))
    print(f"{m:14s} max |mu_sym - mu_num| = {err_mu:.1e}   max relative |Bb_sym - Bb_num| = {err_B:.1e}")

# %% [markdown]
# Two stability facts also come out of the algebra.
#
# **Bilinear.** With `z = x + i y`, `|1 + z/2|^2 - |1 - z/2|^2 = 2x`. Since `|mu|^2 - 1` is this
# difference divided by the positive number `|1 - z/2|^2`, `|mu| < 1` exactly when `Re z < 0`.

# %%
bil = sym.bilinear_stability_identity()
display(Math(bil.latex()))
print("simplified difference:", bil.expr, "   stable exactly when:", bil.details["condition"])

# %% [markdown]
# **Forward Euler.** `|1 + Delta lambda|^2 - 1` factors as `Delta (2 lambda_r + Delta |lambda|^2)`,
# whose positive root is the step limit. Evaluate it on the S4D-Lin eigenvalues and compare with
# `smr.euler_dt_limit`:

# %%
eul = sym.euler_step_limit_expr()
display(Math(eul.latex()))
print("factored |mu|^2 - 1:", eul.details["abs_mu2_minus_1"])
limit_sym = np.min(eul.lambdify()(s4d.A.real, s4d.A.imag))
print(
    f"symbolic limit on S4D-Lin: {limit_sym:.6e}   smr.euler_dt_limit: {dt_s4d:.6e}   "
    f"relative difference: {abs(limit_sym - dt_s4d) / dt_s4d:.1e}"
)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Compute forward Euler's step limit of HiPPO-LegS and of S4D-Lin for
# `N = 4, 16, 64, 256`. Fit how each limit scales with `N`. A sequence model with `N = 256`
# reading a signal sampled at `dt = 1e-3`: which of the two can use forward Euler?

# %% [markdown]
# <details><summary>Solution</summary>
#
# HiPPO-LegS's limit is `2/N`, S4D-Lin's is `1/(1/4 + pi^2 (N-1)^2)`, roughly `1/(pi N)^2`.
# At `N = 256` that is `7.8e-3` for HiPPO-LegS (so `dt = 1e-3` is fine) and about `1.6e-6` for
# S4D-Lin (so `dt = 1e-3` is unstable).
#
# ```python
# Ns = np.array([4, 16, 64, 256])
# lim_h = np.array([smr.euler_dt_limit(smr.hippo_legs(n).A) for n in Ns])
# lim_s = np.array([smr.euler_dt_limit(smr.s4d_lin(n).A) for n in Ns])
# print("HiPPO-LegS:", lim_h, " slope", np.polyfit(np.log(Ns), np.log(lim_h), 1)[0])
# print("S4D-Lin:   ", lim_s, " slope", np.polyfit(np.log(Ns), np.log(lim_s), 1)[0])
# ```
# </details>

# %% [markdown]
# **Exercise 2.** The generalized bilinear transform `method="gbt"` with parameter `alpha`
# interpolates between forward Euler (`alpha = 0`), bilinear (`1/2`) and backward Euler (`1`).
# Draw its stability region for `alpha = 0.25, 0.5, 0.75`. For which `alpha` does the region
# contain the whole left half-plane?

# %% [markdown]
# <details><summary>Solution</summary>
#
# For `alpha >= 1/2` the region contains the left half-plane (it is exactly the half-plane at
# `1/2`, and larger beyond); for `alpha < 1/2` it is a bounded disk, so a large enough step
# makes some stable mode unstable, as with forward Euler. Symbolically,
# `|mu|^2 - 1` has the sign of `2 Re z + (1 - 2 alpha)|z|^2`.
#
# ```python
# fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
# for ax, a in zip(axes, [0.25, 0.5, 0.75]):
#     absmu = np.abs(smr.eigenvalue_map(Z, method="gbt", alpha=a))
#     ax.contourf(x, y, absmu < 1, levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.35)
#     ax.axvline(0, color="k", lw=0.6)
#     ax.set_title(f"gbt, alpha = {a}")
#     ax.set_aspect("equal")
# plt.show()
# ```
# </details>

# %% [markdown]
# **Exercise 3.** zoh's `Bb = (e^{dt lambda} - 1) b / lambda` looks singular at `lambda = 0`.
# Use `sym.input_matrix_expr("zoh").details["at_lambda_0"]` to find the limit, then check that
# `smr.discretize` returns it for `lambda = 0` and is accurate for `lambda = 1e-12`.

# %% [markdown]
# <details><summary>Solution</summary>
#
# The limit is `Delta * b` (a pure integrator adds `dt * u` each step). The library computes zoh
# through `(e^z - 1)/z` with a series for small `z`, so it has no cancellation.
#
# ```python
# d = sym.input_matrix_expr("zoh")
# print(d.details["at_lambda_0"])
# for l in [0.0, 1e-12]:
#     _, Bb0 = smr.discretize(np.array([l + 0j]), np.array([1.0 + 0j]), 0.1, method="zoh")
#     print(l, Bb0[0], "relative error vs 0.1:", abs(Bb0[0] - 0.1) / 0.1)
# ```
# </details>
