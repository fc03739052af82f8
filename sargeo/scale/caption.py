"""``sargeo caption --workers N | --scheduler ADDRESS``: a raster's tiles or regions captioned in
partitions on Dask.

Each task opens the raster and the CoCa (checkpoint or bundle) itself, once per worker process
(`cluster.cached`), rebuilds the job's plan (the tile grid, or the regions read from their file), captions a
run of consecutive windows and writes a part: one JSON line per window (caption and score, or null
where the window is mostly nodata, and its valid share). The merge reads the parts in order, so the
GeoPackage that `sargeo.inference.caption` writes from them is the single-process one: the same
windows, the same tile ids, the same captions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.inference.caption import (
    Caption,
    Captioner,
    CaptionOptions,
    CaptionPlan,
    CaptionRunner,
    caption_plan,
    open_captioner,
    open_source,
    plan_captions,
)
from sargeo.inference.commands import Reading, progress_bar
from sargeo.inference.geo_source import GeoWindowSource
from sargeo.runtime.index import source_records
from sargeo.runtime.pipeline import Cancelled
from sargeo.scale.cluster import Cluster, cached, connect
from sargeo.scale.parts import Partition, Run, part_path, parts_folder, run_partitions, split
from sargeo.scale.parts import writing_part as writing

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class CaptionJob:
    """What every task needs: the raster and how it is read, the model, the regions, the options."""

    raster: str
    reading: Reading
    checkpoint: str | None
    bundle: str | None
    identity: str
    regions: str | None
    options: CaptionOptions


def _identity(checkpoint_sha256: str, bundle_sha256: str) -> str:
    return checkpoint_sha256 or bundle_sha256


def _stamp(path: Path | None) -> list[int] | None:
    """A file's size and modification time: a changed region layer makes a new job."""
    if path is None:
        return None
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def caption_part(partition: Partition, part: str, job: CaptionJob) -> int:
    """Caption windows ``[start, stop)`` of the plan into a part (runs on a worker); returns kept."""
    o = job.options
    model = cached(
        "captioner",
        (job.checkpoint, job.bundle, o.threads),
        lambda: open_captioner(
            Path(job.checkpoint) if job.checkpoint else None,
            Path(job.bundle) if job.bundle else None,
            o.threads,
        ),
    )
    if _identity(model.checkpoint_sha256, model.bundle_sha256) != job.identity:
        raise InputError(f"a worker reads another model at {job.checkpoint or job.bundle}")
    source = cached(
        "raster", (job.raster, job.reading), lambda: open_source(Path(job.raster), job.reading)
    )
    plan = cached(
        "caption-plan",
        (job.raster, job.reading, job.regions, o.size, o.overlap, o.max_nodata),
        lambda: plan_captions(source, Path(job.regions) if job.regions else None, o),
    )
    captions, valid = caption_plan(model, source, plan, o, slice(partition.start, partition.stop))
    lines = [
        json.dumps({"caption": c, "valid": float(v)}) for c, v in zip(captions, valid, strict=True)
    ]
    with writing(Path(part)) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return sum(c is not None for c in captions)


def _merge(parts: Sequence[Path]) -> tuple[list[Caption | None], npt.NDArray[np.float32]]:
    """The parts' captions and valid shares, in partition order."""
    captions: list[Caption | None] = []
    valid: list[float] = []
    for part in parts:
        for line in part.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            captions.append(
                None if row["caption"] is None else (row["caption"][0], row["caption"][1])
            )
            valid.append(row["valid"])
    return captions, np.asarray(valid, dtype=np.float32)


def caption_on_dask(
    raster: Path,
    checkpoint: Path | None,
    bundle: Path | None,
    output: Path,
    source: GeoWindowSource,
    plan: CaptionPlan,
    model: Captioner,
    options: CaptionOptions,
    reading: Reading,
    cluster: Cluster,
    *,
    regions: Path | None = None,
    progress: bool = True,
    cancelled: Cancelled | None = None,
) -> tuple[list[Caption | None], npt.NDArray[np.float32], Run]:
    """Caption ``plan``'s windows in partitions on ``cluster``, resumable.

    ``source``, ``model`` and ``plan`` are the caller's (the raster opened, its captioner, whose
    identity every worker checks, and the plan, which each worker rebuilds from the same inputs).

    Returns:
        The captions (None where a window was skipped), the valid shares, how the partitions ran.
    """
    cluster.check()
    identity = _identity(model.checkpoint_sha256, model.bundle_sha256)
    threads = options.threads or cluster.threads_per_worker()
    job = CaptionJob(
        str(raster.resolve()),
        reading,
        str(checkpoint.resolve()) if checkpoint else None,
        str(bundle.resolve()) if bundle else None,
        identity,
        str(regions.resolve()) if regions else None,
        replace(options, threads=threads),
    )
    partitions = split([len(plan.windows)], cluster.partition)
    key = {
        "job": "caption",
        "raster": source_records([source]),
        "model": identity,
        "regions": job.regions,
        "regions_stamp": _stamp(regions),
        "options": options,
        "partition": cluster.partition,
    }
    update, close = progress_bar(progress, "captioning")
    try:
        with connect(cluster) as client:
            folder = parts_folder(output, key)
            run = run_partitions(
                client, caption_part, partitions, folder, SUFFIX, job,
                progress=update, cancelled=cancelled,
            )  # fmt: skip
    finally:
        close()
    captions, valid = _merge([part_path(folder, p.number, SUFFIX) for p in partitions])
    if len(captions) != len(plan.windows):
        raise InputError(
            f"the workers captioned {len(captions)} windows, the plan has {len(plan.windows)}: "
            "do the workers see the same raster and regions files?"
        )
    shutil.rmtree(folder, ignore_errors=True)
    return captions, valid, run


def dask_runner(
    raster: Path,
    checkpoint: Path | None,
    bundle: Path | None,
    output: Path,
    reading: Reading,
    cluster: Cluster,
    regions: Path | None = None,
) -> CaptionRunner:
    """A `CaptionRunner` for `sargeo.inference.caption.caption_raster` that captions on ``cluster``."""

    def run(
        model: Captioner,
        source: GeoWindowSource,
        plan: CaptionPlan,
        options: CaptionOptions,
        *,
        progress: bool,
    ) -> tuple[list[Caption | None], npt.NDArray[np.float32], str]:
        captions, valid, ran = caption_on_dask(
            raster, checkpoint, bundle, output, source, plan, model, options, reading, cluster,
            regions=regions, progress=progress,
        )  # fmt: skip
        return captions, valid, ran.summary()

    return run
