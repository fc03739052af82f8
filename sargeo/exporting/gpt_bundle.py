"""``sargeo export gpt``: a trained SAR-GPT as a bundle for `sargeo.runtime.gpt.GptModel`.

Files: ``vision_encoder.onnx`` (tower and projector) and ``lm_step.onnx`` (one language-model step with
a key-value cache; LoRA merged), from `sargeo.exporting.gpt.export_gpt_graphs` and optimised offline;
``token_embeddings.npy`` (the language model's input table); the tokenizer's file (``vocab.json`` for a
word vocabulary, ``tokenizer.json`` for SmolLM2's BPE; none for bytes). ``bundle.json`` adds the chat
prompt's pieces (`sargeo.runtime.gpt_text`), the stop tokens, ``max_new_tokens``, the cache shape and
the preprocessing. Parity, or nothing is written: image embeddings within fp32 tolerance, prompt ids
equal to the chat layer's, and greedy answers token for token those of torch on synthetic images.
With ``int8``, the graphs that passed are quantised (the token table stays fp32) and measured
against them (`sargeo.exporting.int8_change`): ``parity_int8`` and ``metrics.export.int8``.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sargeo.atomic import atomic_dir
from sargeo.errors import InputError
from sargeo.exporting import evaluate as ev
from sargeo.exporting.clip import ExportResult, _finish, _graph_entry, _software
from sargeo.exporting.gpt import export_gpt_graphs
from sargeo.exporting.graphs import optimise
from sargeo.exporting.int8_change import (
    ANSWER_IMAGES,
    answer_change,
    answer_references,
    gpt_graphs_change,
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
)
from sargeo.models.gpt import SarGpt, load_gpt
from sargeo.models.gpt.chat import ByteCodec, HFCodec, WordCodec
from sargeo.models.gpt.generate import generate
from sargeo.runtime.bundle import BUNDLE_FILE, FORMAT, FORMAT_VERSION, load_bundle, sha256_file
from sargeo.runtime.gpt import GptModel

QUESTIONS = (
    "How many ships are in the image?",
    "Is there any water?",
    "What is in the image?",
)
"""Questions of the parity check (any text: it compares tokens, not answers)."""
_SENTINEL = "\u0001QUESTION\u0001"


def _tokenizer(model: SarGpt, folder: Path) -> dict[str, Any]:
    """Write the tokenizer's file; its ``bundle.json`` entry (hashes filled by `_finish`)."""
    codec = model.codec
    options: dict[str, Any] = {"embeddings": "token_embeddings.npy"}
    special = {"pad": int(codec.pad_id), "end": int(codec.stop_ids[0])}
    if isinstance(codec, WordCodec):
        kind, options["file"] = "gpt-words", "vocab.json"
        (folder / "vocab.json").write_text(json.dumps(codec.vocab, ensure_ascii=False) + "\n")
    elif isinstance(codec, ByteCodec):
        kind = "gpt-bytes"
        special.update(codec.ids)
    elif isinstance(codec, HFCodec):
        kind, options["file"] = "hf-json", "tokenizer.json"
        codec.tok.backend_tokenizer.save(str(folder / "tokenizer.json"))
    else:
        raise InputError(f"cannot export the tokenizer {type(codec).__name__} of {model.name}")
    files = {name: "" for name in (options.get("file"), options["embeddings"]) if name}
    return {
        "kind": kind,
        "context_length": int(model.config["context_length"]),
        "files": files,
        "special_tokens": special,
        "options": options,
    }


def _chat(model: SarGpt) -> dict[str, Any]:
    """The rendered prompt split at the image token: ids before it, text after it."""
    chat = model.chat
    messages = chat._with_system([{"role": "user", "content": f"{chat.image_token}\n{_SENTINEL}"}])
    parts = model.codec.render(messages, True).split(chat.image_token)
    if len(parts) != 2 or _SENTINEL not in parts[1] or "{question}" in parts[1]:
        raise InputError(f"cannot split the chat template of {model.name} at the image token")
    return {
        "prefix_ids": model.codec.encode(parts[0]),
        "image_slots": chat.image_slots,
        "suffix": parts[1].replace(_SENTINEL, "{question}"),
        "system": chat.system,
        "image_token": chat.image_token,
    }


def _lm_entry(path: Path) -> dict[str, Any]:
    """`_graph_entry` of the LM step, with its real first axes (layers, or a batch of one)."""
    import onnx

    entry = _graph_entry(path, "fp32", None)
    graph = onnx.load(str(path), load_external_data=False).graph
    first = {v.name: v.type.tensor_type.shape.dim[0] for v in [*graph.input, *graph.output]}
    for tensor in [*entry["inputs"], *entry["outputs"]]:
        dim = first[tensor["name"]]
        tensor["shape"][0] = dim.dim_param or dim.dim_value
    return entry


def _source(path: Path, model: SarGpt) -> ExportSource:
    from sargeo.train.checkpoint import find_checkpoint, read_json

    checkpoint = find_checkpoint(path)
    run_dir = _run_dir_of(checkpoint)
    recipe = None
    if run_dir is not None and (run_dir / "recipe.json").is_file():
        recipe = read_json(run_dir / "recipe.json")
    meta = read_json(checkpoint / "meta.json")
    return ExportSource(model, path, checkpoint, meta, recipe, run_dir, "")  # type: ignore[arg-type]


def _parity(model: SarGpt, bundle_dir: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Embeddings, prompt ids and greedy answers of the bundle against torch; `ParityError` if not."""
    runtime = GptModel(load_bundle(bundle_dir, verify=False), threads=1)
    images = ev.synthetic_images(model.preprocess, 3)
    with torch.no_grad():
        ref = model.image_embeddings(torch.from_numpy(images)).numpy()
    got = runtime.image_embeddings(images)
    found = {"vision_encoder": {"synthetic": compare(ref.reshape(-1, ref.shape[-1]),
                                                     got.reshape(-1, got.shape[-1]))}}  # fmt: skip
    check("vision_encoder", found["vision_encoder"], FP32)
    for question in QUESTIONS:
        want = model.chat.prompt([], question)
        if runtime.text.prompt(question) != (want.ids, want.image):
            raise ParityError(f"parity failed: the bundle's prompt ids for {question!r} differ")
    same, stops = [], runtime.stop_tokens
    for free in (False, True):  # the model's stop tokens, then 8 tokens whatever they are
        runtime.stop_tokens = () if free else stops
        saved, model.codec.stop_ids = model.codec.stop_ids, (() if free else stops)
        try:
            for image, embeds, question in zip(images, got, QUESTIONS, strict=True):
                a = generate(model, torch.from_numpy(image), question, max_new_tokens=8)
                b = runtime.generate(embeds, question, 8)
                same.append(a.tokens == b.tokens)
        finally:
            model.codec.stop_ids, runtime.stop_tokens = saved, stops
    if not all(same):
        raise ParityError(
            f"parity failed: the bundle's greedy answers differ from torch's on {same.count(False)}"
            f" of {len(same)} image-question pairs; no bundle was written"
        )
    return found, {"greedy": float(np.mean(same))}


def export_gpt(
    source_path: Path,
    output: Path,
    *,
    int8: bool = False,
    eval_data: Path | None = None,
    max_images: int | None = None,
    exporter: str = "dynamo",
    overwrite: bool = False,
) -> ExportResult:
    """Export a SAR-GPT run or checkpoint to a bundle folder (see the module docstring).

    Args:
        source_path: A run folder or checkpoint.
        output: The bundle folder to write (``export/NAME``).
        int8: Quantise the graphs to int8, and measure the answers' change against fp32
            (`sargeo.exporting.int8_change`).
        eval_data: The narrator's ``qa.jsonl`` (or its corpus folder) to measure int8 on
            (default: the corpus of the run's evaluation data).
        max_images: Test images whose closed questions both precisions answer (default
            `ANSWER_IMAGES`).
        exporter: ``dynamo`` only.
        overwrite: Replace an existing bundle folder.

    Raises:
        ParityError: when the bundle disagrees with torch, or int8 graphs are broken; nothing is
            written.
    """
    if exporter != "dynamo":
        raise InputError("SAR-GPT graphs are exported with the dynamo exporter only")
    if max_images is not None and max_images < 1:
        raise InputError("`max_images` must be at least 1")
    started = time.perf_counter()
    model = load_gpt(source_path)
    source = _source(source_path, model)
    refs_file, why_not = reference_file(source, eval_data, "qa.jsonl") if int8 else (None, "")
    inputs = [source_path] + ([refs_file] if refs_file else [])
    spec = model.preprocess
    refs = (
        answer_references(refs_file, why_not, spec, max_images or ANSWER_IMAGES) if int8 else None
    )
    with (
        atomic_dir(output, inputs=inputs, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory(prefix="sargeo-export-") as work_dir,
    ):
        work = Path(work_dir)
        shapes = export_gpt_graphs(model, work)  # merges LoRA; checks the raw graphs
        raw = {"vision_encoder": work / "vision.onnx", "lm_step": work / "lm_step.onnx"}
        for role, path in raw.items():
            optimise(path, tmp / f"{role}.onnx")
        np.save(tmp / "token_embeddings.npy", np.load(work / "token_embeddings.npy"))
        meta: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": "gpt",
            "name": output.name,
            "model": model.name,
            "precision": "fp32",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "graphs": {
                "vision_encoder": _graph_entry(tmp / "vision_encoder.onnx", "fp32", None),
                "lm_step": _lm_entry(tmp / "lm_step.onnx"),
            },
            "preprocess": model.preprocess.to_dict(),
            "tokenizer": _tokenizer(model, tmp),
            "chat": _chat(model),
            "stop_tokens": list(model.codec.stop_ids),
            "max_new_tokens": int(model.config.get("max_new_tokens", 32)),
            "cache": shapes["cache"],
            "embedding_size": 0,
            "training": {
                **training_record(source, model.config),
                "checkpoint_sha256": model.config.get("checkpoint_sha256", ""),
            },
            "data_card": data_card(source),
            "metrics": {"training": training_metrics(source), "export": {}},
            "software": _software(exporter),
        }
        _finish(tmp, meta)
        meta["parity"], meta["answer_parity"] = _parity(model, tmp)
        _finish(tmp, meta)
        if refs is not None:
            calibration = {"vision_encoder": ("images", refs.images if refs.file else None)}
            fp32_dir = quantise_bundle(tmp, work, meta, raw, calibration)
            _finish(tmp, meta)
            fp32 = GptModel(load_bundle(fp32_dir, verify=False))
            ours = GptModel(load_bundle(tmp, verify=False))
            checked = np.concatenate([refs.images[:4], ev.synthetic_images(spec, 2)])
            meta["parity_int8"] = gpt_graphs_change(fp32, ours, checked, QUESTIONS[0])
            meta["metrics"]["export"]["int8"] = answer_change(fp32, ours, refs, QUESTIONS)
            _finish(tmp, meta)
        digest = sha256_file(tmp / BUNDLE_FILE)
    return ExportResult(output, meta, digest, time.perf_counter() - started)
