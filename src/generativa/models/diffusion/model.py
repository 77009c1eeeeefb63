"""A diffusion model: the noising process (``process.py``) over a network it is handed (the U-Net of
``nn/unet.py``), turned into one denoiser that every sampler (``samplers.py``) uses.

x: images (B, C, H, W) in [0, 1], mapped to x_0 = 2 x - 1 in [-1, 1] (vectors: x_0 = x);
x_t = alpha(t) x_0 + sigma(t) eps, t in [0, 1], t = 0 clean;  F = net(c_in(t) x_t, t[, y]).

What the network predicts (``prediction``), each turned into the denoiser D(x_t, t) ~ E[x_0 | x_t]:

    eps       x_0 = (x_t - sigma F) / alpha                              [Ho et al. 2020, eq. 11]
    x0        x_0 = F
    v         v = alpha eps - sigma x_0;  x_0 = (alpha x_t - sigma F) / (alpha^2 + sigma^2)
                                                                          [Salimans & Ho 2022, arXiv:2202.00512]
    velocity  u = alpha' x_0 + sigma' eps (dx_t/dt);  x_0 = (sigma' x_t - sigma F) / (sigma' alpha - sigma alpha')
                                                                          [Lipman et al. 2022; Liu et al. 2022]

c_in(t) = 1 / sqrt(alpha^2 sigma_data^2 + sigma^2) scales the input to unit variance (Karras et al.
2022, arXiv:2206.00364, Table 1); sigma_data = 0.5 for images in [-1, 1].

Training: t from ``time_sampling`` (uniform on (0, 1), or logit-normal: t = sigmoid(n), n ~ N(0, 1),
Esser et al. 2024, arXiv:2403.03206), the loss the mean squared error of F against its target,
weighted by ``weighting``: uniform, or min-SNR-gamma (Hang et al. 2023, arXiv:2303.09556: the weight
of the x_0 error is min(SNR, gamma), SNR = alpha^2 / sigma^2, expressed for each target).

Classifier-free guidance (Ho & Salimans 2022, arXiv:2207.12598): with ``num_classes`` > 0 and
``conditional``, the label is replaced by a "no class" token with probability ``label_dropout``
while training; sampling with guidance w uses D = D(no class) + w (D(y) - D(no class)) (w = 1 is the
conditional model, one evaluation).

The variational bound (``log_prob``; Kingma et al. 2021, arXiv:2107.00630, eq. 11-17, written in
lambda = log(alpha / sigma), where the continuous-time diffusion term is
E_lambda[e^(2 lambda) ||x_0 - D(x_lambda)||^2] over lambda uniform on [lambda(T1), LAMBDA_MAX] times that
length): -log p(x_0) <= KL(q(x_T1 | x_0) || N(0, I)) + E[-log N(x_0; x_T0 / alpha, (sigma / alpha)^2)]
+ the diffusion term, valid for any denoiser and any schedule. Images are dequantised (uniform noise
on each of the 256 levels, one draw), so the number is a lower bound of log P(x) of the 8-bit image,
the flows' convention.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from generativa.models.base import (
    LABELS,
    Batch,
    Capabilities,
    GenerativeModel,
    LossOutput,
    ModelConfig,
    SampleOption,
)
from generativa.models.diffusion.process import Process, Schedule
from generativa.models.diffusion.samplers import SAMPLERS, ImageNoise, Sampler, sample
from generativa.models.guidance import GUIDANCE, check_guidance, check_label_dropout, drop_labels, guided
from generativa.nn.precision import Precision, autocast, resolve_precision
from generativa.nn.unet import UNet

Prediction = Literal["eps", "x0", "v", "velocity"]
T_TRAIN_MIN = 1e-4  # training times stay inside (0, 1): alpha / sigma vanish at the ends
T_BOUND_MAX = 1.0 - 1e-4  # the bound's prior term is taken at this time
LAMBDA_MAX_IMAGES = math.log(512.0)  # sigma / alpha = 1 / 512 at the decoder: a quarter of a level of [-1, 1]
LAMBDA_MAX_VECTORS = math.log(1000.0)


@dataclass(frozen=True)
class UNetConfig:
    """The denoising network (``nn/unet.py``)."""

    widths: tuple[int, ...] = (32, 64, 64)
    blocks: int = 1
    attention_at: tuple[int, ...] = ()
    dropout: float = 0.0
    patch: int = 1  # fold p x p patches into channels first (2: 28x28 is denoised at 14x14, ~4x cheaper)


@dataclass(frozen=True)
class DiffusionConfig(ModelConfig):
    schedule: Schedule = "vp_cosine"
    prediction: Prediction = "eps"
    time_sampling: Literal["uniform", "logit_normal"] = "uniform"
    weighting: Literal["uniform", "min_snr"] = "uniform"
    min_snr_gamma: float = 5.0
    sigma_data: float = 0.5
    unet: UNetConfig = UNetConfig()
    conditional: bool = False          # take labels (needs num_classes > 0)
    label_dropout: float = 0.1         # classifier-free guidance: share of training labels dropped
    sampler: Sampler = "heun"          # the defaults of ``sample``
    sampling_steps: int = 10
    guidance: float = 1.0
    sampling_precision: Precision = "auto"  # the network while sampling; auto: bf16 where the CPU has it natively


SAMPLE_OPTIONS = (
    SampleOption("sampler", "str", "heun", "the sampler: ddpm, ddim, euler, heun or dpm_solver", choices=SAMPLERS),
    SampleOption("steps", "int", 10, "steps of the sampler (network evaluations: the same, 2 x - 1 for heun; "
                 "default: the config's sampling_steps)", minimum=1, maximum=10000),
    SampleOption("eta", "float", 0.0, "DDIM's noise: 0 deterministic, 1 the DDPM posterior", minimum=0.0, maximum=1.0),
    GUIDANCE,
    SampleOption("precision", "str", "auto", "the network's arithmetic while sampling: fp32, bf16, or auto (bf16 on "
                 "CPUs with native bf16, where it is 2-3x faster; the sampler itself stays fp32)",
                 choices=("auto", "fp32", "bf16")),
)


class DiffusionModel(GenerativeModel):
    config_class: ClassVar[type] = DiffusionConfig
    CAPABILITIES = Capabilities(sample=True, log_prob="bound", sample_options=SAMPLE_OPTIONS,
                                traits=frozenset({"denoising_process"}))

    def __init__(self, config: DiffusionConfig):
        super().__init__(config)
        c = config
        if c.conditional and c.num_classes < 1:
            raise ValueError("conditional=true needs labelled data (num_classes > 0); train on a labelled dataset "
                             "or set conditional=false")
        check_label_dropout(c.label_dropout)
        self.process = Process(c.schedule)
        self.num_labels = c.num_classes if c.conditional else 0
        self.null_label = self.num_labels if self.num_labels else None   # the "no class" token of guidance
        self.space_shape = self.diffusion_space()
        if len(self.space_shape) not in (1, 3):
            raise ValueError(f"diffusion models images (C, H, W) or vectors (D,), got {self.space_shape}")
        self.net = self._network()

    def diffusion_space(self) -> tuple[int, ...]:
        """The shape of x_0, the variable the process noises: the data's own (a latent model: its latents')."""
        return tuple(self.config.data_shape)

    def _network(self) -> torch.nn.Module:
        c, shape = self.config, self.space_shape
        if len(shape) == 3:
            return UNet(shape[0], shape[0], widths=c.unet.widths, blocks=c.unet.blocks, patch=c.unet.patch,
                        attention_at=c.unet.attention_at, num_classes=self.num_labels, dropout=c.unet.dropout)
        return _VectorNet(shape[0], self.num_labels, hidden=max(c.unet.widths) * 2)

    def declare(self, capabilities: Capabilities) -> Capabilities:
        if self.is_image_model:
            convention = ("the continuous-time variational bound (VDM) of the image dequantised with uniform noise "
                          "on its 256 levels (one draw per image): a lower bound of log P(x) of the 8-bit image")
        else:
            convention = "the continuous-time variational bound (VDM) of the log-density in the data's own units"
        capabilities = dataclasses.replace(capabilities, likelihood_convention=convention)
        if self.num_labels:
            return dataclasses.replace(capabilities, conditions=(LABELS,))
        return capabilities

    # -- spaces ---------------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        return x * 2.0 - 1.0 if self.is_image_model else x

    def to_data_space(self, x0: Tensor) -> Tensor:
        return ((x0 + 1.0) * 0.5).clamp(0.0, 1.0) if self.is_image_model else x0

    def _b(self, v: Tensor, like: Tensor) -> Tensor:
        return v.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)

    # -- the network's output as a denoiser ---------------------------------------------------------
    def network_output(self, x_t: Tensor, t: Tensor, labels: Tensor | None) -> Tensor:
        a, s = self.process.alpha_sigma(t)
        c_in = 1.0 / torch.sqrt(a ** 2 * self.config.sigma_data ** 2 + s ** 2)
        return self.net(x_t * self._b(c_in, x_t), t, labels).float()

    def to_x0(self, out: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """The network's output -> the estimate of x_0 (see the module docstring)."""
        a, s = (self._b(v, x_t) for v in self.process.alpha_sigma(t))
        p = self.config.prediction
        if p == "x0":
            return out
        if p == "eps":
            return (x_t - s * out) / a.clamp_min(1e-4)
        if p == "v":
            return (a * x_t - s * out) / (a ** 2 + s ** 2)
        da, ds = (self._b(v, x_t) for v in self.process.derivatives(t))
        return (ds * x_t - s * out) / (ds * a - s * da)

    def target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        a, s = (self._b(v, x0) for v in self.process.alpha_sigma(t))
        p = self.config.prediction
        if p == "x0":
            return x0
        if p == "eps":
            return eps
        if p == "v":
            return a * eps - s * x0
        da, ds = (self._b(v, x0) for v in self.process.derivatives(t))
        return da * x0 + ds * eps

    def weight(self, t: Tensor) -> Tensor:
        """The loss weight of each example's squared error of F (min-SNR: the x_0 error weighted by min(SNR, gamma))."""
        if self.config.weighting == "uniform":
            return torch.ones_like(t)
        a, s = self.process.alpha_sigma(t.double())
        snr = (a / s) ** 2
        x0_weight = torch.clamp(snr, max=self.config.min_snr_gamma)
        p = self.config.prediction
        # |d x_0 / d F|^2 turns the x_0 weight into the weight of F's error [Hang et al. 2023, eq. 7-9]
        factor = {"x0": torch.ones_like(snr), "eps": 1.0 / snr, "v": (s / (a ** 2 + s ** 2)) ** 2}.get(p)
        if factor is None:  # velocity: x_0 error = sigma / (sigma' alpha - sigma alpha') * F error
            da, ds = self.process.derivatives(t.double())
            factor = (s / (ds * a - s * da)) ** 2
        return (x0_weight * factor).to(t.dtype)

    def denoise(self, x_t: Tensor, t: Tensor, labels: Tensor | None = None, guidance: float = 1.0) -> Tensor:
        """D(x_t, t) ~ E[x_0 | x_t (, y)], with classifier-free guidance w where labels are given."""
        if labels is None or guidance == 1.0:
            return self.to_x0(self.network_output(x_t, t, labels), x_t, t)
        null = torch.full_like(labels, self.num_labels)
        both = self.network_output(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([labels, null]))
        cond, uncond = both.chunk(2)
        return guided(self.to_x0(cond, x_t, t), self.to_x0(uncond, x_t, t), guidance)

    # -- the contract ---------------------------------------------------------------------------
    def sample_times(self, n: int, device) -> Tensor:
        if self.config.time_sampling == "logit_normal":
            t = torch.sigmoid(torch.randn(n, device=device))
        else:
            t = torch.rand(n, device=device)
        return t.clamp(T_TRAIN_MIN, 1.0 - T_TRAIN_MIN)

    def loss(self, batch: Batch) -> LossOutput:
        self.check_input(batch.x)
        x0 = self.to_model_space(batch.x)
        t = self.sample_times(x0.shape[0], x0.device)
        eps = torch.randn_like(x0)
        x_t = self.process.q_sample(x0, t, eps)
        labels = None
        if self.num_labels:
            labels = batch.labels
            if self.training:
                labels = drop_labels(labels, self.config.label_dropout, self.num_labels)
        out = self.network_output(x_t, t, labels)
        per_example = (out - self.target(x0, eps, t)).pow(2).flatten(1).mean(1)
        loss = (self.weight(t) * per_example).mean()
        with torch.no_grad():
            x0_error = F.mse_loss(self.to_x0(out, x_t, t), x0)
        return LossOutput(loss, {"x0_mse": x0_error})

    @torch.no_grad()
    def log_prob(self, x: Tensor, *, k: int = 8, generator: torch.Generator | None = None,
                 labels: Tensor | None = None) -> Tensor:
        """A lower bound of log p(x), nats per example (B,), from ``k`` noise levels per example (see the
        module docstring); unbiased for the bound, its Monte-Carlo error falling as 1 / sqrt(k). A model
        trained with labels gives log p(x | y) with ``labels``, its unconditional log p(x) without."""
        self.check_input(x)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if self.num_labels:
            labels = (torch.full((x.shape[0],), self.num_labels, device=self.device) if labels is None
                      else self._labels(x.shape[0], labels))
        was = self.training
        self.eval()
        try:
            return self._bound(x.float(), k, generator, labels)
        finally:
            self.train(was)

    def _bound(self, x: Tensor, k: int, generator: torch.Generator | None, labels: Tensor | None) -> Tensor:
        b, dims = x.shape[0], math.prod(self.data_shape)

        def noise(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=generator, device=self.device)

        extra = x.new_zeros(b)
        if self.is_image_model:  # uniform dequantisation: P(levels) >= E_u p([0, 1] density) / 256^D
            u = torch.rand(x.shape, generator=generator, device=self.device)
            x = (torch.round(x * 255.0) + u) / 256.0
            extra = extra + dims * (math.log(2.0) - math.log(256.0))  # the density of 2 x - 1, then the bins
        x0 = self.to_model_space(x)
        flat = x0.flatten(1).double()
        p = self.process
        t1 = torch.tensor(T_BOUND_MAX, dtype=torch.float64)
        a1, s1 = p.alpha_sigma(t1)
        prior_kl = 0.5 * ((a1 * flat) ** 2 + s1 ** 2 - 1.0 - torch.log(s1 ** 2)).sum(1)
        lam_lo = float(p.log_snr(t1))
        lam_hi = LAMBDA_MAX_IMAGES if self.is_image_model else LAMBDA_MAX_VECTORS
        decoder = 0.5 * dims * (math.log(2 * math.pi) - 2.0 * lam_hi + 1.0)  # E[-log N(x_0; x_T0/alpha, e^-2lam)]
        offsets = torch.rand(b, 1, generator=generator, device=self.device, dtype=torch.float64)
        grid = (offsets + torch.arange(k, device=self.device, dtype=torch.float64) / k) % 1.0  # stratified
        diffusion = x0.new_zeros(b, dtype=torch.float64)
        for j in range(k):
            lam = lam_lo + (lam_hi - lam_lo) * grid[:, j]
            t = p.t_of_log_snr(lam)
            x_t = p.q_sample(x0, t.float(), noise(*x0.shape))
            err = (self.denoise(x_t, t.float(), labels) - x0).double().pow(2).flatten(1).sum(1)
            diffusion += (lam_hi - lam_lo) * torch.exp(2.0 * lam) * err / k
        return (extra - prior_kl - decoder - diffusion).float()

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, sampler: str | None = None,
               steps: int | None = None, eta: float = 0.0, guidance: float | None = None,
               precision: str | None = None, **condition: Any) -> Tensor:
        """n samples by ``sampler`` in ``steps`` steps (defaults: the config's sampler and sampling_steps); the network runs
        in ``precision`` (channels-last under bf16), the sampler's arithmetic in float32."""
        self.check_condition(condition)
        c = self.config
        labels = condition.get("labels")
        if self.num_labels:
            labels = self._labels(n, labels)
        guidance = c.guidance if guidance is None else guidance
        check_guidance(self.name, guidance, self.null_label)
        noise = ImageNoise(n, self.space_shape, generator, self.device, torch.float32)
        precision = precision or c.sampling_precision
        if len(self.space_shape) == 3 and self.device.type == "cpu" and resolve_precision(precision, self.device.type) == "bf16":
            self.net.to(memory_format=torch.channels_last)
        was = self.training
        self.eval()
        try:
            with autocast(precision, self.device.type):
                x0 = sample(lambda x, t: self.denoise(x, t.float(), labels, guidance), self.process, noise,
                            sampler=sampler or c.sampler, steps=steps or c.sampling_steps, eta=eta)
        finally:
            self.train(was)
        return self.to_data_space(x0)

    @torch.no_grad()
    def trajectory(self, n: int, *, generator: torch.Generator | None = None, sampler: str | None = None,
                   steps: int | None = None, guidance: float | None = None,
                   labels: Any = None) -> dict[str, Any]:
        """One sampling run, step by step: ``times`` (steps,), ``x_t`` and ``x0`` (steps, n, *data shape:
        the state and the denoiser's estimate of x_0 at each step, in the data's space), ``samples``."""
        c = self.config
        lab = self._labels(n, labels) if self.num_labels else None
        guidance = c.guidance if guidance is None else guidance
        noise = ImageNoise(n, self.space_shape, generator, self.device, torch.float32)
        times, states, estimates = [], [], []

        def keep(t: float, x: Tensor, x0: Tensor) -> None:
            times.append(t)
            states.append(self.to_data_space(x.float()))
            estimates.append(self.to_data_space(x0.float()))

        was = self.training
        self.eval()
        try:
            out = sample(lambda x, t: self.denoise(x, t.float(), lab, guidance), self.process, noise,
                         sampler=sampler or c.sampler, steps=steps or c.sampling_steps, callback=keep)
        finally:
            self.train(was)
        return {"times": torch.tensor(times), "x_t": torch.stack(states), "x0": torch.stack(estimates),
                "samples": self.to_data_space(out)}

    def forward_process(self, x: Tensor, times: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """x (B, ...) noised to each of ``times`` with one noise draw per image: (len(times), B, ...) in the
        data's space (the lecture's strip from the clean image to pure noise)."""
        self.check_input(x)
        x0 = self.to_model_space(x.float())
        eps = torch.randn(x0.shape, generator=generator).to(x0.device)
        rows = []
        for t in times.tolist():
            x_t = self.process.q_sample(x0, torch.full((x0.shape[0],), float(t), device=x0.device), eps)
            rows.append(self.to_data_space(x_t))
        return torch.stack(rows)

    def _labels(self, n: int, labels: Any) -> Tensor:
        k = self.num_labels
        if labels is None:
            return torch.arange(n, device=self.device) % k
        labels = torch.as_tensor(labels, device=self.device).long().reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n)
        if labels.numel() != n or int(labels.min()) < 0 or int(labels.max()) >= k:
            raise ValueError(f"labels must be one class or n = {n} classes in 0..{k - 1}")
        return labels


class _VectorNet(torch.nn.Module):
    """The denoising network for vector data (toy2d): an MLP on [x, time features, class embedding]."""

    def __init__(self, dim: int, num_classes: int, hidden: int = 128):
        super().__init__()
        from generativa.nn.unet import timestep_features

        self.features = timestep_features
        self.time_dim = 32
        self.label_embedding = torch.nn.Embedding(num_classes + 1, 32) if num_classes else None
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim + self.time_dim + (32 if num_classes else 0), hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, dim))

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        parts = [x, self.features(t, self.time_dim).to(x.dtype)]
        if self.label_embedding is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.label_embedding.num_embeddings - 1, device=x.device)
            parts.append(self.label_embedding(labels))
        return self.net(torch.cat(parts, dim=1))


def bits_per_dim(nats: float, shape: tuple[int, ...]) -> float:
    return nats / (math.prod(shape) * math.log(2.0))
