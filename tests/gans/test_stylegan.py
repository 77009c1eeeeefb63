"""The style-based generator: modulation and demodulation, truncation, style mixing, lazy R1, augmentation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from generativa.models.base import Batch
from generativa.models.gans.stylegan import (
    StyleGAN,
    StyleGANConfig,
    diff_augment,
    mix_styles,
    modulated_conv2d,
)


def _model(**kw) -> StyleGAN:
    torch.manual_seed(0)
    return StyleGAN(StyleGANConfig(**{"data_shape": (1, 28, 28), "latent_dim": 8, "w_dim": 8, "mapping_layers": 2,
                                      "widths": (4, 6, 8), **kw}))


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    x = torch.randn(64, 32, 12, 12)
    weight = torch.randn(48, 32, 3, 3) / (32 * 9) ** 0.5
    styles = torch.randn(64, 32).exp()        # scales from ~0.1 to ~10 per input channel
    y = modulated_conv2d(x, weight, styles)
    inner = y[:, :, 1:-1, 1:-1]               # away from the zero padding
    per_channel = inner.var(dim=(0, 2, 3))
    assert (per_channel - 1.0).abs().max() < 0.15, per_channel
    # without demodulation the variance follows the styles
    assert modulated_conv2d(x, weight, styles, demodulate=False)[:, :, 1:-1, 1:-1].var() > 2.0


def test_modulated_convolution_equals_one_convolution_per_example():
    torch.manual_seed(1)
    x, weight, styles = torch.randn(3, 5, 6, 6), torch.randn(4, 5, 3, 3), torch.rand(3, 5) + 0.5
    y = modulated_conv2d(x, weight, styles)
    for b in range(3):
        w = weight * styles[b][None, :, None, None]                            # w' [eq. 1]
        w = w / (w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()       # w'' [eq. 3]
        torch.testing.assert_close(y[b:b + 1], F.conv2d(x[b:b + 1], w, padding=1), rtol=1e-5, atol=1e-5)


def test_psi_0_gives_the_same_image_for_every_z():
    m = _model().eval()
    with torch.no_grad():
        m.w_avg.copy_(torch.randn(8))
        for conv in m.synthesis.convs:
            conv.noise_strength.fill_(0.5)
    g = torch.Generator().manual_seed(0)
    same = m.sample(5, generator=g, psi=0.0, noise="const")
    assert torch.equal(same, same[:1].expand_as(same))
    varied = m.sample(5, generator=g, psi=1.0, noise="const")
    assert not torch.equal(varied[0], varied[1])
    # psi = 0 with fresh noise: the images differ only through the noise inputs
    noisy = m.sample(5, generator=g, psi=0.0, noise="random")
    assert not torch.equal(noisy[0], noisy[1])
    torch.testing.assert_close(m.truncate(torch.ones(2, 8), 0.5), 0.5 * (m.w_avg + 1.0).expand(2, 8))


def test_mixing_with_the_same_w_everywhere_equals_no_mixing():
    m = _model().eval()
    w = m.latents(4, generator=torch.Generator().manual_seed(3))
    plain = m.synthesize(mix_styles(w, w, m.n_ws, m.n_ws), noise="const")
    for cutoff in range(m.n_ws + 1):
        assert torch.equal(m.style_mix(w, w, cutoff), plain)
    w2 = m.latents(4, generator=torch.Generator().manual_seed(4))
    ws = mix_styles(w, w2, 2, m.n_ws)
    assert torch.equal(ws[:, :2], w[:, None].expand(4, 2, 8)) and torch.equal(ws[:, 2:], w2[:, None].expand(4, 4, 8))
    assert not torch.equal(m.style_mix(w, w2, 2), plain)
    assert m.synthesis.layer_resolutions() == [7, 7, 14, 14, 28, 28]


def test_training_styles_mix_with_the_configured_probability():
    never, always = _model(style_mixing=0.0).train(), _model(style_mixing=1.0).train()
    like = torch.zeros(16, 1, 28, 28)
    torch.manual_seed(0)
    ws = never._training_ws(16, like)
    assert torch.equal(ws, ws[:, :1].expand_as(ws))
    mixed = sum(not torch.equal(w := always._training_ws(16, like), w[:, :1].expand_as(w)) for _ in range(10))
    assert mixed == 10
    before = always.w_avg.clone()
    with torch.enable_grad():
        always._training_ws(16, like)
    assert not torch.equal(always.w_avg, before)   # the running mean moves in training


def test_lazy_r1_every_k_rounds_with_the_corrected_optimiser():
    m = _model(r1_gamma=2.0, r1_every=4).train()
    d, g = m.players()
    assert d.lr == pytest.approx(2e-3 * 4 / 5) and d.betas == pytest.approx((0.0, 0.99 ** 0.8))
    assert {grp.name: grp.lr_scale for grp in g.groups} == {"synthesis": 1.0, "mapping": 0.01}
    x = torch.rand(8, 1, 28, 28)
    m.on_step(1)
    assert "r1" not in m.discriminator_loss(Batch(x)).terms
    m.on_step(8)
    torch.manual_seed(5)
    out = m.discriminator_loss(Batch(x))
    real = (x * 2 - 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(m.discriminator(real).sum(), real)
    want = grad.pow(2).flatten(1).sum(1).mean()
    torch.testing.assert_close(out.terms["r1"], want, rtol=1e-4, atol=1e-6)
    plain = _model(r1_gamma=0.0).train()
    plain.load_state_dict(m.state_dict())
    torch.manual_seed(5)
    base = plain.discriminator_loss(Batch(x)).loss
    torch.testing.assert_close(out.loss, base + 2.0 / 2 * want * 4, rtol=1e-4, atol=1e-5)


def test_noise_inputs_are_per_layer_and_reproducible():
    m = _model().eval()
    with torch.no_grad():
        for conv in m.synthesis.convs:
            conv.noise_strength.fill_(1.0)
    a = m.sample(2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, m.sample(2, generator=torch.Generator().manual_seed(0)))
    w = m.latents(2, generator=torch.Generator().manual_seed(0))
    ws = mix_styles(w, w, m.n_ws, m.n_ws)
    assert not torch.equal(m.synthesize(ws, noise="const"), m.synthesize(ws, noise="none"))
    with pytest.raises(ValueError, match="choose one of random, const, none"):
        m.sample(2, noise="blue")


def test_differentiable_augmentation():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16, requires_grad=True)
    for policy in ("translation", "cutout", "color,translation,cutout"):
        y = diff_augment(x, policy)
        assert y.shape == x.shape
        (g,) = torch.autograd.grad(y.sum(), x)
        assert g.abs().sum() > 0
    moved = diff_augment(x, "translation").detach()
    for b in range(6):   # a shifted copy: every value is an input pixel or the zero padding
        values = set(x[b].detach().flatten().tolist()) | {0.0}
        assert set(moved[b].flatten().tolist()) <= values
    cut = diff_augment(x, "cutout").detach()
    assert ((cut == 0).float().mean(dim=(1, 2, 3)) > 0.05).all()
    m = _model(augment="color,translation,cutout").train()
    out = m.discriminator_loss(Batch(torch.rand(4, 1, 28, 28)))
    assert torch.isfinite(out.loss)
    with pytest.raises(ValueError, match="style_mixing"):
        _model(style_mixing=1.5)


def test_dcgan_discriminator_scores_each_image_alone_and_takes_the_r1_penalty():
    """The DCGAN discriminator (layer norm) sees one image at a time, so R1's gradient is per example;
    ``stylegan_mnist`` uses it (the progressive one let the generator collapse on 28x28 digits)."""
    from generativa.models.gans.networks import DCGANDiscriminator
    from generativa.registry import get_preset

    assert get_preset("stylegan_mnist").config.discriminator == "dcgan"
    m = _model(discriminator="dcgan", d_width=8, r1_gamma=1.0, r1_every=2).train()
    assert isinstance(m.discriminator, DCGANDiscriminator)
    assert _model().discriminator.__class__.__name__ == "ProgressiveDiscriminator"
    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28)
    others = torch.cat([x[:1], torch.rand(5, 1, 28, 28)])
    torch.testing.assert_close(m.critic(x)[0], m.critic(others)[0])   # no batch statistics
    m.on_step(2)
    out = m.discriminator_loss(Batch(x))
    assert torch.isfinite(out.loss) and out.terms["r1"] > 0
    d, _ = m.players()
    assert {id(p) for p in d.params} == {id(p) for p in m.discriminator.parameters()}
    with pytest.raises(Exception, match="discriminator"):
        _model(discriminator="resnet")
