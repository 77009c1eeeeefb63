"""Registries of models and presets, filled by decorators when the model modules are imported.

    @register_model("ae")
    class Autoencoder(GenerativeModel):
        CAPABILITIES = Capabilities(sample=True, latent="deterministic", reconstruct=True, fit_end=True)

    @register_preset
    def ae_digits() -> Preset:
        return Preset(model="ae", config=AEConfig(...), data="digits", train={"steps": 2000})

``discover()`` imports every module under ``generativa.models`` once, so ``generativa list`` and the
tests see every family without a hand-kept list.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MODELS: dict[str, type] = {}
_PRESETS: dict[str, Callable[[], Preset]] = {}
_discovered = False


@dataclass(frozen=True)
class Preset:
    """A named, tested starting point: a model, its config, the data it is for, training settings.

    data_options are data-spec options (``size``, ``channels``, ...); train holds TrainConfig fields.
    description is the one line ``generativa list presets`` prints.
    """

    model: str
    config: Any
    data: str = "digits"
    data_options: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def register_model(name: str) -> Callable[[type], type]:
    """Register a model class under ``name`` (its declaration was checked when the class was made)."""

    def decorate(cls: type) -> type:
        if name in _MODELS and _MODELS[name] is not cls:
            raise RuntimeError(f"model name {name!r} is registered twice ({_MODELS[name]} and {cls})")
        cls.registry_name = name
        _MODELS[name] = cls
        return cls

    return decorate


def register_preset(fn: Callable[[], Preset]) -> Callable[[], Preset]:
    name = fn.__name__
    if name in _PRESETS and _PRESETS[name] is not fn:
        raise RuntimeError(f"preset {name!r} is registered twice")
    _PRESETS[name] = fn
    return fn


def discover() -> None:
    """Import every module under generativa.models (idempotent)."""
    global _discovered
    if _discovered:
        return
    import generativa.models as models

    for info in pkgutil.walk_packages(models.__path__, prefix="generativa.models."):
        importlib.import_module(info.name)
    _discovered = True


def model_names() -> list[str]:
    discover()
    return sorted(_MODELS)


def preset_names() -> list[str]:
    discover()
    return sorted(_PRESETS)


def _unknown(kind: str, name: str, known: list[str]) -> KeyError:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return KeyError(
        f"unknown {kind} {name!r}{hint} (`generativa list {kind}s` shows all {len(known)})"
    )


def get_model_class(name: str) -> type:
    discover()
    if name not in _MODELS:
        raise _unknown("model", name, sorted(_MODELS))
    return _MODELS[name]


def get_preset(name: str) -> Preset:
    discover()
    if name not in _PRESETS:
        raise _unknown("preset", name, sorted(_PRESETS))
    return _PRESETS[name]()


def default_preset_for(model: str) -> str | None:
    """The preset a bare ``generativa train MODEL`` uses: ``<model>_digits`` where it exists,
    else the first preset of that model."""
    discover()
    if f"{model}_digits" in _PRESETS:
        return f"{model}_digits"
    for name in sorted(_PRESETS):
        if _PRESETS[name]().model == model:
            return name
    return None


def build_model(name: str, config: Any = None, **overrides: Any):
    """Build a registered model from its config (or the config class's defaults plus overrides)."""
    from generativa.configs import replace

    cls = get_model_class(name)
    if config is None:
        config = cls.config_class()
    if overrides:
        config = replace(config, overrides)
    return cls(config)
