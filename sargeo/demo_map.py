"""The demo's map: a SAR scene with text-search hits, similarity heatmaps and tile captions, as a PNG.

One panel per query: the scene in grey (dB on the fixed display range), the query's similarity heatmap
over it, its top hits outlined and numbered by rank, the synthetic scene's true objects as dots; captions (when the scene was captioned) are listed
under the panels. Everything is drawn in the scene's map coordinates, read from the GeoPackages and
GeoTIFFs the commands wrote, so the PNG shows exactly what a GIS would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DB_RANGE = (-25.0, 5.0)


def _scene(path: Path) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The scene's first band, downsampled for display, and its extent (left, right, bottom, top)."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        step = max(1, max(src.width, src.height) // 1024)
        band = src.read(
            1, out_shape=(src.height // step, src.width // step), resampling=Resampling.average
        )
        b = src.bounds
    return band.astype(np.float32), (b.left, b.right, b.bottom, b.top)


def draw_map(
    scene: Path, search: Path, heatmap: Path, out: Path, *, captions: Path | None = None
) -> Path:
    """Draw the map of ``search`` hits (and ``heatmap``, ``captions``) over ``scene`` into ``out``."""
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio

    band, extent = _scene(scene)
    hits = gpd.read_file(search, layer="search")
    queries = list(dict.fromkeys(hits["query"]))
    with rasterio.open(heatmap) as src:
        heat = src.read().astype(np.float32)
        hb = src.bounds
    fig, axes = plt.subplots(1, len(queries), figsize=(6 * len(queries), 6.4), squeeze=False)
    for i, (ax, query) in enumerate(zip(axes[0], queries, strict=True)):
        ax.imshow(band, cmap="gray", vmin=DB_RANGE[0], vmax=DB_RANGE[1], extent=extent)
        layer = ax.imshow(
            heat[min(i, len(heat) - 1)], cmap="magma", alpha=0.45,
            extent=(hb.left, hb.right, hb.bottom, hb.top),
        )  # fmt: skip
        truth = scene.parent / "objects.gpkg"
        if truth.exists():
            ships = gpd.read_file(truth)
            ships.centroid.plot(ax=ax, color="yellow", markersize=4, label="objects (truth)")
            ax.legend(loc="lower left", fontsize=7)
        mine = hits[hits["query"] == query].sort_values("rank")
        mine.boundary.plot(ax=ax, color="cyan", linewidth=1.5)
        for _, hit in mine.iterrows():
            x, y = hit.geometry.centroid.coords[0]
            ax.annotate(str(hit["rank"]), (x, y), color="cyan", ha="center", va="center",
                        fontsize=12, weight="bold")  # fmt: skip
        ax.set_title(f'"{query}": top {len(mine)} tiles', fontsize=10)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.tick_params(labelsize=7)
        fig.colorbar(layer, ax=ax, fraction=0.04, label="cosine similarity")
    if captions is not None and captions.exists():
        tiles = gpd.read_file(captions, layer="captions")
        text = "\n".join(
            f"{row.get('tile_id', i)}: {row['caption']}" for i, row in tiles.head(6).iterrows()
        )
        fig.text(0.01, 0.0, "captions (first tiles):\n" + text, fontsize=7, va="bottom")
    fig.suptitle(
        f"{scene.parent.name}: text search, CRS {hits.crs.to_string() if hits.crs else '?'}"
    )
    fig.tight_layout(rect=(0, 0.12 if captions is not None and captions.exists() else 0, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
