"""Partitions of a job, each written as its own part, so that a job survives lost workers and resumes.

A job's parts live in a hidden folder beside its output, named after the output and a hash of
everything that decides the result (``.OUT.parts-HASH``). A task writes its part under a temporary
name and renames it into place, so a part is complete or absent: a task recomputed after its worker
died, or run twice, replaces a part with an identical one and never adds tiles. A restarted job skips
the parts already there (resume); a finished job merges the parts in partition order into its output,
atomically, and removes the folder. The parts must be on a filesystem that every worker sees.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio

from sargeo.runtime.pipeline import Cancelled, CancelledError, Progress


@dataclass(frozen=True)
class Partition:
    """Items ``[start, stop)`` (tile rows or tiles) of source ``source``; ``number`` orders the parts."""

    number: int
    source: int
    start: int
    stop: int
    tiles: int


def split(
    counts: Sequence[int], size: int, tiles_per_item: Sequence[int] | None = None
) -> list[Partition]:
    """Partitions of ``size`` tiles over sources of ``counts`` items (items of several tiles each)."""
    out: list[Partition] = []
    for source, count in enumerate(counts):
        per_item = tiles_per_item[source] if tiles_per_item is not None else 1
        step = max(1, size // per_item)
        for start in range(0, count, step):
            stop = min(count, start + step)
            out.append(Partition(len(out), source, start, stop, (stop - start) * per_item))
    return out


def parts_folder(output: Path, key: Any) -> Path:
    """The job's parts folder beside ``output`` (created; parts of jobs with another key removed)."""
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    output = output.absolute()
    folder = output.parent / f".{output.name}.parts-{digest}"
    for other in output.parent.glob(f".{glob.escape(output.name)}.parts-*"):
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.json").write_text(text + "\n")
    return folder


def part_path(folder: Path, number: int, suffix: str = "") -> Path:
    """Where partition ``number``'s part is."""
    return folder / f"part-{number:05d}{suffix}"


@contextmanager
def writing_part(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it when the block ends without error."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        if tmp.is_dir():
            try:
                os.rename(tmp, target)
            except OSError:  # already there: a recomputed task wrote the same part
                if not target.is_dir():
                    raise
        else:
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class Run:
    """What running a job's partitions did."""

    partitions: int
    reused: int
    workers: int
    seconds: float

    def summary(self) -> str:
        """One line for the terminal."""
        again = f", {self.reused} reused from an interrupted run" if self.reused else ""
        return f"{self.partitions} partitions on {self.workers} Dask worker(s){again}"


def run_partitions(
    client: Any,
    task: Callable[..., Any],
    partitions: Sequence[Partition],
    folder: Path,
    suffix: str,
    *args: Any,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Run:
    """Run ``task(partition, part_path, *args)`` for every partition whose part is missing.

    ``task`` must be a module-level function (workers import it) that writes its part with
    `writing_part`. A task on a worker that dies is run again elsewhere by the scheduler; an error in
    a task stops the job with that error (the parts written so far stay for a resume).
    """
    from distributed import as_completed

    started = time.perf_counter()
    total = sum(p.tiles for p in partitions)
    todo = [p for p in partitions if not part_path(folder, p.number, suffix).exists()]
    done = total - sum(p.tiles for p in todo)
    token = secrets.token_hex(4)
    futures = {
        client.submit(
            task, p, str(part_path(folder, p.number, suffix)), *args,
            key=f"sargeo-{task.__name__}-{token}-{p.number}", pure=False,
        ): p
        for p in todo
    }  # fmt: skip
    try:
        if progress is not None:
            progress(done, total)
        for future in as_completed(futures):
            future.result()
            done += futures[future].tiles
            if progress is not None:
                progress(done, total)
            if cancelled is not None and cancelled():
                raise CancelledError("cancelled; the parts written so far are kept for a resume")
    finally:
        client.cancel(list(futures))
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    return Run(len(partitions), len(partitions) - len(todo), workers, time.perf_counter() - started)


def merge_gpkg(parts: Sequence[Path], layer: str, output: Path) -> int:
    """Append the layer of each GeoPackage part, in order, into ``output``; returns the features.

    One part is in memory at a time. Parts that do not exist or hold no feature are skipped.
    """
    count = 0
    for part in parts:
        if not part.exists():
            continue
        frame = pyogrio.read_dataframe(part, layer=layer)
        if frame.empty:
            continue
        pyogrio.write_dataframe(frame, output, layer=layer, driver="GPKG", append=count > 0)
        count += len(frame)
    return count
