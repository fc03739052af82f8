"""``sargeo tile --workers N | --scheduler ADDRESS``: the tile grid in partitions of tile rows on Dask.

Each task opens its raster itself (once per worker process), cuts its rows into chips and writes a
part folder: ``chips/``, a ``tiles.gpkg`` of its tiles and ``part.json``. The merge links the chips
into the output's ``chips/`` and appends the parts' GeoPackages in grid order, so the output is the
single-process run's: the same chips, tile ids, tile index (same features, same order) and manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import rasterio

from sargeo.atomic import atomic_dir, check_not_an_input, check_output_dir
from sargeo.geo.grid import crs_text
from sargeo.geo.index import LAYER, read_tile_index, write_tile_index
from sargeo.geo.readers import RasterSource
from sargeo.geo.tiling import (
    CHIPS,
    INDEX,
    ChipWriter,
    TilingOptions,
    TilingResult,
    check_tiles,
    group_prefixes,
    open_group,
    source_groups,
    source_megabytes,
    tile_size,
    write_manifest,
)
from sargeo.records import Tile
from sargeo.runtime.grid import Window, tile_windows
from sargeo.runtime.pipeline import Progress
from sargeo.runtime.sources import fingerprint_files
from sargeo.scale.cluster import Cluster, cached, connect
from sargeo.scale.parts import (
    Partition,
    Run,
    merge_gpkg,
    part_path,
    parts_folder,
    run_partitions,
    split,
    writing_part,
)

PART = "part.json"


@dataclass(frozen=True)
class TileJob:
    """What every task needs: the source groups, their tile-id prefixes, the options and the CRS of
    the footprints (the first source's, as in the single-process tile index)."""

    groups: tuple[tuple[str, ...], ...]
    prefixes: tuple[str, ...]
    options: TilingOptions
    crs: str


def _rows(source: RasterSource, options: TilingOptions) -> list[list[Window]]:
    size = tile_size(source, options)
    return tile_windows(source.grid.width, source.grid.height, size, options.overlap)


def tile_part(partition: Partition, part: str, job: TileJob) -> int:
    """Cut tile rows ``[start, stop)`` of one source into a part folder (runs on a worker)."""
    group = [Path(p) for p in job.groups[partition.source]]
    key = (job.groups[partition.source], job.options)
    source = cached("raster", key, lambda: open_group(group, job.options))
    rows = _rows(source, job.options)
    with writing_part(Path(part)) as tmp:
        chips = tmp / CHIPS
        chips.mkdir(parents=True)
        writer = ChipWriter(source, job.options, chips, job.prefixes[partition.source])
        tiles: list[Tile] = []
        skipped = 0
        with rasterio.Env(), source.open_reader() as reader:
            for r in range(partition.start, partition.stop):
                for c, window in enumerate(rows[r]):
                    tile = writer.process(window, f"r{r:04d}_c{c:04d}", reader.read(window))
                    if tile is None:
                        skipped += 1
                    else:
                        tiles.append(tile)
        if tiles:
            write_tile_index(tiles, tmp / INDEX, crs=job.crs)
        (tmp / PART).write_text(json.dumps({"tiles": len(tiles), "skipped": skipped}))
    return len(tiles) + skipped


def _link_chips(part: Path, chips: Path) -> None:
    """Hard-link a part's chips into the output (a copy across filesystems); the part stays whole."""
    for chip in sorted((part / CHIPS).iterdir()):
        try:
            os.link(chip, chips / chip.name)
        except OSError:
            shutil.copy2(chip, chips / chip.name)


def tile_on_dask(
    paths: list[Path],
    output: Path,
    options: TilingOptions,
    cluster: Cluster,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> tuple[TilingResult, Run]:
    """`sargeo.geo.tiling.tile_to_folder` on a Dask cluster, resumable; same output."""
    options.check()
    cluster.check()
    check_output_dir(output, overwrite)
    check_not_an_input(output, paths)
    start = time.perf_counter()
    groups = source_groups(paths, options)
    sources = [open_group(group, options) for group in groups]
    grids = [_rows(s, options) for s in sources]
    partitions = split([len(g) for g in grids], cluster.partition, [len(g[0]) for g in grids])
    job = TileJob(
        tuple(tuple(str(p) for p in g) for g in groups),
        tuple(group_prefixes(groups)),
        replace(options, workers=1),  # one reader thread per task: the cluster is the parallelism
        crs_text(sources[0].grid.crs),  # the footprints' CRS, as the single-process tile index's
    )
    key = {
        "job": "tile",
        "groups": job.groups,
        "fingerprint": fingerprint_files(paths),
        "options": asdict(job.options),
        "partition": cluster.partition,
    }
    with connect(cluster) as client:  # the parts folder appears once a cluster is there
        folder = parts_folder(output, key)
        run = run_partitions(client, tile_part, partitions, folder, "", job, progress=progress)
    with atomic_dir(output, inputs=paths, overwrite=overwrite) as tmp:
        chips = tmp / CHIPS
        chips.mkdir()
        parts = [part_path(folder, p.number) for p in partitions]
        skipped = 0
        for part in parts:
            _link_chips(part, chips)
            skipped += int(json.loads((part / PART).read_text())["skipped"])
        merge_gpkg([part / INDEX for part in parts], LAYER, tmp / INDEX)
        tiles = read_tile_index(tmp / INDEX) if (tmp / INDEX).exists() else []
        check_tiles(tiles)
        write_manifest(tmp, sources, options, tiles, skipped)
    shutil.rmtree(folder, ignore_errors=True)
    megabytes = sum(source_megabytes(s) for s in sources)
    seconds = time.perf_counter() - start
    result = TilingResult(output, tiles, skipped, megabytes, seconds, [s.name for s in sources])
    return result, run
