"""CycleGAN: unpaired image-to-image translation (Zhu et al. 2017, arXiv:1703.10593).

a, b: images of the two domains (B, C, H, W) in [0, 1] (mapped to [-1, 1] inside), from unpaired
sets (the batch's ``x`` and ``x_b``);  G: A -> B, F: B -> A, the two generators;  D_A, D_B: the two
discriminators (D_B tells real b from G(a)).

Losses [Sec. 3, eq. 1-3, 6; Sec. 4]:

    adversarial, least squares [Mao et al. 2017]:  D: E (D(real) - 1)^2 + E D(fake)^2 (each halved)
                                                   G: E (D_B(G(a)) - 1)^2 + E (D_A(F(b)) - 1)^2
    cycle consistency:   lambda (E |F(G(a)) - a| + E |G(F(b)) - b|),            lambda = 10
    identity [Sec. 5.2]: lambda_id lambda (E |G(b) - b| + E |F(a) - a|),          lambda_id = 0.5

The discriminators see generated images through a history of the last 50 (``ImagePool``): each new
fake is returned as is, or, half the time once the pool is full, swapped for a stored older one
[Sec. 4, after Shrivastava et al. 2017]. The pool is a buffer, saved with the weights, so a resumed run
continues bit for bit.

Networks [Sec. 4, App. 7.2, scaled down]: the generator is Johnson et al. (2016)'s: a 7x7 convolution,
two stride-2 convolutions, residual blocks, then two upsampling steps back, a 7x7 convolution and
tanh, with instance norm and reflection padding. Upsampling is resize-then-convolve (nearest 2x,
then a 3x3 convolution; Odena et al. 2016, "Deconvolution and checkerboard artifacts") instead of
the paper's transposed convolutions, so no checkerboard pattern. The discriminator is a PatchGAN:
4x4 stride-2 convolutions with leaky ReLU and instance norm, ending in a map of real/fake scores,
one per overlapping patch.

The players: the generators (G and F together) step first, then the discriminators (D_A and D_B
together) on the generator step's fakes through the pool, as the paper's code orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from generativa.models.base import (
    AdversarialModel,
    Batch,
    Capabilities,
    Condition,
    LossOutput,
    ModelConfig,
    Player,
    trainable,
)
from generativa.models.gans.dcgan import FAST_CPU
from generativa.models.gans.gan import _frozen
from generativa.models.gans.networks import dcgan_levels
from generativa.registry import Preset, register_model, register_preset

DOMAIN = Condition("domain", "the domain to translate to, 'a' or 'b' (translate); the domain the images come "
                   "from (reconstruct: a -> b -> a)")


@dataclass(frozen=True)
class CycleGANConfig(ModelConfig):
    base_width: int = 16          # generator channels at full resolution, doubled at each downsampling [paper: 64]
    res_blocks: int = 3           # residual blocks at the lowest resolution [paper: 6 for 128x128, 9 for 256x256]
    d_base_width: int = 16        # discriminator channels of its first layer [paper: 64]
    cycle_weight: float = 10.0    # lambda [Sec. 4]
    identity_weight: float = 0.5  # lambda_id, relative to lambda [Sec. 5.2]
    pool_size: int = 50           # image history [Sec. 4]
    lr: float = 2e-4              # Adam [Sec. 4]
    betas: tuple[float, float] = (0.5, 0.999)


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=True)


class _Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c), nn.ReLU(inplace=True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _down_steps(size: int, most: int) -> int:
    """Halvings that keep the resolution an integer of at least 4 pixels, at most ``most``."""
    return min(dcgan_levels(size)[1], most)


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, R x res_blocks, u2k, uk, c7s1-C [Zhu et al. 2017, App. 7.2], with resize-convolutions."""

    def __init__(self, channels: int, size: int, base_width: int, res_blocks: int):
        super().__init__()
        n_down = _down_steps(size, 2)
        w = base_width
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, w, 7), _norm(w), nn.ReLU(inplace=True)]
        for _ in range(n_down):
            layers += [nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), _norm(2 * w), nn.ReLU(inplace=True)]
            w *= 2
        layers += [_Residual(w) for _ in range(res_blocks)]
        for _ in range(n_down):   # resize, then convolve [Odena et al. 2016]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(w, w // 2, 3),
                       _norm(w // 2), nn.ReLU(inplace=True)]
            w //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """4x4 stride-2 convolutions (C16-C32-...), a 3x3 convolution, then one score per patch, (B, 1, h, w)."""

    def __init__(self, channels: int, size: int, base_width: int):
        super().__init__()
        n_down = _down_steps(size, 3)
        w = base_width
        layers: list[nn.Module] = [nn.Conv2d(channels, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), _norm(2 * w), nn.LeakyReLU(0.2, inplace=True)]
            w *= 2
        layers += [nn.Conv2d(w, 2 * w, 3, padding=1), _norm(2 * w), nn.LeakyReLU(0.2, inplace=True),
                   nn.Conv2d(2 * w, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ImagePool(nn.Module):
    """The last ``size`` generated images [Shrivastava et al. 2017; Zhu et al. 2017, Sec. 4].

    ``query(fakes)``: per image, while the pool is filling, store it and return it; once full, with
    probability 1/2 return a stored image chosen uniformly and store the new one in its place, else
    return the new one. The draws come from the global random stream; the pool is buffers."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        out = []
        for image in fakes:
            n = int(self.count)
            if n < self.size:
                self.images[n].copy_(image)
                self.count.add_(1)
                out.append(image)
                continue
            u = torch.rand(2, device=fakes.device)
            if float(u[0]) < 0.5:
                i = min(int(float(u[1]) * self.size), self.size - 1)
                out.append(self.images[i].clone().to(image.dtype))
                self.images[i].copy_(image)
            else:
                out.append(image)
        return torch.stack(out)


def _lsgan_d(f_real: Tensor, f_fake: Tensor) -> Tensor:
    """0.5 [E (D(real) - 1)^2 + E D(fake)^2] [Mao et al. 2017, eq. 9 with a = 0, b = c = 1; halved as the paper's code]."""
    return 0.5 * ((f_real.float() - 1.0).pow(2).mean() + f_fake.float().pow(2).mean())


def _lsgan_g(f_fake: Tensor) -> Tensor:
    return (f_fake.float() - 1.0).pow(2).mean()


@register_model("cyclegan")
class CycleGAN(AdversarialModel):
    config_class = CycleGANConfig
    CAPABILITIES = Capabilities(reconstruct=True, translate=True, conditions=(DOMAIN,), domains=2,
                                traits=frozenset({"translation"}))

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        c = config
        shape = self.data_shape
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"cyclegan translates square images (C, S, S), got data shape {shape}")
        channels, size = shape[0], shape[1]
        self.g_ab = ResnetGenerator(channels, size, c.base_width, c.res_blocks)   # G: A -> B
        self.g_ba = ResnetGenerator(channels, size, c.base_width, c.res_blocks)   # F: B -> A
        self.d_a = PatchDiscriminator(channels, size, c.d_base_width)
        self.d_b = PatchDiscriminator(channels, size, c.d_base_width)
        self.pool_a = ImagePool(c.pool_size, shape)   # fakes F(b), shown to D_A
        self.pool_b = ImagePool(c.pool_size, shape)   # fakes G(a), shown to D_B
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):   # N(0, 0.02) [the paper's code]
            for m in net.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0.0, 0.02)
                    nn.init.zeros_(m.bias)
        self._fakes: tuple[Tensor, Tensor] | None = None

    # -- spaces -----------------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        return x * 2.0 - 1.0

    def to_data_space(self, x: Tensor) -> Tensor:
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)

    def _domains(self, batch: Batch) -> tuple[Tensor, Tensor]:
        if batch.x_b is None:
            raise ValueError("cyclegan needs a batch of each domain (x and x_b); train on data split with the data "
                             "option domains= (thickness, slant or factor:NAME=A,B)")
        self.check_input(batch.x)
        self.check_input(batch.x_b)
        return self.to_model_space(batch.x), self.to_model_space(batch.x_b)

    # -- the two players' losses ------------------------------------------------------------------
    def generator_loss(self, batch: Batch) -> LossOutput:
        """Adversarial (least squares) + lambda cycle + lambda_id lambda identity [eq. 3; Sec. 5.2]."""
        c = self.config
        a, b = self._domains(batch)
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        with _frozen(self.d_a), _frozen(self.d_b):
            adversarial = _lsgan_g(self.d_b(fake_b)) + _lsgan_g(self.d_a(fake_a))
        cycle = (self.g_ba(fake_b) - a).abs().mean() + (self.g_ab(fake_a) - b).abs().mean()   # [eq. 2]
        loss = adversarial + c.cycle_weight * cycle
        terms: dict[str, Any] = {"adversarial": adversarial.detach(), "cycle": cycle.detach()}
        if c.identity_weight > 0:
            identity = (self.g_ab(b) - b).abs().mean() + (self.g_ba(a) - a).abs().mean()   # [eq. 6 of Sec. 5.2]
            loss = loss + c.identity_weight * c.cycle_weight * identity
            terms["identity"] = identity.detach()
        self._fakes = (fake_a.detach(), fake_b.detach())
        return LossOutput(loss, terms)

    def discriminator_loss(self, batch: Batch) -> LossOutput:
        a, b = self._domains(batch)
        kept, self._fakes = self._fakes, None
        if kept is None or kept[0].shape != a.shape or kept[1].shape != b.shape:
            with torch.no_grad():
                kept = (self.g_ba(b), self.g_ab(a))
        fake_a, fake_b = kept
        if torch.is_grad_enabled():   # training: through the history; a test loss leaves the pools alone
            fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        loss_a = _lsgan_d(self.d_a(a), self.d_a(fake_a))
        loss_b = _lsgan_d(self.d_b(b), self.d_b(fake_b))
        return LossOutput(loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()})

    def players(self) -> list[Player]:
        c = self.config
        betas = tuple(c.betas)
        return [
            Player("generator", trainable([self.g_ab, self.g_ba]), self.generator_loss, optimizer="adam",
                   lr=c.lr, betas=betas),
            Player("discriminator", trainable([self.d_a, self.d_b]), self.discriminator_loss, optimizer="adam",
                   lr=c.lr, betas=betas, ema=False),
        ]

    # -- translation ------------------------------------------------------------------------------
    def _check_domain(self, domain: str) -> str:
        if domain not in ("a", "b"):
            raise ValueError(f"domain = {domain!r}; use 'a' or 'b'")
        return domain

    @torch.no_grad()
    def translate(self, x: Tensor, *, domain: str = "b") -> Tensor:
        """Images in [0, 1] of the other domain translated to ``domain``: G(x) for 'b', F(x) for 'a'."""
        self.check_input(x)
        net = self.g_ab if self._check_domain(domain) == "b" else self.g_ba
        was = self.training
        self.eval()
        try:
            return self.to_data_space(net(self.to_model_space(x)))
        finally:
            self.train(was)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, *, domain: str = "a") -> Tensor:
        """The cycle: images of ``domain`` there and back, F(G(x)) for 'a' (the default), G(F(x)) for 'b'."""
        other = "b" if self._check_domain(domain) == "a" else "a"
        return self.translate(self.translate(x, domain=other), domain=domain)


# -- presets -------------------------------------------------------------------------------------
@register_preset
def cyclegan_digits() -> Preset:
    return Preset(
        model="cyclegan",
        config=CycleGANConfig(data_shape=(1, 8, 8), base_width=16, res_blocks=2, d_base_width=16),
        data="digits",
        data_options={"domains": "thickness"},
        train={"steps": 1500, "batch_size": 32, **FAST_CPU},
        description="CycleGAN between thin and thick strokes of the 8x8 digits",
    )


@register_preset
def cyclegan_mnist() -> Preset:
    return Preset(
        model="cyclegan",
        config=CycleGANConfig(data_shape=(1, 28, 28), base_width=16, res_blocks=3, d_base_width=16),
        data="mnist",
        data_options={"domains": "thickness"},
        train={"steps": 1500, "batch_size": 16, **FAST_CPU},
        description="CycleGAN between thin and thick strokes of 28x28 digits (unpaired: each class split at its median ink)",
    )


@register_preset
def cyclegan_faces() -> Preset:
    return Preset(
        model="cyclegan",
        config=CycleGANConfig(data_shape=(3, 32, 32), base_width=16, res_blocks=3, d_base_width=16),
        data="faces",
        data_options={"domains": "factor:glasses=0,1"},
        train={"steps": 1500, "batch_size": 16, **FAST_CPU},
        description="CycleGAN between faces without and with glasses (the procedural faces' glasses factor)",
    )
