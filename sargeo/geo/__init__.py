"""Rasters and tiles: opening SAR rasters, radiometry, masks, speckle filters, tiling. No torch."""

import os

# GDAL's block cache absorbs the overlap between neighbouring tiles; bounding it keeps memory flat
# whatever the raster size. Set before GDAL reads anything; a user's own GDAL_CACHEMAX wins.
os.environ.setdefault("GDAL_CACHEMAX", "512")
