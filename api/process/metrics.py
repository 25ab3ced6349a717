"""The Prometheus side of a serving process: the multiprocess directory that
gunicorn's workers share, the answer to a scrape, the build info and the
database pools' gauges. What is counted is api/runtime/metrics.py's.

One process (uvicorn alone, or a test) keeps its values in memory. Under
gunicorn each worker writes them to files in PROMETHEUS_MULTIPROC_DIR, and a
scrape, whichever worker answers it, sums the files of all, the dead
workers' counts included (a counter never goes back). `stores-api serve`
empties the directory before the first worker starts, and gunicorn's master
marks a worker's gauges dead when it exits (api/server.py).
"""

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from api.runtime.version import package_version

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
POOL_SAMPLE_SECONDS = 1.0


def read_as_the_settings_read(directory: Path | None) -> None:
    """prometheus-client reads PROMETHEUS_MULTIPROC_DIR itself, and takes an
    empty one for a directory (the working directory, where a single process
    then wrote its files and answered /metrics with 500); the settings take
    it for unset. Before prometheus-client is imported, the environment is
    made to say what the settings read."""
    if directory is None:
        os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)


def share_between_workers(directory: Path | None) -> Path:
    """Make `directory` (a new temporary one when None) the workers' shared
    directory, emptied of an earlier run's files, and tell prometheus-client
    so in every process forked from now on. Call before anything imports
    prometheus_client: it picks its mode at import."""
    import sys

    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess "
                           "directory was set: workers would count apart")
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="stores-api-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)
    return directory


def worker_exited(pid: int) -> None:
    """gunicorn's `child_exit`: the worker's live gauges (requests in flight,
    the pools) stop counting; its counters and histograms stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def exposition() -> tuple[bytes, str]:
    """This scrape's text and content type: every worker's values, summed."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
    )

    if MULTIPROCESS_DIR_VARIABLE not in os.environ:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def publish_build_info(contract_version: str) -> None:
    from api.runtime.metrics import BUILD_INFO

    BUILD_INFO.labels(package_version(), contract_version).set(1)


def sample_pools(engines) -> None:
    """The pools' size, connections checked out and overflow, summed over
    this process's engines (on PostgreSQL: the pool for writes and the one
    for reads). Pools without a size (SQLite in memory) count nothing."""
    from api.runtime.metrics import DB_POOL_CHECKED_OUT, DB_POOL_OVERFLOW, DB_POOL_SIZE

    size = checked_out = overflow = 0
    for engine in engines:
        pool = engine.pool
        if not hasattr(pool, "size"):
            continue
        size += pool.size()
        checked_out += pool.checkedout()
        overflow += max(0, pool.overflow())
    DB_POOL_SIZE.set(size)
    DB_POOL_CHECKED_OUT.set(checked_out)
    DB_POOL_OVERFLOW.set(overflow)


async def sample_pools_every(engines) -> None:
    """Each worker's pools, every POOL_SAMPLE_SECONDS: a gauge the files can
    sum (a scrape is answered by one worker, which cannot see the others'
    pools). Read at each beat, so `make instructions` can space them out."""
    engines = list({id(engine): engine for engine in engines}.values())
    while True:
        try:
            sample_pools(engines)
        except Exception:  # a gauge is not worth a worker
            logger.exception("sampling the database pools failed")
        await asyncio.sleep(POOL_SAMPLE_SECONDS)
