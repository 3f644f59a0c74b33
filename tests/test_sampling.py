"""Sampling schedules: invariants, distributions, reproducibility, replacement and bad input.

References: the grid ``k dt`` written out here, scipy.stats distributions (KS tests and
moments with tolerances several standard errors wide, fixed seeds), binomial frequencies for
drops, and hand-computed gaps.
"""

import numpy as np
import pytest
import scipy.stats

from smr_stability import errors
from smr_stability import sampling as S
from smr_stability.signals import ArraySignal

DT = 0.1


def grid(L, dt=DT):
    return dt * np.arange(L)


def const_signal(B=2, P=3):
    """u_{b,p}(t) = t + 10 b + 100 p: every entry distinct and never zero for t >= 0."""

    def u(t):
        t = np.asarray(t, float)
        b = np.arange(B).reshape((B,) + (1,) * t.ndim + (1,))
        p = np.arange(P)
        return t[None, ..., None] + 10.0 * b + 100.0 * p + 1.0

    return u


# ---------------------------------------------------------------------------------- invariants


def test_uniform_is_the_grid():
    s = S.uniform(7, DT, draws=3)
    assert s.times.shape == (3, 7) and (s.M, s.L) == (3, 7)
    assert np.array_equal(s.times, np.tile(grid(7), (3, 1)))
    assert np.allclose(s.gaps, DT, rtol=0, atol=1e-15)
    assert s.is_uniform and s.fill is None and s.replaced is None
    assert s.times.dtype == np.float64 and not s.times.flags.writeable


def test_gaps_definition():
    s = S.timestamps([0.0, 0.3, 0.35, 1.0], dt=0.1)
    assert s.times.shape == (1, 4)
    assert np.allclose(s.gaps, [[0.1, 0.3, 0.05, 0.65]], rtol=0, atol=1e-15)
    assert not s.is_uniform
    s2 = S.timestamps([[0.0, 0.5], [1.0, 2.0]], dt=0.5)
    assert np.allclose(s2.gaps, [[0.5, 0.5], [0.5, 1.0]])


def test_is_uniform_tolerance():
    t = grid(5)
    assert S.timestamps(t * (1 + 1e-14), DT).is_uniform
    assert not S.timestamps(t * (1 + 1e-9), DT).is_uniform


@pytest.mark.parametrize("magnitude", [0.0, 0.2, 0.49])
def test_uniform_jitter_bounded_and_sorted(magnitude):
    s = S.jitter(50, DT, magnitude, draws=40, seed=1)
    off = s.times - grid(50)
    assert s.times.shape == (40, 50)
    assert np.all(np.abs(off) <= magnitude * DT * (1 + 1e-12))
    assert np.all(np.diff(s.times, axis=-1) > 0)
    assert s.name == f"jitter({magnitude:g}, uniform)"
    if magnitude > 0:
        assert np.max(np.abs(off)) > 0.9 * magnitude * DT  # the bound is reached, not a smaller one


def test_rate_change_grid():
    s = S.rate_change(6, DT, 1.5, draws=2)
    assert np.allclose(s.times, 1.5 * grid(6), rtol=1e-15, atol=0)
    assert s.dt == DT and np.allclose(s.gaps[:, 1:], 1.5 * DT) and not s.is_uniform
    assert S.rate_change(6, DT, 1.0).is_uniform


@pytest.mark.parametrize("mode", ["remove", "zeros", "noise"])
def test_drops_exact_counts_and_subset_of_grid(mode):
    L, f = 30, 0.3
    n = round(f * L)
    s = S.drops(L, DT, f, mode=mode, draws=25, seed=2)
    if mode == "remove":
        assert s.times.shape == (25, L - n) and s.replaced is None and s.fill is None
        k = s.times / DT
        assert np.allclose(k, np.round(k), rtol=0, atol=1e-9)  # grid times
        assert np.all((np.round(k) >= 0) & (np.round(k) < L))
        assert np.all(np.diff(s.times, axis=-1) > 0)
        for row in s.times:  # exact grid values, not approximations
            assert np.all(np.isin(row, grid(L)))
    else:
        assert s.times.shape == (25, L) and np.array_equal(s.times, np.tile(grid(L), (25, 1)))
        assert s.fill == mode and s.replaced.shape == (25, L)
        assert np.all(s.replaced.sum(axis=1) == n)
        assert isinstance(s.seed, int)


def test_drops_zero_fraction_drops_nothing():
    assert S.drops(10, DT, 0.0).L == 10
    assert not S.drops(10, DT, 0.0, mode="zeros").replaced.any()


# -------------------------------------------------------------------------------- distributions


def test_uniform_jitter_offsets_distribution():
    j, L, M = 0.3, 200, 100
    off = (S.jitter(L, DT, j, draws=M, seed=3).times - grid(L)).ravel()
    n, var = off.size, (j * DT) ** 2 / 3
    assert abs(off.mean()) < 4 * np.sqrt(var / n)
    assert abs(off.var() / var - 1) < 0.03  # std error of the variance ratio ~ 0.0063
    assert scipy.stats.kstest(off, "uniform", args=(-j * DT, 2 * j * DT)).pvalue > 1e-3
    # offsets independent across positions: lag-1 correlation ~ 0
    o = off.reshape(M, L)
    r = np.corrcoef(o[:, :-1].ravel(), o[:, 1:].ravel())[0, 1]
    assert abs(r) < 4 / np.sqrt(n)


def test_normal_jitter_std_and_ks():
    j, L, M = 0.05, 200, 100  # small j: adjacent swaps are 14-sigma events, the order is the index order
    s = S.jitter(L, DT, j, draws=M, dist="normal", seed=4)
    assert s.name == "jitter(0.05, normal, sorted)"
    off = (s.times - grid(L)).ravel()
    assert abs(off.std() / (j * DT) - 1) < 0.02
    assert abs(off.mean()) < 4 * j * DT / np.sqrt(off.size)
    assert scipy.stats.kstest(off, "norm", args=(0.0, j * DT)).pvalue > 1e-3


def test_normal_jitter_large_is_sorted_and_keeps_the_multiset_statistics():
    j, L, M = 2.0, 100, 200
    s = S.jitter(L, DT, j, draws=M, dist="normal", seed=5)
    assert np.all(np.diff(s.times, axis=-1) > 0)
    # sorting permutes within a draw: the sum over k of t_k - k dt is a sum of L i.i.d. N(0, (j dt)^2)
    sums = (s.times - grid(L)).sum(axis=1)
    assert abs(sums.std() / (j * DT * np.sqrt(L)) - 1) < 0.2
    assert abs(sums.mean()) < 4 * j * DT * np.sqrt(L / M)


def test_uniform_jitter_sorted_beyond_half():
    s = S.jitter(40, DT, 0.8, draws=30, sort=True, seed=6)
    assert np.all(np.diff(s.times, axis=-1) > 0)
    assert "sorted" in s.name
    # sorting keeps every order statistic within j dt of its grid point: the k-th smallest is at
    # most max(x_0..x_k) <= k dt + j dt and at least min(x_k..x_{L-1}) >= k dt - j dt
    off = s.times - grid(40)
    assert np.all(np.abs(off) <= 0.8 * DT * (1 + 1e-12))
    assert np.max(np.abs(off)) > 0.7 * DT


def test_irregular_gaps_exponential():
    L, M = 100, 100
    s = S.irregular(L, DT, draws=M, seed=7)
    assert s.times.shape == (M, L) and np.all(np.diff(s.times, axis=-1) > 0)
    g = np.concatenate([(s.times[:, 0] + DT), np.diff(s.times, axis=-1).ravel()])
    assert abs(g.mean() / DT - 1) < 4 / np.sqrt(g.size)  # exponential: std = mean
    assert abs(g.std() / DT - 1) < 0.05
    assert scipy.stats.kstest(g, "expon", args=(0.0, DT)).pvalue > 1e-3
    # E[t_k] = k dt; Var[t_k] = (k + 1) dt^2
    k = np.array([0, 10, 50, 99])
    se = DT * np.sqrt((k + 1) / M)
    assert np.all(np.abs(s.times[:, k].mean(axis=0) - k * DT) < 4 * se)
    assert np.allclose(s.gaps[:, 0], DT)


@pytest.mark.parametrize("cv", [0.3, 0.6, 1.5])
def test_irregular_gamma_gaps_have_the_stated_spread(cv):
    s = S.irregular(200, DT, draws=50, seed=8, cv=cv)
    g = np.concatenate([(s.times[:, 0] + DT), np.diff(s.times, axis=-1).ravel()])
    assert abs(g.mean() / DT - 1) < 4 * cv / np.sqrt(g.size)
    assert abs(g.std() / (cv * DT) - 1) < 0.05
    assert scipy.stats.kstest(g, "gamma", args=(1 / cv**2, 0.0, cv**2 * DT)).pvalue > 1e-3
    assert s.name == f"irregular(gamma, cv={cv:g})"


def test_irregular_cv_zero_is_the_grid_and_negative_is_refused():
    assert np.array_equal(S.irregular(7, DT, draws=2, cv=0).times, S.uniform(7, DT, draws=2).times)
    with pytest.raises(errors.ParameterError, match="cv"):
        S.irregular(7, DT, cv=-0.1)


def test_drops_uniform_over_indices():
    L, f, M = 20, 0.25, 4000
    s = S.drops(L, DT, f, mode="zeros", draws=M, seed=8)
    freq = s.replaced.mean(axis=0)
    sd = np.sqrt(f * (1 - f) / M)
    assert np.max(np.abs(freq - f)) < 4.5 * sd
    chi2 = scipy.stats.chisquare(s.replaced.sum(axis=0))
    assert chi2.pvalue > 1e-3
    # removal sees the same statistics
    kept = np.round(S.drops(L, DT, f, draws=M, seed=8).times / DT).astype(int)
    counts = np.bincount(kept.ravel(), minlength=L) / M
    assert np.max(np.abs(counts - (1 - f))) < 4.5 * sd


# ------------------------------------------------------------------------------ reproducibility


CONSTRUCTORS = {
    "jitter-uniform": lambda seed: S.jitter(20, DT, 0.3, draws=3, seed=seed),
    "jitter-normal": lambda seed: S.jitter(20, DT, 0.3, draws=3, dist="normal", seed=seed),
    "irregular": lambda seed: S.irregular(20, DT, draws=3, seed=seed),
    "drops-remove": lambda seed: S.drops(20, DT, 0.3, draws=3, seed=seed),
    "drops-zeros": lambda seed: S.drops(20, DT, 0.3, mode="zeros", draws=3, seed=seed),
}


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_seeded_reproducibility(name):
    make = CONSTRUCTORS[name]
    a, b, c = make(11), make(11), make(12)
    assert np.array_equal(a.times, b.times)
    if a.replaced is not None:
        assert np.array_equal(a.replaced, b.replaced) and a.seed == b.seed
        assert not np.array_equal(a.replaced, c.replaced)
    else:
        assert not np.array_equal(a.times, c.times)
    g1, g2 = make(np.random.default_rng(5)), make(np.random.default_rng(5))
    assert np.array_equal(g1.times, g2.times)


# ------------------------------------------------------------------------------------- sample()


def test_sample_without_replacement_is_the_signal():
    s = S.jitter(9, DT, 0.2, draws=4, seed=0)
    u = const_signal()
    x = s.sample(u)
    assert x.shape == (2, 4, 9, 3)
    assert np.array_equal(x, u(s.times))


def test_sample_zeros_only_at_replaced():
    s = S.drops(15, DT, 0.4, mode="zeros", draws=6, seed=1)
    u = const_signal()
    x, ref = s.sample(u), u(s.times)
    rep = np.broadcast_to(s.replaced[None, :, :, None], x.shape)
    assert np.all(x[rep] == 0.0)
    assert np.array_equal(x[~rep], ref[~rep])
    assert np.count_nonzero(x == 0.0) == 2 * 3 * 6 * 6  # B * P * M * round(0.4 * 15)


def test_sample_noise_only_at_replaced_with_its_std():
    sigma = 0.7
    s = S.drops(100, DT, 0.3, mode="noise", draws=50, seed=2, noise_std=sigma)
    u = const_signal()
    x, ref = s.sample(u), u(s.times)
    rep = np.broadcast_to(s.replaced[None, :, :, None], x.shape)
    assert np.array_equal(x[~rep], ref[~rep])
    noise = x[rep]
    assert noise.size == 2 * 3 * 50 * 30
    assert abs(noise.std() / sigma - 1) < 0.03
    assert abs(noise.mean()) < 4 * sigma / np.sqrt(noise.size)
    assert scipy.stats.kstest(noise, "norm", args=(0.0, sigma)).pvalue > 1e-3
    assert np.array_equal(s.sample(u), x)  # the stored seed makes sample() reproducible
    other = S.drops(100, DT, 0.3, mode="noise", draws=50, seed=3, noise_std=sigma).sample(u)
    assert not np.array_equal(other, x)


@pytest.mark.parametrize("mode", ["zeros", "noise"])
def test_sample_of_a_slice_of_draws_equals_the_slice_of_the_whole(mode):
    s = S.drops(20, DT, 0.3, mode=mode, draws=7, seed=4, noise_std=0.5)
    u = const_signal()
    whole = s.sample(u)
    pieces = [s.sample(u, draws=slice(lo, lo + 3)) for lo in range(0, 7, 3)]
    assert [p.shape[1] for p in pieces] == [3, 3, 1]
    assert np.array_equal(np.concatenate(pieces, axis=1), whole)
    with pytest.raises(errors.InputTypeError, match="slice with step 1"):
        s.sample(u, draws=slice(0, 7, 2))
    with pytest.raises(errors.InputTypeError, match="slice with step 1"):
        s.sample(u, draws=[0, 1])


def test_sample_checks_the_signal_shape():
    s = S.uniform(5, DT, draws=2)
    with pytest.raises(errors.ShapeError, match="expected shape"):
        s.sample(lambda t: np.zeros(t.shape))
    with pytest.raises(errors.InputTypeError, match="callable"):
        s.sample(np.zeros(3))


# ------------------------------------------------------------------------------------ bad input


BAD = [
    ("unsorted timestamps", lambda: S.timestamps([0.0, 0.2, 0.1], DT), errors.StepSizeError, r"index \(0, 2\)"),
    ("duplicated timestamps", lambda: S.timestamps([0.0, 0.1, 0.1, 0.3], DT), errors.StepSizeError, "duplicated"),
    ("2-D unsorted row", lambda: S.timestamps([[0, 1, 2], [0, 2, 1.5]], DT), errors.StepSizeError, r"index \(1, 2\)"),
    ("NaN timestamp", lambda: S.timestamps([0.0, np.nan], DT), errors.NonFiniteError, "found"),
    ("inf timestamp", lambda: S.timestamps([0.0, np.inf], DT), errors.NonFiniteError, "found"),
    ("3-D timestamps", lambda: S.timestamps(np.zeros((1, 2, 3)), DT), errors.ShapeError, "found"),
    ("empty timestamps", lambda: S.timestamps(np.zeros(0), DT), errors.ShapeError, "found"),
    ("dt zero", lambda: S.uniform(5, 0.0), errors.StepSizeError, "found"),
    ("dt negative", lambda: S.jitter(5, -0.1, 0.1), errors.StepSizeError, "found"),
    ("dt NaN", lambda: S.irregular(5, np.nan), errors.StepSizeError, "finite"),
    ("dt array", lambda: S.uniform(5, [0.1, 0.2]), errors.ShapeError, "found"),
    ("L zero", lambda: S.uniform(0, DT), errors.ParameterError, "expected"),
    ("L float", lambda: S.uniform(2.5, DT), errors.InputTypeError, "expected"),
    ("draws zero", lambda: S.irregular(5, DT, draws=0), errors.ParameterError, "expected"),
    ("jitter 0.5 unsorted", lambda: S.jitter(5, DT, 0.5), errors.ParameterError, "sort=True"),
    ("jitter 0.7 sort=False", lambda: S.jitter(5, DT, 0.7, sort=False), errors.ParameterError, "expected"),
    ("normal sort=False", lambda: S.jitter(5, DT, 0.1, dist="normal", sort=False), errors.ParameterError, "found"),
    ("jitter negative", lambda: S.jitter(5, DT, -0.1), errors.ParameterError, "expected"),
    ("jitter NaN", lambda: S.jitter(5, DT, np.nan), errors.ParameterError, "finite"),
    ("jitter dist", lambda: S.jitter(5, DT, 0.1, dist="laplace"), errors.MethodError, "'uniform', 'normal'"),
    ("scale zero", lambda: S.rate_change(5, DT, 0.0), errors.ParameterError, "expected"),
    ("scale inf", lambda: S.rate_change(5, DT, np.inf), errors.ParameterError, "finite"),
    ("fraction negative", lambda: S.drops(5, DT, -0.1), errors.ParameterError, r"\[0, 1\)"),
    ("fraction one", lambda: S.drops(5, DT, 1.0), errors.ParameterError, r"\[0, 1\)"),
    ("fraction NaN", lambda: S.drops(5, DT, np.nan), errors.ParameterError, "finite"),
    ("fraction drops all", lambda: S.drops(10, DT, 0.97), errors.ParameterError, "fewer than"),
    ("drop mode", lambda: S.drops(5, DT, 0.2, mode="mean"), errors.MethodError, "'remove', 'zeros', 'noise'"),
    ("noise_std negative", lambda: S.drops(5, DT, 0.2, mode="noise", noise_std=-1.0), errors.ParameterError, "found"),
    (
        "fill unknown",
        lambda: S.Schedule([[0.0, 1.0]], 1.0, replaced=np.zeros((1, 2), bool), fill="mean"),
        errors.MethodError,
        "expected",
    ),
    ("fill without replaced", lambda: S.Schedule([[0.0, 1.0]], 1.0, fill="zeros"), errors.ParameterError, "found"),
    (
        "replaced shape",
        lambda: S.Schedule([[0.0, 1.0]], 1.0, replaced=np.zeros((1, 3), bool), fill="zeros"),
        errors.ShapeError,
        r"\(1, 2\); found \(1, 3\)",
    ),
    (
        "replaced dtype",
        lambda: S.Schedule([[0.0, 1.0]], 1.0, replaced=np.zeros((1, 2)), fill="zeros"),
        errors.InputTypeError,
        "bool",
    ),
    ("Schedule 1-D times", lambda: S.Schedule([0.0, 1.0], 1.0), errors.ShapeError, "2-D"),
    ("Schedule decreasing", lambda: S.Schedule([[0.0, -1.0]], 1.0), errors.StepSizeError, "decreasing"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_raises_named_error(case):
    _, call, exc, match = case
    with pytest.raises(exc, match=match) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError))
    assert "found" in str(info.value)


def test_messages_say_expected_and_where():
    with pytest.raises(errors.StepSizeError) as info:
        S.timestamps([0.0, 0.1, 0.1, 0.3], DT)
    msg = str(info.value)
    assert "expected strictly increasing" in msg and "index (0, 2)" in msg and "0.1" in msg


def test_schedule_is_immutable():
    s = S.drops(8, DT, 0.25, mode="zeros", seed=0)
    with pytest.raises(ValueError):
        s.times[0, 0] = 1.0
    with pytest.raises(ValueError):
        s.replaced[0, 0] = True
    with pytest.raises(AttributeError):
        s.dt = 1.0


def test_sample_never_hands_out_the_signals_own_data():
    """A plain callable may return its own array: sample copies it. The toolkit's signals return
    a new array per call, which sample passes on without a copy; either way u is the caller's."""
    stored = np.ones((1, 2, 5, 1))
    schedule = S.uniform(5, 0.1, draws=2)
    u = schedule.sample(lambda t: stored)
    u[...] = 7.0
    assert np.all(stored == 1.0)
    sig = ArraySignal(np.arange(10.0), np.linspace(0.0, 1.0, 10))
    first = schedule.sample(sig)
    first[...] = -1.0
    assert np.array_equal(sig.values[0, :, 0], np.arange(10.0)) and np.all(schedule.sample(sig) >= 0)
