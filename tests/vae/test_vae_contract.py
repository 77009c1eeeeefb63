"""Every VAE-family preset at a tiny size keeps the model contract; each variant adds its property."""

import dataclasses

import pytest
import torch
from helpers import assert_one_step_moves

from generativa.models.base import Batch
from generativa.registry import build_model, get_preset, preset_names

VAE_MODELS = {"vae", "beta_vae", "iwae", "cvae", "flow_vae"}
PRESETS = [p for p in preset_names() if get_preset(p).model in VAE_MODELS]


def tiny(preset_name):
    preset = get_preset(preset_name)
    config = dataclasses.replace(preset.config, widths=(8, 8), hidden=(16,), latent_dim=3)
    return build_model(preset.model, config), config


def batch_for(config, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *config.data_shape, generator=g)
    labels = torch.randint(max(config.num_classes, 1), (n,), generator=g)
    return Batch(x, labels)


def test_every_family_member_has_a_preset():
    assert {get_preset(p).model for p in PRESETS} == VAE_MODELS
    for name in ["vae_digits", "vae_shapes", "beta_vae_shapes", "iwae_digits", "cvae_digits", "flow_vae_digits"]:
        assert name in PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_preset_contract(name):
    torch.manual_seed(0)
    model, config = tiny(name)
    batch = batch_for(config)
    cond = model.condition(labels=batch.labels)
    assert model.capabilities.log_prob == "bound"

    out = model.loss(batch)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in out.terms.values())

    assert_one_step_moves(model, out.loss)

    model.eval()
    s1 = model.sample(3, generator=torch.Generator().manual_seed(1), **({"labels": 2} if cond else {}))
    s2 = model.sample(3, generator=torch.Generator().manual_seed(1), **({"labels": 2} if cond else {}))
    assert s1.shape == (3, *config.data_shape) and torch.equal(s1, s2)
    assert s1.min() >= 0 and s1.max() <= 1

    z = model.encode(batch.x, **cond)
    assert z.shape == (4, config.latent_dim)
    assert model.decode(z, **cond).shape == batch.x.shape
    assert model.reconstruct(batch.x, **cond).shape == batch.x.shape
    lp = model.log_prob(batch.x, k=7, generator=torch.Generator().manual_seed(0), **cond)
    assert lp.shape == (4,) and torch.isfinite(lp).all() and (lp < 0).all()

    clone = build_model(get_preset(name).model, config)
    clone.load_state_dict(model.state_dict())
    clone.eval()
    s3 = clone.sample(3, generator=torch.Generator().manual_seed(1), **({"labels": 2} if cond else {}))
    torch.testing.assert_close(s1, s3)


def test_beta_weights_only_the_kl_term():
    torch.manual_seed(0)
    vae, config = tiny("vae_digits")
    from generativa.models.vae.vae import BetaVAEConfig

    beta = build_model("beta_vae", BetaVAEConfig(**{**dataclasses.asdict(config), "beta": 4.0}))
    beta.load_state_dict(vae.state_dict())
    batch = batch_for(config)
    torch.manual_seed(3)
    a = vae.loss(batch)
    torch.manual_seed(3)
    b = beta.loss(batch)
    torch.testing.assert_close(b.loss, a.terms["reconstruction"] + 4.0 * a.terms["kl"])


def test_wrong_input_and_bad_choices_say_what_to_do():
    model, _ = tiny("vae_digits")
    with pytest.raises(ValueError, match="channel"):
        model.loss(Batch(torch.rand(2, 3, 8, 8)))
    with pytest.raises(ValueError, match="likelihood"):
        build_model("vae", likelihood="poisson")
    with pytest.raises(ValueError, match="beta"):
        build_model("iwae", beta=2.0)


def test_cvae_needs_and_uses_labels():
    torch.manual_seed(0)
    model, config = tiny("cvae_digits")
    x = torch.rand(2, *config.data_shape)
    with pytest.raises(ValueError, match="labels"):
        model.encode(x)
    z = torch.zeros(1, config.latent_dim)
    assert not torch.allclose(model.decode(z, labels=torch.tensor([0])), model.decode(z, labels=torch.tensor([7])))
    lp0 = model.log_prob(x, k=5, labels=torch.tensor([0, 0]), generator=torch.Generator().manual_seed(0))
    lp1 = model.log_prob(x, k=5, labels=torch.tensor([9, 9]), generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(lp0, lp1)


def test_cvae_marginal_log_prob_mixes_the_classes_uniformly():
    import math

    torch.manual_seed(0)
    model, config = tiny("cvae_digits")
    x = torch.rand(3, *config.data_shape)
    g = torch.Generator().manual_seed(0)  # one stream, classes in order: the draws the marginal makes
    per_class = torch.stack([model.log_prob(x, k=4, labels=torch.full((3,), y), generator=g) for y in range(10)])
    marginal = model.log_prob(x, k=4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(marginal, torch.logsumexp(per_class, 0) - math.log(10))
    assert not torch.allclose(per_class[0], per_class[9])
