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
# A deep SSM is written in continuous time, $\dot x = A x + B u$, but it runs as a recurrence
# $x_k = \bar A x_{k-1} + \bar B u_k$ on samples taken every $\Delta$ (`dt` in the code). This
# notebook is about the step between the two.
#
# **What you will learn**
#
# - how `smr.discretize` turns $(A, B, \Delta)$ into $(\bar A, \bar B)$ for the four classical
#   rules (zoh, bilinear, forward Euler, backward Euler);
# - that each rule acts on an eigenvalue through a scalar map $\mu = \varphi(\Delta\lambda)$, so
#   stability of the discrete model can be read off a picture in the $\Delta\lambda$ plane;
# - why forward Euler is the odd one out: it has a largest stable step, and an S4D model
#   needs a tiny one;
# - how the closed-form formulas (derived with sympy in `smr_stability.symbolic`) match the
#   numbers the library computes.
#
# **Before you start.** Four notions this notebook uses (the project's definitions are in
# [docs/theory.md §0-§1](../theory.md#1-discretization)):
#
# - **The rules.** All of them let the input of step $k$ enter at the end of its step, and
#   none changes $C$ or $D$.
#   *Zero-order hold* (zoh) holds $u$ constant over the step and integrates the ODE exactly:
#   $\bar A = e^{\Delta A}$, $\bar B = A^{-1}(e^{\Delta A} - I)B$.
#   *Bilinear* is the trapezoid rule for the state,
#   $x_k - x_{k-1} = \tfrac{\Delta}{2}A(x_k + x_{k-1}) + \Delta B u_k$, so
#   $\bar A = (I - \tfrac{\Delta}{2}A)^{-1}(I + \tfrac{\Delta}{2}A)$,
#   $\bar B = (I - \tfrac{\Delta}{2}A)^{-1}\Delta B$.
#   *Forward Euler* takes the slope at the start of the step, $\bar A = I + \Delta A$,
#   $\bar B = \Delta B$; *backward Euler* the slope at its end, $\bar A = (I - \Delta A)^{-1}$,
#   $\bar B = (I - \Delta A)^{-1}\Delta B$.
# - **The spectral radius** $\rho(\bar A) = \max_i |\mu_i|$, the largest modulus of the
#   eigenvalues $\mu_i$ of $\bar A$. The free recurrence $x_k = \bar A x_{k-1}$ decays to 0 for
#   every start exactly when $\rho(\bar A) < 1$: that is what "the discrete model is stable"
#   means here.
# - **S4D-Lin** is a diagonal model with eigenvalues $\lambda_n = -\tfrac12 + i\pi n$,
#   $n = 0, \dots, N-1$, and $B_n = 1$: every mode decays at the same rate and rotates at its
#   own frequency.
# - **HiPPO-LegS** is the dense state matrix of S4. Its state keeps the coefficients of the
#   input's whole past on Legendre polynomials:
#   $A_{nk} = -\sqrt{(2n+1)(2k+1)}$ below the diagonal, $A_{nn} = -(n+1)$, zero above, and
#   $B_n = \sqrt{2n+1}$. Its eigenvalues are $-1, -2, \dots, -N$.

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
from smr_stability import teaching

teaching.notebook_style()  # figure size and font sizes of the notebooks

# %% [markdown]
# ## From $(A, B)$ to $(\bar A, \bar B)$
#
# Take a two-state system with a damped oscillation and discretize it with each rule. All four
# give nearly the same $\bar A$ for a small step; they differ at order $\Delta^2$ (bilinear vs
# zoh) or order $\Delta$ (the two Euler rules).

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
# The eigenvalues of $\bar A$ are exactly $\varphi(\Delta\lambda)$ applied to the eigenvalues of
# $A$: the rule acts on each mode separately. `smr.eigenvalue_map` is that scalar function.

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
# ## Stability regions in the $\Delta\lambda$ plane
#
# A discrete mode is stable when $|\mu| < 1$. Shading the set of $z = \Delta\lambda$ where
# $|\varphi(z)| < 1$ gives each rule's stability region. The continuous model is stable when
# every $\lambda$ lies in the open left half-plane, so the question is: does the region contain
# the whole left half-plane?

# %%
x = np.linspace(*z_re, grid)
y = np.linspace(*z_im, grid)
Z = x[None, :] + 1j * y[:, None]

fig, axes = plt.subplots(2, 2, figsize=(7, 6.2), sharex=True, sharey=True)
for ax, m in zip(axes.flat, methods):
    absmu = np.abs(smr.eigenvalue_map(Z, method=m))
    ax.contourf(x, y, absmu < 1, levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.35)
    ax.contour(x, y, absmu, levels=[1.0], colors="tab:blue", linewidths=1.2)
    ax.axvline(0, color="k", lw=0.6)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_title(f"{m}: |mu| < 1 shaded")
    ax.set_aspect("equal")
for ax in axes[1]:
    ax.set_xlabel("Re(dt lambda)")
for ax in axes[:, 0]:
    ax.set_ylabel("Im(dt lambda)")
teaching.show(
    fig,
    "Stability regions of the four rules in the plane of z = dt lambda: shaded where the discrete "
    "eigenvalue mu = phi(z) has modulus below 1.",
    alt="Four panels. zoh and bilinear: the shaded region is exactly the left half-plane. Forward Euler: "
    "only the disk of radius 1 centred at -1 is shaded. Backward Euler: everything is shaded except a "
    "disk of radius 1 centred at +1.",
)

# %% [markdown]
# Reading the pictures:
#
# - **zoh** ($\mu = e^z$) and **bilinear** ($\mu = \frac{1 + z/2}{1 - z/2}$): the region is
#   exactly the left half-plane. A stable continuous model stays stable at every step size.
# - **backward Euler** ($\mu = \frac{1}{1 - z}$): everything except a disk around $z = 1$. Stable
#   models stay stable, and even some unstable ones are made to look stable.
# - **forward Euler** ($\mu = 1 + z$): only the disk of radius 1 around $z = -1$. A stable
#   $\lambda$ becomes unstable once $\Delta$ is large enough to push $\Delta\lambda$ out of that
#   disk.

# %% [markdown]
# ## Forward Euler's step limit on S4D-Lin and HiPPO-LegS
#
# $|1 + \Delta\lambda| < 1$ holds exactly when $\Delta < -2\operatorname{Re}\lambda / |\lambda|^2$.
# A model's limit is the smallest of these over its modes, `smr.euler_dt_limit`. S4D-Lin has
# eigenvalues $-\tfrac12 + i\pi n$: the damping stays at $\tfrac12$ while the frequency grows with
# $n$, so the limit shrinks like $1/N^2$. HiPPO-LegS has real eigenvalues $-(n + 1)$, so its limit
# is $2/N$.

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
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
for f, style in zip(euler_factors, ["o", "x"]):
    # S4D-Lin is diagonal: discretize returns the vector of eigenvalues mu of Ab
    mu, _ = smr.discretize(s4d.A, s4d.B, f * dt_s4d, method="euler")
    axes[0].plot(n_idx, np.abs(mu) - 1, style, ms=4, label=f"dt = {f:g} x limit")
    # HiPPO-LegS is dense: take the eigenvalues of Ab
    Ab_h, _ = smr.discretize(hippo.A, hippo.B, f * dt_hippo, method="euler")
    mu_h = np.linalg.eigvals(Ab_h)
    axes[1].plot(mu_h.real, mu_h.imag + (0.05 if f > 1 else -0.05), style, ms=4, label=f"dt = {f:g} x limit")
axes[0].axhline(0, color="k", lw=0.8)
axes[0].set_xlabel("mode index n")
axes[0].set_ylabel("|mu_n| - 1")
axes[0].set_title(f"S4D-Lin N={N}")
axes[0].legend()
axes[1].plot(np.cos(theta), np.sin(theta), "k", lw=0.8)
axes[1].set_aspect("equal")
axes[1].set_xlim(-1.3, 1.1)
axes[1].set_ylim(-0.6, 0.6)
axes[1].set_title(f"HiPPO-LegS N={N}: eig(Ab)")
axes[1].set_xlabel("Re mu")
axes[1].set_ylabel("Im mu (offset +-0.05)")
axes[1].legend(loc="lower center")
teaching.show(
    fig,
    f"Forward Euler just below (0.9x) and just above (1.1x) its step limit. Left: |mu_n| - 1 of the "
    f"{N} S4D-Lin modes (above 0 = unstable). Right: the eigenvalues of HiPPO-LegS's Ab against the "
    "unit circle; both sets are real, drawn 0.05 above and below the axis to separate them.",
    alt="Left: at 0.9 times the limit every S4D-Lin mode has |mu| - 1 below zero; at 1.1 times the limit "
    "the highest-index modes rise just above zero. Right: at 0.9 times the limit all HiPPO-LegS "
    "eigenvalues lie on the real axis inside the unit circle; at 1.1 times the limit the leftmost "
    "one lies at -1.2, outside.",
)

# %% [markdown]
# Just below the limit every eigenvalue of $\bar A$ lies inside the unit circle; 10% above it
# S4D-Lin's fastest-rotating modes (largest $|\operatorname{Im}\lambda|$) have crossed it, only
# barely ($|\mu| - 1$ of order $\Delta$), and HiPPO-LegS's fastest mode $\lambda = -N$ lands at
# $1 - 1.1 \times 2 = -1.2$. The other three rules keep every eigenvalue inside at any $\Delta$
# (bilinear's radius creeps towards 1 at large $\Delta$ because $\frac{1 + z/2}{1 - z/2}$ sends the
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
# Now compare the symbolic $\mu$ and $\bar B$ of a scalar mode $\dot x = \lambda x + b u$ with
# `smr.discretize`, at random stable $\lambda$, random steps and random complex $b$.

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
# **Bilinear.** With $z = x + iy$, $|1 + z/2|^2 - |1 - z/2|^2 = 2x$. Since $|\mu|^2 - 1$ is this
# difference divided by the positive number $|1 - z/2|^2$, $|\mu| < 1$ exactly when
# $\operatorname{Re} z < 0$.

# %%
bil = sym.bilinear_stability_identity()
display(Math(bil.latex()))
print("simplified difference:", bil.expr, "   stable exactly when:", bil.details["condition"])

# %% [markdown]
# **Forward Euler.** $|1 + \Delta\lambda|^2 - 1$ factors as
# $\Delta\,(2\lambda_r + \Delta|\lambda|^2)$, whose positive root is the step limit. Evaluate it
# on the S4D-Lin eigenvalues and compare with `smr.euler_dt_limit`:

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
# $N = 4, 16, 64, 256$. Fit how each limit scales with $N$. A sequence model with $N = 256$
# reading a signal sampled at $\Delta = 10^{-3}$: which of the two can use forward Euler?

# %% [markdown]
# <details><summary>Solution</summary>
#
# HiPPO-LegS's limit is $2/N$; S4D-Lin's is $1/(\tfrac14 + \pi^2 (N-1)^2)$, set by its fastest
# mode, roughly $1/(\pi N)^2$. At $N = 256$ that is $7.8 \times 10^{-3}$ for HiPPO-LegS (so
# $\Delta = 10^{-3}$ is fine) and about $1.6 \times 10^{-6}$ for S4D-Lin (so $\Delta = 10^{-3}$ is
# unstable).
#
# ```python
# Ns = np.array([4, 16, 64, 256])
# lim_h = np.array([smr.euler_dt_limit(smr.hippo_legs(n).A) for n in Ns])
# lim_s = np.array([smr.euler_dt_limit(smr.s4d_lin(n).A) for n in Ns])
# slope_h = np.polyfit(np.log(Ns), np.log(lim_h), 1)[0]
# slope_s = np.polyfit(np.log(Ns), np.log(lim_s), 1)[0]
# print("HiPPO-LegS:", lim_h, " slope", slope_h)
# print("S4D-Lin:   ", lim_s, " slope", slope_s)
# assert np.allclose(lim_h, 2 / Ns) and np.allclose(lim_s, 1 / (0.25 + np.pi**2 * (Ns - 1) ** 2))
# assert abs(slope_h + 1) < 1e-6 and abs(slope_s + 2) < 0.15  # 1/N and, asymptotically, 1/N^2
# assert lim_h[-1] > 1e-3 > lim_s[-1]  # at N = 256 only HiPPO-LegS is stable with dt = 1e-3
# ```
# </details>

# %% [markdown]
# **Exercise 2.** The generalized bilinear transform `method="gbt"` with parameter $\alpha$
# interpolates between forward Euler ($\alpha = 0$), bilinear ($\tfrac12$) and backward Euler
# ($1$). Draw its stability region for $\alpha = 0.25, 0.5, 0.75$. For which $\alpha$ does the
# region contain the whole left half-plane?

# %% [markdown]
# <details><summary>Solution</summary>
#
# For $\alpha \ge \tfrac12$ the region contains the left half-plane (it is exactly the half-plane
# at $\tfrac12$, and larger beyond); for $\alpha < \tfrac12$ it is a bounded disk, so a large
# enough step makes some stable mode unstable, as with forward Euler. Symbolically,
# $|\mu|^2 - 1$ has the sign of $2\operatorname{Re} z + (1 - 2\alpha)|z|^2$.
#
# ```python
# left = Z.real < 0
# fig, axes = plt.subplots(1, 3, figsize=(7, 2.8), sharey=True)
# for ax, a in zip(axes, [0.25, 0.5, 0.75]):
#     absmu = np.abs(smr.eigenvalue_map(Z, method="gbt", alpha=a))
#     ax.contourf(x, y, absmu < 1, levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.35)
#     ax.axvline(0, color="k", lw=0.6)
#     ax.set_title(f"gbt, alpha = {a}")
#     ax.set_xlabel("Re(dt lambda)")
#     ax.set_aspect("equal")
#     print(f"alpha = {a}: the whole left half-plane of the grid is stable: {np.all(absmu[left] < 1)}")
#     assert np.all(absmu[left] < 1) == (a >= 0.5)
# axes[0].set_ylabel("Im(dt lambda)")
# teaching.show(fig, "Stability regions of gbt for alpha = 0.25, 0.5, 0.75 (shaded: |mu| < 1).",
#               alt="At alpha 0.25 the shaded region is a disk in the left half-plane; at 0.5 it is the "
#               "left half-plane; at 0.75 it is everything outside a disk in the right half-plane.")
# ```
# </details>

# %% [markdown]
# **Exercise 3.** zoh's $\bar B = (e^{\Delta\lambda} - 1)\, b / \lambda$ looks singular at
# $\lambda = 0$. Use `sym.input_matrix_expr("zoh").details["at_lambda_0"]` to find the limit, then
# check that `smr.discretize` returns it for $\lambda = 0$ and is accurate for
# $\lambda = 10^{-12}$.

# %% [markdown]
# <details><summary>Solution</summary>
#
# The limit is $\Delta b$ (a pure integrator adds $\Delta u$ each step). The library computes
# zoh through $(e^z - 1)/z$ with a series for small $z$, so it has no cancellation.
#
# ```python
# d = sym.input_matrix_expr("zoh")
# lam_s, dt_s, b_s = d.symbols
# print(d.details["at_lambda_0"])
# assert d.details["at_lambda_0"] == dt_s * b_s
# for l in [0.0, 1e-12]:
#     _, Bb0 = smr.discretize(np.array([l + 0j]), np.array([1.0 + 0j]), 0.1, method="zoh")
#     exact = 0.1 * (1 + 0.1 * l / 2)  # (e^{dt l} - 1)/l to second order in dt*l
#     print(l, Bb0[0], "relative error:", abs(Bb0[0] - exact) / exact)
#     assert abs(Bb0[0] - exact) <= 1e-15 * exact
# ```
# </details>
