"""VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, arXiv:1711.00937): an image as a short grid of codes.

x: images (B, C, H, W) in [0, 1];  z_e = E(x): (B, D, h, w), h = H / 2^S for S stride-2 stages;
e: the codebook, K vectors of size D;  k = argmin_j ||z_e - e_j||: the code of each of the h w cells;
z_q = e_k;  x_hat = G(z_q).

    L = -log p(x | z_q) + ||sg[z_e] - e_k||^2 + beta ||z_e - sg[e_k]||^2        [eq. 3]

The first term trains encoder and decoder, with the gradient of z_q copied to z_e (straight-through:
z_e + sg[z_q - z_e] in the forward pass); the second moves the chosen codes towards the encoder's
outputs (the codebook loss); the third, the commitment loss, keeps the encoder close to its codes
(beta = 0.25 [section 3.1]). The two squared errors are means over the h w D numbers; the
reconstruction term is a sum over pixels per image (``bce`` on [0, 1] images, or ``mse``), averaged
over the batch, as a VAE's.

The codebook starts on encoder outputs of the first batch (``data_init``). Codebook usage: an
exponential moving average of the share of cells given each code (``usage``, logged as
``perplexity`` = exp(entropy of the usage), between 1 and K). A code whose share falls below
``restart_below`` / K is dead: at the next training step it is moved onto one of the encoder
outputs of the previous batch that its code fits worst (``restart_pool``), a deterministic choice,
so resume stays bit for bit. Departure: the paper does not restart codes; it is the usual remedy
for codebook collapse (Dhariwal et al. 2020, Jukebox, section 2.2).

The model is an autoencoder in its own right (``encode`` -> codes (B, h, w), ``decode``,
``reconstruct``); it has no prior of its own: a model of the code grid samples from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.base import Batch, Capabilities, GenerativeModel, LossOutput, ModelConfig
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class VQVAEConfig(ModelConfig):
    codebook_size: int = 64                 # K
    code_dim: int = 16                      # D
    widths: tuple[int, ...] = (32, 64)      # channels of each stride-2 stage: h = H / 2^len(widths)
    commitment: float = 0.25                # beta [section 3.1]
    reconstruction_loss: Literal["bce", "mse"] = "bce"
    usage_decay: float = 0.99               # of the moving average of code usage
    restart_below: float = 0.1              # a code used by less than this / K of the cells is restarted


@dataclass
class Quantized:
    """What the quantiser returns: z_q with the straight-through gradient, the codes and both losses."""

    z_q: Tensor            # (B, D, h, w): z_e + sg[e_k - z_e]
    codes: Tensor          # (B, h, w) int64
    codebook_loss: Tensor  # mean ||sg[z_e] - e_k||^2
    commitment_loss: Tensor  # mean ||z_e - sg[e_k]||^2 (times beta in the loss)


class VectorQuantizer(nn.Module):
    """The nearest of K codebook vectors for every cell of z_e (B, D, h, w)."""

    def __init__(self, codebook_size: int, code_dim: int):
        super().__init__()
        self.codebook = nn.Parameter(torch.empty(codebook_size, code_dim).uniform_(-1 / codebook_size, 1 / codebook_size))

    def nearest(self, z_e: Tensor) -> Tensor:
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])                       # (N, D)
        distances = torch.cdist(flat.float(), self.codebook.float()) ** 2              # (N, K)
        return distances.argmin(1).view(z_e.shape[0], *z_e.shape[2:])

    def lookup(self, codes: Tensor) -> Tensor:
        """codes (B, h, w) -> e_k (B, D, h, w)."""
        return self.codebook[codes].permute(0, 3, 1, 2)

    def forward(self, z_e: Tensor) -> Quantized:
        codes = self.nearest(z_e)
        e = self.lookup(codes)
        codebook_loss = F.mse_loss(e, z_e.detach())
        commitment_loss = F.mse_loss(z_e, e.detach())
        return Quantized(z_e + (e - z_e).detach(), codes, codebook_loss, commitment_loss)


def _encoder(channels: int, widths: tuple[int, ...], code_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w in widths:  # each stage halves the size
        layers += [nn.Conv2d(channels, w, 4, stride=2, padding=1), nn.ReLU()]
        channels = w
    layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, code_dim, 1)]
    return nn.Sequential(*layers)


def _decoder(channels: int, widths: tuple[int, ...], code_dim: int) -> nn.Sequential:
    rev = tuple(reversed(widths))
    layers: list[nn.Module] = [nn.Conv2d(code_dim, rev[0], 3, padding=1), nn.ReLU()]
    for i, w in enumerate(rev):
        out = rev[i + 1] if i + 1 < len(rev) else channels
        layers += [nn.ConvTranspose2d(w, out, 4, stride=2, padding=1)]
        if i + 1 < len(rev):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)  # logits of the image


@register_model("vqvae")
class VQVAE(GenerativeModel):
    config_class: ClassVar[type] = VQVAEConfig
    CAPABILITIES = Capabilities(latent="discrete", reconstruct=True, data_init=True)

    def __init__(self, config: VQVAEConfig):
        super().__init__(config)
        if not self.is_image_model:
            raise ValueError(f"vqvae models images (C, H, W), got data_shape={config.data_shape}")
        C, H, W = config.data_shape
        factor = 2 ** len(config.widths)
        if not config.widths or H % factor or W % factor:
            raise ValueError(f"vqvae halves the image {len(config.widths)} times (widths={config.widths}), so H and W "
                             f"must be multiples of {factor}, got {H}x{W}; use fewer widths or resize (data.size=...)")
        if config.codebook_size < 2 or config.code_dim < 1:
            raise ValueError(f"codebook_size must be >= 2 and code_dim >= 1, got {config.codebook_size}, {config.code_dim}")
        self.grid = (H // factor, W // factor)
        self.encoder = _encoder(C, tuple(config.widths), config.code_dim)
        self.decoder = _decoder(C, tuple(config.widths), config.code_dim)
        self.quantizer = VectorQuantizer(config.codebook_size, config.code_dim)
        K = config.codebook_size
        self.register_buffer("usage", torch.full((K,), 1.0 / K))              # moving share of cells per code
        self.register_buffer("restart_pool", torch.zeros(K, config.code_dim))  # worst-fitted z_e of the last batch
        self.register_buffer("pool_size", torch.zeros((), dtype=torch.long))

    # -- the autoencoder ------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Images -> codes (B, h, w) int64."""
        self.check_input(x)
        return self.quantizer.nearest(self.encoder(x * 2 - 1))

    def decode(self, z: Tensor) -> Tensor:
        """Codes (B, h, w) -> images in [0, 1]."""
        logits = self.decoder(self.quantizer.lookup(z.long()))
        return torch.sigmoid(logits) if self.config.reconstruction_loss == "bce" else logits.clamp(0, 1)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    # -- training -------------------------------------------------------------------------------
    @torch.no_grad()
    def data_init(self, batch: Batch) -> None:
        """The codebook starts on K encoder outputs of the first batch, evenly spaced over its cells, so
        that every code is near the data from the first step (a random codebook far from z_e leaves
        most codes unused until they are restarted)."""
        z_e = self.encoder(batch.x * 2 - 1)
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1]).float()
        K = self.config.codebook_size
        picks = torch.linspace(0, len(flat) - 1, K, device=flat.device).round().long()
        self.quantizer.codebook.copy_(flat[picks].to(self.quantizer.codebook.dtype))

    @torch.no_grad()
    def _restart_dead_codes(self) -> int:
        """Move the codes used by fewer than restart_below / K of the cells onto pooled encoder outputs."""
        K = self.config.codebook_size
        dead = (self.usage < self.config.restart_below / K).nonzero().flatten()
        n = min(len(dead), int(self.pool_size))
        if n:
            self.quantizer.codebook[dead[:n]] = self.restart_pool[:n].to(self.quantizer.codebook.dtype)
            self.usage[dead[:n]] = 1.0 / K
            self.pool_size.zero_()
        return n

    @torch.no_grad()
    def _track_usage(self, z_e: Tensor, codes: Tensor) -> None:
        K = self.config.codebook_size
        share = torch.bincount(codes.flatten(), minlength=K).float() / codes.numel()
        self.usage.mul_(self.config.usage_decay).add_((1 - self.config.usage_decay) * share)
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1]).float()
        error = ((flat - self.quantizer.codebook[codes.flatten()].float()) ** 2).sum(1)
        worst = error.argsort(descending=True, stable=True)[:K]                 # the worst-fitted cells first
        self.restart_pool[:len(worst)] = flat[worst]
        self.pool_size.fill_(len(worst))

    def perplexity(self) -> Tensor:
        """exp(entropy of the code usage): 1 (one code for everything) to K (all codes equally)."""
        p = self.usage / self.usage.sum()
        return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())

    def loss(self, batch: Batch) -> LossOutput:
        x = batch.x
        self.check_input(x)
        restarted = self._restart_dead_codes() if self.training else 0
        z_e = self.encoder(x * 2 - 1)
        q = self.quantizer(z_e)
        logits = self.decoder(q.z_q)
        if self.config.reconstruction_loss == "bce":
            reconstruction = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="sum") / len(x)
        else:
            reconstruction = F.mse_loss(logits.float(), x.float(), reduction="sum") / len(x)
        loss = reconstruction + q.codebook_loss + self.config.commitment * q.commitment_loss
        if self.training:
            self._track_usage(z_e.detach(), q.codes)
        return LossOutput(loss, {"reconstruction": reconstruction.detach(), "codebook": q.codebook_loss.detach(),
                                 "commitment": q.commitment_loss.detach(), "perplexity": self.perplexity(),
                                 "restarted_codes": float(restarted)})


@register_preset
def vqvae_digits() -> Preset:
    return Preset("vqvae", VQVAEConfig(data_shape=(1, 8, 8), codebook_size=32, code_dim=8, widths=(32,)), "digits",
                  train={"steps": 2000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine"},
                  description="VQ-VAE: the 8x8 digits as 4x4 codes of a 32-vector codebook")


@register_preset
def vqvae_mnist() -> Preset:
    return Preset("vqvae", VQVAEConfig(data_shape=(1, 28, 28), codebook_size=128, code_dim=16, widths=(32, 64)),
                  "mnist", train={"steps": 2000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine"},
                  description="VQ-VAE: 28x28 digits as 7x7 codes of a 128-vector codebook")
