"""Faults on Dask: a worker killed mid-run loses and repeats no tile; a restarted job resumes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sargeo.cli import main
from sargeo.inference.commands import Reading
from sargeo.runtime.index import IndexOptions
from sargeo.runtime.pipeline import CancelledError
from sargeo.scale.cluster import Cluster
from sargeo.scale.index import index_on_dask
from tests.bundles import write_scene
from tests.scale.conftest import assert_same_index

pytestmark = pytest.mark.slow

OPTIONS = IndexOptions(size=32, batch=4, readers=1, threads=1)


def _scenes(folder: Path) -> list[Path]:
    """72 tiles of 32 px: 24 partitions of 3 tiles."""
    return [write_scene(folder / f"{n}.tif", size=192, seed=n) for n in range(2)]


def _reference(rasters: list[Path], bundle: Path, out: Path) -> None:
    argv = ["index", *map(str, rasters), "--bundle", str(bundle), "-o", str(out), "-q"]
    assert main([*argv, "--size", "32", "--threads", "1"]) == 0


def _executing(dask_worker: Any) -> int:
    return len(dask_worker.state.executing)


def _wait_idle(client: Any) -> None:
    """Until no worker runs a task: cancelled tasks already running finish (and write their part)."""
    deadline = time.monotonic() + 60
    while any(client.run(_executing).values()) and time.monotonic() < deadline:
        time.sleep(0.05)


def _parts(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}.parts-*/part-*.shard"))


def test_a_worker_killed_mid_run_loses_and_repeats_no_tile(
    tiny_bundle: Path, dask_client: Any, tmp_path: Path
) -> None:
    rasters = _scenes(tmp_path)
    _reference(rasters, tiny_bundle, tmp_path / "one")
    dask_client.wait_for_workers(2, timeout=120)
    cluster = Cluster(scheduler=dask_client.scheduler.address, partition=3)
    runs: list[Any] = []

    def job() -> None:
        runs.append(
            index_on_dask(rasters, tiny_bundle, tmp_path / "two", OPTIONS, Reading(), cluster)[1]
        )

    thread = threading.Thread(target=job)
    thread.start()
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        busy = [
            w
            for w, keys in dask_client.processing().items()
            if any("index_part" in str(k) for k in keys)
        ]
        victim = busy[0] if busy else None
        time.sleep(0.005)
    assert victim is not None, "no partition ever ran"
    pid = dask_client.run(os.getpid, workers=[victim])[victim]
    written = len(_parts(tmp_path, "two"))
    os.kill(pid, signal.SIGKILL)  # mid-task: its partition must be computed again elsewhere
    thread.join(timeout=300)
    assert not thread.is_alive() and runs, "the job did not finish after losing a worker"
    assert written < runs[0].partitions == 24
    assert victim not in dask_client.scheduler_info()["workers"]
    assert_same_index(tmp_path / "one", tmp_path / "two")


def test_a_restarted_job_skips_the_partitions_already_written(
    tiny_bundle: Path, dask_client: Any, tmp_path: Path
) -> None:
    rasters = _scenes(tmp_path)
    _reference(rasters, tiny_bundle, tmp_path / "one")
    cluster = Cluster(scheduler=dask_client.scheduler.address, partition=3)
    out = tmp_path / "two"
    with pytest.raises(CancelledError):  # stopped after the first part, like a Ctrl-C
        index_on_dask(
            rasters, tiny_bundle, out, OPTIONS, Reading(), cluster, cancelled=lambda: True
        )
    assert not out.exists()
    first = _parts(tmp_path, "two")
    assert first, "the interrupted job kept no part"
    _wait_idle(dask_client)  # tasks already running when it stopped may still add their parts
    kept = _parts(tmp_path, "two")
    assert len(kept) < 24
    _, run = index_on_dask(rasters, tiny_bundle, out, OPTIONS, Reading(), cluster)
    assert run is not None and run.partitions == 24
    assert len(first) <= run.reused == len(kept), "parts written before were computed again"
    assert_same_index(tmp_path / "one", out)
    assert not _parts(tmp_path, "two")
