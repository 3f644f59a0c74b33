"""Augmentation (training on drawn schedules) and the gap input channel: the methods that issue
14 compares with SMR. Checked against the sampling engine and the closed-form sines values."""

import numpy as np
import pytest
import torch

from smr_stability import errors
from smr_stability.nn.augment import AUGMENT_KINDS, JITTER_MAX, RATE_RANGE, augmented_batch, augmented_times
from smr_stability.nn.config import TrainConfig
from smr_stability.nn.model import SequenceModel
from smr_stability.nn.sines import SinesConfig, sines_signal, sines_values
from smr_stability.nn.train import train

DT, L = 0.05, 64


@pytest.fixture(autouse=True)
def task_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path_factory.getbasetemp() / "task-cache"))


def test_augmented_times_follow_their_kind():
    t, kinds = augmented_times(L, DT, 400, np.random.default_rng(0))
    assert t.shape == (400, L) and np.all(np.diff(t, axis=1) > 0)
    counts = np.bincount(kinds, minlength=len(AUGMENT_KINDS))
    assert np.all(np.abs(counts - 100) < 40), counts  # each kind about a quarter
    grid = DT * np.arange(L)
    for row, kind in zip(t, (AUGMENT_KINDS[k] for k in kinds)):
        if kind == "grid":
            assert np.array_equal(row, grid)
        elif kind == "jitter":
            assert np.max(np.abs(row - grid)) <= JITTER_MAX * DT
        elif kind == "rate":
            s = row[1] / DT
            assert RATE_RANGE[0] <= s <= RATE_RANGE[1] and np.allclose(row, s * grid, rtol=1e-12, atol=0)
        else:
            assert row[0] > -DT and not np.allclose(np.diff(row), np.diff(row)[0])


def test_augmented_batch_is_the_signal_at_the_drawn_times():
    cfg = SinesConfig.small()
    rows = np.array([3, 0, 7])
    u, y, t = augmented_batch(cfg, rows, np.random.default_rng(5))
    t_ref, _ = augmented_times(cfg.L, cfg.dt, 3, np.random.default_rng(5))
    assert np.array_equal(t.numpy(), t_ref)
    u_ref, y_ref = sines_values(sines_signal(cfg), rows, t_ref)
    assert u.dtype == torch.float32 and y.dtype == torch.float32 and t.dtype == torch.float64
    assert np.array_equal(u.numpy(), u_ref.astype(np.float32)) and np.array_equal(y.numpy(), y_ref.astype(np.float32))


def test_augmented_training_resumes_to_the_same_weights(tmp_path, interrupt_training):
    """Interrupted in epoch 2 and resumed, an augmented run sees the same batches: equal weights."""
    from safetensors.torch import load_file

    cfg = TrainConfig(task="sines", layer="s4d", epochs=3, small=True, width=8, state=8, depth=1, augment=True)
    full = train(cfg, tmp_path / "full", progress=False)
    interrupt_training()
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "resumed", progress=False)
    interrupt_training.undo()
    resumed = train(cfg, tmp_path / "resumed", progress=False)
    assert [r["val_loss"] for r in resumed] == [r["val_loss"] for r in full]
    a, b = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("full", "resumed"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = train(TrainConfig.from_dict(cfg.to_dict() | {"augment": False}), tmp_path / "plain", progress=False)
    assert plain[-1]["train_loss"] != full[-1]["train_loss"]  # the batches differ


def test_gap_channel_is_the_normalised_gap():
    cfg = TrainConfig(task="sines", layer="s4d", width=8, state=8, depth=1, gap_input=True)
    model = SequenceModel(cfg, 1, 1, time_unit=DT)
    assert model.encoder.in_features == 2
    t = torch.tensor([[0.0, 0.05, 0.12, 0.14]], dtype=torch.float64)
    u = torch.randn(1, 4, 1)
    gaps = torch.tensor([[0.05, 0.05, 0.07, 0.02]], dtype=torch.float64) / DT  # the first repeats the second
    ref = model.encoder(torch.cat([u, gaps.float()[..., None]], dim=-1))
    assert torch.allclose(model.encode(u, t), ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(errors.ParameterError, match="gap_input=True"):
        model(u)


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"task": "pendulum", "augment": True}, "only the sines task"),
        ({"gap_input": True, "encoder": "cnn", "task": "pendulum"}, "linear encoder"),
        ({"augment": 1}, "True or False"),
        ({"gap_input": "yes"}, "True or False"),
    ],
)
def test_config_checks_the_new_fields(fields, match):
    with pytest.raises((errors.ParameterError, errors.InputTypeError), match=match):
        TrainConfig(**fields)
