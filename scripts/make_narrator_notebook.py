"""Write notebooks/narrator.ipynb (SAR-Narrator's worked example) from the cell sources below.

Kept as code so that it diffs well and is saved without outputs; the tests execute the notebook.
Run ``.venv/bin/python scripts/make_narrator_notebook.py`` after editing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "narrator.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        "# SAR-Narrator: captions and questions from ground truth\n\n"
        "`sargeo.narrator` writes image-text datasets from annotated SAR imagery in the branches of the "
        "SAR-TEXT paper: **a2c** (boxes to captions: classes, counts, sizes, positions, arrangement, "
        "headings), **sa2c** (class masks to captions: shares, dominant class, spatial relations), "
        "**o2s** (an optical caption rewritten into SAR language) and **geo** (location, pixel "
        "spacing, polarisation, date). Every caption is checked against the ground truth before it is "
        "kept. From the shell: `sargeo narrate DATA -o DIR --qa`.",
    ),
    (
        "code",
        "import json, os, tempfile, warnings\n"
        "from pathlib import Path\n\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "import rasterio\n"
        "from rasterio.errors import NotGeoreferencedWarning\n\n"
        "from sargeo.datasets.detect import load_dataset\n"
        "from sargeo.datasets.synthetic import load_synthetic\n"
        "from sargeo.narrator.fusion import Narrator\n"
        "from sargeo.narrator.pipeline import narrate\n"
        "from sargeo.narrator import qa\n"
        "from sargeo.runtime.preprocess import normalise\n"
        "from sargeo.synth.scene import SynthOptions, generate\n\n"
        "warnings.simplefilter('ignore', NotGeoreferencedWarning)\n"
        "shared = Path('..').resolve().parent / 'shared' / 'data'\n"
        "work = Path(os.environ.get('SARGEO_NOTEBOOK_OUT') or tempfile.mkdtemp())\n"
        "narrator = Narrator()  # default: all branches, 5 captions per image, seed 0",
    ),
    (
        "code",
        "def show(sample, captions, title):\n"
        "    with rasterio.open(sample.image) as src:\n"
        "        band = src.read(1).astype('float32')\n"
        "    if sample.tile is not None and sample.tile.units == 'dB':\n"
        "        band = normalise(band, -25.0, 5.0)\n"
        "    else:\n"
        "        band = np.clip(band / max(np.percentile(band, 99.5), 1.0), 0, 1)\n"
        "    fig, (ax, tx) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[1, 1.5])\n"
        "    ax.imshow(band, cmap='gray', vmin=0, vmax=1)\n"
        "    for b in sample.boxes:\n"
        "        x0, y0, x1, y1 = b.bbox\n"
        "        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color='orange', lw=0.8)\n"
        "    ax.set_title(title, fontsize=9); ax.set_axis_off()\n"
        "    tx.text(0, 0.95, '\\n'.join(f'{i}. [{c.branch}] {c.text}' for i, c in "
        "enumerate(captions, 1)),\n"
        "            va='top', fontsize=8, wrap=True); tx.set_axis_off()\n"
        "    plt.show()",
    ),
    (
        "md",
        "## Real ships: HRSID\n\n"
        "The HRSID sample in `../shared/data/hrsid_mini` has COCO boxes but no georeference and no "
        "known pixel spacing, so sizes are relative and positions are in image terms. Every caption "
        "states the number of ships the boxes give.",
    ),
    (
        "code",
        "if (shared / 'hrsid_mini').is_dir():\n"
        "    hrsid = load_dataset(shared / 'hrsid_mini')\n"
        "    print(hrsid.summary())\n"
        "    picks = sorted(hrsid.samples, key=lambda s: (-len(s.boxes), s.id))[:2]\n"
        "    for sample in picks:\n"
        "        result = narrator.caption(sample)\n"
        "        show(sample, result.captions, f'{sample.id}: {len(sample.boxes)} ship boxes')\n"
        "else:\n"
        "    print('../shared/data/hrsid_mini is not on this machine: skipping the real example')",
    ),
    (
        "md",
        "## A synthetic scene\n\n"
        "`sargeo synth` writes scenes with exact ground truth: a georeferenced UTM grid, a class mask "
        "and objects with oriented boxes and attributes (ship type, length, moored). Here all branches "
        "apply: headings are compass bearings through the CRS, sizes are in metres, and the mask gives "
        "land-cover shares.",
    ),
    (
        "code",
        "generate(work / 'synth', 2, SynthOptions(size=512, seed=3, workers=1), overwrite=True, "
        "progress=False)\n"
        "scenes = load_synthetic(work / 'synth').samples\n"
        "result = narrator.caption(scenes[0])\n"
        "show(scenes[0], result.captions, f'{scenes[0].id}: {len(scenes[0].boxes)} objects')\n"
        "result.cover.shares",
    ),
    (
        "md",
        "Question-answer pairs for SAR-GPT come from the same facts, each with its type; the "
        "conversation file holds them as LLaVA-style dialogues.",
    ),
    (
        "code",
        "import random\n"
        "pairs = qa.pairs(result.facts, result.cover, narrator.vocab, random.Random(0), result.captions)\n"
        "for p in pairs[:12]:\n"
        "    print(f'{p.type:<11} {p.question}  ->  {p.answer}')",
    ),
    (
        "md",
        "## A whole dataset\n\n"
        "`narrate` writes `captions.jsonl`, open_clip's `captions.csv` (and one per split), `qa.jsonl`, "
        "`conversations.json`, `splits.json` (by scene) and the dataset card.",
    ),
    (
        "code",
        "out = narrate(scenes, work / 'narrated', with_qa=True, overwrite=True, progress=False)\n"
        "print(out.summary())\n"
        "sorted(p.name for p in (work / 'narrated').iterdir())",
    ),
    (
        "code",
        "card = json.loads((work / 'narrated' / 'card.json').read_text())\n"
        "{k: card[k] for k in ('captions_per_image', 'caption_length_words', 'vocabulary_size', "
        "'branch_share')}",
    ),
]


def main() -> None:
    """Write the notebook without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        for kind, src in CELLS
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
