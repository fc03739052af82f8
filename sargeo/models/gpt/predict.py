"""Predictions for `sargeo eval vqa`: SAR-GPT answers every question of a ``qa.jsonl``, one at a time.

Each question is asked alone about its image (a fresh conversation), and the answer is written as a
record with the reference's ``image``, ``sample_id``, ``question`` and ``split``, so that
``sargeo eval vqa PRED --references qa.jsonl`` matches them. ``--types`` keeps some question types (the
HRSID comparison: ``count,presence``); free-form ``describe`` questions are skipped unless asked for. ``--max-images N`` answers the questions of the first N images only, and
``--write-references`` writes those questions with their reference answers, for ``sargeo eval vqa``.

``python -m sargeo.models.gpt.predict --checkpoint RUN --qa CORPUS/qa.jsonl --split test -o PRED.jsonl``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sargeo.atomic import atomic_file
from sargeo.errors import InputError, is_user_error, user_message
from sargeo.models.gpt.factory import load_gpt
from sargeo.models.gpt.generate import generate
from sargeo.models.gpt.model import SarGpt


def read_qa(path: Path, split: str | None, types: Sequence[str] | None) -> list[dict[str, Any]]:
    """The records of a ``qa.jsonl`` to answer (one split, some types; never ``describe``
    unless named)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    rows = [json.loads(line) for line in lines if line.strip()]
    keep = set(types) if types else None
    rows = [
        r
        for r in rows
        if (split is None or r.get("split") == split)
        and (r.get("type") in keep if keep else r.get("type") != "describe")
    ]
    if not rows:
        raise InputError(f"{path} has no question to answer (split {split}, types {types})")
    return rows


def predict_records(
    model: SarGpt, rows: Sequence[dict[str, Any]], root: Path, progress: bool = False
) -> list[dict[str, Any]]:
    """Answer each record's question about its image (paths relative to ``root``)."""
    from sargeo.train.data import read_image
    from sargeo.train.dataset import prepare_raw

    out = []
    images: dict[str, Any] = {}
    for row in tqdm(rows, disable=not progress, unit="question", leave=False):
        path = Path(row["image"])
        path = path if path.is_absolute() else root / path
        if str(path) not in images:
            images = {str(path): prepare_raw(read_image(path), model.preprocess)}
        answer = generate(model, images[str(path)], row["question"])
        record: dict[str, Any] = {
            k: row[k] for k in ("image", "sample_id", "split", "type") if k in row
        }
        record.update(question=row["question"], answer=answer.text)
        out.append(record)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m sargeo.models.gpt.predict", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="a SAR-GPT run folder or checkpoint")
    p.add_argument("--qa", required=True, help="the narrator's qa.jsonl")
    p.add_argument("--split", default=None, help="answer this split only")
    p.add_argument("--types", default=None, help="comma-separated question types (count,presence)")
    p.add_argument(
        "--max-images", type=int, default=0, help="answer the questions of the first N images only"
    )
    p.add_argument(
        "--write-references",
        default=None,
        metavar="JSONL",
        help="also write the questions answered, with their references (for eval vqa --references)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("-o", "--output", required=True, help="predictions JSONL")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        import warnings

        import torch
        from rasterio.errors import NotGeoreferencedWarning

        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # HRSID's JPEGs, as they are
        if args.threads:
            torch.set_num_threads(args.threads)
        qa = Path(args.qa)
        rows = read_qa(qa, args.split, args.types.split(",") if args.types else None)
        if args.max_images > 0:
            keep = list(dict.fromkeys(r["image"] for r in rows))[: args.max_images]
            rows = [r for r in rows if r["image"] in set(keep)]
        model = load_gpt(args.checkpoint)
        preds = predict_records(model, rows, qa.parent, progress=not args.quiet)
        with atomic_file(args.output, inputs=[qa, args.checkpoint]) as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in preds))
        if args.write_references:
            with atomic_file(args.write_references, inputs=[qa, args.checkpoint]) as tmp:
                tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    except Exception as exc:
        if not is_user_error(exc):
            raise
        print(f"predict: error: {user_message(exc)}", file=sys.stderr)
        return 2
    print(f"{len(preds)} answers written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
