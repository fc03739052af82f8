"""``sargeo export coca``: a trained SAR-RS-CoCa as a bundle of two ONNX graphs, checked against torch.

Graphs (the dynamo exporter, dynamic batch; the decoder step also a dynamic prefix length):

- ``image_encoder``: ``pixels`` (N, 3, S, S) -> ``image_tokens`` (N, T, width);
- ``decoder_step``: ``image_tokens`` and ``tokens`` (N, L) -> ``next_logits`` (N, vocab), the text tower
  and multimodal decoder over the whole prefix (open_clip's decoder has no key-value cache).

The decoding loop is not a graph: `sargeo.runtime.decoding` runs it in numpy over the step, for the
torch model and the bundle alike. Parity: image tokens and next-token logits within fp32 tolerance of
torch on synthetic and constant images at batch sizes 1 and more, and greedy and beam captions of the
bundle (`sargeo.runtime.coca.CocaModel`) token for token those of torch; otherwise nothing is written.
The bundle's ``decode`` holds the model's default decoding settings, ``decode_context`` its longest
sequence. With ``int8``, the graphs that passed are quantised and measured against them
(`sargeo.exporting.int8_change`): ``parity_int8`` and ``metrics.export.int8``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from sargeo.atomic import atomic_dir
from sargeo.errors import InputError
from sargeo.exporting import evaluate as ev
from sargeo.exporting.clip import ExportResult, _finish, _graph_entry, _software
from sargeo.exporting.graphs import export_graph, optimise
from sargeo.exporting.int8_change import (
    CAPTION_IMAGES,
    caption_change,
    caption_references,
    coca_graphs_change,
    quantise_bundle,
    reference_file,
)
from sargeo.exporting.parity import FP32, ParityError, check, compare
from sargeo.exporting.source import (
    ExportSource,
    _run_dir_of,
    data_card,
    training_metrics,
    training_record,
    weights_digest,
)
from sargeo.exporting.tokenizers import write_tokenizer
from sargeo.models.coca import SarCoca, TorchStep
from sargeo.models.coca.captioning import caption_tensors, decode_settings
from sargeo.runtime.bundle import BUNDLE_FILE, FORMAT, FORMAT_VERSION, load_bundle, sha256_file
from sargeo.runtime.coca import CocaModel


class _ImageTokens(torch.nn.Module):
    def __init__(self, model: SarCoca) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image_tokens(pixels)[1]


class _DecoderStep(torch.nn.Module):
    def __init__(self, model: SarCoca) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_tokens: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.next_logits(image_tokens, tokens)


def _source(path: Path) -> ExportSource:
    """The run or checkpoint with its provenance (recipe, checkpoint meta) for the bundle."""
    from sargeo.inference.caption import load_coca
    from sargeo.train.checkpoint import read_json

    loaded = load_coca(path)
    run_dir = _run_dir_of(loaded.checkpoint)
    recipe = None
    if run_dir is not None and (run_dir / "recipe.json").is_file():
        recipe = read_json(run_dir / "recipe.json")
    meta = read_json(loaded.checkpoint / "meta.json")
    model = cast(Any, loaded.model)  # ExportSource is typed for CLIP; its provenance fields fit
    return ExportSource(
        model, path, loaded.checkpoint, meta, recipe, run_dir, weights_digest(model)
    )


def _parity(model: SarCoca, bundle_dir: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Graphs against torch, then captions (share of images with the same tokens, per beam width);
    raises `ParityError` on any difference beyond fp32 tolerance or in a caption."""
    spec = model.preprocess
    images = ev.synthetic_images(spec, 5)
    runtime = CocaModel(load_bundle(bundle_dir, verify=False))
    found: dict[str, dict[str, Any]] = {"image_encoder": {}, "decoder_step": {}}
    with torch.no_grad():
        _, ref_tokens = model.encode_image_tokens(torch.from_numpy(images))
    got = np.concatenate([runtime.image_tokens(images[:1]), runtime.image_tokens(images[1:])])
    found["image_encoder"]["synthetic"] = compare(
        ref_tokens.numpy().reshape(5, -1), got.reshape(5, -1)
    )
    prefix = np.full((5, 1), model.captions.start, dtype=np.int64)
    rng = np.random.default_rng(0)
    prefix = np.concatenate([prefix, rng.integers(5, model.captions.vocab_size, (5, 6))], axis=1)
    step = TorchStep(model)
    for length in (1, 7):
        ref, _ = step(ref_tokens, prefix[:, :length])
        ours, _ = runtime.step(got, prefix[:, :length])
        found["decoder_step"][f"prefix {length}"] = compare(ref, ours)
    check("image_encoder", found["image_encoder"], FP32)
    check("decoder_step", found["decoder_step"], FP32)
    captions: dict[str, float] = {}
    for beam in (1, 3):
        cfg = decode_settings(model, {"beam_width": beam, "max_length": 12})
        torch_caps = caption_tensors(model, torch.from_numpy(images), cfg)
        onnx_caps = runtime.caption(images, cfg)
        same = [
            a.hypothesis.tokens == b.hypothesis.tokens
            for a, b in zip(torch_caps, onnx_caps, strict=True)
        ]
        captions[f"beam {beam}"] = float(np.mean(same))
        if not all(same):
            raise ParityError(
                f"parity failed: the bundle's beam-{beam} captions differ from torch's on"
                f" {same.count(False)} of {len(same)} images; no bundle was written"
            )
    return found, captions


def export_coca(
    source_path: Path,
    output: Path,
    *,
    int8: bool = False,
    eval_data: Path | None = None,
    max_images: int | None = None,
    exporter: str = "dynamo",
    overwrite: bool = False,
) -> ExportResult:
    """Export a CoCa run or checkpoint to a bundle folder (see the module docstring).

    Args:
        source_path: A run folder or checkpoint.
        output: The bundle folder to write (``export/NAME``).
        int8: Quantise the graphs to int8, and measure the captions' change against fp32
            (`sargeo.exporting.int8_change`).
        eval_data: The narrator's ``captions.jsonl`` (or its corpus folder) to measure int8 on
            (default: the corpus of the run's evaluation data).
        max_images: Test images captioned by both precisions (default `CAPTION_IMAGES`).
        exporter: ``dynamo`` (default) or ``legacy``.
        overwrite: Replace an existing bundle folder.

    Raises:
        ParityError: when a graph or the captions disagree with torch, or int8 graphs are broken;
            nothing is written.
    """
    if max_images is not None and max_images < 1:
        raise InputError("`max_images` must be at least 1")
    started = time.perf_counter()
    source = _source(source_path)
    model = cast(SarCoca, source.model)
    spec = model.preprocess
    refs_file, why_not = reference_file(source, eval_data, "captions.jsonl") if int8 else (None, "")
    inputs = [source_path] + ([refs_file] if refs_file else [])
    refs = (
        caption_references(refs_file, why_not, spec, max_images or CAPTION_IMAGES) if int8 else None
    )
    with (
        atomic_dir(output, inputs=inputs, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory(prefix="sargeo-export-") as work_dir,
    ):
        work = Path(work_dir)
        entry = write_tokenizer(model.config["tokenizer"], tmp)
        images = torch.from_numpy(ev.synthetic_images(spec, 2))
        with torch.no_grad():
            _, image_tokens = model.encode_image_tokens(images)
        prefix = torch.full((2, 3), model.captions.start, dtype=torch.long)
        raw = {
            "image_encoder": export_graph(_ImageTokens(model), [images], work / "i.raw.onnx",
                                          ["pixels"], ["image_tokens"], exporter),
            "decoder_step": export_graph(_DecoderStep(model), [image_tokens, prefix],
                                         work / "d.raw.onnx", ["image_tokens", "tokens"],
                                         ["next_logits"], exporter, lengths=(1,)),
        }  # fmt: skip
        for role, path in raw.items():
            optimise(path, tmp / f"{role}.onnx")
        meta: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": "coca",
            "name": output.name,
            "model": model.name,
            "precision": "fp32",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "graphs": {role: _graph_entry(tmp / f"{role}.onnx", "fp32", None) for role in raw},
            "preprocess": spec.to_dict(),
            "tokenizer": entry,
            "decode": dict(model.decode_defaults),
            "decode_context": model.context_length,
            "embedding_size": 0,
            "training": training_record(source, model.config),
            "data_card": data_card(source),
            "metrics": {"training": training_metrics(source), "export": {}},
            "software": _software(exporter),
        }
        _finish(tmp, meta)
        meta["parity"], meta["caption_parity"] = _parity(model, tmp)
        _finish(tmp, meta)
        if refs is not None:
            calibration = {"image_encoder": ("pixels", refs.images if refs.file else None)}
            fp32_dir = quantise_bundle(tmp, work, meta, raw, calibration)
            _finish(tmp, meta)
            fp32 = CocaModel(load_bundle(fp32_dir, verify=False))
            ours = CocaModel(load_bundle(tmp, verify=False))
            checked = np.concatenate([refs.images[:8], ev.synthetic_images(spec, 4)])
            meta["parity_int8"] = coca_graphs_change(fp32, ours, checked)
            meta["metrics"]["export"]["int8"] = caption_change(fp32, ours, refs)
            _finish(tmp, meta)
        digest = sha256_file(tmp / BUNDLE_FILE)
    return ExportResult(output, meta, digest, time.perf_counter() - started)
