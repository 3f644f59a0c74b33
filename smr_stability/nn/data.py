"""Data of the training tasks: splits, the task container, and the on-disk cache.

Shapes: n sequences, L length, P input channels, Q target channels. Every task is a
[`TaskData`][smr_stability.nn.data.TaskData] of three [`Split`][smr_stability.nn.data.Split]s
(`train`, `val`, `test`), each holding `u` (n, L, P) float32, `y` (n, L, Q) float32 and the
timestamps `t` (n, L) float64, so that a continuous-time model (S5) can use the true gaps while a
fixed-step model ignores them.

Caching: the arrays are stored as `<sha256>.npz` in `cache_dir`, else in
`$SMR_STABILITY_CACHE`, else in `~/.cache/smr_stability/tasks`; the hash is that of the
canonical JSON of the task name, the format version and the config. A file that cannot be
read or whose stored config differs is regenerated (with a `UserWarning`).
"""

import dataclasses
import hashlib
import json
import numbers
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._validation import check_path, readonly
from ..errors import MethodError, ParameterError, ShapeError

__all__ = [
    "SPLITS",
    "Split",
    "TaskData",
    "TaskConfig",
    "cache_root",
    "cache_path",
    "cached_arrays",
    "partition",
    "split_array_names",
    "task_data",
]

#: Bumped whenever the generated arrays change for an unchanged config.
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")


# --------------------------------------------------------------------------- data containers


@dataclass(frozen=True, eq=False)
class Split:
    """One split of a task.

    Parameters
    ----------
    u : array, shape (n, L, P)
        Inputs, stored as read-only float32.
    y : array, shape (n, L, Q)
        Targets, stored as read-only float32.
    t : array, shape (n, L)
        Timestamps of the samples, stored as read-only float64.
    """

    u: np.ndarray
    y: np.ndarray
    t: np.ndarray

    def __post_init__(self):
        u, y, t = readonly(self.u, np.float32), readonly(self.y, np.float32), readonly(self.t, np.float64)
        if u.ndim != 3 or y.ndim != 3 or t.ndim != 2 or not (u.shape[:2] == y.shape[:2] == t.shape):
            raise ShapeError(
                f"Split: expected u (n, L, P), y (n, L, Q), t (n, L) with equal n and L; "
                f"found u {u.shape}, y {y.shape}, t {t.shape}."
            )
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "t", t)

    def __len__(self):
        return self.u.shape[0]

    def batch_rows(self, batch_size, shuffle=False, seed=None, drop_last=False):
        """Yield the row indices (int arrays) of the batches of
        [`batches`][smr_stability.nn.data.Split.batches], in its order."""
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
            raise ParameterError(f"batch_size: expected an integer >= 1; found {batch_size!r}.")
        n = len(self)
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        stop = n - n % batch_size if drop_last else n
        for lo in range(0, stop, batch_size):
            yield order[lo : lo + batch_size]

    def batches(self, batch_size, shuffle=False, seed=None, drop_last=False):
        """Yield `(u, y, t)` torch tensors of at most `batch_size` sequences.

        `u` (B, L, P) and `y` (B, L, Q) are float32, `t` (B, L) float64. With
        `shuffle` the order is a permutation drawn from `numpy.random.default_rng(seed)`.
        """
        for idx in self.batch_rows(batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last):
            yield torch.from_numpy(self.u[idx]), torch.from_numpy(self.y[idx]), torch.from_numpy(self.t[idx])


@dataclass(frozen=True, eq=False)
class TaskData:
    """The three splits of a task and the config that generated them.

    Attributes
    ----------
    config : SinesConfig or PendulumConfig
    train, val, test : Split
        Each with `u` (n, L, P) float32, `y` (n, L, Q) float32, `t` (n, L) float64.
    """

    config: object
    train: Split
    val: Split
    test: Split

    def __getitem__(self, split):
        return getattr(self, _split_name(split))

    def batches(self, split, batch_size, shuffle=False, seed=None, drop_last=False):
        """Yield `(u, y, t)` torch tensors of one split; see [`Split.batches`][smr_stability.nn.data.Split.batches]."""
        return self[split].batches(batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)


def _split_name(split):
    if split not in SPLITS:
        raise MethodError(f"split: expected one of {', '.join(map(repr, SPLITS))}; found {split!r}.")
    return split


# --------------------------------------------------------------------------- configs


class TaskConfig:
    """Shared behaviour of the task configs: dict round trip with unknown keys rejected."""

    @classmethod
    def from_dict(cls, d):
        """Build from a mapping; unknown keys raise [`ParameterError`][smr_stability.errors.ParameterError]."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ParameterError(
                f"{cls.__name__}: unknown key(s) {unknown}; expected a subset of {names}. Remove or rename them."
            )
        return cls(**d)

    def to_dict(self):
        """The config as a JSON-compatible dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


# --------------------------------------------------------------------------- cache


def cache_root(cache_dir=None):
    """The cache directory: `cache_dir`, else `$SMR_STABILITY_CACHE`, else `~/.cache/smr_stability/tasks`."""
    if cache_dir is not None:
        return check_path(cache_dir, "cache_dir")
    env = os.environ.get("SMR_STABILITY_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "smr_stability" / "tasks"


def _key(task, config, extra=None):
    payload = {"task": task, "format": FORMAT_VERSION, "config": config.to_dict(), "extra": extra}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def cache_path(task, config, cache_dir=None, extra=None):
    """Path of the cache file of a task: `<dir>/<sha256 of the canonical JSON>.npz`.

    `task` is `"sines"`, `"pendulum"` or `"sines_eval"` (with the schedule name as
    `extra`).
    """
    digest = hashlib.sha256(_key(task, config, extra).encode()).hexdigest()
    return cache_root(cache_dir) / f"{digest}.npz"


def _load(path, key, names):
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["__key__"]) != key:
                raise ValueError("stored config differs")
            return {name: f[name] for name in names}
    except Exception as exc:  # any unreadable or mismatched file is regenerated
        warnings.warn(f"Task cache {path} is unreadable or stale ({exc}); regenerating it.", UserWarning, stacklevel=4)
        return None


def cached_arrays(task, config, cache_dir, generate, names, extra=None):
    """Load the arrays `names` of a task from the cache, or `generate()` them and store them atomically.

    `generate` returns a dict of arrays; the file is
    [`cache_path`][smr_stability.nn.data.cache_path] of `(task, config, extra)`, and a file that
    cannot be read or whose stored config differs is regenerated with a `UserWarning`.
    """
    path, key = cache_path(task, config, cache_dir, extra), _key(task, config, extra)
    if path.exists():
        arrays = _load(path, key, names)
        if arrays is not None:
            return arrays
    arrays = generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __key__=np.array(key), **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return arrays


def task_data(config, arrays):
    """The [`TaskData`][smr_stability.nn.data.TaskData] of arrays named `<split>_<u|y|t>` (see
    [`partition`][smr_stability.nn.data.partition])."""
    return TaskData(config, *(Split(arrays[f"{s}_u"], arrays[f"{s}_y"], arrays[f"{s}_t"]) for s in SPLITS))


def split_array_names():
    """The names `<split>_<u|y|t>` of a task's arrays in the cache, splits in `SPLITS` order."""
    return [f"{s}_{a}" for s in SPLITS for a in "uyt"]


def partition(config, *arrays):
    """Split arrays along axis 0 into train/val/test and name them `<split>_<u|y|t>`."""
    bounds = np.cumsum([0, config.n_train, config.n_val, config.n_test])
    out = {}
    for i, s in enumerate(SPLITS):
        for a, arr in zip("uyt", arrays):
            out[f"{s}_{a}"] = arr[bounds[i] : bounds[i + 1]]
    return out
