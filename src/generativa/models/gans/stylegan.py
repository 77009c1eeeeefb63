"""The style-based generator (Karras et al. 2019, arXiv:1812.04948), in the weight-modulated form of
StyleGAN2 (Karras et al. 2020, arXiv:1912.04958).

z ~ N(0, I): latent (B, latent_dim);  w = f(z): intermediate latent (B, w_dim), f the mapping network;
ws: one w per layer (B, n_ws, w_dim), the "styles";  s = A(w): a layer's style, one scale per input
channel;  psi: truncation;  w_avg: the running mean of w.

* Mapping network f: pixel norm of z, then ``mapping_layers`` dense layers with leaky ReLU
  [2019, Sec. 2; 8 layers there], trained at 1 / 100 of the learning rate (a ``ParamGroup`` with
  lr_scale 0.01) [2019, Sec. C].
* Synthesis: a learned constant (C_0, s_0, s_0) [2019, Sec. 2], then per resolution two 3x3
  modulated convolutions (the first after a 2x upsampling), each followed by per-pixel noise scaled by
  a learned strength [2019, Sec. 3.2], a bias and leaky ReLU (times sqrt 2); the image is the sum of
  every resolution's 1x1 "toRGB" output, upsampled ("skip" generator) [2020, Sec. 4.1, Fig. 7].
* Modulated convolution [2020, eq. 1-3]: w'_ijk = s_i w_ijk, then demodulation
  w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps): for inputs of unit variance the outputs keep unit
  variance whatever the style, which replaces AdaIN's instance normalisation. Computed as
  conv(x * s, w) * d (the paper's "non-fused" form: one shared weight, no grouped convolution).
* Style mixing regularisation [2019, Sec. 3.1]: with probability ``style_mixing`` a second z drives
  the layers after a random crossover point.
* Truncation trick in W [2019, Sec. 3.1, eq. in App. B]: w' = w_avg + psi (w - w_avg) at sampling
  (the ``psi`` option); psi = 0 gives the average image.
* Loss: non-saturating logistic [Goodfellow et al. 2014] with the R1 penalty
  (gamma / 2) E ||grad D(x)||^2 on real images [Mescheder et al. 2018, eq. 9], computed every
  ``r1_every`` rounds and scaled by r1_every ("lazy regularisation"); the discriminator's Adam then
  takes lr c and betas^c with c = k / (k + 1) [2020, Sec. 3.1, App. B].
* Differentiable augmentation (``augment``, Zhao et al. 2020, arXiv:2006.10738): the same random,
  differentiable transformations (colour, translation, cutout) applied to every image the
  discriminator sees, real or generated, so a small dataset is not memorised.

Departures: no path-length regulariser; upsampling is bilinear interpolation before the convolution
(the paper uses a transposed convolution with a FIR low-pass filter); the discriminator is not the
residual one: either the progressive GAN's (``discriminator="progressive"``,
``equalized.ProgressiveDiscriminator`` at its last stage, with the minibatch standard deviation) or
DCGAN's (``discriminator="dcgan"``, ``networks.DCGANDiscriminator`` with layer norm, so the R1
penalty stays per example); far fewer channels and mapping layers, and resolutions from 4 or 7 pixels.

On 28x28 digits with a few thousand rounds the progressive discriminator lets this generator
collapse to a few near-identical digit shapes, at every setting tried (learning rates 2e-4 to 2e-3
and the discriminator's 4x slower or 8x faster, R1 weight 0 to 1, lazy or every round, minibatch-stddev
groups of 1 to 16, translation augmentation); the same generator, loss, R1 and optimiser against the
DCGAN discriminator keep the samples as varied as the data (BENCHMARKS.md). ``stylegan_mnist``
and ``stylegan_faces`` therefore use the DCGAN discriminator (on faces the progressive one gives
noisy faces after 2,000 rounds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import (
    AdversarialModel,
    Batch,
    Capabilities,
    LossOutput,
    ModelConfig,
    ParamGroup,
    Player,
    SampleOption,
    trainable,
)
from generativa.models.gans import losses
from generativa.models.gans.dcgan import FAST_CPU
from generativa.models.gans.equalized import (
    EqualizedLinear,
    ProgressiveDiscriminator,
    lrelu,
    pixel_norm,
    resolutions,
    stage_widths,
)
from generativa.models.gans.gan import _frozen, _noise
from generativa.models.gans.networks import DCGANDiscriminator
from generativa.registry import Preset, register_model, register_preset

Augment = Literal["none", "translation", "color,translation", "color,translation,cutout"]
NoiseMode = Literal["random", "const", "none"]
DiscriminatorKind = Literal["progressive", "dcgan"]
ACT_GAIN = math.sqrt(2.0)  # leaky ReLU's output scaled back to unit variance, as the paper's code


@dataclass(frozen=True)
class StyleGANConfig(ModelConfig):
    latent_dim: int = 64
    w_dim: int = 64
    mapping_layers: int = 4          # [2019: 8]
    mapping_lr_scale: float = 0.01   # [2019, App. C]
    widths: tuple[int, ...] = (32, 64, 64, 64, 64)  # synthesis channels per resolution, full resolution first
    style_mixing: float = 0.9        # probability of mixing regularisation [2019, Sec. 3.1]
    r1_gamma: float = 0.1            # gamma; the paper's values run from 0.01 (CIFAR-10) to 10 (FFHQ 1024)
    r1_every: int = 16               # lazy R1: every k rounds [2020, Sec. 3.1]
    w_avg_beta: float = 0.995        # running mean of w for truncation [the paper's code]
    augment: Augment = "none"        # differentiable augmentation [Zhao et al. 2020]
    discriminator: DiscriminatorKind = "progressive"   # see the module docstring's departures
    group_size: int = 4              # progressive discriminator's minibatch standard deviation group
    d_width: int = 32                # DCGAN discriminator's channels at full resolution, doubled per halving
    lr: float = 2e-3                 # [2020, App. B]
    betas: tuple[float, float] = (0.0, 0.99)


PSI = SampleOption("psi", "float", 1.0, "the truncation trick in W: w = w_avg + psi (w - w_avg); 1 = off, 0 = the "
                   "average image (Karras et al. 2019)", minimum=0.0, maximum=2.0)
NOISE = SampleOption("noise", "str", "random", "per-pixel noise inputs: random (fresh draws), const (one fixed "
                     "draw per layer) or none", choices=("random", "const", "none"))


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, *, demodulate: bool = True,
                     eps: float = 1e-8) -> Tensor:
    """conv(x, w'') for x (B, C_in, H, W), effective weight (C_out, C_in, k, k), styles s (B, C_in).

    w' = s_i w_ijk [2020, eq. 1]; with demodulation each output j of each example is divided by
    sigma_j = sqrt(sum_ik w'_ijk^2 + eps) [eq. 2-3], so unit-variance inputs give unit-variance outputs."""
    out = F.conv2d(x * styles[:, :, None, None].to(x.dtype), weight, padding=weight.shape[-1] // 2)
    if demodulate:
        sigma_inv = torch.rsqrt((weight[None] * styles[:, None, :, None, None]).pow(2).sum(dim=(2, 3, 4)) + eps)
        out = out * sigma_inv[:, :, None, None].to(out.dtype)   # (B, C_out, 1, 1)
    return out


class StyledConv(nn.Module):
    """Modulated 3x3 convolution (optionally after a 2x upsampling), noise, bias, leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, size: int, *, up: bool = False):
        super().__init__()
        self.up = up
        self.affine = EqualizedLinear(w_dim, c_in, gain=1.0, bias_init=1.0)   # A: styles start at 1 [2019, Sec. 2]
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
        self.scale = 1.0 / math.sqrt(c_in * 9)   # equalised learning rate
        self.noise_strength = nn.Parameter(torch.zeros(()))   # B: learned per-layer scale [2019, Sec. 2]
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("noise_const", torch.randn(1, 1, size, size))
        self.size = size

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = modulated_conv2d(x, self.weight * self.scale, self.affine(w))
        if noise is not None:
            x = x + self.noise_strength * noise
        return lrelu(x + self.bias[None, :, None, None]) * ACT_GAIN


class ToRGB(nn.Module):
    """Modulated 1x1 convolution without demodulation, plus a bias [2020, Sec. 2.2]."""

    def __init__(self, c_in: int, channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, c_in, gain=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(channels, c_in, 1, 1))
        self.scale = 1.0 / math.sqrt(c_in)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return modulated_conv2d(x, self.weight * self.scale, self.affine(w), demodulate=False) + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """f: z (B, latent_dim) -> w (B, w_dim): pixel norm then dense layers with leaky ReLU [2019, Fig. 1b]."""

    def __init__(self, latent_dim: int, w_dim: int, layers: int):
        super().__init__()
        dims = [latent_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualizedLinear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: Tensor) -> Tensor:
        h = pixel_norm(z)
        for layer in self.layers:
            h = lrelu(layer(h))
        return h


class SynthesisNetwork(nn.Module):
    """g: ws (B, n_ws, w_dim) -> images (B, C, H, W) in model space.

    Layer i reads ws[:, i]: the constant's convolution reads w_0 and its toRGB w_1; resolution k >= 1
    reads w_{2k-1}, w_{2k} in its convolutions and w_{2k+1} in its toRGB (a toRGB shares its w with
    the next convolution, as in the paper's code), so n_ws = 2 x the number of resolutions."""

    def __init__(self, channels: int, sizes: tuple[int, ...], widths: tuple[int, ...], w_dim: int):
        super().__init__()
        self.sizes = tuple(sizes)
        self.const = nn.Parameter(torch.randn(widths[0], sizes[0], sizes[0]))   # [2019, Sec. 2]
        convs = [StyledConv(widths[0], widths[0], w_dim, sizes[0])]
        for k in range(1, len(sizes)):
            convs += [StyledConv(widths[k - 1], widths[k], w_dim, sizes[k], up=True),
                      StyledConv(widths[k], widths[k], w_dim, sizes[k])]
        self.convs = nn.ModuleList(convs)
        self.to_rgb = nn.ModuleList(ToRGB(w, channels, w_dim) for w in widths)
        self.n_ws = 2 * len(sizes)

    def layer_resolutions(self) -> list[int]:
        """The resolution of the layers each w index drives, by index: w_{2k}, w_{2k+1} act at resolution k
        (w_{2k+1} also drives resolution k + 1's first, upsampling convolution)."""
        return [self.sizes[i // 2] for i in range(self.n_ws)]

    def forward(self, ws: Tensor, noise: NoiseMode = "random", generator: torch.Generator | None = None) -> Tensor:
        B = ws.shape[0]
        x = self.const[None].expand(B, -1, -1, -1).to(ws.dtype)

        def noise_for(conv: StyledConv) -> Tensor | None:
            if noise == "none":
                return None
            if noise == "const":
                return conv.noise_const
            shape = (B, 1, conv.size, conv.size)
            if generator is not None:
                return torch.randn(shape, generator=generator, device=ws.device).to(ws.dtype)
            return _noise(torch.randn, shape, ws)

        x = self.convs[0](x, ws[:, 0], noise_for(self.convs[0]))
        rgb = self.to_rgb[0](x, ws[:, 1])
        for k in range(1, len(self.sizes)):
            x = self.convs[2 * k - 1](x, ws[:, 2 * k - 1], noise_for(self.convs[2 * k - 1]))
            x = self.convs[2 * k](x, ws[:, 2 * k], noise_for(self.convs[2 * k]))
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + self.to_rgb[k](x, ws[:, 2 * k + 1])
        return rgb


def mix_styles(w1: Tensor, w2: Tensor, cutoff: int, n_ws: int) -> Tensor:
    """ws (B, n_ws, w_dim): w1 for layers before ``cutoff``, w2 from it on [2019, Sec. 3.1]."""
    ws = w1[:, None].expand(-1, n_ws, -1)
    if cutoff >= n_ws:
        return ws.contiguous()
    return torch.cat([ws[:, :cutoff], w2[:, None].expand(-1, n_ws - cutoff, -1)], dim=1)


def diff_augment(x: Tensor, policy: str) -> Tensor:
    """Differentiable augmentation [Zhao et al. 2020, the paper's policies]: ``color`` (brightness
    +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]), ``translation`` (up to 1/8 of the size, zero
    padded), ``cutout`` (a zeroed square of half the size). x in model space [-1, 1]; each draw is per
    example from the global random stream."""
    B, C, H, W = x.shape
    for op in policy.split(","):
        if op == "color":
            x = x + (_noise(torch.rand, (B, 1, 1, 1), x) - 0.5)
            mean = x.mean(dim=1, keepdim=True)
            x = (x - mean) * (_noise(torch.rand, (B, 1, 1, 1), x) * 2) + mean
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (_noise(torch.rand, (B, 1, 1, 1), x) + 0.5) + mean
        elif op == "translation":
            s = max(1, H // 8)
            shift = (_noise(torch.rand, (B, 2), x) * (2 * s + 1)).floor().long() - s   # in [-s, s]
            padded = F.pad(x, (s, s, s, s))
            rows = (torch.arange(H, device=x.device)[None, :] + s - shift[:, :1])        # (B, H)
            cols = (torch.arange(W, device=x.device)[None, :] + s - shift[:, 1:])        # (B, W)
            idx_r = rows[:, None, :, None].expand(B, C, H, W + 2 * s)
            x = padded.gather(2, idx_r)
            x = x.gather(3, cols[:, None, None, :].expand(B, C, H, W))
        elif op == "cutout":
            h, w = H // 2, W // 2
            centre = (_noise(torch.rand, (B, 2), x) * torch.tensor([H, W], device=x.device)).long()
            r = torch.arange(H, device=x.device)[None, :, None]
            c = torch.arange(W, device=x.device)[None, None, :]
            inside = ((r - centre[:, :1, None]).abs() * 2 < h) & ((c - centre[:, 1:, None]).abs() * 2 < w)
            x = x * (~inside)[:, None].to(x.dtype)
        elif op != "none":
            raise ValueError(f"unknown augmentation {op!r}; use color, translation, cutout")
    return x


@register_model("stylegan")
class StyleGAN(AdversarialModel):
    config_class = StyleGANConfig
    CAPABILITIES = Capabilities(sample=True, sample_options=(PSI, NOISE), traits=frozenset({"critic", "styles"}))

    def __init__(self, config: StyleGANConfig):
        super().__init__(config)
        c = config
        shape = self.data_shape
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"the style-based generator needs square images (C, S, S), got data shape {shape}")
        if not 0.0 <= c.style_mixing <= 1.0:
            raise ValueError(f"style_mixing = {c.style_mixing} is a probability; give a value in [0, 1]")
        if c.r1_gamma < 0 or not 0.0 <= c.w_avg_beta < 1.0:
            raise ValueError(f"r1_gamma = {c.r1_gamma} must be >= 0 and w_avg_beta = {c.w_avg_beta} in [0, 1)")
        self.sizes = resolutions(shape[1])
        widths = stage_widths(c.widths, len(self.sizes), "stylegan")
        self.mapping = MappingNetwork(c.latent_dim, c.w_dim, c.mapping_layers)
        self.synthesis = SynthesisNetwork(shape[0], self.sizes, widths, c.w_dim)
        if c.discriminator == "progressive":
            self.discriminator = ProgressiveDiscriminator(shape[0], self.sizes, widths, group_size=c.group_size)
        elif c.discriminator == "dcgan":   # layer norm: per example, so the R1 gradient is too
            self.discriminator = DCGANDiscriminator(shape[0], shape[1], c.d_width, norm="layer")
        else:
            raise ValueError(f"discriminator = {c.discriminator!r}; choose 'progressive' or 'dcgan'")
        self.register_buffer("w_avg", torch.zeros(c.w_dim))
        self.register_buffer("progress_step", torch.zeros((), dtype=torch.long))  # rounds done (lazy R1)

    @property
    def n_ws(self) -> int:
        return self.synthesis.n_ws

    def on_step(self, step: int) -> None:
        self.progress_step.fill_(step)

    # -- spaces -----------------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        return x * 2.0 - 1.0

    def to_data_space(self, x: Tensor) -> Tensor:
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)

    def _augment(self, x: Tensor) -> Tensor:
        return x if self.config.augment == "none" else diff_augment(x, self.config.augment)

    def critic(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.discriminator(self.to_model_space(x))

    # -- the generator ----------------------------------------------------------------------------
    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """w_avg + psi (w - w_avg) [2019, App. B]; psi = 1 leaves w as it is."""
        return w if psi == 1.0 else torch.lerp(self.w_avg.to(w.dtype), w, psi)

    def _training_ws(self, n: int, like: Tensor) -> Tensor:
        """ws for a training batch, with style mixing regularisation [2019, Sec. 3.1]."""
        c = self.config
        z = _noise(torch.randn, (n, c.latent_dim), like)
        w = self.mapping(z)
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():   # the running mean of w (the truncation's centre) [the paper's code]
                self.w_avg.lerp_(w.detach().float().mean(0), 1.0 - c.w_avg_beta)
        u = _noise(torch.rand, (2,), like)   # (mix?, crossover) for the batch
        if c.style_mixing > 0 and float(u[0]) < c.style_mixing:
            cutoff = 1 + int(float(u[1]) * (self.n_ws - 1))   # 1 .. n_ws - 1
            w2 = self.mapping(_noise(torch.randn, (n, c.latent_dim), like))
            return mix_styles(w, w2, cutoff, self.n_ws)
        return mix_styles(w, w, self.n_ws, self.n_ws)

    # -- the two players' losses ------------------------------------------------------------------
    def discriminator_loss(self, batch: Batch) -> LossOutput:
        self.check_input(batch.x)
        c = self.config
        real = self.to_model_space(batch.x)
        with torch.no_grad():
            fake = self.synthesis(self._training_ws(real.shape[0], real))
        lazy = (c.r1_gamma > 0 and c.r1_every > 0 and int(self.progress_step) % c.r1_every == 0
                and torch.is_grad_enabled())   # a test loss (no_grad) leaves the penalty out
        if lazy:
            real = real.detach().requires_grad_(True)
        f_real = self.discriminator(self._augment(real))
        f_fake = self.discriminator(self._augment(fake))
        loss = losses.discriminator_loss("non_saturating", f_real, f_fake)
        terms: dict[str, Any] = {"d_real": torch.sigmoid(f_real).mean().detach(),
                                 "d_fake": torch.sigmoid(f_fake).mean().detach()}
        if lazy:
            (grad,) = torch.autograd.grad(f_real.sum(), real, create_graph=True)
            r1 = grad.float().pow(2).flatten(1).sum(1).mean()   # E ||grad D(x)||^2 [Mescheder et al. 2018, eq. 9]
            loss = loss + (c.r1_gamma / 2.0) * r1 * c.r1_every   # lazy: k times the penalty every k rounds
            terms["r1"] = r1.detach()
        return LossOutput(loss, terms)

    def generator_loss(self, batch: Batch) -> LossOutput:
        fake = self.synthesis(self._training_ws(batch.x.shape[0], batch.x))
        with _frozen(self.discriminator):
            f_fake = self.discriminator(self._augment(fake))
        return LossOutput(losses.generator_loss("non_saturating", f_fake), {})

    def players(self) -> list[Player]:
        c = self.config
        k = c.r1_every if c.r1_gamma > 0 and c.r1_every > 0 else 0
        ratio = k / (k + 1) if k else 1.0   # lazy regularisation's correction [2020, App. B]
        d_betas = (c.betas[0] ** ratio, c.betas[1] ** ratio)
        return [
            Player("discriminator", trainable([self.discriminator]), self.discriminator_loss, optimizer="adam",
                   lr=c.lr * ratio, betas=d_betas, ema=False),
            Player("generator",
                   [ParamGroup(trainable([self.synthesis]), name="synthesis"),
                    ParamGroup(trainable([self.mapping]), lr_scale=c.mapping_lr_scale, name="mapping")],
                   self.generator_loss, optimizer="adam", lr=c.lr, betas=tuple(c.betas)),
        ]

    # -- sampling ---------------------------------------------------------------------------------
    @torch.no_grad()
    def synthesize(self, ws: Tensor, *, noise: NoiseMode = "random", generator: torch.Generator | None = None) -> Tensor:
        """Images in [0, 1] from per-layer styles ws (B, n_ws, w_dim), networks in eval mode."""
        was = self.training
        self.eval()
        try:
            return self.to_data_space(self.synthesis(ws, noise=noise, generator=generator))
        finally:
            self.train(was)

    @torch.no_grad()
    def latents(self, n: int, *, generator: torch.Generator | None = None, psi: float = 1.0) -> Tensor:
        """n truncated w's (B, w_dim) from z ~ N(0, I)."""
        z = torch.randn((n, self.config.latent_dim), generator=generator, device=self.device)
        return self.truncate(self.mapping(z), psi)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, psi: float = 1.0,
               noise: str = "random", labels: Any = None) -> Tensor:
        if labels is not None:
            self.check_condition({"labels": labels})
        if noise not in NOISE.choices:
            raise ValueError(f"noise = {noise!r}; choose one of {', '.join(NOISE.choices)}")
        w = self.latents(n, generator=generator, psi=psi)
        return self.synthesize(mix_styles(w, w, self.n_ws, self.n_ws), noise=noise, generator=generator)  # type: ignore[arg-type]

    @torch.no_grad()
    def style_mix(self, w_coarse: Tensor, w_fine: Tensor, cutoff: int, *, noise: NoiseMode = "const",
                  generator: torch.Generator | None = None) -> Tensor:
        """Images whose first ``cutoff`` layers take w_coarse and the rest w_fine [2019, Fig. 3]."""
        return self.synthesize(mix_styles(w_coarse, w_fine, cutoff, self.n_ws), noise=noise, generator=generator)


# -- presets -------------------------------------------------------------------------------------
@register_preset
def stylegan_digits() -> Preset:
    return Preset(
        model="stylegan",
        config=StyleGANConfig(data_shape=(1, 8, 8), latent_dim=32, w_dim=32, widths=(32, 64)),
        data="digits",
        train={"steps": 2000, "batch_size": 64, "ema_decay": 0.99},
        description="style-based generator on the 8x8 digits (4x4 constant, 8x8 output)",
    )


@register_preset
def stylegan_mnist() -> Preset:
    return Preset(
        model="stylegan",
        # about 4 minutes on 2 cores with bf16 (BENCHMARKS.md); the DCGAN discriminator: the progressive
        # one lets this generator collapse at this budget (module docstring)
        config=StyleGANConfig(data_shape=(1, 28, 28), latent_dim=64, w_dim=64, widths=(16, 32, 64),
                              discriminator="dcgan"),
        data="mnist",
        train={"steps": 2400, "batch_size": 64, "ema_decay": 0.99, **FAST_CPU},
        description="style-based generator on 28x28 grey digits: 7x7 constant, styles at 7, 14 and 28 pixels",
    )


@register_preset
def stylegan_faces() -> Preset:
    return Preset(
        model="stylegan",
        # the DCGAN discriminator, as stylegan_mnist: with the progressive one the faces come out speckled
        # with noise after 2,000 rounds and split the factors no better (BENCHMARKS.md, style mixing on faces)
        config=StyleGANConfig(data_shape=(3, 32, 32), latent_dim=64, w_dim=64, widths=(16, 32, 64, 64),
                              discriminator="dcgan"),
        data="faces",
        train={"steps": 2000, "batch_size": 32, "ema_decay": 0.99, **FAST_CPU},
        description="style-based generator on the 32x32 procedural faces (styles at 4, 8, 16, 32 pixels)",
    )
