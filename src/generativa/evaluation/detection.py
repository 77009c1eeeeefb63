"""Anomaly detection scores: AUROC and average precision.

scores: (N,) higher = more anomalous; labels: (N,) 1 = anomaly (positive), 0 = normal.

    AUROC = P(score of a random positive > score of a random negative) + 1/2 P(tie)
            (the Mann-Whitney U statistic divided by n_pos n_neg; ties get average ranks)
    AP    = sum_n (R_n - R_{n-1}) P_n  over the distinct thresholds, in decreasing order
            (the step-wise area under the precision-recall curve, scikit-learn's definition)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from torch import Tensor


def _arrays(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(scores, Tensor):
        scores = scores.detach().cpu().double().numpy()
    if isinstance(labels, Tensor):
        labels = labels.detach().cpu().numpy()
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"{s.shape[0]} scores for {y.shape[0]} labels")
    if y.all() or not y.any():
        raise ValueError("AUROC and AP need both anomalies (label 1) and normal examples (label 0)")
    return s, y


def auroc(scores, labels) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count one half)."""
    s, y = _arrays(scores, labels)
    ranks = rankdata(s)  # average ranks for ties, 1-based
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_precision(scores, labels) -> float:
    """Average precision: sum over thresholds of (recall step) x precision."""
    s, y = _arrays(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # one threshold per distinct score: the last index of each run of equal scores
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / y.sum()
    recall_step = np.diff(np.r_[0.0, recall])
    return float((recall_step * precision).sum())
