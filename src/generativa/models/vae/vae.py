"""Variational autoencoder (Kingma & Welling 2014, arXiv:1312.6114) and beta-VAE (Higgins et al. 2017).

x: data (B, C, H, W) in [0, 1] (or vectors (B, D));  z: latent (B, L);
q(z|x) = N(mu, diag(sigma^2)) with sigma = exp(0.5 log_var);  p(z) = N(0, I);  p(x|z) from the decoder.

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))          [Kingma & Welling 2014, eq. 3 and 10]
    loss    = -E_q[log p(x|z)] + beta KL                       [Higgins et al. 2017, eq. 4; beta = 1 is the ELBO]

Decoder likelihoods (``likelihood``):

* ``bernoulli``: the decoder gives logits; log p(x|z) = -BCE(logits, x) summed over pixels. On grey
  levels in [0, 1] this is the usual *non-normalised* convention (a Bernoulli is a distribution on
  {0, 1} only), so its "nats" are not a density of the 256-level data; every number states it.
* ``gaussian``: mean = sigmoid(decoder output) for images (the raw output for vector data), fixed sigma (``sigma``) or one learned sigma per model
  (``learn_sigma``); a continuous density on [0, 1]^D, with no dequantisation.

``log_prob(x, k)`` is the importance-sampled estimate of log p(x) [Burda et al. 2015, eq. 8], a lower
bound in expectation that tightens as k grows; it serves every model of this family (IWAE, CVAE, flow
posterior) through ``log_weights``. Samples and reconstructions are decoder *means* (probabilities for
Bernoulli), not draws from p(x|z).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import TEMPERATURE, Batch, Capabilities, GenerativeModel, LossOutput, ModelConfig
from generativa.nn import MLP, ConvDecoder, ConvEncoder
from generativa.nn.layers import Activation
from generativa.registry import Preset, register_model, register_preset

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    latent_dim: int = 16
    architecture: Literal["conv", "mlp"] = "conv"
    widths: tuple[int, ...] = (32, 64, 128)   # conv encoder channels; the decoder uses them reversed
    hidden: tuple[int, ...] = (256, 128)      # MLP hidden widths; the decoder uses them reversed
    activation: Activation = "relu"
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    sigma: float = 0.1                        # Gaussian decoder std (the initial value when learned)
    learn_sigma: bool = False                 # one learned log sigma for the whole image
    beta: float = 1.0                         # weight of the KL term; 1 is the ELBO, > 1 is beta-VAE


# -- the math, as functions anyone can test ---------------------------------------------------------
def reparameterize(mu: Tensor, log_var: Tensor, *, generator: torch.Generator | None = None,
                   n: int | None = None) -> Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I), sigma = exp(0.5 log_var) [Kingma & Welling 2014, eq. 4 / sec. 2.4].

    (Not 0.5 * exp(log_var), a slip found on slides.) With ``n``, draws n samples: (n, B, L).
    """
    shape = mu.shape if n is None else (n, *mu.shape)
    eps = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * log_var) * eps


def kl_to_standard_normal(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) per example, (B, L) -> (B,) [Kingma & Welling 2014, appendix B]:
    0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2). Zero exactly when mu = 0 and log_var = 0."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)


def log_normal_diag(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z; mu, diag exp(log_var)), summed over the last dimension."""
    return -0.5 * (LOG_2PI + log_var + (z - mu).pow(2) * torch.exp(-log_var)).sum(-1)


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


def bits_per_dim(nats: Tensor | float, data_shape: tuple[int, ...]) -> Tensor | float:
    """Negative log-likelihood in nats per example -> bits per dimension: nats / (D ln 2)."""
    return nats / (math.prod(data_shape) * math.log(2.0))


# -- the model ---------------------------------------------------------------------------------------
@register_model("vae")
class VAE(GenerativeModel):
    """A VAE with an MLP or conv encoder/decoder; ``beta`` in the config makes it a beta-VAE."""

    config_class: ClassVar[type] = VAEConfig
    CAPABILITIES = Capabilities(sample=True, latent="gaussian", reconstruct=True, log_prob="bound",
                                sample_options=(TEMPERATURE,))

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        if config.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {config.latent_dim}")
        if config.sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {config.sigma}")
        if config.architecture == "conv" and len(config.data_shape) != 3:
            raise ValueError(
                f"architecture='conv' needs image data (C, H, W), got data_shape={config.data_shape}; "
                "use architecture='mlp' for vectors"
            )
        if len(config.data_shape) != 3 and config.likelihood == "bernoulli":
            raise ValueError(f"the Bernoulli decoder is for images in [0, 1]; data_shape={config.data_shape} is "
                             "vector data: pass likelihood='gaussian' (and architecture='mlp')")
        cond = self._condition_size()
        L = config.latent_dim
        if config.architecture == "conv":
            C, H, W = config.data_shape
            if H != W:
                raise ValueError(f"the conv VAE needs square images, got {H}x{W}; resize (data.size=...)")
            # the encoder's last Linear gives [mu, log_var] directly, (B, C + cond, H, W) -> (B, 2L)
            self.encoder = ConvEncoder(C + cond, H, 2 * L, widths=config.widths, activation=config.activation)
            self.decoder = ConvDecoder(L + cond, C, H, widths=tuple(reversed(config.widths)),
                                       activation=config.activation)
        else:
            D = math.prod(config.data_shape)
            self.encoder = MLP(D + cond, config.hidden, 2 * L, activation=config.activation)
            self.decoder = MLP(L + cond, tuple(reversed(config.hidden)), D, activation=config.activation)
        log_sigma = torch.tensor(math.log(config.sigma))
        if config.learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        """States what the nats of ``log_prob`` are; printed next to every number."""
        if self.config.likelihood == "bernoulli":
            convention = ("Bernoulli decoder on grey levels in [0, 1] (a common non-normalised convention: not a "
                          "probability of the 256-level image); lower bound estimated by importance sampling")
        else:
            convention = ("Gaussian decoder density on [0, 1]^D, no dequantisation (not a probability of the "
                          "256-level image); lower bound estimated by importance sampling")
        return dataclasses.replace(capabilities, likelihood_convention=convention)

    # -- conditioning hooks (the CVAE overrides them) ---------------------------------------------
    def _condition_size(self) -> int:
        return 0

    def _condition(self, labels: Tensor | None, batch_size: int, device, dtype) -> Tensor | None:
        return None

    def _encoder_input(self, x: Tensor, cond: Tensor | None) -> Tensor:
        if self.config.architecture == "mlp":
            x = x.flatten(1)
            return x if cond is None else torch.cat([x, cond], dim=1)
        if cond is None:
            return x
        maps = cond[:, :, None, None].expand(-1, -1, *x.shape[2:])  # one-hot as constant planes
        return torch.cat([x, maps], dim=1)

    def _decoder_input(self, z: Tensor, cond: Tensor | None) -> Tensor:
        return z if cond is None else torch.cat([z, cond], dim=1)

    # -- q(z|x), p(x|z) -----------------------------------------------------------------------------
    def posterior(self, x: Tensor, *, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Parameters of q(z|x): (mu, log_var), each (B, L)."""
        self.check_input(x)
        cond = self._condition(labels, x.shape[0], x.device, x.dtype)
        h = self.encoder(self._encoder_input(x, cond))
        mu, log_var = h.float().chunk(2, dim=-1)  # the probability math stays fp32 under bf16 autocast
        return mu, log_var

    def decoder_output(self, z: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """Raw decoder output for z (B, L): logits (Bernoulli) or pre-sigmoid means (Gaussian), data-shaped."""
        cond = self._condition(labels, z.shape[0], z.device, z.dtype)
        out = self.decoder(self._decoder_input(z, cond))
        return out.float().view(z.shape[0], *self.data_shape)

    def log_likelihood(self, x: Tensor, out: Tensor) -> Tensor:
        """log p(x|z) per example from the raw decoder output ``out`` (same shape as x) -> (B,)."""
        if self.config.likelihood == "bernoulli":
            ll = -F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            log_sigma = self.log_sigma
            ll = -0.5 * LOG_2PI - log_sigma - 0.5 * ((x - self._mean(out)) * torch.exp(-log_sigma)).pow(2)
        return ll.flatten(1).sum(-1)

    def sample_posterior(self, x: Tensor, n: int, *, labels: Tensor | None = None,
                         generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """n draws z ~ q(z|x) and their log q(z|x): (n, B, L) and (n, B). The flow posterior overrides it."""
        mu, log_var = self.posterior(x, labels=labels)
        z = reparameterize(mu, log_var, generator=generator, n=n)
        return z, log_normal_diag(z, mu, log_var)

    def log_weights(self, x: Tensor, k: int, *, labels: Tensor | None = None,
                    generator: torch.Generator | None = None) -> Tensor:
        """log w_i = log p(x, z_i) - log q(z_i|x) for k draws z_i ~ q(z|x): (k, B) [Burda et al. 2015, eq. 8]."""
        z, log_q = self.sample_posterior(x, k, labels=labels, generator=generator)
        B = x.shape[0]
        flat = z.reshape(k * B, -1)
        xs = x.unsqueeze(0).expand(k, *x.shape).reshape(k * B, *x.shape[1:])
        ys = None if labels is None else labels.unsqueeze(0).expand(k, B).reshape(-1)
        log_px_z = self.log_likelihood(xs, self.decoder_output(flat, labels=ys)).view(k, B)
        return log_px_z + log_standard_normal(z) - log_q

    # -- the contract -------------------------------------------------------------------------------
    def loss(self, batch: Batch) -> LossOutput:
        """-E_q[log p(x|z)] + beta KL, one reparameterised draw, closed-form KL [Kingma & Welling 2014, eq. 10]."""
        x, labels = batch.x, batch.labels
        mu, log_var = self.posterior(x, labels=labels)
        z = reparameterize(mu, log_var)
        reconstruction = -self.log_likelihood(x, self.decoder_output(z, labels=labels))  # (B,)
        kl = kl_to_standard_normal(mu, log_var)                                           # (B,)
        return self._loss_output(reconstruction, kl)

    def _loss_output(self, reconstruction: Tensor, kl: Tensor) -> LossOutput:
        """loss = reconstruction + beta KL; logs the two terms, and -ELBO where beta != 1 makes it differ."""
        loss = (reconstruction + self.config.beta * kl).mean()
        neg_elbo = (reconstruction + kl).mean().detach()
        terms: dict[str, Tensor | float] = {
            "reconstruction": reconstruction.mean().detach(),
            "kl": kl.mean().detach(),
            "neg_elbo_bits_per_dim": bits_per_dim(neg_elbo, self.data_shape),
        }
        if self.config.beta != 1.0:
            terms["neg_elbo"] = neg_elbo
        if self.config.learn_sigma:
            terms["sigma"] = self.log_sigma.detach().exp()
        return LossOutput(loss=loss, terms=terms)

    @torch.no_grad()
    def log_prob(self, x: Tensor, k: int = 1000, *, labels: Tensor | None = None,
                 generator: torch.Generator | None = None, chunk: int = 100) -> Tensor:
        """Importance-sampled estimate of log p(x) in nats per example, (B,) [Burda et al. 2015, eq. 8]:

            log p(x) ~ log (1/k) sum_i p(x, z_i) / q(z_i|x),   z_i ~ q(z|x).

        k = 1 is a one-sample ELBO; the estimate is a lower bound in expectation that does not decrease
        with k. Bernoulli on grey levels: a non-normalised convention (see the module docstring).
        ``chunk`` draws are decoded at a time to bound memory.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        parts = []
        done = 0
        while done < k:
            m = min(chunk, k - done)
            parts.append(self.log_weights(x, m, labels=labels, generator=generator))
            done += m
        log_w = torch.cat(parts, dim=0)                      # (k, B)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    @torch.no_grad()
    def elbo(self, x: Tensor, *, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Single-draw ELBO per example (B,), closed-form KL (the flow posterior estimates it)."""
        mu, log_var = self.posterior(x, labels=labels)
        z = reparameterize(mu, log_var, generator=generator)
        return self.log_likelihood(x, self.decoder_output(z, labels=labels)) - kl_to_standard_normal(mu, log_var)

    def encode(self, x: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """The mean code mu of q(z|x), (B, L)."""
        return self.posterior(x, labels=labels)[0]

    def _mean(self, out: Tensor) -> Tensor:
        """Decoder mean from its raw output: sigmoid for images (in [0, 1]); the identity for vector data."""
        return torch.sigmoid(out) if self.is_image_model else out

    def decode(self, z: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """Decoder mean in data space: probabilities (Bernoulli) or means (Gaussian); images in [0, 1]."""
        return self._mean(self.decoder_output(z, labels=labels))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, *, labels: Tensor | None = None) -> Tensor:
        return self.decode(self.encode(x, labels=labels), labels=labels)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               **condition: Any) -> Tensor:
        """Decoder means of n prior draws z ~ N(0, T^2 I) (T = ``temperature``; 1 is the prior)."""
        self.check_condition(condition)
        z = temperature * torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)
        return self.decode(z, **condition)

    @torch.no_grad()
    def kl_per_dimension(self, x: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """Mean KL of each latent dimension over the batch, (L,): orders dimensions for traversals."""
        mu, log_var = self.posterior(x, labels=labels)
        return (0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)).mean(0)


@dataclass(frozen=True)
class BetaVAEConfig(VAEConfig):
    beta: float = 4.0


@register_model("beta_vae")
class BetaVAE(VAE):
    """beta-VAE (Higgins et al. 2017, ICLR, openreview Sy2fzU9gl): the VAE with KL weight beta > 1."""

    config_class: ClassVar[type] = BetaVAEConfig


# -- presets -------------------------------------------------------------------------------------------
_DIGITS_TRAIN = {"steps": 3000, "batch_size": 128, "lr": 2e-3}


@register_preset
def vae_digits() -> Preset:
    # precision "auto": bf16 autocast on CPUs with native bf16, where it trains ~1.5x faster per
    # CPU-second with the same test NLL (within 0.02 nats; BENCHMARKS.md); fp32 elsewhere
    return Preset("vae", VAEConfig(data_shape=(1, 8, 8), latent_dim=8, widths=(32, 64)), "digits",
                  train={**_DIGITS_TRAIN, "precision": "auto"},
                  description="conv VAE, 8-d latent, Bernoulli decoder on 8x8 digits (bf16 on CPUs that have it)")


@register_preset
def vae_2d_digits() -> Preset:
    return Preset("vae", VAEConfig(data_shape=(1, 8, 8), latent_dim=2, widths=(32, 64)), "digits",
                  train=dict(_DIGITS_TRAIN),
                  description="conv VAE with a 2-d latent: manifold grid and latent scatter")


@register_preset
def vae_mlp_digits() -> Preset:
    return Preset("vae", VAEConfig(data_shape=(1, 8, 8), latent_dim=8, architecture="mlp", hidden=(256, 128)),
                  "digits", train=dict(_DIGITS_TRAIN), description="MLP VAE, 8-d latent, on 8x8 digits")


_SHAPES_TRAIN = {"steps": 3000, "batch_size": 64, "lr": 1e-3}
# Shapes presets are MLPs, as Higgins et al. 2017 use for dSprites (there 1200-1200 units; here smaller,
# for the CPU): at 32x32 a conv VAE costs ~5x more per step for no gain in the disentanglement scores.
_SHAPES_NET = dict(data_shape=(1, 32, 32), latent_dim=10, architecture="mlp", hidden=(512, 256))


@register_preset
def vae_shapes() -> Preset:
    return Preset("vae", VAEConfig(**_SHAPES_NET), "shapes", train=dict(_SHAPES_TRAIN),
                  description="MLP VAE, 10-d latent, on 32x32 shapes")


@register_preset
def vae_conv_shapes() -> Preset:
    return Preset("vae", VAEConfig(data_shape=(1, 32, 32), latent_dim=10, widths=(32, 32, 64, 64)), "shapes",
                  train=dict(_SHAPES_TRAIN), description="conv VAE, 10-d latent, on 32x32 shapes")


@register_preset
def beta_vae_shapes() -> Preset:
    return Preset("beta_vae", BetaVAEConfig(**_SHAPES_NET, beta=4.0), "shapes", train=dict(_SHAPES_TRAIN),
                  description="beta-VAE (beta = 4), MLP, 10-d latent, on 32x32 shapes")


@register_preset
def vae_mnist() -> Preset:
    return Preset("vae", VAEConfig(data_shape=(1, 28, 28), latent_dim=16, widths=(32, 64)), "mnist",
                  train={"steps": 5500, "batch_size": 128, "lr": 2e-3, "precision": "auto", "channels_last": True},
                  description="conv VAE, 16-d latent, on 28x28 grey digits (about 4 minutes on 2 CPU cores)")
