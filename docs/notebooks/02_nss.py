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
# A deep SSM is trained on samples taken on a fixed grid $t_k = k\Delta$ and keeps its discrete
# $(\bar A, \bar B)$ afterwards. If at test time the samples arrive at slightly different times
# $\tilde t_k$ (jitter, a different rate, irregular gaps), the model is fed slightly wrong
# numbers. This notebook follows that mistake through the recurrence.
#
# **The statement.** Run the same fixed-step model on $u(t_k)$ and on $u(\tilde t_k)$. The
# difference of the two states, $e_k = \tilde x_k - x_k$, is driven by the *sampling error*
# $w_k = u(\tilde t_k) - u(t_k)$ through the model's own recurrence (the error system (E)):
#
# $$e_k = \bar A e_{k-1} + \bar B w_k,\quad e_{-1} = 0, \qquad\text{so}\qquad
# e_k = \sum_{i=0}^{k} \bar A^{k-i} \bar B w_i .$$
#
# Every past sampling error is *transmitted* by powers of $\bar A$ and *accumulated* in the
# sum. Proposition 1 ([docs/theory.md §3](../theory.md#3-proposition-1-how-sampling-errors-travel))
# says what follows:
#
# - **(a)** if the spectral radius $\rho(\bar A) < 1$, the error stays in a ball:
#   $$\sup_k \|e_k\| \le G_\infty \sup_i \|w_i\|, \qquad
#   G_\infty = \sum_{j \ge 0} \|\bar A^j \bar B\| < \infty ;$$
# - **(b)** if a mode reachable from the input has $|\mu| \ge 1$, some bounded sequence of
#   sampling errors makes $\|e_k\|$ diverge: exponentially when $|\mu| > 1$, linearly for a
#   simple mode on the unit circle driven in resonance ($w_i \propto \mu^i$). This divergence
#   is the paper's *Non-Stable State* (NSS);
# - **(c)** for a zoh mode $\lambda = -a + i\omega$ ($a > 0$) and a small step, the mode's gain
#   $|\bar B_n| / (1 - |\mu_n|)$ tends to $|B_n| / a$: the slower a mode forgets, the more
#   sampling error it piles up.
#
# **What you will learn**
#
# - to compute $w_k$ and $e_k$ by hand and with `smr.divergence_experiment`;
# - to read the ball of (a) next to the observed error, and why the observed error is far
#   inside it;
# - which bounded errors make a mode on the unit circle grow, and which do not (b);
# - why long-memory modes amplify the error (c);
# - to read every error relatively ($\|e_k\| / \|x_k\|$) as well as absolutely, and over all
#   steps rather than at the last one.

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
zoom_width = 0.12  # length of the time window of the close-up on the samples (centred on the largest |w_k|)

# %%
import textwrap

import matplotlib.pyplot as plt
import numpy as np

import smr_stability as smr
from smr_stability import sampling, signals, teaching

teaching.notebook_style()

# %% [markdown]
# ## The sampling error
#
# The input is a random sum of sines, a continuous-time signal we can evaluate at any time.
# One jittered schedule moves each sample by at most `jitter_mag` $\Delta$. The model does not
# know: it treats sample $k$ as if it were taken at $k\Delta$.

# %%
signal = signals.SumOfSines(B=1, P=1, seed=seed_signal)  # B=1 signal, P=1 channel
t = dt * np.arange(L)
one_jitter = sampling.jitter(L, dt, jitter_mag, draws=1, seed=seed_jitter)
t_jit = one_jitter.times[0]  # (L,): the true sampling times
u_nom = signal(t)[0, :, 0]  # (L,)
u_jit = signal(one_jitter.times)[0, 0, :, 0]  # (L,): the same signal at the jittered times
w = u_jit - u_nom  # the sampling error
print(
    f"max |u| = {np.abs(u_nom).max():.3f}   max |w| = {np.abs(w).max():.2e}   "
    f"relative: {np.abs(w).max() / np.abs(u_nom).max():.2e}"
)

fig, axes = plt.subplots(2, 1, figsize=(7, 4.8))
zoom = t[np.argmax(np.abs(w))] + np.array([-0.5, 0.5]) * zoom_width  # where the input is steepest
inside = (t >= zoom[0]) & (t <= zoom[1])
fine = np.linspace(*zoom, 400)
axes[0].plot(fine, signal(fine)[0, :, 0], color="0.6", lw=1, label="u(t)")
axes[0].plot(t[inside], u_nom[inside], "o", ms=6, mfc="none", label="grid samples u(k dt)")
axes[0].plot(t_jit[inside], u_jit[inside], "x", ms=6, label="jittered samples u(t~_k), at their true times")
axes[0].set_xlabel("t")
axes[0].set_ylabel("u")
axes[0].legend(loc="best")
axes[1].plot(t, w, lw=0.6, color="tab:red")
axes[1].axvspan(*zoom, color="0.85")
axes[1].set_ylabel("w_k = u(t~_k) - u(k dt)")
axes[1].set_xlabel("t = k dt")
teaching.show(
    fig,
    f"Top: a close-up of {inside.sum()} samples where the input is steep. The model puts each jittered sample (cross) where the grid "
    "sample (circle) was, so it reads the value of the cross at the time of the circle. Bottom: the "
    "sampling error w_k over the whole sequence (the close-up is shaded).",
    alt=f"Top: a smooth curve with circles on it at equally spaced times and crosses on it at slightly "
    f"shifted times, within a fifth of a step of each circle. Bottom: w_k is a noisy signal of amplitude up "
    f"to {np.abs(w).max():.3f}, largest where the input is steep.",
)

# %% [markdown]
# For a smooth input, $w_k \approx u'(k\Delta)\,\delta_k$: the slope of the signal times the
# timing offset $\delta_k = \tilde t_k - k\Delta$. It is small, but it enters the model at
# *every* step.

# %% [markdown]
# ## The error system, by hand
#
# Both runs use the same $(\bar A, \bar B)$, and the model is linear. Subtracting
# $x_k = \bar A x_{k-1} + \bar B u_k$ from $\tilde x_k = \bar A \tilde x_{k-1} + \bar B \tilde u_k$
# leaves the recurrence (E) for the difference alone, driven by $w_k$. Let us check it on S4D-Lin.

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
print(f"median over k: ||e_k|| = {np.median(e_norm):.3e}   ||e_k|| / ||x_k|| = {np.median(e_norm / x_norm):.3e}")

# %% [markdown]
# ## Many draws and three schedules: `divergence_experiment`
#
# `smr.divergence_experiment` does the same for many Monte-Carlo draws at once, for several
# schedules, and reports absolute and relative errors side by side (in `result.metrics`, each
# of shape (systems, schedules, signals, L), already averaged over the draws). It also carries
# Proposition 1's bound next to what it observed (`result.bounds`).
#
# An error curve moves a lot from step to step, so its last value says little. The tables below
# give, for each curve, its **median over the steps** $k$ and the 10% and 90% quantiles over $k$.

# %%
schedules = [
    sampling.jitter(L, dt, jitter_mag, draws=draws, seed=seed_jitter),
    sampling.rate_change(L, dt, rate_scale),
    sampling.irregular(L, dt, draws=draws, seed=seed_irregular),
]
res = smr.divergence_experiment(model, signal, schedules, dt, method="zoh")


def over_k(res, metric, i=0, j=0):
    """10%, 50% and 90% quantiles over the steps k of a metric's curve (mean over signals and draws)."""
    return np.quantile(res.metrics[metric][i, j].mean(axis=0), [0.1, 0.5, 0.9])


def table_over_k(res, metrics, by="schedules"):
    """One row per schedule (or system): each metric as 'median [10%, 90%]' over the steps k."""
    names = res.schedules if by == "schedules" else res.systems
    print("median over the steps k [10% and 90% quantiles over k]")
    print(f"{'':24s}" + "".join(f"   {m:30s}" for m in metrics))
    for n, name in enumerate(names):
        i, j = (0, n) if by == "schedules" else (n, 0)
        cols = "".join(f"   {q[1]:8.2e} [{q[0]:8.2e}, {q[2]:8.2e}]" for q in (over_k(res, m, i, j) for m in metrics))
        print(f"{name[:24]:24s}{cols}")


table_over_k(res, ["state_error", "rel_state_error"])
print()
table_over_k(res, ["output_error", "rel_output_error"])

# %%
styles = ["-", "--", ":"]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.3), sharex=True)
for ax, metric, title in [
    (axes[0], "state_error", "absolute: ||e_k||"),
    (axes[1], "rel_state_error", "relative: ||e_k|| / ||x_k||"),
]:
    for j, name in enumerate(res.schedules):
        ax.semilogy(res.t, res.metrics[metric][0, j, 0], ls=styles[j], lw=1.3, label=name)
    ax.set_title(title)
    ax.set_xlabel("t = k dt")
axes[0].set_ylabel("mean over draws")
axes[0].legend(loc="center right")
teaching.show(
    fig,
    f"S4D-Lin (N = {N}) under three schedules: the state error, mean over {draws} draws (one draw for the "
    "deterministic rate change), absolute (left) and relative to the nominal state (right).",
    alt="Two log-scale panels. The jitter curves (solid) stay around 1e-3 absolute and 5e-3 relative. The "
    "rate-change (dashed) and irregular (dotted) curves climb over the first three time units to between 0.1 "
    "and 0.8 absolute and between 1 and 3 relative, and fluctuate there.",
)

# %% [markdown]
# Jitter of a fifth of a step keeps the state within about half a percent of the nominal one
# (median relative error over $k$). A 10% change of rate is not small at all: the perturbed
# samples drift further and further from the grid, $w_k$ is no longer small, and the relative
# state error is of order 1 at most steps. Exponential gaps behave like a random rate change.
# The output errors show why the last step is a poor summary: for the rate change the relative
# output error is about 1% at the last step, but its median over the steps is above 0.8.

# %% [markdown]
# ## Proposition 1(a): the ISS ball
#
# If $\rho(\bar A) < 1$, the series $G_\infty = \sum_j \|\bar A^j \bar B\|$ converges and,
# whatever the sampling errors, $\|e_k\| \le G_\infty \sup_i \|w_i\|$. This is an input-to-state
# stability (ISS) statement: bounded sampling error, bounded state error. `smr.error_gain`
# computes $G_\infty$; `smr.iss_error_bound` multiplies it by $\sup \|w\|$.

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
    assert obs <= bound
    print(f"{name:26s} {w_sup:10.3e} {bound:11.3e} {obs:11.3e} {bound / x_scale:15.3e} {obs / x_scale:13.3e}")

# %% [markdown]
# The observation is always inside the ball, usually well inside: the bound assumes every
# $w_i$ is as large as the largest one *and* lines up to push $e_k$ the same way, while real
# sampling errors change sign and partly cancel.

# %% [markdown]
# ## Proposition 1(b): on or outside the unit circle, no ball
#
# With $|\mu| = 1$ (zoh of a purely oscillatory $\lambda = i\omega$) there is no ball, but that
# does not mean that every bounded error grows. Take one mode,
# $e_k = \mu e_{k-1} + b\, w_k$:
#
# - a **constant** error $w_k = W$ gives $e_k = bW(1 - \mu^{k+1})/(1 - \mu)$, a geometric sum
#   that stays **bounded** by $2|b|W/|1 - \mu|$ whenever $\mu \ne 1$: the terms rotate and
#   cancel. Only $\mu = 1$ ($\lambda = 0$, a pure integrator) makes a constant error grow
#   linearly;
# - an error **in resonance** with the mode, $w_k \propto \mu^k$ (a sinusoid at the mode's own
#   frequency), adds up in phase at every step and grows **linearly**: this is the bounded
#   error that Proposition 1(b) promises;
# - with $|\mu| > 1$ (forward Euler above its step limit, notebook 1) even a constant error
#   grows exponentially.
#
# `smr.error_gain` refuses both kinds of model (`UnstableSystemError`): the ball does not
# exist. (In floating point $|e^{i\omega\Delta}|$ comes out as $1 - 10^{-16}$, so for the
# unit-circle case the message says the series would need too many terms.)

# %%
W = 1e-3  # size of the sampling errors
K = np.arange(2000)


def run_mode(mu, b, w):
    """e_k = mu e_{k-1} + b w_k from e_{-1} = 0, for one mode."""
    e, out = 0.0, np.empty(len(w), complex)
    for k, w_k in enumerate(w):
        e = mu * e + b * w_k
        out[k] = e
    return out


mu_osc, b_osc = (v[0] for v in smr.discretize(np.array([0.5j]), np.ones(1), dt, method="zoh"))  # |mu| = 1
mu_int, b_int = (v[0] for v in smr.discretize(np.array([0.0j]), np.ones(1), dt, method="zoh"))  # mu = 1
mu_eul, b_eul = (v[0] for v in smr.discretize(np.array([-1.0]), np.ones(1), 2.02, method="euler"))  # mu = -1.02
e_const = run_mode(mu_osc, b_osc, np.full(len(K), W))
e_res = run_mode(mu_osc, b_osc, W * np.cos(0.5 * K * dt))  # in resonance with lambda = 0.5i
e_int = run_mode(mu_int, b_int, np.full(len(K), W))
e_eul = run_mode(mu_eul, b_eul, np.full(len(K), W))
bound_const = 2 * abs(b_osc) * W / abs(1 - mu_osc)
print(f"|mu| = {abs(mu_osc):.12f} (zoh, lambda = 0.5i),  |mu| = {abs(mu_eul):.2f} (Euler above its limit)")
print(f"constant w, lambda = 0.5i: max |e_k| = {np.abs(e_const).max():.3e} <= 2|b|W/|1 - mu| = {bound_const:.3e}")
assert np.abs(e_const).max() <= bound_const * (1 + 1e-12)  # reached when mu^(k+1) = -1
try:
    smr.error_gain(np.array([mu_osc]), np.array([b_osc]))
except smr.errors.UnstableSystemError as err:
    print("error_gain refuses:")
    print(textwrap.fill(str(err), 100, initial_indent="  ", subsequent_indent="  "))

# %%
fig, axes = plt.subplots(2, 2, figsize=(7, 5.2), sharex=True)
panels = [
    (axes[0, 0], e_const, "lambda = 0.5i, constant w"),
    (axes[0, 1], e_res, "lambda = 0.5i, w in resonance"),
    (axes[1, 0], e_int, "lambda = 0 (mu = 1), constant w"),
    (axes[1, 1], e_eul, "Euler, |mu| = 1.02, constant w"),
]
for ax, e_k, title in panels:
    if ax is axes[1, 1]:
        ax.semilogy(K, np.abs(e_k), color="tab:red")
    else:
        ax.plot(K, np.abs(e_k))
    ax.set_title(title)
axes[0, 0].axhline(bound_const, color="k", ls="--", lw=0.8, label="2|b|W / |1 - mu|")
axes[0, 0].set_ylim(0, 1.45 * bound_const)
axes[0, 0].legend(loc="upper center")
axes[0, 1].plot(K, abs(b_osc) * W * (K + 1) / 2, "k--", lw=0.8, label="|b| W (k+1) / 2")
axes[0, 1].legend(loc="upper left")
for ax in axes[1]:
    ax.set_xlabel("k")
for ax in axes[:, 0]:
    ax.set_ylabel("|e_k|")
teaching.show(
    fig,
    f"One mode driven by bounded sampling errors of size W = {W:g}. On the unit circle a constant error "
    "stays bounded (top left) unless mu = 1 (bottom left); an error in resonance with the mode grows "
    "linearly (top right). Outside the circle a constant error grows exponentially (bottom right, log scale).",
    alt="Top left: |e_k| oscillates between 0 and a dashed line at 2|b|W/|1 - mu|, without growing. Top right: "
    "|e_k| grows along the straight dashed line |b|W(k+1)/2. Bottom left: |e_k| grows as a straight line. "
    "Bottom right: on a log scale, |e_k| grows as a straight line, that is exponentially.",
)

# %% [markdown]
# So a bounded error grows without bound on the unit circle only when it keeps in step with the
# mode: for $\mu = e^{i\omega\Delta}$ that means $w_k$ oscillating at $\omega$ (for $\lambda = 0$ a
# constant suffices). Proposition 1(b) says such bounded errors exist; it does not say every
# bounded error causes growth ([docs/theory.md, corrections](../theory.md#corrections-to-earlier-statements)).

# %% [markdown]
# ## Proposition 1(c): long memory amplifies the error
#
# For one mode $\lambda = -a + i\omega$ the gain is $|\bar B| / (1 - |\mu|)$ (`smr.mode_gain`).
# The decay $a$ sets the memory: after a time $1/a$ the mode has forgotten a factor $e$. As
# $\Delta \to 0$ the gain tends to $|B| / a$ (`smr.long_memory_limit`), so **halving the decay
# doubles the worst-case accumulated error**.

# %%
a_grid = np.logspace(-3, 1, 60)
lam_grid = -a_grid + 1j * omega_mode
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
gain_styles = {  # zoh and bilinear coincide: a wide pale line and dots keep both visible
    "zoh": dict(ls="-", lw=7, alpha=0.3),
    "bilinear": dict(ls="none", marker="o", ms=3),
    "backward_diff": dict(ls="-", lw=1.2),
}
for m, style in gain_styles.items():
    axes[0].loglog(a_grid, smr.mode_gain(lam_grid, dt, method=m), label=m, **style)
axes[0].loglog(a_grid, smr.long_memory_limit(lam_grid), "k--", lw=1, label="|B| / a")
axes[0].set_xlabel("decay a")
axes[0].set_ylabel(f"per-mode gain (dt = {dt})")
axes[0].legend(loc="lower left")
dts = np.logspace(-4, 0, 40)
for a, ls in zip(decays, ["-", "--", ":"]):
    lam_a = np.array([-a + 1j * omega_mode])
    ratio = smr.mode_gain(lam_a, dts)[:, 0] / smr.long_memory_limit(lam_a)[0]
    axes[1].semilogx(dts, ratio, ls=ls, lw=1.5, label=f"a = {a}")
axes[1].axhline(1, color="k", lw=0.6)
axes[1].set_xlabel("dt")
axes[1].set_ylabel("mode_gain / (|B|/a), zoh")
axes[1].legend(loc="lower left")
teaching.show(
    fig,
    f"Left: the gain of one mode lambda = -a + i omega (omega = {omega_mode:.2f}) against its decay a, for "
    "three rules at a fixed step, with the limit |B|/a. Right: zoh's gain over that limit against the step, "
    "for three decays (the three curves nearly coincide).",
    alt="Left, log-log: the zoh curve (wide, pale) and the bilinear dots lie on the dashed line |B|/a, rising "
    "as a falls; backward Euler follows them down to a of about 0.1, then levels off near 20. Right: the three "
    "ratios are 1 up to dt of about 0.05 and fall to between 0.64 and 0.7 at dt = 1.",
)

# %% [markdown]
# zoh and bilinear follow $|B|/a$ down to the smallest decay (their curves coincide, drawn as a
# wide line and dots). Backward Euler levels off: its map $1/(1 - z)$ pulls every oscillating
# mode inside the circle by about $\omega^2\Delta/2$, an artificial damping that caps the gain
# near $2/(\omega^2\Delta)$ (about 20 here). The right panel shows the limit is reached once
# $\Delta$ is small against the mode's time scales, here its period $2\pi/\omega = 2$: the three
# decays give nearly the same curve, since $\omega\Delta$ sets the departure.
#
# Now the same jitter on three single-mode models that differ only in their decay. The
# worst-case bound grows like $1/a$; the observed error grows too, in absolute and relative
# terms (the nominal state hardly changes, since the sines are far from resonance).

# %%
single = [smr.SSM(np.array([-a + 1j * omega_mode]), np.ones((1, 1)), np.ones((1, 1)), name=f"a = {a}") for a in decays]
jit_long = sampling.jitter(L_long, dt, jitter_mag, draws=draws, seed=seed_jitter)
res_a = smr.divergence_experiment(single, signal, jit_long, dt)
table_over_k(res_a, ["state_error", "rel_state_error"], by="systems")
print()
print(f"{'system':10s} {'ISS bound':>11s} {'observed sup':>13s} {'max ||x||':>10s} {'bound rel':>10s} {'obs rel':>10s}")
for i, s in enumerate(res_a.systems):
    xs = res_a.nominal_state_norm[i, 0].max()
    b_ = res_a.bounds["iss_bound"][i, 0, 0]
    o_ = res_a.bounds["observed_sup"][i, 0, 0]
    print(f"{s:10s} {b_:11.3e} {o_:13.3e} {xs:10.3e} {b_ / xs:10.3e} {o_ / xs:10.3e}")
medians = [over_k(res_a, "rel_state_error", i)[1] for i in range(len(decays))]
assert all(np.diff(medians) > 0)  # the slower the decay, the larger the relative error

# %% [markdown]
# The worst-case ball grows by the full factor 40 between $a = 2$ and $a = 0.05$. The observed
# errors grow too, absolute and relative (the median relative error over $k$ about six times
# larger), but stay far inside the ball: jitter errors change sign from step to step and partly
# cancel, whereas the ball assumes they all push the same way. Long memory is where the
# sampling error piles up.

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Repeat the S4D-Lin experiment with jitter magnitudes $0.05, 0.1, 0.2, 0.4$.
# How do the absolute and relative state errors (median over $k$) scale with the magnitude?
# Explain with $w_k \approx u'(k\Delta)\,\delta_k$.

# %% [markdown]
# <details><summary>Solution</summary>
#
# Both double when the magnitude doubles: with one seed the offsets $\delta_k$ are the same
# draws scaled by the magnitude, $w$ is proportional to them to first order, the error system
# is linear in $w$, and the nominal state does not depend on the jitter, so the relative error
# scales the same way. (Magnitudes of 1/2 or more would need `sort=True`, since samples could
# swap.)
#
# ```python
# mags = [0.05, 0.1, 0.2, 0.4]
# sch = [sampling.jitter(L, dt, j, draws=draws, seed=seed_jitter) for j in mags]
# r = smr.divergence_experiment(model, signal, sch, dt)
# absolute = np.array([over_k(r, "state_error", 0, j)[1] for j in range(len(mags))])
# relative = np.array([over_k(r, "rel_state_error", 0, j)[1] for j in range(len(mags))])
# for j, a_, r_ in zip(mags, absolute, relative):
#     print(f"jitter {j}: median ||e_k|| = {a_:.3e}, median ||e_k|| / ||x_k|| = {r_:.3e}")
# print("ratios from one magnitude to the next:", absolute[1:] / absolute[:-1], relative[1:] / relative[:-1])
# assert np.allclose(absolute[1:] / absolute[:-1], 2, rtol=0.01)
# assert np.allclose(relative[1:] / relative[:-1], 2, rtol=0.01)
# ```
# </details>

# %% [markdown]
# **Exercise 2.** The ISS bound is a worst case. Show that it is attained: for a real mode
# $\lambda = -a$ (so $\mu$ is real and positive) feed the constant error $w_k = W$ through
# $e_k = \mu e_{k-1} + \bar B w_k$ and compare $e_k$ for large $k$ with `smr.iss_error_bound`.
# Why does this not work for a complex $\lambda$ with a real $w$?

# %% [markdown]
# <details><summary>Solution</summary>
#
# For real $\mu > 0$ every term $\mu^j \bar B W$ has the same sign, so the sum reaches
# $|\bar B| W / (1 - \mu) = G_\infty W$. For complex $\mu$ the terms rotate; a real input cannot
# keep all of them aligned, so the bound is approached but not attained.
#
# ```python
# a, W2 = 0.5, 1e-3
# mu, bb = smr.discretize(np.array([-a]), np.ones(1), dt, method="zoh")
# e_end = run_mode(mu[0], bb[0], np.full(20000, W2))[-1].real
# bound = smr.iss_error_bound(mu, bb, W2)
# print(e_end, bound, W2 / a)
# assert abs(e_end - bound) <= 1e-9 * bound  # attained (mu^20000 = e^(-100) is gone)
# mu_c, bb_c = smr.discretize(np.array([-a + 3j]), np.ones(1), dt, method="zoh")
# sup_c = np.abs(run_mode(mu_c[0], bb_c[0], np.full(20000, W2))).max()
# print(sup_c, smr.iss_error_bound(mu_c, bb_c, W2))
# assert sup_c < 0.5 * smr.iss_error_bound(mu_c, bb_c, W2)  # rotating terms cancel
# ```
# </details>

# %% [markdown]
# **Exercise 3.** Forward Euler has a step limit (notebook 1). Compute `smr.mode_gain` for
# $\lambda = -0.5 + 3i$ and forward Euler at steps approaching the limit
# $-2\operatorname{Re}\lambda / |\lambda|^2$. What happens to the gain, and what does `mode_gain`
# do beyond it?

# %% [markdown]
# <details><summary>Solution</summary>
#
# $1 - |\mu|$ shrinks to 0 at the limit, so the gain blows up; beyond the limit $|\mu| > 1$ and
# `mode_gain` raises `UnstableSystemError` (no finite gain exists, Proposition 1(b)).
#
# ```python
# lam1 = np.array([-0.5 + 3j])
# lim = smr.euler_dt_limit(lam1)
# gains = [smr.mode_gain(lam1, f * lim, method="euler")[0] for f in [0.5, 0.9, 0.99, 0.999]]
# print(gains)
# assert all(np.diff(gains) > 0) and gains[-1] > 100 * gains[0]
# try:
#     smr.mode_gain(lam1, 1.01 * lim, method="euler")
#     raise AssertionError("mode_gain accepted an unstable mode")
# except smr.errors.UnstableSystemError as err:
#     print("refused:", textwrap.fill(str(err), 100))
# ```
# </details>
