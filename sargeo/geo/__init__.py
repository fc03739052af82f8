"""Rasters and tiles: opening SAR rasters, radiometry, masks, speckle filters, tiling. No torch."""
