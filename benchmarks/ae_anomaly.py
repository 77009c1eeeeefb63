"""One-vs-rest anomaly detection on digits: one autoencoder per class, trained on that class only.

    python benchmarks/ae_anomaly.py [--steps 1500] [--device auto] [--score mse]

For each class c: train the conv autoencoder preset (ae_digits, 16-D code) on the training images
of class c, score every test image by reconstruction error, and measure AUROC and average precision
with the other nine classes as the anomalies. Prints the table (and its mean).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ae_common import build, fit  # noqa: E402

from generativa.data import load_data  # noqa: E402
from generativa.data.base import DataSplits  # noqa: E402
from generativa.exploration.anomaly import evaluate_anomaly  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--steps", type=int, default=1500)
parser.add_argument("--device", default="auto")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--score", default="mse", choices=("mse", "l1", "bce"))
parser.add_argument("--preset", default="ae_digits")
args = parser.parse_args()
torch.set_num_threads(args.threads)

digits = load_data("digits")
xt, yt = digits.test.images(), digits.test.labels
print("| normal class | train images | AUROC | average precision | test anomalies |")
print("|---|---|---|---|---|")
aurocs, aps = [], []
for c in range(digits.num_classes):
    train_c = digits.train.subset(torch.nonzero(digits.train.labels == c).flatten())
    only_c = DataSplits(train_c, digits.test, digits.spec, digits.options)
    model, _ = build(args.preset, only_c)
    model, _ = fit(model, only_c, steps=args.steps, batch_size=64, lr=2e-3, device=args.device)
    r = evaluate_anomaly(model, xt, yt, [c], score=args.score)  # type: ignore[arg-type]
    aurocs.append(r.auroc)
    aps.append(r.average_precision)
    print(f"| {c} | {len(train_c)} | {r.auroc:.4f} | {r.average_precision:.4f} | {int(r.is_anomaly.sum())} |",
          flush=True)
print(f"| mean | | {sum(aurocs) / len(aurocs):.4f} | {sum(aps) / len(aps):.4f} | |")
