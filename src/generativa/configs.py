"""Frozen config dataclasses as plain data: checked, written to YAML/JSON and read back as the same types.

Every model, training and data setting lives in a frozen dataclass. This module is the one place
that turns them into plain values and back:

* ``to_dict(config)``: a JSON/YAML-ready dict; tuples become lists, nested dataclasses dicts.
* ``from_dict(cls, values)``: the same dataclass again, nested dataclasses and tuples rebuilt from
  the type hints; an unknown key is an error that lists the valid ones.
* ``check_config(config)``: every field against its type hint (``int``, ``float``, ``bool``,
  ``str``, ``Literal``, tuples, ``X | None``, nested dataclasses), with an error naming the field,
  the value and what is expected. Floats must be finite.
* ``replace(config, {"unet.width": 64})``: a copy with (possibly dotted) fields replaced.

A config that nests another (a latent model holding its autoencoder's config, a diffusion model
its network's) declares the field with the nested dataclass type; nothing else is needed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal


class ConfigError(ValueError):
    """A setting that does not fit its config; the message names the field and the fix."""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def literal_choices(hint: Any) -> tuple | None:
    """The values a ``Literal`` (or ``Literal | None``) hint allows; None for other hints."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if _is_union(hint):
        out: list = []
        for arg in typing.get_args(hint):
            if arg is type(None):
                out.append(None)
            elif typing.get_origin(arg) is Literal:
                out.extend(typing.get_args(arg))
            else:
                return None
        return tuple(out)
    return None


def _describe(hint: Any) -> str:
    choices = literal_choices(hint)
    if choices is not None:
        return "one of " + ", ".join(repr(c) for c in choices)
    if _is_union(hint):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if dataclasses.is_dataclass(hint):
        return f"a {hint.__name__} mapping"
    return getattr(hint, "__name__", str(hint))


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` describes (after ``from_dict``'s conversions)."""
    if hint is Any:
        return True
    choices = literal_choices(hint)
    if choices is not None:
        return any(value == c and type(value) is type(c) for c in choices) or (
            value is None and None in choices)
    if _is_union(hint):
        return any(_fits(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
    if origin is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return True  # a type this module does not know: left to the class's own checks


def check_config(config: Any) -> None:
    """Check every field of a config dataclass against its type hint (nested ones too)."""
    if not dataclasses.is_dataclass(config):
        return
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        hint = hints.get(f.name, Any)
        if not _fits(value, hint):
            choices = literal_choices(hint)
            example = f" (for example {f.name}={choices[0]})" if choices else ""
            raise ConfigError(f"{type(config).__name__}.{f.name} = {value!r} is not {_describe(hint)}; "
                              f"pass {_describe(hint)}{example}")
        if dataclasses.is_dataclass(value):
            check_config(value)


def check_literals(config: Any) -> None:
    """Check the ``Literal`` fields of a config dataclass; the error lists the valid values."""
    if not dataclasses.is_dataclass(config):
        return
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        choices = literal_choices(hints.get(f.name))
        if choices is None:
            continue
        value = getattr(config, f.name)
        if value not in choices:
            valid = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{type(config).__name__}.{f.name} = {value!r} is not one of {valid}; "
                              f"pass one of those (for example {f.name}={choices[0]})")


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as plain values: tuples -> lists, nested dataclasses -> dicts."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return to_dict(v)
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _convert(value: Any, hint: Any, where: str) -> Any:
    """Plain value -> the type of ``hint`` (lists -> tuples, dicts -> dataclasses, ints -> floats)."""
    if _is_union(hint):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        for a in args:  # a dataclass member of the union takes a dict
            if dataclasses.is_dataclass(a) and isinstance(value, dict):
                return from_dict(a, value, where=where)
        if float in args and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if any(typing.get_origin(a) is tuple for a in args) and isinstance(value, list):
            return _convert(value, next(a for a in args if typing.get_origin(a) is tuple), where)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value, where=where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typing.get_origin(hint) is tuple:
        if isinstance(value, list | tuple):
            args = typing.get_args(hint)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_convert(v, args[0], where) for v in value)
            if len(args) == len(value):
                return tuple(_convert(v, a, where) for v, a in zip(value, args))
            return tuple(value)
        if not isinstance(value, str | dict) and value is not None:
            return (value,)  # a single value where a list is expected
    if isinstance(value, list):
        return tuple(value)
    return value


def from_dict(config_class: type, values: dict[str, Any], *, where: str | None = None) -> Any:
    """Rebuild a (possibly nested) frozen config from plain values; unknown keys are an error."""
    where = where or config_class.__name__
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a mapping of settings, got {type(values).__name__}")
    names = [f.name for f in dataclasses.fields(config_class)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{where} has no setting(s) {', '.join(map(str, unknown))}; valid: {', '.join(sorted(names))}")
    hints = _hints(config_class)
    kwargs = {k: _convert(v, hints.get(k, Any), f"{where}.{k}") for k, v in values.items()}
    try:
        return config_class(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None


def field_names(config: Any) -> list[str]:
    """Every setting of a config, nested ones as dotted paths (``unet.width``)."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out += [f"{f.name}.{n}" for n in field_names(value)]
        else:
            out.append(f.name)
    return out


def has_field(config: Any, path: str) -> bool:
    head, _, rest = path.partition(".")
    names = {f.name for f in dataclasses.fields(config)}
    if head not in names:
        return False
    if not rest:
        return True
    value = getattr(config, head)
    return dataclasses.is_dataclass(value) and has_field(value, rest)


def replace(config: Any, values: dict[str, Any], *, where: str | None = None) -> Any:
    """A copy of ``config`` with (dotted) fields replaced; values are converted as ``from_dict`` does."""
    where = where or type(config).__name__
    hints = _hints(type(config))
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    names = {f.name for f in dataclasses.fields(config)}
    for path, value in values.items():
        head, dot, rest = path.partition(".")
        if head not in names:
            import difflib

            close = difflib.get_close_matches(head, sorted(names), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"{where} has no setting {head!r}{hint} (valid: {', '.join(sorted(names))})")
        if dot:
            if not dataclasses.is_dataclass(getattr(config, head)):
                raise ConfigError(f"{where}.{head} is not a group of settings; write {head}=VALUE")
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = _convert(value, hints.get(head, Any), f"{where}.{head}")
    for head, sub in nested.items():
        direct[head] = replace(getattr(config, head), sub, where=f"{where}.{head}")
    try:
        return dataclasses.replace(config, **direct)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None
