"""``sargeo index --workers N | --scheduler ADDRESS``: a raster's tiles embedded in partitions on Dask.

Each task opens the rasters and the bundle itself, once per worker process (`cluster.cached`), embeds
a run of consecutive tiles of one raster and writes a part: its kept vectors (float16) and tile
records (``.npz``). The merge streams the parts' vectors, in grid order, into the index's
``vectors.f16`` and writes the records, manifest and footprints as `sargeo.runtime.index` does, so
the index is the single-process one: the same tiles, in the same order, under the same key (so that
either run reuses the other's index), embeddings equal to float tolerance (batches differ).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sargeo.atomic import atomic_dir, check_not_an_input
from sargeo.errors import InputError
from sargeo.inference.commands import Reading, progress_bar
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.index import (
    TILE_DTYPE,
    VECTORS,
    EmbeddingIndex,
    IndexOptions,
    check_sources,
    current_index,
    finish_index,
    flat_grid,
    index_key,
    open_index,
    source_records,
    tile_block,
)
from sargeo.runtime.pipeline import Cancelled, Progress, embed_windows
from sargeo.scale.cluster import Cluster, cached, connect
from sargeo.scale.parts import Partition, Run, part_path, parts_folder, run_partitions, split
from sargeo.scale.parts import writing_part as writing

SUFFIX = ".npz"


@dataclass(frozen=True)
class IndexJob:
    """What every task needs: the rasters and how they are read, the bundle, the options."""

    rasters: tuple[str, ...]
    reading: Reading
    bundle: str
    sha256: str
    options: IndexOptions


def worker_model(bundle: str, sha256: str, threads: int | None) -> ClipModel:
    """The bundle's model, loaded once per worker process; refused when the worker's copy differs."""
    model = cached(
        "bundle", (bundle, threads), lambda: ClipModel(load_bundle(Path(bundle)), threads)
    )
    if model.bundle.sha256 != sha256:
        raise InputError(f"a worker reads another bundle at {bundle} (sha256 differs)")
    return model


def index_part(partition: Partition, part: str, job: IndexJob) -> int:
    """Embed tiles ``[start, stop)`` of one raster into a part (runs on a worker); returns kept."""
    model = worker_model(job.bundle, job.sha256, job.options.threads)
    sources = cached(
        "rasters",
        (job.rasters, job.reading),
        lambda: job.reading.open([Path(p) for p in job.rasters]),
    )
    source = sources[partition.source]
    windows, positions = flat_grid(source, job.options)
    span = slice(partition.start, partition.stop)
    out = np.zeros((partition.stop - partition.start, model.bundle.embedding_size), np.float16)
    o = job.options
    embedded = embed_windows(
        source, windows[span], model.bundle.preprocess, model.embed_images, out,
        batch=o.batch, readers=o.readers, max_nodata=o.max_nodata,
    )  # fmt: skip
    tiles = tile_block(partition.source, source, windows[span], positions[span], embedded.valid)
    with writing(Path(part)) as tmp, tmp.open("wb") as handle:
        np.savez(handle, vectors=out[embedded.kept], tiles=tiles[embedded.kept])
    return int(embedded.kept.sum())


def _merge(folder: Path, parts: Sequence[Path]) -> np.ndarray:
    """Stream the parts' vectors into ``folder``'s vectors file; returns the tile records."""
    records = []
    with (folder / VECTORS).open("wb") as handle:
        for part in parts:
            with np.load(part, allow_pickle=False) as data:
                handle.write(np.ascontiguousarray(data["vectors"], np.float16).tobytes())
                records.append(data["tiles"])
    return np.concatenate(records) if records else np.zeros(0, TILE_DTYPE)


def index_on_dask(
    rasters: Sequence[Path],
    bundle: Path,
    output: Path,
    options: IndexOptions,
    reading: Reading,
    cluster: Cluster,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> tuple[EmbeddingIndex, Run | None]:
    """`sargeo.runtime.index.build_index` on a Dask cluster, resumable; the same index.

    Returns:
        The opened index, and how the partitions ran (None when a current index was reused).
    """
    options.check()
    cluster.check()
    started = time.perf_counter()
    model = ClipModel(load_bundle(bundle), options.threads)
    sources = reading.open(rasters)
    key = index_key(source_records(sources), model.bundle, options)
    current = current_index(output, key)
    if current is not None:
        return current, None
    files = [f for s in sources for f in s.files]
    check_not_an_input(output, [*files, bundle])
    check_sources(sources, model)
    counts = [len(flat_grid(s, options)[0]) for s in sources]
    partitions = split(counts, cluster.partition)
    threads = options.threads or cluster.threads_per_worker()
    job = IndexJob(
        tuple(str(p) for p in rasters),
        reading,
        str(bundle.resolve()),
        model.bundle.sha256,
        replace(options, threads=threads),
    )
    with connect(cluster) as client:  # the parts folder appears once a cluster is there
        folder = parts_folder(output, {"job": "index", "key": key, "partition": cluster.partition})
        run = run_partitions(
            client, index_part, partitions, folder, SUFFIX, job,
            progress=progress, cancelled=cancelled,
        )  # fmt: skip
    with atomic_dir(output, inputs=[*files, bundle], overwrite=True) as tmp:
        tiles = _merge(tmp, [part_path(folder, p.number, SUFFIX) for p in partitions])
        finish_index(tmp, sources, model, options, tiles, sum(counts), started)
    shutil.rmtree(folder, ignore_errors=True)
    return open_index(output), run


def index_summary(
    rasters: Sequence[Path],
    bundle: Path,
    output: Path,
    options: IndexOptions,
    reading: Reading,
    cluster: Cluster,
    *,
    progress: bool = True,
) -> str:
    """`index_on_dask` with a progress bar; returns what ``sargeo index`` prints."""
    update, close = progress_bar(progress, "embedding tiles")
    try:
        index, run = index_on_dask(
            rasters, bundle, output, options, reading, cluster, progress=update
        )
    finally:
        close()
    m = index.manifest
    if run is None:
        return f"index {output} is up to date ({m['count']} tiles); reused"
    rate = m["tiles_in_grid"] / m["seconds"] if m["seconds"] else float("nan")
    return (
        f"indexed {len(m['sources'])} raster(s): {m['count']} tiles embedded, {m['skipped']} skipped"
        f" as mostly nodata, in {m['seconds']:.1f} s ({rate:.1f} tiles/s)\n{run.summary()}\n"
        f"index: {output} (footprints: {output / 'tiles.gpkg'})"
    )
