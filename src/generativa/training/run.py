"""A run folder and what can be read back from it.

    runs/<date>_<time>_<model>_<data>/
      config.yaml  model.safetensors  model.json  state/  metrics.jsonl  metrics.json
      events.out.tfevents.*  samples/  report.html
"""

from __future__ import annotations

import datetime as _dt
import json
from functools import cached_property
from pathlib import Path
from typing import Any

from generativa.training.checkpoint import CheckpointError, load, read_model_info, resolve_run
from generativa.training.safeio import write_json_atomic


def new_run_path(root: str | Path, model: str, data: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    safe_data = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in data.split("/")[-1])[:40]
    base = Path(root) / f"{stamp}_{model}_{safe_data}"
    path, i = base, 1
    while path.exists():
        path = base.with_name(f"{base.name}_{i}")
        i += 1
    return path


class RunDir:
    """Read access to a run folder, plus ``update_metrics`` for the evaluation verbs."""

    def __init__(self, path: str | Path):
        self.path = resolve_run(path)
        if not (self.path / "model.json").exists():
            raise CheckpointError(
                f"{self.path} is not a run folder (no model.json); pass a folder written by `generativa train`"
            )

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @cached_property
    def model_info(self) -> dict[str, Any]:
        return read_model_info(self.path)

    @cached_property
    def config(self) -> dict[str, Any]:
        path = self.path / "config.yaml"
        if not path.exists():
            return {}
        from omegaconf import OmegaConf

        return OmegaConf.to_container(OmegaConf.load(path), resolve=True)  # type: ignore[return-value]

    @property
    def model_name(self) -> str:
        return str(self.model_info["model"])

    def load_model(self, ema: bool = True, device: str = "cpu"):
        return load(self.path, ema=ema, device=device)

    def load_data(self):
        """Rebuild the run's DataSplits from its saved spec and options."""
        from generativa.data import load_data

        data = self.model_info.get("data") or self.config.get("data") or {}
        spec = data.get("spec")
        if not spec:
            raise CheckpointError(f"{self.path} does not say which data it was trained on")
        return load_data(spec, **(data.get("options") or {}))

    def metrics_log(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: skip it
        return rows

    def metrics(self) -> dict[str, Any]:
        path = self.path / "metrics.json"
        if not path.exists():
            return {}
        return json.loads(path.read_text())

    def update_metrics(self, values: dict[str, Any]) -> dict[str, Any]:
        merged = self.metrics()
        merged.update(values)
        write_json_atomic(self.path / "metrics.json", merged)
        return merged

    def sample_grids(self) -> list[Path]:
        folder = self.path / "samples"
        return sorted(folder.glob("*.png")) if folder.exists() else []
