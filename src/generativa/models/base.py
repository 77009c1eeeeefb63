"""The contract every generativa model keeps.

Images cross every public boundary as float tensors (B, C, H, W) in [0, 1]; vector data (toy1d,
toy2d) as float tensors (B, D). A model maps them to its own space inside.

Two kinds of model:

* ``GenerativeModel``: one objective. ``loss(batch) -> LossOutput``.
* ``AdversarialModel``: several players (a GAN's discriminator and generator). ``players()``
  lists them, each with its parameters, its own loss and how many optimiser steps it takes per
  round. The trainer steps them in order.

Optional capabilities (the CLI, report and explorer look for them with ``has_capability``):
``encode``/``decode`` (latent models), ``log_prob`` (nats per example; bounds say so through
``log_prob_is_bound``), ``reconstruct``, and a condition keyword (``labels=``) for conditional models.
Models never step an optimiser, log, checkpoint or build a data loader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn


@dataclass
class Batch:
    """One batch as the trainer hands it to a model.

    x: (B, C, H, W) float in [0, 1] for images, (B, D) float for vector data.
    labels: (B,) int64 class labels where the dataset has them.
    factors: (B, K) generative factors where the dataset has them (``shapes``).
    """

    x: Tensor
    labels: Tensor | None = None
    factors: Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.x), move(self.labels), move(self.factors))

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class LossOutput:
    """The scalar to minimise and named terms to log (already detached or not: the trainer detaches)."""

    loss: Tensor
    terms: dict[str, Tensor | float] = field(default_factory=dict)


@dataclass
class Player:
    """One player of an adversarial game.

    parameters: what this player's optimiser updates.
    loss: maps a batch to the player's LossOutput.
    steps: optimiser steps of this player per round (WGAN's n_critic = 5 for the critic).
    optimizer, lr, betas: the player's own settings; ``None`` takes the training config's.
    after_step: called after each of this player's optimiser steps (WGAN's weight clipping).
    """

    name: str
    parameters: list[nn.Parameter]
    loss: Callable[[Batch], LossOutput]
    steps: int = 1
    optimizer: Literal["adamw", "adam", "rmsprop"] | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    after_step: Callable[[], None] | None = None


@dataclass(frozen=True)
class ModelConfig:
    """Fields every model config has. ``data_shape`` and ``num_classes`` are filled from the data
    by ``generativa.train``; a model checks the images it is given against them."""

    data_shape: tuple[int, ...] = (1, 8, 8)
    num_classes: int = 0


class GenerativeModel(nn.Module):
    """Base of every registered model. Subclasses set ``config_class`` and are built from one config."""

    config_class: ClassVar[type] = ModelConfig
    registry_name: ClassVar[str] = ""  # set by the registry decorator
    log_prob_is_bound: ClassVar[bool] = False  # True for VAEs and diffusion: log_prob is a lower bound
    adversarial: ClassVar[bool] = False

    def __init__(self, config: Any):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} is built from a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        check_literals(config)
        self.config = config

    # -- the contract -------------------------------------------------------------------------
    def loss(self, batch: Batch) -> LossOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, **condition: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} cannot sample")

    # -- helpers shared by every model --------------------------------------------------------
    @property
    def data_shape(self) -> tuple[int, ...]:
        return tuple(self.config.data_shape)

    @property
    def is_image_model(self) -> bool:
        return len(self.data_shape) == 3

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError that says what to do when ``x`` does not fit this model."""
        expected = self.data_shape
        if x.dim() != len(expected) + 1 or tuple(x.shape[1:]) != expected:
            got = tuple(x.shape[1:]) if x.dim() > 1 else tuple(x.shape)
            hint = ""
            if len(expected) == 3 and x.dim() == 4:
                if x.shape[1] != expected[0]:
                    hint = (
                        f"; the input has {x.shape[1]} channel(s) but the model was built for "
                        f"{expected[0]}: convert the images (grey/RGB) or train with channels={x.shape[1]}"
                    )
                else:
                    hint = (
                        f"; resize the images to {expected[1]}x{expected[2]} "
                        f"(data.size={expected[1]}) or train a model at this size"
                    )
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape (B, {', '.join(map(str, expected))}), "
                f"got (B, {', '.join(map(str, got))}){hint}"
            )

    def has_capability(self, name: str) -> bool:
        """True where this model implements ``name`` (``encode``, ``decode``, ``log_prob``, ...)."""
        method = getattr(type(self), name, None)
        if method is None:
            return False
        base = getattr(GenerativeModel, name, None)
        return method is not base

    @property
    def is_conditional(self) -> bool:
        return getattr(self.config, "num_classes", 0) > 0 and getattr(self, "conditional", False)


class AdversarialModel(GenerativeModel):
    """A model with several players. ``loss`` is not used by the trainer; ``players`` is."""

    adversarial: ClassVar[bool] = True

    def players(self) -> list[Player]:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, batch: Batch) -> LossOutput:
        """Every player's loss at once, for evaluation only (no optimiser step uses it)."""
        terms: dict[str, Tensor | float] = {}
        total = None
        for player in self.players():
            out = player.loss(batch)
            terms[f"{player.name}_loss"] = out.loss.detach()
            terms.update({f"{player.name}/{k}": v for k, v in out.terms.items()})
            total = out.loss.detach() if total is None else total + out.loss.detach()
        return LossOutput(loss=total, terms=terms)


def check_literals(config: Any) -> None:
    """Check every ``Literal`` field of a config dataclass; the error lists the valid values."""
    import typing

    if not dataclasses.is_dataclass(config):
        return
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        hint = hints.get(f.name)
        choices = _literal_choices(hint)
        if choices is None:
            continue
        value = getattr(config, f.name)
        if value not in choices:
            valid = ", ".join(repr(c) for c in choices)
            raise ValueError(
                f"{type(config).__name__}.{f.name} = {value!r} is not one of {valid}; "
                f"pass one of those (for example {f.name}={choices[0]})"
            )


def _literal_choices(hint: Any) -> tuple | None:
    import typing

    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
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


def trainable(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    """The parameters of several modules, each once, in order."""
    seen: set[int] = set()
    out = []
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                out.append(p)
    return out
