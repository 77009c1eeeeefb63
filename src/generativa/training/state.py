"""What resume needs besides the weights, as safetensors and JSON, checked before anything is used.

``state.safetensors`` holds tensors:

    optimizer.<player>.<index>.<key>   each parameter's optimiser tensors (Adam's exp_avg, exp_avg_sq, step)
    rng.torch.rank<r>                  torch's CPU generator of process r
    rng.cuda.rank<r>                   its CUDA generator, where training ran on a GPU
    rng.batches                        the generator of the batch order
    rng.model.<name>                   every random stream the model owns (``Model.generators``)
    data.perm, data_b.perm             the current permutations of the training examples

``state.json`` holds the step, the elapsed time, the data cursors, the non-finite counters, the
optimisers' hyper-parameters, the training config, the number of processes and the device.

Everything is validated against the live model and optimisers before use (``restore_optimizer``,
``check_generator_state``, ``check_permutation``): a tensor of the wrong shape, dtype or value is
refused with its name and the file, never handed to a fused optimiser kernel (which would read and
write out of bounds) or silently turned into NaN.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from generativa.training.store import CheckpointError

RNG_STATE_SIZE = torch.get_rng_state().numel()


def _refuse(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: {what}; the checkpoint was altered or belongs to another run: resume from "
                           "a checkpoint this run wrote, or start it again")


def optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
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


def expected_keys(opt: torch.optim.Optimizer, group: dict) -> set[str]:
    """The per-parameter state an optimiser of this kind keeps once it has stepped."""
    if isinstance(opt, torch.optim.Adam | torch.optim.AdamW):
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group.get("amsgrad") else set())
    if isinstance(opt, torch.optim.RMSprop):
        return ({"step", "square_avg"} | ({"momentum_buffer"} if group.get("momentum") else set())
                | ({"grad_avg"} if group.get("centered") else set()))
    if isinstance(opt, torch.optim.SGD):
        return {"momentum_buffer"} if group.get("momentum") else set()
    return set()


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def restore_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], rest: Any,
                      path: Path) -> None:
    """Check every saved tensor against its parameter (shape, dtype, finite) and load the state."""
    params = [p for g in opt.param_groups for p in g["params"]]
    if not isinstance(rest, dict) or not isinstance(rest.get("param_groups"), list):
        raise _refuse(path, f"{prefix} has no param_groups list in state.json")
    groups = rest["param_groups"]
    if len(groups) != len(opt.param_groups):
        raise _refuse(path, f"{prefix} has {len(groups)} parameter groups, the model has {len(opt.param_groups)}")
    start = 0
    for saved, live in zip(groups, opt.param_groups):
        count = len(live["params"])
        if not isinstance(saved, dict) or saved.get("params") != list(range(start, start + count)):
            raise _refuse(path, f"{prefix}'s parameter groups do not match the model's parameters")
        start += count
        for key, value in saved.items():
            if key in ("lr", "weight_decay", "eps", "lr_scale", "momentum", "alpha", "dampening") and not (
                    _finite_number(value) and value >= 0):
                raise _refuse(path, f"{prefix}.{key} = {value!r} is not a finite number >= 0")
            if key == "betas" and not (isinstance(value, list | tuple) and len(value) == 2
                                       and all(_finite_number(b) and 0 <= b < 1 for b in value)):
                raise _refuse(path, f"{prefix}.betas = {value!r} is not two numbers in [0, 1)")
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        pid_text, _, key = name[len(prefix) + 1:].partition(".")
        if not pid_text.isdigit() or not key:
            raise _refuse(path, f"tensor {name} does not name a parameter")
        pid = int(pid_text)
        if pid >= len(params):
            raise _refuse(path, f"tensor {name} refers to parameter {pid}, but the optimiser has {len(params)}")
        p = params[pid]
        if key == "step":  # the optimisers keep their step count as a float32 scalar tensor
            if value.dim() != 0 or value.dtype != torch.float32:
                raise _refuse(path, f"tensor {name} must be a float32 scalar (a step count), got {value.dtype} "
                                    f"{list(value.shape)}")
        elif tuple(value.shape) != tuple(p.shape) or value.dtype != p.dtype:
            raise _refuse(path, f"tensor {name} has {value.dtype} {list(value.shape)}, but its parameter is "
                                f"{p.dtype} {list(p.shape)}")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise _refuse(path, f"tensor {name} holds NaN or infinite values")
        if key == "step" and float(value) < 0:
            raise _refuse(path, f"tensor {name} = {float(value)} is a negative step count")
        state.setdefault(pid, {})[key] = value
    plain = rest.get("plain_state", {})
    if not isinstance(plain, dict):
        raise _refuse(path, f"{prefix}.plain_state is not a mapping")
    for pid, entries in plain.items():
        if not str(pid).isdigit() or int(pid) >= len(params) or not isinstance(entries, dict):
            raise _refuse(path, f"{prefix}.plain_state names parameter {pid!r}, which the optimiser does not have")
        state.setdefault(int(pid), {}).update(entries)
    owner = {i: g for g in opt.param_groups for i in range(len(params)) if any(params[i] is q for q in g["params"])}
    for pid, entries in state.items():
        missing = expected_keys(opt, owner[pid]) - set(entries)
        if missing:
            raise _refuse(path, f"tensor {prefix}.{pid}.{sorted(missing)[0]} is missing (parameter {pid} has "
                                f"{', '.join(sorted(entries))} but not {', '.join(sorted(missing))})")
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise _refuse(path, f"{prefix} cannot be restored ({e})") from None
    # Restored moments come back contiguous; give them their parameter's memory layout (channels-last
    # weights), as a fresh run has them: fused optimisers step raw memory and would misalign otherwise.
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def check_generator_state(name: str, value: torch.Tensor | None, path: Path, size: int = RNG_STATE_SIZE) -> torch.Tensor:
    """A saved generator state must be a uint8 vector of the generator's own size."""
    if value is None:
        raise _refuse(path, f"the random stream {name} is missing")
    if value.dtype != torch.uint8 or value.dim() != 1 or value.numel() != size:
        raise _refuse(path, f"tensor {name} has {value.dtype} {list(value.shape)}, expected uint8 [{size}] "
                            "(a random generator's state)")
    return value


def check_permutation(name: str, value: torch.Tensor | None, n: int, path: Path) -> torch.Tensor:
    """A saved permutation of the n training examples."""
    if value is None:
        raise _refuse(path, f"tensor {name} is missing")
    if value.dtype != torch.int64 or value.dim() != 1 or value.numel() != n:
        raise _refuse(path, f"tensor {name} has {value.dtype} {list(value.shape)}, expected int64 [{n}] "
                            f"(a permutation of the {n} training examples; is it the same data?)")
    if not torch.equal(torch.sort(value).values, torch.arange(n)):
        raise _refuse(path, f"tensor {name} is not a permutation of 0..{n - 1}")
    return value


def check_counter(name: str, value: Any, path: Path, *, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (maximum is not None and value > maximum):
        bound = f" and <= {maximum}" if maximum is not None else ""
        raise _refuse(path, f"{name} = {value!r} is not an integer >= 0{bound}")
    return value


def check_seconds(name: str, value: Any, path: Path) -> float:
    if not _finite_number(value) or value < 0:
        raise _refuse(path, f"{name} = {value!r} is not a finite number of seconds >= 0")
    return float(value)
