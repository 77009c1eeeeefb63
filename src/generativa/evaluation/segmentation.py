"""Segmentation metrics: pixel IoU and Dice per class, the Rand error of the instances, and the share
of touching cells a prediction separates.

* IoU_c = |P_c & T_c| / |P_c | T_c| and Dice_c = 2 |P_c & T_c| / (|P_c| + |T_c|), pixels counted over
  the whole test set (not averaged per image).
* Rand error = 1 - Rand index (Rand 1971; the measure of the ISBI 2012 challenge the U-Net paper
  reports, Ronneberger et al. 2015, Table 1): the share of pixel pairs on which two segmentations
  disagree (same segment in one, different segments in the other). From the contingency table n_ij:
  RI = 1 - (sum_i C(a_i, 2) + sum_j C(b_j, 2) - 2 sum_ij C(n_ij, 2)) / C(n, 2). Background is one
  segment (label 0) like any other. Averaged over images.
* Touching pairs separated: for each pair of ground-truth cells that touch, the pair counts as
  separated when each cell's pixels are mostly covered by a predicted instance and the two
  predicted instances differ. Predicted instances come from the predicted semantic mask
  (``models.vision.segmentation.instances_from_semantic``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor


def _pairs(n: np.ndarray) -> np.ndarray:
    n = n.astype(np.float64)
    return n * (n - 1) / 2


def rand_error(a: np.ndarray | Tensor, b: np.ndarray | Tensor) -> float:
    """1 - Rand index of two labellings of the same pixels (any integer ids)."""
    a = np.asarray(a).ravel().astype(np.int64)
    b = np.asarray(b).ravel().astype(np.int64)
    if a.shape != b.shape:
        raise ValueError(f"rand_error needs labellings of the same pixels, got {a.size} and {b.size}")
    n = a.size
    if n < 2:
        return 0.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), np.int64)
    np.add.at(table, (ai, bi), 1)
    disagree = _pairs(table.sum(1)).sum() + _pairs(table.sum(0)).sum() - 2 * _pairs(table).sum()
    return float(disagree / _pairs(np.array(n)))


def separated_pairs(truth: np.ndarray, predicted: np.ndarray) -> tuple[int, int]:
    """(touching ground-truth pairs separated by ``predicted``, touching pairs) for one image."""
    from generativa.data.cells import touching_pairs

    pairs = touching_pairs(truth)
    if not pairs:
        return 0, 0
    match: dict[int, int] = {}
    for k in {i for p in pairs for i in p}:
        covered = predicted[truth == k]
        covered = covered[covered > 0]
        # the predicted instance covering most of cell k, when it covers at least half of it
        if covered.size * 2 >= (truth == k).sum():
            ids, counts = np.unique(covered, return_counts=True)
            match[k] = int(ids[counts.argmax()])
    separated = sum(1 for i, j in pairs if i in match and j in match and match[i] != match[j])
    return separated, len(pairs)


def confusion(pred: Tensor, truth: Tensor, classes: int) -> Tensor:
    """(K, K) pixel counts, rows the true class, columns the predicted one."""
    index = truth.reshape(-1).long() * classes + pred.reshape(-1).long()
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes)


def iou_dice(table: Tensor) -> tuple[list[float], list[float]]:
    """IoU and Dice per class from a confusion table."""
    table = table.double()
    tp = table.diag()
    fp, fn = table.sum(0) - tp, table.sum(1) - tp
    iou = tp / (tp + fp + fn).clamp_min(1)
    dice = 2 * tp / (2 * tp + fp + fn).clamp_min(1)
    return iou.tolist(), dice.tolist()


@torch.no_grad()
def evaluate_segmenter(model: Any, data: Any, *, max_images: int | None = None, batch_size: int = 16,
                       class_names: tuple[str, ...] = ("background", "cell", "border")) -> dict[str, Any]:
    """Every metric above on a split (``ArrayData`` with instance masks) for a U-Net run's model."""
    from generativa.data.cells import semantic_from_instances
    from generativa.models.vision.segmentation import instances_from_semantic

    if data.masks is None:
        raise ValueError(f"dataset {data.name!r} has no masks to compare a segmentation with")
    model.eval()
    n = len(data) if max_images is None else min(len(data), max_images)
    classes = model.config.classes
    table = torch.zeros(classes, classes, dtype=torch.long)
    rand, separated, touching = [], 0, 0
    for i in range(0, n, batch_size):
        x = data.images(slice(i, min(i + batch_size, n))).to(model.device)
        masks = data.masks[i : i + x.shape[0], 0]
        pred = model.predict(x).cpu()
        instances_mode = model.config.masks == "instances"
        truth = semantic_from_instances(masks).long() if instances_mode else masks.long()
        table += confusion(pred, truth, classes)
        if instances_mode:
            for p, m in zip(pred, masks):
                ids = instances_from_semantic(p)
                rand.append(rand_error(ids, m.numpy()))
                s, t = separated_pairs(m.numpy(), ids)
                separated, touching = separated + s, touching + t
    iou, dice = iou_dice(table)
    names = class_names if len(class_names) == classes else tuple(str(k) for k in range(classes))
    out: dict[str, Any] = {"images": n, "pixel_accuracy": float(table.diag().sum() / table.sum().clamp_min(1))}
    out.update({f"iou_{c}": v for c, v in zip(names, iou)})
    out.update({f"dice_{c}": v for c, v in zip(names, dice)})
    if rand:
        out["rand_error"] = float(np.mean(rand))
        out["touching_pairs"] = touching
        out["touching_separated"] = separated / touching if touching else float("nan")
    return out
