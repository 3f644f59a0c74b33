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
# # 1b. Build it and check it
#
# The library computes everything in these notebooks for you. Here you build its core pieces
# yourself, each in a few lines of numpy (one in torch), and check every piece against the
# library with `smr_stability.teaching`:
#
# 1. the zoh and bilinear rules, $(A, B, \Delta) \mapsto (\bar A, \bar B)$;
# 2. the convolution kernel $K_k = C \bar A^k \bar B$ and the causal convolution $y = K * u$;
# 3. the error system of Proposition 1 and its gain $G_\infty$;
# 4. the SMR gate, in numpy, then in torch with its gradient checked by
#    `torch.autograd.gradcheck`;
# 5. all of them together in a one-channel experiment, which must reproduce
#    `smr.divergence_experiment` to rounding.
#
# **How to work.** Every exercise has a code cell with a stub that raises
# `NotImplementedError`: replace its body with your code, run it, and run the check cell under
# it. A check prints `check_x: OK (max rel err ...)`, or raises `CheckFailed` with the name of
# the mistake it recognised. While a stub is untouched the check only says "not written yet",
# and section 5 uses the library's function in its place. A folded solution follows each
# exercise: try first.

# %%
# %matplotlib inline
# Default parameters of this notebook: change them here, then run all cells again.
SEED = 0  # seed of the checkers' random test cases
N_DEMO = 8  # state size of the S4D-Lin model of section 5
DT = 0.01  # its step: the nominal grid is t_k = k dt
L_DEMO = 1000  # length of the sequences of section 5
JITTER = 0.2  # jitter of section 5: offsets uniform in [-JITTER dt, JITTER dt]
GATE_M = [[4.0, -4.0, 0.0, 0.0]]  # SMR kernel m of section 5 (H = 1 channel, tau = 4): reacts to the slope
GATE_B = [1.0]  # SMR bias b of section 5

# %%
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg  # noqa: F401 - for your zoh of exercise 1 (scipy.linalg.expm)
import torch

import smr_stability as smr
from smr_stability import sampling, signals, teaching
from smr_stability.teaching import CheckFailed

teaching.notebook_style()
torch.set_num_threads(1)  # tiny tensors: one thread is fastest and does not crowd a shared machine

# %% [markdown]
# ## 0. What you need first
#
# The conventions are those of [docs/theory.md §0](../theory.md#0-conventions):
#
# - **The model.** $\dot x = A x + B u$, $y = \operatorname{Re}(C x) + D u$, run as the
#   recurrence $x_k = \bar A x_{k-1} + \bar B u_k$, $y_k = \operatorname{Re}(C x_k) + D u_k$,
#   from $x_{-1} = 0$. The input of step $k$ enters the state of step $k$ (control texts write
#   $x_{k+1} = \bar A x_k + \bar B u_k$, the same system one step later: mixing the two is the
#   classic one-step shift).
# - **The two rules** (notebook 1). *Zero-order hold* holds $u$ constant over the step and
#   integrates exactly: $\bar A = e^{\Delta A}$, $\bar B = A^{-1}(e^{\Delta A} - I)B$.
#   *Bilinear* is the trapezoid rule for the state:
#   $\bar A = (I - \tfrac{\Delta}{2}A)^{-1}(I + \tfrac{\Delta}{2}A)$,
#   $\bar B = (I - \tfrac{\Delta}{2}A)^{-1}\Delta B$.
# - **The spectral radius** $\rho(\bar A) = \max_i |\mu_i|$ over the eigenvalues of $\bar A$;
#   $\rho(\bar A) < 1$ means $\bar A^k \to 0$, a stable recurrence.
# - **Recurrence and convolution are the same computation.** Unrolling the recurrence gives
#   $x_k = \sum_{j=0}^{k} \bar A^j \bar B u_{k-j}$, hence
#   $y_k = \sum_{j=0}^{k} K_j u_{k-j} + D u_k$ with the kernel $K_j = C \bar A^j \bar B$. A
#   layer can run step by step (the recurrence, for generation) or on the whole sequence at
#   once (the convolution, for training); both give the same numbers.
# - **S4D-Lin** is diagonal with $\lambda_n = -\tfrac12 + i\pi n$, $B_n = 1$; **HiPPO-LegS**
#   (S4's matrix) is dense and lower triangular with eigenvalues $-1, \dots, -N$ (notebook 1).
#
# ## How the checker answers
#
# A check of a correct function prints one line. A wrong one raises `CheckFailed`; its
# `.mistake` is a short key and its message says what was recognised. Here the library's own
# zoh passes, and a bilinear rule that forgot the $\Delta$ in $\bar B$ is caught:


# %%
def library_zoh(A, B, dt):
    return smr.discretize(A, B, dt, method="zoh")


def bilinear_without_dt(A, B, dt):  # a typical slip: the factor dt of Bb is missing
    I = np.eye(len(A))
    return np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A), np.linalg.solve(I - dt / 2 * A, B)


def explain(err):
    """Print a CheckFailed message wrapped to 100 columns."""
    print(f"CheckFailed, mistake {err.mistake!r}:")
    for line in str(err).splitlines():
        print(textwrap.fill(line, 100, subsequent_indent="    "))


teaching.check_discretize(library_zoh, "zoh", seed=SEED)
try:
    teaching.check_discretize(bilinear_without_dt, "bilinear", seed=SEED)
except CheckFailed as err:
    explain(err)

# %% [markdown]
# ## 1. Discretization
#
# **Exercise 1.** Write `zoh(A, B, dt)` and `bilinear(A, B, dt)` for a dense $A$ of shape
# (N, N) and $B$ of shape (N, P); each returns the pair `(Ab, Bb)`. Use `scipy.linalg.expm`
# for the matrix exponential, and `np.linalg.solve(M, X)` for $M^{-1}X$ (it is more accurate
# than forming the inverse).


# %%
def zoh(A, B, dt):
    """Zero-order hold: Ab = expm(dt A), Bb = A^{-1} (Ab - I) B."""
    raise NotImplementedError  # your code here


def bilinear(A, B, dt):
    """Bilinear rule: Ab = (I - dt/2 A)^{-1} (I + dt/2 A), Bb = (I - dt/2 A)^{-1} dt B."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def zoh(A, B, dt):
#     """Zero-order hold: Ab = expm(dt A), Bb = A^{-1} (Ab - I) B."""
#     Ab = scipy.linalg.expm(dt * A)
#     return Ab, np.linalg.solve(A, (Ab - np.eye(len(A))) @ B)
#
#
# def bilinear(A, B, dt):
#     """Bilinear rule: Ab = (I - dt/2 A)^{-1} (I + dt/2 A), Bb = (I - dt/2 A)^{-1} dt B."""
#     I = np.eye(len(A))
#     M = I - dt / 2 * A
#     return np.linalg.solve(M, I + dt / 2 * A), np.linalg.solve(M, dt * B)
#
#
# # one mode dx/dt = -x + u: zoh gives mu = e^{-dt}, Bb = 1 - e^{-dt}; bilinear mu = (1 - dt/2)/(1 + dt/2)
# Ab1, Bb1 = zoh(np.array([[-1.0]]), np.array([[1.0]]), 0.1)
# Ab2, Bb2 = bilinear(np.array([[-1.0]]), np.array([[1.0]]), 0.1)
# assert np.isclose(Ab1[0, 0], np.exp(-0.1)) and np.isclose(Bb1[0, 0], 1 - np.exp(-0.1))
# assert np.isclose(Ab2[0, 0], 0.95 / 1.05) and np.isclose(Bb2[0, 0], 0.1 / 1.05)
# ```
# </details>

# %%
ok = {}  # the functions that passed their check (section 5 uses them)
ok["zoh"] = teaching.check_discretize(zoh, "zoh", seed=SEED)
ok["bilinear"] = teaching.check_discretize(bilinear, "bilinear", seed=SEED)

# %% [markdown]
# ## 2. The kernel and the causal convolution
#
# **Exercise 2.** Write `kernel(Ab, Bb, C, L)` returning $K_k = C \bar A^k \bar B$ for
# $k = 0, \dots, L-1$ as an array of shape (L, Q, P), for $\bar A$ (N, N), $\bar B$ (N, P) and
# $C$ (Q, N). Keep a running product $X \leftarrow \bar A X$ starting from $X = \bar B$ rather
# than computing each power: $L$ matrix products instead of about $L^2/2$.


# %%
def kernel(Ab, Bb, C, L):
    """K_k = C Ab^k Bb for k = 0, ..., L-1, shape (L, Q, P)."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def kernel(Ab, Bb, C, L):
#     """K_k = C Ab^k Bb for k = 0, ..., L-1, shape (L, Q, P)."""
#     K, X = [], Bb
#     for _ in range(L):
#         K.append(C @ X)  # C Ab^k Bb
#         X = Ab @ X
#     return np.array(K)
#
#
# # one mode: the kernel is the geometric sequence c mu^k b
# K1 = kernel(np.array([[0.5]]), np.array([[2.0]]), np.array([[3.0]]), 6)
# assert np.allclose(K1[:, 0, 0], 3.0 * 0.5 ** np.arange(6) * 2.0)
# ```
# </details>

# %%
ok["kernel"] = teaching.check_kernel(kernel, seed=SEED)

# %% [markdown]
# **Exercise 3.** Write `causal_conv(K, u)` returning $y_k = \sum_{j=0}^{k} K_j u_{k-j}$ for a
# real kernel $K$ of shape (L, Q, P) and a real input $u$ of shape (L, P); $y$ has shape (L, Q).
# Only $u_0, \dots, u_k$ may reach $y_k$. One loop over the lag $j$ is enough: lag $j$ adds
# $K_j u_{k-j}$ to every output $k \ge j$ at once. Then check the duality of section 0: your
# convolution of your kernel must equal the output of the recurrence.


# %%
def causal_conv(K, u):
    """y_k = sum_{j=0..k} K_j u_{k-j}, shape (L, Q)."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def causal_conv(K, u):
#     """y_k = sum_{j=0..k} K_j u_{k-j}, shape (L, Q)."""
#     L = len(u)
#     y = np.zeros((L, K.shape[1]), dtype=np.result_type(K, u))
#     for j in range(L):
#         y[j:] += u[: L - j] @ K[j].T  # the term K_j u_{k-j} of every output k >= j
#     return y
#
#
# # the duality: the recurrence x_k = Ab x_{k-1} + Bb u_k, y_k = C x_k gives the same output
# Ab_t = np.array([[0.9, 0.2], [0.0, 0.7]])
# Bb_t, C_t = np.array([[1.0], [0.5]]), np.array([[1.0, -1.0]])
# u_t = np.random.default_rng(0).standard_normal((30, 1))
# x_t, y_rec = np.zeros(2), []
# for u_k in u_t:
#     x_t = Ab_t @ x_t + Bb_t @ u_k
#     y_rec.append(C_t @ x_t)
# y_conv = causal_conv(kernel(Ab_t, Bb_t, C_t, 30), u_t)
# print("max |convolution - recurrence| =", np.abs(y_conv - np.array(y_rec)).max())
# assert np.allclose(y_conv, y_rec, rtol=0, atol=1e-13)
# ```
# </details>

# %%
ok["causal_conv"] = teaching.check_causal_conv(causal_conv, seed=SEED)

# %% [markdown]
# ## 3. The error system and $G_\infty$ (Proposition 1)
#
# Run the same fixed-step model on the grid samples $u(t_k)$ and on perturbed ones
# $u(\tilde t_k)$. By linearity the difference of the states, $e_k = \tilde x_k - x_k$, obeys
# the model's own recurrence driven by the sampling error $w_k = u(\tilde t_k) - u(t_k)$:
#
# $$e_k = \bar A e_{k-1} + \bar B w_k, \qquad e_{-1} = 0, \qquad\text{so}\qquad
# e_k = \sum_{i=0}^{k} \bar A^{k-i} \bar B w_i .$$
#
# If $\rho(\bar A) < 1$, every $\|e_k\|$ stays below $G_\infty \sup_i \|w_i\|$ with
# $G_\infty = \sum_{j \ge 0} \|\bar A^j \bar B\|_2$, the spectral norm of each $N \times P$
# matrix ([Proposition 1(a), docs/theory.md §3](../theory.md#3-proposition-1-how-sampling-errors-travel)).
#
# **Exercise 4.** Write `error_system(Ab, Bb, w)` returning the states $e_0, \dots, e_{L-1}$
# as an array (L, N), for $\bar A$ (N, N), $\bar B$ (N, P) and a real $w$ (L, P).
#
# **Exercise 5.** Write `error_gain(Ab, Bb)` returning $G_\infty$ as a float, for a stable
# $\bar A$. Add terms until one no longer changes the sum (below $10^{-16}$ of it). Mind the
# norm: `np.linalg.norm(X)` of a matrix is the Frobenius norm, `np.linalg.norm(X, 2)` the
# spectral norm.


# %%
def error_system(Ab, Bb, w):
    """e_k = Ab e_{k-1} + Bb w_k from e_{-1} = 0; returns e_0 .. e_{L-1}, shape (L, N)."""
    raise NotImplementedError  # your code here


def error_gain(Ab, Bb):
    """G_inf = sum_{j >= 0} ||Ab^j Bb||_2 of a stable Ab."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def error_system(Ab, Bb, w):
#     """e_k = Ab e_{k-1} + Bb w_k from e_{-1} = 0; returns e_0 .. e_{L-1}, shape (L, N)."""
#     e = np.zeros(len(Ab), dtype=np.result_type(Ab, Bb, w))
#     out = np.empty((len(w), len(Ab)), dtype=e.dtype)
#     for k, w_k in enumerate(w):
#         e = Ab @ e + Bb @ w_k  # w_k enters e_k at once
#         out[k] = e
#     return out
#
#
# def error_gain(Ab, Bb):
#     """G_inf = sum_{j >= 0} ||Ab^j Bb||_2 of a stable Ab."""
#     G, X = 0.0, Bb
#     while True:
#         term = np.linalg.norm(X, 2)
#         G += term
#         if term <= 1e-16 * G:
#             return G
#         X = Ab @ X
#
#
# # one mode mu with a constant error W: e_k = b W (1 - mu^(k+1)) / (1 - mu), and G_inf = |b| / (1 - |mu|)
# mu, b, W = 0.9, 0.5, 0.01
# e1 = error_system(np.array([[mu]]), np.array([[b]]), np.full((50, 1), W))[:, 0]
# assert np.allclose(e1, b * W * (1 - mu ** np.arange(1, 51)) / (1 - mu))
# assert np.isclose(error_gain(np.array([[mu]]), np.array([[b]])), b / (1 - mu))
# # the ball of Proposition 1(a) holds for any bounded w, here on a 2-state system
# w2 = np.random.default_rng(1).uniform(-1, 1, (500, 1))
# Ab_2, Bb_2 = np.array([[0.5, 1.0], [-0.3, 0.8]]), np.array([[1.0], [0.0]])
# sup_e = np.linalg.norm(error_system(Ab_2, Bb_2, w2), axis=1).max()
# print(f"sup ||e_k|| = {sup_e:.3f} <= G_inf sup|w| = {error_gain(Ab_2, Bb_2) * np.abs(w2).max():.3f}")
# assert sup_e <= error_gain(Ab_2, Bb_2) * np.abs(w2).max()
# ```
# </details>

# %%
ok["error_system"] = teaching.check_error_system(error_system, seed=SEED)
ok["error_gain"] = teaching.check_error_gain(error_gain, seed=SEED)

# %% [markdown]
# ## 4. The SMR gate, in numpy and in torch
#
# SMR ([docs/theory.md §5](../theory.md#5-state-memory-replay)) multiplies each input channel
# $h$ by a gate computed from its own last $\tau$ samples, with a kernel $m_h \in \mathbb{R}^\tau$
# and a bias $b_h$:
#
# $$g_{k,h} = \operatorname{sigmoid}\Big(\sum_{j=0}^{\tau-1} m_{h,j}\, u_{k-j,h} + b_h\Big),
# \qquad \tilde u_{k,h} = g_{k,h}\, u_{k,h},$$
#
# with $u_{k-j} = 0$ before the first sample. The gate is causal: $g_k$ sees
# $u_k, \dots, u_{k-\tau+1}$ and nothing later.
#
# **Exercise 6.** Write `gate_numpy(u, m, b)` returning $\tilde u$ for $u$ (L, H), $m$ (H, tau)
# and $b$ (H,). As in exercise 3, loop over the lag $j$.


# %%
def gate_numpy(u, m, b):
    """SMR: g_k = sigmoid(sum_j m[:, j] u_{k-j} + b) (zeros before the start); returns g * u."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def gate_numpy(u, m, b):
#     """SMR: g_k = sigmoid(sum_j m[:, j] u_{k-j} + b) (zeros before the start); returns g * u."""
#     L, H = u.shape
#     z = np.zeros((L, H)) + b  # the bias, on every step
#     for j in range(min(m.shape[1], L)):
#         z[j:] += m[:, j] * u[: L - j]  # lag j: u_{k-j}, nothing for k < j
#     return u / (1.0 + np.exp(-z))  # sigmoid(z) * u
#
#
# u_t = np.random.default_rng(2).standard_normal((40, 2))
# m_t, b_t = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]]), np.array([0.5, -1.0])
# moved = u_t.copy()
# moved[20] += 1.0
# assert np.array_equal(gate_numpy(moved, m_t, b_t)[:20], gate_numpy(u_t, m_t, b_t)[:20])  # causal
# assert np.allclose(gate_numpy(u_t, np.zeros((2, 3)), b_t), u_t / (1 + np.exp(-b_t)))  # m = 0: a constant scale
# ```
# </details>

# %%
ok["gate_numpy"] = teaching.check_smr_gate(gate_numpy, seed=SEED)

# %% [markdown]
# In a network, $m$ and $b$ are learned: the gate must be written with torch operations so
# that autograd can differentiate through it. `torch.autograd.gradcheck(f, inputs)` checks that
# gradient: it moves each entry of each input by a small $\pm\varepsilon$, measures the change
# of the output by central differences, and compares it with the Jacobian autograd computes.
# It needs float64 inputs with `requires_grad=True` (in float32 the differences drown in
# rounding).
#
# **Exercise 7.** Write `gate_torch(u, m, b)`, the same gate on torch tensors, using only torch
# operations (slicing, `torch.cat`, `torch.sigmoid`, `+`, `*`). One way to handle the start:
# pad $u$ with $\tau - 1$ zero rows in front. Then run `gradcheck` on it yourself.


# %%
def gate_torch(u, m, b):
    """The SMR gate of exercise 6 on torch tensors u (L, H), m (H, tau), b (H,)."""
    raise NotImplementedError  # your code here


# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def gate_torch(u, m, b):
#     """The SMR gate of exercise 6 on torch tensors u (L, H), m (H, tau), b (H,)."""
#     L, H = u.shape
#     tau = m.shape[1]
#     padded = torch.cat([u.new_zeros(tau - 1, H), u])  # u_{k-j} = 0 before the first sample
#     z = b + sum(m[:, j] * padded[tau - 1 - j : tau - 1 - j + L] for j in range(tau))
#     return torch.sigmoid(z) * u
#
#
# rng_t = np.random.default_rng(3)
# args = tuple(torch.tensor(a, requires_grad=True) for a in (rng_t.standard_normal((10, 2)),
#                                                            rng_t.standard_normal((2, 3)), rng_t.standard_normal(2)))
# assert torch.autograd.gradcheck(gate_torch, args)  # autograd's Jacobian = central differences
# values = gate_torch(*args).detach().numpy()
# assert np.allclose(values, smr.smr_gate(*(a.detach().numpy() for a in args)), rtol=0, atol=1e-14)
# ```
# </details>

# %%
ok["gate_torch"] = teaching.check_smr_gate_torch(gate_torch, seed=SEED)

# %% [markdown]
# ## 5. All together: one gated channel under jitter
#
# Now the pieces make an experiment. An S4D-Lin model ($N$ = `N_DEMO`, as a dense matrix) reads
# a sum of sines through the SMR gate `GATE_M`, `GATE_B`, once on the grid and once on jittered
# sampling times. With your functions:
#
# 1. discretize with zoh;
# 2. gate both input sequences; their difference is the sampling error $w_k$ the SSM sees;
# 3. run the error system for $e_k$, and the same recurrence on the gated grid input for the
#    nominal state $x_k$;
# 4. get the output error $\operatorname{Re}(C e_k)$ by convolving $w$ with the (real part of
#    the) kernel: the duality again;
# 5. compute Proposition 1's ball $G_\infty \sup_k |w_k|$.
#
# `smr.divergence_experiment(..., smr=(m, b))` computes the same quantities its own way
# (diagonal formulas, a compiled scan). They must agree to rounding. Where a check above has not
# passed, the library's function stands in for yours.

# %%
library = {
    "zoh": library_zoh,
    "kernel": smr.ssm_kernel,
    "causal_conv": smr.causal_conv,
    "error_system": lambda Ab, Bb, w: smr.simulate_reference(Ab, Bb, np.eye(len(Ab)), None, w)[1],
    "error_gain": smr.error_gain,
    "gate_numpy": smr.smr_gate,
}
yours = {
    "zoh": zoh,
    "kernel": kernel,
    "causal_conv": causal_conv,
    "error_system": error_system,
    "error_gain": error_gain,
    "gate_numpy": gate_numpy,
}
use = {name: yours[name] if ok.get(name) else library[name] for name in library}
print("yours:  ", ", ".join(n for n in use if ok.get(n)) or "none yet")
print("library:", ", ".join(n for n in use if not ok.get(n)) or "none")

model = smr.s4d_lin(N_DEMO)
A, B, C = np.diag(model.A), model.B, model.C  # dense (N, N), (N, 1), (1, N)
m, b = np.array(GATE_M), np.array(GATE_B)
signal = signals.SumOfSines(B=1, P=1, seed=SEED)
schedule = sampling.jitter(L_DEMO, DT, JITTER, draws=1, seed=SEED + 1)
t = DT * np.arange(L_DEMO)

Ab, Bb = use["zoh"](A, B, DT)
u_grid = use["gate_numpy"](signal(t)[0], m, b)  # (L, 1): the grid samples, gated
u_jit = use["gate_numpy"](signal(schedule.times)[0, 0], m, b)  # (L, 1): the jittered samples, gated
w = u_jit - u_grid  # the sampling error after the gate
e = use["error_system"](Ab, Bb, w)  # (L, N)
x = use["error_system"](Ab, Bb, u_grid)  # the nominal state: the same recurrence
y_err = use["causal_conv"](use["kernel"](Ab, Bb, C, L_DEMO).real, w)  # Re(C e_k), by the convolution
ball = use["error_gain"](Ab, Bb) * np.abs(w).max()

lib = smr.divergence_experiment(model, signal, schedule, DT, smr=(m, b))
e_norm = np.linalg.norm(e, axis=1)
pairs = {
    "||e_k||": (e_norm, lib.metrics["state_error"][0, 0, 0]),
    "||e_k|| / ||x_k||": (e_norm / np.linalg.norm(x, axis=1), lib.metrics["rel_state_error"][0, 0, 0]),
    "|Re(C e_k)|": (np.abs(y_err[:, 0]), lib.metrics["output_error"][0, 0, 0]),
    "G_inf sup|w_k|": (ball, lib.bounds["iss_bound"][0, 0, 0]),
}
for name, (mine, theirs) in pairs.items():
    diff = np.max(np.abs(mine - theirs)) / np.max(np.abs(theirs))
    print(f"{name:18s} max rel difference from divergence_experiment: {diff:.1e}")
    assert diff < 1e-8, name

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
axes[0].plot(t, e_norm, lw=1.2, label="||e_k||, your functions")
axes[0].plot(t[::50], lib.metrics["state_error"][0, 0, 0, ::50], "o", ms=4, mfc="none", label="divergence_experiment")
axes[0].axhline(ball, color="k", ls="--", lw=1, label="ball G_inf sup|w|")
axes[0].set_yscale("log")
axes[0].set_xlabel("t = k dt")
axes[0].set_ylabel("state error")
axes[0].legend(loc="lower right")
axes[1].plot(t, pairs["||e_k|| / ||x_k||"][0], lw=1.2, color="tab:purple")
axes[1].set_yscale("log")
axes[1].set_xlabel("t = k dt")
axes[1].set_ylabel("||e_k|| / ||x_k||")
teaching.show(
    fig,
    f"One gated S4D-Lin channel (N = {N_DEMO}) under jitter of {JITTER} dt, built from the functions of "
    "this notebook. Left: the state error, with divergence_experiment's values as circles every 50 steps "
    "and Proposition 1's ball as a dashed line. Right: the error relative to the nominal state.",
    alt=f"Left panel, log scale: the state error rises over the first steps and then stays between "
    f"{e_norm[L_DEMO // 10 :].min():.1e} and {e_norm.max():.1e}, at least {ball / e_norm.max():.0f} times below the "
    f"dashed ball at {ball:.1e}; the circles of divergence_experiment lie on the curve. Right panel, log scale: "
    f"the relative error stays between {pairs['||e_k|| / ||x_k||'][0][L_DEMO // 10 :].min():.0e} and "
    f"{pairs['||e_k|| / ||x_k||'][0].max():.0e} after the first steps.",
)

# %% [markdown]
# The two computations agree to rounding, and the error sits far inside the ball: the ball
# assumes every $w_i$ is as large as the largest and pushes the state the same way, while
# jitter errors change sign from step to step. Notebook 2 studies that gap, and what long
# memory does to it.
#
# Where each piece lives in the library: `smr.discretize` (section 1), `smr.ssm_kernel` and
# `smr.causal_conv` (section 2), `smr.simulate` and `smr.error_gain` (section 3),
# `smr.smr_gate` and, for training, the torch layer `smr_stability.nn.SMR` (section 4).
