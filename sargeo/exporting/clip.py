"""``sargeo export clip``: a SAR-RS-CLIP model -> a bundle with image and text encoder graphs.

Steps: load the model and its provenance; write the tokenizer and check its ids against torch's;
export both encoders (dynamic batch), optimise them offline, quantise them with ``int8``; compare every
graph with torch on real and synthetic inputs (export stops, writing nothing, when they differ);
measure retrieval through the graphs; write ``bundle.json`` and the same keys into each graph.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sargeo import __version__
from sargeo.atomic import atomic_dir
from sargeo.errors import InputError
from sargeo.exporting import evaluate as ev
from sargeo.exporting.graphs import OPSET, describe, export_graph, optimise, set_metadata
from sargeo.exporting.parity import FP32, INT8, ParityError, check, compare
from sargeo.exporting.quantize import quantise
from sargeo.exporting.source import (
    ExportSource,
    data_card,
    eval_csv,
    load_source,
    training_metrics,
    training_record,
)
from sargeo.exporting.tokenizers import write_tokenizer
from sargeo.models.clip import SarClip
from sargeo.runtime.bundle import (
    BUNDLE_FILE,
    FORMAT,
    FORMAT_VERSION,
    TokenizerInfo,
    graph_metadata,
    sha256_file,
)
from sargeo.runtime.clip import normalise_rows
from sargeo.runtime.sessions import open_session
from sargeo.runtime.tokenizer import TextTokenizer, load_tokenizer

ROLES = {
    "image_encoder": ("pixels", "image_embeds"),
    "text_encoder": ("tokens", "text_embeds"),
}
"""Graph role -> (input name, output name). Output names differ from every module name inside the
towers: the dynamo exporter would otherwise give an internal value the same name (see the package
docstring)."""


class _ImageEncoder(torch.nn.Module):
    def __init__(self, model: SarClip) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)


class _TextEncoder(torch.nn.Module):
    def __init__(self, model: SarClip) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens)


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    output: Path
    meta: dict[str, Any]
    sha256: str
    seconds: float

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"exported {self.meta['name']} ({self.meta['precision']}) in {self.seconds:.0f} s"]
        for role, figures in self.meta["parity"].items():
            for inputs, f in figures.items():
                lines.append(
                    f"  parity {role:<13} {inputs:<9} max |diff| {f['max_abs_diff']:.2g},"
                    f" min cosine {f['min_cosine']:.6f} ({f['rows']} rows)"
                )
        for beam, share in self.meta.get("caption_parity", {}).items():
            lines.append(
                f"  parity captions {beam}: {share:.0%} of images token for token as torch"
            )
        for search, share in self.meta.get("answer_parity", {}).items():
            lines.append(f"  parity answers {search}: {share:.0%} token for token as torch")
        from sargeo.exporting.int8_change import summary_lines

        lines += summary_lines(self.meta)
        retrieval = self.meta["metrics"].get("export", {})
        for key in ("mR_torch", "mR_onnx_fp32", "mR_onnx_int8", "mR_change_int8"):
            if key in retrieval:
                lines.append(f"  {key:<16} {retrieval[key]:.2f}")
        lines.append(f"bundle: {self.output} (sha256 {self.sha256[:12]})")
        return "\n".join(lines)


def _zeroshot_prompts() -> dict[str, Any]:
    data = json.loads((resources.files("sargeo.eval") / "prompts.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _pad(ids: torch.Tensor, length: int, pad: int) -> np.ndarray:
    out = np.full((len(ids), length), pad, dtype=np.int64)
    out[:, : ids.shape[1]] = ids.numpy()[:, :length]
    return out


def _check_tokenizer(model: SarClip, tokenizer: TextTokenizer, texts: list[str], pad: int) -> None:
    """The bundle's tokenizer gives the ids the model trained with, or the export stops."""
    ours = tokenizer.encode(texts)
    theirs = _pad(model.tokenize(texts), tokenizer.context_length, pad)
    bad = [t for t, a, b in zip(texts, ours, theirs, strict=True) if not np.array_equal(a, b)]
    if bad:
        raise ParityError(
            f"parity failed: the bundle's tokenizer gives other ids than the model's for {len(bad)}"
            f" text(s), e.g. {bad[0][:60]!r}; no bundle was written"
        )


class _Graphs:
    """The ONNX sessions of one precision, embedding like `sargeo.runtime.clip.ClipModel`."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.sessions = {role: open_session(path) for role, path in paths.items()}

    def images(self, batch: np.ndarray) -> np.ndarray:
        out = self.sessions["image_encoder"].run(None, {"pixels": batch})[0]
        return normalise_rows(out)

    def texts(self, ids: np.ndarray) -> np.ndarray:
        return normalise_rows(self.sessions["text_encoder"].run(None, {"tokens": ids})[0])


def _in_batches(run: Any, items: np.ndarray) -> np.ndarray:
    """The first item alone, the rest by 7: a batch of 1 and larger ones through the dynamic axis."""
    rest = [run(items[i : i + 7]) for i in range(1, len(items), 7)]
    return np.concatenate([run(items[:1]), *rest])


def _parity(
    model: SarClip, graphs: _Graphs, inputs: dict[str, dict[str, np.ndarray]]
) -> dict[str, dict[str, dict[str, float]]]:
    """Compare graphs with torch on each input set; batch sizes 1 and up check the dynamic axis."""
    found: dict[str, dict[str, dict[str, float]]] = {"image_encoder": {}, "text_encoder": {}}
    for name, sets in inputs.items():
        images, ids = sets["images"], sets["ids"]
        if len(images):
            ref = ev.torch_images(model, images)
            got = _in_batches(graphs.images, images)
            found["image_encoder"][name] = compare(ref, got)
        if len(ids):
            ref = ev.torch_texts(model, ids)
            got = _in_batches(graphs.texts, ids)
            found["text_encoder"][name] = compare(ref, got)
    return found


def _graph_entry(path: Path, precision: str, quantisation: dict[str, Any] | None) -> dict[str, Any]:
    inputs, outputs = describe(path)
    entry: dict[str, Any] = {
        "file": path.name,
        "inputs": inputs,
        "outputs": outputs,
        "precision": precision,
        "opset": OPSET,
    }
    if quantisation:
        entry["quantisation"] = quantisation
    return entry


def _software(exporter: str) -> dict[str, str]:
    import onnx
    import onnxruntime

    return {
        "sargeo": __version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "exporter": exporter,
    }


def export_clip(
    source_path: Path,
    output: Path,
    *,
    int8: bool = False,
    model_name: str | None = None,
    exporter: str = "dynamo",
    eval_data: Path | None = None,
    max_images: int = 200,
    prompts: list[str] | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Export a CLIP model to a bundle folder (see the module docstring).

    Args:
        source_path: A run folder, a checkpoint, or (with ``model_name``) a plain open_clip checkpoint.
        output: The bundle folder to write (``export/NAME``).
        int8: Quantise the graphs to int8 (the bundle then reports the change in mR against fp32).
        model_name: The model config (shipped name or JSON file) of a plain open_clip checkpoint.
        exporter: ``dynamo`` (default) or ``legacy`` (torch's TorchScript-based exporter).
        eval_data: A caption CSV or corpus folder to check and measure on (default: the run's test split).
        max_images: Images of the evaluation data used for parity, calibration and mR.
        prompts: Search prompt templates (``{}`` is the query); default ``["{}"]``.
        overwrite: Replace an existing bundle folder.

    Raises:
        ParityError: when a graph or the tokenizer disagrees with torch; nothing is written.
    """
    started = time.perf_counter()
    source = load_source(source_path, model_name)
    csv = eval_csv(source, eval_data)
    if max_images < 1:
        raise InputError("`max_images` must be at least 1")
    templates = prompts or ["{}"]
    if any("{}" not in t for t in templates):
        raise InputError("every prompt template needs {} where the query goes")
    inputs: list[Path] = [source_path] + ([csv] if csv else [])
    with (
        atomic_dir(output, inputs=inputs, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory(prefix="sargeo-export-") as work_dir,
    ):
        meta = _export(source, csv, tmp, Path(work_dir), int8, exporter, max_images, templates)
        meta["name"] = output.name
        _finish(tmp, meta)
        digest = sha256_file(tmp / BUNDLE_FILE)
    return ExportResult(output, meta, digest, time.perf_counter() - started)


def _export(
    source: ExportSource,
    csv: Path | None,
    folder: Path,
    work: Path,
    int8: bool,
    exporter: str,
    max_images: int,
    templates: list[str],
) -> dict[str, Any]:
    model = source.model
    spec = model.preprocess
    entry = write_tokenizer(model.config["tokenizer"], folder)
    info = TokenizerInfo(**{**entry, "files": dict.fromkeys(entry["files"], "")})
    tokenizer = load_tokenizer(info, folder)
    pad = int(entry["special_tokens"].get("pad", 0))
    data = ev.load_eval_set(csv, spec, max_images)
    real_texts = list(dict.fromkeys([*data.texts[:64], *ev.REAL_TEXTS]))
    fake_texts = ev.synthetic_texts(12)
    _check_tokenizer(model, tokenizer, real_texts + fake_texts, pad)
    sets: dict[str, dict[str, np.ndarray]] = {
        "real": {"images": data.images[:16], "ids": tokenizer.encode(real_texts)},
        "synthetic": {"images": ev.synthetic_images(spec, 9), "ids": tokenizer.encode(fake_texts)},
    }
    modules = {"image_encoder": _ImageEncoder(model), "text_encoder": _TextEncoder(model)}
    examples = {
        "image_encoder": torch.from_numpy(ev.synthetic_images(spec, 2)),
        "text_encoder": torch.from_numpy(tokenizer.encode(ev.REAL_TEXTS[:2])),
    }
    raw, fp32, final = {}, {}, {}
    quantisations: dict[str, dict[str, Any] | None] = {}
    for role, (input_name, output_name) in ROLES.items():
        raw[role] = export_graph(
            modules[role],
            [examples[role]],
            work / f"{role}.raw.onnx",
            [input_name],
            [output_name],
            exporter,
        )
        fp32[role] = optimise(raw[role], work / f"{role}.onnx")
        quantisations[role] = None
        final[role] = fp32[role]
    fp32_graphs = _Graphs(fp32)
    parity = _parity(model, fp32_graphs, sets)
    for role, results in parity.items():
        check(role, results, FP32)
    metrics: dict[str, Any] = {}
    if data.owners:
        metrics["images"] = len(data.images)
        metrics["captions"] = len(data.texts)
        ids = tokenizer.encode(data.texts)
        metrics["mR_torch"] = ev.mean_recall(
            ev.torch_images(model, data.images), ev.torch_texts(model, ids), data.owners
        )["mR"]
        metrics["onnx_fp32"] = ev.mean_recall(
            ev.batched(fp32_graphs.images, data.images, 32),
            ev.batched(fp32_graphs.texts, ids, 64),
            data.owners,
        )
        metrics["mR_onnx_fp32"] = metrics["onnx_fp32"]["mR"]
    if int8:
        for role, (input_name, _) in ROLES.items():
            calibration = data.images if role == "image_encoder" else None
            quantisations[role] = quantise(
                raw[role], work / f"{role}.int8.onnx", calibration, input_name
            )
            final[role] = work / f"{role}.int8.onnx"
        int8_graphs = _Graphs(final)
        parity = _parity(model, int8_graphs, sets)
        for role, results in parity.items():
            check(role, results, INT8)
        if data.owners:
            metrics["onnx_int8"] = ev.mean_recall(
                ev.batched(int8_graphs.images, data.images, 32),
                ev.batched(int8_graphs.texts, tokenizer.encode(data.texts), 64),
                data.owners,
            )
            metrics["mR_onnx_int8"] = metrics["onnx_int8"]["mR"]
            metrics["mR_change_int8"] = metrics["mR_onnx_int8"] - metrics["mR_onnx_fp32"]
    if csv is not None:
        metrics["data"] = str(csv)
    precision = "int8" if int8 else "fp32"
    graphs = {}
    for role in ROLES:
        target = folder / f"{role}.onnx"
        shutil.copyfile(final[role], target)
        graphs[role] = _graph_entry(target, precision, quantisations[role])
    logit_scale = float(model.logit_scale.exp().item())
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": "clip",
        "name": "",
        "model": model.name,
        "precision": precision,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "graphs": graphs,
        "preprocess": spec.to_dict(),
        "tokenizer": entry,
        "prompts": {"search": templates, "zeroshot": _zeroshot_prompts()},
        "embedding_size": _width(fp32_graphs, spec),
        "embedding": {
            "normalized": True,
            "logit_scale": logit_scale,
            "space": source.weights_sha256,
        },
        "training": training_record(source, model.config),
        "data_card": data_card(source),
        "metrics": {"training": training_metrics(source), "export": metrics},
        "parity": parity,
        "software": _software(exporter),
    }


def _width(graphs: _Graphs, spec: Any) -> int:
    return int(graphs.images(ev.synthetic_images(spec, 1)).shape[1])


def _finish(folder: Path, meta: dict[str, Any]) -> None:
    """Hash the tokenizer files, store the metadata in every graph, then hash the graphs."""
    files = meta["tokenizer"]["files"]
    for name in files:
        files[name] = sha256_file(folder / name)
    for role, entry in meta["graphs"].items():
        set_metadata(folder / entry["file"], graph_metadata(meta, role))
    for entry in meta["graphs"].values():
        path = folder / entry["file"]
        entry["sha256"] = sha256_file(path)
        entry["bytes"] = path.stat().st_size
    (folder / BUNDLE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
