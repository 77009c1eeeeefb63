"""The autoencoder family on digits: what each variant achieves, what it costs.

    python benchmarks/ae_variants.py [--device auto|cpu|cuda] [--threads 2] [--quick]

1. every digits preset trained to its preset's steps: test MSE, and training images/s on the CPU
   (``--threads`` torch threads) and, where there is one, on the GPU;
2. the linear autoencoder against scikit-learn's PCA at code sizes 2, 8, 16: test MSE and the largest
   principal angle between the decoder's columns and the principal directions;
3. the conv autoencoder against PCA at code sizes 2, 8, 16;
4. sparsity: KL mean activation against rho, k-sparse non-zeros, L1 against the same model without it;
5. contraction: mean test Jacobian norm with and without the penalty; the closed form's step cost
   against the plain MLP autoencoder's step;
6. denoising: PSNR on corrupted test images: the corrupted input, a plain autoencoder, the denoising one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

sys.path.insert(0, str(Path(__file__).parent))
from ae_common import build, fit_preset, step_rate, test_mse  # noqa: E402

from generativa.data import load_data  # noqa: E402
from generativa.evaluation.reconstruction import psnr  # noqa: E402
from generativa.models.autoencoders.contractive import jacobian_frobenius_sq  # noqa: E402
from generativa.models.autoencoders.corruption import corrupt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--device", default="auto", help="training device (timings are taken on the CPU and the GPU)")
parser.add_argument("--threads", type=int, default=2, help="torch threads for the CPU timings")
parser.add_argument("--quick", action="store_true", help="a tenth of the steps (a smoke run, not the numbers)")
args = parser.parse_args()
scale = 0.1 if args.quick else 1.0
torch.set_num_threads(args.threads)
gpu = torch.cuda.is_available()

digits = load_data("digits")
x, xt = digits.train.images(), digits.test.images()
flat, flat_t = x.flatten(1).numpy(), xt.flatten(1).numpy()
print(f"digits: {len(x)} train, {len(xt)} test images; torch {torch.__version__}, {args.threads} CPU threads"
      f"{', GPU ' + torch.cuda.get_device_name() if gpu else ''}\n")


def pca_mse(k: int) -> tuple[float, PCA]:
    pca = PCA(k).fit(flat)
    return float(((pca.inverse_transform(pca.transform(flat_t)) - flat_t) ** 2).mean()), pca


def steps_of(preset: str) -> int:
    from generativa.registry import get_preset

    return max(20, int(get_preset(preset).train.get("steps", 2000) * scale))


# 1. every variant --------------------------------------------------------------------------------
print("## 1. every digits preset: test MSE and training images/s (batch 128)")
print(f"| preset | steps | test MSE | train s ({args.device}) | CPU img/s | {'GPU img/s |' if gpu else ''}")
print("|---|---|---|---|---|" + ("---|" if gpu else ""))
presets = ["ae_digits", "ae_mlp_digits", "linear_ae_digits", "sparse_ae_digits", "sparse_kl_digits",
           "sparse_topk_digits", "denoising_ae_digits", "denoising_ae_mask_digits", "contractive_ae_digits",
           "contractive_conv_digits"]
trained = {}
for name in presets:
    model, seconds = fit_preset(name, digits, steps=steps_of(name), device=args.device)
    trained[name] = model
    cpu_rate = step_rate(build(name, digits)[0], x)
    gpu_rate = f" {step_rate(build(name, digits)[0], x, device='cuda'):,.0f} |" if gpu else ""
    print(f"| {name} | {steps_of(name)} | {test_mse(model, xt):.5f} | {seconds:.1f} | {cpu_rate:,.0f} |{gpu_rate}",
          flush=True)

# 2. linear autoencoder = PCA ---------------------------------------------------------------------
print("\n## 2. linear autoencoder (Adam, preset steps) against PCA")
print("| code size | linear AE test MSE | PCA test MSE | ratio - 1 | largest principal angle (deg) |")
print("|---|---|---|---|---|")
for k in (2, 8, 16):
    model, _ = fit_preset("linear_ae_digits", digits, steps=steps_of("linear_ae_digits"), device=args.device,
                          latent_dim=k)
    with torch.no_grad():
        ae = float(((model.reconstruct_linear(xt) - xt) ** 2).mean())
    p, pca = pca_mse(k)
    angle = np.degrees(subspace_angles(model.decoder_weight.detach().numpy(), pca.components_.T).max())
    print(f"| {k} | {ae:.5f} | {p:.5f} | {ae / p - 1:+.4f} | {angle:.2f} |", flush=True)

# 3. conv autoencoder beats PCA -------------------------------------------------------------------
print("\n## 3. conv autoencoder (ae_digits, 3000 steps) against PCA")
print("| code size | conv AE test MSE | PCA test MSE |")
print("|---|---|---|")
for k in (2, 8, 16):
    model, _ = fit_preset("ae_digits", digits, steps=max(20, int(3000 * scale)), device=args.device, latent_dim=k)
    print(f"| {k} | {test_mse(model, xt):.5f} | {pca_mse(k)[0]:.5f} |", flush=True)

# 4. sparsity ---------------------------------------------------------------------------------------
print("\n## 4. sparsity (test images)")
with torch.no_grad():
    h_kl = trained["sparse_kl_digits"].encode(xt)
    h_k = trained["sparse_topk_digits"].encode(xt)
    h_l1 = trained["sparse_ae_digits"].encode(xt)
rho = trained["sparse_kl_digits"].config.rho
no_l1, _ = fit_preset("sparse_ae_digits", digits, steps=steps_of("sparse_ae_digits"), device=args.device, l1_weight=0.0)
with torch.no_grad():
    h_no_l1 = no_l1.encode(xt)
print(f"KL (rho={rho}): mean activation {float(h_kl.mean()):.4f} (|diff| {abs(float(h_kl.mean()) - rho):.4f})")
print(f"k-sparse (k={trained['sparse_topk_digits'].config.k}): non-zeros per example min "
      f"{int((h_k != 0).sum(1).min())}, max {int((h_k != 0).sum(1).max())}")
print(f"L1: mean |activation| {float(h_l1.abs().mean()):.4f} with lambda="
      f"{trained['sparse_ae_digits'].config.l1_weight}, {float(h_no_l1.abs().mean()):.4f} without; "
      f"test MSE {test_mse(trained['sparse_ae_digits'], xt):.5f} vs {test_mse(no_l1, xt):.5f}")

# 5. contraction ------------------------------------------------------------------------------------
print("\n## 5. contraction")
plain, _ = fit_preset("contractive_ae_digits", digits, steps=steps_of("contractive_ae_digits"), device=args.device,
                      contraction_weight=0.0)
for name, model in (("plain (lambda=0)", plain), ("contractive_ae_digits", trained["contractive_ae_digits"]),
                    ("contractive_conv_digits", trained["contractive_conv_digits"])):
    j = jacobian_frobenius_sq(model.encode, xt, method="exact").sqrt().mean()
    print(f"{name}: mean test ||J_f(x)||_F = {float(j):.4f}, test MSE {test_mse(model, xt):.5f}")
rates = {}
rates["ae_mlp_digits (plain MLP AE)"] = step_rate(build("ae_mlp_digits", digits)[0], x, steps=50)
rates["contractive, closed form"] = step_rate(build("contractive_ae_digits", digits)[0], x, steps=50)
rates["same net as the CAE, lambda=0"] = step_rate(build("contractive_ae_digits", digits, contraction_weight=0.0)[0],
                                                   x, steps=50)
rates["contractive conv, projections"] = step_rate(build("contractive_conv_digits", digits)[0], x, steps=50)
rates["contractive conv, exact"] = step_rate(build("contractive_conv_digits", digits, jacobian="exact")[0], x, steps=10)
rates["plain conv AE (ae_digits)"] = step_rate(build("ae_digits", digits)[0], x, steps=50)
base = rates["ae_mlp_digits (plain MLP AE)"]
for name, r in rates.items():
    print(f"CPU step, {name}: {r:,.0f} img/s, {base / r:.2f}x the plain MLP AE's step time")

# 6. denoising ------------------------------------------------------------------------------------
print("\n## 6. denoising: mean PSNR (dB) on corrupted test images")
print("| corruption | corrupted input | plain conv AE | denoising AE (trained on it) |")
print("|---|---|---|---|")
plain_ae = trained["ae_digits"]
for kind, level in (("gaussian", 0.3), ("mask", 0.25), ("saltpepper", 0.1)):
    dae, _ = fit_preset("denoising_ae_digits", digits, steps=steps_of("denoising_ae_digits"), device=args.device,
                        corruption=kind, noise_level=level)
    noisy = corrupt(xt, f"{kind}:{level}", generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        row = [psnr(noisy, xt).mean(), psnr(plain_ae.reconstruct(noisy), xt).mean(), psnr(dae.reconstruct(noisy), xt).mean()]
    print(f"| {kind}:{level} | " + " | ".join(f"{float(v):.2f}" for v in row) + " |", flush=True)
