"""The classifier two-sample test: AUC maths, grouped folds, and that it tells apart what differs."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.synth import domain_gap as G


def test_roc_auc_of_known_scores() -> None:
    y = np.array([0, 0, 1, 1])
    assert G.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert G.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert G.roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        G.roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))


def test_folds_keep_each_image_whole() -> None:
    groups = np.repeat([f"img{i}" for i in range(10)], 5)
    y = np.repeat([0, 1], 25)
    fold = G.grouped_folds(groups, y, 5)
    for g in np.unique(groups):
        assert len(set(fold[groups == g].tolist())) == 1
    assert set(fold.tolist()) == set(range(5))


def _patches(rng: np.random.Generator, looks: float, n: int) -> list[np.ndarray]:
    """Gamma speckle patches (8-bit amplitude) of the given looks."""
    return [np.clip(40 * np.sqrt(rng.gamma(looks, 1 / looks, (32, 32))), 0, 255) for _ in range(n)]


@pytest.mark.parametrize(("looks", "separable"), [(1.0, False), (8.0, True)])
def test_logistic_tells_4_look_from_1_look_speckle_not_1_from_1(
    looks: float, separable: bool
) -> None:
    rng = np.random.default_rng(0)
    real, synth = _patches(rng, 1.0, 60), _patches(rng, looks, 60)
    x = np.stack([G.texture_features(p) for p in real + synth])
    y = np.repeat([0, 1], 60)
    groups = np.array([f"{label}{i // 6}" for label, i in zip(y, range(120), strict=True)])
    for auc in G.cross_validated_aucs(x, y, groups, k=5):  # pooled, then the mean over folds
        assert (auc > 0.95) if separable else (0.3 < auc < 0.7)


def test_patches_skip_nodata() -> None:
    image = np.ones((64, 64))
    image[0, 0] = np.nan
    assert len(G.patches(image, 32)) == 3 and G.texture_features(image[32:, 32:]).shape == (
        len(G.FEATURES),
    )
