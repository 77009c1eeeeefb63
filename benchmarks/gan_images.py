"""Image GANs on the digits and the shapes: DCGAN, WGAN-GP and the conditional GAN, measured on the evaluation protocol.

Each preset is trained with ``generativa.train`` (its own steps, EMA generator), then evaluated by
``generativa.evaluation.evaluate_run``: FID in the feature space of the dataset's LeNet-5 (cached),
2,000 samples against the test split, next to the real-vs-real floor (2,000 train images against
the same test split). The conditional GAN is also asked for each class in turn (1,000 samples,
balanced) and the evaluation classifier says how often it drew the class it was asked for.

    python benchmarks/gan_images.py                          # the three presets, preset steps
    python benchmarks/gan_images.py --presets cgan_digits --steps 500
    python benchmarks/gan_images.py --presets dcgan_shapes wgan_gp_shapes
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import generativa
from generativa.evaluation import evaluate_run
from generativa.reporting.sections.gans import class_histogram_of_samples
from generativa.training.run import RunDir
from generativa.training.settings import parse_overrides

parser = argparse.ArgumentParser()
parser.add_argument("--presets", nargs="*", default=["dcgan_digits", "wgan_gp_digits", "cgan_digits"])
parser.add_argument("--steps", type=int, default=None)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--runs", default="runs/benchmarks")
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--json", default=None)
parser.add_argument("--set", nargs="*", default=[], help="model / training overrides, e.g. model.base_width=32")
parser.add_argument("--seed", type=int, default=0, help="training seed")
parser.add_argument("--tag", default="", help="suffix of the run folders (to keep variants apart)")
args = parser.parse_args()
overrides = parse_overrides(args.set)
torch.set_num_threads(args.threads)

rows = []
for preset in args.presets:
    start = time.perf_counter()
    out = Path(args.runs) / f"gan_images_{preset}{args.tag}"
    generativa.train(preset, steps=args.steps, out=out, progress=False, seed=args.seed, num_threads=args.threads,
                     **overrides)
    seconds = time.perf_counter() - start
    result = evaluate_run(out, metrics="fid", n_samples=args.samples, seed=0)
    row = {"preset": preset, "settings": args.set, "steps": RunDir(out).metrics_log()[-1]["step"], "train_s": round(seconds),
           "fid": round(result["metrics"]["fid"], 3), "fid_floor": round(result["floor"]["fid"], 3),
           "feature_net": result["protocol"].get("feature_net", {}).get("architecture", "?")}
    model = RunDir(out).load_model()
    data = RunDir(out).load_data()
    hist = class_histogram_of_samples(model, data, n=1000)
    k = data.num_classes
    row["classes_covered"] = f"{round(hist['mode_coverage'] * k)}/{k}"
    row["histogram"] = hist["histogram"]
    row["class_kl"] = round(hist["class_kl"], 4)
    if "conditional_accuracy" in hist:
        row["conditional_accuracy"] = round(hist["conditional_accuracy"], 4)
    rows.append(row)
    print(json.dumps(row), flush=True)

print("\npreset           steps  train s     FID  floor  classes  asked-class accuracy")
for r in rows:
    acc = f"{100 * r['conditional_accuracy']:.1f}%" if "conditional_accuracy" in r else "-"
    print(f"{r['preset']:16s} {r['steps']:5d} {r['train_s']:8d} {r['fid']:7.2f} {r['fid_floor']:6.2f} "
          f"{r['classes_covered']:>8s}  {acc}")
if args.json:
    Path(args.json).write_text(json.dumps(rows, indent=1))
