"""SAR-GPT through the shared trainer: the shipped tiny recipe end to end on a synthetic corpus (its count
and presence answers beat the majority baseline on held-out scenes), the two-stage path (optical
dialogues, then SAR) with a resume, and what checkpoints hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sargeo.cli import main
from sargeo.eval.vqa import evaluate_vqa
from sargeo.models.gpt import load_gpt
from sargeo.models.gpt.factory import group_of
from sargeo.models.gpt.generate import generate
from sargeo.models.gpt.predict import predict_records, read_qa
from sargeo.train.checkpoint import load_checkpoint, step_checkpoints
from sargeo.train.data import read_image
from sargeo.train.dataset import prepare_raw
from sargeo.train.dialogues import read_dialogues, shuffle_turns

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CORPUS = {
    "description": "enough held-out scenes to score counts: 3 m HRSID-like chips and 10 m S1 tiles",
    "synthetic": [
        {"name": "hrsid3m", "scenes": 16, "size": 400, "sensor": "terrasar-x-stripmap",
         "render": "hrsid", "seed": 100, "tile": {"size": 200, "keep_empty": 0.5}},
        {"name": "s1", "scenes": 40, "size": 256, "sensor": "sentinel-1-iw", "render": "db",
         "seed": 200, "tile": {"size": 128}},
    ],
    "narrator": {"per_image": 5, "qa": True, "splits": [0.7, 0.1, 0.2], "seed": 0},
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gpt-corpus")
    recipe = root / "recipe.json"
    recipe.write_text(json.dumps(CORPUS))
    assert main(["corpus", "build", "-o", str(root / "c"), "--recipe", str(recipe), "-q"]) == 0
    return root / "c"


def test_shuffled_turns_keep_pairs_and_move_the_image_token() -> None:
    turns = [{"from": "human", "value": "<image>\nDescribe."}, {"from": "gpt", "value": "A sea."}]
    turns += [{"from": "human", "value": f"Q{i}?"} if j == 0 else {"from": "gpt", "value": f"A{i}"}
              for i in range(4) for j in range(2)]  # fmt: skip
    firsts = set()
    for seed in range(20):
        out = shuffle_turns(turns, "<image>", np.random.default_rng(seed), 3)
        assert len(out) == 6 and out[0]["value"].startswith("<image>\n")
        assert sum("<image>" in t["value"] for t in out) == 1
        for q, a in zip(out[::2], out[1::2], strict=True):  # each answer stays with its question
            key = q["value"].replace("<image>\n", "")
            assert a["value"] == ("A sea." if key == "Describe." else "A" + key[1:-1])
        firsts.add(out[0]["value"])
    assert len(firsts) > 2  # not always the describe turn first


@pytest.mark.slow
def test_tiny_recipe_beats_the_majority_baseline(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    argv = ["train", "gpt", "--recipe", "gpt-tiny", "--corpus", str(corpus), "-o", str(run), "-q"]
    assert main(argv) == 0
    meta, config, weights, _ = load_checkpoint(run / "final", with_state=False)
    assert meta["task"] == "gpt" and config["name"] == "sar-gpt-tiny"
    assert {group_of(k) for k in weights} <= set(config["saved"])
    evals = (run / "eval.csv").read_text().splitlines()
    assert len(evals) == 2 and "answer_acc" in evals[0]
    model = load_gpt(run)
    rows = read_qa(corpus / "qa.jsonl", "test", ["count", "presence"])
    preds = predict_records(model, rows, corpus)
    scores = evaluate_vqa(
        preds, corpus / "qa.jsonl", corpus / "qa.jsonl", split="test", train_split="train",
        types=["count", "presence"],
    )  # fmt: skip
    for kind in ("count", "presence"):
        s = scores.types[kind]
        assert s.questions >= 20
        assert s.accuracy is not None and s.baseline_accuracy is not None
        assert s.accuracy > s.baseline_accuracy, (kind, s)
    count = scores.types["count"]
    assert (
        count.mae is not None and count.baseline_mae is not None and count.mae < count.baseline_mae
    )
    image = prepare_raw(read_image(corpus / rows[0]["image"]), model.preprocess)
    answer = generate(model, image, rows[0]["question"])
    assert answer.reason == "end"  # the answer ends with the end-of-turn token, not the length cap


def test_two_stage_optical_then_sar_resumes(corpus: Path, tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        sar = read_dialogues([corpus / f"conversations_{split}.json"])
        optical = read_dialogues([corpus / "optical" / f"conversations_{split}.json"])
        assert sar and [d.id for d in optical] == [d.id for d in sar]
        assert all(Path(d.image).is_file() and "/optical/" in d.image for d in optical)
    recipe = {
        "name": "two", "task": "gpt", "model": "sar-gpt-tiny", "seed": 1, "threads": 1,
        "checkpoint_every": 1, "keep_checkpoints": 10, "log_every": 1,
        "stages": [
            {"name": "optical", "source": "optical", "data": "{corpus}/optical/conversations_train.json",
             "freeze": ["vision"], "lr": 0.001, "batch_size": 4, "steps": 2, "max_images": 40},
            {"name": "sar", "data": "{corpus}/conversations_train.json", "freeze": ["vision"],
             "lr": 0.001, "batch_size": 4, "steps": 2, "max_images": 40},
        ],
    }  # fmt: skip
    path = tmp_path / "two.json"
    path.write_text(json.dumps(recipe))
    run = tmp_path / "run"
    argv = ["train", "gpt", "--recipe", str(path), "--corpus", str(corpus), "-o", str(run), "-q"]
    assert main(argv) == 0
    log = (run / "log.csv").read_text().splitlines()[1:]
    assert [row.split(",")[1] for row in log] == ["optical", "optical", "sar", "sar"]
    _, _, final, _ = load_checkpoint(run / "final", with_state=False)
    # resume from the checkpoint after step 3: the same final weights as the uninterrupted run
    ckpts = step_checkpoints(run)
    again = tmp_path / "again"
    shutil.copytree(run, again)
    shutil.rmtree(again / "final")
    for extra in step_checkpoints(again)[3:]:
        shutil.rmtree(extra)
    assert len(ckpts) == 4
    resume = ["train", "gpt", "--recipe", str(path), "--corpus", str(corpus), "-o", str(again)]
    assert main([*resume, "-q", "--resume"]) == 0
    _, _, resumed, _ = load_checkpoint(again / "final", with_state=False)
    assert resumed.keys() == final.keys()
    assert all(torch.allclose(resumed[k], final[k], atol=1e-6) for k in final)


def test_predictions_for_eval_vqa(corpus: Path, tmp_path: Path) -> None:
    from sargeo.models.gpt import create_gpt
    from sargeo.models.gpt.factory import saved_state
    from sargeo.models.gpt.predict import main as predict
    from sargeo.train.checkpoint import save_checkpoint

    texts = [
        t["value"] for d in read_dialogues([corpus / "conversations_train.json"]) for t in d.turns
    ]
    model = create_gpt("sar-gpt-tiny", texts=texts)
    ck = save_checkpoint(tmp_path / "ck", saved_state(model), None, {"task": "gpt"}, model.config)
    pred, refs = tmp_path / "pred.jsonl", tmp_path / "refs.jsonl"
    argv = ["--checkpoint", str(ck), "--qa", str(corpus / "qa.jsonl"), "--split", "test", "-q"]
    argv += ["--max-images", "3", "-o", str(pred), "--write-references", str(refs)]
    assert predict(argv) == 0
    answered = [json.loads(line) for line in pred.read_text().splitlines()]
    assert len({a["image"] for a in answered}) == 3
    assert all(a["type"] != "describe" and a["split"] == "test" for a in answered)
    scores = evaluate_vqa(pred, refs)  # every question answered once, matched to its reference
    assert scores.overall.questions == len(answered)
    assert predict([*argv[:-4], "-o", str(tmp_path / "x.jsonl"), "--types", "nothing"]) == 2
