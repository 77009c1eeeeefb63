"""Weights on disk: ``model.safetensors`` + ``model.json``, written and read without running code.

model.safetensors holds the model's state dict, and the EMA of the parameters it averages under the
``ema.`` prefix where kept (with every buffer, computed with the averaged weights where that matters).
model.json holds the registry name, the config, the data shape and spec, the step and the library
version: enough to rebuild the model with ``load``.

``load`` checks everything before it allocates: model.json's fields and every config value against
its type; the model's parameter count and every tensor's name, shape and dtype against the
safetensors header (read without loading the data), with the model built on PyTorch's ``meta``
device first, so a tampered ``hidden=[60000, 60000]`` is refused instead of filling the memory; then
it loads the tensors and refuses non-finite values. A run's own ``model.json`` and
``model.safetensors`` are read; where they are missing, its newest committed checkpoint
(``state/COMMITTED``, see ``store.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from generativa.configs import ConfigError, from_dict, to_dict
from generativa.io.atomic import save_tensors_atomic, write_json_atomic
from generativa.training import store
from generativa.training.store import CheckpointError

FORMAT = "generativa-model"
FORMAT_VERSION = 2
EMA_PREFIX = "ema."
MEMORY_SHARE = 0.8  # a model larger than this share of the available memory is refused

__all__ = ["CheckpointError", "EMA_PREFIX", "FORMAT", "build_from_info", "load", "read_model_info",
           "read_safetensors", "resolve_run", "save_model", "weights_folder"]


def save_model(folder: str | Path, model: torch.nn.Module, *, ema_state: dict | None = None,
               data: dict | None = None, extra: dict | None = None, root: str | Path | None = None) -> None:
    """Write ``model.safetensors`` then ``model.json`` into ``folder``, each atomically."""
    from generativa import __version__

    folder = Path(folder)
    tensors = dict(model.state_dict())
    if ema_state is not None:
        tensors.update({EMA_PREFIX + k: v for k, v in ema_state.items()})
    save_tensors_atomic(folder / "model.safetensors", tensors, metadata={"format": FORMAT}, root=root)
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.registry_name,
        "config": to_dict(model.config),
        "data_shape": list(model.config.data_shape),
        "has_ema": ema_state is not None,
        "data": data or {},
        "library_version": __version__,
    }
    if extra:
        info.update(extra)
    write_json_atomic(folder / "model.json", info, root=root)


def read_model_info(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "model.json"
    if not path.exists():
        raise CheckpointError(f"{folder} has no model.json; pass a run folder written by `generativa train`")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the run folder is damaged") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a generativa model description (format != {FORMAT!r})")
    if not isinstance(info.get("model"), str) or not isinstance(info.get("config"), dict):
        raise CheckpointError(f"{path}: 'model' must be a model name and 'config' a mapping of settings")
    return info


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head[:2] == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def _open_error(path: Path, e: Exception) -> CheckpointError:
    if _looks_like_pickle(path):
        return CheckpointError(
            f"{path} is a pickle / torch.save file, which can run code when loaded; "
            "generativa loads only safetensors, so nothing in it was run"
        )
    return CheckpointError(f"{path} is not a valid safetensors file ({e}); it may be truncated or altered")


def _read(path: Path, per_tensor) -> dict:
    """``{name: per_tensor(file, name)}`` for every tensor of a safetensors file; anything else (a
    pickle, a truncated or tampered file) raises a CheckpointError and runs no code."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: per_tensor(f, k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise _open_error(path, e) from None


def read_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every tensor's (shape, dtype) from a safetensors header, without reading the data."""
    return _read(path, lambda f, k: (tuple(f.get_slice(k).get_shape()), str(f.get_slice(k).get_dtype())))


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file (see ``_read``)."""
    return _read(path, lambda f, k: f.get_tensor(k))


def resolve_run(path: str | Path) -> Path:
    path = Path(path)
    if path.is_file() and path.suffix in (".safetensors", ".json"):
        return path.parent
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a run folder (runs/...) or its model.safetensors")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a folder; pass a run folder (runs/...) or its model.safetensors")
    return path


def weights_folder(run: Path) -> Path:
    """Where a run's weights are read: the folder's own model.json + model.safetensors (the newest
    committed checkpoint's, re-pointed at every commit), or that checkpoint itself where they are
    missing (a crash between two re-pointings)."""
    if (run / "model.json").is_file() and (run / "model.safetensors").is_file():
        return run
    if store.committed_names(run):
        folder, _ = store.resolve(run, check=_check_weights_pair)
        return folder
    return run


def _check_weights_pair(folder: Path) -> None:
    read_model_info(folder)
    read_header(folder / "model.safetensors")


def _dtype_name(dtype: torch.dtype) -> str:
    return {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL"}.get(dtype, str(dtype))


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def build_from_info(info: dict[str, Any], *, where: str = "model.json", device: str | torch.device | None = None):
    """The model a model.json describes, its config checked first. device="meta" allocates nothing."""
    from generativa.registry import get_model_class

    name = info.get("model")
    try:
        cls = get_model_class(str(name))
    except KeyError as e:
        raise CheckpointError(f"{where} names {e.args[0]}") from None
    try:
        config = from_dict(cls.config_class, info.get("config", {}))
    except ConfigError as e:
        raise CheckpointError(f"{where}: {e}") from None
    try:
        if device is not None:
            with torch.device(device):
                return cls(config)
        return cls(config)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{where}: the config cannot build a {name} model ({e})") from None


def check_tensors(expected: dict[str, torch.Tensor], header: dict[str, tuple[tuple[int, ...], str]],
                  path: Path) -> None:
    """Names, shapes and dtypes of a weights file against the model's own (live keys, and ema. keys)."""
    live = {k: v for k, v in header.items() if not k.startswith(EMA_PREFIX)}
    ema = {k[len(EMA_PREFIX):]: v for k, v in header.items() if k.startswith(EMA_PREFIX)}
    problems = []
    missing = sorted(set(expected) - set(live))
    unexpected = sorted(set(live) - set(expected)) + [EMA_PREFIX + k for k in sorted(set(ema) - set(expected))]
    if missing:
        problems.append(f"missing {', '.join(missing[:5])}")
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected[:5])}")
    wrong_shape, wrong_dtype = [], []
    for prefix, table in (("", live), (EMA_PREFIX, ema)):
        for k, (shape, dtype) in table.items():
            if k not in expected:
                continue
            if tuple(expected[k].shape) != shape:
                wrong_shape.append(f"{prefix}{k} {list(shape)} (expected {list(expected[k].shape)})")
            if _dtype_name(expected[k].dtype) != dtype:
                wrong_dtype.append(f"{prefix}{k} {dtype} (expected {_dtype_name(expected[k].dtype)})")
    if wrong_shape:
        problems.append(f"wrong shape {', '.join(wrong_shape[:5])}")
    if wrong_dtype:
        problems.append(f"wrong dtype {', '.join(wrong_dtype[:5])}")
    if problems:
        raise CheckpointError(f"{path} does not match model.json ({'; '.join(problems)})")


def load(path: str | Path, *, ema: bool = True, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model from a run folder (``model.json`` + ``model.safetensors``), in eval mode.

    ema: use the EMA weights where the run kept them. Everything is checked before memory is
    allocated (see the module docstring); a problem raises ``CheckpointError`` naming the file.
    """
    folder = weights_folder(resolve_run(path))
    info = read_model_info(folder)
    weights_path = folder / "model.safetensors"
    header = read_header(weights_path)
    where = str(folder / "model.json")
    shadow = build_from_info(info, where=where, device="meta")  # nothing allocated yet
    expected = shadow.state_dict()
    check_tensors(expected, header, weights_path)
    nbytes = sum(t.numel() * t.element_size() for t in expected.values())
    available = _available_memory()
    if available is not None and nbytes > MEMORY_SHARE * available:
        raise CheckpointError(f"{where}: the model needs {nbytes / 2**30:.1f} GiB, more than "
                              f"{MEMORY_SHARE:.0%} of the {available / 2**30:.1f} GiB this machine has free")
    del shadow
    model = build_from_info(info, where=where)
    tensors = read_safetensors(weights_path)
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{weights_path} holds non-finite values (NaN or inf) in {', '.join(bad[:5])}; "
                              "these weights are unusable: load an earlier checkpoint or train again")
    state = {k: v for k, v in tensors.items() if not k.startswith(EMA_PREFIX)}
    if ema:
        state.update({k[len(EMA_PREFIX):]: v for k, v in tensors.items() if k.startswith(EMA_PREFIX)})
    model.load_state_dict(state)
    model.to(device)
    model.eval()
    model.run_info = info  # type: ignore[attr-defined]
    return model
