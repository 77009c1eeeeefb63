"""Test NLL of a trained VAE-family preset on digits, by importance sampling (k = 1000), and the CPU
seconds its training took.

    .venv/bin/python benchmarks/vae_nll.py --preset vae_digits

Trains with the preset's own settings (``generativa.train``) on one CPU thread, then estimates
log p(x) on the 359 test digits with ``VAE.log_prob(x, k=1000)`` [Burda et al. 2015, eq. 8]
(a lower bound in expectation, tight as k grows; Bernoulli decoder on grey levels in [0, 1], a
non-normalised convention, so these nats are not a probability of the 17-level images).
"""

import argparse
import json
import math
import tempfile
import time

import torch

import generativa
from generativa.models.vae.vae import bits_per_dim
from generativa.training.run import RunDir


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="vae_digits")
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run = generativa.train(args.preset, steps=args.steps, seed=args.seed, out=f"{tmp}/run", progress=False,
                               num_threads=1, sample_every=0, checkpoint_every=0)
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
        model = generativa.load(run)
        steps = max((row.get("step", 0) for row in RunDir(run).metrics_log()), default=None)
        test = generativa.load_data("digits").test
    x = test.images()
    cond = {"labels": test.labels} if getattr(model, "conditional", False) else {}
    lp = model.log_prob(x, k=args.k, generator=torch.Generator().manual_seed(0), chunk=50, **cond)
    elbo = model.elbo(x, generator=torch.Generator().manual_seed(0), **cond)
    nll = float(-lp.mean())
    print(json.dumps({
        "preset": args.preset, "steps": steps, "train_cpu_seconds": round(cpu_s, 1),
        "train_wall_seconds": round(wall_s, 1), "threads": 1,
        "test_nll_nats": nll, "test_nll_stderr": float(lp.std() / math.sqrt(len(lp))),
        "test_bits_per_dim": float(bits_per_dim(nll, model.data_shape)),
        "test_neg_elbo_nats": float(-elbo.mean()), "k": args.k, "test_images": len(x),
        "likelihood": model.likelihood_convention,
    }, indent=1))


if __name__ == "__main__":
    main()
