"""Captioning speed of SAR-RS-CoCa in torch: captions per second for greedy and beam search through
`sargeo.runtime.decoding` (batched, the numpy specification over the model's decoder step), beside a
baseline measured in the same run: a plain per-image torch greedy loop (what open_clip's own
generation does, one image at a time). Also the share of time in the image encoder versus the decoder.

Every caption is exactly ``--tokens`` long (``min_length = max_length``), so random and trained
weights cost the same and the decoders do the same work. Usage::

    .venv/bin/python benchmarks/bench_caption.py                            # tiny, random weights
    .venv/bin/python benchmarks/bench_caption.py --model sar-rs-coca-lite --images 16
    .venv/bin/python benchmarks/bench_caption.py --checkpoint RUN_DIR        # a trained run
    .venv/bin/python benchmarks/bench_caption.py --checkpoint RUN_DIR --bundle export/NAME

With ``--bundle`` (that run exported by ``sargeo export coca``) the same captions are also decoded
through ONNX Runtime by the same numpy search, and its rows join the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _plain_greedy(model, images, tokens: int) -> None:  # type: ignore[no-untyped-def]
    """The baseline: each image alone, argmax over the full prefix until ``tokens`` tokens."""
    import torch

    with torch.no_grad():
        for image in images:
            _, image_tokens = model.net.visual(image[None])
            seq = torch.tensor([[model.captions.start]])
            for _ in range(tokens):
                _, embs = model.net.text(seq)
                logits = model.net.text_decoder(image_tokens, embs)[0, -1]
                logits[model.captions.end] = -float("inf")
                seq = torch.cat([seq, logits.argmax().view(1, 1)], dim=1)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sar-rs-coca-tiny", help="model config (random weights)")
    parser.add_argument("--checkpoint", default=None, metavar="RUN_DIR", help="a trained coca run")
    parser.add_argument("--images", type=int, default=32, help="images captioned per measurement")
    parser.add_argument("--tokens", type=int, default=20, help="tokens per caption")
    parser.add_argument("--beam", type=int, default=3, help="beam width")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads (1)")
    parser.add_argument("--bundle", default=None, metavar="DIR", help="also time this CoCa bundle")
    args = parser.parse_args()

    import torch

    from sargeo.models.coca import TorchStep, create_model
    from sargeo.models.coca.captioning import caption_tensors, decode_settings

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.checkpoint:
        from sargeo.inference.caption import load_coca

        model = load_coca(Path(args.checkpoint)).model
    else:
        model = create_model(args.model, pretrained=False).eval()
    size = model.preprocess.size
    images = torch.randn(args.images, 3, size, size)
    fixed = {"max_length": args.tokens, "min_length": args.tokens, "no_repeat_ngram_size": 0}

    calls = {"encoder": 0.0, "decoder": 0.0}
    encode, step = model.encode_image_tokens, TorchStep.__call__

    def timed_encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = time.perf_counter()
        out = encode(x)
        calls["encoder"] += time.perf_counter() - t
        return out

    def timed_step(self: TorchStep, state: torch.Tensor, tokens):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = step(self, state, tokens)
        calls["decoder"] += time.perf_counter() - t
        return out

    model.encode_image_tokens = timed_encode  # type: ignore[method-assign]
    TorchStep.__call__ = timed_step  # type: ignore[method-assign]
    caption_tensors(
        model, images[:2], decode_settings(model, {**fixed, "beam_width": 1})
    )  # warm-up
    rows: list[tuple[str, float, float | None]] = []
    for name, beam in (("greedy", 1), (f"beam {args.beam}", args.beam)):
        calls.update(encoder=0.0, decoder=0.0)
        settings = decode_settings(model, {**fixed, "beam_width": beam})
        t = time.perf_counter()
        caption_tensors(model, images, settings)
        wall = time.perf_counter() - t
        share = calls["encoder"] / max(1e-9, calls["encoder"] + calls["decoder"])
        rows.append((name, args.images / wall, share))
    if args.bundle:
        from sargeo.runtime.bundle import load_bundle
        from sargeo.runtime.coca import CocaModel

        onnx = CocaModel(load_bundle(args.bundle), threads=args.threads)
        pixels = images.numpy()
        onnx.caption(pixels[:2], onnx.settings({**fixed, "beam_width": 1}))  # warm-up
        for name, beam in (("greedy", 1), (f"beam {args.beam}", args.beam)):
            t = time.perf_counter()
            onnx.caption(pixels, onnx.settings({**fixed, "beam_width": beam}))
            rows.append((f"{name}, ONNX bundle", args.images / (time.perf_counter() - t), None))
    t = time.perf_counter()
    _plain_greedy(model, images, args.tokens)
    baseline = args.images / (time.perf_counter() - t)

    print(
        f"bench_caption: {model.name} ({'trained' if args.checkpoint else 'random weights'}),"
        f" {args.images} images of {size} px, {args.tokens} tokens each, {args.threads} thread(s),"
        f" {os.cpu_count()} cores"
    )
    print(f"{'decoding':<38}{'captions/s':>12}{'vs baseline':>13}{'encoder share':>15}")
    print(f"{'baseline: plain torch loop':<38}{baseline:>12.2f}{1.0:>12.2f}x")
    for name, rate, share in rows:
        label = f"sargeo {name} (batched)"
        shown = f"{share:>14.0%}" if share is not None else ""
        print(f"{label:<38}{rate:>12.2f}{rate / baseline:>12.2f}x{shown}")


if __name__ == "__main__":
    main()
