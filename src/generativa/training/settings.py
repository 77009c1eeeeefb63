"""Resolve what a run trains: preset, model config, data spec and training config, with overrides.

Overrides are ``key=value`` pairs. A key is ``model.NAME``, ``train.NAME`` or ``data.NAME``, or a
bare ``NAME`` when exactly one of the three has it; a setting inside a nested group is written with
dots (``model.unet.base_width=64``, or ``unet.base_width=64``). Values are parsed as YAML
scalars/lists (``lr=3e-4``, ``widths=[32,64]``, ``grad_clip=null``) and checked against the field's
type (``generativa.configs``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml

from generativa.configs import ConfigError, field_names, from_dict, has_field, replace, to_dict
from generativa.registry import Preset, default_preset_for, get_model_class, get_preset, preset_names
from generativa.training.config import TrainConfig


class SettingsError(ValueError):
    """A setting that does not fit; the message names it and lists the valid ones."""


@dataclass
class RunSettings:
    model: str
    model_config: Any
    data: str
    data_options: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "preset": self.preset,
            "data": {"spec": self.data, "options": dict(self.data_options)},
            "model_config": to_dict(self.model_config),
            "train": to_dict(self.train),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSettings:
        try:
            model = d["model"]
            if not isinstance(model, str):
                raise SettingsError(f"'model' must be a model name, got {model!r}")
            mc = from_dict(get_model_class(model).config_class, d.get("model_config") or {},
                           where=f"model_config ({model})")
            data = d.get("data") or {}
            if not isinstance(data, dict) or not isinstance(data.get("spec"), str):
                raise SettingsError("'data' must hold a 'spec' (for example data: {spec: digits})")
            options = data.get("options") or {}
            if not isinstance(options, dict):
                raise SettingsError("'data.options' must be a mapping")
            return cls(model=model, model_config=mc, data=data["spec"], data_options=dict(options),
                       train=from_dict(TrainConfig, d.get("train") or {}, where="train"), preset=d.get("preset"))
        except KeyError as e:
            raise SettingsError(f"the config file has no {e.args[0]!r} entry") from None
        except ConfigError as e:
            raise SettingsError(str(e)) from None


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


def _replace(config: Any, values: dict[str, Any], where: str) -> Any:
    try:
        return replace(config, values, where=where)
    except ConfigError as e:
        raise SettingsError(str(e)) from None


def preset_for_shape(model: str, shape: tuple[int, ...]) -> str | None:
    """The first preset of ``model`` built for data of this shape (``dcgan_mnist`` for 1x28x28)."""
    for name in preset_names():
        p = get_preset(name)
        if p.model == model and tuple(p.config.data_shape) == tuple(shape):
            return name
    return None


def resolve(name: str, *, data: str | None = None, overrides: dict[str, Any] | None = None,
            data_options: dict[str, Any] | None = None, data_shape: tuple[int, ...] | None = None) -> RunSettings:
    """A model or preset name plus overrides -> RunSettings (data not loaded yet).

    A model name picks a preset: ``<model>_<data>`` where it exists (``ae_shapes``), else, once the
    data's shape is known (``data_shape``), the model's preset for that shape (``generativa train
    dcgan --data idx:my_digits`` trains like ``dcgan_mnist``), else with no data named the model's
    default preset, else the model's own defaults.
    """
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
        elif data_shape is not None:
            preset_name = preset_for_shape(name, data_shape)
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

    model_fields = set(field_names(model_config))
    train_fields = set(field_names(train))
    m_over, t_over = {}, {}
    for key, value in overrides.items():
        scope, dot, rest = key.partition(".")
        if dot and scope in ("model", "train", "data"):
            {"model": m_over, "train": t_over, "data": options}[scope][rest] = value
            continue
        in_model, in_train = has_field(model_config, key), has_field(train, key)
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
