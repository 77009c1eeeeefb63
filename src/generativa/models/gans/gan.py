"""Generative adversarial network (Goodfellow et al. 2014, arXiv:1406.2661), the family's one model.

x: data, images (B, C, H, W) in [0, 1] (mapped to [-1, 1] inside) or vectors (B, D);
z ~ N(0, I): latent (B, latent_dim);  G(z): generator;  f = D(x): discriminator logit / critic value (B,).

Two players take turns [Goodfellow et al. 2014, Alg. 1]: the discriminator takes ``n_critic``
optimiser steps on its loss, then the generator takes one. The loss (``losses.py``) is a choice:
minimax, non-saturating, hinge or Wasserstein. The Lipschitz constraint of a Wasserstein critic is
weight clipping (``clip``, WGAN) or a gradient penalty (``gp_weight``, WGAN-GP). The variants the
course names are this model with other defaults, registered in their own files: ``dcgan.py``,
``conditional.py``, ``wgan.py``, ``wgan_gp.py``.

Each player draws its own z (and WGAN-GP its eps) from the global random stream (``torch.randn`` on
the batch's device), so a run resumed with the trainer's saved RNG state continues bit for bit.
Under data parallelism every process draws the noise of the whole global batch and keeps its own
slice (``_noise``): with one seed shared by the processes, N processes with batch B / N reproduce
one process with batch B. Fakes share the real batch's labels when the model is conditional.

``reuse_fakes`` (DCGAN's default): the discriminator step keeps the graph of G(z) and the generator
step that follows backpropagates through those same fakes instead of drawing new z, as the DCGAN
reference implementations do; it saves one generator forward pass per round. Off, the generator
draws fresh z [Goodfellow et al. 2014, Alg. 1], as WGAN and WGAN-GP do after n_critic steps.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from generativa.models.base import (
    LABELS,
    AdversarialModel,
    Batch,
    Capabilities,
    LossOutput,
    ModelConfig,
    Player,
    SampleOption,
    trainable,
)
from generativa.models.gans import losses
from generativa.models.gans.networks import (
    Conditioning,
    DCGANDiscriminator,
    DCGANGenerator,
    DiscriminatorNorm,
    MLPDiscriminator,
    MLPGenerator,
)
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    loss: losses.AdversarialLoss = "non_saturating"
    architecture: Literal["mlp", "dcgan"] = "mlp"
    latent_dim: int = 64
    hidden: tuple[int, ...] = (128, 128, 128)  # MLP hidden widths (the discriminator uses the same)
    base_width: int = 32            # DCGAN channels at full resolution; doubled at each halving
    d_norm: DiscriminatorNorm = "batch"  # DCGAN discriminator normalisation (MLPs have none)
    conditioning: Conditioning = "none"  # how labels enter the discriminator (needs num_classes > 0)
    embed_dim: int = 16             # label embedding size (generator input; discriminator "embedding")
    n_critic: int = 1               # discriminator steps per generator step [Arjovsky et al. 2017: 5]
    clip: float = 0.0               # weight clipping bound c, 0 = off [Arjovsky et al. 2017: 0.01]
    gp_weight: float = 0.0          # gradient penalty lambda, 0 = off [Gulrajani et al. 2017: 10]
    optimizer: Literal["adam", "adamw", "rmsprop"] | None = "adam"  # None: the training config's
    d_lr: float | None = None       # discriminator learning rate; None: the training config's lr
    g_lr: float | None = None       # generator learning rate; d_lr != g_lr is TTUR (Heusel et al. 2017)
    betas: tuple[float, float] | None = (0.5, 0.999)  # Adam's betas [Radford et al. 2016, Sec. 4]
    reuse_fakes: bool = False       # G's step reuses the last D step's z and G(z) (DCGAN reference code)


TRUNCATION = SampleOption(
    "truncation", "float", 0.0, "the truncation trick: latent components with |z_i| > truncation are redrawn "
    "(Brock et al. 2019, arXiv:1809.11096); smaller is more typical, less diverse; 0 = off", minimum=0.0)


@register_model("gan")
class GAN(AdversarialModel):
    config_class = GANConfig
    CAPABILITIES = Capabilities(sample=True, sample_options=(TRUNCATION,), traits=frozenset({"critic"}))

    def __init__(self, config: GANConfig):
        super().__init__(config)
        c = config
        if c.n_critic < 1:
            raise ValueError(f"n_critic = {c.n_critic}: the discriminator needs at least 1 step per round")
        if c.clip < 0 or c.gp_weight < 0:
            raise ValueError(f"clip = {c.clip} and gp_weight = {c.gp_weight} must be >= 0 (0 turns them off)")
        if c.gp_weight > 0 and c.architecture == "dcgan" and c.d_norm == "batch":
            raise ValueError(
                "a gradient penalty is taken per example, which batch norm in the critic breaks "
                "[Gulrajani et al. 2017, Sec. 4]; use d_norm='layer' or d_norm='none'"
            )
        if c.conditioning != "none" and c.num_classes < 1:
            raise ValueError(
                f"conditioning={c.conditioning!r} needs labelled data (num_classes > 0, got {c.num_classes}); "
                "train on a dataset with labels or set conditioning='none'"
            )
        self.conditional = c.conditioning != "none"
        embed_dim = c.embed_dim if self.conditional else 0
        num_classes = c.num_classes if self.conditional else 0
        shape = self.data_shape
        if c.architecture == "dcgan":
            if len(shape) != 3 or shape[1] != shape[2]:
                raise ValueError(
                    f"DCGAN networks need square images (C, S, S), got data shape {shape}; "
                    "use architecture='mlp' for vector data"
                )
            channels, size = shape[0], shape[1]
            self.generator = DCGANGenerator(c.latent_dim, channels, size, c.base_width,
                                            num_classes=num_classes, embed_dim=embed_dim)
            self.discriminator = DCGANDiscriminator(channels, size, c.base_width, norm=c.d_norm,
                                                    num_classes=num_classes, conditioning=c.conditioning,
                                                    embed_dim=embed_dim)
        else:
            self.generator = MLPGenerator(c.latent_dim, shape, c.hidden, num_classes=num_classes,
                                          embed_dim=embed_dim, image=len(shape) == 3)
            self.discriminator = MLPDiscriminator(shape, c.hidden, num_classes=num_classes,
                                                  conditioning=c.conditioning, embed_dim=embed_dim)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        return dataclasses.replace(capabilities, conditions=(LABELS,)) if self.conditional else capabilities

    # -- spaces -----------------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        """Images [0, 1] -> [-1, 1] (the range of the generator's tanh); vectors unchanged."""
        return x * 2.0 - 1.0 if self.is_image_model else x

    def to_data_space(self, x: Tensor) -> Tensor:
        return (x + 1.0) * 0.5 if self.is_image_model else x

    def _labels(self, batch: Batch) -> Tensor | None:
        return batch.labels if self.conditional else None

    def critic(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """f = D(x) for data in [0, 1] (images) or raw vectors; (B,)."""
        return self.discriminator(self.to_model_space(x), labels if self.conditional else None)

    # -- the two players' losses ------------------------------------------------------------------
    def discriminator_loss(self, batch: Batch) -> LossOutput:
        self.check_input(batch.x)
        kind = self.config.loss
        real = self.to_model_space(batch.x)
        labels = self._labels(batch)
        z = _noise(torch.randn, (real.shape[0], self.config.latent_dim), real)
        if self.config.reuse_fakes:
            kept = self.generator(z, labels)  # graph kept for the generator step that follows
            self._fakes = (kept, labels)
            fake = kept.detach()  # the generator is not trained by this loss [Alg. 1]
        else:
            with torch.no_grad():
                fake = self.generator(z, labels)
        f_real = self.discriminator(real, labels)
        f_fake = self.discriminator(fake, labels)
        loss = losses.discriminator_loss(kind, f_real, f_fake)
        terms: dict[str, Any] = {}
        if kind in ("minimax", "non_saturating"):  # D's probabilities sigmoid(f)
            terms["d_real"] = torch.sigmoid(f_real).mean().detach()
            terms["d_fake"] = torch.sigmoid(f_fake).mean().detach()
        else:  # raw critic values
            terms["d_real"] = f_real.mean().detach()
            terms["d_fake"] = f_fake.mean().detach()
        if kind == "wasserstein":
            # E f(x) - E f(G(z)): the critic's estimate of W1 (up to its Lipschitz constant) [Arjovsky et al. 2017, eq. 3]
            terms["wasserstein"] = (f_real.mean() - f_fake.mean()).detach()
        if self.config.gp_weight > 0:
            eps = _noise(torch.rand, (real.shape[0],), real)  # interpolation weights, U[0, 1]
            gp = losses.gradient_penalty(lambda x: self.discriminator(x, labels), real, fake, eps=eps)
            loss = loss + self.config.gp_weight * gp  # [Gulrajani et al. 2017, eq. 3]
            terms["gp"] = gp.detach()
        return LossOutput(loss, terms)

    def generator_loss(self, batch: Batch) -> LossOutput:
        kept, self._fakes = getattr(self, "_fakes", None), None
        if kept is not None and kept[0].shape[0] == batch.x.shape[0] and kept[0].requires_grad:
            fake, labels = kept
        else:
            labels = self._labels(batch)
            z = _noise(torch.randn, (batch.x.shape[0], self.config.latent_dim), batch.x)
            fake = self.generator(z, labels)
        with _frozen(self.discriminator):  # gradients flow through D to G, not into D's weights
            f_fake = self.discriminator(fake, labels)
        loss = losses.generator_loss(self.config.loss, f_fake)
        return LossOutput(loss, {})

    def players(self) -> list[Player]:
        c = self.config
        d_params = trainable([self.discriminator])
        g_params = trainable([self.generator])
        after_step = None
        if c.clip > 0:
            after_step = lambda: losses.clip_parameters_(d_params, c.clip)  # noqa: E731
        betas = tuple(c.betas) if c.betas is not None else None
        return [
            Player("discriminator", d_params, self.discriminator_loss, steps=c.n_critic,
                   optimizer=c.optimizer, lr=c.d_lr, betas=betas, after_step=after_step, ema=False),
            Player("generator", g_params, self.generator_loss, steps=1,
                   optimizer=c.optimizer, lr=c.g_lr, betas=betas),
        ]

    # -- sampling ---------------------------------------------------------------------------------
    def sample_labels(self, n: int, labels: Any = None) -> Tensor | None:
        """labels=None -> classes 0, 1, ..., K-1, 0, ... (a balanced grid); an int -> that class for all."""
        if not self.conditional:
            if labels is not None:
                self.check_condition({"labels": labels})  # refused with what the model takes
            return None
        k = self.config.num_classes
        if labels is None:
            labels = torch.arange(n, device=self.device) % k
        elif isinstance(labels, int):
            labels = torch.full((n,), labels, dtype=torch.long, device=self.device)
        else:
            labels = torch.as_tensor(labels, dtype=torch.long, device=self.device).reshape(-1)
            if labels.numel() != n:
                raise ValueError(f"got {labels.numel()} labels for n = {n} samples; pass one label or n")
        if labels.min() < 0 or labels.max() >= k:
            raise ValueError(f"labels must be in 0..{k - 1}, got {labels.min().item()}..{labels.max().item()}")
        return labels

    @torch.no_grad()
    def generate(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """G(z) in data space ([0, 1] images or vectors), networks in eval mode (running BN statistics)."""
        was_training = self.training
        self.eval()
        try:
            return self.to_data_space(self.generator(z, labels))
        finally:
            self.train(was_training)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, truncation: float = 0.0,
               labels: Any = None) -> Tensor:
        """G(z) for n draws z ~ N(0, I), or the normal truncated to [-truncation, truncation] per component."""
        return self.generate(latent_noise((n, self.config.latent_dim), truncation, generator, self.device),
                             self.sample_labels(n, labels))


def latent_noise(shape: tuple[int, ...], truncation: float, generator: torch.Generator | None,
                 device: torch.device) -> Tensor:
    """N(0, I) noise, or with ``truncation`` t > 0 the normal truncated to [-t, t] per component, drawn
    by inverting the CDF (u ~ U(Phi(-t), Phi(t)), z = Phi^{-1}(u)): one draw, same generator use."""
    if truncation <= 0:
        return torch.randn(shape, generator=generator, device=device)
    u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
    t = torch.tensor(truncation, dtype=torch.float64, device=device)
    lo = torch.special.ndtr(-t)
    return torch.special.ndtri(lo + u * (1.0 - 2.0 * lo)).float()


def _noise(draw, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """``draw(shape)`` (torch.randn / torch.rand) on ``like``'s device and dtype, drawn for the global
    batch when torch.distributed runs and sliced to this process's examples."""
    world, rank = 1, 0
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
    n = shape[0]
    full = draw((n * world, *shape[1:]), device=like.device, dtype=like.dtype)
    return full[rank * n:(rank + 1) * n]


@contextmanager
def _frozen(module: nn.Module):
    """Record a forward pass without gradients for ``module``'s own parameters (inputs still get them)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


# -- presets -------------------------------------------------------------------------------------
@register_preset
def gan_toy1d() -> Preset:
    return Preset(
        model="gan",
        config=GANConfig(data_shape=(1,), latent_dim=1, hidden=(32, 32), loss="non_saturating"),
        data="toy1d:gaussian",
        train={"steps": 1500, "batch_size": 128, "lr": 1e-3},
        description="the course's 1-D example: a GAN learns one Gaussian (non-saturating loss)",
    )


@register_preset
def gan_toy2d() -> Preset:
    return Preset(
        model="gan",
        config=GANConfig(data_shape=(2,), latent_dim=2, hidden=(128, 128, 128), loss="non_saturating"),
        data="toy2d:ring8",
        train={"steps": 2000, "batch_size": 256, "lr": 1e-3},
        description="non-saturating GAN on a ring of 8 Gaussians (mode collapse to watch for)",
    )


@register_preset
def gan_minimax_toy2d() -> Preset:
    return Preset(
        model="gan",
        config=GANConfig(data_shape=(2,), latent_dim=2, hidden=(128, 128, 128), loss="minimax"),
        data="toy2d:ring8",
        train={"steps": 2000, "batch_size": 256, "lr": 1e-3},
        description="GAN with the original minimax generator loss on a ring of 8 Gaussians",
    )
