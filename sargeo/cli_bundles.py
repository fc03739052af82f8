"""The commands over model bundles: ``sargeo export``, ``sargeo index`` and ``sargeo search``.

Parsers and handlers only; the work is `sargeo.exporting`'s and `sargeo.inference`'s. Registered by
`sargeo.cli` beside the other commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sargeo.errors import InputError, NotBuiltYetError, OptionError
from sargeo.records import UNITS
from sargeo.scale.cluster import add_arguments as add_cluster_arguments

if TYPE_CHECKING:
    from sargeo.inference.commands import Reading
    from sargeo.runtime.index import IndexOptions


EXPORTABLE = ("clip", "coca", "gpt")  # the models `sargeo export` writes bundles of in this version


def _run_export(args: argparse.Namespace) -> int:
    if args.task in ("coca", "gpt"):
        if args.task == "coca":
            from sargeo.exporting.coca import export_coca as export
        else:
            from sargeo.exporting.gpt_bundle import export_gpt as export

        for flag in ("model", "prompt"):
            if getattr(args, flag):
                raise OptionError(flag, f"is not available for {args.task} bundles yet")
        for flag in ("eval_data", "max_images"):
            if getattr(args, flag) is not None and not args.int8:
                raise OptionError(flag, f"measures int8 {args.task} bundles: give it with --int8")
        print(
            export(
                Path(args.model_path),
                Path(args.output),
                int8=args.int8,
                eval_data=Path(args.eval_data) if args.eval_data else None,
                max_images=args.max_images,
                exporter=args.exporter,
                overwrite=args.overwrite,
            ).summary()
        )
        return 0
    if args.task not in EXPORTABLE:
        raise NotBuiltYetError(f"'sargeo export {args.task}' is not built yet in this version")
    from sargeo.exporting.clip import export_clip

    result = export_clip(
        Path(args.model_path),
        Path(args.output),
        int8=args.int8,
        model_name=args.model,
        exporter=args.exporter,
        eval_data=Path(args.eval_data) if args.eval_data else None,
        max_images=200 if args.max_images is None else args.max_images,
        prompts=args.prompt,
        overwrite=args.overwrite,
    )
    print(result.summary())
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``sargeo export {clip,coca,gpt} RUN_DIR|CHECKPOINT -o export/NAME [--int8]``."""
    p = sub.add_parser("export", help="export a model to an ONNX bundle (clip, coca, gpt)")
    p.add_argument("task", choices=("clip", "coca", "gpt"), help="which model")
    p.add_argument(
        "model_path",
        metavar="RUN_DIR|CHECKPOINT",
        help="a run folder, a checkpoint, or an open_clip checkpoint (with --model)",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="bundle folder (export/NAME)"
    )
    p.add_argument("--int8", action="store_true", help="quantise the graphs to int8")
    p.add_argument(
        "--model",
        default=None,
        metavar="CONFIG",
        help="model config of a plain open_clip checkpoint (sar-rs-clip-vit-l-14, or a JSON file)",
    )
    p.add_argument(
        "--exporter", choices=("dynamo", "legacy"), default="dynamo", help="torch's ONNX exporter"
    )
    p.add_argument(
        "--eval-data",
        default=None,
        metavar="CSV|JSONL|DIR",
        help="data to check and measure on (default: the run's test split): clip, a caption CSV"
        " or corpus; coca and gpt with --int8, the narrator's captions.jsonl or qa.jsonl or corpus",
    )
    p.add_argument(
        "--max-images",
        type=int,
        default=None,
        metavar="N",
        help="evaluation images used (clip 200; int8 coca 50, gpt 8)",
    )
    p.add_argument(
        "--prompt",
        action="append",
        default=None,
        metavar="TEMPLATE",
        help="search prompt template, {} is the query (repeat for several; default '{}')",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_export)


def _polarisations(text: str) -> tuple[str, ...]:
    """Parse ``VV,VH``."""
    names = tuple(p.strip().upper() for p in text.split(",") if p.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected band names like VV,VH, got {text!r}")
    return names


def _add_reading(p: argparse.ArgumentParser) -> None:
    """Options shared by index and search: how rasters are read and cut into tiles."""
    p.add_argument("--size", type=int, default=256, metavar="PX", help="tile size in pixels (256)")
    p.add_argument("--overlap", type=int, default=0, metavar="PX", help="tile overlap in pixels")
    p.add_argument(
        "--max-nodata", type=float, default=0.5, help="skip tiles with more nodata than this share"
    )
    p.add_argument("--mosaic", action="store_true", help="combine the rasters into one mosaic")
    p.add_argument("--crs", default=None, metavar="EPSG", help="read the rasters in this CRS")
    p.add_argument(
        "--res", dest="resolution", type=float, default=None, metavar="M", help="target resolution"
    )
    p.add_argument("--units", default=None, choices=UNITS, help="override the detected units")
    p.add_argument(
        "--polarisations",
        type=_polarisations,
        default=None,
        metavar="LIST",
        help="name the bands (VV,VH) where the raster does not",
    )
    p.add_argument("--allow-pixel-coords", action="store_true", help="accept rasters without a CRS")
    p.add_argument("--batch", type=int, default=32, metavar="N", help="tiles per inference call")
    p.add_argument("--readers", type=int, default=2, metavar="N", help="reader threads (2)")
    p.add_argument(
        "--threads", type=int, default=None, metavar="N", help="inference threads (all cores)"
    )


def _options(args: argparse.Namespace) -> tuple[IndexOptions, Reading]:
    from sargeo.inference.commands import Reading
    from sargeo.runtime.index import IndexOptions

    options = IndexOptions(
        size=args.size,
        overlap=args.overlap,
        max_nodata=args.max_nodata,
        batch=args.batch,
        readers=args.readers,
        threads=args.threads,
    )
    reading = Reading(
        mosaic=args.mosaic,
        crs=args.crs,
        resolution=args.resolution,
        units=args.units,
        polarisations=args.polarisations,
        allow_pixel_coords=args.allow_pixel_coords,
    )
    return options, reading


def _run_index(args: argparse.Namespace) -> int:
    from sargeo.inference.commands import index_rasters
    from sargeo.scale.cluster import from_arguments

    options, reading = _options(args)
    cluster = from_arguments(args)
    if cluster.enabled:
        from sargeo.scale.index import index_summary

        rasters = [Path(p) for p in args.rasters]
        print(
            index_summary(
                rasters,
                Path(args.bundle),
                Path(args.output),
                options,
                reading,
                cluster,
                progress=not args.quiet,
            )
        )
        return 0
    print(
        index_rasters(
            [Path(p) for p in args.rasters],
            Path(args.bundle),
            Path(args.output),
            options,
            reading,
            progress=not args.quiet,
        )
    )
    return 0


def add_index(sub: argparse._SubParsersAction) -> None:
    """``sargeo index RASTER... --bundle DIR -o INDEX``."""
    p = sub.add_parser("index", help="tile embeddings and footprints for text search")
    p.add_argument("rasters", nargs="+", metavar="RASTER", help="rasters (GeoTIFF, VRT, SAFE...)")
    p.add_argument("--bundle", required=True, metavar="DIR", help="a CLIP bundle (export/NAME)")
    p.add_argument("-o", "--output", required=True, metavar="INDEX", help="index folder")
    _add_reading(p)
    add_cluster_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_index)


def _run_search(args: argparse.Namespace) -> int:
    from sargeo.inference.commands import read_queries, search_rasters

    items = list(args.items)
    queries_file = Path(args.queries) if args.queries else None
    if queries_file is None:
        if len(items) < 2:
            raise InputError('give INDEX|RASTER... and "text", or --queries FILE')
        text: str | None = items.pop()
    else:
        text = None
    options, reading = _options(args)
    print(
        search_rasters(
            [Path(p) for p in items],
            read_queries(text, queries_file),
            Path(args.bundle),
            Path(args.output),
            k=args.k,
            heatmap_path=Path(args.heatmap) if args.heatmap else None,
            backend=args.backend,
            options=options,
            reading=reading,
            extra_inputs=[queries_file] if queries_file else [],
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    )
    return 0


def add_search(sub: argparse._SubParsersAction) -> None:
    """``sargeo search INDEX|RASTER... "text" --bundle DIR -o OUT.gpkg [-k N] [--queries FILE]``."""
    p = sub.add_parser("search", help="free-text search over an index or rasters")
    p.add_argument(
        "items",
        nargs="+",
        metavar='INDEX|RASTER... "text"',
        help="an index folder or rasters (indexed on the fly), then the query",
    )
    p.add_argument("--bundle", required=True, metavar="DIR", help="a CLIP bundle (export/NAME)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.gpkg", help="results GeoPackage")
    p.add_argument("-k", type=int, default=10, metavar="N", help="results per query (10)")
    p.add_argument("--queries", default=None, metavar="FILE", help="several queries, one per line")
    p.add_argument(
        "--heatmap", default=None, metavar="OUT.tif", help="also write similarity on the tile grid"
    )
    p.add_argument(
        "--backend",
        choices=("numpy", "faiss", "auto", "faiss-hnsw", "faiss-ivf"),
        default="numpy",
        help="search engine: exact (numpy, faiss, auto) or approximate (faiss-hnsw, faiss-ivf)",
    )
    _add_reading(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_search)
