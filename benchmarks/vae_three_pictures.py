"""The course's three pictures: what each term of the VAE loss does to the latent space.

Three conv VAEs with a 2-d latent are trained on digits with the same seed and steps:

1. reconstruction loss only  (-E_q[log p(x|z)]):  classes separate, but the codes wander far from
   N(0, I) and leave gaps, so decoding prior samples lands in empty regions;
2. KL only                   (KL(q(z|x) || p(z))): every code collapses onto the prior, the classes
   overlap completely and the decoder ignores z;
3. both (the ELBO):           codes packed near N(0, I) *and* grouped by class.

The figure shows the test codes (means of q(z|x)) of each, coloured by label, side by side.

    .venv/bin/python benchmarks/vae_three_pictures.py --steps 1500 --out benchmarks/vae_three_pictures.png
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from generativa.data import load_data  # noqa: E402
from generativa.exploration.latent import latent_codes, latent_scatter_figure  # noqa: E402
from generativa.models.vae.vae import VAE, VAEConfig, kl_to_standard_normal, reparameterize  # noqa: E402

WEIGHTS = {"reconstruction only": (1.0, 0.0), "KL only": (0.0, 1.0), "reconstruction + KL (ELBO)": (1.0, 1.0)}


def train(recon_weight: float, kl_weight: float, x_train: torch.Tensor, steps: int, seed: int) -> VAE:
    torch.manual_seed(seed)
    model = VAE(VAEConfig(latent_dim=2, widths=(32, 64)))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = x_train[torch.randint(len(x_train), (128,), generator=g)]
        mu, log_var = model.posterior(x)
        z = reparameterize(mu, log_var)
        recon = -model.log_likelihood(x, model.decoder_output(z))           # (B,)
        kl = kl_to_standard_normal(mu, log_var)                              # (B,)
        loss = (recon_weight * recon + kl_weight * kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/vae_three_pictures.png")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_data("digits")
    x_train, test = data.train.images(), data.test
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, (title, (wr, wk)) in zip(axes, WEIGHTS.items()):
        model = train(wr, wk, x_train, args.steps, args.seed)
        codes = latent_codes(model, test.images())
        with torch.no_grad():
            recon = -model.log_likelihood(test.images(), model.decoder_output(codes)).mean().item()
            mu, log_var = model.posterior(test.images())
            kl = kl_to_standard_normal(mu, log_var).mean().item()
        latent_scatter_figure(codes, test.labels, ax=ax,
                              title=f"{title}\nrecon {recon:.1f} nats, KL {kl:.2f} nats, code std "
                                    f"{codes.std(0).mean():.2f}")
        print(f"{title:<28} test recon {recon:7.2f}  KL {kl:7.3f}  code mean |mu| {codes.abs().mean():.3f}"
              f"  code std {codes.std(0).tolist()}")
    fig.suptitle(f"2-d latent of a conv VAE on digits, {args.steps} steps each: what each loss term does")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(args.out)


if __name__ == "__main__":
    main()
