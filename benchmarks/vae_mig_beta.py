"""Disentanglement against beta: MIG and the beta-VAE metric of beta-VAEs on shapes, beta in {1, 4, 8}.

Each beta trains the ``beta_vae_shapes`` preset (conv, 10-d latent, Bernoulli decoder, 32x32 shapes)
with the same seed and steps; then MIG [Chen et al. 2018] on 10,000 training images (20 bins; averaged
over scale, orientation, x, y; shape apart) and the beta-VAE metric [Higgins et al. 2017].
Higgins et al. and Chen et al. report disentanglement rising with beta (at a cost in reconstruction).

    .venv/bin/python benchmarks/vae_mig_beta.py --steps 3000 --betas 1 4 8
"""

import argparse
import json
import tempfile
import time

import torch

import generativa
from generativa.evaluation.disentanglement import shapes_disentanglement


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--betas", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=10000, help="training images used for MIG")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for beta in args.betas:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.process_time()
            run = generativa.train("beta_vae_shapes", steps=args.steps, seed=args.seed, out=f"{tmp}/run",
                                   progress=False, beta=beta, num_threads=1, sample_every=0, checkpoint_every=0)
            cpu = time.process_time() - start
            model = generativa.load(run)
            log = [r for r in generativa.training.run.RunDir(run).metrics_log() if "recon" in r]
            data = generativa.load_data("shapes")
        scores = shapes_disentanglement(model, data.train, n=args.n, generator=torch.Generator().manual_seed(0))
        row = {"beta": beta, "steps": args.steps, "train_cpu_s": round(cpu), "recon": log[-1]["recon"],
               "kl": log[-1]["kl"], **scores}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'beta':>5} {'MIG':>6} {'shape':>6} {'scale':>6} {'orient':>6} {'x':>6} {'y':>6} {'bVAE acc':>9} "
          f"{'recon':>7} {'KL':>6}")
    for r in rows:
        print(f"{r['beta']:5.0f} {r['mig']:6.3f} {r['mig/shape']:6.3f} {r['mig/scale']:6.3f} "
              f"{r['mig/orientation']:6.3f} {r['mig/pos_x']:6.3f} {r['mig/pos_y']:6.3f} "
              f"{r['beta_vae_accuracy']:9.3f} {r['recon']:7.1f} {r['kl']:6.2f}")


if __name__ == "__main__":
    main()
