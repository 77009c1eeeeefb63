"""Training speed of the default conv VAE against pythae's VAE with the same encoder, decoder and batch.

Both train ``vae_digits`` (conv, 8-d latent, Bernoulli decoder) on the 1438 training digits, batch
128, Adam at lr 2e-3, from the same initial weights, one CPU thread each, for the same number of
steps (ours at the preset's precision: bf16 autocast on CPUs with native bf16, the networks in bf16 and
the probability math in fp32; pythae in fp32, as its trainer only autocasts on CUDA); runs alternate (ours, pythae, ours, ...) because the CPU is shared, and the medians are
reported. After training, both models are scored by the same estimator: test NLL by importance
sampling with k = 1000 (``VAE.log_prob``; Bernoulli on grey levels, a non-normalised convention).

pythae lives in its own virtual environment (its pins differ from ours); the benchmark makes it if
it is missing:

    python -m venv /tmp/pythae-venv
    /tmp/pythae-venv/bin/pip install torch==2.13.0 pythae

    .venv/bin/python benchmarks/vae_speed.py --steps 360 --repeats 5 [--precision fp32]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from generativa.data import load_data
from generativa.models.vae.vae import bits_per_dim
from generativa.registry import build_model, get_preset
from generativa.training.config import TrainConfig, cpu_has_native_bf16
from generativa.training.trainer import Trainer

HERE = Path(__file__).resolve().parent
VENV = Path("/tmp/pythae-venv")


def ensure_pythae_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "torch==2.13.0", "pythae"], check=True)
    return python


def train_ours(steps: int, batch_size: int, lr: float, seed: int, precision: str):
    preset = get_preset("vae_digits")
    torch.manual_seed(seed)
    model = build_model(preset.model, preset.config)
    config = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, optimizer="adam", precision=precision,
                         log_every=0, sample_every=0, checkpoint_every=0, progress=False, num_threads=1,
                         device="cpu", seed=seed)
    trainer = Trainer(model, load_data("digits"), config, None)
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.fit()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return steps * batch_size / seconds, steps * batch_size / cpu_seconds, seconds, model


def train_pythae(python: Path, steps: int, batch_size: int, lr: float, seed: int, out: Path):
    cmd = [str(python), str(HERE / "vae_pythae_worker.py"), "--steps", str(steps), "--batch-size", str(batch_size),
           "--lr", str(lr), "--seed", str(seed), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_nll(model, k: int) -> float:
    model.eval()
    x = load_data("digits").test.images()
    g = torch.Generator().manual_seed(0)
    return -model.log_prob(x, k=k, generator=g, chunk=50).mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--precision", default=None, choices=["fp32", "bf16"],
                    help="default: the preset's (bf16 on CPUs with native bf16, else fp32)")
    args = ap.parse_args()
    args.precision = args.precision or get_preset("vae_digits").train.get("precision", "fp32")
    if args.precision == "auto":  # the preset's choice on this machine's CPU
        args.precision = "bf16" if cpu_has_native_bf16() else "fp32"
    torch.set_num_threads(1)
    python = ensure_pythae_venv()
    # pythae trains whole epochs: match its step count (12 batches per epoch of 1438 at batch 128)
    per_epoch = -(-1438 // args.batch_size)
    steps = max(1, round(args.steps / per_epoch)) * per_epoch

    ours_rates, pythae_rates, ours_cpu, pythae_cpu = [], [], [], []
    ours_model, pythae_weights = None, Path("/tmp/generativa_pythae_vae.pt")
    for r in range(args.repeats):
        rate, cpu_rate, seconds, ours_model = train_ours(steps, args.batch_size, args.lr, 0, args.precision)
        ours_rates.append(rate)
        ours_cpu.append(cpu_rate)
        print(f"repeat {r}: generativa {rate:8.0f} images/s wall, {cpu_rate:8.0f} per CPU-s ({seconds:.1f} s)",
              flush=True)
        res = train_pythae(python, steps, args.batch_size, args.lr, 0, pythae_weights)
        pythae_rates.append(res["images_per_s"])
        pythae_cpu.append(res["images_per_cpu_s"])
        print(f"repeat {r}: pythae     {res['images_per_s']:8.0f} images/s wall, {res['images_per_cpu_s']:8.0f} "
              f"per CPU-s ({res['seconds']:.1f} s)", flush=True)

    preset = get_preset("vae_digits")
    pythae_model = build_model(preset.model, preset.config)
    pythae_model.load_state_dict(torch.load(pythae_weights, weights_only=True))
    nll_ours, nll_pythae = test_nll(ours_model, args.k), test_nll(pythae_model, args.k)
    med_ours, med_pythae = statistics.median(ours_rates), statistics.median(pythae_rates)
    ratios = [a / b for a, b in zip(ours_rates, pythae_rates)]
    result = {
        "steps": steps, "batch_size": args.batch_size, "precision": args.precision, "threads": 1,
        "generativa_images_per_s": ours_rates, "pythae_images_per_s": pythae_rates,
        "median_generativa": med_ours, "median_pythae": med_pythae, "median_ratio": statistics.median(ratios),
        "ratio_of_medians": med_ours / med_pythae,
        "generativa_images_per_cpu_s": ours_cpu, "pythae_images_per_cpu_s": pythae_cpu,
        "median_ratio_cpu": statistics.median([a / b for a, b in zip(ours_cpu, pythae_cpu)]),
        "test_nll_nats_k": args.k, "test_nll_generativa": nll_ours, "test_nll_pythae": nll_pythae,
        "test_bits_per_dim_generativa": bits_per_dim(nll_ours, (1, 8, 8)),
        "test_bits_per_dim_pythae": bits_per_dim(nll_pythae, (1, 8, 8)),
        "likelihood": "Bernoulli on [0,1] grey levels (non-normalised convention)",
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
