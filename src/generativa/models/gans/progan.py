"""Progressive growing of GANs (Karras et al. 2018, arXiv:1710.10196).

x: images (B, C, H, W) in [0, 1] (mapped to [-1, 1] inside);  z ~ N(0, I): latent (B, latent_dim);
sizes: the resolutions s_0 < s_1 < ... < s_{K-1} = H, each twice the last (28: 7, 14, 28);
stage k: the networks run at s_k;  alpha in [0, 1]: the fade-in coefficient of stage k's new block.

Both networks start at s_0 and grow a block at a time [Sec. 2, Fig. 1]. While a new block fades in,
the generator's output is (1 - alpha) upsample(toRGB_{k-1}(h_{k-1})) + alpha toRGB_k(block_k(h_{k-1}))
and the discriminator's input path mirrors it [Fig. 2]; the real images are shown at s_k, blended
the same way between s_{k-1} (upsampled) and s_k, as the paper's code does. alpha rises linearly
from 0 to 1 over ``fade_steps`` rounds (fade_steps x batch_size images; the paper fades over 800k
images, then trains each resolution 800k more: ``stage_steps`` here). The schedule is a pure
function of the step (``schedule``), set by the trainer's ``on_step`` hook before every round and
kept in a buffer saved with the weights, so resume reproduces it and a loaded run samples at the
stage it reached.

Also from the paper: the equalised learning rate, pixel normalisation in the generator and the
minibatch standard deviation in the discriminator (``equalized.py``); the WGAN-GP loss with
lambda = 10 [Gulrajani et al. 2017] plus the drift term eps_drift E[D(x)^2], eps_drift = 0.001,
which keeps the critic's output near zero [Sec. A.1]; Adam with lr 1e-3, betas (0, 0.99), one
critic step per generator step [Sec. A.1].

Departures: far fewer channels (the paper's 512 at low resolution are ``widths``), resolutions from
4 or 7 pixels (a CPU trains 28x28 digits in minutes), and samples of an unfinished run upsampled
(nearest) from the stage reached to the data's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from generativa.models.base import (
    AdversarialModel,
    Batch,
    Capabilities,
    LossOutput,
    ModelConfig,
    Player,
    trainable,
)
from generativa.models.gans import losses
from generativa.models.gans.dcgan import FAST_CPU
from generativa.models.gans.equalized import (
    EqualizedConv2d,
    EqualizedLinear,
    ProgressiveDiscriminator,
    downsample,
    fade,
    lrelu,
    pixel_norm,
    resolutions,
    stage_widths,
    upsample,
)
from generativa.models.gans.gan import TRUNCATION, _frozen, _noise, latent_noise
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class ProGANConfig(ModelConfig):
    latent_dim: int = 128
    widths: tuple[int, ...] = (32, 64, 64, 64, 64)  # channels per resolution, full resolution first
    stage_steps: int = 600       # rounds at each resolution after its fade-in (and at the first alone)
    fade_steps: int = 600        # rounds over which a new block fades in (x batch_size images)
    loss: Literal["wasserstein"] = "wasserstein"  # [Sec. A.1]
    gp_weight: float = 10.0      # lambda [Gulrajani et al. 2017; Karras et al. 2018, Sec. A.1]
    drift: float = 0.001         # eps_drift [Sec. A.1]
    group_size: int = 4          # minibatch standard deviation group [Sec. 3; the paper's code]
    n_critic: int = 1            # [Sec. A.1]
    lr: float = 1e-3             # Adam alpha [Sec. A.1]
    betas: tuple[float, float] = (0.0, 0.99)


def schedule(step: int, n_stages: int, stage_steps: int, fade_steps: int) -> tuple[int, float]:
    """(stage, alpha) after ``step`` rounds: stage 0 alone for ``stage_steps`` rounds, then for each new
    stage ``fade_steps`` rounds of linear fade-in (alpha = 0, 1/fade_steps, ...) and ``stage_steps`` at
    alpha = 1; the last stage stays."""
    if step < stage_steps or n_stages == 1:
        return 0, 1.0
    period = fade_steps + stage_steps
    if period == 0:
        return n_stages - 1, 1.0
    k = 1 + (step - stage_steps) // period
    if k >= n_stages:
        return n_stages - 1, 1.0
    into = (step - stage_steps) - (k - 1) * period
    return k, (min(1.0, into / fade_steps) if fade_steps > 0 else 1.0)


class ProgressiveGenerator(nn.Module):
    """G(z, stage, alpha) -> (B, C, s_stage, s_stage) in model space ([-1, 1], linear output).

    Block 0: pixel norm of z, dense to (C_0, s_0, s_0), conv 3x3; block k: upsample x2, two conv 3x3;
    each conv followed by leaky ReLU and pixel norm [Table 2]; toRGB_k: a linear 1x1 convolution."""

    def __init__(self, latent_dim: int, channels: int, sizes: tuple[int, ...], widths: tuple[int, ...]):
        super().__init__()
        self.sizes, self.widths = tuple(sizes), tuple(widths)
        s0, c0 = sizes[0], widths[0]
        self.input = EqualizedLinear(latent_dim, c0 * s0 * s0)
        self.input_conv = EqualizedConv2d(c0, c0, 3)
        self.convs = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(widths[k - 1], widths[k], 3), EqualizedConv2d(widths[k], widths[k], 3)])
            for k in range(1, len(sizes)))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(w, channels, 1, gain=1.0) for w in widths)

    def block(self, k: int, h: Tensor) -> Tensor:
        """Block k of the generator; block 0 takes z (B, latent_dim), the others the last features."""
        if k == 0:
            s0, c0 = self.sizes[0], self.widths[0]
            h = pixel_norm(lrelu(self.input(pixel_norm(h))).view(-1, c0, s0, s0))
            return pixel_norm(lrelu(self.input_conv(h)))
        h = upsample(h)
        for conv in self.convs[k - 1]:
            h = pixel_norm(lrelu(conv(h)))
        return h

    def forward(self, z: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        stage = len(self.sizes) - 1 if stage is None else stage
        h = self.block(0, z)
        previous = h
        for k in range(1, stage + 1):
            previous, h = h, self.block(k, h)
        new = self.to_rgb[stage](h)
        if stage == 0 or alpha >= 1.0:
            return new   # only the newest block [Fig. 2 (c)]
        return fade(upsample(self.to_rgb[stage - 1](previous)), new, alpha)   # [Fig. 2 (b)]


@register_model("progan")
class ProGAN(AdversarialModel):
    config_class = ProGANConfig
    CAPABILITIES = Capabilities(sample=True, sample_options=(TRUNCATION,), traits=frozenset({"critic", "progressive"}))

    def __init__(self, config: ProGANConfig):
        super().__init__(config)
        c = config
        shape = self.data_shape
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"progressive growing needs square images (C, S, S), got data shape {shape}")
        if c.n_critic < 1 or c.fade_steps < 0 or c.gp_weight < 0 or c.drift < 0:
            raise ValueError("progan needs n_critic >= 1 and fade_steps, gp_weight, drift >= 0 "
                             f"(got {c.n_critic}, {c.fade_steps}, {c.gp_weight}, {c.drift})")
        self.sizes = resolutions(shape[1])
        widths = stage_widths(c.widths, len(self.sizes), "progan")
        self.generator = ProgressiveGenerator(c.latent_dim, shape[0], self.sizes, widths)
        self.discriminator = ProgressiveDiscriminator(shape[0], self.sizes, widths, group_size=c.group_size)
        # rounds done when the current round began (on_step); saved with the weights, copied by the EMA
        self.register_buffer("progress_step", torch.zeros((), dtype=torch.long))

    # -- the growth schedule ----------------------------------------------------------------------
    def on_step(self, step: int) -> None:
        self.progress_step.fill_(step)

    def schedule(self, step: int) -> tuple[int, float]:
        """(stage, alpha) of the round that starts after ``step`` rounds."""
        return schedule(step, len(self.sizes), self.config.stage_steps, self.config.fade_steps)

    @property
    def stage(self) -> tuple[int, float]:
        """(stage, alpha) now: of the last round trained (or the first, before training)."""
        return self.schedule(int(self.progress_step))

    def growth_steps(self) -> int:
        """Rounds until the last resolution is faded in and trained ``stage_steps`` rounds."""
        c = self.config
        return c.stage_steps + (len(self.sizes) - 1) * (c.fade_steps + c.stage_steps)

    # -- spaces -----------------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        return x * 2.0 - 1.0

    def to_data_space(self, x: Tensor) -> Tensor:
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)   # the generator's output is linear [Table 2]

    def real_at_stage(self, x: Tensor, stage: int, alpha: float) -> Tensor:
        """Real images (model space, full size) shown at stage ``stage``: downsampled to s_stage and,
        while the stage fades in, blended with their s_{stage-1} version upsampled."""
        x = downsample(x, self.sizes[-1] // self.sizes[stage])
        if stage > 0 and alpha < 1.0:
            x = fade(upsample(downsample(x)), x, alpha)
        return x

    def critic(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """f = D(x) at the current stage for images in [0, 1] at the data's size; (B,)."""
        stage, alpha = self.stage
        return self.discriminator(self.real_at_stage(self.to_model_space(x), stage, alpha), stage, alpha)

    # -- the two players' losses ------------------------------------------------------------------
    def discriminator_loss(self, batch: Batch) -> LossOutput:
        self.check_input(batch.x)
        c = self.config
        stage, alpha = self.stage
        real = self.real_at_stage(self.to_model_space(batch.x), stage, alpha)
        z = _noise(torch.randn, (real.shape[0], c.latent_dim), real)
        with torch.no_grad():
            fake = self.generator(z, stage, alpha)
        critic = lambda x: self.discriminator(x, stage, alpha)  # noqa: E731
        f_real, f_fake = critic(real), critic(fake)
        loss = losses.discriminator_loss("wasserstein", f_real, f_fake)
        drift = f_real.float().pow(2).mean()   # [Sec. A.1]
        loss = loss + c.drift * drift
        terms: dict[str, Any] = {"d_real": f_real.mean().detach(), "d_fake": f_fake.mean().detach(),
                                 "wasserstein": (f_real.mean() - f_fake.mean()).detach(),
                                 "drift": drift.detach(), "resolution": float(self.sizes[stage]), "alpha": alpha}
        if c.gp_weight > 0:
            eps = _noise(torch.rand, (real.shape[0],), real)
            gp = losses.gradient_penalty(critic, real, fake, eps=eps)
            loss = loss + c.gp_weight * gp   # [Gulrajani et al. 2017, eq. 3]
            terms["gp"] = gp.detach()
        return LossOutput(loss, terms)

    def generator_loss(self, batch: Batch) -> LossOutput:
        stage, alpha = self.stage
        z = _noise(torch.randn, (batch.x.shape[0], self.config.latent_dim), batch.x)
        fake = self.generator(z, stage, alpha)
        with _frozen(self.discriminator):
            f_fake = self.discriminator(fake, stage, alpha)
        return LossOutput(losses.generator_loss("wasserstein", f_fake), {})

    def players(self) -> list[Player]:
        c = self.config
        betas = tuple(c.betas)
        return [
            Player("discriminator", trainable([self.discriminator]), self.discriminator_loss, steps=c.n_critic,
                   optimizer="adam", lr=c.lr, betas=betas, ema=False),
            Player("generator", trainable([self.generator]), self.generator_loss, steps=1,
                   optimizer="adam", lr=c.lr, betas=betas),
        ]

    # -- sampling ---------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: Tensor, stage: int | None = None, alpha: float | None = None) -> Tensor:
        """G(z) at ``stage`` / ``alpha`` (default: the current ones) in [0, 1], upsampled (nearest)
        to the data's size."""
        now_stage, now_alpha = self.stage
        stage = now_stage if stage is None else stage
        alpha = (now_alpha if stage == now_stage else 1.0) if alpha is None else alpha
        x = self.generator(z, stage, alpha)
        return self.to_data_space(upsample(x, self.sizes[-1] // self.sizes[stage]))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, truncation: float = 0.0,
               labels: Any = None) -> Tensor:
        if labels is not None:
            self.check_condition({"labels": labels})
        return self.generate(latent_noise((n, self.config.latent_dim), truncation, generator, self.device))


# -- presets -------------------------------------------------------------------------------------
def _rounds(stage_steps: int, fade_steps: int, n_stages: int) -> int:
    return stage_steps + (n_stages - 1) * (fade_steps + stage_steps)


@register_preset
def progan_digits() -> Preset:
    return Preset(
        model="progan",
        config=ProGANConfig(data_shape=(1, 8, 8), latent_dim=32, widths=(32, 64), stage_steps=500, fade_steps=500),
        data="digits",
        train={"steps": _rounds(500, 500, 2) + 500, "batch_size": 64, "ema_decay": 0.99},
        description="progressive GAN on the 8x8 digits: 4x4, then 8x8 faded in over 500 rounds",
    )


@register_preset
def progan_mnist() -> Preset:
    return Preset(
        model="progan",
        # 7 -> 14 -> 28 in about 4 minutes on 2 cores with bf16: 14, 8 and 5.5 rounds/s at the three
        # resolutions; 28x28 is faded in by round 1,200 and trained alone for the last 500 (BENCHMARKS.md,
        # "Progressive growing and the style-based generator")
        config=ProGANConfig(data_shape=(1, 28, 28), latent_dim=64, widths=(16, 32, 64), stage_steps=300,
                            fade_steps=300),
        data="mnist",
        train={"steps": _rounds(300, 300, 3) + 200, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="progressive GAN on 28x28 grey digits: 7x7 -> 14x14 -> 28x28, WGAN-GP with drift",
    )


@register_preset
def progan_faces() -> Preset:
    return Preset(
        model="progan",
        config=ProGANConfig(data_shape=(3, 32, 32), latent_dim=64, widths=(16, 32, 64, 64), stage_steps=300,
                            fade_steps=300),
        data="faces",
        train={"steps": _rounds(300, 300, 4) + 300, "batch_size": 32, "ema_decay": 0.99, **FAST_CPU},
        description="progressive GAN on the 32x32 procedural faces: 4 -> 8 -> 16 -> 32",
    )

