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
# # 2. The Non-Stable State: sampling error, transmission, accumulation
#
# A deep SSM is trained on samples taken on a fixed grid `t_k = k dt` and keeps its discrete
# `(Ab, Bb)` afterwards. If at test time the samples arrive at slightly different times
# `t~_k` (jitter, a different rate, irregular gaps), the model is fed slightly wrong numbers.
# This notebook follows that mistake through the recurrence.
#
# **What you will learn**
#
# - the *sampling error* `w_k = u(t~_k) - u(t_k)` and the *state error* `e_k = x~_k - x_k`, which
#   obeys its own recurrence `e_k = Ab e_{k-1} + Bb w_k` (the error is transmitted by `Ab` and
#   accumulates through the sum);
# - Proposition 1: a stable model keeps `||e_k||` inside a ball of radius `G_inf sup ||w||`, and a
#   mode on or outside the unit circle lets it grow without bound;
# - why long-memory modes (slow decay `a`) amplify the error: one mode's gain `|Bb|/(1 - |mu|)`
#   tends to `|B|/a`;
# - to read every error relatively (`||e_k|| / ||x_k||`) as well as absolutely.

# %%
# %matplotlib inline
# --- default parameters (change them here, then re-run everything) ---
N = 16  # state size of the S4D-Lin model
dt = 0.01  # training step: the nominal grid is t_k = k dt
L = 2000  # sequence length (samples)
draws = 50  # Monte-Carlo draws per random schedule
jitter_mag = 0.2  # jitter: offsets uniform on [-j dt, j dt], j = jitter_mag
rate_scale = 1.1  # rate change: t~_k = k * rate_scale * dt
seed_signal = 0  # seed of the random sum of sines fed to the models
seed_jitter = 1  # seed of the jittered schedule
seed_irregular = 2  # seed of the irregular (exponential gaps) schedule
omega_mode = 2 * 3.141592653589793 * 0.5  # angular frequency of the single modes in the long-memory study
decays = [2.0, 0.5, 0.05]  # decay rates a of the single modes (lambda = -a + i omega)
L_long = 4000  # sequence length of the long-memory study (long enough for 1/a = 20 time units)

# %%
import matplotlib.pyplot as plt
import numpy as np

import smr_stability as smr
from smr_stability import sampling, signals

# %% [markdown]
# ## The sampling error
#
# The input is a random sum of sines, a continuous-time signal we can evaluate at any time.
# One jittered schedule moves each sample by at most `jitter_mag * dt`. The model does not
# know: it treats sample `k` as if it were taken at `k dt`.

# %%
signal = signals.SumOfSines(B=1, P=1, seed=seed_signal)  # B=1 signal, P=1 channel
t = dt * np.arange(L)
one_jitter = sampling.jitter(L, dt, jitter_mag, draws=1, seed=seed_jitter)
u_nom = signal(t)[0, :, 0]  # (L,)
u_jit = signal(one_jitter.times)[0, 0, :, 0]  # (L,): the same signal at the jittered times
w = u_jit - u_nom  # the sampling error
print(
    f"max |u| = {np.abs(u_nom).max():.3f}   max |w| = {np.abs(w).max():.2e}   "
    f"relative: {np.abs(w).max() / np.abs(u_nom).max():.2e}"
)

fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
axes[0].plot(t, u_nom, lw=1, label="u(k dt): what training saw")
axes[0].plot(t, u_jit, lw=1, ls="--", label="u(t~_k): what the model gets")
axes[0].legend(fontsize=8)
axes[1].plot(t, w, lw=0.6, color="tab:red")
axes[1].set_ylabel("w_k")
axes[1].set_xlabel("t = k dt")
plt.tight_layout()
plt.show()

# %% [markdown]
# For a smooth input, `w_k` is roughly `u'(k dt) * delta_k`: the slope of the signal times the
# timing offset. It is small, but it enters the model at *every* step.

# %% [markdown]
# ## The error system, by hand
#
# Both runs use the same `(Ab, Bb)`, and the model is linear. Subtracting
# `x_k = Ab x_{k-1} + Bb u_k` from `x~_k = Ab x~_{k-1} + Bb u~_k` leaves a recurrence for the
# difference alone, driven by `w_k`:
#
# `e_k = Ab e_{k-1} + Bb w_k`,  `e_{-1} = 0`.
#
# Unrolling it, `e_k = sum_i Ab^(k-i) Bb w_i`: every past sampling error is still in the state,
# scaled by a power of `Ab`. Let us check this on S4D-Lin.

# %%
model = smr.s4d_lin(N)
Ab, Bb = smr.discretize(model.A, model.B, dt, method="zoh")  # Ab: (N,) diagonal, Bb: (N, 1)
_, x_nom = smr.simulate_reference(Ab, Bb, model.C, model.D, u_nom[:, None])  # x: (L, N)
_, x_jit = smr.simulate_reference(Ab, Bb, model.C, model.D, u_jit[:, None])

e = np.zeros(N, complex)
e_loop = np.empty((L, N), complex)
for k in range(L):
    e = Ab * e + Bb[:, 0] * w[k]  # diagonal Ab: elementwise product
    e_loop[k] = e
print(f"max |(x~ - x) - e_loop| = {np.abs((x_jit - x_nom) - e_loop).max():.1e}  (the error system is exact)")

e_norm = np.linalg.norm(e_loop, axis=1)
x_norm = np.linalg.norm(x_nom, axis=1)
print(f"final ||e|| = {e_norm[-1]:.3e}   final ||e|| / ||x|| = {e_norm[-1] / x_norm[-1]:.3e}")

# %% [markdown]
# ## Many draws and three schedules: `divergence_experiment`
#
# `smr.divergence_experiment` does the same for many Monte-Carlo draws at once, for several
# schedules, and reports absolute and relative errors side by side. It also carries
# Proposition 1's bound next to what it observed (`result.bounds`).

# %%
schedules = [
    sampling.jitter(L, dt, jitter_mag, draws=draws, seed=seed_jitter),
    sampling.rate_change(L, dt, rate_scale),
    sampling.irregular(L, dt, draws=draws, seed=seed_irregular),
]
res = smr.divergence_experiment(model, signal, schedules, dt, method="zoh")
print(res.table())

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
res.plot("state_error", ax=axes[0])
res.plot("rel_state_error", ax=axes[1])
axes[0].set_yscale("log")
axes[1].set_yscale("log")
axes[0].set_title("absolute: ||e_k||")
axes[1].set_title("relative: ||e_k|| / ||x_k||")
plt.tight_layout()
plt.show()

# %% [markdown]
# Jitter of a fifth of a step leaves the state within a fraction of a percent of the nominal
# one. A 10% change of rate is not small at all: the perturbed samples drift further and further
# from the grid, `w_k` is no longer small, and the state ends far from the nominal one (relative
# error of order 1). Exponential gaps behave like a random rate change.

# %% [markdown]
# ## Proposition 1(a): the ISS ball
#
# If the spectral radius of `Ab` is below 1, the series `G_inf = sum_j ||Ab^j Bb||` converges
# and, whatever the sampling errors, `||e_k|| <= G_inf * sup_i ||w_i||`. This is an
# input-to-state stability (ISS) statement: bounded sampling error, bounded state error.
# `smr.error_gain` computes `G_inf`; `smr.iss_error_bound` multiplies it by `sup ||w||`.

# %%
G = smr.error_gain(Ab, Bb)
x_scale = res.nominal_state_norm[0, 0].max()  # max_k ||x_k|| of the nominal run
print(f"G_inf = {G:.4f}    max_k ||x_k|| (nominal) = {x_scale:.4f}")
print(
    f"{'schedule':26s} {'sup|w|':>10s} {'ISS bound':>11s} {'observed':>11s} "
    f"{'bound/max||x||':>15s} {'obs/max||x||':>13s}"
)
for j, name in enumerate(res.schedules):
    w_sup = res.bounds["w_sup"][0, j, 0]
    bound = smr.iss_error_bound(Ab, Bb, w_sup)
    obs = res.bounds["observed_sup"][0, j, 0]
    print(f"{name:26s} {w_sup:10.3e} {bound:11.3e} {obs:11.3e} {bound / x_scale:15.3e} {obs / x_scale:13.3e}")

# %% [markdown]
# The observation is always inside the ball, usually well inside: the bound assumes every
# `w_i` is as large as the largest one *and* lines up to push `e_k` the same way, while real
# sampling errors change sign and partly cancel.

# %% [markdown]
# ## Proposition 1(b): on or outside the unit circle, no ball
#
# If a mode has `|mu| = 1` (zoh of a purely oscillatory `lambda = i omega`), a *constant* sampling
# error adds up step after step and `|e_k|` grows linearly; with `|mu| > 1` (forward Euler above
# its step limit, notebook 1) it grows exponentially. `smr.error_gain` refuses both
# (`UnstableSystemError`): the ball does not exist. (In floating point `|e^{i omega dt}|` comes out
# as `1 - 1e-16`, so for the first case the message says the series would need too many terms.)

# %%
lam_osc = np.array([0.0 + 1j * 0.5])  # Re(lambda) = 0: zoh gives |mu| = 1
mu_osc, b_osc = smr.discretize(lam_osc, np.ones(1), dt, method="zoh")
lam_fast = np.array([-1.0 + 0j])  # stable, but forward Euler at dt = 2.02 > 2 gives mu = -1.02
mu_eul, b_eul = smr.discretize(lam_fast, np.ones(1), 2.02, method="euler")
W = 1e-3  # size of the constant sampling error
K = np.arange(2000)
e1 = np.zeros(len(K), complex)
e2 = np.zeros(len(K), complex)
for k in K[1:]:
    e1[k] = mu_osc[0] * e1[k - 1] + b_osc[0] * W
    e2[k] = mu_eul[0] * e2[k - 1] + b_eul[0] * W
print(f"|mu| = {abs(mu_osc[0]):.12f} (zoh, lambda = 0.5i),  |mu| = {abs(mu_eul[0]):.2f} (Euler above its limit)")
try:
    smr.error_gain(mu_osc, b_osc)
except smr.errors.UnstableSystemError as err:
    print("error_gain:", str(err)[:110], "...")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
# lambda = 0.5i with constant input is not secular (it resonates only at its own frequency):
# |e_k| stays bounded by 2|b|W/|1 - mu|. A resonant w_k = W cos(0.5 k dt) grows linearly.
e3 = np.zeros(len(K), complex)
for k in K[1:]:
    e3[k] = mu_osc[0] * e3[k - 1] + b_osc[0] * W * np.cos(0.5 * k * dt)
axes[0].plot(K, np.abs(e1), label="constant w")
axes[0].plot(K, np.abs(e3), label="w_k = W cos(0.5 k dt), in resonance")
axes[0].set_title("|mu| = 1 (zoh, lambda = 0.5i)")
axes[0].legend(fontsize=8)
axes[1].semilogy(K[:400], np.abs(e2[:400]))
axes[1].set_title("|mu| = 1.02 (forward Euler, dt above limit)")
for ax in axes:
    ax.set_xlabel("k")
    ax.set_ylabel("|e_k|")
plt.tight_layout()
plt.show()

# %% [markdown]
# A detail worth noticing in the left panel: a bounded error grows without bound when it keeps
# in step with the mode. For `mu = e^{i omega dt}` that means `w_k` oscillating at `omega`
# (for `lambda = 0` a constant suffices). Proposition 1(b) says such bounded errors exist; it does
# not say every bounded error causes growth.

# %% [markdown]
# ## Proposition 1(c): long memory amplifies the error
#
# For one mode `lambda = -a + i omega` the gain is `|Bb| / (1 - |mu|)` (`smr.mode_gain`). The decay
# `a` sets the memory: after a time `1/a` the mode has forgotten a factor `e`. As `dt -> 0` the
# gain tends to `|B| / a` (`smr.long_memory_limit`), so **halving the decay doubles the
# worst-case accumulated error**.

# %%
a_grid = np.logspace(-3, 1, 60)
lam_grid = -a_grid + 1j * omega_mode
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for m in ["zoh", "bilinear", "backward_diff"]:
    axes[0].loglog(a_grid, smr.mode_gain(lam_grid, dt, method=m), lw=1.5, label=f"mode_gain, {m}, dt = {dt}")
axes[0].loglog(a_grid, smr.long_memory_limit(lam_grid), "k--", lw=1, label="|B| / a")
axes[0].set_xlabel("decay a  (lambda = -a + i omega)")
axes[0].set_ylabel("per-mode gain")
axes[0].legend(fontsize=7)
dts = np.logspace(-4, 0, 40)
for a in decays:
    lam_a = np.array([-a + 1j * omega_mode])
    ratio = smr.mode_gain(lam_a, dts)[:, 0] / smr.long_memory_limit(lam_a)[0]
    axes[1].semilogx(dts, ratio, label=f"a = {a}")
axes[1].axhline(1, color="k", lw=0.6)
axes[1].set_xlabel("dt")
axes[1].set_ylabel("mode_gain / (|B|/a)   (zoh)")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# zoh and bilinear follow `|B|/a` down to the smallest decay. Backward Euler levels off: its map
# `1/(1 - z)` pulls every oscillating mode inside the circle by about `omega^2 dt / 2`, an
# artificial damping that caps the gain near `2 / (omega^2 dt)` (about 20 here). The right panel
# shows the limit is reached once `dt` is small against the mode's time scales.
#
# Now the same jitter on three single-mode models that differ only in their decay. The
# worst-case bound grows like `1/a`; the observed error grows too, in absolute and relative
# terms (the nominal state hardly changes, since the sines are far from resonance).

# %%
single = [smr.SSM(np.array([-a + 1j * omega_mode]), np.ones((1, 1)), np.ones((1, 1)), name=f"a = {a}") for a in decays]
jit_long = sampling.jitter(L_long, dt, jitter_mag, draws=draws, seed=seed_jitter)
res_a = smr.divergence_experiment(single, signal, jit_long, dt)
print(res_a.table())
print()
print(f"{'system':10s} {'ISS bound':>11s} {'observed sup':>13s} {'max ||x||':>10s} {'bound rel':>10s} {'obs rel':>10s}")
for i, s in enumerate(res_a.systems):
    xs = res_a.nominal_state_norm[i, 0].max()
    b_ = res_a.bounds["iss_bound"][i, 0, 0]
    o_ = res_a.bounds["observed_sup"][i, 0, 0]
    print(f"{s:10s} {b_:11.3e} {o_:13.3e} {xs:10.3e} {b_ / xs:10.3e} {o_ / xs:10.3e}")

# %% [markdown]
# The worst-case ball grows by the full factor 40 between `a = 2` and `a = 0.05`. The observed
# errors grow too, absolute and relative, but stay far inside the ball: jitter errors change
# sign from step to step and partly cancel, whereas the ball assumes they all push the same
# way. Long memory is where the sampling error piles up.

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Repeat the S4D-Lin experiment with jitter magnitudes `0.05, 0.1, 0.2, 0.4`.
# How do the final absolute and relative state errors scale with the magnitude? Explain with
# `w_k ~ u'(k dt) delta_k`.

# %% [markdown]
# <details><summary>Solution</summary>
#
# Both grow linearly: `w` is proportional to the offsets, the error system is linear in `w`,
# and the nominal state does not depend on the jitter, so the relative error scales the same way.
# (Magnitudes of 1/2 or more would need `sort=True`, since samples could swap.)
#
# ```python
# mags = [0.05, 0.1, 0.2, 0.4]
# sch = [sampling.jitter(L, dt, j, draws=draws, seed=seed_jitter) for j in mags]
# r = smr.divergence_experiment(model, signal, sch, dt)
# for row, j in zip(r.summary(), mags):
#     print(j, row["final_state_error"], row["final_rel_state_error"])
# ```
# </details>

# %% [markdown]
# **Exercise 2.** The ISS bound is a worst case. Show that it is attained: for a real mode
# `lambda = -a` (so `mu` is real and positive) feed the constant error `w_k = W` through
# `e_k = mu e_{k-1} + Bb w_k` and compare `e_k` for large `k` with `smr.iss_error_bound`.
# Why does this not work for a complex `lambda` with a real `w`?

# %% [markdown]
# <details><summary>Solution</summary>
#
# For real `mu > 0` every term `mu^j Bb W` has the same sign, so the sum reaches
# `|Bb| W / (1 - mu) = G_inf W`. For complex `mu` the terms rotate; a real input cannot keep all
# of them aligned, so the bound is approached but not attained.
#
# ```python
# a, W = 0.5, 1e-3
# mu, bb = smr.discretize(np.array([-a]), np.ones(1), dt, method="zoh")
# e = 0.0
# for k in range(20000):
#     e = mu[0] * e + bb[0] * W
# print(e, smr.iss_error_bound(mu, bb, W), W / a)
# ```
# </details>

# %% [markdown]
# **Exercise 3.** Forward Euler has a step limit (notebook 1). Compute `smr.mode_gain` for
# `lambda = -0.5 + 3i` and forward Euler at steps approaching the limit
# `-2 Re(lambda)/|lambda|^2`. What happens to the gain, and what does `mode_gain` do beyond it?

# %% [markdown]
# <details><summary>Solution</summary>
#
# `1 - |mu|` shrinks to 0 at the limit, so the gain blows up; beyond the limit `|mu| > 1` and
# `mode_gain` raises `UnstableSystemError` (no finite gain exists, Proposition 1(b)).
#
# ```python
# lam1 = np.array([-0.5 + 3j])
# lim = smr.euler_dt_limit(lam1)
# for f in [0.5, 0.9, 0.99, 0.999]:
#     print(f, smr.mode_gain(lam1, f * lim, method="euler")[0])
# try:
#     smr.mode_gain(lam1, 1.01 * lim, method="euler")
# except smr.errors.UnstableSystemError as err:
#     print("refused:", err)
# ```
# </details>
