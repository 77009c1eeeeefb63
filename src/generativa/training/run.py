"""A run folder and what can be read back from it.

    runs/<date>_<time>_<model>_<data>/
      config.yaml  model.safetensors  model.json  state/  metrics.jsonl  metrics.json
      events.out.tfevents.*  samples/  report.html

Reading is forgiving where a file is a log and strict where it is a checkpoint: a damaged line of
``metrics.jsonl`` is skipped and counted (``skipped_log_lines``), a damaged ``metrics.json`` or
checkpoint is an error naming the file. Writes never follow a symbolic link inside the run.
"""

from __future__ import annotations

import datetime as _dt
import json
from functools import cached_property
from pathlib import Path
from typing import Any

from generativa.io.atomic import write_json_atomic
from generativa.training.checkpoint import CheckpointError, load, read_model_info, resolve_run, weights_folder


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
        if not (self.path / "model.json").exists() and not (self.path / "state").is_dir():
            raise CheckpointError(
                f"{self.path} is not a run folder (no model.json); pass a folder written by `generativa train`"
            )
        self.skipped_log_lines = 0

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @cached_property
    def model_info(self) -> dict[str, Any]:
        return read_model_info(weights_folder(self.path))

    @cached_property
    def config(self) -> dict[str, Any]:
        path = self.path / "config.yaml"
        if not path.exists():
            return {}
        import yaml

        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{path} is not valid YAML ({e})") from None
        return raw if isinstance(raw, dict) else {}

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
        """The rows of metrics.jsonl; a line that is not a JSON object with a step (a crash cut it, a
        byte was damaged) is skipped and counted in ``skipped_log_lines``."""
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        rows, skipped = [], 0
        for raw in path.read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                skipped += 1
                continue
            step = row.get("step") if isinstance(row, dict) else None
            if not isinstance(step, int) or isinstance(step, bool):
                skipped += 1
                continue
            rows.append(row)
        self.skipped_log_lines = skipped
        return rows

    def metrics(self) -> dict[str, Any]:
        path = self.path / "metrics.json"
        if not path.exists():
            return {}
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"{path} is not valid JSON ({e}); delete it and run `generativa evaluate` "
                                  "again") from None
        if not isinstance(value, dict):
            raise CheckpointError(f"{path} does not hold a JSON object; delete it and evaluate again")
        return value

    def update_metrics(self, values: dict[str, Any]) -> dict[str, Any]:
        merged = self.metrics()
        merged.update(values)
        write_json_atomic(self.path / "metrics.json", merged, root=self.path)
        return merged

    def sample_grids(self) -> list[Path]:
        """The grids written during training (samples/step_*.png), in step order."""
        folder = self.path / "samples"
        return sorted(folder.glob("step_*.png")) if folder.is_dir() else []
