"""The CLI's side of inference: rasters opened by `sargeo.geo`, fed to the torch-free `sargeo.runtime`.

The QGIS plugin replaces this package with its own thin layer over GDAL and QGIS layers; everything
else (bundles, preprocessing, the embedding index, search, GeoPackage and heatmap writing) is the
runtime's and shared.
"""
