"""sargeo.synth: a seeded synthetic SAR world with exact ground truth, and its paired optical image.

A scene is a georeferenced square grid in a UTM zone (default 10 m pixels). Its layout (coastline and
sea, rivers, lakes, urban areas on a street grid, roads and bridges, harbours with piers, airports with
runways, and the objects: ships, aircraft, storage tanks, offshore platforms, wind turbines, oil slicks)
is vector geometry drawn from the seed; farmland parcels, forest and bare soil come from seeded noise
fields evaluated at absolute pixel coordinates. Pixels are made block by block (rasterise, simulate the
radar, render the optical image, write the window), so memory stays bounded at 20000 px and the output
does not depend on the block size. Speckle is correlated at the resolution cell, as in Sentinel-1 GRD
(20 m on 10 m pixels; `sargeo.synth.speckle`): each block's noise is drawn with a halo. The radar
numbers live in ``backscatter.json`` and the classes in ``classes.json``: both are data, tunable
without code changes.

Output folder layout (stable: ``sargeo.datasets.synthetic`` reads it)::

    DIR/
      synth.json              run manifest: format version, options, the class table, scene folders
      scene_0000/
        sar.tif               float32, 2 bands: band 1 "VV", band 2 "VH" (band descriptions), sigma0 in
                              dB (default) or linear power: tag ``units`` = "dB" | "linear". Dataset tags:
                              ACQUISITION_START_TIME (ISO 8601, UTC), INCIDENCE_NEAR / INCIDENCE_FAR
                              (degrees), PASS (ascending | descending), LOOK_SIDE, LOOKS, SENSOR,
                              POLARISATIONS ("VV,VH"), SCENE_ID, SEED. No nodata: every pixel is valid.
        optical.tif           uint8, 3 bands R, G, B: the same scene on the same grid, no speckle.
        mask.tif              uint8, 1 band: class value per pixel (values and names in scene.json
                              "classes" and in synth.json; objects are classes too, drawn last).
        coco.json             COCO detection file: one image (file_name "sar.tif", with "optical" and
                              "mask" file names), categories with fixed ids (same in every scene), and
                              annotations: id, image_id, category_id, bbox [x, y, w, h] in pixels (the
                              exact extent of the object's pixels in mask.tif), area (its pixel count),
                              iscrowd 0, segmentation (footprint polygon in pixel coordinates), obox
                              [cx, cy, length, width, angle_deg] in pixels (angle: heading clockwise
                              from image up, as `sargeo.records.Box.obox`), attributes (class,
                              length_m, width_m, heading_deg, point_target, and per class: ships
                              ship_type, status (moored | anchored | under_way), moored, under_way,
                              speed_kn, wake; aircraft parked; tanks diameter_m; slicks source...).
        objects.gpkg          layer "objects": one polygon feature per COCO annotation (same "id"), the
                              footprint in the scene CRS, with category, category_id, bbox_x/y/w/h,
                              area_px, obox columns (cx, cy, length_px, width_px, angle_deg),
                              attributes (the COCO attributes as JSON), one column per class-specific
                              attribute (text, or a number with NaN where absent; booleans as 0/1),
                              and lon/lat of the centroid (EPSG:4326).
        sar_8bit.tif          only with --render hrsid (an ``amplitude_u8`` rendering of sensors.json):
                              VV as 8-bit amplitude with a fixed linear stretch (saturation_db maps to
                              255), JPEG-compressed, three identical bands, as HRSID's images; the
                              stretch is in scene.json "render".
        scene.json            scene parameters: id, seed, size, pixel_spacing, crs (EPSG:326xx/327xx),
                              transform (a, b, c, d, e, f), bounds, centre_lonlat, units,
                              polarisations, looks, k_texture, incidence (near, far, reference), pass,
                              look_side, acquisition_start_time, sensor, sensor_preset,
                              resolution_m, render (name, kind, stretch), speckle,
                              backscatter_sha256, classes (value -> name), class_pixels (value ->
                              count), object_counts, layout_counts (rivers, harbours...), files,
                              optical_captions (list of one or two captions of optical.tif in the
                              style of RSICD / UCM-captions: colours, object counts and positions
                              from the exact ground truth; `sargeo.synth.optical_caption`). Added
                              in format version 1 without a bump: readers must accept its absence.

Pixel convention: pixel (col, row) covers x in [col, col + 1), y in [row, row + 1); COCO boxes use it.
"""

from __future__ import annotations

FORMAT_VERSION = 1
"""Version of the folder layout above; bumped on any incompatible change."""

SCENE_FILES: dict[str, str] = {
    "sar": "sar.tif",
    "optical": "optical.tif",
    "mask": "mask.tif",
    "coco": "coco.json",
    "objects": "objects.gpkg",
    "scene": "scene.json",
}
"""File name of each output of a scene folder."""

DISPLAY_FILE = "sar_8bit.tif"
"""The 8-bit amplitude rendering of a scene (only with an ``amplitude_u8`` rendering, ``--render``)."""

MANIFEST = "synth.json"
"""Name of the run manifest at the top of the output folder."""

SAR_UNITS: tuple[str, ...] = ("dB", "linear")
"""Units ``sar.tif`` can be written in (sigma0 in dB, or linear power)."""


def scene_dirname(index: int) -> str:
    """Folder name of scene ``index`` (``scene_0000``...)."""
    return f"scene_{index:04d}"
