"""Write the worked notebooks from their cell sources (kept here so they diff well and have no outputs).

Run ``.venv/bin/python scripts/make_notebooks.py`` after editing; the tests execute the notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

TILING = [
    (
        "md",
        "# Tiling a georeferenced SAR raster\n\n"
        "`sargeo.geo` cuts a SAR raster (a file, a mosaic or a Sentinel-1 SAFE product) into tiles. "
        "Each tile keeps its georeference (CRS, transform, bounds, pixel spacing) beside the pixels, "
        "and the tile index is a GeoPackage that QGIS opens directly. The same runs from the shell as "
        "`sargeo tile RASTER -o DIR --size 128 --overlap 32`.",
    ),
    (
        "code",
        "import os, tempfile\n"
        "from pathlib import Path\n\n"
        "import geopandas as gpd\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "import rasterio\n\n"
        "from sargeo.geo.tiling import TilingOptions, tile_to_folder\n\n"
        "data = Path('..').resolve().parent / 'shared' / 'data' / 'sen1floods11'\n"
        "out = Path(os.environ.get('SARGEO_NOTEBOOK_OUT') or tempfile.mkdtemp()) / 'tiles'\n"
        "if data.is_dir():\n"
        "    raster = data / 'Spain_7370579_S1Hand.tif'\n"
        "else:  # no real sample on this machine: a generated raster instead\n"
        "    import sys; sys.path.insert(0, '..')\n"
        "    from tests.data.make_rasters import make_all\n"
        "    raster = make_all(out.parent / 'rasters')['geographic_db']\n"
        "raster",
    ),
    ("md", "Tile it: 128 px tiles with 32 px overlap, in dB, clipped to a fixed range."),
    (
        "code",
        "result = tile_to_folder([raster], out, TilingOptions(size=128, overlap=32, clip=(-30.0, 5.0)),"
        " overwrite=True)\n"
        "print(result.summary())\n"
        "tiles = gpd.read_file(result.index, layer='tiles')\n"
        "tiles[['tile_id', 'crs', 'pixel_spacing_x', 'pixel_spacing_y', 'polarisations', 'units',"
        " 'valid_fraction']].head()",
    ),
    (
        "md",
        "The scene's VV band with the tile footprints on top: the grid covers the right and bottom edges.",
    ),
    (
        "code",
        "with rasterio.open(raster) as src:\n"
        "    vv = src.read(1)\n"
        "    extent = [src.bounds.left, src.bounds.right, src.bounds.bottom, src.bounds.top]\n"
        "fig, ax = plt.subplots(figsize=(7, 7))\n"
        "ax.imshow(vv, cmap='gray', vmin=-25, vmax=0, extent=extent)\n"
        "tiles.boundary.plot(ax=ax, color='orange', linewidth=0.8)\n"
        "ax.set_title('VV (dB) and the tile grid'); plt.show()",
    ),
    (
        "md",
        "A few chips as written to disk: each is a standalone GeoTIFF with its own georeference.",
    ),
    (
        "code",
        "fig, axes = plt.subplots(1, 4, figsize=(14, 3.5))\n"
        "for ax, row in zip(axes, tiles.iloc[::6].itertuples()):\n"
        "    with rasterio.open(out / row.chip) as chip:\n"
        "        ax.imshow(chip.read(1), cmap='gray', vmin=-25, vmax=0)\n"
        "        ax.set_title(f'{row.tile_id}\\n{chip.crs.to_string()}', fontsize=9)\n"
        "    ax.axis('off')\n"
        "plt.show()",
    ),
]


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook from (kind, source) pairs, without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    return nb


if __name__ == "__main__":
    NOTEBOOKS.mkdir(exist_ok=True)
    nbformat.write(build(TILING), NOTEBOOKS / "tiling.ipynb")
    print(f"wrote {NOTEBOOKS / 'tiling.ipynb'}")
