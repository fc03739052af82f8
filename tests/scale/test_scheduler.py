"""A real ``dask scheduler`` and two ``dask worker`` processes on loopback, started and stopped here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sargeo.cli import main
from tests.bundles import write_scene
from tests.scale.conftest import assert_same_index, assert_same_tiling

pytestmark = pytest.mark.slow

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """The address of a scheduler with two single-threaded workers (all stopped afterwards)."""
    distributed = pytest.importorskip("distributed")
    info = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = (tmp_path / "dask.log").open("w")
    quiet = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info), *quiet],
            stdout=log, stderr=log, env=env,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for n in range(2):
            worker = [DASK, "worker", address, "--nthreads", "1", "--name", f"w{n}", *quiet]
            procs.append(subprocess.Popen(worker, stdout=log, stderr=log, env=env))
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_tile_and_index_on_a_scheduler_with_two_worker_processes(
    scheduler: str, tiny_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rasters = [write_scene(tmp_path / "a.tif", size=160), write_scene(tmp_path / "b.tif", seed=4)]
    tile = ["tile", *map(str, rasters), "--size", "40", "-q"]
    assert main([*tile, "-o", str(tmp_path / "tiles-one")]) == 0
    remote = ["--scheduler", scheduler, "--partition", "8"]
    assert main([*tile, "-o", str(tmp_path / "tiles-two"), *remote]) == 0
    assert "on 2 Dask worker(s)" in capsys.readouterr().out
    assert_same_tiling(tmp_path / "tiles-one", tmp_path / "tiles-two")

    index = ["index", *map(str, rasters), "--bundle", str(tiny_bundle), "--size", "32", "-q"]
    index += ["--threads", "1"]
    assert main([*index, "-o", str(tmp_path / "index-one")]) == 0
    assert main([*index, "-o", str(tmp_path / "index-two"), *remote]) == 0
    assert "on 2 Dask worker(s)" in capsys.readouterr().out
    assert_same_index(tmp_path / "index-one", tmp_path / "index-two")
