"""Helpers of the autoencoder benchmarks: train a model with the library's trainer, measure it."""

from __future__ import annotations

import dataclasses
import statistics
import time

import torch

from generativa.data.base import DataSplits
from generativa.models.base import Batch
from generativa.registry import build_model, get_preset
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer


def build(preset: str, splits: DataSplits, **overrides):
    """The preset's model for this data, with config overrides."""
    p = get_preset(preset)
    config = dataclasses.replace(p.config, data_shape=tuple(splits.shape), num_classes=splits.num_classes, **overrides)
    return build_model(p.model, config), p


def fit(model, splits: DataSplits, *, steps: int, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
        device: str = "auto", **train) -> tuple[torch.nn.Module, float]:
    """Train with ``Trainer`` (no run folder); ``train``: other TrainConfig fields (schedule, ...).
    Returns (model on the CPU in eval mode, wall seconds)."""
    torch.manual_seed(seed)
    config = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, seed=seed, progress=False, log_every=10**9,
                         sample_every=0, checkpoint_every=0, device=device, **train)  # type: ignore[arg-type]
    start = time.perf_counter()
    Trainer(model, splits, config).fit()
    seconds = time.perf_counter() - start
    return model.cpu().eval(), seconds


def fit_preset(preset: str, splits: DataSplits, *, steps: int | None = None, device: str = "auto", seed: int = 0,
               **overrides):
    model, p = build(preset, splits, **overrides)
    t = dict(p.train)
    t["steps"] = steps or t.get("steps", 2000)
    return fit(model, splits, seed=seed, device=device, **t)


@torch.no_grad()
def test_mse(model, x: torch.Tensor, batch: int = 1024) -> float:
    """Mean squared error of reconstruct(x) over pixels and images."""
    total = 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        total += float(((model.reconstruct(xb) - xb) ** 2).sum())
    return total / x.numel()


def step_rate(model, x: torch.Tensor, *, batch_size: int = 128, steps: int = 30, repeats: int = 5,
              device: str = "cpu") -> float:
    """Training images per second of one Adam step (forward, backward, update): median over repeats."""
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [x[torch.randint(0, len(x), (batch_size,), generator=g)].to(device) for _ in range(steps)]

    def run():
        for xb in batches:
            out = model.loss(Batch(xb))
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    run()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    model.cpu()
    return batch_size * steps / statistics.median(times)
