"""DCGAN training speed: generativa's trainer against a plain PyTorch loop, in one process.

Both train the same DCGAN networks (same config, same initial weights) on the digits with the same
batch and the same optimisers (Adam 2e-4, betas (0.5, 0.999)) for the same number of rounds
(one discriminator step and one generator step each). The plain loop is the PyTorch DCGAN
tutorial's: a DataLoader over a TensorDataset, BCE on a sigmoid-free logit, labels built each step,
the fakes of the discriminator step reused for the generator step. The trainer is
``generativa.training.trainer.Trainer`` with the preset's training settings (bf16 autocast and
channels-last tensors for ``dcgan_digits``) minus the EMA, logging every 50 rounds, no disk.

images/s = rounds * batch / seconds; GFLOP/s = the FLOPs of one trainer round (torch.utils.flop_counter:
G forward, three D forwards and their backward passes) * rounds / seconds, next to this machine's
fp32 matmul peak measured in the same run (bf16 runs can exceed it). After a warm-up the two loops run in alternating chunks of 25
rounds and each side's time is summed, so both see the same share of a shared machine.

    python benchmarks/gan_speed.py                 # digits 8x8, batch 64
    python benchmarks/gan_speed.py --threads 2 --rounds 400
    python benchmarks/gan_speed.py --set 'precision="fp32"' channels_last=False   # without bf16
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from common import matmul_peak_gflops
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from generativa.data import load_data
from generativa.registry import get_model_class, get_preset
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--preset", default="dcgan_digits")
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--rounds", type=int, default=300)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--set", nargs="*", default=[], help="extra trainer settings, e.g. channels_last=True")
args = parser.parse_args()
extra = {k: eval(v) for k, v in (kv.split("=") for kv in args.set)}  # noqa: S307
torch.set_num_threads(args.threads)

# -- the same model, built once ------------------------------------------------------------------
preset = get_preset(args.preset)
data = load_data(preset.data, **preset.data_options)
torch.manual_seed(0)
template = get_model_class(preset.model)(preset.config)
print(f"{args.preset}: data {data.shape}, batch {args.batch}, {args.rounds} rounds, "
      f"{sum(p.numel() for p in template.parameters())} parameters, {args.threads} thread(s)")


# -- 1. a plain PyTorch loop (the PyTorch DCGAN tutorial's) --------------------------------------
class PlainLoop:
    def __init__(self):
        model = copy.deepcopy(template)
        self.G, self.D = model.generator, model.discriminator
        self.nz = model.config.latent_dim
        dataset = TensorDataset(data.train.images() * 2 - 1)  # [-1, 1]
        self.loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.criterion = nn.BCEWithLogitsLoss()
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def generate(self, z):
        # the tutorial's layout: the projection read as (C0, s0, s0), contiguous (NCHW) tensors
        G = self.G
        h = G.project(z).view(z.shape[0], G.c0, G.s0, G.s0)
        return torch.tanh(G.out(G.ups(h)))

    def discriminate(self, x):
        return self.D.head(self.D.features(x).flatten(1)).squeeze(1)

    def run(self, rounds: int) -> None:
        G, D, criterion = self.generate, self.discriminate, self.criterion
        for _ in range(rounds):
            try:
                (real,) = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                (real,) = next(self.batches)
            b = real.shape[0]
            # discriminator: log D(x) + log(1 - D(G(z)))
            self.D.zero_grad()
            label = torch.full((b,), 1.0)
            err_real = criterion(D(real), label)
            err_real.backward()
            fake = G(torch.randn(b, self.nz))
            label.fill_(0.0)
            err_fake = criterion(D(fake.detach()), label)
            err_fake.backward()
            self.opt_d.step()
            # generator: log D(G(z)) (non-saturating), on the same fakes
            self.G.zero_grad()
            label.fill_(1.0)
            err_g = criterion(D(fake), label)
            err_g.backward()
            self.opt_g.step()


# -- 2. generativa's trainer (the preset's training settings) -------------------------------------
class TrainerLoop:
    def __init__(self):
        # the preset's settings, minus the EMA the plain loop does not keep
        settings = {k: v for k, v in preset.train.items() if k not in ("steps", "batch_size", "ema_decay")}
        settings.update(extra)
        self.settings = settings
        config = TrainConfig(steps=10**9, batch_size=args.batch, progress=False, log_every=50,
                             sample_every=0, checkpoint_every=0, num_threads=args.threads, **settings)
        self.trainer = Trainer(copy.deepcopy(template), data, config)

    def run(self, rounds: int) -> None:
        t = self.trainer
        t.fit(steps=t.step + rounds)


# Interleave short chunks so that both see the same share of a shared machine.
plain, ours = PlainLoop(), TrainerLoop()
print(f"trainer settings: {ours.settings}")
plain.run(10), ours.run(10)  # warm-up
with FlopCounterMode(display=False) as counter:
    ours.run(1)
flops_per_round = counter.get_total_flops()
peak = matmul_peak_gflops()
seconds = {"plain PyTorch loop": 0.0, "generativa Trainer": 0.0}
chunk = 25
for _ in range(args.rounds // chunk):
    for name, loop in (("plain PyTorch loop", plain), ("generativa Trainer", ours)):
        start = time.perf_counter()
        loop.run(chunk)
        seconds[name] += time.perf_counter() - start
rounds = (args.rounds // chunk) * chunk
rate = {k: rounds * args.batch / v for k, v in seconds.items()}
print(f"  {flops_per_round / 1e6:.1f} MFLOP per round; fp32 matmul peak {peak:.1f} GFLOP/s")
for name, r in rate.items():
    gflops = flops_per_round * rounds / seconds[name] / 1e9
    print(f"  {name:20s} {r:8.0f} images/s  ({rounds} rounds in {seconds[name]:.1f} s), "
          f"{gflops:.1f} GFLOP/s = {gflops / peak:.1%} of the matmul peak")
print(f"  speed-up (trainer / plain): {rate['generativa Trainer'] / rate['plain PyTorch loop']:.2f}x")
