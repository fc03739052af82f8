"""Text search over an embedding index, and its results as a styled GeoPackage layer.

Each result is a tile footprint in the raster's CRS with its provenance: the query, score (cosine
similarity), rank, model and bundle sha256, tile id, raster, pixel window, pixel spacing and
acquisition time. The layer's default QGIS style grades the fills by score and labels the rank.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sargeo.errors import InputError
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.gpkg import Field, Ring, Style, write_polygons
from sargeo.runtime.index import TILE_FIELDS, EmbeddingIndex
from sargeo.runtime.search import Searcher
from sargeo.runtime.styles import graduated_qml

LAYER = "search"


@dataclass(frozen=True)
class Hit:
    """One search result: the query, its rank (1 = best), score and the index row."""

    query: str
    rank: int
    score: float
    row: int


def check_compatible(index: EmbeddingIndex, model: ClipModel) -> None:
    """Text embeddings must come from the model that embedded the tiles (int8 or fp32 alike)."""
    built = index.manifest["bundle"]
    if built["embedding_space"] != model.bundle.embedding_space:
        raise InputError(
            f"index {index.folder} was built with the bundle {built['name']} (sha256"
            f" {built['sha256'][:12]}), whose weights differ from {model.bundle.name}'s: search it"
            " with that bundle, or index the rasters again with this one"
        )


def search(
    index: EmbeddingIndex,
    model: ClipModel,
    queries: Sequence[str],
    k: int,
    *,
    backend: str = "numpy",
    searcher: Searcher | None = None,
) -> list[Hit]:
    """The k best tiles of each query, best first."""
    check_compatible(index, model)
    vectors = model.embed_texts(queries)
    engine = searcher or Searcher(index.vectors, backend)
    scores, rows = engine.top_k(vectors, k)
    return [
        Hit(query, rank + 1, float(scores[q, rank]), int(rows[q, rank]))
        for q, query in enumerate(queries)
        for rank in range(scores.shape[1])
    ]


def search_above(
    index: EmbeddingIndex,
    model: ClipModel,
    queries: Sequence[str],
    threshold: float,
    *,
    searcher: Searcher | None = None,
) -> list[Hit]:
    """Every tile scoring at least ``threshold`` (cosine similarity) for each query, best first."""
    check_compatible(index, model)
    engine = searcher or Searcher(index.vectors)
    scores = engine.scores(model.embed_texts(queries))
    hits = []
    for q, query in enumerate(queries):
        rows = np.flatnonzero(scores[q] >= threshold)
        order = rows[np.lexsort((rows, -scores[q, rows]))]
        hits += [Hit(query, r + 1, float(scores[q, row]), int(row)) for r, row in enumerate(order)]
    return hits


FIELDS = [
    Field("query", "TEXT"),
    Field("rank", "MEDIUMINT"),
    Field("score", "REAL"),
    *TILE_FIELDS,
    Field("pixel_spacing", "REAL"),
    Field("model", "TEXT"),
    Field("bundle_sha256", "TEXT"),
]


def _values(index: EmbeddingIndex, hit: Hit, model: ClipModel) -> list[Any]:
    tile = index.tile_values(hit.row)
    t = index.tiles[hit.row]
    spacing = float(np.sqrt(float(t["spacing_x"]) * float(t["spacing_y"])))
    return [
        hit.query,
        hit.rank,
        round(hit.score, 6),
        *tile,
        spacing,
        model.bundle.name,
        model.bundle.sha256,
    ]


def hit_style(hits: Sequence[Hit]) -> Style:
    """The default style of a results layer: graduated on score, rank as label."""
    return Style(
        "sargeo search",
        graduated_qml("score", [h.score for h in hits], label="rank"),
        "graduated colours on score (yellow: best match), rank as label",
    )


def hit_features(
    index: EmbeddingIndex, hits: Sequence[Hit], model: ClipModel
) -> Iterator[tuple[Ring, list[Any]]]:
    """(footprint, `FIELDS` values) of each hit, in the index raster's CRS."""
    for hit in hits:
        yield index.footprint(hit.row), _values(index, hit, model)


def write_hits(path: Path, index: EmbeddingIndex, hits: Sequence[Hit], model: ClipModel) -> int:
    """Write the hits as GeoPackage layer ``search`` with its default style; returns the count."""
    features = hit_features(index, hits, model)
    return write_polygons(path, LAYER, index.crs(), FIELDS, features, hit_style(hits))
