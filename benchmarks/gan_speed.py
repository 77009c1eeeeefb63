"""DCGAN training speed: generativa's trainer against a plain PyTorch loop, in one process.

Both train the same DCGAN networks (same config, same initial weights) on the digits with the same
batch and the same optimisers (Adam 2e-4, betas (0.5, 0.999)) for the same number of rounds
(one discriminator step and one generator step each). The plain loop is the PyTorch DCGAN
tutorial's: a DataLoader over a TensorDataset, BCE on a sigmoid-free logit, labels built each step,
the fakes of the discriminator step reused for the generator step. The trainer is
``generativa.training.trainer.Trainer`` with logging and checkpoints as in a real run, minus disk.

images/s = rounds * batch / seconds. Each side is timed after a warm-up, three times, alternating;
the best of each is reported (the machine is shared).

    python benchmarks/gan_speed.py                 # digits 8x8, batch 64
    python benchmarks/gan_speed.py --threads 2 --rounds 400
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from generativa.data import load_data
from generativa.registry import get_model_class, get_preset
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--preset", default="dcgan_digits")
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--rounds", type=int, default=300)
parser.add_argument("--repeats", type=int, default=3)
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
def plain_loop(rounds: int) -> float:
    model = copy.deepcopy(template)
    G, D = model.generator, model.discriminator
    nz = model.config.latent_dim
    dataset = TensorDataset(data.train.images() * 2 - 1)  # [-1, 1]
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done = 0
    start = time.perf_counter()
    while done < rounds:
        for (real,) in loader:
            b = real.shape[0]
            # discriminator: log D(x) + log(1 - D(G(z)))
            D.zero_grad()
            label = torch.full((b,), 1.0)
            err_real = criterion(D(real), label)
            err_real.backward()
            fake = G(torch.randn(b, nz))
            label.fill_(0.0)
            err_fake = criterion(D(fake.detach()), label)
            err_fake.backward()
            opt_d.step()
            # generator: log D(G(z)) (non-saturating), on the same fakes
            G.zero_grad()
            label.fill_(1.0)
            err_g = criterion(D(fake), label)
            err_g.backward()
            opt_g.step()
            done += 1
            if done == rounds:
                break
    return rounds * args.batch / (time.perf_counter() - start)


# -- 2. generativa's trainer -----------------------------------------------------------------------
def trainer_loop(rounds: int) -> float:
    model = copy.deepcopy(template)
    config = TrainConfig(steps=rounds, batch_size=args.batch, progress=False, log_every=50,
                         sample_every=0, checkpoint_every=0, num_threads=args.threads,
                         **{k: v for k, v in preset.train.items() if k not in ("steps", "batch_size")},
                         **extra)
    trainer = Trainer(model, data, config)
    start = time.perf_counter()
    trainer.fit()
    return rounds * args.batch / (time.perf_counter() - start)


plain_loop(20), trainer_loop(20)  # warm-up
results: dict[str, list[float]] = {"plain PyTorch loop": [], "generativa Trainer": []}
for _ in range(args.repeats):
    results["plain PyTorch loop"].append(plain_loop(args.rounds))
    results["generativa Trainer"].append(trainer_loop(args.rounds))
best = {k: max(v) for k, v in results.items()}
for name, values in results.items():
    print(f"  {name:20s} best {best[name]:8.0f} images/s   runs: {', '.join(f'{v:.0f}' for v in values)}")
print(f"  speed-up (trainer / plain): {best['generativa Trainer'] / best['plain PyTorch loop']:.2f}x")
