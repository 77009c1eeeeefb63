"""Undercomplete autoencoder (Rumelhart, Hinton & Williams 1986; Hinton & Salakhutdinov 2006).

x: images (B, C, H, W) in [0, 1];  z = f(x): code (B, D);  x_hat = g(z) = sigmoid(decoder logits).
Loss: binary cross-entropy of x_hat against x (grey levels as targets in [0, 1]) or mean squared
error, averaged over pixels.

An autoencoder has no prior, so ``sample`` decodes codes drawn from a Gaussian N(m, S) fitted to
the codes of the training images (``fit_code_distribution``; the trainer calls it after training
and the moments are saved with the weights). That is the course's point: such samples are often
poor, which is what the VAE fixes. ``temperature`` T draws z = m + T L eps, S = L L^T.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import TEMPERATURE, Batch, Capabilities, GenerativeModel, LossOutput, ModelConfig
from generativa.nn import MLP, ConvDecoder, ConvEncoder
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class AEConfig(ModelConfig):
    latent_dim: int = 16
    architecture: Literal["mlp", "conv"] = "conv"
    hidden: tuple[int, ...] = (256, 128)  # MLP widths, encoder order (the decoder mirrors them)
    widths: tuple[int, ...] = (32, 64)  # conv widths, encoder order
    activation: Literal["relu", "leaky_relu", "silu", "gelu", "tanh", "sigmoid", "elu"] = "relu"
    norm: Literal["none", "batch", "layer", "group"] = "none"
    reconstruction_loss: Literal["bce", "mse"] = "bce"


class Autoencoder(GenerativeModel):
    config_class = AEConfig
    CAPABILITIES = Capabilities(sample=True, latent="deterministic", reconstruct=True,
                                sample_options=(TEMPERATURE,), fit_end=True)

    def __init__(self, config: AEConfig):
        super().__init__(config)
        C, H, W = self._image_shape()
        D = config.latent_dim
        if config.architecture == "mlp":
            self.encoder = nn.Sequential(
                nn.Flatten(), MLP(C * H * W, list(config.hidden), D, activation=config.activation)
            )
            self.decoder = nn.Sequential(
                MLP(D, list(reversed(config.hidden)), C * H * W, activation=config.activation),
                nn.Unflatten(1, (C, H, W)),
            )
        else:
            if H != W:
                raise ValueError(f"the conv autoencoder needs square images, got {H}x{W}; pass data.size=N")
            self.encoder = ConvEncoder(C, H, D, widths=tuple(config.widths), norm=config.norm,
                                       activation=config.activation)
            self.decoder = ConvDecoder(D, C, H, widths=tuple(reversed(config.widths)), norm=config.norm,
                                       activation=config.activation)
        # Moments of the training codes, for ``sample`` (filled by fit_code_distribution).
        self.register_buffer("code_mean", torch.zeros(D))
        self.register_buffer("code_scale_tril", torch.eye(D))

    def _image_shape(self) -> tuple[int, int, int]:
        shape = tuple(self.config.data_shape)
        if len(shape) != 3:
            raise ValueError(f"the autoencoder is for images (C, H, W); got data of shape {shape}")
        return shape  # type: ignore[return-value]

    # -- latent model ---------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """(B, C, H, W) in [0, 1] -> code (B, D)."""
        return self.encoder(x)

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def decode(self, z: Tensor) -> Tensor:
        """code (B, D) -> images (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def reconstruction_loss(self, logits: Tensor, x: Tensor) -> Tensor:
        """Mean over pixels and batch of BCE(sigmoid(logits), x) or MSE."""
        if self.config.reconstruction_loss == "bce":
            return F.binary_cross_entropy_with_logits(logits, x)
        return F.mse_loss(torch.sigmoid(logits), x)

    def loss(self, batch: Batch) -> LossOutput:
        x = batch.x
        z = self.encode(x)
        logits = self.decode_logits(z)
        rec = self.reconstruction_loss(logits, x)  # the loss itself: not logged twice
        with torch.no_grad():
            mse = F.mse_loss(torch.sigmoid(logits), x)
        return LossOutput(loss=rec, terms={"mse": mse})

    # -- sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_code_distribution(self, x: Tensor, batch_size: int = 512) -> None:
        """Fit N(m, S) to the codes of ``x`` (float images in [0, 1]); ``sample`` draws from it."""
        was_training = self.training
        self.eval()
        codes = torch.cat([self.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        self.train(was_training)
        codes = codes.double()
        mean = codes.mean(0)
        centred = codes - mean
        cov = centred.T @ centred / max(len(codes) - 1, 1)
        cov += 1e-6 * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
        self.code_mean.copy_(mean.float())
        self.code_scale_tril.copy_(torch.linalg.cholesky(cov).float())

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               **condition) -> Tensor:
        """Decoded codes z = m + T L eps, eps ~ N(0, I), from the Gaussian fitted to the training codes."""
        self.check_condition(condition)
        eps = torch.randn(n, self.config.latent_dim, generator=generator, device=self.code_mean.device)
        z = self.code_mean + temperature * eps @ self.code_scale_tril.T
        return self.decode(z)

    def on_fit_end(self, train_images: Tensor) -> None:
        """Called by the trainer when training ends (on the training images, float [0, 1])."""
        self.fit_code_distribution(train_images)


register_model("ae")(Autoencoder)


@register_preset
def ae_digits() -> Preset:
    return Preset(
        model="ae",
        config=AEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="conv", widths=(32, 64)),
        data="digits",
        # channels_last: fastest layout within 1% of the fp32 loss (benchmarks/train_throughput.py)
        train={"steps": 1500, "batch_size": 128, "lr": 2e-3, "channels_last": True},
        description="conv autoencoder, 16-d code, on 8x8 digits (about 20 s on a laptop CPU)",
    )


@register_preset
def ae_mlp_digits() -> Preset:
    return Preset(
        model="ae",
        config=AEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="mlp", hidden=(256, 128)),
        data="digits",
        train={"steps": 1500, "batch_size": 128, "lr": 2e-3},
        description="MLP autoencoder, 16-d code, on 8x8 digits",
    )


@register_preset
def ae_shapes() -> Preset:
    return Preset(
        model="ae",
        config=AEConfig(data_shape=(1, 32, 32), latent_dim=10, architecture="conv", widths=(32, 64, 64)),
        data="shapes",
        data_options={"size": 32},
        # bf16 (where the CPU has it) + channels_last: 2.3x fp32's speed, loss within 1% (BENCHMARKS.md)
        train={"steps": 3000, "batch_size": 128, "lr": 1e-3, "precision": "auto", "channels_last": True},
        description="conv autoencoder, 10-d code, on 32x32 shapes",
    )


@register_preset
def ae_mnist() -> Preset:
    return Preset(
        model="ae",
        config=AEConfig(data_shape=(1, 28, 28), latent_dim=32, architecture="conv", widths=(32, 64)),
        data="mnist",
        train={"steps": 5500, "batch_size": 128, "lr": 2e-3, "precision": "auto", "channels_last": True},
        description="conv autoencoder, 32-d code, on 28x28 grey digits (about 4 minutes on 2 CPU cores)",
    )
