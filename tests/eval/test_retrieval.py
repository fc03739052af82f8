"""Retrieval metrics on hand-made similarity matrices whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.eval.retrieval import chance_metrics, format_table, retrieval_metrics
from sargeo.eval.zeroshot import class_embeddings, class_prompts, zeroshot_metrics


def test_perfect_and_reversed_rankings() -> None:
    sim = np.eye(3)
    m = retrieval_metrics(sim, [0, 1, 2], ks=(1, 2))
    assert m == {"i2t_R@1": 100, "i2t_R@2": 100, "t2i_R@1": 100, "t2i_R@2": 100, "mR": 100}
    worst = retrieval_metrics(-np.eye(3) + 0.01 * np.arange(3), [0, 1, 2], ks=(1, 2, 3))
    # each true pair scores lowest in its row/column: rank 3 of 3
    assert worst["i2t_R@1"] == worst["i2t_R@2"] == 0 and worst["i2t_R@3"] == 100
    assert worst["t2i_R@2"] == 0 and worst["t2i_R@3"] == 100


def test_several_captions_per_image_any_match_counts() -> None:
    # 2 images, 4 captions: captions 0,1 belong to image 0; 2,3 to image 1
    owner = [0, 0, 1, 1]
    sim = np.array(
        [
            [0.9, 0.1, 0.8, 0.2],  # image 0: best text is 0 (its own) -> hit@1
            [0.7, 0.3, 0.2, 0.6],  # image 1: ranking 0, 3, 1, 2 -> first own text (3) at rank 2
        ]
    )
    m = retrieval_metrics(sim, owner, ks=(1, 2))
    assert m["i2t_R@1"] == 50 and m["i2t_R@2"] == 100
    # texts: t0 -> image 0 (0.9 > 0.7) hit; t1 -> image 1 (0.3 > 0.1) miss@1;
    # t2 -> image 0 (0.8 > 0.2) miss@1; t3 -> image 1 (0.6 > 0.2) hit
    assert m["t2i_R@1"] == 50 and m["t2i_R@2"] == 100
    assert m["mR"] == pytest.approx(75.0)


def test_recall_at_5_and_10_with_the_true_item_at_a_known_rank() -> None:
    n = 12
    # column t (text t, owner image t) ranks image t at position t: R@1 1/12, R@5 5/12, R@10 10/12
    sim = np.zeros((n, n))
    for t in range(n):
        strangers = [i for i in range(n) if i != t]
        order = [*strangers[:t], t, *strangers[t:]]
        for rank, image in enumerate(order):
            sim[image, t] = 1.0 - rank / n
    m = retrieval_metrics(sim, list(range(n)))
    assert m["t2i_R@1"] == pytest.approx(100 / 12)
    assert m["t2i_R@5"] == pytest.approx(500 / 12)
    assert m["t2i_R@10"] == pytest.approx(1000 / 12)


def test_ties_rank_by_index_and_bad_owner() -> None:
    # all scores equal: every ranking is by index. Text 0 belongs to image 1, text 1 to image 0.
    m = retrieval_metrics(np.ones((2, 2)), [1, 0], ks=(1,))
    assert m["t2i_R@1"] == 50  # both texts get image 0 first: only text 1 hits
    assert m["i2t_R@1"] == 50  # both images get text 0 first: only image 1 hits
    with pytest.raises(ValueError, match="one image index"):
        retrieval_metrics(np.ones((2, 3)), [0, 1])
    assert "mR" in format_table({"val": m}, ks=(1,))


def test_zeroshot_accuracy_and_prompts() -> None:
    prompts = class_prompts("water")
    assert set(prompts) == {"water", "land"} and "a SAR image of the sea." in prompts["water"]
    names, classes = class_embeddings({"a": [[1.0, 0.0], [0.9, 0.1]], "b": [[0.0, 1.0]]})
    images = np.array([[1.0, 0.1], [0.2, 1.0], [0.9, 0.0], [0.6, 0.5]])
    m = zeroshot_metrics(images, classes, names, ["a", "b", "b", "b"])
    assert m["accuracy"] == 50.0  # images 0,1 right; 2 wrong; 3 is closer to a -> wrong
    assert m["per_class_recall"] == {"a": 100.0, "b": pytest.approx(100 / 3)}
    assert m["majority_baseline"] == 75.0


def test_chance_level_matches_its_closed_form() -> None:
    owner = np.repeat(np.arange(40), 5)  # 40 images, 5 captions each
    chance = chance_metrics(owner, draws=300)
    for k in (1, 5, 10):  # text -> image: the own image among k of 40 at random
        assert chance[f"t2i_R@{k}"] == pytest.approx(100 * k / 40, abs=1.5)
    # image -> text: at least one of 5 captions among the k best of 200
    expected = 100 * (1 - np.prod([(195 - j) / (200 - j) for j in range(10)]))
    assert chance["i2t_R@10"] == pytest.approx(expected, abs=2.0)
