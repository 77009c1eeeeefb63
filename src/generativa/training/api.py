"""Python equivalents of ``generativa train`` and ``generativa train --resume``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from generativa.training.settings import RunSettings, parse_overrides, resolve


def _load_data(settings: RunSettings):
    from generativa.data import load_data

    return load_data(settings.data, **settings.data_options)


def build_for_data(settings: RunSettings, data) -> torch.nn.Module:
    """Fill data_shape / num_classes from the data and build the model (seeded)."""
    from generativa.registry import get_model_class

    config = dataclasses.replace(settings.model_config, data_shape=tuple(data.shape),
                                 num_classes=data.num_classes)
    settings.model_config = config
    torch.manual_seed(settings.train.seed)
    return get_model_class(settings.model)(config)


def train(model: str = "ae", data: str | None = None, *, steps: int | None = None,
          minutes: float | None = None, seed: int | None = None, out: str | Path | None = None,
          runs_root: str | Path = "runs", data_options: dict[str, Any] | None = None,
          progress: bool = True, settings: RunSettings | None = None, accelerator=None,
          **overrides: Any) -> Path:
    """Train a registered model or preset and return its run folder.

        run = generativa.train("ae", data="digits", steps=500, latent_dim=8)

    ``overrides`` are model or training settings (``latent_dim=8``, ``lr=3e-4``); ``data_options``
    are data-spec options (``{"size": 32}``). ``out`` fixes the run folder.
    """
    from generativa.training.run import new_run_path
    from generativa.training.trainer import Trainer

    if settings is None:
        extra = {k: v for k, v in overrides.items()}
        if steps is not None:
            extra["train.steps"] = steps
        if minutes is not None:
            extra["train.minutes"] = minutes
            if steps is None:
                extra["train.steps"] = 10**9
        if seed is not None:
            extra["train.seed"] = seed
        extra["train.progress"] = progress
        settings = resolve(model, data=data, overrides=extra, data_options=data_options)
    splits = _load_data(settings)
    net = build_for_data(settings, splits)
    run_dir = Path(out) if out is not None else new_run_path(runs_root, settings.model, settings.data)
    trainer = Trainer(net, splits, settings.train, run_dir, accelerator=accelerator)
    if trainer.is_main:
        from generativa.training.safeio import write_text_atomic

        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", settings.to_yaml())
    trainer.fit()
    return run_dir


def resume(run: str | Path, steps: int | None = None, *, progress: bool = True, accelerator=None) -> Path:
    """Continue a run to a new total of ``steps`` rounds (default: its configured total).

    On the CPU the continuation is bit for bit what an uninterrupted run would have computed
    (for a cosine schedule, only when the total is unchanged: the schedule is planned over it).
    """
    from omegaconf import OmegaConf

    from generativa.training.checkpoint import read_safetensors
    from generativa.training.trainer import Trainer

    run_dir = Path(run)
    if not (run_dir / "state" / "state.json").exists():
        raise FileNotFoundError(f"{run_dir} has no state/ to resume from; pass a run folder written by `generativa train`")
    raw = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True)
    settings = RunSettings.from_dict(raw)  # type: ignore[arg-type]
    train_cfg = dataclasses.replace(settings.train, progress=progress)
    if steps is not None:
        train_cfg = dataclasses.replace(train_cfg, steps=steps, minutes=None)
    settings.train = train_cfg
    splits = _load_data(settings)
    net = build_for_data(settings, splits)
    weights = read_safetensors(run_dir / "model.safetensors")
    net.load_state_dict({k: v for k, v in weights.items() if not k.startswith("ema.")})
    trainer = Trainer(net, splits, train_cfg, run_dir, accelerator=accelerator)
    trainer.load_state(run_dir)
    if trainer.is_main:
        from generativa.training.safeio import write_text_atomic

        write_text_atomic(run_dir / "config.yaml", settings.to_yaml())
    trainer.fit()
    return run_dir


__all__ = ["train", "resume", "parse_overrides", "resolve"]
