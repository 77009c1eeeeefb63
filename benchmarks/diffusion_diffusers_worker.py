"""diffusers' DDPM recipe on the same digits, run inside diffusers' own virtual environment (it does not
import generativa). Called by ``diffusion.py diffusers``; writes the samples to an .npz file and
prints one JSON line.

The recipe is the one of diffusers' unconditional image example (``train_unconditional.py``), sized
for 28x28 grey images on a CPU: ``UNet2DModel`` (blocks of 32, 64, 64 channels, two ResNet layers
per block, attention at the lowest resolution), ``DDPMScheduler`` with 1,000 linear betas and
epsilon prediction, AdamW (lr 1e-4, betas (0.95, 0.999), weight decay 1e-6) with 500 warm-up
steps and cosine decay over the time budget, the EMA of the example (inv_gamma 1, power 3/4, max
0.9999), batch 64, images scaled to [-1, 1]; sampled with ``DDIMScheduler`` in ``--ddim-steps``
steps (eta 0) from the EMA weights.

    python diffusion_diffusers_worker.py DATA.npz OUT.npz --minutes 5 --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("out")
parser.add_argument("--minutes", type=float, required=True)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--ddim-steps", type=int, default=50)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

with np.load(args.data, allow_pickle=False) as f:
    train = torch.from_numpy(f["train"]).float() / 255.0 * 2 - 1  # (N, 1, 28, 28) in [-1, 1]
shape = tuple(train.shape[1:])
model = UNet2DModel(sample_size=shape[1], in_channels=shape[0], out_channels=shape[0], layers_per_block=2,
                    block_out_channels=(32, 64, 64),
                    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
                    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"))
noise_scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon")
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8)
ema = EMAModel(model.parameters(), decay=0.9999, use_ema_warmup=True, inv_gamma=1.0, power=0.75)
budget = args.minutes * 60
warmup = 500


def lr_at(elapsed: float, step: int) -> float:
    if step < warmup:
        return step / warmup
    return 0.5 * (1 + math.cos(math.pi * min(elapsed / budget, 1.0)))


step, start = 0, time.perf_counter()
model.train()
while (elapsed := time.perf_counter() - start) < budget:
    idx = torch.randint(0, len(train), (args.batch,))
    clean = train[idx]
    noise = torch.randn_like(clean)
    timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (args.batch,)).long()
    noisy = noise_scheduler.add_noise(clean, noise, timesteps)
    loss = F.mse_loss(model(noisy, timesteps).sample, noise)
    for group in opt.param_groups:
        group["lr"] = 1e-4 * lr_at(elapsed, step)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    ema.step(model.parameters())
    step += 1
train_s = time.perf_counter() - start

ema.copy_to(model.parameters())
model.eval()
ddim = DDIMScheduler.from_config(noise_scheduler.config)
ddim.set_timesteps(args.ddim_steps)
generator = torch.Generator().manual_seed(args.seed)
out, start = [], time.perf_counter()
with torch.no_grad():
    for i in range(0, args.samples, 250):
        x = torch.randn((min(250, args.samples - i), *shape), generator=generator)
        for t in ddim.timesteps:
            x = ddim.step(model(x, t).sample, t, x, eta=0.0).prev_sample
        out.append(((x.clamp(-1, 1) + 1) / 2).numpy())
sample_s = time.perf_counter() - start
np.savez(args.out, samples=np.concatenate(out).astype(np.float32))
print(json.dumps({"steps": step, "train_s": round(train_s, 1), "train_images_per_s": round(step * args.batch / train_s),
                  "params": sum(p.numel() for p in model.parameters()), "final_loss": round(float(loss), 4),
                  "sample_s": round(sample_s, 1), "sample_s_per_image": round(sample_s / args.samples, 4),
                  "ddim_steps": args.ddim_steps}))
