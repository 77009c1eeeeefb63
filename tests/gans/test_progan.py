"""Progressive growing: the fade-in, the equalised learning rate, the paper's layers, resume mid-fade."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import committed

from generativa.data.base import ArrayData, DataSplits
from generativa.models.base import Batch
from generativa.models.gans import equalized
from generativa.models.gans.progan import ProGAN, ProGANConfig, schedule
from generativa.training.checkpoint import load, read_safetensors
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer


def _model(**kw) -> ProGAN:
    torch.manual_seed(0)
    return ProGAN(ProGANConfig(**{"data_shape": (1, 28, 28), "latent_dim": 8, "widths": (4, 6, 8), **kw}))


def test_resolutions_and_schedule():
    assert equalized.resolutions(28) == (7, 14, 28) and equalized.resolutions(32) == (4, 8, 16, 32)
    assert equalized.resolutions(8) == (4, 8)
    # stage 0 alone for 2 rounds, then 4 rounds of fade and 2 stable per new stage, the last stays
    got = [schedule(t, 3, 2, 4) for t in range(16)]
    assert got[:2] == [(0, 1.0)] * 2
    assert got[2:6] == [(1, 0.0), (1, 0.25), (1, 0.5), (1, 0.75)] and got[6:8] == [(1, 1.0)] * 2
    assert got[8:12] == [(2, 0.0), (2, 0.25), (2, 0.5), (2, 0.75)] and got[12:] == [(2, 1.0)] * 4
    assert _model(stage_steps=2, fade_steps=4).growth_steps() == 14


def test_generator_at_alpha_0_is_the_previous_resolution_upsampled():
    G = _model().generator.eval()
    z = torch.randn(5, 8)
    for stage in (1, 2):
        previous = G(z, stage - 1, 1.0)
        assert torch.equal(G(z, stage, 0.0), equalized.upsample(previous))
        assert G(z, stage, 0.0).shape[-1] == 2 * previous.shape[-1]


def test_generator_at_alpha_1_uses_only_the_new_block():
    G = _model().generator.eval()
    z = torch.randn(5, 8)
    at_1, halfway = G(z, 2, 1.0), G(z, 2, 0.5)
    with torch.no_grad():
        G.to_rgb[1].weight.add_(1.0)   # the previous resolution's output layer
    assert torch.equal(G(z, 2, 1.0), at_1)
    assert not torch.allclose(G(z, 2, 0.5), halfway)
    # halfway is the mean of the two paths
    new = G.to_rgb[2](G.block(2, G.block(1, G.block(0, z))))
    old = equalized.upsample(G.to_rgb[1](G.block(1, G.block(0, z))))
    torch.testing.assert_close(G(z, 2, 0.5), 0.5 * old + 0.5 * new)


def test_discriminator_at_alpha_0_is_the_previous_resolution_on_pooled_input():
    D = _model().discriminator
    x = torch.randn(8, 1, 28, 28)
    assert torch.equal(D(x, 2, 0.0), D(torch.nn.functional.avg_pool2d(x, 2), 1, 1.0))
    x14 = torch.randn(8, 1, 14, 14)
    assert torch.equal(D(x14, 1, 0.0), D(torch.nn.functional.avg_pool2d(x14, 2), 0, 1.0))
    with pytest.raises(ValueError, match="takes 14x14 images"):
        D(x, 1, 1.0)


def test_real_images_fade_with_the_networks():
    m = _model()
    x = torch.rand(3, 1, 28, 28)
    a0 = m.real_at_stage(x, 1, 0.0)
    assert torch.equal(a0, equalized.upsample(torch.nn.functional.avg_pool2d(torch.nn.functional.avg_pool2d(x, 2), 2)))
    assert torch.equal(m.real_at_stage(x, 1, 1.0), torch.nn.functional.avg_pool2d(x, 2))


@pytest.mark.parametrize("layer", [equalized.EqualizedConv2d(64, 128, 3), equalized.EqualizedLinear(512, 256)])
def test_equalised_weights_start_at_the_he_scale(layer):
    fan_in = layer.weight[0].numel()
    std = layer.effective_weight().std().item()
    assert abs(std / math.sqrt(2.0 / fan_in) - 1.0) < 0.03   # He et al. 2015
    assert abs(layer.weight.std().item() - 1.0) < 0.03       # the stored parameter is N(0, 1)
    # unit-variance input keeps about twice its variance before the leaky ReLU halves it (He's argument)
    x = torch.randn(256, 64, 8, 8) if layer.weight.dim() == 4 else torch.randn(4096, 512)
    with torch.no_grad():
        y = layer(x)
    if y.dim() == 4:
        y = y[:, :, 1:-1, 1:-1]   # away from the zero padding
    assert abs(y.var().item() / 2.0 - 1.0) < 0.1


def test_pixel_norm_and_minibatch_stddev_by_hand():
    x = torch.randn(6, 5, 3, 3)
    assert torch.allclose(equalized.pixel_norm(x).pow(2).mean(dim=1), torch.ones(6, 3, 3), atol=1e-5)
    y = equalized.minibatch_stddev(x, group_size=4)   # B = 6: groups of 3 (the largest divisor <= 4)
    assert y.shape == (6, 6, 3, 3) and torch.equal(y[:, :5], x)
    for g in range(2):
        group = x[3 * g:3 * g + 3]
        want = (group.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        assert torch.allclose(y[3 * g:3 * g + 3, 5], want.expand(3, 3, 3), atol=1e-6)


def test_drift_and_penalty_enter_the_critic_loss():
    m = _model(stage_steps=0, fade_steps=0)   # straight to the last stage
    m.on_step(0)
    torch.manual_seed(1)
    batch = Batch(torch.rand(4, 1, 28, 28))
    torch.manual_seed(2)
    out = m.discriminator_loss(batch)
    t = out.terms
    want = t["d_fake"] - t["d_real"] + 0.001 * t["drift"] + 10.0 * t["gp"]
    torch.testing.assert_close(out.loss.detach(), want, rtol=1e-5, atol=1e-5)
    assert t["resolution"] == 28.0 and t["alpha"] == 1.0


def _data() -> DataSplits:
    g = torch.Generator().manual_seed(0)

    def split(n):
        return ArrayData("tiny", torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8))

    return DataSplits(split(32), split(8), "tiny")


def _train_config() -> TrainConfig:
    return TrainConfig(steps=6, batch_size=8, ema_decay=0.9, progress=False, log_every=1, sample_every=0,
                       checkpoint_every=0, seed=3)


def test_resume_in_the_middle_of_a_fade_is_bit_for_bit(tmp_path):
    # stage 0 for 1 round, 14x14 fades in over rounds 1-3 (alpha 0, 1/3, 2/3), 28x28 from round 5; stop after round 2
    build = lambda: _model(stage_steps=1, fade_steps=3)  # noqa: E731
    data = _data()
    torch.manual_seed(0)
    straight = Trainer(build(), data, _train_config(), tmp_path / "a").fit()
    torch.manual_seed(0)
    first = Trainer(build(), data, _train_config(), tmp_path / "b")
    first.fit(steps=3, finish=False)
    assert first.model.stage == (1, pytest.approx(1 / 3))
    first.save()
    torch.manual_seed(0)
    resumed = Trainer(build(), data, _train_config(), tmp_path / "b")
    resumed.load_state(tmp_path / "b")
    resumed.fit()
    for name in ("model.safetensors", "state.safetensors"):
        a, b = read_safetensors(committed(tmp_path / "a") / name), read_safetensors(committed(tmp_path / "b") / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}:{key}"
    loaded = load(tmp_path / "a")
    assert loaded.stage == straight.model.stage == (2, 0.0)   # the last round began the 28x28 fade
    assert int(loaded.progress_step) == 5
    s = loaded.sample(3, generator=torch.Generator().manual_seed(0))
    assert s.shape == (3, 1, 28, 28) and 0 <= s.min() and s.max() <= 1


def test_settings_are_checked():
    with pytest.raises(ValueError, match="give 3 widths"):
        _model(widths=(4, 4))
    with pytest.raises(ValueError, match="square images"):
        ProGAN(ProGANConfig(data_shape=(1, 8, 16)))
