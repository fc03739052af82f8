"""SAR-RS-CLIP models: configs build through open_clip, pretrained towers load, --init loads open_clip
checkpoints as published, and checkpoints of another architecture are refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sargeo.errors import InputError
from sargeo.models.clip import create_model, list_models, load_config
from sargeo.models.clip.factory import copy_by_position
from sargeo.models.clip.resources import efficientnet_lite0_file
from sargeo.models.clip.tokenize import HashWordTokenizer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_configs_listed_and_checked(tmp_path: Path) -> None:
    assert {
        "sar-rs-clip-tiny",
        "sar-rs-clip-lite",
        "sar-rs-clip-vit-b-32",
        "sar-rs-clip-vit-l-14",
    } <= set(list_models())
    bad = tmp_path / "m.json"
    bad.write_text('{"name": "x", "open_clip": {}, "tokenizer": {}, "preprocess": {}, "extra": 1}')
    with pytest.raises(InputError, match="unknown key"):
        load_config(bad)
    with pytest.raises(InputError, match="unknown model"):
        load_config("sar-rs-clip-huge")


def test_tiny_embeds_and_tokenizes() -> None:
    model = create_model("sar-rs-clip-tiny")
    size = model.preprocess.size
    with torch.no_grad():
        img = model.encode_image(torch.randn(3, 3, size, size))
        txt = model.encode_text(model.tokenize(["two ships", "dark water", "a town"]))
    assert img.shape == txt.shape == (3, 64)
    torch.testing.assert_close(img.norm(dim=1), torch.ones(3))
    tok = HashWordTokenizer(4096, 8)
    ids = tok(["Two ships, two tanks in the upper left of a very long caption"])[0].tolist()
    assert ids[0] == 1 and ids[-1] == 4095 and len(ids) == 8 and ids[1] == ids[4]  # "two" twice
    with pytest.raises(InputError, match="no group"):
        model.group_prefixes(["image.late"])


def test_lite_towers_are_the_pretrained_weights() -> None:
    model = create_model("sar-rs-clip-lite")
    source = torch.load(efficientnet_lite0_file(), map_location="cpu", weights_only=True)
    tensors = [k for k in source if not k.endswith("num_batches_tracked")]
    assert len(tensors) == 247  # the package's ImageNet state dict
    trunk = model.net.visual.trunk
    torch.testing.assert_close(trunk.conv_stem.weight, source["_conv_stem.weight"])
    torch.testing.assert_close(trunk.bn2.running_var, source["_bn1.running_var"])
    torch.testing.assert_close(
        trunk.blocks[6][0].conv_pwl.weight, source["_blocks.15._project_conv.weight"]
    )
    # MiniLM mean-pooled sentence embeddings (no projection): synonyms closer than unrelated captions
    from sargeo.eval.embed import embed_texts

    e = embed_texts(model, ["a ship at sea", "a vessel on the ocean", "farmland and forest"])
    assert e.shape == (3, 384)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    # padding to the longest caption gives the same embedding as padding to the full context
    pad48 = model.tokenizer.__class__(model.tokenizer.file, 48, "context")
    with torch.no_grad():
        a = model.encode_text(pad48(["a ship at sea"]))[0].numpy()
    np.testing.assert_allclose(a, e[0], atol=1e-5)


def test_copy_by_position_checks_shapes() -> None:
    target = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    good = {
        "a": torch.ones(2, 3),
        "b": torch.zeros(2),
        "c": torch.ones(2),
        "d": torch.ones(2),
        "e": torch.ones(2),
        "f": torch.ones(2),
        "extra": torch.ones(9),
    }
    assert copy_by_position(target, good) == 6
    with pytest.raises(InputError, match="shape"):
        copy_by_position(target, {**good, "a": torch.ones(3, 2)})


def _open_clip_vit_b32_state() -> dict[str, torch.Tensor]:
    """A random ViT-B-32 in open_clip's plain CLIP layout (text tower at the top level), as published."""
    import open_clip

    torch.manual_seed(0)
    plain = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True)
    return {k: v.clone() for k, v in plain.state_dict().items()}


@pytest.mark.slow
def test_vit_b32_init_from_an_open_clip_checkpoint(tmp_path: Path) -> None:
    state = _open_clip_vit_b32_state()
    # open_clip's training script saves {"epoch", "name", "state_dict" (DDP: "module." keys), "optimizer"}
    ckpt = tmp_path / "epoch_10.pt"
    torch.save(
        {
            "epoch": 10,
            "name": "sar-rs-clip",
            "state_dict": {f"module.{k}": v for k, v in state.items()},
        },
        ckpt,
    )
    bare = tmp_path / "state.pt"
    torch.save(state, bare)
    for path in (ckpt, bare):
        model = create_model("sar-rs-clip-vit-b-32", init=path)
        torch.testing.assert_close(model.net.visual.conv1.weight, state["visual.conv1.weight"])
        torch.testing.assert_close(
            model.net.text.token_embedding.weight, state["token_embedding.weight"]
        )
        torch.testing.assert_close(model.net.text.text_projection, state["text_projection"])
    tiny = tmp_path / "tiny.pt"
    torch.save(create_model("sar-rs-clip-tiny").net.state_dict(), tiny)
    with pytest.raises(InputError, match="does not fit model sar-rs-clip-vit-b-32"):
        create_model("sar-rs-clip-vit-b-32", init=tiny)
    with pytest.raises(InputError, match="does not exist"):
        create_model("sar-rs-clip-tiny", init=tmp_path / "missing.pt")
