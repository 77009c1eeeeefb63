"""Batch, layer and weight normalisation at batch size 2 and 64: the lecture's comparison, measured.

    python benchmarks/norms.py --data idx:../shared/data/mnist-8k --examples 32000 \
        --figure docs/figures/norms_batch_size.png                       # from the repository root

Trains the same small CNN, LeNet-5 with ReLU and max pooling (``lenet5``, ``model.norm`` after C1,
C3, C5 and F6), once per normalisation (batch, layer, weight, none) and batch size (2, 64), from
the same seed, on the same training split, for the same number of training examples seen
(``--examples``; the number of steps is examples / batch size), with AdamW, a cosine schedule and no
augmentation. Reported per run: the test accuracy on the held-out split (evaluation mode, so batch
norm uses its running averages), the training cross-entropy averaged over the last tenth of the
examples, and for batch norm the test accuracy with the statistics of test batches of the training
size instead (training mode): the gap between the two is batch norm's train/eval difference.

The lesson (Ioffe & Szegedy 2015, sec. 3.1; Ba et al. 2016, sec. 1; Salimans & Kingma 2016, sec.
2.1): batch norm normalises each example with the mean and variance of its batch, which for two
examples are the two examples themselves: noisy in training and far from the running averages used
at test time; layer norm normalises each example by its own features and weight norm normalises
the weights, so neither depends on the batch size.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import torch
from common import machine

from generativa.data import load_data
from generativa.evaluation.features import classifier_accuracy
from generativa.models.vision.classifiers import LeNet5, LeNet5Config
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="digits", help="data spec, e.g. idx:../shared/data/mnist-8k")
parser.add_argument("--norms", nargs="*", default=["batch", "layer", "weight", "none"])
parser.add_argument("--batch-sizes", type=int, nargs="*", default=[2, 64])
parser.add_argument("--examples", type=int, default=32000, help="training examples seen by every run")
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--json", default=None)
parser.add_argument("--figure", default=None)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine())
print(f"load average {os.getloadavg()[0]:.2f} before", flush=True)

data = load_data(args.data)
print(f"{args.data}: {len(data.train)} training, {len(data.test)} test images {tuple(data.shape)}", flush=True)


@torch.no_grad()
def accuracy_with_batch_statistics(model: LeNet5, batch_size: int) -> float:
    """Test accuracy with batch norm in training mode: every test batch normalised by its own statistics."""
    model = copy.deepcopy(model).train()  # the copy's running averages may move; the model's do not
    test, correct = data.test, 0
    n = len(test) // batch_size * batch_size
    for i in range(0, n, batch_size):
        x = test.images(slice(i, i + batch_size))
        correct += int((model.logits(x).argmax(1) == test.labels[i:i + batch_size]).sum())
    return correct / n


rows = []
for batch_size in args.batch_sizes:
    for norm in args.norms:
        steps = args.examples // batch_size
        torch.manual_seed(args.seed)
        model = LeNet5(LeNet5Config(data_shape=tuple(data.shape), num_classes=data.num_classes, norm=norm))
        config = TrainConfig(steps=steps, batch_size=batch_size, lr=args.lr, schedule="cosine", weight_decay=1e-4,
                             seed=args.seed, log_every=max(steps // 10, 1), sample_every=0, checkpoint_every=0,
                             progress=False, device="cpu", num_threads=args.threads)
        log: list[dict] = []
        load = os.getloadavg()[0]
        start = time.perf_counter()
        Trainer(model, data, config, run_dir=None, callbacks=[lambda _trainer, row, log=log: log.append(row)]).fit()
        seconds = time.perf_counter() - start
        accuracy, _ = classifier_accuracy(model, data.test)
        row = {"norm": norm, "batch_size": batch_size, "steps": steps, "examples": steps * batch_size,
               "seconds": round(seconds, 1), "test_accuracy": round(accuracy, 4),
               "train_cross_entropy_last_tenth": round(log[-1]["cross_entropy"], 4),
               "train_accuracy_last_tenth": round(log[-1]["accuracy"], 4)}
        if norm == "batch":
            row["test_accuracy_batch_statistics"] = round(accuracy_with_batch_statistics(model, batch_size), 4)
        row.update(load_before=load, load_after=os.getloadavg()[0])
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
print(f"load average {os.getloadavg()[0]:.2f} after", flush=True)

if args.figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    width = 0.8 / len(args.batch_sizes)
    for k, (batch_size, colour) in enumerate(zip(args.batch_sizes, ("#d62728", "#1f77b4", "#2ca02c"))):
        errors = [100 * (1 - next(r["test_accuracy"] for r in rows if r["norm"] == n and r["batch_size"] == batch_size))
                  for n in args.norms]
        bars = ax.bar([i + (k - (len(args.batch_sizes) - 1) / 2) * width for i in range(len(args.norms))], errors,
                      width, color=colour, label=f"batch size {batch_size}")
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(len(args.norms)), [f"{n} norm" if n != "none" else "no norm" for n in args.norms])
    ax.set_ylabel("test error (%)")
    ax.set_title(f"LeNet-5 on {len(data.train):,} digits, {args.examples:,} examples seen per run")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    print("wrote", args.figure)
