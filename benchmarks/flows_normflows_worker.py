"""normflows' Glow on the same digits, run inside normflows' own virtual environment (it does not import
generativa). Called by ``flows_vs_normflows.py``; prints one JSON line.

The model is the one of normflows' Glow example: ``levels`` levels of ``steps`` GlowBlocks (affine
coupling with its sigmoid scale, invertible 1x1 convolution with LU, ActNorm), GlowBase learned
Gaussians per level, Adamax with lr 1e-3 and weight decay 1e-5 as in the example; the data is
dequantised as in the example (x * 255/256 + U[0, 1/256)), so bits/dim = NLL / (D ln 2) + 8.

    python flows_normflows_worker.py DATA.npz --minutes 10 --threads 2 --batch 64
"""

from __future__ import annotations

import argparse
import json
import math
import time

import normflows as nf
import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("--minutes", type=float, default=None)
parser.add_argument("--steps", type=int, default=None)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--levels", type=int, default=2)
parser.add_argument("--depth", type=int, default=16)
parser.add_argument("--width", type=int, default=256)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

with np.load(args.data, allow_pickle=False) as f:
    train = torch.from_numpy(f["train"]).float()  # (N, 1, 28, 28), 0..255
    test = torch.from_numpy(f["test"]).float()
shape = tuple(train.shape[1:])
D = math.prod(shape)

L, K, C = args.levels, args.depth, shape[0]
q0, merges, flows = [], [], []
for i in range(L):
    level = [nf.flows.GlowBlock(C * 2 ** (L + 1 - i), args.width, split_mode="channel", scale=True) for _ in range(K)]
    flows.append(level + [nf.flows.Squeeze()])
    if i > 0:
        merges.append(nf.flows.Merge())
        latent = (C * 2 ** (L - i), shape[1] // 2 ** (L - i), shape[2] // 2 ** (L - i))
    else:
        latent = (C * 2 ** (L + 1), shape[1] // 2 ** L, shape[2] // 2 ** L)
    q0.append(nf.distributions.GlowBase(latent))
model = nf.MultiscaleFlow(q0, flows, merges, class_cond=False)
opt = torch.optim.Adamax(model.parameters(), lr=1e-3, weight_decay=1e-5)


def dequantise(x: torch.Tensor) -> torch.Tensor:
    return (x + torch.rand_like(x)) / 256.0


def bits_per_dim(x: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        nll = torch.cat([model.forward(dequantise(b)) for b in x.split(500)])
    model.train()
    return float(nll.mean()) / (D * math.log(2)) + 8.0


g = torch.Generator().manual_seed(args.seed)
perm, cursor, step, skipped = torch.randperm(len(train), generator=g), 0, 0, 0
start = time.perf_counter()
timed_start, timed_steps = None, 0
while True:
    if args.steps is not None and step >= args.steps:
        break
    if args.minutes is not None and time.perf_counter() - start >= 60 * args.minutes:
        break
    if cursor + args.batch > len(train):
        perm, cursor = torch.randperm(len(train), generator=g), 0
    x = dequantise(train[perm[cursor:cursor + args.batch]])
    cursor += args.batch
    opt.zero_grad()
    loss = model.forward_kld(x)
    if torch.isfinite(loss):
        loss.backward()
        opt.step()
    else:
        skipped += 1
    step += 1
    if step == 10:
        timed_start, timed_steps = time.perf_counter(), 0
    elif step > 10:
        timed_steps += 1
seconds = time.perf_counter() - start
rate = timed_steps * args.batch / max(time.perf_counter() - timed_start, 1e-9) if timed_start else float("nan")
result = {"steps": step, "train_s": round(seconds, 1), "images_per_s": round(rate, 1), "nonfinite_steps": skipped,
          "test_bits_per_dim": round(bits_per_dim(test), 4),
          "params": sum(p.numel() for p in model.parameters())}
model.eval()
for t in (0.7, 1.0):
    with torch.no_grad():
        xs = torch.cat([model.sample(500, temperature=t)[0] for _ in range(args.samples // 500)])
    result[f"nonfinite_samples_T{t}"] = int((~torch.isfinite(xs.flatten(1)).all(1)).sum())
print(json.dumps(result))
