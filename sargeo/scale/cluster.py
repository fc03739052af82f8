"""Dask clusters for sargeo's jobs, and what a worker process keeps between tasks.

A job runs on a `LocalCluster` of N worker processes (``--workers N``) or on an existing scheduler
(``--scheduler ADDRESS``: a `dask scheduler` with `dask worker` processes, dask-jobqueue on HPC, or
Kubernetes). Tasks carry only paths and options: each worker opens the rasters itself, and the files
must be at the same paths on every worker (a shared filesystem). What is costly to open (a bundle's
ONNX sessions, a raster's metadata) is kept in a per-process cache (`cached`), so a worker process
loads it once, not once per task.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sargeo.errors import InputError, OptionError
from sargeo.runtime.sessions import MissingPackageError

T = TypeVar("T")

DEFAULT_PARTITION = 256
"""Tiles per partition: large enough that a task's overhead (tens of ms) is small beside its work,
small enough that a lost worker costs little to recompute."""

TILE_PARTITION = 2048
"""Tiles per partition of `sargeo tile`: cutting a tile costs ~100x less than embedding it, and each
part carries a GeoPackage (~0.5 s to write and merge), so its partitions are larger."""

CAPTION_PARTITION = 64
"""Tiles per partition of `sargeo caption`: a caption (encoder and a decoder loop) costs about ten
embeddings, so its partitions are smaller for the same time per task."""


@dataclass(frozen=True)
class Cluster:
    """Where a job runs.

    Attributes:
        workers: Worker processes of a local cluster.
        scheduler: Address of an existing Dask scheduler (``tcp://host:8786``).
        partition: Tiles per partition (tile jobs round it to whole tile rows).
    """

    workers: int | None = None
    scheduler: str | None = None
    partition: int = DEFAULT_PARTITION

    @property
    def enabled(self) -> bool:
        """Whether the job runs on Dask at all."""
        return self.workers is not None or self.scheduler is not None

    def check(self) -> None:
        """Refuse inconsistent options."""
        if self.workers is not None and self.scheduler is not None:
            raise OptionError("workers", "and `scheduler` exclude each other: choose one")
        if self.workers is not None and self.workers < 1:
            raise OptionError("workers", f"must be at least 1, got {self.workers}")
        if self.partition < 1:
            raise OptionError("partition", f"must be at least 1 tile, got {self.partition}")

    def threads_per_worker(self) -> int | None:
        """Inference threads per worker: the local cores shared out, or a remote worker's own."""
        if self.workers is None:
            return None
        return max(1, (os.cpu_count() or 1) // self.workers)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingPackageError(
            "dask.distributed is not installed (pip install 'sargeo[scale]')"
        ) from exc
    return distributed


@contextmanager
def connect(cluster: Cluster) -> Iterator[Any]:
    """A `distributed.Client` on the cluster; a local cluster is closed on the way out."""
    distributed = _distributed()
    if cluster.scheduler is not None:
        try:
            client = distributed.Client(cluster.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {cluster.scheduler}: {exc}"
            ) from exc
        with client:
            yield client
        return
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(
        logging.ERROR
    )  # the in-process scheduler's INFO lines are not the user's concern
    with (
        _restore_level(logger, level),
        local_cluster(cluster.workers or 1) as local,
        distributed.Client(local) as client,
    ):
        yield client


def local_cluster(workers: int) -> Any:
    """A `distributed.LocalCluster` of single-threaded worker processes, without ``MALLOC_TRIM``.

    Dask's nannies set ``MALLOC_TRIM_THRESHOLD_`` in the workers' environment, which turns off glibc's
    adaptive mmap threshold: every array of 128 KiB or more is then mapped and zeroed afresh, and
    reading, preparing and embedding tiles ran 1.4x slower (measured in one process with and without
    it). It is left unset here (unless the user set it); workers of an existing cluster need the same
    in their Dask configuration (see docs/scaling.md).
    """
    import dask

    distributed = _distributed()
    unset = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    with dask.config.set(unset):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )


@contextmanager
def _restore_level(logger: logging.Logger, level: int) -> Iterator[None]:
    try:
        yield
    finally:
        logger.setLevel(level)


_CACHE: dict[Hashable, Any] = {}
_LOADS: Counter[str] = Counter()
_LOCK = threading.Lock()


def cached(kind: str, key: Hashable, factory: Callable[[], T]) -> T:
    """``factory()``, made once per process and ``(kind, key)``; later calls get the same object."""
    with _LOCK:
        if (kind, key) not in _CACHE:
            _CACHE[kind, key] = factory()
            _LOADS[kind] += 1
        value: T = _CACHE[kind, key]
        return value


def loads() -> dict[str, int]:
    """How many objects of each kind this process made (``client.run(loads)`` asks every worker)."""
    with _LOCK:
        return dict(_LOADS)


def add_arguments(parser: argparse.ArgumentParser, partition: int = DEFAULT_PARTITION) -> None:
    """``--workers N``, ``--scheduler ADDRESS`` and ``--partition N`` (default ``partition``)."""
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="run on a local Dask cluster of N worker processes (needs sargeo[scale])",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on an existing Dask scheduler (tcp://host:8786); paths must be the same on workers",
    )
    parser.add_argument(
        "--partition",
        type=int,
        default=partition,
        metavar="N",
        help=f"tiles per Dask task ({partition})",
    )


def from_arguments(args: argparse.Namespace) -> Cluster:
    """The `Cluster` that `add_arguments`' options name."""
    cluster = Cluster(args.workers, args.scheduler, args.partition)
    cluster.check()
    return cluster
