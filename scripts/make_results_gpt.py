"""Reproduce the paper's SAR-GPT comparison and write its section of ``docs/results.md``.

Two models, the same budget, on the same frozen image tower (a SAR-RS-CLIP lite progressive run, given
by ``--clip`` or trained here with the same ``--scale``): the two-stage recipe (optical dialogues,
then SAR dialogues) and the single-stage recipe (SAR dialogues only). Each answers the narrator's
questions about the corpus's synthetic test split (the first ``--max-images`` images) and about the
real HRSID images of ``../shared/data/hrsid_mini`` (count and presence, from their boxes), and
`sargeo eval vqa` scores them per question type beside the majority-answer baseline.

    .venv/bin/python scripts/make_results_gpt.py --corpus corpus/ --scale 0.5

``--scale`` multiplies every stage's steps (1.0: the recipes' full budget); the section states it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from results_common import (
    PAGE,
    REPO,
    SHARED,
    cached_json,
    cell,
    known_seconds,
    run,
    run_module,
    scaled_recipe,
    train_side_by_side,
    write_section,
)

MODELS = ("single", "two-stage")
TYPES = ("presence", "count", "position", "size", "landcover", "compare")


def train(corpus: Path, work: Path, scale: float, clip: Path | None) -> dict[str, float]:
    """The CLIP tower (unless given), then both SAR-GPT runs side by side."""
    if clip is None:
        tower = scaled_recipe("clip-lite-progressive.json", "clip", scale, work)
        train_side_by_side(
            {"clip": ["clip", "--recipe", str(tower), "--corpus", str(corpus)]}, work
        )
        clip = work / "runs" / "clip"
    recipes = {
        "single": scaled_recipe("gpt-lite-single.json", "single", scale, work),
        "two-stage": scaled_recipe("gpt-lite-two-stage.json", "two-stage", scale, work),
    }
    jobs = {
        m: ["gpt", "--recipe", str(r), "--corpus", str(corpus), "--init", str(clip)]
        for m, r in recipes.items()
    }
    return train_side_by_side(jobs, work)


def eval_sets(corpus: Path, work: Path) -> dict[str, tuple[Path, str | None]]:
    """Set name -> (qa.jsonl, the question types asked; None: all)."""
    hrsid = work / "data" / "hrsid"
    if not hrsid.exists():
        run(["narrate", str(SHARED / "hrsid_mini"), "-o", str(hrsid), "--splits", "0,0,1", "--qa",
             "-q"])  # fmt: skip
    return {
        "synthetic test split": (corpus / "qa.jsonl", None),
        "HRSID (real, narrated)": (hrsid / "qa.jsonl", "count,presence"),
    }


def score(corpus: Path, work: Path, sets: dict[str, tuple[Path, str | None]],
          max_images: int) -> dict[str, Any]:  # fmt: skip
    """Both models on every set; answers and scores cached under ``work``."""
    scores: dict[str, Any] = {}
    for name, (qa, types) in sets.items():
        key = name.split()[0].lower()
        for model in MODELS:
            if not (work / "runs" / model / "final").exists():
                continue
            preds = work / "preds" / f"{model}-{key}.jsonl"
            refs = work / "preds" / f"refs-{key}.jsonl"
            if not preds.exists():
                preds.parent.mkdir(parents=True, exist_ok=True)
                argv = ["--checkpoint", str(work / "runs" / model), "--qa", str(qa), "--split",
                        "test", "--max-images", str(max_images), "--threads", "1",
                        "--write-references", str(refs), "-o", str(preds), "-q"]  # fmt: skip
                run_module(
                    "sargeo.models.gpt.predict", argv + (["--types", types] if types else [])
                )
            out = work / "scores" / f"{model}-{key}.json"
            argv = ["eval", "vqa", str(preds), "--references", str(refs), "--train",
                    str(corpus / "qa.jsonl"), "--train-split", "train", "-o", str(out)]  # fmt: skip
            scores[f"{model}|{name}"] = cached_json(out, lambda a=argv: run(a))
    return scores


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def conversation(work: Path) -> list[str]:
    """The two-stage model's answers about the first real HRSID image beside the truth."""
    preds = work / "preds" / "two-stage-hrsid.jsonl"
    refs = work / "preds" / "refs-hrsid.jsonl"
    if not preds.exists():
        return []
    truth = {(r["image"], r["question"]): r["answer"] for r in map(json.loads, refs.open())}
    rows = list(map(json.loads, preds.open()))
    first = rows[0]["image"]
    lines = [f"Image `{Path(first).name}`:", "", "| question | two-stage answer | truth |",
             "| --- | --- | --- |"]  # fmt: skip
    for r in rows:
        if r["image"] == first:
            lines.append(f"| {r['question']} | {r['answer']} | {truth[(first, r['question'])]} |")
    return lines


def observations(scores: dict[str, Any], sets: dict[str, Any]) -> list[str]:
    """What the tables show, computed from them (so they are regenerated with them)."""
    lines = []
    for name in sets:
        got = {m: scores[f"{m}|{name}"] for m in MODELS if f"{m}|{name}" in scores}
        if not got:
            continue
        ref = next(iter(got.values()))
        base = ref["overall"]["baseline_accuracy"]
        text = f"- **{name}**: all questions, " + ", ".join(
            f"{m} {100 * s['overall']['accuracy']:.1f}" for m, s in got.items()
        )
        text += f" against the baseline's {100 * base:.1f}." if base is not None else "."
        above = {
            m: [
                t
                for t, f in s["types"].items()
                if f["accuracy"] is not None
                and f["baseline_accuracy"] is not None
                and f["accuracy"] > f["baseline_accuracy"]
            ]
            for m, s in got.items()
        }
        text += (
            " Types above the baseline: "
            + "; ".join(f"{m} {', '.join(t) or 'none'}" for m, t in above.items())
            + "."
        )
        lines.append(text)
    return lines


def section(scores: dict[str, Any], sets: dict[str, Any], work: Path, scale: float,
            seconds: dict[str, float], max_images: int) -> list[str]:  # fmt: skip
    """The page section: accuracy per question type beside the baseline, per set."""
    lines = [
        "## SAR-GPT, single-stage vs two-stage",
        "",
        "Made by `scripts/make_results_gpt.py` (2-core CPU machine, shared with other jobs). Budget:",
        f"the gpt-lite recipes' steps times {scale:g} for both models (the same number of dialogues;",
        "two-stage spends part of it on optical dialogues first). Both use the same frozen SAR-RS-CLIP",
        "lite tower and SmolLM2-135M-Instruct; only the projector and LoRA adapters train. Training",
        "wall time: "
        + ", ".join(f"{m} {s / 60:.1f} min" for m, s in seconds.items())
        + f". The synthetic rows answer the questions of the first {max_images} test images.",
        "Accuracy is exact match after normalisation (numbers as words or digits alike); the baseline",
        "always gives the most frequent training answer of the question type. MAE is over the",
        "questions with a numeric answer (counts; land-cover shares in percent).",
        "",
        "### What the numbers show",
        "",
        *observations(scores, sets),
        "",
    ]
    for name in sets:
        lines += [
            f"### {name}",
            "",
            "| type | questions | single | two-stage | baseline | MAE single | MAE two-stage | MAE baseline |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]  # fmt: skip
        got = {m: scores[f"{m}|{name}"] for m in MODELS if f"{m}|{name}" in scores}
        if not got:
            lines += ["| not run | | | | | | | |", ""]
            continue
        any_scores = next(iter(got.values()))
        types = [t for t in (*TYPES, "all") if t == "all" or t in any_scores["types"]]
        for t in types:
            figs = {m: (s["overall"] if t == "all" else s["types"][t]) for m, s in got.items()}
            ref = next(iter(figs.values()))
            acc = [cell(_pct(figs[m]["accuracy"])) if m in figs else "not run" for m in MODELS]
            mae = [cell(figs[m]["mae"], 2) if m in figs else "not run" for m in MODELS]
            lines.append(
                f"| {t} | {ref['questions']} | " + " | ".join(acc)
                + f" | {cell(_pct(ref['baseline_accuracy']))} | " + " | ".join(mae)
                + f" | {cell(ref['baseline_mae'], 2)} |"
            )  # fmt: skip
        lines.append("")
    if rows := conversation(work):
        lines += ["### A conversation about a real HRSID image", "", *rows, ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a `sargeo corpus build` folder")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "results-gpt")
    parser.add_argument("--clip", type=Path, default=None, help="a SAR-RS-CLIP lite run (tower)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's steps")
    parser.add_argument("--max-images", type=int, default=40, help="synthetic test images asked")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--no-train", action="store_true", help="score the runs in --work only")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    seconds = (
        known_seconds(args.work)
        if args.no_train
        else train(corpus, args.work, args.scale, args.clip)
    )
    sets = eval_sets(corpus, args.work)
    scores = score(corpus, args.work, sets, args.max_images)
    lines = section(scores, sets, args.work, args.scale, seconds, args.max_images)
    write_section(args.page, "gpt", lines)
    print(f"wrote the SAR-GPT section of {args.page}")


if __name__ == "__main__":
    main()
