"""Every GAN preset at a tiny size keeps the model contract; conditioning and the mode metric."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from generativa.evaluation.toy_modes import toy_mode_coverage, toy_mode_coverage_for
from generativa.models.base import Batch
from generativa.models.gans.gan import GAN
from generativa.models.gans.networks import dcgan_levels
from generativa.registry import build_model, get_model_class, get_preset, preset_names
from generativa.training.checkpoint import load, save_model

GAN_MODELS = ("gan", "dcgan", "cgan", "wgan", "wgan_gp")
GAN_PRESETS = [n for n in preset_names() if get_preset(n).model in GAN_MODELS]
TINY = dict(base_width=4, hidden=(8,), latent_dim=4, embed_dim=3)


def _tiny(name: str) -> GAN:
    preset = get_preset(name)
    config = dataclasses.replace(preset.config, **TINY)
    torch.manual_seed(0)
    return build_model(preset.model, config)


def _batch(model: GAN, n: int = 6) -> Batch:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, *model.data_shape, generator=g)
    labels = torch.randint(0, max(model.config.num_classes, 1), (n,), generator=g)
    return Batch(x, labels if model.config.num_classes else None)


def test_every_course_variant_has_presets():
    assert {get_preset(n).model for n in GAN_PRESETS} == set(GAN_MODELS)
    data = {get_preset(n).data.split(":")[0] for n in GAN_PRESETS}
    assert {"toy1d", "toy2d", "digits", "shapes"} <= data


@pytest.mark.parametrize("name", GAN_PRESETS)
def test_preset_contract(name, tmp_path):
    model = _tiny(name)
    batch = _batch(model)
    players = model.players()
    assert [p.name for p in players] == ["discriminator", "generator"]
    for player in players:
        out = player.loss(batch)
        assert out.loss.dim() == 0 and torch.isfinite(out.loss)
        # one optimiser step of this player changes its weights and only its weights
        others = [p for q in players if q is not player for p in q.parameters]
        before_mine = [p.detach().clone() for p in player.parameters]
        before_others = [p.detach().clone() for p in others]
        opt = torch.optim.SGD(player.parameters, lr=0.1)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        assert any(not torch.equal(a, b) for a, b in zip(before_mine, player.parameters))
        assert all(torch.equal(a, b) for a, b in zip(before_others, others))
    # samples: shape, range, determinism under a generator, save -> load gives the same samples
    x = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert x.shape == (5, *model.data_shape) and torch.isfinite(x).all()
    if model.is_image_model:
        assert x.min() >= 0 and x.max() <= 1
    torch.testing.assert_close(model.sample(5, generator=torch.Generator().manual_seed(3)), x)
    save_model(tmp_path, model)
    again = load(tmp_path)
    assert type(again) is type(model) and again.config == model.config
    torch.testing.assert_close(again.sample(5, generator=torch.Generator().manual_seed(3)), x)


def test_player_settings_follow_the_papers():
    d, g = build_model("wgan").players()
    assert (d.steps, d.optimizer, d.lr, d.after_step is not None) == (5, "rmsprop", 5e-5, True)
    d, g = build_model("wgan_gp").players()
    assert (d.steps, d.optimizer, d.betas, d.after_step) == (5, "adam", (0.0, 0.9), None)
    assert build_model("wgan_gp").config.gp_weight == 10.0
    d, g = build_model("dcgan").players()
    assert (d.steps, d.lr, g.lr, d.betas) == (1, 2e-4, 2e-4, (0.5, 0.999))
    d, g = build_model("gan", d_lr=4e-4, g_lr=1e-4).players()  # TTUR
    assert (d.lr, g.lr) == (4e-4, 1e-4)


def test_generator_step_leaves_no_gradient_in_the_discriminator():
    model = _tiny("dcgan_digits")
    model.generator_loss(_batch(model)).loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert all(p.grad is not None for p in model.generator.parameters())
    model.zero_grad(set_to_none=True)
    model.discriminator_loss(_batch(model)).loss.backward()
    assert all(p.grad is None for p in model.generator.parameters())


@pytest.mark.parametrize("conditioning", ["embedding", "projection"])
@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_conditional_gan_uses_the_label(conditioning, architecture):
    torch.manual_seed(0)
    model = build_model("cgan", architecture=architecture, conditioning=conditioning, **TINY)
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    a, b = model.sample(4, generator=g(), labels=1), model.sample(4, generator=g(), labels=7)
    assert not torch.allclose(a, b)  # same z, other class -> other image
    x = torch.rand(4, 1, 8, 8)
    f1 = model.critic(x, torch.full((4,), 1))
    f7 = model.critic(x, torch.full((4,), 7))
    assert not torch.allclose(f1, f7)  # the discriminator reads the label too
    with pytest.raises(ValueError, match="labels"):
        model.discriminator_loss(Batch(x))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        model.sample(2, labels=10)
    with pytest.raises(ValueError, match="takes no labels="):
        build_model("dcgan", **TINY).sample(2, labels=3)


def test_bad_settings_say_what_to_do():
    with pytest.raises(ValueError, match="d_norm='layer'"):
        build_model("wgan_gp", architecture="dcgan", d_norm="batch")
    with pytest.raises(ValueError, match="labelled data"):
        build_model("gan", conditioning="projection", num_classes=0)
    with pytest.raises(ValueError, match="one of"):
        build_model("gan", loss="least_squares")
    with pytest.raises(ValueError, match="square"):
        build_model("dcgan", data_shape=(3, 16, 32))


@pytest.mark.parametrize(("size", "expected"), [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_dcgan_sizes_from_8_to_64_pixels(size, expected):
    assert dcgan_levels(size) == expected
    torch.manual_seed(0)
    model = get_model_class("dcgan")(dataclasses.replace(get_model_class("dcgan").config_class(),
                                                         data_shape=(3, size, size), **TINY))
    assert model.sample(2).shape == (2, 3, size, size)
    assert model.critic(torch.rand(2, 3, size, size)).shape == (2,)


def test_toy_mode_coverage_counts_by_hand():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    std = 0.1
    samples = torch.tensor(
        [[0.0, 0.05], [0.1, 0.1], [0.2, -0.1], [0.29, 0.0],  # 4 within 3 std = 0.3 of mode 0
         [10.0, 0.31],                                       # just outside mode 1
         [0.0, 9.9], [5.0, 5.0], [3.0, 0.0]]                 # 1 inside mode 2, 2 far from all
    )
    r = toy_mode_coverage(samples, centres, std)
    assert r["counts"] == [4, 0, 1]
    assert r["high_quality"] == pytest.approx(5 / 8)
    # a mode needs 1 / (4 K) = 1/12 of the 8 samples (0.67): modes 0 and 2
    assert r["modes_covered"] == 2
    assert toy_mode_coverage(samples, centres, std, min_fraction=0.2)["modes_covered"] == 1


def test_toy_mode_coverage_of_the_data_itself_is_perfect():
    from generativa.data import load_data

    for name, k in (("toy2d:ring8", 8), ("toy2d:grid25", 25)):
        x = load_data(name, n=2500, n_test=10).train.x
        r = toy_mode_coverage_for(name, x)
        assert r["modes_covered"] == k and r["high_quality"] > 0.98
        # all samples on one mode: one mode covered
        collapsed = toy_mode_coverage_for(name, x[:1].repeat(100, 1))
        assert collapsed["modes_covered"] == 1 and collapsed["high_quality"] == 1.0


def test_dcgan_networks_compute_the_same_in_either_memory_format():
    """The (H, W, C) reading of the projection and the features is fixed, not the tensors' layout: a
    channels-last copy of a DCGAN gives the same outputs and gradients, and the gradient of its features keeps
    channels-last strides (a mixed-layout backward pass runs many times slower on the CPU)."""
    torch.manual_seed(0)
    model = get_model_class("dcgan")(dataclasses.replace(get_model_class("dcgan").config_class(),
                                                         data_shape=(1, 16, 16), **TINY))
    fast = dataclasses.replace(model.config)  # same config, same weights, other layout
    fast = get_model_class("dcgan")(fast)
    fast.load_state_dict(model.state_dict())
    fast = fast.to(memory_format=torch.channels_last)
    z = torch.randn(5, TINY["latent_dim"])
    x = torch.rand(5, 1, 16, 16)
    x_cl = x.clone().contiguous(memory_format=torch.channels_last).requires_grad_()
    x = x.requires_grad_()
    torch.testing.assert_close(fast.generator(z), model.generator(z))
    feature_grads = []

    def keep_gradient(module, inputs, out):
        out.register_hook(feature_grads.append)

    fast.discriminator.features.register_forward_hook(keep_gradient)
    f, f_cl = model.discriminator(x), fast.discriminator(x_cl)
    torch.testing.assert_close(f_cl, f)
    f.sum().backward(), f_cl.sum().backward()
    torch.testing.assert_close(x_cl.grad, x.grad)
    assert feature_grads[0].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(model.parameters(), fast.parameters()):
        if a.grad is not None:
            torch.testing.assert_close(b.grad, a.grad)
