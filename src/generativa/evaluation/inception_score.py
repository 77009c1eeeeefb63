"""Inception Score (Salimans et al. 2016, arXiv:1606.03498), computed with the dataset's own
classifier instead of an ImageNet Inception network.

p(y|x): the classifier's softmax on a generated image; p(y) = E_x p(y|x) over the split.

    IS = exp( E_x KL(p(y|x) || p(y)) )                                   [Salimans et al. 2016, sec. 4]

1 <= IS <= C (the number of classes): 1 when every image gets the same class distribution,
C when each image is classified with certainty and the classes are used equally. As in the
reference code the samples are cut into ``splits`` parts and the mean and standard deviation of
the per-part scores are reported. The rows are shuffled first (seeded): the reference code assumes
i.i.d. samples, but a data split stored in class order (``shapes`` is) would otherwise put one class
in each part and score about 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def inception_score_from_probs(
    probs: Tensor, splits: int = 10, *, generator: torch.Generator | None = None
) -> tuple[float, float]:
    """IS (mean, std over splits) from class probabilities (N, C) whose rows sum to 1."""
    probs = torch.as_tensor(probs).double()
    if probs.dim() != 2:
        raise ValueError(f"probabilities must be (N, C), got shape {tuple(probs.shape)}")
    generator = torch.Generator().manual_seed(0) if generator is None else generator
    probs = probs[torch.randperm(probs.shape[0], generator=generator)]
    splits = max(1, min(splits, probs.shape[0]))
    scores = []
    for part in probs.chunk(splits):
        p_y = part.mean(dim=0, keepdim=True)  # p(y), (1, C)
        # KL(p(y|x) || p(y)) with 0 log 0 = 0
        kl = torch.where(part > 0, part * (part.clamp_min(1e-300).log() - p_y.clamp_min(1e-300).log()), 0.0)
        scores.append(math.exp(float(kl.sum(dim=1).mean())))
    t = torch.tensor(scores, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(scores) > 1 else 0.0


def inception_score(
    logits: Tensor, splits: int = 10, *, generator: torch.Generator | None = None
) -> tuple[float, float]:
    """IS (mean, std over splits) from classifier logits (N, C)."""
    return inception_score_from_probs(torch.as_tensor(logits).double().softmax(dim=1), splits, generator=generator)
