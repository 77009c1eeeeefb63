"""The 28x28 digit presets (``*_mnist``): train each on real 28x28 digits, measure it on the protocol.

Each preset is trained with ``generativa.train`` and its own settings (steps, batch, precision,
periodic grids and checkpoints included: the run a user gets), then measured with what applies to
its family:

* samples (every model that samples): FID in the feature space of the dataset's LeNet-5 (cached;
  trained once, about a minute), 2,000 samples against the test split, next to the real-vs-real
  floor; the evaluation classifier's histogram of 1,000 samples (classes drawn) and, for a model
  that takes labels, how often a sample is classified as the class it was asked for;
* likelihood (VAEs): the importance-sampled bound log p(x) with k = 1000 draws [Burda et al. 2015,
  eq. 8] on the first ``--nll-n`` test images (Bernoulli decoder on grey levels: a non-normalised
  convention), nats per image and bits per dimension, and its standard error;
* reconstruction (autoencoders, VAEs): test MSE and PSNR; the autoencoders also clean test images
  corrupted by the denoising preset's noise (``denoised PSNR``, a fixed draw);
* classifiers: test accuracy.

images/s = rounds x batch / training seconds (a GAN round's real batch; WGAN-GP's critic sees five).
Training seconds are the trainer's own clock (the loop, periodic grids and test losses); ``wall s``
adds loading the data and writing the run. The load average (/proc/loadavg) is printed before and
after: numbers measured above ~1.5 on this 2-core machine are slowed by other work.

    python benchmarks/presets_mnist.py --data idx:PATH                       # all ten presets, 2 threads
    python benchmarks/presets_mnist.py --data idx:PATH --presets dcgan_mnist --set model.base_width=64
    python benchmarks/presets_mnist.py --data idx:PATH --presets vae_mnist --steps 500 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from common import machine, matmul_peak_gflops

import generativa
from generativa.evaluation import evaluate_run
from generativa.evaluation.features import feature_network
from generativa.exploration.corruption import corrupt
from generativa.models.vae.vae import bits_per_dim
from generativa.registry import get_preset
from generativa.reporting.sections.gans import class_histogram_of_samples
from generativa.training.run import RunDir
from generativa.training.settings import parse_overrides

PRESETS = ["ae_mnist", "denoising_ae_mnist", "vae_mnist", "iwae_mnist", "cvae_mnist",
           "dcgan_mnist", "wgan_gp_mnist", "cgan_mnist", "lenet5_mnist", "resnet_mnist"]

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="mnist", help="data spec, e.g. idx:PATH (a folder of MNIST's IDX files)")
parser.add_argument("--presets", nargs="*", default=PRESETS)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=None, help="default: the preset's")
parser.add_argument("--minutes", type=float, default=None, help="train until the time is up instead")
parser.add_argument("--set", nargs="*", default=[], help="model / training overrides, e.g. model.latent_dim=32")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--nll-n", type=int, default=500, help="test images for the likelihood bound (0: skip it)")
parser.add_argument("--nll-k", type=int, default=1000, help="importance samples per image")
parser.add_argument("--runs", default="runs/benchmarks")
parser.add_argument("--tag", default="", help="suffix of the run folders (to keep variants apart)")
parser.add_argument("--json", default=None)
args = parser.parse_args()
overrides = parse_overrides(args.set)
torch.set_num_threads(args.threads)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


print(f"machine: {machine()}")
print(f"fp32 matmul peak (1024^3, {args.threads} threads): {matmul_peak_gflops():.1f} GFLOP/s")
print(f"load average before: {load_average()}", flush=True)

rows = []
for name in args.presets:
    preset = get_preset(name)
    out = Path(args.runs) / f"presets_mnist_{name}{args.tag}"
    start = time.perf_counter()
    generativa.train(name, data=args.data, steps=args.steps, minutes=args.minutes, out=out, progress=False,
                     seed=args.seed, num_threads=args.threads, overwrite=True, **overrides)
    wall = time.perf_counter() - start
    run = RunDir(out)
    log = run.metrics_log()
    steps = max(r["step"] for r in log)
    seconds = max(r.get("time", 0.0) for r in log)
    batch = run.config["train"]["batch_size"]
    row = {"preset": name, "settings": args.set, "steps": steps, "batch": batch, "train_s": round(seconds, 1),
           "wall_s": round(wall, 1), "images_per_s": round(steps * batch / seconds), "load_after_train": load_average()}
    test = [r for r in log if "test/loss" in r]
    if test:  # the trainer's last test loss (a -ELBO for VAEs, on up to 2,048 test images)
        row["test_loss"] = round(test[-1]["test/loss"], 4)
    model, data = run.load_model(), run.load_data()
    caps = model.capabilities

    if caps.kind == "classifier":
        result = evaluate_run(out, metrics="accuracy")
        row["accuracy"] = round(result["metrics"]["accuracy"], 4)
    if caps.sample:
        result = evaluate_run(out, metrics="fid", n_samples=args.samples, seed=0)
        row["fid"] = round(result["metrics"]["fid"], 3)
        row["fid_floor"] = round(result["floor"]["fid"], 3)
        hist = class_histogram_of_samples(model, data, feature_network(data, "lenet5"), n=1000)
        row["classes"] = f"{round(hist['mode_coverage'] * data.num_classes)}/{data.num_classes}"
        row["class_kl"] = round(hist["class_kl"], 4)
        if "conditional_accuracy" in hist:
            row["conditional_accuracy"] = round(hist["conditional_accuracy"], 4)
    if caps.reconstruct:
        result = evaluate_run(out, metrics="reconstruction")
        row["mse"] = round(result["metrics"]["mse"], 5)
        row["psnr"] = round(result["metrics"]["psnr"], 2)
    if caps.can("log_prob") and args.nll_n > 0:
        x = data.test.images(slice(0, args.nll_n))
        condition = model.condition(labels=data.test.labels[:args.nll_n]) if caps.conditions else {}
        t = time.perf_counter()
        lp = model.log_prob(x, k=args.nll_k, generator=torch.Generator().manual_seed(0), chunk=100, **condition)
        nll = float(-lp.mean())
        row.update({"nll": round(nll, 2), "nll_stderr": round(float(lp.std() / math.sqrt(len(lp))), 2),
                    "bits_per_dim": round(float(bits_per_dim(nll, model.data_shape)), 4),
                    "nll_images": len(x), "nll_k": args.nll_k, "nll_s": round(time.perf_counter() - t)})
    if preset.model in ("ae", "denoising_ae"):
        noise = get_preset("denoising_ae_mnist").config
        spec = f"{noise.corruption}:{noise.noise_level}"
        x = data.test.images()
        noisy = corrupt(x, spec, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            clean = model.reconstruct(noisy).float().clamp(0, 1)
        mse = (clean - x).pow(2).flatten(1).mean(1)
        row["denoised_psnr"] = round(float((10 * torch.log10(1 / mse.clamp_min(1e-10))).mean()), 2)
        row["denoise_corruption"] = spec
    rows.append(row)
    print(json.dumps(row), flush=True)

print(f"load average after: {load_average()}\n")


def cell(row: dict, key: str, fmt: str = "{}") -> str:
    return fmt.format(row[key]) if key in row else "-"


print("| preset | steps | train s | images/s | FID (floor) | NLL nats (bits/dim) | MSE | PSNR | "
      "denoised PSNR | accuracy | asked class |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    fid = f"{r['fid']:.2f} ({r['fid_floor']:.2f})" if "fid" in r else "-"
    nll = f"{r['nll']:.2f} ± {r['nll_stderr']:.2f} ({r['bits_per_dim']:.3f})" if "nll" in r else "-"
    print(f"| `{r['preset']}` | {r['steps']} | {r['train_s']:.0f} | {r['images_per_s']} | {fid} | {nll} | "
          f"{cell(r, 'mse', '{:.5f}')} | {cell(r, 'psnr', '{:.2f}')} | {cell(r, 'denoised_psnr', '{:.2f}')} | "
          f"{cell(r, 'accuracy', '{:.2%}')} | {cell(r, 'conditional_accuracy', '{:.1%}')} |")
if args.json:
    Path(args.json).write_text(json.dumps(rows, indent=1))
