"""Training throughput: samples per second of training and of data loading alone, in one run.

Trains a model for a few steps with the real trainer (a one-stage recipe on SAR pairs, the shipped
recipe's augmentations) and, in the same run, iterates the same stage's data loader without a model.
The table shows samples/s of both, the data wait and compute time per step from the trainer's own log,
which one bounds the run, and the peak RSS of this process (and of data-loader workers).

Without ``--corpus`` it builds a stand-in corpus from ``sargeo synth`` scenes narrated by
``sargeo narrate`` (the images are whole 256 px scenes, like corpus chips), with the optical pairs
a progressive recipe needs; ``--make-corpus DIR`` only builds that corpus (to time a shipped recipe on
it). Usage::

    .venv/bin/python benchmarks/bench_train.py                        # tiny model, 30 steps
    .venv/bin/python benchmarks/bench_train.py --model sar-rs-clip-lite --steps 12
    .venv/bin/python benchmarks/bench_train.py --make-corpus /tmp/standin --scenes 60
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAR_AUGMENT = {"dihedral": True, "speckle_p": 0.3, "looks": [2, 8], "gain_p": 0.3, "gain_db": 1.5,
               "quantise_p": 0.15, "single_pol_p": 0.1}  # fmt: skip
FREEZE = {"sar-rs-clip-lite": ["text", "image.early", "image.middle"]}


def make_corpus(out: Path, scenes: int, size: int = 256, splits: str = "0.8,0.1,0.1") -> Path:
    """Synthetic scenes, narrated, with ``optical/captions_{split}.csv`` of their optical captions."""
    from sargeo.cli import main

    synth = out / "synth"
    if main(["synth", "-o", str(synth), "--scenes", str(scenes), "--size", str(size), "-q"]):
        raise SystemExit("synth failed")
    if main(["narrate", str(synth), "-o", str(out / "narrated"), "-q", "--splits", splits]):
        raise SystemExit("narrate failed")
    narrated = out / "narrated"
    splits = json.loads((narrated / "splits.json").read_text())
    (narrated / "optical").mkdir()
    rows: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for scene in sorted(synth.glob("scene_*")):
        info = json.loads((scene / "scene.json").read_text())
        for caption in info.get("optical_captions", []):
            rows[splits.get(scene.name, "train")].append((str(scene / "optical.tif"), caption))
    for split, items in rows.items():
        with (narrated / "optical" / f"captions_{split}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["filepath", "title"])
            writer.writerows(items)
    return narrated


def _rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="sar-rs-clip-tiny")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--make-corpus", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    if args.make_corpus:
        print(f"stand-in corpus in {make_corpus(args.make_corpus, args.scenes)}")
        return

    import torch
    from torch.utils.data import DataLoader

    from sargeo.train.dataset import StreamSampler
    from sargeo.train.recipe import parse_recipe
    from sargeo.train.task import get_task
    from sargeo.train.trainer import train

    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    corpus = args.corpus or make_corpus(work / "corpus", args.scenes)
    recipe = parse_recipe(
        {
            "task": "clip", "model": args.model, "seed": 0, "workers": args.workers, "log_every": 1,
            "stages": [{
                "name": "sar", "data": "{corpus}/captions_train.csv", "freeze": FREEZE.get(args.model, []),
                "lr": 1e-4, "warmup": 2, "batch_size": args.batch, "steps": args.steps, "augment": SAR_AUGMENT,
            }],
        },
        corpus=str(corpus),
    )  # fmt: skip
    stage = recipe.stages[0]
    task = get_task("clip")
    model = task.build_model(recipe)
    dataset = task.train_data(model, recipe, stage, 0)
    loader = DataLoader(
        dataset, batch_size=args.batch, sampler=StreamSampler(0, args.steps, args.batch),
        num_workers=args.workers, collate_fn=task.collate,
    )  # fmt: skip
    torch.set_num_threads(os.cpu_count() or 1)
    start, n = time.perf_counter(), 0
    for i, (images, _) in enumerate(loader):
        if i == 0:
            start = time.perf_counter()  # worker start-up excluded
            continue
        n += len(images)
    data_rate = n / (time.perf_counter() - start)
    del model

    t0 = time.perf_counter()
    result = train(recipe, work / "run", progress=False)
    wall = time.perf_counter() - t0
    with (work / "run" / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))[1:]  # the first step pays for start-up
    step_s = sum(float(r["data_s"]) + float(r["compute_s"]) for r in rows) / len(rows)
    data_s = sum(float(r["data_s"]) for r in rows) / len(rows)
    compute_s = sum(float(r["compute_s"]) for r in rows) / len(rows)
    train_rate = args.batch / step_s
    compute_rate = args.batch / compute_s
    own, kids = _rss_mb()
    bound = "data loading" if data_rate < compute_rate else "compute (forward + backward)"
    print(f"{platform.node()}: {os.cpu_count()} CPUs, torch {torch.__version__}, {args.model}, "
          f"batch {args.batch}, {args.steps} steps, {args.workers} loader worker(s), corpus {corpus}")  # fmt: skip
    print(f"{'measure':<38}{'value':>12}")
    print(f"{'training samples/s (whole step)':<38}{train_rate:>12.1f}")
    print(f"{'compute-only samples/s':<38}{compute_rate:>12.1f}")
    print(f"{'data loading alone samples/s':<38}{data_rate:>12.1f}")
    print(f"{'data wait per step (s)':<38}{data_s:>12.3f}")
    print(f"{'compute per step (s)':<38}{compute_s:>12.3f}")
    print(f"{'data / compute capacity ratio':<38}{data_rate / compute_rate:>12.2f}")
    print(f"{'peak RSS, this process (MB)':<38}{own:>12.0f}")
    print(f"{'peak RSS, largest worker (MB)':<38}{kids:>12.0f}")
    print(f"bound by: {bound}; run took {wall:.0f} s for {result.steps} steps")


if __name__ == "__main__":
    main()
