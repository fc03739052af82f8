"""Reproduce the paper's SAR-RS-CLIP comparison on this machine and write ``docs/results.md``.

Three models with the same budget of SAR-side training: the pretrained towers without SAR training
(ImageNet EfficientNet-Lite0 + all-MiniLM-L6-v2, projections left at their initialisation), the
single-stage recipe (SAR only) and the progressive recipe (optical stage, then SAR). Each is trained by
`sargeo train clip` on a corpus built by `sargeo corpus build` and scored by `sargeo eval retrieval` on
data it did not train on: the corpus's synthetic test split, the real HRSID images of
``../shared/data/hrsid_mini`` captioned by the narrator, the real Sentinel-1 chip's tiles with their
water-share captions, and zero-shot ship type on the real OpenSARShip chips (plus water/land on the
Sentinel-1 tiles).

    .venv/bin/python scripts/make_results.py --corpus corpus/ --work .cache/results --scale 0.33

``--scale`` multiplies every stage's steps (1.0: the recipes' full 45-minute budget); the page states
the scale it was made with. The runs train side by side, one torch thread each.
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
    cell,
    known_seconds,
    run,
    scaled_recipe,
    train_side_by_side,
    write_section,
)

MODELS = ("pretrained", "single", "progressive")


def train_all(corpus: Path, work: Path, scale: float) -> dict[str, float]:
    """Train the three models side by side (one torch thread each); returns each run's wall time."""
    recipes = {
        "pretrained": scaled_recipe("clip-lite-single.json", "pretrained", scale, work, True),
        "single": scaled_recipe("clip-lite-single.json", "single", scale, work),
        "progressive": scaled_recipe("clip-lite-progressive.json", "progressive", scale, work),
    }
    jobs = {m: ["clip", "--recipe", str(r), "--corpus", str(corpus)] for m, r in recipes.items()}
    return train_side_by_side(jobs, work)


def eval_data(work: Path) -> dict[str, dict[str, Any]]:
    """The real evaluation sets (made once): HRSID narrated, Sen1Floods11 tiles, zero-shot labels."""
    from sargeo.eval.labels import opensarship_labels, sen1floods11_tile_labels

    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    hrsid = data / "hrsid"
    if not hrsid.exists():
        run(["narrate", str(SHARED / "hrsid_mini"), "-o", str(hrsid), "--splits", "0,0,1", "-q"])
    flood = data / "sen1floods11"
    if not flood.exists():
        recipe = data / "flood_recipe.json"
        recipe.write_text(json.dumps({
            "description": "the real Sentinel-1 chip in 128 px tiles, all in the test split",
            "synthetic": [{"name": "unused", "scenes": 1, "size": 64, "sensor": "sentinel-1-iw"}],
            "tile": {"size": 128}, "render": "source",
            "narrator": {"splits": [0, 0, 1]}, "optical_stage": False,
        }))  # fmt: skip
        run(["corpus", "build", str(SHARED / "sen1floods11"), "-o", str(flood), "--recipe",
             str(recipe), "-q"])  # fmt: skip
    ships = data / "opensarship.csv"
    if not ships.exists():
        opensarship_labels(SHARED / "opensarship", ships)
    water = data / "water" / "labels.csv"
    if not water.exists():
        sen1floods11_tile_labels(SHARED / "sen1floods11", data / "water")
    return {
        "synthetic test split": {"data": None},
        "HRSID (real, narrated)": {"data": hrsid},
        "Sen1Floods11 tiles (real)": {"data": flood, "zeroshot": ("water", water)},
        "OpenSARShip (real)": {
            "data": hrsid,
            "zeroshot": ("ship_type", ships),
            "zeroshot_only": True,
        },
    }


def evaluate(corpus: Path, work: Path, sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every model on every set; results cached as JSON under ``work/scores``."""
    scores: dict[str, Any] = {}
    for model in MODELS:
        if not (work / "runs" / model / "final").exists():
            continue  # not trained (yet): its rows say so
        for name, spec in sets.items():
            out = work / "scores" / f"{model}-{name.split()[0].lower()}.json"
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                argv = ["eval", "retrieval", str(work / "runs" / model), str(spec["data"] or corpus),
                        "-o", str(out)]  # fmt: skip
                if "zeroshot" in spec:
                    task, labels = spec["zeroshot"]
                    argv += ["--zeroshot", task, "--labels", str(labels)]
                run(argv)
            scores[f"{model}|{name}"] = json.loads(out.read_text())
    return scores


def chance_row(data: Path) -> dict[str, float]:
    """Retrieval metrics of a random ranking on a set's test captions (the level to read scores by)."""
    import csv

    from sargeo.eval.retrieval import chance_metrics

    with (data / "captions_test.csv").open(newline="") as f:
        images = [row["filepath"] for row in csv.DictReader(f)]
    index = {path: i for i, path in enumerate(dict.fromkeys(images))}
    level = chance_metrics([index[path] for path in images])
    return {**level, "images": float(len(index)), "captions": float(len(images))}


def observations(scores: dict[str, Any], chance: dict[str, dict[str, float]]) -> list[str]:
    """What the tables show, in sentences computed from them (so they are regenerated with them)."""
    lines = []
    for name, level in chance.items():
        got = {
            m: scores[f"{m}|{name}"]["retrieval"]["mR"] for m in MODELS if f"{m}|{name}" in scores
        }
        if not got:
            continue
        best = max(got, key=lambda m: got[m])
        n = int(level["images"])
        text = f"- **{name}** ({n} images, {int(level['captions'])} captions; one image is "
        text += f"{100 / n:.1f} points of I→T recall): chance mR {level['mR']:.1f}; " + ", ".join(
            f"{m} {v:.1f} ({v - level['mR']:+.1f})" for m, v in got.items()
        )
        text += f". Best: {best}."
        if "progressive" in got and "single" in got:
            text += (
                f" Progressive minus single-stage: {got['progressive'] - got['single']:+.1f} mR."
            )
        lines.append(text)
    for key, score in scores.items():
        z = score.get("zeroshot")
        if z and key.startswith("progressive|"):
            verdict = "above" if z["accuracy"] > z["majority_baseline"] else "not above"
            lines.append(
                f"- zero-shot {z['task']} ({z['n']} real images), progressive: accuracy "
                f"{z['accuracy']:.1f}, {verdict} the majority baseline {z['majority_baseline']:.1f}"
                f" (balanced accuracy {z['balanced_accuracy']:.1f})."
            )
    lines += [
        "",
        "The real sets are small (the samples in `../shared/data`): a difference of a few points",
        "there is one or two images, so read the real-SAR rows as a direction, not a ranking. Every",
        "score is on data the models did not train on: they trained on the synthetic corpus only.",
    ]
    return lines


def write_page(scores: dict[str, Any], sets: dict[str, dict[str, Any]], corpus: Path,
               scale: float, seconds: dict[str, float], page: Path) -> None:  # fmt: skip
    """The CLIP section of the results page: retrieval tables per set and the zero-shot table."""
    lines = [
        "## SAR-RS-CLIP, pretrained vs single-stage vs progressive",
        "",
        "Made by `scripts/make_results.py` on the committed code (2-core CPU machine, shared with other",
        f"jobs). Budget: the lite recipes' steps times {scale:g} for both trained models (1 is the",
        "recipes' full budget, under 45 minutes a run on a quiet machine; the same number of images for",
        "both, progressive spending part of it on the optical stage first). The corpus is the default",
        "one of `sargeo corpus build`; `--scale` and the wall times below say what this page was made with.",
        "Training wall time (the runs side by side, one thread each): "
        + ", ".join(f"{m} {s / 60:.1f} min" for m, s in seconds.items())
        + ".",
        "",
        "Retrieval follows clip_benchmark: a query hits at k when any matching item is among the",
        "top k; mR is the mean of the six recalls. Zero-shot: accuracy over prompt templates, beside the",
        "majority-class baseline.",
        "",
    ]
    chance = {
        name: chance_row(spec["data"] or corpus)
        for name, spec in sets.items()
        if not spec.get("zeroshot_only")
    }
    keys = [f"{d}_R@{k}" for d in ("i2t", "t2i") for k in (1, 5, 10)] + ["mR"]
    lines += ["### What the numbers show", "", *observations(scores, chance), ""]
    for name, spec in sets.items():
        if spec.get("zeroshot_only"):
            continue
        lines += [f"### Retrieval: {name}", "", "| model | I→T R@1 | R@5 | R@10 | T→I R@1 | R@5 | R@10 | mR |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for model in MODELS:
            if f"{model}|{name}" not in scores:
                lines.append(f"| {model} | " + " | ".join(["not run"] * 7) + " |")
                continue
            r = scores[f"{model}|{name}"]["retrieval"]
            cells = [r.get(k) for k in keys]
            lines.append(f"| {model} | " + " | ".join(cell(c) for c in cells) + " |")
        level = chance[name]
        lines.append(
            "| chance (random ranking) | " + " | ".join(cell(level[k]) for k in keys) + " |"
        )
        lines.append("")
    lines += ["### Zero-shot classification (real SAR)", "",
              "| model | task | images | accuracy | balanced | majority baseline |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, spec in sets.items():
        if "zeroshot" not in spec:
            continue
        for model in MODELS:
            if f"{model}|{name}" not in scores:
                lines.append(f"| {model} | {spec['zeroshot'][0]} ({name}) | not run | | | |")
                continue
            z = scores[f"{model}|{name}"]["zeroshot"]
            lines.append(
                f"| {model} | {z['task']} ({name}) | {z['n']} | {cell(z['accuracy'])} | "
                f"{cell(z['balanced_accuracy'])} | {cell(z['majority_baseline'])} |"
            )
    lines.append("")
    write_section(page, "clip", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a `sargeo corpus build` folder")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "results")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's steps")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument(
        "--no-train", action="store_true", help="score the runs already in --work, train nothing"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.no_train:
        seconds = known_seconds(args.work)
    else:
        seconds = train_all(args.corpus.resolve(), args.work, args.scale)
    sets = eval_data(args.work)
    scores = evaluate(args.corpus.resolve(), args.work, sets)
    write_page(scores, sets, args.corpus.resolve(), args.scale, seconds, args.page)
    print(f"wrote the CLIP section of {args.page}")


if __name__ == "__main__":
    main()
