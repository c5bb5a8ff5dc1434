"""Where training's independent tasks run: local processes, or a Dask distributed cluster.

Cross-validation folds and bootstrap replicates are joblib tasks. Locally they run in
joblib's worker processes; inside :func:`use_cluster` the same tasks go to a Dask
scheduler through joblib's dask backend, an existing engine: it sends the shared data to
every worker once, and reruns on another worker the task of a worker lost mid-run.
Every task is seeded by its own arguments, never by where or when it runs, so a bundle
fitted on a cluster is the bundle fitted locally with the same seed.

Patient data reach the workers only as scattered objects (Dask keys in its logs, never
values); task arguments that are not shared are row indices and settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from joblib import Parallel, parallel_config
from joblib.parallel import get_active_backend

from model.errors import HipecError

__all__ = ["ClusterError", "active", "parallel", "use_cluster"]

# the dask backend of the cluster in use (None: local processes)
_BACKEND: ContextVar = ContextVar("hipec_task_backend", default=None)
CONNECT_TIMEOUT_S = 10

START_HINT = (
    "start a scheduler with `dask scheduler` (it prints its address, tcp://HOST:8786) and "
    "one or more workers with `dask worker tcp://HOST:8786`, then pass that address to --cluster"
)


class ClusterError(HipecError, RuntimeError):
    """The Dask scheduler cannot be reached, or has no worker."""


def parallel(n_jobs: int, **kwargs) -> Parallel:
    """A joblib ``Parallel`` over ``n_jobs`` local processes, or over every worker thread of
    the cluster in use (see :func:`use_cluster`)."""
    backend = _BACKEND.get()
    if backend is None:
        return Parallel(n_jobs=n_jobs, **kwargs)
    return Parallel(backend=backend, **kwargs)


def active() -> bool:
    """Whether tasks currently go to a cluster."""
    return _BACKEND.get() is not None


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
        backend = _dask_backend(client, address, shared)
        token = _BACKEND.set(backend)
        try:
            yield
        finally:
            _BACKEND.reset(token)
    finally:
        client.close()


def _dask_backend(client, address: str, shared: Sequence):
    """joblib's dask backend on ``client``, with ``shared`` broadcast to every worker."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise ClusterError(
            f"the Dask scheduler at {address} has no worker after {CONNECT_TIMEOUT_S} s; "
            f"{START_HINT}"
        ) from None
    # the backend is built (and the data scattered) once; the configuration is left at
    # once so that scikit-learn's own parallel loops in this process stay local
    with parallel_config(backend="dask", client=client, scatter=list(shared)):
        backend, _ = get_active_backend()
    return backend
