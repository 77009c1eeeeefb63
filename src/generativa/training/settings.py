"""Resolve what a run trains: preset, model config, data spec and training config, with overrides.

Overrides are ``key=value`` pairs. A key is ``model.NAME``, ``train.NAME`` or ``data.NAME``, or a
bare ``NAME`` when exactly one of the three has it. Values are parsed as YAML scalars/lists
(``lr=3e-4``, ``widths=[32,64]``, ``grad_clip=null``) and checked against the field's type.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from generativa.registry import Preset, default_preset_for, get_model_class, get_preset, preset_names
from generativa.training.config import TrainConfig


class SettingsError(ValueError):
    pass


@dataclass
class RunSettings:
    model: str
    model_config: Any
    data: str
    data_options: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        from generativa.training.checkpoint import config_to_dict

        return {
            "model": self.model,
            "preset": self.preset,
            "data": {"spec": self.data, "options": dict(self.data_options)},
            "model_config": config_to_dict(self.model_config),
            "train": config_to_dict(self.train),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSettings:
        from generativa.training.checkpoint import config_from_dict

        try:
            model = d["model"]
            mc = config_from_dict(get_model_class(model).config_class, d.get("model_config") or {})
            data = d.get("data") or {}
            return cls(model=model, model_config=mc, data=data["spec"],
                       data_options=dict(data.get("options") or {}),
                       train=config_from_dict(TrainConfig, d.get("train") or {}), preset=d.get("preset"))
        except KeyError as e:
            raise SettingsError(f"the config file has no {e.args[0]!r} entry") from None


def parse_value(text: str) -> Any:
    for number in (int, float):  # YAML 1.1 reads 3e-4 as a string; a number is meant
        try:
            return number(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"override {pair!r} is not key=value (for example lr=3e-4 or model.latent_dim=8)")
        out[key.strip()] = parse_value(value.strip())
    return out


def _coerce(config_class: type, name: str, value: Any) -> Any:
    hint = typing.get_type_hints(config_class).get(name)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(value, list):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and float in args \
            and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and not isinstance(value, tuple):
        return (value,)
    return value


def _replace(config: Any, values: dict[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(config)}
    for k in values:
        if k not in names:
            close = difflib.get_close_matches(k, sorted(names), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SettingsError(f"{where} has no setting {k!r}{hint} (valid: {', '.join(sorted(names))})")
    try:
        return dataclasses.replace(config, **{k: _coerce(type(config), k, v) for k, v in values.items()})
    except TypeError as e:
        raise SettingsError(f"{where}: {e}") from None


def resolve(name: str, *, data: str | None = None, overrides: dict[str, Any] | None = None,
            data_options: dict[str, Any] | None = None) -> RunSettings:
    """A model or preset name plus overrides -> RunSettings (data not loaded yet)."""
    overrides = dict(overrides or {})
    preset_name: str | None = None
    if name in preset_names():
        preset_name = name
    else:
        model_cls = get_model_class(name)  # raises with suggestions when unknown
        data_name = (data or "digits").split(":")[0]
        if f"{name}_{data_name}" in preset_names():
            preset_name = f"{name}_{data_name}"
        elif data is None:
            preset_name = default_preset_for(name)
    if preset_name is not None:
        preset: Preset = get_preset(preset_name)
        model = preset.model
        model_config = preset.config
        spec = data or preset.data
        options = dict(preset.data_options) if spec == preset.data else {}
        train = _replace(TrainConfig(), dict(preset.train), f"preset {preset_name} train")
    else:
        model = name
        model_config = model_cls.config_class()
        spec = data or "digits"
        options = {}
        train = TrainConfig()
    options.update(data_options or {})

    model_fields = {f.name for f in dataclasses.fields(model_config)}
    train_fields = {f.name for f in dataclasses.fields(train)}
    m_over, t_over = {}, {}
    for key, value in overrides.items():
        scope, dot, rest = key.partition(".")
        if dot and scope in ("model", "train", "data"):
            {"model": m_over, "train": t_over, "data": options}[scope][rest] = value
            continue
        in_model, in_train = key in model_fields, key in train_fields
        if in_model and in_train:
            raise SettingsError(f"{key!r} is both a model and a training setting; write model.{key} or train.{key}")
        if in_model:
            m_over[key] = value
        elif in_train:
            t_over[key] = value
        else:
            known = sorted(model_fields | train_fields)
            close = difflib.get_close_matches(key, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SettingsError(
                f"unknown setting {key!r}{hint}. Model settings: {', '.join(sorted(model_fields))}. "
                f"Training settings: {', '.join(sorted(train_fields))}. Data options: data.NAME=VALUE"
            )
    model_config = _replace(model_config, m_over, f"model {model!r}")
    train = _replace(train, t_over, "training")
    return RunSettings(model, model_config, spec, options, train, preset_name)
