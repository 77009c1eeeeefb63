"""Classifier-free guidance (Ho & Salimans 2022, arXiv:2207.12598), shared by every conditional family.

Training: with probability ``label_dropout`` a label is replaced by a "no class" token (the index
``num_labels``, one past the classes), so one network learns both p(. | y) and p(.).

Sampling with scale w combines the two predictions of each step:

    diffusion (the denoiser):        D_w = D(no class) + w (D(y) - D(no class))
    autoregressive (the logits of one value):
                                     l_w = l(no class) + w (l(y) - l(no class))

For a softmax (or a Bernoulli's single logit) the second is p_w(x_t | x_<t) proportional to
p(x_t | x_<t) ^ (1 - w) p(x_t | x_<t, y) ^ w: each log-normaliser is a constant over the values, so
the softmax of l_w removes it. w = 1 is the conditional model (one evaluation); w > 1 leans each
step towards what distinguishes the class; w = 0 is the unconditional model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from generativa.models.base import SampleOption

GUIDANCE = SampleOption("guidance", "float", 1.0, "classifier-free guidance scale w (1: the conditional model; "
                        "above 1: more typical of the class; conditional models trained with label_dropout > 0)",
                        minimum=0.0, maximum=100.0)


def check_label_dropout(p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"label_dropout must lie in [0, 1), got {p}")


def drop_labels(labels: Tensor, p: float, null: int) -> Tensor:
    """Each label replaced by the "no class" token ``null`` with probability p (the global generator)."""
    if p <= 0:
        return labels
    drop = torch.rand(labels.shape[0], device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null), labels)


def guided(cond: Tensor, uncond: Tensor, w: float) -> Tensor:
    """uncond + w (cond - uncond): the guided prediction (denoiser output or logits)."""
    return uncond + w * (cond - uncond)


def check_guidance(name: str, guidance: float, null: int | None) -> None:
    """Guidance other than 1 needs a model that learned the "no class" token (``null`` not None)."""
    if guidance == 1.0:
        return
    if not guidance >= 0.0:
        raise ValueError(f"guidance must be >= 0, got {guidance}")
    if null is None:
        raise ValueError(f"{name} cannot be guided (guidance={guidance:g}): guidance needs a conditional model "
                         "trained with label_dropout > 0 (set model.conditional=true model.label_dropout=0.1)")


def check_default_guidance(guidance: float, conditional: bool, label_dropout: float) -> None:
    """A config's default scale: ignored by an unconditional model (the presets set it for their
    conditional form); a conditional model without "no class" cannot be guided."""
    if not guidance >= 0.0:
        raise ValueError(f"guidance must be >= 0, got {guidance}")
    if conditional and guidance != 1.0 and label_dropout <= 0:
        raise ValueError(f"guidance={guidance:g} needs a model trained with label_dropout > 0 "
                         "(set model.label_dropout=0.1, or guidance=1)")
