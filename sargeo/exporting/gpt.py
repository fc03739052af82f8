"""SAR-GPT -> two ONNX graphs, and ``sargeo export gpt``: the bundle (`export_gpt`), checked against torch.

``vision.onnx``: images (batch, 3, size, size) -> ``image_embeds`` (batch, slots, width), the image
tower and the projector. ``lm_step.onnx``: one language-model step with a key-value cache: ``embeds``
(1, T, width) of the new positions, ``past_k``/``past_v`` (layers, 1, kv_heads, P, head_dim),
``attention_mask`` (1, P + T) and ``position_ids`` (1, T) -> ``next_logits`` (1, vocab) of the last
position and ``present_k``/``present_v`` with P + T positions. The exporter fixes a cache of at least
one position, so the first step gets one masked dummy position (mask 0) before the prompt.
`greedy_onnx` decodes with the two graphs in onnxruntime and numpy (the token table is a numpy array),
and `export_gpt_graphs` checks that it gives the tokens the torch model gives.

The bundle (`export_gpt`, written by `sargeo.exporting.gpt_bundle`) holds the graphs optimised
offline as ``vision_encoder.onnx`` and ``lm_step.onnx``, the token table, the tokenizer's file and the
chat prompt's pieces; it is written only when `sargeo.runtime.gpt.GptModel` gives the torch model's
prompt ids and greedy answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sargeo.errors import InputError
from sargeo.exporting.graphs import _quiet
from sargeo.models.gpt.model import SarGpt


class _Vision(torch.nn.Module):
    def __init__(self, model: SarGpt) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.image_embeddings(images)


class _LmStep(torch.nn.Module):
    def __init__(self, model: SarGpt) -> None:
        super().__init__()
        self.lm = model.lm
        self.layers = int(model.lm.config.num_hidden_layers)

    def forward(
        self,
        embeds: torch.Tensor,
        past_k: torch.Tensor,
        past_v: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from transformers.cache_utils import DynamicCache

        cache = DynamicCache()
        for i in range(self.layers):
            cache.update(past_k[i], past_v[i], i)
        out = self.lm(
            inputs_embeds=embeds,
            past_key_values=cache,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
        )
        layers = out.past_key_values.layers
        keys = torch.stack([layers[i].keys for i in range(self.layers)])
        values = torch.stack([layers[i].values for i in range(self.layers)])
        return out.logits[:, -1], keys, values


def _cache_shape(model: SarGpt) -> tuple[int, int, int]:
    cfg = model.lm.config
    heads = int(cfg.num_attention_heads)
    return int(cfg.num_hidden_layers), int(cfg.num_key_value_heads), int(cfg.hidden_size) // heads


def export_gpt_graphs(model: SarGpt, folder: Path) -> dict[str, Any]:
    """Write ``vision.onnx`` and ``lm_step.onnx`` into ``folder`` and check greedy decoding against
    torch on a random image; returns the shapes and the check."""
    if model.config.get("lora"):
        model.lm = model.lm.merge_and_unload()  # LoRA folded into the base weights
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    size = model.preprocess.size
    layers, kv_heads, head_dim = _cache_shape(model)
    width = int(model.lm.get_input_embeddings().weight.shape[1])
    batch = torch.export.Dim("batch", min=1, max=4096)
    new = torch.export.Dim("new", min=1, max=4096)
    past = torch.export.Dim("past", min=1, max=4096)
    with _quiet():
        torch.onnx.export(
            _Vision(model), (torch.randn(2, 3, size, size),), str(folder / "vision.onnx"),
            dynamo=True, external_data=False, input_names=["images"],
            output_names=["image_embeds"], dynamic_shapes=({0: batch},),
        )  # fmt: skip
        example = (
            torch.randn(1, 4, width), torch.zeros(layers, 1, kv_heads, 2, head_dim),
            torch.zeros(layers, 1, kv_heads, 2, head_dim), torch.ones(1, 6, dtype=torch.long),
            torch.arange(2, 6)[None],
        )  # fmt: skip
        total = torch.export.Dim("total", min=2, max=8192)
        torch.onnx.export(
            _LmStep(model), example, str(folder / "lm_step.onnx"), dynamo=True,
            external_data=False,
            input_names=["embeds", "past_k", "past_v", "attention_mask", "position_ids"],
            output_names=["next_logits", "present_k", "present_v"],
            dynamic_shapes=({1: new}, {3: past}, {3: past}, {1: total}, {1: new}),
        )  # fmt: skip
    np.save(
        folder / "token_embeddings.npy", model.lm.get_input_embeddings().weight.detach().numpy()
    )
    from sargeo.models.gpt.generate import generate

    image = torch.rand(3, size, size)
    question = "How many ships are in the image?"
    stops, model.codec.stop_ids = model.codec.stop_ids, ()  # 8 tokens each way, whatever they are
    try:
        want = generate(model, image, question, max_new_tokens=8).tokens
        got = greedy_onnx(folder, model, image.numpy(), question, 8)
    finally:
        model.codec.stop_ids = stops
    if got != want:
        raise InputError(f"ONNX decoding disagrees with torch: {got} != {want}")
    return {"tokens": list(got), "cache": [layers, kv_heads, head_dim], "width": width}


def greedy_onnx(
    folder: Path, model: SarGpt, image: np.ndarray, question: str, max_new: int
) -> tuple[int, ...]:
    """Greedy answer tokens from the two graphs (the chat layer of ``model`` makes the prompt)."""
    import onnxruntime as ort

    from sargeo.models.gpt.generate import settings_for
    from sargeo.runtime.decoding import greedy_search

    vision = ort.InferenceSession(str(folder / "vision.onnx"))
    step = ort.InferenceSession(str(folder / "lm_step.onnx"))
    table = np.load(folder / "token_embeddings.npy")
    layers, kv_heads, head_dim = _cache_shape(model)
    encoded = model.chat.prompt([], question)
    image_embeds = vision.run(None, {"images": image[None].astype(np.float32)})[0][0]
    ids = np.asarray(encoded.ids)
    prompt = table[ids].copy()
    prompt[np.asarray(encoded.image)] = image_embeds
    n = len(ids)

    def run(state: Any, tokens: np.ndarray) -> tuple[np.ndarray, Any]:
        if state is None:  # one masked dummy position, then the whole prompt
            empty = np.zeros((layers, 1, kv_heads, 1, head_dim), np.float32)
            past_k, past_v = empty, empty
            embeds, positions = prompt[None], np.arange(n)[None]
        else:
            past_k, past_v = state
            embeds, positions = table[tokens[:, -1:]], np.array([[tokens.shape[1] - 1]])
        mask = np.ones((1, past_k.shape[3] + embeds.shape[1]), np.int64)
        mask[0, 0] = 0
        feed = {"embeds": embeds.astype(np.float32), "past_k": past_k, "past_v": past_v,
                "attention_mask": mask, "position_ids": positions.astype(np.int64)}  # fmt: skip
        logits, pk, pv = step.run(None, feed)
        return logits, (pk, pv)

    settings = settings_for(model, max_new)
    hyp = greedy_search(run, ids[None], None, settings, lambda s, i: s)[0]
    return hyp.tokens
