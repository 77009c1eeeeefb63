"""Why residual connections: a deeper plain network trains worse than a shallower one, the residual
network of the same depth does not (He, Zhang, Ren & Sun 2016, arXiv:1512.03385, sec. 4.1, Fig. 1
and 6), at a CPU's scale.

    python benchmarks/depth.py --data idx:PATH --depths 14 32 --steps 600 --figure depth.png

Trains ``resnet`` (three stages of basic blocks, batch norm, width ``--width``) as plain-N, plain-2N
and residual-2N (``model.shortcut=false`` drops every shortcut) on the same data for the same number
of steps, with SGD and momentum 0.9 (the paper's optimiser), and draws their training and test error
curves side by side. The load average is printed before and after every run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from common import machine

import generativa
from generativa.evaluation.features import classifier_accuracy
from generativa.training.run import RunDir

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="mnist", help="data spec, e.g. idx:PATH")
parser.add_argument("--depths", type=int, nargs=2, default=[14, 32], help="N and 2N-ish, each 6n + 2")
parser.add_argument("--width", type=int, default=8)
parser.add_argument("--steps", type=int, default=600)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--root", default="runs/benchmarks")
parser.add_argument("--figure", default=None)
parser.add_argument("--json", default=None)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine())

shallow, deep = args.depths
variants = [(f"plain-{shallow}", shallow, False), (f"plain-{deep}", deep, False), (f"residual-{deep}", deep, True)]
curves = {}
for name, depth, shortcut in variants:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    run = generativa.train("resnet", data=args.data, steps=args.steps, progress=False, seed=0, overwrite=True,
                           out=f"{args.root}/depth_{name}", num_threads=args.threads,
                           overrides={"model.depth": depth, "model.width": args.width, "model.shortcut": shortcut,
                                      "model.elastic_alpha": 0.0, "train.optimizer": "sgd", "train.lr": args.lr,
                                      "train.momentum": 0.9, "train.schedule": "constant", "train.batch_size": 64,
                                      "train.log_every": 20, "train.sample_every": max(args.steps // 6, 1),
                                      "train.checkpoint_every": 0, "train.weight_decay": 1e-4})
    seconds = time.perf_counter() - start
    rd = RunDir(run)
    log = rd.metrics_log()
    train = [(r["step"], 1 - r["accuracy"]) for r in log if "accuracy" in r]
    test = [(r["step"], 1 - r["test/accuracy"]) for r in log if "test/accuracy" in r]
    accuracy, _ = classifier_accuracy(rd.load_model(), rd.load_data().test)
    curves[name] = {"train_error": train, "test_error": test}
    row = {"network": name, "depth": depth, "steps": args.steps, "seconds": round(seconds, 1),
           "final_train_error_last100": round(sum(e for s, e in train if s > args.steps - 100)
                                               / max(1, sum(1 for s, _ in train if s > args.steps - 100)), 4),
           "test_error": round(1 - accuracy, 4), "load_before": load, "load_after": os.getloadavg()[0]}
    print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")

if args.figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for (name, c), colour in zip(curves.items(), ("#1f77b4", "#d62728", "#2ca02c")):
        for ax, key in zip(axes, ("train_error", "test_error")):
            steps, errors = zip(*c[key]) if c[key] else ((), ())
            ax.plot(steps, errors, "-" if key == "train_error" else "o-", color=colour, label=name, lw=1)
    axes[0].set_title("training error (batches)")
    axes[1].set_title("test error")
    for ax in axes:
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.legend()
    axes[0].set_ylabel("error")
    fig.tight_layout()
    fig.savefig(Path(args.figure), dpi=110)
    print("wrote", args.figure)
