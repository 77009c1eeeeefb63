"""Shared helpers: the digits split as float tensors, and a minimal optimisation loop for tiny models."""

from __future__ import annotations

import pytest
import torch

from generativa.data import load_data
from generativa.models.base import Batch


@pytest.fixture(scope="session")
def digits():
    """(train images, train labels, test images, test labels), float images in [0, 1]."""
    d = load_data("digits")
    return d.train.images(), d.train.labels, d.test.images(), d.test.labels


def fit(model, x: torch.Tensor, *, steps: int, lr: float = 2e-3, batch_size: int = 128, seed: int = 0):
    """Adam on random minibatches (batch_size=None: full batch); returns the model in eval mode."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        xb = x if batch_size is None else x[torch.randint(0, len(x), (batch_size,), generator=g)]
        out = model.loss(Batch(xb))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    return model.eval()
