"""Answers from SAR-GPT: greedy decoding with a maximum length and stop tokens, with or without the
language model's key-value cache, through `sargeo.runtime.decoding` (the one decoding specification).

With the cache, the first step runs the whole prompt (image slots filled) and keeps the keys and values;
each later step runs one token. Without it, every step reruns the prompt and all tokens generated so
far (the benchmark's baseline). Both give the same tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from sargeo.errors import InputError
from sargeo.models.gpt.model import SarGpt
from sargeo.runtime.decoding import DecodeSettings, greedy_search


@dataclass(frozen=True)
class Answer:
    """One generated answer."""

    text: str
    tokens: tuple[int, ...]
    reason: str


def settings_for(model: SarGpt, max_new_tokens: int | None = None) -> DecodeSettings:
    """Greedy decoding that stops at the model's end-of-turn tokens or after ``max_new_tokens``."""
    limit = max_new_tokens or int(model.config.get("max_new_tokens", 32))
    return DecodeSettings(max_length=limit, stop_tokens=model.codec.stop_ids)


def _no_reorder(state: Any, indices: npt.NDArray[np.int64]) -> Any:
    if len(indices) != 1 or indices[0] != 0:  # one row at a time: the search never reorders
        raise InputError("SAR-GPT decodes one prompt at a time")
    return state


@torch.no_grad()
def generate(
    model: SarGpt,
    image: torch.Tensor,
    question: str,
    history: Sequence[Mapping[str, str]] = (),
    *,
    max_new_tokens: int | None = None,
    use_cache: bool = True,
) -> Answer:
    """Answer ``question`` about ``image`` (3, size, size) after ``history`` (earlier turns, LLaVA
    ``from``/``value`` or ``role``/``content``).

    Raises:
        InputError: an empty question, or a prompt that leaves no room in the context.
    """
    encoded = model.chat.prompt(history, question)
    cfg = settings_for(model, max_new_tokens)
    room = int(model.config["context_length"]) - len(encoded)
    cfg = DecodeSettings(max_length=max(1, min(cfg.max_length, room)), stop_tokens=cfg.stop_tokens)
    device = next(model.projector.parameters()).device
    ids = torch.tensor([encoded.ids], device=device)
    mask = torch.tensor([encoded.image], device=device)
    prompt_embeds = model.embed(ids, mask, model.image_embeddings(image[None].to(device)))
    table: Any = model.lm.get_input_embeddings()
    n_prompt = ids.shape[1]

    def step(past: Any, tokens: npt.NDArray[np.int64]) -> tuple[np.ndarray, Any]:
        new = torch.from_numpy(tokens[:, n_prompt:]).to(device)
        if use_cache and past is not None:
            out = model.lm(inputs_embeds=table(new[:, -1:]), past_key_values=past, use_cache=True)
        else:
            embeds = torch.cat([prompt_embeds, table(new)], dim=1)
            out = model.lm(inputs_embeds=embeds, use_cache=use_cache)
        logits = out.logits[:, -1].float().cpu().numpy()
        return logits, (out.past_key_values if use_cache else None)

    hyp = greedy_search(step, ids.cpu().numpy(), None, cfg, _no_reorder)[0]
    return Answer(model.codec.decode(hyp.tokens).strip(), hyp.tokens, hyp.reason)


def converse(
    model: SarGpt, image: torch.Tensor, questions: Sequence[str], **kwargs: Any
) -> list[dict[str, str]]:
    """A multi-turn conversation: each question asked after the previous turns and answers."""
    history: list[dict[str, str]] = []
    for question in questions:
        first = not history
        answer = generate(model, image, question, history, **kwargs)
        asked = f"{model.chat.image_token}\n{question}" if first else question
        history += [{"from": "human", "value": asked}, {"from": "gpt", "value": answer.text}]
    return history
