"""Every autoencoder-family preset at a tiny size keeps the model contract."""

import dataclasses

import pytest
import torch
from helpers import assert_one_step_moves

from generativa.models.base import Batch
from generativa.registry import build_model, get_preset, preset_names
from generativa.training.checkpoint import load, save_model

AE_MODELS = {"ae", "linear_ae", "sparse_ae", "denoising_ae", "contractive_ae"}
PRESETS = [p for p in preset_names() if get_preset(p).model in AE_MODELS]


def tiny(name):
    preset = get_preset(name)
    small = {"widths": (8, 8), "latent_dim": 6}
    if preset.model != "linear_ae":
        small["hidden"] = (16,)
    config = dataclasses.replace(preset.config, **small)
    return build_model(preset.model, config), config


def test_every_variant_has_digits_and_shapes_presets():
    models = {get_preset(p).model for p in PRESETS}
    assert models == AE_MODELS
    for model in AE_MODELS:
        datas = {get_preset(p).data for p in PRESETS if get_preset(p).model == model}
        assert {"digits", "shapes"} <= datas, model


@pytest.mark.parametrize("name", PRESETS)
def test_preset_contract(name, tmp_path):
    torch.manual_seed(0)
    model, config = tiny(name)
    x = torch.rand(4, *config.data_shape, generator=torch.Generator().manual_seed(0))
    z = model.encode(x)
    assert z.shape == (4, 6)
    r = model.reconstruct(x)
    assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1

    out = model.loss(Batch(x))
    assert torch.isfinite(out.loss) and out.loss.dim() == 0
    assert_one_step_moves(model, out.loss)

    model.eval()
    model.fit_code_distribution(x)
    a = model.sample(3, generator=torch.Generator().manual_seed(1))
    b = model.sample(3, generator=torch.Generator().manual_seed(1))
    assert a.shape == (3, *config.data_shape) and torch.equal(a, b)

    save_model(tmp_path, model)
    again = load(tmp_path)
    assert type(again) is type(model)
    torch.testing.assert_close(again.reconstruct(x), model.reconstruct(x))
