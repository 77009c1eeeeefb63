"""DCGAN training speed: generativa's trainer against a plain PyTorch loop, in one process.

Both train on the same data with the same batch and the same optimisers (Adam 2e-4, betas
(0.5, 0.999)), one discriminator step and one generator step a round. The plain loop is the PyTorch
DCGAN tutorial's: a DataLoader over a TensorDataset, BCE on a sigmoid-free logit, labels built each
step, the fakes of the discriminator step reused for the generator step. Its networks are either
the preset's own (``--plain same``: same config, same initial weights, the tutorial's NCHW layout),
or the DCGAN paper's layout as the tutorial writes it (``--plain paper``): z (100) -> transposed
4x4 convolutions from s0 x s0 doubling to the image, ngf = ndf = 64 channels at full resolution,
doubled at each halving, batch norm except on D's input and G's output, tanh; D's last layer a
valid s0 x s0 convolution (for 28x28: 7x7x128 -> 14x14x64 -> 28x28x1 and back). The trainer is
``generativa.training.trainer.Trainer`` with the preset's training settings (bf16 autocast and
channels-last tensors for the ``dcgan_*`` presets) minus the EMA (``--ema`` keeps it), logging
every 50 rounds, no disk.

images/s = rounds * batch / seconds; rounds/min likewise; GFLOP/s = the FLOPs of one round
(torch.utils.flop_counter: G forward, three D forwards and their backward passes) * rounds / seconds,
next to this machine's fp32 matmul peak measured in the same run (bf16 runs can exceed it). After a
warm-up the two loops run in alternating chunks of 25 rounds and each side's time is summed, so
both see the same share of a shared machine. ``--minutes M`` runs chunks until each side has had
about M minutes; ``--fid N`` then scores N samples of each side's generator (eval mode; the EMA
weights where the trainer keeps them) by FID in the feature space of the dataset's LeNet-5 (the
evaluation protocol's), against the test split.

    python benchmarks/gan_speed.py                 # digits 8x8, batch 64
    python benchmarks/gan_speed.py --threads 2 --rounds 400
    python benchmarks/gan_speed.py --set 'precision="fp32"' channels_last=False   # without bf16
    python benchmarks/gan_speed.py --preset dcgan_mnist --data idx:PATH --plain paper --threads 2 --rounds 1000
    python benchmarks/gan_speed.py --preset dcgan_mnist --data idx:PATH --plain paper --threads 2 --minutes 5 --ema --fid 2000
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
from generativa.models.gans.networks import dcgan_init_, dcgan_levels
from generativa.registry import get_model_class, get_preset
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--preset", default="dcgan_digits")
parser.add_argument("--data", default=None, help="data spec (default: the preset's), e.g. idx:PATH for 28x28 digits")
parser.add_argument("--plain", choices=["same", "paper"], default="same", help="the plain loop's networks")
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--rounds", type=int, default=300)
parser.add_argument("--minutes", type=float, default=None, help="time each side for about this long instead")
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--ema", action="store_true", help="keep the preset's EMA in the trainer")
parser.add_argument("--fid", type=int, default=0, help="then score this many samples of each side by FID")
parser.add_argument("--set", nargs="*", default=[], help="extra trainer settings, e.g. channels_last=True")
args = parser.parse_args()
extra = {k: eval(v) for k, v in (kv.split("=") for kv in args.set)}  # noqa: S307
torch.set_num_threads(args.threads)

# -- the same data, the preset's model built once ---------------------------------------------------
preset = get_preset(args.preset)
data = load_data(args.data) if args.data else load_data(preset.data, **preset.data_options)
torch.manual_seed(0)
template = get_model_class(preset.model)(preset.config)
print(f"{args.preset}: data {data.shape} ({data.spec}), batch {args.batch}, "
      f"{sum(p.numel() for p in template.parameters())} parameters, {args.threads} thread(s), plain networks: {args.plain}")


# -- 1. a plain PyTorch loop (the PyTorch DCGAN tutorial's) --------------------------------------
class PaperGenerator(nn.Module):
    """The DCGAN paper's generator as the PyTorch tutorial writes it, sized to the data."""

    def __init__(self, channels: int, size: int, nz: int = 100, ngf: int = 64):
        super().__init__()
        s0, n_up = dcgan_levels(size)
        widths = [ngf * 2 ** (n_up - 1 - k) for k in range(n_up)]  # at s0, 2 s0, ..., size / 2
        layers = [nn.ConvTranspose2d(nz, widths[0], s0, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.nz = nz
        dcgan_init_(self)

    def forward(self, z):
        return self.main(z.view(z.shape[0], self.nz, 1, 1))


class PaperDiscriminator(nn.Module):
    def __init__(self, channels: int, size: int, ndf: int = 64):
        super().__init__()
        s0, n_up = dcgan_levels(size)
        widths = [ndf * 2**k for k in range(n_up)]  # at size / 2, ..., s0
        layers = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], 1, s0, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x):
        return self.main(x).view(-1)


class PlainLoop:
    def __init__(self):
        model = copy.deepcopy(template)
        if args.plain == "paper":
            channels, size = template.data_shape[0], template.data_shape[1]
            self.G, self.D, self.nz = PaperGenerator(channels, size), PaperDiscriminator(channels, size), 100
            self.generate, self.discriminate = self.G, self.D
        else:
            self.G, self.D = model.generator, model.discriminator
            self.nz = model.config.latent_dim
        dataset = TensorDataset(data.train.images() * 2 - 1)  # [-1, 1]
        self.loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.criterion = nn.BCEWithLogitsLoss()
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.rounds = 0

    def generate(self, z):
        # the tutorial's layout: the projection read as (C0, s0, s0), contiguous (NCHW) tensors
        G = self.G
        h = G.project(z).view(z.shape[0], G.c0, G.s0, G.s0)
        return torch.tanh(G.out(G.ups(h)))

    def discriminate(self, x):
        return self.D.head(self.D.features(x).flatten(1)).squeeze(1)

    def run(self, rounds: int) -> None:
        G, D, criterion = self.generate, self.discriminate, self.criterion
        self.G.train(), self.D.train()
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
        self.rounds += rounds

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        self.G.eval()
        return (self.generate(torch.randn(n, self.nz, generator=generator)) + 1) / 2


# -- 2. generativa's trainer (the preset's training settings) -------------------------------------
class TrainerLoop:
    def __init__(self):
        # the preset's settings, minus the EMA the plain loop does not keep (unless --ema)
        dropped = ("steps", "batch_size") if args.ema else ("steps", "batch_size", "ema_decay")
        settings = {k: v for k, v in preset.train.items() if k not in dropped}
        settings.update(extra)
        self.settings = settings
        config = TrainConfig(steps=10**9, batch_size=args.batch, progress=False, log_every=50,
                             sample_every=0, checkpoint_every=0, num_threads=args.threads, **settings)
        self.trainer = Trainer(copy.deepcopy(template), data, config)

    @property
    def rounds(self) -> int:
        return self.trainer.step

    def run(self, rounds: int) -> None:
        t = self.trainer
        t.fit(steps=t.step + rounds, finish=False)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        model = self.trainer._eval_model()  # EMA weights where kept
        return model.sample(n, generator=generator).float().contiguous()


def flops_of_one_round(loop) -> float:
    with FlopCounterMode(display=False) as counter:
        loop.run(1)
    return counter.get_total_flops()


# Interleave short chunks so that both see the same share of a shared machine.
names = {"plain": f"plain PyTorch loop ({args.plain} networks)", "trainer": "generativa Trainer"}
loops = {"plain": PlainLoop(), "trainer": TrainerLoop()}
print(f"trainer settings: {loops['trainer'].settings}")
for loop in loops.values():
    loop.run(10)  # warm-up
flops = {k: flops_of_one_round(loop) for k, loop in loops.items()}
peak = matmul_peak_gflops()
seconds = {k: 0.0 for k in loops}
rounds = {k: 0 for k in loops}
chunk = 25
budget = None if args.minutes is None else args.minutes * 60
while (rounds["plain"] < args.rounds) if budget is None else (min(seconds.values()) < budget):
    for k, loop in loops.items():
        if budget is not None and seconds[k] >= budget:
            continue
        start = time.perf_counter()
        loop.run(chunk)
        seconds[k] += time.perf_counter() - start
        rounds[k] += chunk
print(f"  fp32 matmul peak {peak:.1f} GFLOP/s")
rate = {k: rounds[k] * args.batch / seconds[k] for k in loops}
for k in loops:
    gflops = flops[k] * rounds[k] / seconds[k] / 1e9
    print(f"  {names[k]:38s} {rate[k]:7.0f} images/s, {60 * rounds[k] / seconds[k]:6.0f} rounds/min "
          f"({rounds[k]} rounds in {seconds[k]:.1f} s), {flops[k] / 1e6:.0f} MFLOP a round, "
          f"{gflops:.1f} GFLOP/s = {gflops / peak:.1%} of the matmul peak")
print(f"  speed-up (trainer / plain), rounds per second: {rate['trainer'] / rate['plain']:.2f}x")

if args.fid:
    from generativa.evaluation.features import feature_network
    from generativa.evaluation.fid import fid

    net = feature_network(data, "lenet5")
    real, _ = net.features_and_logits(data.test)
    for k, loop in loops.items():
        x = loop.sample(args.fid, torch.Generator().manual_seed(0)).clamp(0, 1)
        feats, _ = net.features_and_logits(x)
        print(f"  {names[k]:38s} FID {fid(real, feats):.2f} after {loop.rounds} rounds ({args.fid} samples)")
