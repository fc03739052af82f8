"""A short SAR-GPT conversation about a real HRSID image, beside its ground truth, as a Markdown table.

The questions are asked in one conversation (each after the earlier turns); the ground truth is the
narrator's answer to the same question from the image's COCO boxes (``sargeo narrate ... --qa``), or
the box count for the count question. Usage::

    .venv/bin/python scripts/make_gpt_conversation.py RUN_DIR [--image NAME.jpg]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
HRSID = REPO.parent / "shared" / "data" / "hrsid_mini"
QUESTIONS = [
    "Are there any ships in this image?",
    "How many ships are in the image?",
    "Where are the ships in the image?",
]


def main() -> None:
    """Print the table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run", help="a SAR-GPT run folder or checkpoint")
    p.add_argument("--image", default="P0003_2400_3200_4800_5600.jpg", help="an hrsid_mini image")
    args = p.parse_args()

    from sargeo.models.gpt import load_gpt
    from sargeo.models.gpt.generate import converse
    from sargeo.train.data import read_image
    from sargeo.train.dataset import prepare_raw

    coco = json.loads((HRSID / "annotations" / "instances.json").read_text())
    image_id = next(i["id"] for i in coco["images"] if i["file_name"] == args.image)
    boxes = [a for a in coco["annotations"] if a["image_id"] == image_id]
    model = load_gpt(args.run)
    image = prepare_raw(read_image(HRSID / "images" / args.image), model.preprocess)
    history = converse(model, image, QUESTIONS)
    truth = {
        QUESTIONS[0]: "yes" if boxes else "no",
        QUESTIONS[1]: str(len(boxes)),
        QUESTIONS[2]: "boxes at (x, y) "
        + ", ".join(f"({b['bbox'][0]:.0f}, {b['bbox'][1]:.0f})" for b in boxes)
        + " of 800 x 800 px",
    }
    print(f"`{args.image}` ({len(boxes)} ship boxes), model {model.name}\n")
    print("| question | SAR-GPT | ground truth |\n| --- | --- | --- |")
    for q, a in zip(history[::2], history[1::2], strict=True):
        question = q["value"].replace(model.chat.image_token, "").strip()
        print(f"| {question} | {a['value']} | {truth[question]} |")


if __name__ == "__main__":
    main()
