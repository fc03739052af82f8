"""The commands over model bundles: ``sargeo export``, ``sargeo index`` and ``sargeo search``.

Parsers and handlers only; the work is `sargeo.exporting`'s and `sargeo.inference`'s. Registered by
`sargeo.cli` beside the other commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sargeo.errors import NotBuiltYetError


def _run_export(args: argparse.Namespace) -> int:
    if args.task != "clip":
        raise NotBuiltYetError(f"'sargeo export {args.task}' is not built yet in this version")
    from sargeo.exporting.clip import export_clip

    result = export_clip(
        Path(args.model_path),
        Path(args.output),
        int8=args.int8,
        model_name=args.model,
        exporter=args.exporter,
        eval_data=Path(args.eval_data) if args.eval_data else None,
        max_images=args.max_images,
        prompts=args.prompt,
        overwrite=args.overwrite,
    )
    print(result.summary())
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``sargeo export {clip,coca,gpt} RUN_DIR|CHECKPOINT -o export/NAME [--int8]``."""
    p = sub.add_parser("export", help="export a model to an ONNX bundle (clip; coca, gpt: not yet)")
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
        metavar="CSV|DIR",
        help="captions to check and measure on (default: the run's test split)",
    )
    p.add_argument(
        "--max-images", type=int, default=200, metavar="N", help="evaluation images used (200)"
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
