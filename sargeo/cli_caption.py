"""``sargeo caption``: parser and handler; the work is `sargeo.inference.caption`'s (a raster's tiles
or regions into a GeoPackage) or `sargeo.eval.generate`'s (an evaluation set's images into the
predictions JSONL of ``sargeo eval caption``). Registered by `sargeo.cli`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sargeo.cli_bundles import _add_reading, _options
from sargeo.errors import OptionError
from sargeo.scale.cluster import CAPTION_PARTITION, from_arguments
from sargeo.scale.cluster import add_arguments as add_cluster_arguments


def _decode(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "beam_width": args.beam,
        "max_length": args.max_length,
        "min_length": args.min_length,
        "length_penalty": args.length_penalty,
        "no_repeat_ngram_size": args.no_repeat_ngram,
    }


def _runner(args: argparse.Namespace, reading: Any) -> Any:
    """On Dask with ``--workers``/``--scheduler``, else None (here)."""
    cluster = from_arguments(args)
    if not cluster.enabled:
        return None
    from sargeo.scale.caption import dask_runner

    return dask_runner(
        Path(args.input),
        Path(args.checkpoint) if args.checkpoint else None,
        Path(args.bundle) if args.bundle else None,
        Path(args.output),
        reading,
        cluster,
        Path(args.regions) if args.regions else None,
    )


def _run_caption(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.bundle is None):
        raise OptionError("checkpoint", "or --bundle: give exactly one (a coca run or bundle)")
    if args.beam is not None and args.beam < 1:
        raise OptionError("beam", f"must be at least 1, got {args.beam}")
    output = Path(args.output)
    if output.suffix.lower() == ".jsonl":
        if args.checkpoint is None:
            raise OptionError("output", "PRED.jsonl needs --checkpoint (bundles caption rasters)")
        if args.workers is not None or args.scheduler is not None:
            raise OptionError("workers", "and --scheduler caption rasters; PRED.jsonl runs here")
        from sargeo.eval.generate import generate_predictions

        print(
            generate_predictions(
                Path(args.input),
                Path(args.checkpoint),
                output,
                split=args.split or None,
                decode=_decode(args),
                batch=args.batch,
                max_images=args.max_images,
                overwrite=args.overwrite,
            )
        )
        return 0
    from sargeo.inference.caption import CaptionOptions, caption_raster

    index_options, reading = _options(args)
    options = CaptionOptions(
        size=index_options.size,
        overlap=index_options.overlap,
        max_nodata=index_options.max_nodata,
        batch=index_options.batch,
        readers=index_options.readers,
        threads=index_options.threads,
        decode=_decode(args),
    )
    print(
        caption_raster(
            Path(args.input),
            Path(args.checkpoint) if args.checkpoint else None,
            output,
            bundle=Path(args.bundle) if args.bundle else None,
            regions=Path(args.regions) if args.regions else None,
            options=options,
            reading=reading,
            overwrite=args.overwrite,
            progress=not args.quiet,
            runner=_runner(args, reading),
        )
    )
    return 0


def add_caption(sub: argparse._SubParsersAction) -> None:
    """``sargeo caption RASTER --checkpoint RUN_DIR -o OUT.gpkg [--regions VECTOR]``, and
    ``sargeo caption CORPUS|captions.jsonl --checkpoint RUN_DIR -o PRED.jsonl [--split test]``."""
    p = sub.add_parser("caption", help="caption a raster's tiles or regions into a GeoPackage")
    p.add_argument(
        "input",
        metavar="RASTER",
        help="a raster; or, with -o PRED.jsonl, a corpus folder or captions.jsonl to caption",
    )
    p.add_argument("--checkpoint", default=None, metavar="RUN_DIR", help="a coca run or checkpoint")
    p.add_argument("--bundle", default=None, metavar="DIR", help="a CoCa bundle (ONNX)")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT.gpkg", help="GeoPackage (or PRED.jsonl)"
    )
    p.add_argument("--regions", default=None, metavar="VECTOR", help="caption these polygons")
    p.add_argument("--beam", type=int, default=None, metavar="K", help="beam width (1: greedy)")
    p.add_argument("--max-length", type=int, default=None, metavar="N", help="most tokens")
    p.add_argument("--min-length", type=int, default=None, metavar="N", help="fewest tokens")
    p.add_argument("--length-penalty", type=float, default=None, metavar="A", help="GNMT alpha")
    p.add_argument(
        "--no-repeat-ngram", type=int, default=None, metavar="N", help="block repeated n-grams"
    )
    p.add_argument(
        "--split", default="test", help="with PRED.jsonl: the split captioned (test; '' for all)"
    )
    p.add_argument(
        "--max-images", type=int, default=0, metavar="N", help="with PRED.jsonl: first N images"
    )
    _add_reading(p)
    add_cluster_arguments(p, CAPTION_PARTITION)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_caption)
