"""Training speed of every autoencoder-family preset on digits, measured together in one process.

    python benchmarks/ae_speed.py [--threads 1] [--device cpu]

Images per second of one Adam step (forward, backward, update; batch 128), the median of 5 repeats
of 30 steps after a warm-up. Then the contractive penalty's cost: the closed form's step against the
plain MLP autoencoder's step (ae_mlp_digits) and against the same network without the penalty.
The load average is printed: on a shared machine, compare numbers from the same run only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ae_common import build, step_rate  # noqa: E402

from generativa.data import load_data  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()
torch.set_num_threads(args.threads)
digits = load_data("digits")
x = digits.train.images()
print(f"torch {torch.__version__}, {args.threads} thread(s), {args.device}, load average {os.getloadavg()[0]:.1f}")

rows = [
    ("ae_digits", {}), ("ae_mlp_digits", {}), ("linear_ae_digits", {}), ("sparse_ae_digits", {}),
    ("sparse_kl_digits", {}), ("sparse_topk_digits", {}), ("denoising_ae_digits", {}),
    ("denoising_ae_mask_digits", {}), ("contractive_ae_digits", {}), ("contractive_ae_digits", {"contraction_weight": 0.0}),
    ("contractive_conv_digits", {}), ("contractive_conv_digits", {"jacobian": "exact"}),
]
rates = {}
print("| preset | overrides | img/s |")
print("|---|---|---|")
for name, overrides in rows:
    torch.manual_seed(0)
    rate = step_rate(build(name, digits, **overrides)[0], x, device=args.device,
                     steps=10 if overrides.get("jacobian") == "exact" else 30)
    rates[(name, tuple(overrides.items()))] = rate
    print(f"| {name} | {', '.join(f'{k}={v}' for k, v in overrides.items())} | {rate:,.0f} |", flush=True)

closed = rates[("contractive_ae_digits", ())]
print(f"\ncontractive closed-form step time / plain MLP AE (ae_mlp_digits) step time: "
      f"{rates[('ae_mlp_digits', ())] / closed:.2f}")
print(f"contractive closed-form step time / the same network with lambda=0: "
      f"{rates[('contractive_ae_digits', (('contraction_weight', 0.0),))] / closed:.2f}")
