"""Decoding a SAR-RS-CoCa in torch through `sargeo.runtime.decoding`: the model supplies a step, the
numpy specification searches. Checked against a plain torch greedy loop written here, and for the
rules (beam 1 is greedy, rows reordered right in a batch, length limits, n-gram blocking)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from sargeo.errors import OptionError
from sargeo.models.coca import SarCoca, TorchStep, create_model
from sargeo.models.coca.captioning import caption_tensors, decode_settings
from sargeo.runtime.decoding import DecodeSettings, beam_search, greedy_search

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def model() -> SarCoca:
    torch.manual_seed(1)
    m = create_model("sar-rs-coca-tiny", pretrained=False).eval()
    with torch.no_grad():  # a sharper next-token distribution than a fresh init's
        m.net.text_decoder.text_projection.mul_(3.0)
    return m


END_BIAS = 9.0
"""Added to the end token's logit (by both decoders), so that some captions end before the limit."""


def _biased(model: SarCoca, logits: torch.Tensor) -> torch.Tensor:
    out = logits.clone()
    out[..., model.captions.end] += END_BIAS
    return out


@pytest.fixture(scope="module")
def images(model: SarCoca) -> torch.Tensor:
    size = model.preprocess.size
    return torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(2))


@torch.no_grad()
def torch_greedy(model: SarCoca, image: torch.Tensor, max_length: int) -> tuple[list[int], float]:
    """Greedy decoding written directly on open_clip's towers: argmax until the end token."""
    _, image_tokens = model.net.visual(image[None])
    seq = torch.tensor([[model.captions.start]])
    total = 0.0
    for _ in range(max_length):
        _, embs = model.net.text(seq)
        logits = _biased(model, model.net.text_decoder(image_tokens, embs)[0, -1])
        logp = torch.log_softmax(logits.double(), -1)
        token = int(logp.argmax())
        total += float(logp[token])
        if token == model.captions.end:
            return seq[0, 1:].tolist(), total
        seq = torch.cat([seq, torch.tensor([[token]])], dim=1)
    return seq[0, 1:].tolist(), total


def _run(model: SarCoca, images: torch.Tensor, cfg: DecodeSettings, beam: bool) -> list:
    torch_step = TorchStep(model)

    def step(state: Any, tokens: Any) -> tuple[Any, Any]:
        logits, state = torch_step(state, tokens)
        return _biased(model, torch.from_numpy(logits)).numpy(), state

    with torch.no_grad():
        _, tokens = model.encode_image_tokens(images)
    prompts = np.full((len(images), 1), model.captions.start, dtype=np.int64)
    if beam:
        return beam_search(step, prompts, tokens, cfg, torch_step.reorder)
    return greedy_search(step, prompts, tokens, cfg, torch_step.reorder)


def test_greedy_equals_a_plain_torch_loop(model: SarCoca, images: torch.Tensor) -> None:
    cfg = DecodeSettings(max_length=12, end_token=model.captions.end)
    hyps = _run(model, images, cfg, beam=False)
    ended = 0
    for image, hyp in zip(images, hyps, strict=True):
        tokens, logprob = torch_greedy(model, image, 12)
        assert list(hyp.tokens) == tokens
        assert hyp.logprob == pytest.approx(logprob, abs=1e-4)
        ended += hyp.reason == "end"
    assert ended > 0  # the check covers the end token too


def test_beam_of_one_is_greedy_and_batches_match_single_images(
    model: SarCoca, images: torch.Tensor
) -> None:
    cfg = DecodeSettings(max_length=10, end_token=model.captions.end, length_penalty=0.6)
    greedy = _run(model, images, cfg, beam=False)
    beam1 = _run(model, images, DecodeSettings(**{**cfg.__dict__, "beam_width": 1}), beam=True)
    assert [b[0].tokens for b in beam1] == [g.tokens for g in greedy]
    wide = DecodeSettings(**{**cfg.__dict__, "beam_width": 4})
    batched = _run(model, images, wide, beam=True)
    for i in range(len(images)):
        alone = _run(model, images[i : i + 1], wide, beam=True)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched[i]]
        assert batched[i][0].score >= batched[i][-1].score


def test_length_limits_and_ngram_blocking_hold(model: SarCoca, images: torch.Tensor) -> None:
    end = model.captions.end
    for beam in (False, True):
        cfg = DecodeSettings(
            beam_width=3, max_length=9, min_length=5, no_repeat_ngram_size=2, end_token=end
        )
        results = _run(model, images, cfg, beam)
        for hyp in (h for r in results for h in (r if beam else [r])):
            assert 5 <= hyp.length <= 9
            pairs = list(zip(hyp.tokens, hyp.tokens[1:], strict=False))
            assert len(pairs) == len(set(pairs))
            assert end not in hyp.tokens


def test_captions_and_settings_from_the_model(model: SarCoca, images: torch.Tensor) -> None:
    settings = decode_settings(model, {"beam_width": 2, "max_length": 6, "min_length": None})
    assert settings.min_length == model.decode_defaults["min_length"]
    out = caption_tensors(model, images, settings)
    assert len(out) == 3 and all(isinstance(c.caption, str) and c.caption for c in out)
    assert out[0].caption == model.captions.decode(out[0].hypothesis.tokens)
    with pytest.raises(OptionError, match="max_length"):
        decode_settings(model, {"max_length": model.context_length})
    with pytest.raises(OptionError, match="beam_width"):
        decode_settings(model, {"beam_width": 0})
