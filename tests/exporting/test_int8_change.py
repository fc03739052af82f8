"""``sargeo export coca|gpt --int8``: the tiny CoCa and SAR-GPT as int8 bundles with quantised graphs,
smaller than fp32, whose captions and answers are measured against fp32 on the test split and recorded
in ``bundle.json``; the runtime, ``sargeo caption`` and ``sargeo ask`` use them as they are."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import onnx
import pyogrio
import pytest

from sargeo.cli import main
from sargeo.exporting.int8_change import (
    BROKEN_COSINE,
    _judge,
    answer_references,
    reference_file,
    summary_lines,
)
from sargeo.exporting.parity import ParityError
from sargeo.exporting.source import ExportSource
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.coca import CocaModel
from sargeo.runtime.gpt import GptModel
from sargeo.runtime.preprocess import PreprocessSpec
from tests.gpt_runs import QUESTION

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def coca_int8(tiny_coca_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CoCa run exported with --int8, measured on its own corpus's test split."""
    out = tmp_path_factory.mktemp("coca-int8") / "tiny-coca-int8"
    assert main(["export", "coca", str(tiny_coca_run / "run"), "-o", str(out), "--int8", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def qa_corpus(tiny_coca_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run's scenes narrated with question-answer pairs, two of four in the test split."""
    out = tmp_path_factory.mktemp("qa") / "narrated"
    argv = ["narrate", str(tiny_coca_run / "synth"), "-o", str(out), "--qa", "-q"]
    assert main([*argv, "--splits", "0.25,0.25,0.5"]) == 0
    return out


@pytest.fixture(scope="module")
def gpt_int8(tiny_gpt: Path, qa_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SAR-GPT checkpoint (no run, no corpus) exported with --int8 and --eval-data."""
    out = tmp_path_factory.mktemp("gpt-int8") / "tiny-gpt-int8"
    argv = ["export", "gpt", str(tiny_gpt / "ck"), "-o", str(out), "--int8", "-q"]
    assert main([*argv, "--eval-data", str(qa_corpus)]) == 0
    return out


def _ops(path: Path) -> collections.Counter[str]:
    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def _check_graphs(folder: Path, fp32_bytes: dict[str, int]) -> dict[str, Any]:
    """Every graph quantised (int8 ops, smaller than its fp32 file) and checked against fp32."""
    meta: dict[str, Any] = json.loads((folder / "bundle.json").read_text())
    assert meta["precision"] == "int8"
    for role, entry in meta["graphs"].items():
        ops = _ops(folder / entry["file"])
        assert ops["MatMulInteger"] >= 2 and ops["DynamicQuantizeLinear"] >= 2, (role, ops)
        assert entry["precision"] == "int8" and entry["quantisation"]["method"] == "dynamic"
        assert entry["bytes"] == (folder / entry["file"]).stat().st_size < fp32_bytes[role]
        recorded = entry["quantisation"]["fp32_bytes"]  # metadata (names, times) differ a little
        assert recorded == pytest.approx(fp32_bytes[role], rel=0.01)
        for figures in meta["parity_int8"][role].values():
            assert BROKEN_COSINE <= figures["min_cosine"] <= 1.0 + 1e-9
    return meta


def test_coca_int8_bundle_records_the_change_in_captions(coca_int8: Path) -> None:
    meta = json.loads((coca_int8 / "bundle.json").read_text())
    fp32 = {role: e["quantisation"]["fp32_bytes"] for role, e in meta["graphs"].items()}
    assert set(fp32) == {"image_encoder", "decoder_step"}
    _check_graphs(coca_int8, fp32)
    record = meta["metrics"]["export"]["int8"]
    assert record["data"].endswith("narrated/captions.jsonl") and record["split"] == "test"
    assert record["images"] >= 1 and 0.0 <= record["identical"] <= 1.0
    for metric in ("BLEU-4", "CIDEr-D"):
        before, after = record["fp32"][metric], record["int8"][metric]
        assert isinstance(before, float) and isinstance(after, float)
        assert record["change"][metric] == pytest.approx(after - before)
    assert meta["caption_parity"] == {"beam 1": 1.0, "beam 3": 1.0}  # fp32 graphs, checked first
    model = CocaModel(load_bundle(coca_int8), threads=1)  # hashes verified: loads unchanged
    images = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    captions = model.caption(images, model.settings({"beam_width": 1, "max_length": 8}))
    assert all(c.caption for c in captions)


def test_caption_through_the_int8_bundle(
    coca_int8: Path, shared_data: Path, tmp_path: Path
) -> None:
    scene = shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"
    out = tmp_path / "captions.gpkg"
    argv = ["caption", str(scene), "--bundle", str(coca_int8), "-o", str(out), "--size", "256"]
    assert main([*argv, "--threads", "1", "-q"]) == 0
    frame = pyogrio.read_dataframe(out, layer="captions")
    assert len(frame) == 4 and frame["caption"].str.len().gt(0).all()
    assert set(frame["bundle_sha256"]) == {load_bundle(coca_int8).sha256}


def test_gpt_int8_bundle_records_the_change_in_answers(gpt_int8: Path, tiny_gpt: Path) -> None:
    fp32_meta = json.loads((tiny_gpt / "bundle" / "bundle.json").read_text())
    fp32 = {role: e["bytes"] for role, e in fp32_meta["graphs"].items()}
    meta = _check_graphs(gpt_int8, fp32)
    record = meta["metrics"]["export"]["int8"]
    assert record["data"].endswith("qa.jsonl") and record["split"] == "test"
    assert record["images"] == 2 and record["questions"] >= 2
    assert 0.0 <= record["identical"] <= 1.0
    before, after = record["fp32"]["accuracy"], record["int8"]["accuracy"]
    assert 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0
    assert record["change"]["accuracy"] == pytest.approx(after - before)
    assert meta["answer_parity"] == {"greedy": 1.0}
    table = np.load(gpt_int8 / "token_embeddings.npy")  # the token table stays as it was
    assert np.array_equal(table, np.load(tiny_gpt / "bundle" / "token_embeddings.npy"))
    lines = "\n".join(summary_lines(meta))
    assert "answers identical" in lines and "accuracy" in lines


def test_ask_through_the_int8_bundle(gpt_int8: Path, shared_data: Path, tmp_path: Path) -> None:
    chip = shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"
    out = tmp_path / "answers.gpkg"
    argv = ["ask", str(chip), QUESTION, "--bundle", str(gpt_int8), "-o", str(out), "-q"]
    assert main([*argv, "--size", "256", "--threads", "1"]) == 0
    frame = gpd.read_file(out)
    assert len(frame) == 4 and frame["answer"].str.len().gt(0).all()
    model = GptModel(load_bundle(gpt_int8), threads=1)
    images = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    assert "ships" in model.answer(images, [QUESTION])[0]  # still the trained words, not noise


def test_without_references_the_record_says_why(tiny_gpt: Path) -> None:
    source = ExportSource(None, tiny_gpt / "ck", tiny_gpt / "ck")  # type: ignore[arg-type]
    file, reason = reference_file(source, None, "qa.jsonl")
    assert file is None and "--eval-data" in reason
    refs = answer_references(file, reason, PreprocessSpec(size=64), 8)
    assert refs.file is None and len(refs.images) == 3 and refs.reason == reason
    meta = {"metrics": {"export": {"int8": {"images": 3, "questions": 9, "identical": 1.0,
            "data": "synthetic images", "metrics": None, "unavailable": reason}}}}  # fmt: skip
    assert f"int8 metrics: n/a, {reason}" in "\n".join(summary_lines(meta))


def test_broken_int8_outputs_stop_the_export() -> None:
    fp32 = np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32)
    found: dict[str, dict[str, float]] = {}
    _judge("decoder_step", found, fp32, fp32 + 0.01, "prefix 1")
    assert found["prefix 1"]["min_cosine"] > 0.99
    with pytest.raises(ParityError, match="broken"):
        _judge("decoder_step", found, fp32, np.zeros_like(fp32), "prefix 1")
    with pytest.raises(ParityError, match="not finite"):
        _judge("decoder_step", found, fp32, np.full_like(fp32, np.nan), "prefix 1")


def test_eval_data_without_int8_or_questions_is_refused(
    tiny_gpt: Path, qa_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "gpt", str(tiny_gpt / "ck"), "-o", str(tmp_path / "b"), "-q"]
    assert main([*argv, "--eval-data", str(qa_corpus)]) == 2
    assert main([*argv, "--int8", "--eval-data", str(tmp_path / "nothing")]) == 2
    assert main([*argv, "--int8", "--eval-data", str(qa_corpus / "captions.jsonl")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and "the field 'question'" in errors[2]
    assert not (tmp_path / "b").exists()
