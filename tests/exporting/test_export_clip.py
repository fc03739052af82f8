"""``sargeo export clip`` on a trained tiny model: the bundle's files, metadata, parity and metrics.

The bundles are exported once a session (`tests.bundles`); every check here reads them back with
real ONNX Runtime sessions and compares with the torch model they came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from sargeo.eval.run import load_clip
from sargeo.exporting.evaluate import load_eval_set, synthetic_images, torch_images, torch_texts
from sargeo.exporting.parity import FP32, INT8, ParityError, check, compare
from sargeo.runtime.bundle import HASHED_KEYS, load_bundle, read_graph_metadata, sha256_file
from sargeo.runtime.clip import ClipModel

pytestmark = pytest.mark.slow


def _meta(bundle: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bundle / "bundle.json").read_text())
    return data


def test_bundle_describes_its_graphs_and_model(tiny_bundle: Path, tiny_run: Path) -> None:
    meta = _meta(tiny_bundle)
    model, _ = load_clip(tiny_run / "run")
    assert meta["format"] == "sargeo-bundle" and meta["format_version"] == 1
    assert meta["task"] == "clip" and meta["precision"] == "fp32"
    assert set(meta["graphs"]) == {"image_encoder", "text_encoder"}
    for entry in meta["graphs"].values():
        path = tiny_bundle / entry["file"]
        assert entry["sha256"] == sha256_file(path) and entry["bytes"] == path.stat().st_size
        assert entry["inputs"][0]["shape"][0] == "batch" and entry["opset"] >= 17
    image = meta["graphs"]["image_encoder"]
    assert image["inputs"][0] == {
        "name": "pixels",
        "dtype": "float32",
        "shape": ["batch", 3, 64, 64],
    }
    assert image["outputs"][0]["shape"] == ["batch", 64]
    assert meta["embedding_size"] == 64
    assert meta["preprocess"] == model.preprocess.to_dict()
    assert meta["tokenizer"]["kind"] == "hash-words"
    assert meta["tokenizer"]["context_length"] == 32
    assert meta["tokenizer"]["special_tokens"] == {"pad": 0, "start": 1, "end": 4095}
    assert meta["prompts"]["search"] == ["{}"] and "water" in meta["prompts"]["zeroshot"]
    assert meta["training"]["recipe"]["name"] == "test-export"
    assert meta["training"]["checkpoint_meta"]["task"] == "clip"
    assert meta["data_card"] is not None and meta["data_card"]["file"].endswith("card.json")
    assert "sar" in meta["metrics"]["training"]
    assert meta["metrics"]["export"]["mR_torch"] == pytest.approx(
        meta["metrics"]["export"]["mR_onnx_fp32"], abs=1e-6
    )
    assert meta["software"]["exporter"] == "dynamo"
    assert meta["embedding"]["normalized"] is True


def test_every_graph_carries_the_bundle_keys(tiny_bundle: Path) -> None:
    meta = _meta(tiny_bundle)
    for role, entry in meta["graphs"].items():
        path = tiny_bundle / entry["file"]
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert session.get_modelmeta().custom_metadata_map == props
        found = read_graph_metadata(props)
        assert found.pop("graph") == role
        graphs = found.pop("graphs")
        expected = {k: v for k, v in meta.items() if k != "graphs"}
        assert found == json.loads(json.dumps(expected, sort_keys=True))
        for name, graph in meta["graphs"].items():
            assert graphs[name] == {k: v for k, v in graph.items() if k not in HASHED_KEYS}


def test_parity_on_real_and_synthetic_inputs(tiny_bundle: Path, tiny_run: Path) -> None:
    meta = _meta(tiny_bundle)
    for role in ("image_encoder", "text_encoder"):
        assert set(meta["parity"][role]) == {"real", "synthetic"}
        for figures in meta["parity"][role].values():
            assert figures["max_abs_diff"] <= FP32.max_abs and figures["rows"] > 0
    # Independently of the exporter's own check: the runtime against torch, batches of 1 and 7.
    model, _ = load_clip(tiny_run / "run")
    runtime = ClipModel(load_bundle(tiny_bundle))
    csv = Path(meta["metrics"]["export"]["data"])
    data = load_eval_set(csv, model.preprocess, 8)
    images = np.concatenate([data.images, synthetic_images(model.preprocess, 6)])
    got = np.concatenate([runtime.embed_images(images[:1]), runtime.embed_images(images[1:])])
    figures = compare(torch_images(model, images), got)
    assert figures["max_abs_diff"] < 1e-4 and figures["min_cosine"] > 0.9999
    ids = runtime.tokenizer.encode(data.texts)
    figures = compare(torch_texts(model, ids), runtime.embed_tokens(ids))
    assert figures["max_abs_diff"] < 1e-4


def test_int8_bundle_reports_its_retrieval_change(
    tiny_bundle_int8: Path, tiny_bundle: Path
) -> None:
    meta = _meta(tiny_bundle_int8)
    assert meta["precision"] == "int8" and meta["software"]["exporter"] == "legacy"
    for entry in meta["graphs"].values():
        assert entry["precision"] == "int8"
        assert entry["quantisation"]["method"] == "dynamic"
    export = meta["metrics"]["export"]
    assert export["mR_change_int8"] == pytest.approx(
        export["mR_onnx_int8"] - export["mR_onnx_fp32"]
    )
    for figures in meta["parity"]["image_encoder"].values():
        assert figures["min_cosine"] >= INT8.min_cosine
    assert meta["embedding"]["space"] == _meta(tiny_bundle)["embedding"]["space"]
    fp32 = (tiny_bundle / "image_encoder.onnx").stat().st_size
    assert (tiny_bundle_int8 / "image_encoder.onnx").stat().st_size < fp32


def test_parity_check_fails_on_other_weights(tiny_bundle: Path, tiny_run: Path) -> None:
    """The same comparison the export runs, against a model with other weights, must fail."""
    model, _ = load_clip(tiny_run / "run")
    with torch.no_grad():
        for parameter in model.net.visual.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)
    runtime = ClipModel(load_bundle(tiny_bundle))
    images = synthetic_images(model.preprocess, 4)
    figures = {"synthetic": compare(torch_images(model, images), runtime.embed_images(images))}
    with pytest.raises(ParityError, match="image_encoder graph differs from torch on synthetic"):
        check("image_encoder", figures, FP32)


def test_a_plain_open_clip_checkpoint_exports_with_its_bpe(tmp_path: Path, tiny_run: Path) -> None:
    """A user's own open_clip weights (as the authors publish theirs) with its model config."""
    from sargeo.cli import main
    from sargeo.models.clip import create_model

    config = {
        "name": "test-open-clip-bpe",
        "open_clip": {
            "embed_dim": 32,
            "vision_cfg": {
                "image_size": 32,
                "layers": 1,
                "width": 32,
                "head_width": 16,
                "patch_size": 8,
            },
            "text_cfg": {
                "context_length": 77,
                "vocab_size": 49408,
                "width": 32,
                "heads": 2,
                "layers": 1,
            },
        },
        "tokenizer": {"kind": "open-clip", "model": "ViT-B-32", "context_length": 77},
        "preprocess": {"size": 32},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    torch.manual_seed(0)
    model = create_model(path, pretrained=False)
    torch.save({"state_dict": model.net.state_dict()}, tmp_path / "weights.pt")
    out = tmp_path / "export" / "user-model"
    argv = ["export", "clip", str(tmp_path / "weights.pt"), "--model", str(path), "-o", str(out)]
    assert main([*argv, "--eval-data", str(tiny_run / "narrated"), "-q"]) == 0
    meta = _meta(out)
    assert meta["tokenizer"]["kind"] == "hf-json" and meta["tokenizer"]["context_length"] == 77
    assert (out / "tokenizer.json").is_file()
    assert meta["tokenizer"]["files"]["tokenizer.json"] == sha256_file(out / "tokenizer.json")
    assert meta["training"]["recipe"] is None and meta["data_card"] is None
    runtime = ClipModel(load_bundle(out))
    query = runtime.embed_texts(["two ships at sea"])
    reference = model.eval().encode_text(model.tokenize(["two ships at sea"])).detach().numpy()
    np.testing.assert_allclose(query, reference, atol=1e-5)


def test_bad_export_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sargeo.cli import main

    (tmp_path / "empty").mkdir()
    for source, needle in (
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "empty", "holds no checkpoint"),
    ):
        assert main(["export", "clip", str(source), "-o", str(tmp_path / "out"), "-q"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0]
        assert not (tmp_path / "out").exists()
    assert main(["export", "coca", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    assert main(["export", "gpt", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_existing_bundle_needs_overwrite(
    tiny_bundle: Path, tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sargeo.cli import main

    before = sha256_file(tiny_bundle / "bundle.json")
    assert main(["export", "clip", str(tiny_run / "run"), "-o", str(tiny_bundle), "-q"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sha256_file(tiny_bundle / "bundle.json") == before
