"""The one executor of the package's parallel jobs: Dask (`dask.distributed`).

The sweeps of the figures
([`smr_stability.experiments.sweeps.run_cells`][smr_stability.experiments.sweeps.run_cells], with
the training cells and the threshold map) and the chunks of
[`verify_theorem1`][smr_stability.theorem1.verify_theorem1] all run through `run_tasks`. Where its
tasks go:

1. a `client` given in Python (a `distributed.Client` or a scheduler address);
2. else the client of an enclosing `session` (`make_figures` opens one, so that every
   sweep of a build shares one cluster);
3. else `$SMR_STABILITY_SCHEDULER` (`--scheduler ADDRESS` on the command line): an
   existing cluster, e.g. `tcp://10.0.0.5:8786`;
4. else a `LocalCluster` started here: process workers, one thread each, as many as asked
   (default: the cores), closed when the job ends.

With one worker asked for (`workers=1`) and no cluster named, tasks run in this process,
one after the other, without Dask. Every worker runs BLAS, OpenMP, numba and torch on one
thread (`single_thread`), so results do not depend on the number of workers.

Tasks are submitted in a moving window (a few per worker thread) and their results yielded as
they complete, so memory stays bounded however many tasks there are. A worker that dies
mid-task costs that task only: the scheduler reruns it on another worker.
"""

import contextlib
import contextvars
import os
import sys

from ._validation import check_int
from .errors import InputTypeError, ParameterError

__all__ = [
    "SCHEDULER_ENV",
    "THREAD_ENV",
    "check_address",
    "check_client",
    "in_process",
    "run_tasks",
    "session",
    "single_thread",
]

#: The environment variable naming an existing Dask scheduler (`tcp://HOST:PORT`).
SCHEDULER_ENV = "SMR_STABILITY_SCHEDULER"
#: Thread counts of BLAS and OpenMP on a local worker: one each (read when they load). numba is
#: not set here: it refuses a ``NUMBA_NUM_THREADS`` that differs from the one its pool started
#: with when it compiles later, so its count is lowered at run time (:func:`single_thread`).
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
#: Tasks in flight per worker thread.
_WINDOW = 16

_SESSION = contextvars.ContextVar("smr_stability_session", default=None)


@contextlib.contextmanager
def single_thread():
    """Run BLAS, OpenMP, numba and torch on one thread inside the block (restored after it).

    The workers run every task so, and so does the in-process path: a sum is then ordered the
    same way wherever it runs, and the results are bit-identical for any number of workers.
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    numba = sys.modules.get("numba")
    saved = (torch.get_num_threads() if torch else None, numba.get_num_threads() if numba else None)
    if numba:  # numba first: starting its OpenMP pool can reset torch's thread count
        numba.set_num_threads(1)
    if torch:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if numba:
            numba.set_num_threads(saved[1])
        if torch:
            torch.set_num_threads(saved[0])


_PINNED = []  # set once a worker process runs on one thread for good


def _call(fn, args):
    """What a worker runs: `fn(*args)`, the process pinned to one thread on its first task
    (a worker is ours; its libraries stay at one thread, as the local workers' environment
    already says)."""
    if not _PINNED:
        _PINNED.append(single_thread())
        _PINNED[0].__enter__()
    return fn(*args)


def _local_cluster(workers):
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env=THREAD_ENV,
    )
    return Client(cluster, set_as_default=False), cluster


def check_address(address, name="scheduler"):
    """Return `address` if it reads as a scheduler address (`tcp://HOST:PORT`, `HOST:PORT`,
    `tls://...`, `inproc://...`); else raise [`ParameterError`][smr_stability.errors.ParameterError]."""
    import re

    if not isinstance(address, str):
        raise InputTypeError(f"{name}: expected an address string; found {type(address).__name__}.")
    if not re.fullmatch(r"((tcp|tls|ucx|ws|wss)://)?[\w.\-\[\]:]+:\d+|inproc://\S+", address):
        raise ParameterError(
            f"{name}: expected an address like tcp://HOST:PORT (as `dask scheduler` prints it); found {address!r}."
        )
    return address


def check_client(client):
    """Return `client` if it is None, a `distributed.Client` or a scheduler address
    (`check_address`); else raise a named error."""
    if isinstance(client, str):
        return check_address(client, "client")
    if client is not None and not hasattr(client, "submit"):
        raise InputTypeError(
            f"client: expected a distributed.Client or a scheduler address; found {type(client).__name__}."
        )
    return client


def _connect(address):
    from distributed import Client

    check_address(address)
    try:
        client = Client(address, set_as_default=False, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ParameterError(
            f"scheduler: expected a running Dask scheduler at {address!r}; found none ({exc}). Start one with "
            f"`dask scheduler`, or unset {SCHEDULER_ENV} to run on this machine."
        ) from None
    link = getattr(client, "dashboard_link", None)
    print(f"dask: scheduler {address}" + (f", dashboard {link}" if link else ""), file=sys.stderr)
    return client


@contextlib.contextmanager
def _client(client, workers):
    """The client to use (see the module docstring) and whether it is ours to close."""
    if client is not None and not isinstance(client, str):
        yield client
        return
    shared = _SESSION.get()
    if client is None and shared is not None:
        yield shared.get(workers)
        return
    address = client or os.environ.get(SCHEDULER_ENV)
    if address:
        c = _connect(address)
        try:
            yield c
        finally:
            c.close()
        return
    c, cluster = _local_cluster(workers)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


class _Session:
    """A cluster started on first use and shared until the session ends."""

    def __init__(self, client):
        self.client, self._stack = client, contextlib.ExitStack()

    def get(self, workers):
        if self.client is None:
            address = os.environ.get(SCHEDULER_ENV)
            if address:
                self.client = self._stack.enter_context(contextlib.closing(_connect(address)))
            else:
                c, cluster = _local_cluster(workers)
                self._stack.callback(cluster.close)
                self._stack.callback(c.close)
                self.client = c
        return self.client


@contextlib.contextmanager
def session(client=None):
    """Share one cluster between every parallel job inside the `with` block.

    `client`: a `distributed.Client` or scheduler address to use; by default the cluster
    is made on first use as `run_tasks` would, and closed at the end of the block.
    """
    s = _Session(None if client is None or isinstance(client, str) else client)
    if isinstance(client, str):
        s.client = s._stack.enter_context(contextlib.closing(_connect(client)))
    token = _SESSION.set(s)
    try:
        yield s
    finally:
        _SESSION.reset(token)
        s._stack.close()


def _serial(fn, tasks, prepare):
    for i, args in enumerate(tasks):
        args = prepare(args)
        with single_thread():
            result = fn(*args)
        yield i, result


def in_process(client=None, workers=None):
    """True when [`run_tasks`][smr_stability.parallel.run_tasks] would run its tasks here, in
    order: one worker asked for (`workers`, default the cores) and no cluster named (`client`,
    a session, the environment)."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    named = client is not None or _SESSION.get() is not None or os.environ.get(SCHEDULER_ENV)
    return workers == 1 and not named


def run_tasks(fn, tasks, *, client=None, workers=None, prepare=None):
    """Run `fn(*args)` for every `args` of `tasks`; yield `(index, result)` as each completes.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name).
    tasks : sequence of tuple
        The positional arguments of each call.
    client : distributed.Client or str, optional
        The cluster to use (module docstring); default: the session's, `$SMR_STABILITY_SCHEDULER`
        or a new `LocalCluster`.
    workers : int, optional
        Workers of a new `LocalCluster` (default: the cores). `1` with no cluster named runs
        the tasks in this process, in order ([`in_process`][smr_stability.parallel.in_process]).
    prepare : callable, optional
        `prepare(args)` gives the arguments actually sent, called as each task is submitted
        (not before), so that what it loads is held for the tasks in flight only.

    Yields
    ------
    (int, object)
        The task's index in `tasks` and its result, in completion order.
    """
    tasks = list(tasks)
    check_client(client)
    workers = (os.cpu_count() or 1) if workers is None else check_int(workers, "workers")
    prepare = prepare or (lambda args: args)
    if not tasks:
        return
    if in_process(client, workers):
        yield from _serial(fn, tasks, prepare)
        return
    with _client(client, workers) as c:
        yield from _windowed(c, fn, tasks, prepare)


def _windowed(client, fn, tasks, prepare):
    """Submit `tasks` a window at a time; yield results as they complete, releasing each."""
    from distributed import as_completed

    window = _WINDOW * max(1, sum(client.nthreads().values()))
    live = {}  # future key -> (task index, future), for the tasks in flight

    def submit(k):
        fut = client.submit(_call, fn, prepare(tasks[k]), pure=False)
        live[fut.key] = (k, fut)
        return fut

    submitted = min(window, len(tasks))
    pending = as_completed([submit(k) for k in range(submitted)], loop=client.loop)
    try:
        for fut in pending:
            i, _ = live.pop(fut.key)
            result = fut.result()
            fut.release()
            if submitted < len(tasks):
                pending.add(submit(submitted))
                submitted += 1
            yield i, result
    finally:  # an interrupted client leaves no queued task behind (running ones finish)
        if live:
            client.cancel([fut for _, fut in live.values()])
