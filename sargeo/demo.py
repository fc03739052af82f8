"""``sargeo demo``: the whole chain on the built-in sample, as far as this version goes.

synthetic SAR scenes -> tiles with their georeference -> SAR-Narrator captions and QA pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

from sargeo.atomic import atomic_dir


def run_demo(output: Path, *, overwrite: bool = False, progress: bool = True) -> str:
    """Run the chain into ``output`` and return a printable report of what it wrote."""
    from sargeo.geo.tiling import TilingOptions, tile_to_folder
    from sargeo.narrator.fusion import NarratorConfig
    from sargeo.narrator.pipeline import narrate_path
    from sargeo.synth.scene import SynthOptions, generate

    lines: list[str] = []
    with atomic_dir(output, inputs=(), overwrite=overwrite) as tmp:
        synth = generate(tmp / "synth", 4, SynthOptions(size=1024, seed=0), progress=progress)
        lines += [
            "[1/3] synthetic SAR world",
            "  " + synth.summary().replace(str(tmp), str(output)),
        ]

        scene = tmp / "synth" / "scene_0000" / "sar.tif"
        tiles = tile_to_folder(
            [scene], tmp / "tiles", TilingOptions(size=256, overlap=32), progress=progress
        )
        lines += ["[2/3] tiles of scene_0000/sar.tif"]
        lines += [
            "  " + line.replace(str(tmp), str(output)) for line in tiles.summary().splitlines()
        ]

        narrated = narrate_path(
            tmp / "synth", tmp / "narrator", NarratorConfig(), with_qa=True, progress=progress
        )
        lines += ["[3/3] SAR-Narrator captions and QA pairs"]
        lines += [
            "  " + line.replace(str(tmp), str(output)) for line in narrated.summary().splitlines()
        ]
        with (tmp / "narrator" / "captions.jsonl").open() as handle:
            examples = [json.loads(next(handle)) for _ in range(3)]
        lines += ["  example captions:"]
        lines += [f"    [{e['branch']}] {e['caption']}" for e in examples]
    lines += [
        "",
        f"open {output / 'tiles' / 'tiles.gpkg'} and {output / 'synth' / 'scene_0000' / 'sar.tif'}"
        " in QGIS to see the tiles on the scene",
    ]
    return "\n".join(lines)
