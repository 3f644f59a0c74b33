"""The Dask executor (smr_stability.parallel) behind the sweeps and the Theorem 1 verifier: the
same results serially, on a local cluster of 2 workers and on an external cluster started here
on loopback (scheduler and 2 workers as subprocesses); a worker killed mid-sweep; a client
interrupted mid-sweep and resumed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

import smr_stability as smr
from smr_stability import errors
from smr_stability.experiments import sweeps
from smr_stability.experiments.sweeps import cell_path, run_cells
from smr_stability.parallel import THREAD_ENV, check_address, run_tasks, session

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _cells  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _dask(*args):
    return [str(Path(sys.executable).with_name("dask")), *args]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """An external cluster on 127.0.0.1: `dask scheduler` and two `dask worker` processes (no
    nanny, so that a killed worker stays dead), with a cache of their own; yields (address, worker
    processes, the workers' cache)."""
    tmp = tmp_path_factory.mktemp("cluster")
    # the workers' own cache: no filesystem is shared with the client
    env = dict(os.environ, PYTHONPATH=str(HERE), SMR_STABILITY_CACHE=str(tmp / "worker_cache"), **THREAD_ENV)
    for var in (sweeps.RUNS_ENV, sweeps.CELLS_ENV):
        env.pop(var, None)
    sched_file = tmp / "scheduler.json"
    procs = [
        subprocess.Popen(
            _dask(
                "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)
            ),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(300):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        worker = _dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1")
        workers = [
            subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
            for _ in range(2)
        ]
        procs += workers
        from distributed import Client

        with Client(address, set_as_default=False, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address, workers, tmp / "worker_cache"
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


@pytest.fixture(scope="module")
def local():
    """A local cluster of 2 workers, as run_tasks makes one (shared by the tests below)."""
    from smr_stability.parallel import _local_cluster

    client, cluster = _local_cluster(2)
    yield client
    client.close()
    cluster.close()


def _cells_of(log, n, pause=0.0):
    return [{"x": x, "log": str(log), "pause": pause} for x in range(n)]


def _computed(log):
    return [int(line.split()[0]) for line in Path(log).read_text().splitlines()] if Path(log).exists() else []


def test_a_sweep_is_the_same_serially_on_a_local_and_on_an_external_cluster(cluster, tmp_path):
    address, *_ = cluster
    runs = {}
    for how, kwargs in {"serial": {"workers": 1}, "local": {"workers": 2}, "external": {"client": address}}.items():
        log = tmp_path / f"{how}.log"
        runs[how] = run_cells("demo", _cells.logged_cell, _cells_of(log, 12), cache_dir=tmp_path / how, progress=False, **kwargs)  # fmt: skip
        assert sorted(_computed(log)) == list(range(12))  # every cell once
    assert runs["serial"] == runs["local"] == runs["external"]


def _report(**kwargs):
    r = asdict(smr.verify_theorem1(**kwargs))
    r.pop("seconds")
    return r


def test_verify_theorem1_is_the_same_serially_on_a_local_and_on_an_external_cluster(cluster, tmp_path):
    address, *_ = cluster
    small = {"n_systems": 160, "n_continuous": 4, "seed": 3}
    serial = _report(**small)
    assert _report(workers=2, **small) == serial
    assert _report(client=address, **small) == serial
    cli = [sys.executable, "-m", "smr_stability", "verify-theorem1", "--quick", "--no-progress"]
    out = tmp_path / "report.json"
    subprocess.run([*cli, "--scheduler", address, "--json", str(out)], check=True, capture_output=True, timeout=300)
    external = json.loads(out.read_text())
    external.pop("seconds")
    assert external == json.loads(json.dumps(_report(quick=True)))


def test_runs_travel_between_client_and_workers_without_a_shared_filesystem(cluster, tmp_path, monkeypatch):
    """A run trained on a worker comes back to the client's cache; a measure of it on a worker
    whose cache lacks it gets the run's files with the cell, and equals the in-process measure."""
    from smr_stability.experiments.studies import reference_config, sines_measures, train_cell
    from smr_stability.nn.config import TrainConfig

    address, _, worker_cache = cluster
    monkeypatch.setenv("SMR_STABILITY_CACHE", str(tmp_path / "client"))
    config = reference_config(quick=True, seed=7)
    run = sweeps.run_dir(TrainConfig.from_dict(config))
    assert not run.exists()
    run_cells("train", train_cell, [{"config": config}], client=address, progress=False)
    assert sweeps._finished(run, TrainConfig.from_dict(config))  # installed by the client
    shutil.rmtree(worker_cache / "runs")  # the workers no longer have it
    cell = {"config": config, "schedules": [["jitter", 0.4]]}
    remote = run_cells("m", sines_measures, [cell], client=address, progress=False, cache_dir=tmp_path / "a")
    local = run_cells("m", sines_measures, [cell], workers=1, progress=False, cache_dir=tmp_path / "b")
    assert remote == local
    assert sweeps._finished(worker_cache / "runs" / run.name, TrainConfig.from_dict(config))  # shipped there


def test_verify_theorem1_chunks_depend_on_the_number_of_systems_only():
    from smr_stability.theorem1 import CHUNK_SYSTEMS, chunk_sizes

    assert list(chunk_sizes(10_000)) == [1250] * 8  # the chunks of every earlier report
    sizes = chunk_sizes(10**6)
    assert sizes.sum() == 10**6 and sizes.max() <= CHUNK_SYSTEMS and len(sizes) == 400


def test_a_killed_worker_costs_only_its_cell(cluster, tmp_path, monkeypatch):
    address, workers, _ = cluster
    log = tmp_path / "fault.log"
    cells = _cells_of(log, 16, pause=0.4)
    writes = {}
    write = sweeps._write_atomic

    def counting(path, data):
        writes[path] = writes.get(path, 0) + 1
        return write(path, data)

    monkeypatch.setattr(sweeps, "_write_atomic", counting)

    def kill_one():
        while len(_computed(log)) < 3:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    found = run_cells("fault", _cells.logged_cell, cells, cache_dir=tmp_path / "c", client=address, progress=False)
    killer.join()
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    reference = [_cells.logged_cell(c["x"], tmp_path / "ref.log") for c in cells]
    assert found == reference
    paths = [cell_path("fault", c, tmp_path / "c") for c in cells]
    assert all(writes.get(p) == 1 for p in paths)  # every cell stored exactly once
    assert set(_computed(log)) == set(range(16))


def test_an_interrupted_client_resumes_with_the_missing_cells_only(local, tmp_path, monkeypatch):
    log = tmp_path / "resume.log"
    cells = _cells_of(log, 10, pause=0.05)
    write, stored = sweeps._write_atomic, []

    def interrupting(path, data):
        if len(stored) == 4:
            raise KeyboardInterrupt
        stored.append(path)
        return write(path, data)

    monkeypatch.setattr(sweeps, "_write_atomic", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_cells("resume", _cells.logged_cell, cells, cache_dir=tmp_path / "c", client=local, progress=False)
    monkeypatch.setattr(sweeps, "_write_atomic", write)
    # the queued cells are cancelled (asynchronously); let the ones already running finish
    seen = -1
    while seen != len(_computed(log)) or any(local.processing().values()):
        seen = len(_computed(log))
        time.sleep(0.5)
    first = len(_computed(log))
    found = run_cells("resume", _cells.logged_cell, cells, cache_dir=tmp_path / "c", client=local, progress=False)
    again = _computed(log)[first:]
    assert len(again) == 10 - 4  # only the cells that were not stored
    assert sorted(again) == sorted(set(range(10)) - {json.loads(Path(p).read_text())["cell"]["x"] for p in stored})
    assert found == [_cells.logged_cell(c["x"], tmp_path / "ref.log") for c in cells]


def test_run_tasks_yields_every_index_once_beyond_its_window(local, tmp_path):
    log = tmp_path / "w.log"
    with session(local):  # the session's client is used
        out = dict(run_tasks(_cells.logged_cell, [(x, str(log)) for x in range(80)]))
    assert sorted(out) == list(range(80))  # 80 tasks > the window of 16 per worker thread
    assert out[7] == _cells.logged_cell(7, tmp_path / "r.log")


@pytest.mark.parametrize("address", ["nope", "tcp://host", 8786])
def test_bad_scheduler_addresses_are_named_errors(address):
    with pytest.raises((errors.ParameterError, errors.InputTypeError), match="found"):
        check_address(address)


def test_the_dask_cli_is_there():
    assert shutil.which(_dask()[0]) or Path(_dask()[0]).exists()


def test_the_sweeps_benchmark_smoke_run_prints_its_ratios():
    """CI smoke-runs benchmarks/bench_sweeps.py on tiny sizes; it prints both ratios."""
    out = subprocess.run(
        [sys.executable, str(HERE.parent / "benchmarks" / "bench_sweeps.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    assert "dask / pool per cell, started:" in out and "speed-up with 2 workers:" in out
