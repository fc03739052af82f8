"""SAR-GPT's two ONNX graphs (image tower + projector; one language-model step with a key-value
cache): greedy decoding through onnxruntime gives the torch model's tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from sargeo.exporting.gpt import export_gpt_graphs, greedy_onnx
from sargeo.models.gpt import create_gpt
from sargeo.models.gpt.generate import generate

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_tiny_graphs_decode_like_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_gpt(
        "sar-gpt-tiny", texts=["How many ships are in the image?", "3", "yes"]
    ).eval()
    report = export_gpt_graphs(model, tmp_path)
    assert len(report["tokens"]) == 8  # the check ran 8 steps through the cache
    vision = ort.InferenceSession(str(tmp_path / "vision.onnx"))
    size = model.preprocess.size
    images = torch.rand(3, 3, size, size)
    got = vision.run(None, {"images": images.numpy()})[0]
    with torch.no_grad():
        want = model.image_embeddings(images).numpy()
    assert got.shape == (3, model.image_slots, report["width"])
    assert np.abs(got - want).max() < 1e-4
    image = torch.rand(3, size, size)
    question = "Is there a ship?"
    expected = generate(model, image, question, max_new_tokens=5).tokens
    assert greedy_onnx(tmp_path, model, image.numpy(), question, 5) == expected
