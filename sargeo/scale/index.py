"""``sargeo index --workers N | --scheduler ADDRESS``: a raster's tiles embedded in partitions on Dask.

Each task opens the rasters and the bundle itself, once per worker process (`cluster.cached`), embeds
a run of consecutive tiles of one raster and writes a part: a folder with its kept vectors
(``vectors.f16``, float16) and tile records (``tiles.npy``), the files of one shard of the sharded
index layout (`sargeo.runtime.shards`). The merge links each non-empty part's files into the index's
``shards/`` in grid order (a hard link: no vector passes through the client; a copy where the
filesystem has no links), then writes the manifest and the footprints: ``tiles.parquet``
(GeoParquet) always, ``tiles.gpkg`` up to `GPKG_LIMIT` tiles. So the index is the single-process one
in another layout: the same tiles, in the same order, under the same key (so that either run reuses
the other's index), embeddings equal to float tolerance (batches differ).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sargeo.atomic import atomic_dir, check_not_an_input
from sargeo.errors import InputError
from sargeo.inference.commands import Reading, progress_bar
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.index import (
    FOOTPRINTS,
    TILE_DTYPE,
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
from sargeo.runtime.shards import SHARDS, shard_paths
from sargeo.runtime.sources import WindowSource
from sargeo.scale.cluster import Cluster, cached, connect
from sargeo.scale.footprints import FOOTPRINTS_PARQUET, write_geoparquet
from sargeo.scale.parts import Partition, Run, part_path, parts_folder, run_partitions, split
from sargeo.scale.parts import writing_part as writing

SUFFIX = ".shard"
PART_VECTORS, PART_TILES = "vectors.f16", "tiles.npy"
GPKG_LIMIT = 1_000_000
"""Up to this many tiles a sharded index also has ``tiles.gpkg`` (for QGIS 3.22 without Parquet)."""


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
    save_part(Path(part), out[embedded.kept], tiles[embedded.kept])
    return int(embedded.kept.sum())


def save_part(part: Path, vectors: np.ndarray, tiles: np.ndarray) -> None:
    """Write a part folder (one shard's files), complete or not at all."""
    with writing(part) as tmp:
        tmp.mkdir()
        np.ascontiguousarray(vectors, np.float16).tofile(tmp / PART_VECTORS)
        np.save(tmp / PART_TILES, tiles, allow_pickle=False)


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (the part stays for a resume), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def merge_shards(folder: Path, parts: Sequence[Path]) -> tuple[np.ndarray, list[int]]:
    """Link the non-empty parts, in order, as ``folder``'s shards; returns the tile records and
    each shard's row count. Only the tile records are read (48 bytes a tile)."""
    (folder / SHARDS).mkdir()
    records: list[np.ndarray] = []
    for part in parts:
        tiles = np.load(part / PART_TILES, allow_pickle=False)
        if len(tiles) == 0:
            continue
        vectors_path, tiles_path = shard_paths(folder, len(records))
        _link(part / PART_VECTORS, vectors_path)
        _link(part / PART_TILES, tiles_path)
        records.append(tiles)
    tiles = np.concatenate(records) if records else np.zeros(0, TILE_DTYPE)
    return tiles, [len(r) for r in records]


def write_sharded(
    folder: Path,
    parts: Sequence[Path],
    sources: Sequence[WindowSource],
    model: ClipModel,
    options: IndexOptions,
    total: int,
    started: float,
) -> dict[str, Any]:
    """The sharded index of ``parts`` (in row order) in the empty ``folder``; returns its manifest.

    ``finish_index`` writes ``tiles.gpkg`` (when listed), this the GeoParquet footprints."""
    tiles, rows = merge_shards(folder, parts)
    gpkg = len(tiles) <= GPKG_LIMIT
    footprints = [FOOTPRINTS_PARQUET, *([FOOTPRINTS] if gpkg else [])]
    manifest = finish_index(
        folder, sources, model, options, tiles, total, started, shards=rows, footprints=footprints
    )
    write_geoparquet(open_index(folder), folder / FOOTPRINTS_PARQUET)
    return manifest


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
        job_key = {"job": "index", "key": key, "partition": cluster.partition, "parts": SUFFIX}
        folder = parts_folder(output, job_key)
        run = run_partitions(
            client, index_part, partitions, folder, SUFFIX, job,
            progress=progress, cancelled=cancelled,
        )  # fmt: skip
    with atomic_dir(output, inputs=[*files, bundle], overwrite=True) as tmp:
        parts = [part_path(folder, p.number, SUFFIX) for p in partitions]
        write_sharded(tmp, parts, sources, model, options, sum(counts), started)
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
        f"index: {output}, {len(m['shards'])} shards (footprints: "
        + ", ".join(str(output / name) for name in m["footprints"])
        + ")"
    )
