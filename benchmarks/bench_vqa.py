"""SAR-GPT answering speed: time to first token and tokens per second, with and without the key-value
cache, in one run (the cache is the project's path; recomputing the whole prefix each step is the
baseline), and the time of one training step.

The same prompts (an image and a question) are answered both ways with greedy decoding; both must give
the same tokens. Decoding runs to a fixed number of new tokens (no stop token), so both ways do the same
work. Usage::

    .venv/bin/python benchmarks/bench_vqa.py                              # sar-gpt-tiny
    .venv/bin/python benchmarks/bench_vqa.py --model sar-gpt-lite --tokens 32 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUESTIONS = [
    "How many ships are in the image?",
    "Is there a harbor in the image?",
    "What is the dominant land cover in the image?",
]
WORDS = [w for q in QUESTIONS for w in q.split()] + ["yes", "no", "water", "1", "2", "3"]


def _decode(model, image, question: str, tokens: int, cache: bool) -> tuple[float, float, tuple]:  # type: ignore[no-untyped-def]
    """(seconds to the first token, seconds for all, tokens) of one answer, stop tokens off."""
    import torch

    from sargeo.models.gpt import generate as gen

    first: list[float] = []
    start = time.perf_counter()
    step_lm = model.lm.forward

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = step_lm(*args, **kwargs)
        if not first:
            first.append(time.perf_counter() - start)
        return out

    model.lm.forward = timed
    stops, model.codec.stop_ids = model.codec.stop_ids, ()
    try:
        with torch.no_grad():
            answer = gen.generate(model, image, question, max_new_tokens=tokens, use_cache=cache)
    finally:
        model.lm.forward = step_lm
        model.codec.stop_ids = stops
    return first[0], time.perf_counter() - start, answer.tokens


def _train_step(model, batch_size: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of one optimiser step on dialogues of random images (projector + LoRA, or
    everything but the image tower for the tiny model)."""
    import torch

    from sargeo.models.gpt.factory import group_prefixes
    from sargeo.train.dialogues import collate
    from sargeo.train.freezing import freeze, train_mode

    frozen = group_prefixes(model, ["vision", "lm"] if model.config.get("lora") else ["vision"])
    freeze(model, frozen)
    size = model.preprocess.size
    turns = []
    for q in QUESTIONS:
        turns += [{"from": "human", "value": q}, {"from": "gpt", "value": "2"}]
    turns[0] = {"from": "human", "value": "<image>\n" + QUESTIONS[0]}
    items = [(torch.randn(3, size, size), model.chat.encode(turns)) for _ in range(batch_size)]
    batch = collate(items, model.codec.pad_id)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    times = []
    for _ in range(repeats + 1):
        train_mode(model, frozen)
        start = time.perf_counter()
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
    model.eval()
    return statistics.median(times[1:])


def main() -> None:
    """Measure and print the table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="sar-gpt-tiny", help="sar-gpt-tiny or sar-gpt-lite")
    p.add_argument("--tokens", type=int, default=24, help="new tokens per answer")
    p.add_argument("--repeats", type=int, default=3, help="answers per question and way")
    p.add_argument("--batch", type=int, default=8, help="dialogues per training step")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    args = p.parse_args()

    import torch

    from sargeo.models.gpt import create_gpt

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_gpt(args.model, texts=WORDS).eval()
    size = model.preprocess.size
    image = torch.randn(3, size, size)
    rows: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for question in QUESTIONS:
        _decode(model, image, question, 2, True)  # warm-up
        for _ in range(args.repeats):
            runs = {c: _decode(model, image, question, args.tokens, c) for c in (True, False)}
            if runs[True][2] != runs[False][2]:
                raise SystemExit("cached and uncached decoding disagree")
            for cache, (ttft, total, toks) in runs.items():
                rows[cache].append((ttft, len(toks) / total))
    step = _train_step(model, args.batch, max(1, args.repeats - 1))
    print(f"SAR-GPT decoding, {args.model}, {args.tokens} new tokens, {len(rows[True])} answers "
          f"per way, {args.threads} threads, {platform.processor() or platform.machine()}")  # fmt: skip
    print(f"{'way':<28} {'first token (ms)':>17} {'tokens/s':>9}")
    med = {c: (statistics.median(r[0] for r in rows[c]), statistics.median(r[1] for r in rows[c]))
           for c in rows}  # fmt: skip
    for cache, name in ((False, "baseline: no KV cache"), (True, "project: KV cache")):
        print(f"{name:<28} {1000 * med[cache][0]:>17.1f} {med[cache][1]:>9.1f}")
    print(f"ratio (cache / no cache) tokens/s: {med[True][1] / med[False][1]:.2f}x "
          "(the first token runs the same whole prompt both ways)")  # fmt: skip
    print(f"training step ({args.batch} dialogues of {len(QUESTIONS)} turns): {step:.2f} s")


if __name__ == "__main__":
    main()
