"""``sargeo export gpt`` and ``sargeo ask --bundle``: a briefly trained tiny SAR-GPT exported to a
bundle whose torch-free answers (`sargeo.runtime.gpt.GptModel`) equal the checkpoint's on the real
Sentinel-1 chip of Sen1Floods11; a damaged bundle or a bad question exits 2 in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from sargeo.cli import main
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.gpt import GptModel
from tests.gpt_runs import QUESTION

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def exported(tiny_gpt: Path) -> tuple[Path, Path]:
    """The tiny SAR-GPT's checkpoint and bundle."""
    return tiny_gpt / "ck", tiny_gpt / "bundle"


@pytest.fixture(scope="module")
def s1(shared_data: Path) -> Path:
    return shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"


def test_bundle_describes_itself(exported: tuple[Path, Path]) -> None:
    _, folder = exported
    bundle = load_bundle(folder)
    assert bundle.task == "gpt" and set(bundle.graphs) == {"vision_encoder", "lm_step"}
    meta = bundle.meta
    assert meta["answer_parity"] == {"greedy": 1.0}
    assert meta["tokenizer"]["kind"] == "gpt-words" and "vocab.json" in meta["tokenizer"]["files"]
    assert "{question}" in meta["chat"]["suffix"] and meta["chat"]["image_slots"] == 9
    assert meta["stop_tokens"] and meta["max_new_tokens"] == 16
    assert meta["preprocess"] == bundle.preprocess.to_dict()
    model = GptModel(bundle, threads=1)
    images = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    answers = model.answer(images, [QUESTION, "Is there any water?"])  # the plugin's interface
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    assert "ships" in answers[0]  # trained: words of its answers, not noise


def _ask(raster: Path, flag: str, path: Path, out: Path, *extra: str) -> int:
    return main(["ask", str(raster), QUESTION, flag, str(path), "-o", str(out), "-q", *extra])


def test_bundle_answers_equal_checkpoint_answers_on_a_real_chip(
    s1: Path, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, bundle = exported
    torch_out, onnx_out = tmp_path / "torch.gpkg", tmp_path / "onnx.gpkg"
    assert _ask(s1, "--checkpoint", checkpoint, torch_out, "--size", "256") == 0
    assert _ask(s1, "--bundle", bundle, onnx_out, "--size", "256", "--threads", "1") == 0
    want, got = gpd.read_file(torch_out), gpd.read_file(onnx_out)
    assert len(got) == 4  # 512 x 512 px in 256 px tiles
    assert list(got["answer"]) == list(want["answer"])
    assert got["answer"].str.len().gt(0).all()
    assert list(got["tile_id"]) == list(want["tile_id"])
    sha = load_bundle(bundle).sha256
    assert set(got["bundle_sha256"]) == {sha} and set(want["bundle_sha256"]) == {""}
    assert set(got["checkpoint_sha256"]) == set(want["checkpoint_sha256"])


@pytest.mark.parametrize("damage", ["vocab", "question", "both"])
def test_bad_bundle_or_question_is_one_line(
    s1: Path,
    exported: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    checkpoint, bundle = exported
    out = tmp_path / "bad.gpkg"
    if damage == "vocab":
        copy = tmp_path / "b"
        shutil.copytree(bundle, copy)
        (copy / "vocab.json").write_text(json.dumps(["x"]))
        argv = ["ask", str(s1), QUESTION, "--bundle", str(copy), "-o", str(out)]
        message = "does not match its sha256"
    elif damage == "question":
        argv = ["ask", str(s1), "ship " * 200, "--bundle", str(bundle), "-o", str(out)]
        message = "too long"
    else:
        argv = ["ask", str(s1), QUESTION, "--bundle", str(bundle), "--checkpoint", str(checkpoint)]
        argv += ["-o", str(out)]
        message = "one of them"
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()
