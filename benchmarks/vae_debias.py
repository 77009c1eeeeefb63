"""Debiasing by latent resampling (Amini et al. 2019, DB-VAE) on a biased shapes set.

The training set over-represents one region of positions: x and y indices 0..7 (the top-left corner)
are 8 times as likely as the others, so ~53% of the sprites sit in 1/16 of the positions. A VAE is
trained on it; the mean codes of its active units give per-dimension histograms (20 bins), and each
example is drawn with probability ∝ prod_i 1 / (Q_i(z_i) + alpha). Batches drawn that way should have
far more even position histograms than uniform batches from the biased set, without being told the
factors. The table at the end shows the trade-off of alpha: small alpha evens positions out harder but
leans on few examples (effective sample size) and unbalances the factors that were even.

    .venv/bin/python benchmarks/vae_debias.py --steps 1500 --out benchmarks/vae_debias.png
"""

import argparse
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import generativa  # noqa: E402
from generativa.exploration.debias import debias_weights, histogram_flatness, weighted_batches  # noqa: E402

CROWD = 8  # position indices 0..CROWD-1 are over-represented
BIAS = [8.0] * CROWD + [1.0] * (32 - CROWD)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--bins", type=int, default=20)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--out", default="benchmarks/vae_debias.png")
    args = ap.parse_args()
    torch.set_num_threads(1)
    options = {"n": args.n, "n_test": 500, "factor_weights": {"pos_x": BIAS, "pos_y": BIAS}}
    with tempfile.TemporaryDirectory() as tmp:
        run = generativa.train("vae_shapes", steps=args.steps, out=f"{tmp}/run", progress=False,
                               data_options=options, num_threads=1, sample_every=0, checkpoint_every=0)
        model = generativa.load(run)
    train = generativa.load_data("shapes", **options).train
    weights = debias_weights(model, train, bins=args.bins, alpha=args.alpha)
    g = torch.Generator().manual_seed(0)
    uniform = torch.full((len(train),), 1.0 / len(train))
    before = train.factors[weighted_batches(uniform, 64, 100, generator=g).flatten()]
    after = train.factors[weighted_batches(weights, 64, 100, generator=g).flatten()]

    names, sizes = train.factor_names, (3, 6, 40, 32, 32)
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 5.2))
    print(f"{'factor':<12} {'TV to uniform, uniform batches':>32} {'re-weighted batches':>22}")
    for k, (name, size) in enumerate(zip(names, sizes)):
        tv_b, tv_a = histogram_flatness(before[:, k], size), histogram_flatness(after[:, k], size)
        print(f"{name:<12} {tv_b:32.3f} {tv_a:22.3f}")
        for row, (f, tv, label) in enumerate([(before, tv_b, "uniform batches"), (after, tv_a, "re-weighted")]):
            ax = axes[row, k]
            ax.bar(range(size), torch.bincount(f[:, k], minlength=size).numpy(), width=1.0)
            ax.set_title(f"{name}: {label}\nTV to uniform {tv:.2f}", fontsize=9)
    top_left = lambda f: float(((f[:, 3] < CROWD) & (f[:, 4] < CROWD)).float().mean())  # noqa: E731
    print(f"share of the over-represented corner: {top_left(before):.3f} -> {top_left(after):.3f} "
          f"(uniform positions: {(CROWD / 32) ** 2:.3f})")
    fig.suptitle(f"DB-VAE resampling (alpha={args.alpha}, {args.bins} bins): 100 batches of 64 before / after")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(args.out)

    print(f"\n{'alpha':>6} {'ESS':>7} {'corner share':>13}  TV to uniform: shape scale orient x y")
    for alpha in (0.01, 0.03, 0.1, 0.3, 1.0):
        w = debias_weights(model, train, bins=args.bins, alpha=alpha)
        drawn = train.factors[weighted_batches(w, 64, 100, generator=torch.Generator().manual_seed(0)).flatten()]
        tvs = " ".join(f"{histogram_flatness(drawn[:, k], s):.2f}" for k, s in enumerate(sizes))
        print(f"{alpha:6.2f} {float(1 / (w.double() ** 2).sum()):7.0f} {top_left(drawn):13.3f}  {tvs}")


if __name__ == "__main__":
    main()
