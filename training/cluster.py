"""Where training's independent tasks run: local processes, or a Dask distributed cluster.

Cross-validation folds and bootstrap replicates are joblib tasks. Locally they run in
joblib's worker processes; inside :func:`use_cluster` the same tasks go to a Dask
scheduler through joblib's dask backend, an existing engine that reruns on another worker
the task of a worker lost mid-run. Every task is seeded by its own arguments, never by
where or when it runs, so a bundle fitted on a cluster is the bundle fitted locally with
the same seed.

Shared objects (the training data, the final model's curves) are sent to the cluster once
and reach tasks as Dask keys, so patient values never appear in the cluster's logs; a
worker lost with them costs their recomputation. Everything else a task takes (row
indices, settings) travels with the task itself, so a rerun has all it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from joblib import Parallel, parallel_config
from joblib.parallel import get_active_backend

from model.errors import HipecError

__all__ = ["ClusterError", "parallel", "use_cluster"]

CONNECT_TIMEOUT_S = 10
START_HINT = (
    "start a scheduler with `dask scheduler` (it prints its address, tcp://HOST:8786) and "
    "one or more workers with `dask worker tcp://HOST:8786`, then pass that address to --cluster"
)


class ClusterError(HipecError, RuntimeError):
    """The Dask scheduler cannot be reached, or has no worker."""


@dataclass
class _Cluster:
    client: Any
    backend: Any  # joblib's dask backend on ``client``
    shared: dict = field(default_factory=dict)  # id(obj) -> (obj, its future on every worker)

    def share(self, objects: Sequence) -> None:
        """Send ``objects`` to the cluster once each (the object is kept so that its id is not
        reused while the cluster is in use).

        Each is the result of a task that returns it, not scattered data: Dask recomputes a
        task's result lost with its worker, whereas scattered data lost with their worker
        are gone (and its memory manager keeps one copy of data no task waits for yet).
        """
        import dask

        new = [o for o in objects if id(o) not in self.shared]
        # the data travel inside the task, once, to the scheduler: not a graph to warn about
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "64GB"}):
            for o in new:
                self.shared[id(o)] = (o, self.client.submit(_opened, _Sealed(o), pure=False))

    def as_sent(self, value):
        """A shared object's future (resolved to the worker's copy), else the value itself."""
        entry = self.shared.get(id(value))
        return value if entry is None else entry[1]


class _Sealed:
    """Shared data whose description never shows the values (Dask may log a task's)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return f"<shared {type(self.value).__name__}>"


def _opened(sealed: _Sealed):
    return sealed.value


_CLUSTER: ContextVar[_Cluster | None] = ContextVar("hipec_cluster", default=None)


def parallel(n_jobs: int, shared: Sequence = (), **kwargs) -> Callable[[Iterable], Any]:
    """A joblib ``Parallel`` (called on ``delayed`` tasks) over ``n_jobs`` local processes,
    or over every worker thread of the cluster in use (see :func:`use_cluster`).

    ``shared``: large arguments common to the tasks of this call, sent to every worker once
    (besides those shared for the whole :func:`use_cluster`).
    """
    cl = _CLUSTER.get()
    if cl is None:
        return Parallel(n_jobs=n_jobs, **kwargs)
    cl.share(shared)
    # one task a batch: joblib would carry the batch size it learnt on one call's quick tasks
    # (the band's refits) over to the next call's slow ones (a forest's folds) on the same
    # backend, and a batch of eight folds on one worker leaves the other idle
    run = Parallel(backend=cl.backend, **{"batch_size": 1, **kwargs})

    def call(tasks):
        if cl.backend.effective_n_jobs(-1) == 1:
            # joblib runs the tasks of a one-thread cluster here, in order, with the data
            return run(tasks)
        # one tuple per task: joblib leaves tuples with the task (it would scatter other
        # large arguments to a single worker, whose loss would lose them)
        return run(
            (
                _InOneProcess(f),
                ((tuple(cl.as_sent(a) for a in args), {k: cl.as_sent(v) for k, v in kw.items()}),),
                {},
            )
            for f, args, kw in tasks
        )

    return call


class _InOneProcess:
    """Runs a task with joblib's sequential backend: on a dask worker, joblib would otherwise
    send the task's own inner loops (a forest's trees) back to the cluster as sub-tasks."""

    def __init__(self, func):
        self.func = func
        self.__name__ = getattr(func, "__name__", type(func).__name__)  # dask's task name

    def __call__(self, packed):
        args, kwargs = packed
        with parallel_config(backend="sequential"):
            return self.func(*args, **kwargs)


@contextmanager
def use_cluster(address: str | None, shared: Sequence = ()) -> Iterator[None]:
    """Send the tasks of :func:`parallel` to the Dask scheduler at ``address`` while open.

    ``shared`` objects (the training data) are sent to every worker once, when the cluster
    is joined; tasks that take one of these very objects receive the worker's copy. With
    ``address`` None nothing changes: tasks run in local processes.

    Raises
    ------
    ClusterError
        When no scheduler answers at ``address`` or it has no worker.
    """
    if address is None:
        yield
        return
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(
            f"no Dask scheduler answered at {address} ({reason}); {START_HINT}"
        ) from None
    try:
        cl = _Cluster(client, _dask_backend(client, address))
        cl.share(shared)
        token = _CLUSTER.set(cl)
        try:
            yield
        finally:
            _CLUSTER.reset(token)
    finally:
        client.close()


def _dask_backend(client, address: str):
    """joblib's dask backend on ``client``, once the scheduler has a worker."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise ClusterError(
            f"the Dask scheduler at {address} has no worker after {CONNECT_TIMEOUT_S} s; "
            f"{START_HINT}"
        ) from None
    # the configuration is left at once: scikit-learn's own parallel loops in this process
    # (the final forest's trees) stay local
    with parallel_config(backend="dask", client=client):
        backend, _ = get_active_backend()
    return backend
