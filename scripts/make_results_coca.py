"""Reproduce the paper's SAR-RS-CoCa comparison and write its section of ``docs/results.md``.

Three models, the same budget: the pretrained towers without SAR training (the ImageNet
EfficientNet-Lite0 trunk, the text tower and decoder at their initialisation), the single-stage recipe
(SAR only) and the progressive recipe (optical stage, then SAR), trained by `sargeo train coca` on a
`sargeo corpus build` corpus. Each captions (greedy, the config's decoding) the corpus's synthetic
test split and the real HRSID images of ``../shared/data/hrsid_mini`` (references from the narrator),
and `sargeo eval caption` scores BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and fact accuracy. A constant
caption (the most frequent training caption, for every image) is scored beside them as the level to
read the metrics by.

    .venv/bin/python scripts/make_results_coca.py --corpus corpus/ --scale 0.5

``--scale`` multiplies every stage's steps (1.0: the recipes' full budget); the section states it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
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
    scaled_recipe,
    train_side_by_side,
    write_section,
)

MODELS = ("pretrained", "single", "progressive")
SHOWN = ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D")


def train(corpus: Path, work: Path, scale: float) -> dict[str, float]:
    """The three runs, side by side, one torch thread each (the recipes say so)."""
    recipes = {
        "pretrained": scaled_recipe("coca-lite-single.json", "pretrained", scale, work, True),
        "single": scaled_recipe("coca-lite-single.json", "single", scale, work),
        "progressive": scaled_recipe("coca-lite-progressive.json", "progressive", scale, work),
    }
    jobs = {m: ["coca", "--recipe", str(r), "--corpus", str(corpus)] for m, r in recipes.items()}
    return train_side_by_side(jobs, work)


def eval_sets(corpus: Path, work: Path) -> dict[str, Path]:
    """Set name -> a narrated folder (captions.jsonl, samples.jsonl) whose test split is scored."""
    hrsid = work / "data" / "hrsid"
    if not hrsid.exists():
        run(["narrate", str(SHARED / "hrsid_mini"), "-o", str(hrsid), "--splits", "0,0,1", "-q"])
    return {"synthetic test split": corpus, "HRSID (real, narrated)": hrsid}


def most_common_caption(corpus: Path) -> str:
    """The most frequent caption of the corpus's training split."""
    train = [json.loads(line) for line in (corpus / "captions.jsonl").open()]
    return str(
        Counter(r["caption"] for r in train if r.get("split") == "train").most_common(1)[0][0]
    )


def constant_predictions(corpus: Path, data: Path, out: Path) -> None:
    """Predict the most frequent training caption for every test image of ``data``."""
    common = most_common_caption(corpus)
    images = dict.fromkeys(
        r["image"]
        for r in map(json.loads, (data / "captions.jsonl").open())
        if r.get("split") == "test"
    )
    out.write_text("".join(json.dumps({"image": i, "caption": common}) + "\n" for i in images))


def score(corpus: Path, work: Path, sets: dict[str, Path]) -> dict[str, Any]:
    """Every model (and the constant caption) on every set; cached under ``work/scores``."""
    scores: dict[str, Any] = {}
    for name, data in sets.items():
        key = name.split()[0].lower()
        for model in (*MODELS, "constant"):
            if model != "constant" and not (work / "runs" / model / "final").exists():
                continue
            preds = work / "preds" / f"{model}-{key}.jsonl"
            if not preds.exists():
                preds.parent.mkdir(parents=True, exist_ok=True)
                if model == "constant":
                    constant_predictions(corpus, data, preds)
                else:
                    run(["caption", str(data), "--checkpoint", str(work / "runs" / model),
                         "-o", str(preds), "--split", "test", "-q"])  # fmt: skip
            out = work / "scores" / f"{model}-{key}.json"
            argv = ["eval", "caption", str(preds), "--references", str(data / "captions.jsonl"),
                    "--samples", str(data / "samples.jsonl"), "--split", "test", "-o", str(out)]  # fmt: skip
            scores[f"{model}|{name}"] = cached_json(out, lambda a=argv: run(a))
    return scores


def _metric(s: dict[str, Any], name: str) -> float | None:
    value = s["metrics"].get(name)
    return None if value is None else 100 * value if name != "CIDEr-D" else value


def _fact(s: dict[str, Any], key: str, good: str = "correct", total: str = "judged") -> str:
    """A fact figure as 'percent (right/judged)', 'n/a' when nothing was judged."""
    node = (s.get("facts") or {}).get(key) or {}
    judged = node.get(total) or 0
    if not judged:
        return "n/a"
    right = node.get(good, 0)
    return f"{100 * right / judged:.1f} ({right}/{judged})"


def observations(scores: dict[str, Any], sets: dict[str, Path]) -> list[str]:
    """What the tables show, computed from them (so they are regenerated with them)."""
    lines = []
    for name in sets:
        got = {m: scores[f"{m}|{name}"] for m in (*MODELS, "constant") if f"{m}|{name}" in scores}
        if "constant" not in got or len(got) < 2:
            continue
        cider = {m: s["metrics"]["CIDEr-D"] for m, s in got.items()}
        best = max((m for m in got if m != "constant"), key=lambda m: cider[m])
        beat = [m for m in MODELS if m in cider and cider[m] > cider["constant"]]
        text = (
            f"- **{name}**: CIDEr-D " + ", ".join(f"{m} {v:.2f}" for m, v in cider.items())
            + f". Best model: {best}; above the constant caption: {', '.join(beat) or 'none'}."
        )  # fmt: skip
        seen = {
            m: (s.get("facts") or {}).get("objects_seen", {})
            for m, s in got.items()
            if m != "constant"
        }
        parts = [f"{m} {v['correct']}/{v['judged']}" for m, v in seen.items() if v.get("judged")]
        if parts:
            text += " Object classes with boxes that the captions name: " + ", ".join(parts) + "."
        lines.append(text)
    return lines


def examples(work: Path, data: Path, n: int = 5) -> list[str]:
    """Both trained models' captions of the first ``n`` real HRSID images beside a reference."""
    made = {m: work / "preds" / f"{m}-hrsid.jsonl" for m in ("single", "progressive")}
    if not all(p.exists() for p in made.values()):
        return []
    refs: dict[str, list[str]] = {}
    for r in map(json.loads, (data / "captions.jsonl").open()):
        refs.setdefault(r["image"], []).append(r["caption"])
    captions = {
        m: {r["image"]: r["caption"] for r in map(json.loads, p.open())} for m, p in made.items()
    }
    lines = [
        "| image | single-stage | progressive | narrator (a reference) |",
        "| --- | --- | --- | --- |",
    ]
    for image in sorted(captions["progressive"])[:n]:
        row = [Path(image).stem, captions["single"][image], captions["progressive"][image]]
        lines.append("| " + " | ".join([*row, refs[image][0]]) + " |")
    return lines


def section(scores: dict[str, Any], sets: dict[str, Path], work: Path, scale: float,
            seconds: dict[str, float], constant: str) -> list[str]:  # fmt: skip
    """The page section: metric and fact tables per set, and example captions of real HRSID."""
    lines = [
        "## SAR-RS-CoCa, pretrained vs single-stage vs progressive",
        "",
        "Made by `scripts/make_results_coca.py` (2-core CPU machine, shared with other jobs). Budget:",
        f"the coca-lite recipes' steps times {scale:g} for both trained models (the same number of",
        "images; progressive spends part of it on the optical stage first); the pretrained row is the",
        "ImageNet trunk with the text side at its initialisation (one step at learning rate 1e-12).",
        "Training wall time (side by side, one thread each): "
        + ", ".join(f"{m} {s / 60:.1f} min" for m, s in seconds.items() if m in MODELS)
        + ".",
        f'The constant row captions every image with the most frequent training caption ("{constant}"):',
        "a model that does not beat it has not learnt to look at the image. Metrics are pycocoevalcap's",
        "against all the narrator's references of an image, as percentages (CIDEr-D on its own 0-10",
        "scale); SPICE is n/a (its Stanford CoreNLP download cannot happen here). Fact accuracy parses",
        "each caption with the narrator's vocabulary and checks it against the ground truth: stated",
        "counts right, object classes with boxes named (objects seen), classes named that are absent",
        "(hallucinated), the dominant land cover; each as percent (right/judged), n/a when no caption",
        "made such a claim.",
        "",
        "### What the numbers show",
        "",
        *observations(scores, sets),
        "",
    ]
    for name in sets:
        n = next((s["images"] for k, s in scores.items() if k.endswith(f"|{name}")), 0)
        lines += [
            f"### {name} ({n} images)",
            "",
            "| model | " + " | ".join(SHOWN)
            + " | count right | objects seen | hallucinated | dominant cover right |",
            "| --- " * (len(SHOWN) + 5) + "|",
        ]  # fmt: skip
        for model in (*MODELS, "constant"):
            s = scores.get(f"{model}|{name}")
            if s is None:
                lines.append(f"| {model} | " + " | ".join(["not run"] * (len(SHOWN) + 4)) + " |")
                continue
            digits = [2 if m == "CIDEr-D" else 1 for m in SHOWN]
            cells = [cell(_metric(s, m), d) for m, d in zip(SHOWN, digits, strict=True)]
            cells += [
                _fact(s, "count"),
                _fact(s, "objects_seen"),
                _fact(s, "hallucination", "hallucinated", "mentions_judged"),
                _fact(s, "dominant_cover"),
            ]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        lines.append("")
    hrsid = sets.get("HRSID (real, narrated)")
    if hrsid is not None and (rows := examples(work, hrsid)):
        lines += ["### Captions of real HRSID images", "", *rows, ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a `sargeo corpus build` folder")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "results-coca")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's steps")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--no-train", action="store_true", help="score the runs in --work only")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    seconds = known_seconds(args.work) if args.no_train else train(corpus, args.work, args.scale)
    sets = eval_sets(corpus, args.work)
    scores = score(corpus, args.work, sets)
    constant = most_common_caption(corpus)
    write_section(
        args.page, "coca", section(scores, sets, args.work, args.scale, seconds, constant)
    )
    print(f"wrote the CoCa section of {args.page}")


if __name__ == "__main__":
    main()
