"""``sargeo ask RASTER "question" --checkpoint RUN_DIR|--bundle DIR -o OUT.gpkg [--regions VECTOR |
--extent ...]``.

Parser and handler only; the work is `sargeo.inference.ask`'s. Registered by `sargeo.cli`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sargeo.errors import OptionError
from sargeo.records import UNITS


def _extent(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected XMIN,YMIN,XMAX,YMAX, got {text!r}") from exc
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected XMIN,YMIN,XMAX,YMAX, got {text!r}")
    return values[0], values[1], values[2], values[3]


def _run_ask(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.bundle is None):
        raise OptionError(
            "checkpoint",
            "give --checkpoint (a SAR-GPT run or checkpoint) or --bundle (one of them)",
        )
    from sargeo.inference.ask import ask_raster
    from sargeo.inference.commands import Reading

    if args.threads and args.checkpoint is not None:
        import torch

        torch.set_num_threads(args.threads)
    reading = Reading(
        crs=args.crs,
        resolution=args.resolution,
        units=args.units,
        polarisations=tuple(p.strip().upper() for p in args.polarisations.split(","))
        if args.polarisations
        else None,
        allow_pixel_coords=args.allow_pixel_coords,
    )
    summary = ask_raster(
        Path(args.raster),
        args.question,
        Path(args.checkpoint) if args.checkpoint else None,
        Path(args.output),
        bundle=Path(args.bundle) if args.bundle else None,
        threads=args.threads,
        regions=Path(args.regions) if args.regions else None,
        extent=args.extent,
        tile_size=args.size,
        max_new_tokens=args.max_new_tokens,
        reading=reading,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(summary)
    return 0


def add_ask(sub: argparse._SubParsersAction) -> None:
    """The ``ask`` subcommand."""
    p = sub.add_parser("ask", help="ask SAR-GPT a question about regions of a raster")
    p.add_argument("raster", metavar="RASTER", help="a GeoTIFF/COG/VRT or Sentinel-1 SAFE folder")
    p.add_argument("question", metavar="QUESTION", help='the question, e.g. "How many ships?"')
    p.add_argument(
        "--checkpoint", default=None, metavar="RUN_DIR", help="a SAR-GPT run or checkpoint"
    )
    p.add_argument(
        "--bundle",
        default=None,
        metavar="DIR",
        help="a gpt bundle (export/NAME): the torch-free runtime",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.gpkg", help="answers (GeoPackage)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--regions", default=None, metavar="VECTOR", help="one answer per polygon")
    where.add_argument(
        "--extent", type=_extent, default=None, metavar="XMIN,YMIN,XMAX,YMAX",
        help="one region in the raster's CRS",
    )  # fmt: skip
    p.add_argument(
        "--size", type=int, default=512, metavar="PX",
        help="without regions or extent: one answer per tile of this size (512)",
    )  # fmt: skip
    p.add_argument(
        "--max-new-tokens", type=int, default=None, metavar="N", help="answer length cap"
    )
    p.add_argument("--crs", default=None, metavar="EPSG", help="read the raster in this CRS")
    p.add_argument("--res", dest="resolution", type=float, default=None, metavar="M")
    p.add_argument("--units", default=None, choices=UNITS, help="override the detected units")
    p.add_argument("--polarisations", default=None, metavar="LIST", help="name the bands (VV,VH)")
    p.add_argument("--allow-pixel-coords", action="store_true", help="accept rasters without a CRS")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="inference threads")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_ask)
