"""Sparse autoencoders: an L1 penalty, a KL sparsity target, or k-sparse codes.

x: images (B, C, H, W) in [0, 1];  h = a(f(x)): code activations (B, D), a the code activation;
x_hat = g(h).  Loss = reconstruction(x_hat, x) + penalty(h), with one of

* ``l1``: lambda * mean_b sum_j |h_bj|  -- an L1 penalty on the code activations
  (Goodfellow, Bengio & Courville 2016, Deep Learning, sec. 14.2.1, eq. 14.2).
* ``kl``: beta * sum_j KL(rho || rho_hat_j), rho_hat_j = mean_b h_bj the batch-mean activation of
  unit j of a sigmoid code, KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q))
  (Ng, "Sparse autoencoder", CS294A lecture notes 2011, sec. 3).
* ``topk``: no penalty; the code keeps only the k largest activations of each example and zeroes
  the rest, so exactly k units are active (Makhzani & Frey 2013, "k-Sparse Autoencoders",
  arXiv:1312.5663, Alg. 1). Gradients flow only through the k kept units [Alg. 1, step 2].
  Departure: the paper encodes test images with alpha*k units (alpha >= 1); here test codes keep
  the same k, so "exactly k non-zeros" holds at every call.

The code activation ``a`` is ``relu`` (l1), ``sigmoid`` (kl, required: rho_hat must be a mean
firing probability) or ``linear`` (topk, as in the paper).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from generativa.models.autoencoders.ae import AEConfig, Autoencoder
from generativa.models.base import Batch, LossOutput
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class SparseAEConfig(AEConfig):
    sparsity: Literal["l1", "kl", "topk"] = "l1"
    code_activation: Literal["auto", "linear", "relu", "sigmoid"] = "auto"  # auto: relu / sigmoid / linear
    l1_weight: float = 1e-3  # lambda of the L1 penalty
    rho: float = 0.05  # target mean activation of each sigmoid unit (Ng's notes use 0.05)
    kl_weight: float = 0.1  # beta of the KL sparsity penalty
    k: int = 4  # active units per example for topk


def kl_sparsity(h: Tensor, rho: float, eps: float = 1e-6) -> Tensor:
    """sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of unit j of h in (0, 1), (B, D) -> scalar."""
    rho_hat = h.mean(0).clamp(eps, 1 - eps)  # (D,)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def keep_top_k(h: Tensor, k: int) -> Tensor:
    """Zero all but the k largest entries of each row [Makhzani & Frey 2013, Alg. 1]; (B, D) -> (B, D)."""
    index = h.topk(k, dim=1).indices
    mask = torch.zeros_like(h).scatter_(1, index, 1.0)
    return h * mask


@register_model("sparse_ae")
class SparseAutoencoder(Autoencoder):
    config_class = SparseAEConfig
    CAPABILITIES = dataclasses.replace(Autoencoder.CAPABILITIES, traits=frozenset({"sparse_code"}))

    def __init__(self, config: SparseAEConfig):
        super().__init__(config)
        if config.sparsity == "kl" and self.code_activation != "sigmoid":
            raise ValueError(
                "the KL sparsity penalty needs sigmoid codes (rho_hat is a mean firing probability); "
                f"got code_activation={config.code_activation!r}: pass code_activation=sigmoid or auto"
            )
        if config.sparsity == "kl" and not 0.0 < config.rho < 1.0:
            raise ValueError(f"rho must lie in (0, 1), got {config.rho}; for example rho=0.05")
        if config.sparsity == "topk" and not 1 <= config.k <= config.latent_dim:
            raise ValueError(f"k must lie in 1..latent_dim={config.latent_dim}, got k={config.k}")

    @property
    def code_activation(self) -> str:
        if self.config.code_activation != "auto":
            return self.config.code_activation
        return {"l1": "relu", "kl": "sigmoid", "topk": "linear"}[self.config.sparsity]

    def encode_pre(self, x: Tensor) -> Tensor:
        """The encoder's output before the code activation, (B, D)."""
        return self.encoder(x)

    def encode(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> sparse code h (B, D)."""
        h = self.encode_pre(x)
        act = self.code_activation
        if act == "relu":
            h = F.relu(h)
        elif act == "sigmoid":
            h = torch.sigmoid(h)
        if self.config.sparsity == "topk":
            h = keep_top_k(h, self.config.k)
        return h

    def sparsity_penalty(self, h: Tensor) -> Tensor:
        c = self.config
        if c.sparsity == "l1":
            return c.l1_weight * h.abs().sum(1).mean()
        if c.sparsity == "kl":
            return c.kl_weight * kl_sparsity(h, c.rho)
        return h.new_zeros(())

    def loss(self, batch: Batch) -> LossOutput:
        x = batch.x
        h = self.encode(x)
        logits = self.decode_logits(h)
        rec = self.reconstruction_loss(logits, x)
        penalty = self.sparsity_penalty(h)
        with torch.no_grad():
            mse = F.mse_loss(self.decode(h), x)
            terms = {
                "reconstruction": rec.detach(),
                "sparsity_penalty": penalty.detach(),
                "mse": mse,
                "mean_activation": h.mean(),
                "mean_abs_activation": h.abs().mean(),
                "active_fraction": (h != 0).float().mean(),
            }
        return LossOutput(loss=rec + penalty, terms=terms)


def _digits(sparsity: str, description: str, **kw) -> Preset:
    return Preset(
        model="sparse_ae",
        config=SparseAEConfig(data_shape=(1, 8, 8), latent_dim=32, architecture="mlp", hidden=(128,),
                              sparsity=sparsity, **kw),  # type: ignore[arg-type]
        data="digits",
        train={"steps": 2000, "batch_size": 128, "lr": 2e-3},
        description=description,
    )


def _shapes(sparsity: str, description: str, **kw) -> Preset:
    return Preset(
        model="sparse_ae",
        config=SparseAEConfig(data_shape=(1, 32, 32), latent_dim=32, architecture="conv", widths=(32, 64, 64),
                              sparsity=sparsity, **kw),  # type: ignore[arg-type]
        data="shapes",
        data_options={"size": 32},
        train={"steps": 3000, "batch_size": 128, "lr": 1e-3},
        description=description,
    )


@register_preset
def sparse_ae_digits() -> Preset:
    return _digits("l1", "L1-sparse MLP autoencoder (relu code, lambda=1e-3), 32 units, on digits", l1_weight=1e-3)


@register_preset
def sparse_kl_digits() -> Preset:
    return _digits("kl", "KL-sparse MLP autoencoder (sigmoid code, rho=0.05, beta=0.1), 32 units, on digits",
                   rho=0.05, kl_weight=0.1)


@register_preset
def sparse_topk_digits() -> Preset:
    return _digits("topk", "k-sparse MLP autoencoder (k=4 of 32 units), on digits", k=4)


@register_preset
def sparse_ae_shapes() -> Preset:
    return _shapes("l1", "L1-sparse conv autoencoder, 32 units, on 32x32 shapes", l1_weight=1e-3)


@register_preset
def sparse_kl_shapes() -> Preset:
    return _shapes("kl", "KL-sparse conv autoencoder (rho=0.05), 32 units, on 32x32 shapes", rho=0.05)


@register_preset
def sparse_topk_shapes() -> Preset:
    return _shapes("topk", "k-sparse conv autoencoder (k=5 of 32 units), on 32x32 shapes", k=5)
