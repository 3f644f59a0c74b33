"""Shared fixtures: the quick figures are built once per test session."""

import os

import pytest


@pytest.fixture(scope="session")
def quick_cache(tmp_path_factory):
    """A private task/run/sweep cache, so tests never read or fill the user's cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def notebook_cache(tmp_path_factory):
    """The cache of the notebooks' runs, shared by the site build (tests/test_docs_site.py) and the
    notebooks run with their solutions (tests/test_notebooks.py): their models train once."""
    return tmp_path_factory.mktemp("notebook_cache")


@pytest.fixture(scope="session")
def quick_figures(tmp_path_factory, quick_cache):
    """Every figure of the gallery with ``quick=True``, built into one folder."""
    from smr_stability.experiments.gallery import make_figures

    out = tmp_path_factory.mktemp("figures")
    saved = os.environ.get("SMR_STABILITY_CACHE")
    os.environ["SMR_STABILITY_CACHE"] = str(quick_cache)
    try:
        make_figures(out, quick=True, progress=False)
    finally:
        if saved is None:
            os.environ.pop("SMR_STABILITY_CACHE")
        else:
            os.environ["SMR_STABILITY_CACHE"] = saved
    return out


@pytest.fixture
def interrupt_training(monkeypatch):
    """``interrupt_training()`` makes the next training run stop with KeyboardInterrupt during its
    second epoch (at the second validation, before that epoch's checkpoint); ``.undo()`` restores."""
    from smr_stability.nn import train as train_mod

    original = train_mod.split_mse

    class Interrupt:
        def __call__(self):
            calls = {"n": 0}

            def interrupted(*args, **kw):
                calls["n"] += 1
                if calls["n"] == 2:
                    raise KeyboardInterrupt
                return original(*args, **kw)

            monkeypatch.setattr(train_mod, "split_mse", interrupted)

        def undo(self):
            monkeypatch.setattr(train_mod, "split_mse", original)

    return Interrupt()
