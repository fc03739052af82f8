"""``sargeo export coca``: the tiny trained CoCa as a bundle (image encoder + one decoder step), whose
captions through ONNX Runtime and the numpy decoding are those of torch, token for token, on a real
Sentinel-1 raster; the bundle describes itself and is refused where a CLIP bundle is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest

from sargeo.cli import main
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.coca import CocaModel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def coca_bundle(tiny_coca_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("coca-bundle") / "tiny-coca"
    assert main(["export", "coca", str(tiny_coca_run / "run"), "-o", str(out), "-q"]) == 0
    return out


def test_bundle_describes_itself(coca_bundle: Path) -> None:
    bundle = load_bundle(coca_bundle)
    assert bundle.task == "coca" and set(bundle.graphs) == {"image_encoder", "decoder_step"}
    meta = json.loads((coca_bundle / "bundle.json").read_text())
    assert meta["caption_parity"] == {"beam 1": 1.0, "beam 3": 1.0}
    assert meta["parity"]["decoder_step"]["prefix 7"]["max_abs_diff"] < 1e-4
    assert meta["decode"]["beam_width"] == 3 and meta["decode_context"] == 48
    model = CocaModel(bundle, threads=1)
    assert model.settings({"beam_width": 1}).end_token == bundle.tokenizer.special_tokens["end"]
    code = main(["search", str(coca_bundle), "ships", "--bundle", str(coca_bundle), "-o", "x.gpkg"])
    assert code == 2  # a CoCa bundle is not a CLIP bundle


def test_bundle_captions_equal_torch_on_a_real_raster(
    coca_bundle: Path, tiny_coca_run: Path, shared_data: Path, tmp_path: Path
) -> None:
    scene = shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"
    frames = {}
    for name, model in (("bundle", ["--bundle", str(coca_bundle)]),
                        ("checkpoint", ["--checkpoint", str(tiny_coca_run / "run")])):  # fmt: skip
        out = tmp_path / f"{name}.gpkg"
        argv = ["caption", str(scene), *model, "-o", str(out), "--size", "128", "-q"]
        assert main([*argv, "--threads", "1"]) == 0
        frames[name] = pyogrio.read_dataframe(out, layer="captions")
    a, b = frames["bundle"], frames["checkpoint"]
    assert len(a) == len(b) == 16
    assert list(a["caption"]) == list(b["caption"])
    assert (a["score"] - b["score"]).abs().max() < 1e-3
    assert set(a["bundle_sha256"]) == {load_bundle(coca_bundle).sha256}
    assert set(a["checkpoint_sha256"]) == {""} and set(b["bundle_sha256"]) == {""}
