"""The contract every generativa model keeps, and the declaration of what each one can do.

Images cross every public boundary as float tensors (B, C, H, W) in [0, 1]; vector data (toy1d,
toy2d) as float tensors (B, D). A model maps them to its own space inside.

Every registered model is a ``Model``: an ``nn.Module`` built from one frozen config dataclass, with
``loss(batch) -> LossOutput`` and a ``capabilities`` declaration (``Capabilities``): whether it
samples, encodes and decodes, reconstructs, gives a log-likelihood (exact or a bound) or predicts;
the conditions its methods take (labels, a second domain, a mask, text); the options its ``sample``
takes (temperature, truncation, ...); the training hooks it uses. The trainer, the command line,
the report, the evaluation protocol and the explorer read that declaration and nothing else: no
``hasattr`` probes, no ``isinstance`` checks, no registry-name tests. A verb the model does not
declare is refused with a ``CapabilityError`` that says what the model can do instead.

Three kinds of model:

* ``GenerativeModel``: one objective, ``loss(batch)``; the trainer steps one optimiser.
* ``AdversarialModel``: several players (a GAN's discriminator and generator). ``players()`` lists
  them, each with its parameter groups, its own loss, how many optimiser steps it takes per round
  and whether the EMA averages it. The trainer steps them in order.
* Classifiers and segmenters (``models/vision``) are ``Model`` s of kind ``classifier`` /
  ``segmenter``: they train with the same trainer and predict; they do not sample.

Training hooks (each a method here, called by the trainer where the declaration says so):
``on_step(step)`` before every round (a model may change with training progress, as a pure function
of the step, so resume reproduces it); ``data_init(batch)`` once, on the first global batch of a
fresh run (never on resume or load); ``on_fit_end(train_images)`` after training (statistics of the
training data, e.g. an autoencoder's code moments); ``param_groups()`` (groups with their own
learning-rate scale); ``frozen_modules()`` (pretrained parts kept in eval mode, outside optimisers
and EMA, saved by value in ``model.safetensors``); ``generators()`` (every random stream the model
owns, saved with the checkpoint). Models never step an optimiser, log, checkpoint or build a loader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from generativa.configs import ConfigError, check_config, check_literals, literal_choices

__all__ = [
    "AdversarialModel", "Batch", "Capabilities", "CapabilityError", "Condition", "GenerativeModel",
    "LossOutput", "Model", "ModelConfig", "ParamGroup", "Player", "RunInput", "SampleOption", "check_literals",
    "literal_choices", "run_inputs", "trainable",
]

Kind = Literal["generative", "classifier", "segmenter"]
Verb = Literal["sample", "encode", "decode", "reconstruct", "log_prob", "predict", "translate"]
VERBS: tuple[str, ...] = ("sample", "encode", "decode", "reconstruct", "log_prob", "predict", "translate")
ConditionName = Literal["labels", "domain", "mask", "text"]


class CapabilityError(NotImplementedError):
    """A model was asked for something it does not declare; the message lists what it can do."""


# -- the declaration ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """A keyword a model's methods accept to condition on (``labels=``, ``domain=``, ``mask=``, ``text=``).

    required: encode, reconstruct and log_prob need it (a conditional VAE's encoder sees the label);
    ``sample`` never requires one: without it the model draws a balanced spread (every class in turn).
    """

    name: ConditionName
    help: str
    required: bool = False


@dataclass(frozen=True)
class SampleOption:
    """One keyword option of ``model.sample`` (and of ``generativa sample RUN --NAME VALUE``)."""

    name: str
    kind: Literal["int", "float", "str"]
    default: Any
    help: str
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, value: Any, owner: str = "the model") -> Any:
        """A value from the command line or Python, converted and checked; the error says what is valid."""
        where = f"{owner}'s sampling option {self.name}"
        try:
            if self.kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                value = int(float(value)) if isinstance(value, str) else int(value)
            elif self.kind == "float":
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError
            else:
                value = str(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} = {value!r} is not a valid {self.kind} ({self.help})") from None
        if self.choices and value not in self.choices:
            raise ValueError(f"{where} = {value!r}; choose one of {', '.join(map(str, self.choices))}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{where} = {value!r} is outside [{self.minimum}, {self.maximum}] ({self.help})")
        return value

    def usage(self) -> str:
        allowed = f", one of {', '.join(map(str, self.choices))}" if self.choices else ""
        return f"--{self.name.replace('_', '-')} {self.kind.upper()} (default {self.default}{allowed}): {self.help}"


@dataclass(frozen=True)
class Capabilities:
    """What a model can do, as data. Every consumer reads this; nothing probes the model.

    kind: generative, classifier (predict labels) or segmenter (predict masks).
    sample: ``sample(n, *, generator=None, **conditions, **sample_options)``.
    latent: ``encode(x) -> z`` and ``decode(z) -> x`` exist: ``deterministic`` codes (autoencoders),
        ``gaussian`` posteriors q(z|x) = N(mu, sigma^2) (VAEs; also ``kl_per_dimension(x)`` and
        ``log_prob(x, k=...)`` with k importance samples), ``discrete`` codes (vector quantisers),
        ``invertible`` (flows: encode is the exact inverse map, a code per example of the data's
        size); ``none`` where there is no latent space.
    reconstruct: ``reconstruct(x) -> x_hat``.
    log_prob: ``log_prob(x) -> (B,)`` nats per example, ``exact`` or a lower ``bound``;
        ``likelihood_convention`` says what the nats are (dequantisation, decoder) next to every number.
    predict: ``predict(x)`` (classes or masks), ``logits(x)`` and, for classifiers, ``features(x)``.
    translate: ``translate(x, domain=...)`` maps images of one domain to the other (unpaired translation).
    conditions: the keywords the verbs take (``labels=`` ...).
    sample_options: the keyword options ``sample`` takes besides ``generator`` and the conditions.
    traits: what the family adds, each a documented set of attributes the report and explorer use:
        ``critic`` (adversarial: ``critic(x, labels)`` and ``config.loss``), ``training_corruption``
        (``corruption``: the noise a denoising model learns to remove), ``sparse_code``
        (``code_activation`` and ``config.sparsity``), ``encoder_jacobian`` (``jacobian`` and
        ``config.contraction_weight``), ``flow_layers`` (``trajectory(z)``: a base sample pushed
        through the layers one at a time, for vector flows), ``denoising_process`` (diffusion:
        ``process``, ``denoise(x_t, t)``, ``forward_process(x, times)`` and ``trajectory(n)``, the
        state and the estimate of x_0 at each step of a sampler), ``completion`` (autoregressive models:
        ``complete(x, mask, generator=None, **conditions)`` samples the values where ``mask`` is True
        given the others, in the model's order; ``log_prob_map(x)``, the log-probability of every value).
    fit_end: the trainer calls ``on_fit_end(train_images)`` after training (and before periodic grids).
    data_init: the trainer calls ``data_init(batch)`` on the first global batch of a fresh run.
    domains: 2 where the model trains on a dataset with a second, unpaired image domain
        (``DataSplits.domain_b``, the batch's ``x_b``); the trainer refuses data without one.
    """

    kind: Kind = "generative"
    sample: bool = False
    latent: Literal["none", "deterministic", "gaussian", "discrete", "invertible"] = "none"
    reconstruct: bool = False
    log_prob: Literal["none", "exact", "bound"] = "none"
    predict: bool = False
    translate: bool = False
    conditions: tuple[Condition, ...] = ()
    sample_options: tuple[SampleOption, ...] = ()
    likelihood_convention: str = ""
    traits: frozenset[str] = frozenset()
    fit_end: bool = False
    data_init: bool = False
    domains: Literal[1, 2] = 1

    def can(self, verb: str) -> bool:
        """Whether ``verb`` (sample, encode, decode, reconstruct, log_prob, predict) is declared."""
        if verb not in VERBS:
            raise ValueError(f"unknown capability {verb!r}; one of {', '.join(VERBS)}")
        if verb in ("encode", "decode"):
            return self.latent != "none"
        if verb == "log_prob":
            return self.log_prob != "none"
        return bool(getattr(self, verb))

    def verbs(self) -> tuple[str, ...]:
        return tuple(v for v in VERBS if self.can(v))

    def accepts(self, condition: str) -> bool:
        return any(c.name == condition for c in self.conditions)

    def requires(self, condition: str) -> bool:
        return any(c.name == condition and c.required for c in self.conditions)

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def option(self, name: str) -> SampleOption | None:
        return next((o for o in self.sample_options if o.name == name), None)

    def describe(self) -> str:
        """One line: ``sample, encode, decode, reconstruct, log_prob (bound); conditions: labels``."""
        parts = [f"{v} ({self.log_prob})" if v == "log_prob" else v for v in self.verbs()] or ["none"]
        text = ", ".join(parts)
        if self.conditions:
            text += "; conditions: " + ", ".join(c.name for c in self.conditions)
        if self.sample_options:
            text += "; sampling options: " + ", ".join(o.name for o in self.sample_options)
        return text

    def check_sample_options(self, options: dict[str, Any], owner: str = "the model") -> dict[str, Any]:
        """Parse ``{name: value}`` against the declared options; an unknown one is refused with the list."""
        out = {}
        for name, value in options.items():
            opt = self.option(name)
            if opt is None:
                known = "; ".join(o.usage() for o in self.sample_options)
                raise ValueError(
                    f"{owner} takes no sampling option --{name.replace('_', '-')}; "
                    + (f"it takes: {known}" if known else "it takes no sampling options")
                )
            out[name] = opt.parse(value, owner)
        return out


TEMPERATURE = SampleOption("temperature", "float", 1.0, "scale of the prior noise; below 1 trades diversity "
                           "for typical samples", minimum=0.0, maximum=10.0)
LABELS = Condition("labels", "class indices (B,) or one class for all")


# -- what the trainer hands a model, and what a model hands back ------------------------------------------
@dataclass
class Batch:
    """One batch as the trainer hands it to a model.

    x: (B, C, H, W) float in [0, 1] for images, (B, D) float for vector data.
    labels: (B,) int64 class labels where the dataset has them.
    factors: (B, K) generative factors where the dataset has them (``shapes``, ``faces``).
    mask: (B, 1, H, W) uint8 per-image masks where the dataset has them (segmentation).
    x_b, labels_b: a batch of the second, unpaired domain where the dataset has one (translation).
    """

    x: Tensor
    labels: Tensor | None = None
    factors: Tensor | None = None
    mask: Tensor | None = None
    x_b: Tensor | None = None
    labels_b: Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(*(move(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class LossOutput:
    """The scalar to minimise and named terms to log (the trainer detaches them)."""

    loss: Tensor
    terms: dict[str, Tensor | float] = field(default_factory=dict)


@dataclass
class ParamGroup:
    """Parameters that share an optimiser setting: ``lr_scale`` multiplies the player's learning rate
    (a mapping network at 0.01, as in StyleGAN); ``weight_decay`` None takes the training config's."""

    params: list[nn.Parameter]
    lr_scale: float = 1.0
    weight_decay: float | None = None
    name: str = ""


@dataclass
class Player:
    """One player of the training game (a single-objective model is one player, "model").

    parameters: what this player's optimiser updates, as parameters or ``ParamGroup`` s.
    loss: maps a batch to the player's LossOutput.
    steps: optimiser steps of this player per round (WGAN's n_critic = 5 for the critic).
    optimizer, lr, betas: the player's own settings; ``None`` takes the training config's.
    after_step: called after each of this player's optimiser steps (WGAN's weight clipping).
    ema: whether the EMA averages this player's parameters (a GAN's generator, not its critic).
    """

    name: str
    parameters: list[nn.Parameter] | list[ParamGroup]
    loss: Callable[[Batch], LossOutput]
    steps: int = 1
    optimizer: Literal["adamw", "adam", "rmsprop", "sgd"] | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    after_step: Callable[[], None] | None = None
    ema: bool = True

    @property
    def groups(self) -> list[ParamGroup]:
        if all(isinstance(p, ParamGroup) for p in self.parameters):
            return list(self.parameters)  # type: ignore[arg-type]
        return [ParamGroup(list(self.parameters))]  # type: ignore[arg-type]

    @property
    def params(self) -> list[nn.Parameter]:
        return [p for g in self.groups for p in g.params]


@dataclass(frozen=True)
class ModelConfig:
    """Fields every model config has. ``data_shape`` and ``num_classes`` are filled from the data
    by ``generativa.train``; a model checks the images it is given against them.

    Every integer setting (and every integer in a list setting) of a model config is >= 0 and every
    float is finite; ``check_config`` refuses other values before anything is built."""

    data_shape: tuple[int, ...] = (1, 8, 8)
    num_classes: int = 0

    def __post_init__(self) -> None:
        check_config(self)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if any(isinstance(v, int) and not isinstance(v, bool) and v < 0 for v in values):
                raise ConfigError(f"{type(self).__name__}.{f.name} = {value!r}: sizes and counts must be >= 0")
        if not self.data_shape or any(s < 1 for s in self.data_shape):
            raise ConfigError(f"{type(self).__name__}.data_shape = {self.data_shape!r}: every size must be >= 1")


@dataclass(frozen=True)
class RunInput:
    """A trained run a model builds on and keeps frozen (the autoencoder of a latent diffusion model).

    ``path`` is the run folder the weights come from; ``model`` and ``config`` are the run's model name
    and config, copied from it when training starts, so that the new run (whose own weights include
    the frozen part) rebuilds it without the old folder. With no ``path``, ``generativa train`` first
    trains ``preset`` on the same data into ``<run>/<field name>``.
    """

    path: str = ""
    model: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    preset: str = ""


def build_run_input(spec: RunInput, data_shape: tuple[int, ...], *, field_name: str, role: str,
                    needed_by: str) -> Model:
    """The model a ``RunInput`` names, built from its recorded name and config for images of
    ``data_shape`` (its weights are loaded with the new model's). ``field_name`` is the config field
    (``autoencoder``), ``role`` what the run serves as (``an ae or vae run``), for the errors."""
    if not spec.model:
        raise ValueError(f"{needed_by} needs {role}: set model.{field_name}.path=RUN (a trained run on the same data)")
    from generativa.configs import from_dict
    from generativa.registry import get_model_class

    cls = get_model_class(spec.model)
    config = dict(spec.config)
    if config.get("data_shape") not in (None, list(data_shape), tuple(data_shape)):
        raise ValueError(f"the run {spec.path or spec.model} was trained on images of shape "
                         f"{tuple(config['data_shape'])}, this data has {tuple(data_shape)}; train one on this data")
    config["data_shape"] = tuple(data_shape)
    return cls(from_dict(cls.config_class, config, where=f"model.{field_name}.config"))


def run_inputs(config: Any) -> dict[str, RunInput]:
    """The fields of a model config that name a run it builds on, by field name."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if isinstance(getattr(config, f.name), RunInput)}


def check_declaration(cls: type) -> None:
    """A class's declaration must match its methods: a declared verb is implemented, an undeclared one
    is not. Called when a model is registered, so a model cannot claim what it does not do."""
    caps: Capabilities = cls.CAPABILITIES
    for verb in VERBS:
        implemented = getattr(cls, verb) is not getattr(Model, verb)
        if caps.can(verb) and not implemented:
            raise TypeError(f"{cls.__name__} declares {verb} but does not implement it")
        if implemented and not caps.can(verb):
            raise TypeError(f"{cls.__name__} implements {verb} but does not declare it in CAPABILITIES")
    if caps.data_init and cls.data_init is Model.data_init:
        raise TypeError(f"{cls.__name__} declares data_init but does not implement it")
    if caps.fit_end and cls.on_fit_end is Model.on_fit_end:
        raise TypeError(f"{cls.__name__} declares fit_end but does not implement on_fit_end")


# -- the base classes ----------------------------------------------------------------------------------
class Model(nn.Module):
    """Base of every registered model. Subclasses set ``config_class`` and ``CAPABILITIES`` and are
    built from one config. The verbs below refuse unless the model declares them."""

    config_class: ClassVar[type] = ModelConfig
    registry_name: ClassVar[str] = ""  # set by the registry decorator
    CAPABILITIES: ClassVar[Capabilities] = Capabilities()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_declaration(cls)  # a model cannot claim what it does not do, nor hide what it does

    def __init__(self, config: Any):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} is built from a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        check_literals(config)
        self.config = config
        self.run_info: dict[str, Any] = {}  # model.json of the run it was loaded from (generativa.load)

    # -- the declaration ------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        """What this model can do (the class's declaration, adjusted to this config by ``declare``)."""
        return self.declare(type(self).CAPABILITIES)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        """Adjust the class's declaration to this instance's config (a GAN with labels takes them)."""
        return capabilities

    @property
    def name(self) -> str:
        return self.registry_name or type(self).__name__

    def refuse(self, verb: str) -> CapabilityError:
        caps = self.capabilities
        can = ", ".join(caps.verbs()) or "none of the verbs"
        hint = {
            "sample": "train a generative model (an autoencoder, VAE or GAN) to draw samples",
            "encode": "use a model with a latent space (an autoencoder or a VAE)",
            "decode": "use a model with a latent space (an autoencoder or a VAE)",
            "reconstruct": "use an autoencoder or a VAE",
            "log_prob": "use a model with a likelihood (a VAE gives a bound)",
            "predict": "use a classifier run (lenet5, resnet, ...)",
            "translate": "train a translation model (cyclegan) on two image domains",
        }.get(verb, "")
        return CapabilityError(f"{self.name} cannot {verb}: it declares {can}; {hint}")

    # -- the contract ---------------------------------------------------------------------------
    def loss(self, batch: Batch) -> LossOutput:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define loss()")

    def sample(self, n: int, *, generator: torch.Generator | None = None, **options: Any) -> Tensor:
        raise self.refuse("sample")

    def encode(self, x: Tensor, **condition: Any) -> Tensor:
        raise self.refuse("encode")

    def decode(self, z: Tensor, **condition: Any) -> Tensor:
        raise self.refuse("decode")

    def reconstruct(self, x: Tensor, **condition: Any) -> Tensor:
        raise self.refuse("reconstruct")

    def log_prob(self, x: Tensor, **condition: Any) -> Tensor:
        raise self.refuse("log_prob")

    def predict(self, x: Tensor) -> Tensor:
        raise self.refuse("predict")

    def translate(self, x: Tensor, **condition: Any) -> Tensor:
        raise self.refuse("translate")

    def has_capability(self, verb: str) -> bool:
        """Shorthand for ``model.capabilities.can(verb)``."""
        return self.capabilities.can(verb)

    # -- conditions -----------------------------------------------------------------------------
    def condition(self, *, labels: Tensor | None = None, mask: Tensor | None = None,
                  domain: Tensor | None = None, text: Any = None) -> dict[str, Any]:
        """The keywords of the declared conditions from what is at hand (the rest is dropped)."""
        given = {"labels": labels, "mask": mask, "domain": domain, "text": text}
        out = {}
        for c in self.capabilities.conditions:
            value = given[c.name]
            if value is None and c.required:
                raise ValueError(f"{self.name} needs {c.name}= ({c.help})")
            if value is not None:
                out[c.name] = value.to(self.device) if isinstance(value, Tensor) else value
        return out

    def check_condition(self, given: dict[str, Any]) -> None:
        """Refuse condition keywords this model does not declare (a labels= to an unconditional model)."""
        caps = self.capabilities
        for name in given:
            if not caps.accepts(name):
                takes = ", ".join(f"{c.name}=" for c in caps.conditions) or "no conditions"
                raise ValueError(f"{self.name} takes no {name}= (it takes {takes}); "
                                 + ("train a conditional model for that" if name == "labels" else "drop it"))

    def default_condition(self, n: int) -> dict[str, Any]:
        """Conditions for a grid of n samples: classes 0, 1, ..., K-1 in turn where labels are taken."""
        if self.capabilities.accepts("labels") and self.config.num_classes > 0:
            return {"labels": torch.arange(n, device=self.device) % self.config.num_classes}
        return {}

    # -- training hooks -------------------------------------------------------------------------
    def on_step(self, step: int) -> None:
        """Called by the trainer before every round with the number of rounds done (0-based)."""

    def data_init(self, batch: Batch) -> None:
        """Data-dependent initialisation from the first global batch (declare ``data_init=True``)."""
        raise self.refuse("data_init")

    def on_fit_end(self, train_images: Tensor) -> None:
        """Statistics of the training data after training (declare ``fit_end=True``)."""

    def adopt_run(self, name: str, trained: Model) -> None:
        """Take the weights of the run named by the config's RunInput field ``name`` (``run_inputs``)
        into the sub-module built from it, which has the same name."""
        module = getattr(self, name, None)
        if not isinstance(module, nn.Module):
            raise TypeError(f"{type(self).__name__} has no sub-module {name!r} for its run input")
        module.load_state_dict(trained.state_dict())

    def frozen_modules(self) -> dict[str, nn.Module]:
        """Sub-modules that are not trained (a pretrained autoencoder inside a latent model)."""
        return {}

    def generators(self) -> dict[str, torch.Generator]:
        """Every random stream the model owns besides torch's global one, by name (saved with checkpoints)."""
        return {}

    def param_groups(self) -> list[ParamGroup]:
        """The trainable parameters of a single-objective model, in groups (default: one group)."""
        return [ParamGroup(trainable([self], exclude=self.frozen_modules().values()))]

    def players(self) -> list[Player]:
        """What the trainer steps: one player, "model", minimising ``loss`` over ``param_groups``."""
        return [Player("model", self.param_groups(), self.loss)]

    def train(self, mode: bool = True) -> Model:
        super().train(mode)
        for module in self.frozen_modules().values():
            module.eval()  # frozen parts stay in eval mode (batch norm statistics, dropout)
        return self

    # -- helpers shared by every model ----------------------------------------------------------
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


class GenerativeModel(Model):
    """A model of the data: one objective, ``loss(batch)``; declares what it can sample and infer."""

    CAPABILITIES: ClassVar[Capabilities] = Capabilities(kind="generative")


class AdversarialModel(GenerativeModel):
    """A model with several players. ``loss`` is not used by the trainer; ``players`` is."""

    def players(self) -> list[Player]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not list its players")

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


def trainable(modules: Iterable[nn.Module], exclude: Iterable[nn.Module] = ()) -> list[nn.Parameter]:
    """The parameters of several modules that require gradients, each once, in order, leaving out
    those of the ``exclude`` modules (frozen parts)."""
    skip = {id(p) for m in exclude for p in m.parameters()}
    seen: set[int] = set()
    out = []
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen and id(p) not in skip and p.requires_grad:
                seen.add(id(p))
                out.append(p)
    return out
