"""Captions of an evaluation set's images by a trained SAR-RS-CoCa, as the predictions JSONL that
``sargeo eval caption`` scores (``{"image": ..., "caption": ...}`` per line, images named exactly as
the references name them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sargeo.atomic import atomic_file
from sargeo.errors import InputError
from sargeo.eval.inputs import caption_references


def references_file(data: Path) -> Path:
    """The narrator's ``captions.jsonl`` given itself or the folder that holds it (a corpus)."""
    path = data / "captions.jsonl" if data.is_dir() else data
    if not path.is_file() or path.suffix != ".jsonl":
        raise InputError(f"{data} is neither a captions.jsonl nor a folder holding one")
    return path


def generate_predictions(
    data: Path,
    checkpoint: Path,
    output: Path,
    *,
    split: str | None = "test",
    decode: Mapping[str, Any] | None = None,
    batch: int = 16,
    max_images: int = 0,
    overwrite: bool = False,
) -> str:
    """Caption the images of ``data``'s references (one ``split``) and write the predictions JSONL.

    Returns:
        A summary for the command line.
    """
    from sargeo.inference.caption import load_coca
    from sargeo.models.coca.captioning import caption_files, decode_settings

    if output.exists() and not overwrite:
        raise InputError(f"output {output} exists (use --overwrite to replace it)")
    refs_path = references_file(data)
    refs = caption_references(refs_path, split=split)
    images = sorted(refs)[:max_images] if max_images > 0 else sorted(refs)
    loaded = load_coca(checkpoint)
    settings = decode_settings(loaded.model, decode)
    files = [str(p if p.is_absolute() else refs_path.parent / p) for p in map(Path, images)]
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise InputError(f"{len(missing)} reference images are missing, e.g. {missing[0]}")
    captions = caption_files(loaded.model, files, settings, batch)
    lines = [
        json.dumps({"image": image, "caption": caption}, ensure_ascii=False) + "\n"
        for image, caption in zip(images, captions, strict=True)
    ]
    with atomic_file(output, inputs=[refs_path, loaded.checkpoint]) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
    within = f" of split {split!r}" if split else ""
    return (
        f"{len(images)} image(s){within} captioned by {loaded.model.name} (beam"
        f" {settings.beam_width}) into {output}\nscore them: sargeo eval caption {output}"
        f" --references {refs_path}"
    )
