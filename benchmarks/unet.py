"""U-Net on ``cells``, measured: the paper's two ablations (the border weight map, elastic deformation).

    python benchmarks/unet.py --minutes 2 --seeds 0 1 2
    python benchmarks/unet.py --minutes 2 --seeds 0 --variants full no_weight_map
    python benchmarks/unet.py --minutes 1 --n 30 --variants full no_elastic   # few images, as in the paper

Each variant trains the ``unet_cells`` preset with ``generativa.train --minutes M`` (its cosine
schedule fitted to the budget) on ``cells`` (2,000 training images 64x64, the 200 test images held
apart), then scores the final weights on the test split (``evaluation.segmentation``): pixel IoU of
the cell class, Rand error of the instances, and the share of touching cell pairs the prediction
separates.

    full           the preset: weight map (w0 = 10, sigma = 5, class balance) + elastic deformation
    no_weight_map  plain cross-entropy (w0 = 0, no class balance), elastic deformation
    no_elastic     weight map, no elastic deformation (flips and quarter turns kept)

The load average is printed before and after every run; results are appended to ``--json``.
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
from generativa.data import load_data
from generativa.evaluation.segmentation import evaluate_segmenter
from generativa.training.run import RunDir

VARIANTS = {
    "full": {},
    "no_weight_map": {"model.w0": 0.0, "model.class_balance": False},
    "no_elastic": {"model.elastic_std": 0.0},
}
parser = argparse.ArgumentParser()
parser.add_argument("--minutes", type=float, default=2.0)
parser.add_argument("--seeds", type=int, nargs="*", default=[0])
parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
parser.add_argument("--preset", default="unet_cells")
parser.add_argument("--n", type=int, default=2000, help="training images (the paper had 30)")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--root", default="runs/benchmarks")
parser.add_argument("--json", default="runs/benchmarks/unet.jsonl")
args = parser.parse_args()

torch.set_num_threads(args.threads)
print(machine())
data = load_data("cells", n=args.n)
Path(args.json).parent.mkdir(parents=True, exist_ok=True)
for variant in args.variants:
    for seed in args.seeds:
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        run = generativa.train(args.preset, minutes=args.minutes, seed=seed, progress=False,
                               out=f"{args.root}/unet_{variant}_n{args.n}_s{seed}", overwrite=True,
                               data_options={"n": args.n},
                               overrides={**VARIANTS[variant], "train.steps": None, "train.num_threads": args.threads,
                                          "train.sample_every": 0, "train.checkpoint_every": 0})
        seconds = time.perf_counter() - start
        rd = RunDir(run)
        model = rd.load_model().eval()
        steps = rd.metrics_log()[-1].get("step")
        scores = evaluate_segmenter(model, data.test)
        row = {"variant": variant, "n": args.n, "seed": seed, "minutes": args.minutes, "steps": steps,
               "train_seconds": round(seconds, 1), "load_before": load_before, "load_after": os.getloadavg()[0],
               **{k: scores[k] for k in ("iou_cell", "dice_cell", "iou_border", "rand_error",
                                          "touching_separated", "touching_pairs", "pixel_accuracy")}}
        print(json.dumps(row))
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")
