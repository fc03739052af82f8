"""Bundles load only when they are what ``bundle.json`` says: format, version, task, files, hashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sargeo.runtime.bundle import BundleError, graph_metadata, load_bundle, read_graph_metadata

pytestmark = pytest.mark.slow


def _copy(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle, tmp_path / "bundle"))


def _edit(bundle: Path, change: Any) -> None:
    meta = json.loads((bundle / "bundle.json").read_text())
    change(meta)
    (bundle / "bundle.json").write_text(json.dumps(meta))


def test_a_bundle_loads_with_its_parts(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    assert bundle.task == "clip" and bundle.embedding_size == 64
    assert bundle.path("image_encoder") == tiny_bundle / "image_encoder.onnx"
    assert bundle.preprocess.size == 64 and bundle.tokenizer.kind == "hash-words"
    assert len(bundle.sha256) == 64
    bundle.require_task("clip")
    with pytest.raises(BundleError, match="needs a coca bundle"):
        bundle.require_task("coca")


def test_a_changed_graph_is_refused(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = _copy(tiny_bundle, tmp_path)
    graph = copy / "text_encoder.onnx"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"text_encoder\.onnx does not match its sha256"):
        load_bundle(copy)
    load_bundle(copy, verify=False)  # the hash is the only thing wrong


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format_version=2), "format version 2; this sargeo reads version 1"),
        (lambda m: m.update(format_version=None), "format version None"),
        (lambda m: m.update(format="other"), "not a sargeo bundle description"),
        (lambda m: m.update(task="segment"), "unknown task 'segment'"),
        (lambda m: m["graphs"].pop("text_encoder"), "needs the graph(s) text_encoder"),
        (lambda m: m["graphs"]["image_encoder"].update(file="../x.onnx"), "must be a file inside"),
        (lambda m: m["graphs"]["image_encoder"].pop("inputs"), "incompletely described"),
        (
            lambda m: m["tokenizer"]["files"].update({"tokenizer.json": "0" * 64}),
            "the tokenizer file tokenizer.json is missing",
        ),
        (lambda m: m["preprocess"].update(size=2), "bad preprocessing description"),
    ],
)
def test_a_bad_description_is_refused(
    tiny_bundle: Path, tmp_path: Path, change: Any, message: str
) -> None:
    copy = _copy(tiny_bundle, tmp_path)
    _edit(copy, change)
    with pytest.raises(BundleError) as caught:
        load_bundle(copy)
    assert message in str(caught.value)


def test_missing_files_and_folders(tiny_bundle: Path, tmp_path: Path) -> None:
    copy = _copy(tiny_bundle, tmp_path)
    (copy / "image_encoder.onnx").unlink()
    with pytest.raises(
        BundleError, match=r"image_encoder graph file image_encoder\.onnx is missing"
    ):
        load_bundle(copy)
    with pytest.raises(BundleError, match="is not a folder"):
        load_bundle(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BundleError, match=r"has no bundle\.json"):
        load_bundle(tmp_path / "plain")
    (tmp_path / "plain" / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path / "plain")


def test_graph_metadata_round_trip() -> None:
    meta = {
        "task": "clip",
        "graphs": {"image_encoder": {"file": "a.onnx", "sha256": "x", "bytes": 3, "inputs": []}},
        "preprocess": {"size": 64},
    }
    props = graph_metadata(meta, "image_encoder")
    assert set(props) == {"sargeo.task", "sargeo.graphs", "sargeo.preprocess", "sargeo.graph"}
    back = read_graph_metadata({**props, "other": "ignored"})
    assert back["graphs"] == {"image_encoder": {"file": "a.onnx", "inputs": []}}
    assert back["graph"] == "image_encoder" and back["preprocess"] == {"size": 64}
