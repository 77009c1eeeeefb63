"""Contractive autoencoder (Rifai, Vincent, Muller, Glorot & Bengio 2011, ICML; no arXiv version).

x: images (B, C, H, W) in [0, 1], P = C * H * W pixels;  h = f(x): code (B, D), sigmoid for the MLP
encoder (as in the paper), linear for the conv encoder (a sigmoid on the conv encoder's output
saturates and stops learning on digits);
J_f(x) = dh/dx: the encoder Jacobian (D, P) of one example;  x_hat = g(h).
Loss = reconstruction(x_hat, x) + lambda * mean_b ||J_f(x_b)||_F^2   [Rifai et al. 2011, eq. 2].

How ||J_f(x)||_F^2 is computed (``jacobian``):

* ``closed_form`` (MLP only): the encoder is one sigmoid layer h = s(W x + b), as in the paper, so
  dh_j/dx_i = h_j (1 - h_j) W_ji and ||J||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ji^2
  [Rifai et al. 2011, the closed form for a sigmoid encoder]. It costs one pass over W per step.
  ``hidden`` then sets only the decoder's widths (the encoder has none) -- a departure from the
  plain MLP autoencoder, whose decoder mirrors a deep encoder.
* ``exact`` (any encoder): autograd, one backward pass per code unit j (D passes), summing
  ||d h_j / d x||^2. Exact, D times a backward pass.
* ``projections`` (any encoder, the default for conv): a random-projection (Hutchinson) estimate,
  ||J||_F^2 = E_v ||v^T J||^2 with v ~ N(0, I_D), averaged over ``n_projections`` draws, one
  backward pass each. Unbiased, not exact; the draw uses torch's global generator (seeded by the
  trainer) or the ``generator`` of ``jacobian_frobenius_sq``.

Every example's code must depend on that example only (no batch norm in training mode), which the
per-example Jacobians of ``exact``/``projections`` assume; the config refuses norm="batch".
``jacobian_frobenius_sq`` also measures any model's encoder (the benchmark compares the plain model).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.autoencoders.ae import AEConfig, Autoencoder
from generativa.models.base import Batch, LossOutput
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class ContractiveAEConfig(AEConfig):
    latent_dim: int = 16
    architecture: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[int, ...] = (128,)  # decoder widths (mlp); the encoder is one sigmoid layer
    contraction_weight: float = 0.01  # lambda of ||J_f(x)||_F^2 (the conv presets use 1e-3: linear codes)
    jacobian: Literal["auto", "closed_form", "exact", "projections"] = "auto"  # auto: closed_form / projections
    n_projections: int = 1  # random projections per example for jacobian=projections


def sigmoid_jacobian_frobenius_sq(h: Tensor, weight: Tensor) -> Tensor:
    """||J||_F^2 per example for h = s(W x + b): sum_j (h_j (1 - h_j))^2 sum_i W_ji^2; h (B, D), W (D, P) -> (B,)."""
    return ((h * (1 - h)) ** 2) @ (weight**2).sum(1)


def jacobian_frobenius_sq(
    encode: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    method: Literal["exact", "projections"] = "exact",
    n_projections: int = 1,
    create_graph: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """||d encode(x) / dx||_F^2 per example by autograd, (B, ...) -> (B,).

    exact: one backward pass per code unit. projections: E_v ||v^T J||^2, v ~ N(0, I), averaged
    over n_projections draws (unbiased). Assumes each code row depends on its own example only.
    """
    if method not in ("exact", "projections"):
        raise ValueError(f"method={method!r}: use 'exact' or 'projections'")
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        h = encode(x)  # (B, D)
        total = x.new_zeros(x.shape[0])
        if method == "exact":
            for j in range(h.shape[1]):
                (g,) = torch.autograd.grad(h[:, j].sum(), x, create_graph=create_graph, retain_graph=True)
                total = total + g.flatten(1).pow(2).sum(1)
            return total
        for _ in range(n_projections):
            v = torch.randn(h.shape, generator=generator, device=h.device, dtype=h.dtype)
            (g,) = torch.autograd.grad((h * v).sum(), x, create_graph=create_graph, retain_graph=True)
            total = total + g.flatten(1).pow(2).sum(1)
        return total / n_projections


@register_model("contractive_ae")
class ContractiveAutoencoder(Autoencoder):
    config_class = ContractiveAEConfig
    CAPABILITIES = dataclasses.replace(Autoencoder.CAPABILITIES, traits=frozenset({"encoder_jacobian"}))

    def __init__(self, config: ContractiveAEConfig):
        if config.norm == "batch":
            raise ValueError("the contractive penalty needs per-example Jacobians; batch norm couples the "
                             "examples of a batch: pass norm=none, layer or group")
        super().__init__(config)
        if self.jacobian == "closed_form" and config.architecture != "mlp":
            raise ValueError("jacobian=closed_form is for the one-layer sigmoid MLP encoder; for a conv encoder "
                             "pass jacobian=exact or jacobian=projections")
        if config.n_projections < 1:
            raise ValueError(f"n_projections must be >= 1, got {config.n_projections}")
        if config.architecture == "mlp":
            C, H, W = self._image_shape()
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(C * H * W, config.latent_dim))  # W x + b

    @property
    def jacobian(self) -> str:
        if self.config.jacobian != "auto":
            return self.config.jacobian
        return "closed_form" if self.config.architecture == "mlp" else "projections"

    def encode(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> code h (B, D): sigmoid (mlp) or linear (conv)."""
        h = self.encoder(x)
        return torch.sigmoid(h) if self.config.architecture == "mlp" else h

    def jacobian_penalty(self, x: Tensor, h: Tensor) -> Tensor:
        """mean_b ||J_f(x_b)||_F^2 by the configured method (differentiable)."""
        if self.jacobian == "closed_form":
            weight = self.encoder[1].weight  # (D, P)
            return sigmoid_jacobian_frobenius_sq(h, weight).mean()
        return jacobian_frobenius_sq(self.encode, x, method=self.jacobian,  # type: ignore[arg-type]
                                     n_projections=self.config.n_projections, create_graph=True).mean()

    def loss(self, batch: Batch) -> LossOutput:
        x = batch.x
        h = self.encode(x)
        logits = self.decode_logits(h)
        rec = self.reconstruction_loss(logits, x)
        if self.config.contraction_weight > 0:
            jac = self.jacobian_penalty(x, h)
        else:  # the plain model: nothing to differentiate, measure the closed form only where it is free
            with torch.no_grad():
                jac = (sigmoid_jacobian_frobenius_sq(h, self.encoder[1].weight).mean()
                       if self.jacobian == "closed_form" else h.new_zeros(()))
        with torch.no_grad():
            mse = F.mse_loss(torch.sigmoid(logits), x)
        loss = rec + self.config.contraction_weight * jac if self.config.contraction_weight > 0 else rec
        return LossOutput(loss=loss, terms={"reconstruction": rec.detach(), "jacobian_frobenius_sq": jac.detach(),
                                            "mse": mse})


@register_preset
def contractive_ae_digits() -> Preset:
    return Preset(
        model="contractive_ae",
        config=ContractiveAEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="mlp", hidden=(128,),
                                   contraction_weight=0.01, jacobian="closed_form"),
        data="digits",
        train={"steps": 2000, "batch_size": 128, "lr": 2e-3},
        description="contractive autoencoder (sigmoid MLP encoder, closed-form Jacobian), 16-d code, on digits",
    )


@register_preset
def contractive_conv_digits() -> Preset:
    return Preset(
        model="contractive_ae",
        config=ContractiveAEConfig(data_shape=(1, 8, 8), latent_dim=16, architecture="conv", widths=(32, 64),
                                   contraction_weight=1e-3, jacobian="projections", n_projections=1),
        data="digits",
        train={"steps": 2000, "batch_size": 128, "lr": 2e-3},
        description="contractive conv autoencoder (random-projection Jacobian estimate), 16-d code, on digits",
    )


@register_preset
def contractive_ae_shapes() -> Preset:
    return Preset(
        model="contractive_ae",
        config=ContractiveAEConfig(data_shape=(1, 32, 32), latent_dim=10, architecture="conv", widths=(32, 64, 64),
                                   contraction_weight=1e-3, jacobian="projections"),
        data="shapes",
        data_options={"size": 32},
        train={"steps": 3000, "batch_size": 128, "lr": 1e-3},
        description="contractive conv autoencoder (random projections), 10-d code, on 32x32 shapes",
    )
