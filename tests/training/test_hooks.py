"""The trainer's hooks for the families to come: models that change with the step, frozen parts and
parameter groups, data-dependent initialisation (same on 1 and 2 processes, never redone), masks and
a second domain in the batch, nested configs that survive config.yaml and model.json."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import pytest
import torch
import torch.multiprocessing as mp
from helpers import committed
from training.toy_models import (
    DataInit,
    FrozenPart,
    HooksConfig,
    MaskAndDomain,
    StepScheduled,
    data_init_on_rank,
    toy_images,
    toy_splits,
)

from generativa.data.base import DataSplits
from generativa.models.base import ModelConfig
from generativa.training.checkpoint import load, read_safetensors
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer


def _cfg(**kw):
    base = dict(steps=8, batch_size=16, lr=1e-2, progress=False, log_every=2, sample_every=0, checkpoint_every=0)
    base.update(kw)
    return TrainConfig(**base)


def _images(n=64, shape=(1, 8, 8), seed=0, masks=False):
    return toy_images(n, shape, seed, masks)


def _splits(**kw):
    return toy_splits(**kw)


# -- progress hooks ------------------------------------------------------------------------------------
def test_a_model_changes_with_the_step_and_resumes_mid_fade_bit_for_bit(tmp_path):
    data = _splits()

    def run(steps, path, resume=False):
        torch.manual_seed(0)
        model = StepScheduled(HooksConfig(data_shape=(1, 8, 8)))
        trainer = Trainer(model, data, _cfg(steps=steps, ema_decay=0.9), path)
        if resume:
            trainer.load_state(path)
        trainer.fit()
        return trainer

    straight = run(8, tmp_path / "a")
    assert straight.model.regularised[:3] == [0, 3, 6]  # every 3rd round, from the step the trainer gives
    assert float(straight.model.alpha) == 1.0
    run(4, tmp_path / "b")  # stopped mid-fade (alpha 0.5 at its last round)
    resumed = run(8, tmp_path / "b", resume=True)
    assert resumed.model.regularised[:1] == [6]  # rounds 4..7 of the resumed run
    for name in ("model.safetensors", "state.safetensors"):
        a, b = read_safetensors(committed(tmp_path / "a") / name), read_safetensors(committed(tmp_path / "b") / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}:{k}"


# -- frozen parts and parameter groups ---------------------------------------------------------------------
def test_frozen_parts_stay_frozen_in_eval_mode_outside_optimisers_and_ema(tmp_path):
    torch.manual_seed(0)
    model = FrozenPart(ModelConfig(data_shape=(1, 8, 8)))
    frozen_before = {k: v.clone() for k, v in model.pretrained.state_dict().items()}
    trainer = Trainer(model, _splits(), _cfg(ema_decay=0.9), tmp_path)
    optimised = {id(p) for opt in trainer.optimizers for g in opt.param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in model.pretrained.parameters()}
    assert not any(n.startswith("pretrained.") for n in trainer.ema.names)
    trainer.fit()
    for k, v in model.pretrained.state_dict().items():  # weights and batch-norm statistics unchanged
        assert torch.equal(v, frozen_before[k]), k
    assert all(not p.requires_grad for p in model.pretrained.parameters())
    saved = read_safetensors(tmp_path / "model.safetensors")
    assert torch.equal(saved["pretrained.0.weight"], frozen_before["0.weight"])  # saved by value
    (slow, fast), = [opt.param_groups for opt in trainer.optimizers]
    assert slow["lr_scale"] == 0.1 and slow["lr"] == pytest.approx(0.1 * fast["lr"])


def test_train_mode_leaves_frozen_parts_in_eval_mode():
    model = FrozenPart(ModelConfig(data_shape=(1, 8, 8)))
    model.train()
    assert model.slow.training and not model.pretrained.training and not model.pretrained[1].training


# -- data-dependent initialisation -------------------------------------------------------------------------
def test_data_init_runs_once_on_the_first_global_batch_and_never_on_resume(tmp_path):
    data = _splits()
    torch.manual_seed(0)
    model = DataInit(ModelConfig(data_shape=(1, 8, 8)))
    trainer = Trainer(model, data, _cfg(steps=0), tmp_path)
    first = data.train.images(trainer._perm[:16])
    trainer.fit()
    assert model.init_batches == [16]
    z, _ = model.norm.inverse(first)  # the first batch comes out standardised per channel
    z = z.detach()
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std(unbiased=False)) - 1) < 1e-4
    again = DataInit(ModelConfig(data_shape=(1, 8, 8)))
    resumed = Trainer(again, data, _cfg(steps=6), tmp_path)
    resumed.load_state(tmp_path)
    resumed.fit()
    assert again.init_batches == []  # not on resume
    saved = read_safetensors(tmp_path / "model.safetensors")  # the initialisation lives in the weights
    assert torch.equal(saved["norm.bias"], again.norm.bias.detach())


def test_data_init_is_the_same_on_one_and_on_two_processes(tmp_path):
    torch.manual_seed(0)
    model = DataInit(ModelConfig(data_shape=(1, 8, 8)))
    Trainer(model, _splits(), _cfg(steps=0)).data_init()
    out = str(tmp_path / "init")
    mp.start_processes(data_init_on_rank, args=(2, str(tmp_path / "store"), out), nprocs=2, join=True,
                       start_method="spawn")
    for rank in (0, 1):
        got = torch.load(f"{out}.{rank}", weights_only=True)
        assert got["batch"] == [16]  # every process saw the whole global batch, not its half
        assert torch.equal(got["bias"], model.norm.bias.detach()), rank
        assert torch.equal(got["log_scale"], model.norm.log_scale.detach()), rank
        os.remove(f"{out}.{rank}")


# -- masks and a second domain ----------------------------------------------------------------------------
def test_batches_carry_masks_and_an_unpaired_second_domain():
    data = _splits(masks=True)
    data.domain_b = DataSplits(_images(48, shape=(1, 8, 8), seed=5), _images(16, seed=6), "toy_b")
    model = MaskAndDomain(ModelConfig(data_shape=(1, 8, 8)))
    trainer = Trainer(model, data, _cfg(steps=3))
    batch = trainer.next_batch()
    assert batch.mask.shape == (16, 1, 8, 8) and batch.mask.dtype == torch.uint8
    assert batch.x_b.shape == (16, 1, 8, 8) and batch.x_b.dtype == torch.float32
    trainer.fit()
    assert all(seen == ((16, 1, 8, 8), (16, 1, 8, 8)) for seen in model.seen[:3])
    assert trainer.test_loss()["test/loss"] >= 0  # the test split's masks and second domain too


# -- nested configs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inner:
    widths: tuple[int, ...] = (8, 16)
    norm: str = "group"


@dataclass(frozen=True)
class _NestedConfig(ModelConfig):
    inner: _Inner = _Inner()
    heads: int = 2


@pytest.fixture
def nested_model():
    from generativa import registry
    from generativa.models.base import GenerativeModel, LossOutput

    class Nested(GenerativeModel):
        config_class = _NestedConfig

        def __init__(self, config):
            super().__init__(config)
            self.w = torch.nn.Parameter(torch.zeros(config.inner.widths[-1]))

        def loss(self, batch):
            return LossOutput(self.w.pow(2).sum())

    registry.register_model("nested_test")(Nested)
    yield Nested
    del registry._MODELS["nested_test"]


def test_nested_configs_read_back_as_the_same_types(nested_model, tmp_path):
    import yaml

    from generativa.configs import to_dict
    from generativa.training.checkpoint import save_model
    from generativa.training.settings import RunSettings, resolve

    settings = resolve("nested_test", data="digits", overrides={"inner.widths": [4, 32], "model.inner.norm": "layer"})
    assert settings.model_config.inner == _Inner(widths=(4, 32), norm="layer")
    text = settings.to_yaml()
    back = RunSettings.from_dict(yaml.safe_load(text))
    assert back.model_config == settings.model_config and type(back.model_config.inner) is _Inner
    model = nested_model(settings.model_config)
    save_model(tmp_path, model)
    again = load(tmp_path)
    assert again.config == settings.model_config and isinstance(again.config.inner, _Inner)
    assert to_dict(again.config)["inner"] == {"widths": [4, 32], "norm": "layer"}
    with pytest.raises(ValueError, match="unknown setting .inner.depth.; did you mean inner.widths"):
        resolve("nested_test", data="digits", overrides={"inner.depth": 3})
    with pytest.raises(ValueError, match=r"widths = .* is not a list of int"):
        dataclasses.replace(settings.model_config, inner=_Inner(widths=("a",)))
