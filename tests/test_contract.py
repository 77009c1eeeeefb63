"""The contract, for every registered model (a model added later is tested without a line here).

Each model is built from its default config (data shape and classes filled as the trainer would)
and must: train a few rounds through the trainer, and resume from a checkpoint bit for bit (every
weight, EMA, optimiser tensor and random stream equal to an uninterrupted run); load back from the
run folder through safetensors with the same weights; sample (or predict) the same output twice from
the same generator; answer every verb it declares, with the conditions it declares; refuse every verb
it does not declare with a CapabilityError that names it; and take exactly the sampling options it
declares.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch
from helpers import committed

from generativa import registry
from generativa.data.base import ArrayData, DataSplits
from generativa.models.base import VERBS, CapabilityError, ConditionName
from generativa.training.checkpoint import load, read_safetensors
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

MODELS = registry.model_names()
CONDITIONS = ConditionName.__args__


def _data(config, domains: int = 1, masks: bool = False) -> DataSplits:
    """Random uint8 images (or float vectors) of the config's shape, with labels 0..K-1; with
    ``domains=2`` (a translation model) a second, unpaired domain of the same shape; for a segmenter
    (``masks``) a mask per image: blocks of 4x4 pixels with instance ids 0..5."""
    g = torch.Generator().manual_seed(0)
    k = max(config.num_classes, 2)
    shape = tuple(config.data_shape)

    def split(n):
        m = None
        if len(shape) == 3:
            x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
            if masks:
                _, h, w = shape
                blocks = torch.randint(0, 6, (n, 1, -(-h // 4), -(-w // 4)), generator=g, dtype=torch.uint8)
                m = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)[..., :h, :w].contiguous()
        else:
            x = torch.randn(n, *shape, generator=g)
        return ArrayData("contract", x, torch.arange(n) % k, class_names=tuple(str(i) for i in range(k)), masks=m)

    second = DataSplits(split(40), split(16), "contract_b") if domains == 2 else None
    return DataSplits(split(48), split(16), "contract", domain_b=second)


def _segmenter(cls) -> bool:
    return cls.CAPABILITIES.kind == "segmenter"


def _model(name: str):
    cls = registry.get_model_class(name)
    config = cls.config_class()
    config = dataclasses.replace(config, num_classes=config.num_classes)  # as the trainer fills it
    torch.manual_seed(0)
    return cls(config)


def run_interrupted(build, data, config, folder, stop_at: int) -> Trainer:
    """Train to ``stop_at`` rounds, save as an interruption does (no end-of-training work), then resume
    in a new trainer with a new model to ``config.steps``."""
    torch.manual_seed(0)
    first = Trainer(build(), data, config, folder)
    first.fit(steps=stop_at, finish=False)
    first.save()
    torch.manual_seed(0)
    trainer = Trainer(build(), data, config, folder)
    trainer.load_state(folder)
    trainer.fit()
    return trainer


def _config(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 3, "batch_size": 8, "lr": 1e-3, "ema_decay": 0.9, "progress": False,
                          "log_every": 1, "sample_every": 2, "checkpoint_every": 0, "seed": 3, **kw})


def assert_same_checkpoints(a, b, what: str) -> None:
    for fname in ("model.safetensors", "state.safetensors"):
        ta, tb = read_safetensors(committed(a) / fname), read_safetensors(committed(b) / fname)
        assert ta.keys() == tb.keys(), fname
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{what}: {fname}:{key} differs after resume"


def test_every_registered_model_is_covered():
    assert len(MODELS) >= 19 and {"ae", "vae", "dcgan", "lenet5"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_training_and_bit_for_bit_resume(name, tmp_path):
    data = _data(_model(name).config, _model(name).capabilities.domains, _segmenter(registry.get_model_class(name)))
    torch.manual_seed(0)
    straight = Trainer(_model(name), data, _config(), tmp_path / "straight").fit()
    resumed = run_interrupted(lambda: _model(name), data, _config(), tmp_path / "resumed", stop_at=2)
    assert straight.step == resumed.step == 3
    assert_same_checkpoints(tmp_path / "straight", tmp_path / "resumed", name)
    # the weights moved and are what load() rebuilds from safetensors
    fresh = _model(name).state_dict()
    trained = straight.model.state_dict()
    assert any(not torch.equal(fresh[k], trained[k]) for k in fresh if trained[k].is_floating_point())
    loaded = load(tmp_path / "straight", ema=False)
    assert type(loaded) is type(straight.model) and loaded.config == straight.model.config
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, trained[k].cpu()), k


def _inputs(model, n=4):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, *model.data_shape, generator=g)
    condition = model.condition(labels=torch.arange(n) % max(model.config.num_classes, 1))
    return x, condition


@pytest.mark.parametrize("name", MODELS)
def test_declared_verbs_answer_and_undeclared_ones_are_refused(name):
    model = _model(name).eval()
    caps = model.capabilities
    x, condition = _inputs(model)
    for verb in VERBS:
        if not caps.can(verb):
            with pytest.raises(CapabilityError, match=f"{name} cannot {verb}"):
                getattr(model, verb)(x)
    if caps.sample:
        a = model.sample(3, generator=torch.Generator().manual_seed(7))
        b = model.sample(3, generator=torch.Generator().manual_seed(7))
        assert a.shape == (3, *model.data_shape) and torch.equal(a, b)
        if model.is_image_model:
            assert a.min() >= 0 and a.max() <= 1
        for option in caps.sample_options:  # each declared option is taken, at its default
            assert torch.equal(model.sample(3, generator=torch.Generator().manual_seed(7),
                                            **{option.name: option.default}), a)
        params = inspect.signature(model.sample).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        declared = {o.name for o in caps.sample_options} | {c.name for c in caps.conditions}
        explicit = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY} - {"generator"}
        options = {o.name for o in caps.sample_options}
        # an explicit keyword is a declared option, or a condition (refused at run time when this
        # instance does not take it: an unconditional GAN); every declared one is taken
        assert explicit - options <= set(CONDITIONS), f"sample takes undeclared {explicit - declared}"
        assert declared <= explicit or takes_any, f"sample lacks declared {declared - explicit}"
        with pytest.raises(ValueError, match="takes no sampling option --no-such-option"):
            caps.check_sample_options({"no_such_option": 1}, owner=name)
    with torch.no_grad():
        if caps.can("encode"):
            z = model.encode(x, **condition)
            assert z.shape[0] == 4 and torch.isfinite(z).all()
            assert model.decode(z, **condition).shape == x.shape
        if caps.reconstruct:
            r = model.reconstruct(x, **condition)
            assert r.shape == x.shape and torch.isfinite(r).all()
        if caps.can("log_prob"):
            lp = model.log_prob(x, **condition)
            assert lp.shape == (4,) and torch.isfinite(lp).all()
            assert caps.log_prob in ("exact", "bound") and caps.likelihood_convention
        if caps.predict:
            expected = (4, *model.data_shape[1:]) if caps.kind == "segmenter" else (4,)  # a mask or a class
            assert torch.equal(model.predict(x), model.predict(x)) and model.predict(x).shape == expected
        if caps.translate:
            t = model.translate(x, **condition)
            assert t.shape == x.shape and torch.equal(t, model.translate(x, **condition))
            assert t.min() >= 0 and t.max() <= 1
    if caps.kind != "generative":
        assert not caps.sample


@pytest.mark.parametrize("name", MODELS)
def test_conditions_are_declared_not_guessed(name):
    model = _model(name).eval()
    caps = model.capabilities
    if caps.sample and not caps.accepts("labels"):
        with pytest.raises(ValueError, match="takes no labels="):
            model.sample(2, labels=torch.zeros(2, dtype=torch.long))
    if caps.accepts("labels"):
        assert set(model.default_condition(4)) == {"labels"}
        assert model.default_condition(4)["labels"].tolist() == [i % model.config.num_classes for i in range(4)]
    else:
        assert model.default_condition(4) == {}


PRESETS = registry.preset_names()


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_resumes_bit_for_bit(preset, tmp_path):
    """Each preset's own config and training settings (precision, memory layout, augmentation, EMA,
    schedule, several players) through an interruption: 2 + 1 rounds equal 3 rounds."""
    p = registry.get_preset(preset)
    config = _config(**{**p.train, "steps": 3, "batch_size": 8, "progress": False, "log_every": 1,
                        "sample_every": 2, "checkpoint_every": 0, "minutes": None, "num_threads": None})
    cls = registry.get_model_class(p.model)
    data = _data(p.config, cls(p.config).capabilities.domains, _segmenter(cls))
    torch.manual_seed(0)
    Trainer(cls(p.config), data, config, tmp_path / "a").fit()
    run_interrupted(lambda: cls(p.config), data, config, tmp_path / "b", stop_at=2)
    assert_same_checkpoints(tmp_path / "a", tmp_path / "b", preset)
