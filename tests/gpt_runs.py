"""A tiny SAR-GPT trained for a few steps to answer two questions, saved as a checkpoint and exported
as a bundle; built once a session and shared by xdist workers (as `tests.coca_runs` does for CoCa)."""

from __future__ import annotations

from pathlib import Path

import torch

from sargeo.cli import main
from sargeo.models.gpt import create_gpt
from sargeo.models.gpt.factory import saved_state
from sargeo.train.checkpoint import save_checkpoint

QUESTION = "How many ships are in the image?"
PAIRS = [(QUESTION, "3 ships."), ("Is there any water?", "yes, open water.")]
STEPS = 30


def build_tiny_gpt(folder: Path) -> None:
    """``ck/`` (the checkpoint, `STEPS` steps on random images) and ``bundle/`` (its export)."""
    torch.manual_seed(0)
    model = create_gpt("sar-gpt-tiny", texts=[t for pair in PAIRS for t in pair])
    size = model.preprocess.size
    encoded = [
        model.chat.encode(
            [{"from": "human", "value": f"<image>\n{q}"}, {"from": "gpt", "value": a}]
        )
        for q, a in PAIRS
    ]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=3e-3)
    model.train()
    for step in range(STEPS):
        e = encoded[step % 2]
        ids, mask, labels = (torch.tensor([v]) for v in (e.ids, e.image, e.labels))
        out = model(torch.randn(1, 3, size, size), ids, mask, torch.ones_like(ids), labels)
        optimiser.zero_grad()
        out.loss.backward()
        optimiser.step()
    folder.mkdir(parents=True)
    save_checkpoint(folder / "ck", saved_state(model.eval()), None, {"task": "gpt"}, model.config)
    assert main(["export", "gpt", str(folder / "ck"), "-o", str(folder / "bundle"), "-q"]) == 0
