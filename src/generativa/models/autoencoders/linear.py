"""Linear autoencoder: PCA learned by gradient descent (Bourlard & Kamp 1988; Baldi & Hornik 1989).

x: images (B, C, H, W) in [0, 1], flattened to (B, P) with P = C * H * W;
z = W_e x + b_e: code (B, D);  x_hat = W_d z + b_d  (no non-linearity anywhere, no output sigmoid).
Loss: mean squared error ||x_hat - x||^2 averaged over pixels.

With a squared error, every minimum of this loss reconstructs through the projection onto the span
of the top D principal directions of the centred training data [Baldi & Hornik 1989, Thm. 1]:
the columns of W_d span the same subspace as PCA's first D components, though they are neither
orthonormal nor ordered. ``tests/autoencoders/test_linear.py`` checks both the test MSE against
scikit-learn's PCA and the largest principal angle between the two subspaces.

``decode`` clamps x_hat to [0, 1] (the public image range); ``decode_logits`` and the loss use the
raw linear map, which is what the PCA comparison measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.autoencoders.ae import AEConfig, Autoencoder
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class LinearAEConfig(AEConfig):
    latent_dim: int = 8
    architecture: Literal["mlp", "conv"] = "mlp"  # must stay "mlp": the maps are single Linear layers
    hidden: tuple[int, ...] = ()
    reconstruction_loss: Literal["bce", "mse"] = "mse"  # must stay "mse": the PCA equivalence is for squared error


@register_model("linear_ae")
class LinearAutoencoder(Autoencoder):
    config_class = LinearAEConfig

    def __init__(self, config: LinearAEConfig):
        if config.architecture != "mlp" or config.hidden:
            raise ValueError(
                f"the linear autoencoder is one Linear map each way; got architecture={config.architecture!r}, "
                f"hidden={config.hidden!r}: pass architecture=mlp hidden=() (or use the 'ae' model)"
            )
        if config.reconstruction_loss != "mse":
            raise ValueError(
                "the linear autoencoder is trained with reconstruction_loss=mse (a BCE through a sigmoid is "
                "no longer linear); pass reconstruction_loss=mse"
            )
        super().__init__(config)
        C, H, W = self._image_shape()
        P, D = C * H * W, config.latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(P, D))  # z = W_e x + b_e, (B, P) -> (B, D)
        self.decoder = nn.Sequential(nn.Linear(D, P), nn.Unflatten(1, (C, H, W)))  # x_hat = W_d z + b_d

    def decode_logits(self, z: Tensor) -> Tensor:
        """The raw linear reconstruction W_d z + b_d (not squashed; may leave [0, 1])."""
        return self.decoder(z)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).clamp(0.0, 1.0)

    def reconstruction_loss(self, logits: Tensor, x: Tensor) -> Tensor:
        return F.mse_loss(logits, x)

    def loss(self, batch):
        out = super().loss(batch)
        del out.terms["mse"]  # the parent's "mse" squashes through a sigmoid; here the loss is the MSE
        return out

    @property
    def decoder_weight(self) -> Tensor:
        """W_d as (P, D): its columns span the learned subspace."""
        return self.decoder[0].weight

    @torch.no_grad()
    def reconstruct_linear(self, x: Tensor) -> Tensor:
        """x_hat = W_d (W_e x + b_e) + b_d without the clamp (what PCA's inverse_transform is compared with)."""
        return self.decode_logits(self.encode(x))


@register_preset
def linear_ae_digits() -> Preset:
    return Preset(
        model="linear_ae",
        config=LinearAEConfig(data_shape=(1, 8, 8), latent_dim=8),
        data="digits",
        train={"steps": 3000, "batch_size": 256, "lr": 1e-2, "schedule": "cosine"},
        description="linear autoencoder, 8-d code, on 8x8 digits: PCA by gradient descent",
    )


@register_preset
def linear_ae_shapes() -> Preset:
    return Preset(
        model="linear_ae",
        config=LinearAEConfig(data_shape=(1, 32, 32), latent_dim=10),
        data="shapes",
        data_options={"size": 32},
        train={"steps": 3000, "batch_size": 256, "lr": 3e-3},
        description="linear autoencoder, 10-d code, on 32x32 shapes",
    )
