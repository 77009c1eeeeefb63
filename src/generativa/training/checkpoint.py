"""Weights on disk: ``model.safetensors`` + ``model.json``, and resume state without pickles.

model.safetensors holds the model's state dict, and its EMA under the ``ema.`` prefix where kept.
model.json holds the registry name, the config, the data shape and spec, the library version:
enough to rebuild the model with ``load`` and to run nothing but tensor parsing while doing it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from generativa.training.safeio import save_tensors_atomic, write_json_atomic

FORMAT = "generativa-model"
FORMAT_VERSION = 1
EMA_PREFIX = "ema."


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded safely; the message says what was wrong."""


def config_to_dict(config: Any) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_dict(config_class: type, values: dict[str, Any]) -> Any:
    """Rebuild a frozen config; lists become tuples; unknown keys are an error."""
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise CheckpointError(
            f"{config_class.__name__} has no setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}"
        )

    def tuples(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(tuples(x) for x in v)
        return v

    return config_class(**{k: tuples(v) for k, v in values.items()})


def save_model(folder: str | Path, model: torch.nn.Module, *, ema_state: dict | None = None,
               data: dict | None = None, extra: dict | None = None) -> None:
    """Write ``model.safetensors`` then ``model.json`` into ``folder``, each atomically."""
    from generativa import __version__

    folder = Path(folder)
    tensors = dict(model.state_dict())
    if ema_state is not None:
        tensors.update({EMA_PREFIX + k: v for k, v in ema_state.items()})
    save_tensors_atomic(folder / "model.safetensors", tensors, metadata={"format": FORMAT})
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.registry_name,
        "config": config_to_dict(model.config),
        "data_shape": list(model.config.data_shape),
        "has_ema": ema_state is not None,
        "data": data or {},
        "library_version": __version__,
    }
    if extra:
        info.update(extra)
    write_json_atomic(folder / "model.json", info)


def read_model_info(folder: Path) -> dict[str, Any]:
    path = folder / "model.json"
    if not path.exists():
        raise CheckpointError(f"{folder} has no model.json; pass a run folder written by `generativa train`")
    try:
        info = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the run folder is damaged") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a generativa model description (format != {FORMAT!r})")
    return info


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Read every tensor of a safetensors file; anything else (a pickle, a truncated or tampered
    file) raises a CheckpointError and runs no code."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    try:
        out = {}
        with safe_open(str(path), framework="pt", device="cpu") as f:
            for k in f.keys():
                out[k] = f.get_tensor(k)
        return out
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head[:2] == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
            raise CheckpointError(
                f"{path} is a pickle / torch.save file, which can run code when loaded; "
                "generativa loads only safetensors, so nothing in it was run"
            ) from None
        raise CheckpointError(f"{path} is not a valid safetensors file ({e}); it may be truncated or altered") from None


def resolve_run(path: str | Path) -> Path:
    path = Path(path)
    if path.is_file() and path.suffix in (".safetensors", ".json"):
        return path.parent
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a run folder (runs/...) or its model.safetensors")
    return path


def build_from_info(info: dict[str, Any]) -> torch.nn.Module:
    from generativa.registry import get_model_class

    name = info.get("model")
    try:
        cls = get_model_class(str(name))
    except KeyError as e:
        raise CheckpointError(f"model.json names {e.args[0]}") from None
    config = config_from_dict(cls.config_class, info.get("config", {}))
    return cls(config)


def load(path: str | Path, *, ema: bool = True, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model from a run folder (``model.json`` + ``model.safetensors``), in eval mode.

    ema: use the EMA weights where the run kept them.
    """
    folder = resolve_run(path)
    info = read_model_info(folder)
    model = build_from_info(info)
    tensors = read_safetensors(folder / "model.safetensors")
    use_ema = ema and any(k.startswith(EMA_PREFIX) for k in tensors)
    state = ({k[len(EMA_PREFIX):]: v for k, v in tensors.items() if k.startswith(EMA_PREFIX)} if use_ema
             else {k: v for k, v in tensors.items() if not k.startswith(EMA_PREFIX)})
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        detail = "; ".join(
            part for part in (
                f"missing {', '.join(missing[:5])}" if missing else "",
                f"unexpected {', '.join(unexpected[:5])}" if unexpected else "",
                f"wrong shape {', '.join(wrong[:5])}" if wrong else "",
            ) if part
        )
        raise CheckpointError(f"{folder / 'model.safetensors'} does not match model.json ({detail})")
    model.load_state_dict(state)
    model.to(device)
    model.eval()
    model.run_info = info  # type: ignore[attr-defined]
    return model


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> (tensors, JSON-able rest). Non-tensor per-parameter values go to JSON."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for pid, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{pid}.{key}"] = value
            else:
                plain_state.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "plain_state": plain_state}


def unflatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                        rest: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        pid, key = name[len(prefix) + 1:].split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    for pid, entries in rest.get("plain_state", {}).items():
        state.setdefault(int(pid), {}).update(entries)
    groups = rest["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})
    # Restored moments come back contiguous; give them their parameter's memory layout (channels-last
    # weights), as a fresh run has them: fused optimisers step raw memory and would misalign otherwise.
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def save_json(path: Path, obj: Any) -> None:
    write_json_atomic(path, obj)
