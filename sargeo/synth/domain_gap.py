"""A classifier two-sample test of the domain gap: can a classifier tell real patches from synthetic?

Patches of the same size, resolution and rendering are drawn from real and synthetic images; a
classifier is trained to tell them apart and scored by its cross-validated ROC AUC: 0.5 means it
cannot tell them apart, 1.0 that it always can. Folds keep all patches of one image together, so the
classifier cannot score by recognising an image it has seen.

Here, numpy and scipy only: texture statistics of a patch (`texture_features`), an L2-regularised
logistic regression (`fit_logistic`) and the grouped cross-validation (`cross_validated_aucs`). The
small CNN of the same test lives in ``scripts/measure_domain_gap.py`` (torch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FEATURES = (
    "mean", "cv", "p05", "p25", "p50", "p75", "p95", "p99", "log_std", "log_skew", "log_kurt",
    "lag1_rows", "lag1_cols", "lag2_rows", "gradient", "saturated", "dark",
)  # fmt: skip
"""Names of the texture statistics, in the order of `texture_features`' columns."""


def _lag(z: FloatArray, axis: int, lag: int) -> float:
    a = np.moveaxis(z, axis, 0)
    return float(np.mean(a[lag:] * a[:-lag]))


def texture_features(patch: npt.ArrayLike, full_scale: float = 255.0) -> FloatArray:
    """Texture statistics of one patch (grey levels or amplitude; ``full_scale`` = saturation).

    Levels (mean, percentiles, share of saturated and of dark pixels) relative to ``full_scale``;
    speckle shape (coefficient of variation, std, skew and kurtosis of the log); correlation at lags
    1 and 2 (resolution and filtering); mean gradient (edges and structure).
    """
    x = np.asarray(patch, dtype=np.float64) / full_scale
    mean = float(x.mean())
    std = float(x.std())
    logx = np.log(x + 1.0 / full_scale)
    log_std = float(logx.std())
    zl = (logx - logx.mean()) / (log_std if log_std > 0 else 1.0)  # a flat patch: 0, not NaN
    z = (x - mean) / (std if std > 0 else 1.0)
    gy, gx = np.gradient(x)
    pct = np.percentile(x, [5, 25, 50, 75, 95, 99])
    return np.array(
        [
            mean, std / mean if mean > 0 else 0.0, *pct, log_std,
            float(np.mean(zl**3)), float(np.mean(zl**4)) - 3.0 * (log_std > 0),
            _lag(z, 0, 1), _lag(z, 1, 1), _lag(z, 0, 2), float(np.hypot(gx, gy).mean()),
            float(np.mean(x >= 1.0)), float(np.mean(x <= 1.0 / full_scale)),
        ],
        dtype=np.float64,
    )  # fmt: skip


def fit_logistic(x: FloatArray, y: IntArray, l2: float = 1.0) -> Callable[[FloatArray], FloatArray]:
    """Fit an L2-regularised logistic regression; returns a scorer (higher: more likely class 1).

    Features are standardised on the training set; the weights minimise the mean log loss plus
    ``l2 / n`` times their squared norm (L-BFGS).
    """
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    xs = np.column_stack([(x - mu) / sd, np.ones(len(x))])
    t = 2.0 * y - 1.0
    n = len(x)

    def loss(w: FloatArray) -> tuple[float, FloatArray]:
        m = t * (xs @ w)
        reg = w.copy()
        reg[-1] = 0.0
        value = float(np.mean(np.logaddexp(0.0, -m)) + l2 / n * (reg @ reg))
        grad = -(xs.T @ (t * stats.logistic.cdf(-m))) / n + 2 * l2 / n * reg
        return value, grad

    w = optimize.minimize(loss, np.zeros(xs.shape[1]), jac=True, method="L-BFGS-B").x

    def score(xnew: FloatArray) -> FloatArray:
        return np.asarray(np.column_stack([(xnew - mu) / sd, np.ones(len(xnew))]) @ w)

    return score


def roc_auc(y: IntArray, score: FloatArray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic; ties count one half)."""
    ranks = stats.rankdata(score)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("ROC AUC needs both classes")
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def grouped_folds(groups: npt.ArrayLike, y: IntArray, k: int, seed: int = 0) -> IntArray:
    """Fold number of each sample: whole groups (images) per fold, each class spread over the folds."""
    g = np.asarray(groups)
    fold = np.empty(len(g), np.int64)
    rng = np.random.default_rng(seed)
    for label in (0, 1):
        names = np.unique(g[y == label])
        rng.shuffle(names)
        for i, name in enumerate(names):
            fold[(g == name) & (y == label)] = i % k
    return fold


def cross_validated_aucs(
    x: FloatArray,
    y: IntArray,
    groups: npt.ArrayLike,
    k: int = 5,
    fit: Callable[[FloatArray, IntArray], Callable[[FloatArray], FloatArray]] = fit_logistic,
    seed: int = 0,
) -> tuple[float, float]:
    """(pooled, fold mean) ROC AUC of out-of-fold scores.

    Pooled: all out-of-fold scores ranked together. Fold mean: the AUC of each fold (with both
    classes), averaged; it does not compare scores of different classifiers, whose offsets differ
    when whole images make the folds unbalanced (pooling them can then fall below 0.5).
    """
    fold = grouped_folds(groups, y, k, seed)
    score = np.empty(len(y), np.float64)
    per_fold = []
    for f in range(k):
        test = fold == f
        if not test.any():
            continue
        score[test] = fit(x[~test], y[~test])(x[test])
        if len(np.unique(y[test])) == 2:
            per_fold.append(roc_auc(y[test], score[test]))
    return roc_auc(y, score), float(np.mean(per_fold)) if per_fold else float("nan")


def patches(image: npt.ArrayLike, side: int) -> list[FloatArray]:
    """The non-overlapping ``side`` x ``side`` patches of an image that hold no NaN."""
    a = np.asarray(image, dtype=np.float64)
    out = []
    for r in range(0, a.shape[0] - side + 1, side):
        for c in range(0, a.shape[1] - side + 1, side):
            p = a[r : r + side, c : c + side]
            if np.isfinite(p).all():
                out.append(p)
    return out
