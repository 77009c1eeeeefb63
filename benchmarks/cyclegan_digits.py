"""CycleGAN between thin and thick strokes of real 28x28 digits: does a translation keep the class and
change the domain?

1. Train ``cyclegan_mnist`` on the digits split by ``domains=thickness`` (each class at its median ink).
2. Translate every test digit of A (thin) to B and every test digit of B to A.
3. Class kept: the dataset's evaluation classifier (LeNet-5 of the unsplit digits, the protocol's,
   cached) reads each translated digit; accuracy against the source digit's label.
4. Domain reached, by two domain classifiers. (a) The domain rule itself: a digit is thick (B) when
   its ink is at least the median ink of its class in the training split (the class read by the same
   LeNet-5). (b) A learned one: the library's LeNet-5 trained by the library's trainer to tell the
   training digits of A from those of B (1,500 rounds, no elastic augmentation, which would change
   the strokes; seed 0, about a minute). Share of translations classified as the target domain, next
   to the share of untouched test digits each puts in their own domain (the classifier's accuracy).
5. The cycle: mean absolute error and MSE of A -> B -> A and B -> A -> B, pixels in [0, 1].

    python benchmarks/cyclegan_digits.py --data idx:PATH --minutes 3
    python benchmarks/cyclegan_digits.py --data idx:PATH --run runs/benchmarks/cyclegan_digits   # measure only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import load_average, machine

import generativa
from generativa.data import load_data
from generativa.data.base import ArrayData, DataSplits
from generativa.data.domains import ink
from generativa.evaluation.features import (
    FeatureTraining,
    build_feature_classifier,
    classifier_accuracy,
    feature_network,
    train_classifier,
)
from generativa.training.settings import parse_overrides

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="mnist")
parser.add_argument("--minutes", type=float, default=3.0)
parser.add_argument("--steps", type=int, default=None)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--out", default="runs/benchmarks/cyclegan_digits")
parser.add_argument("--set", nargs="*", default=[])
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--run", default=None, help="measure this trained run instead of training one")
args = parser.parse_args()
torch.set_num_threads(args.threads)



print(f"machine: {machine()}")
print(f"load average before: {load_average()}", flush=True)
overrides = parse_overrides(args.set)
start = time.perf_counter()
if args.run is None:
    run = generativa.train("cyclegan_mnist", data=args.data, minutes=args.minutes if args.steps is None else None,
                           steps=args.steps, data_options={"domains": "thickness"}, out=args.out, overwrite=True,
                           progress=False, num_threads=args.threads, seed=args.seed, **overrides)
else:
    run = Path(args.run)
train_s = time.perf_counter() - start
model = generativa.load(run).eval()
split = load_data(args.data, domains="thickness")
whole = load_data(args.data)
lenet = feature_network(whole, "lenet5")   # the protocol's evaluation classifier of these digits


@torch.no_grad()
def classes(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([lenet.logits(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])


# the domain rule's thresholds: the median ink of each class in the training split (A and B together)
train_x = torch.cat([split.train.x, split.domain_b.train.x])
train_y = torch.cat([split.train.labels, split.domain_b.train.labels])
train_ink = ink(train_x.float() / 255.0)
median = torch.stack([train_ink[train_y == k].median() for k in range(10)])


def thick(x: torch.Tensor) -> torch.Tensor:
    return ink(x) >= median[classes(x)]


def domain_splits(a: DataSplits, b: DataSplits) -> DataSplits:
    """One dataset of both domains' digits, labelled 0 (A, thin) and 1 (B, thick)."""
    def both(u: ArrayData, v: ArrayData) -> ArrayData:
        return ArrayData("thin_or_thick", torch.cat([u.x, v.x]),
                         torch.cat([torch.zeros(len(u), dtype=torch.long), torch.ones(len(v), dtype=torch.long)]),
                         class_names=("thin", "thick"))
    return DataSplits(both(a.train, b.train), both(a.test, b.test), spec=a.spec)


start_clf = time.perf_counter()
domains = domain_splits(split, split.domain_b)
domain_training = FeatureTraining(elastic=False)
domain_net = train_classifier(build_feature_classifier("lenet5", domains, domain_training), domains, domain_training)
domain_accuracy, _ = classifier_accuracy(domain_net, domains.test)
print(f"learned domain classifier (LeNet-5): {time.perf_counter() - start_clf:.0f} s, "
      f"test accuracy {domain_accuracy:.4f}", flush=True)


@torch.no_grad()
def thick_learned(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([domain_net.predict(x[i:i + 500]) for i in range(0, len(x), 500)]) == 1


@torch.no_grad()
def translate(x: torch.Tensor, domain: str) -> torch.Tensor:
    return torch.cat([model.translate(x[i:i + 256], domain=domain) for i in range(0, len(x), 256)])


rows = {}
for source, target, name in ((split.test, "b", "A (thin) -> B (thick)"), (split.domain_b.test, "a", "B (thick) -> A (thin)")):
    x, y = source.images(), source.labels
    t = translate(x, target)
    back = translate(t, "a" if target == "b" else "b")
    want_thick = target == "b"
    rows[name] = {
        "test digits": len(x),
        "class kept (LeNet-5 accuracy)": round(float((classes(t) == y).float().mean()), 4),
        "LeNet-5 accuracy on the untouched digits": round(float((classes(x) == y).float().mean()), 4),
        "classified as the target domain": round(float((thick(t) == want_thick).float().mean()), 4),
        "untouched digits in their own domain": round(float((thick(x) != want_thick).float().mean()), 4),
        "classified as the target domain (learned classifier)": round(float((thick_learned(t) == want_thick)
                                                                           .float().mean()), 4),
        "untouched digits in their own domain (learned classifier)": round(float((thick_learned(x) != want_thick)
                                                                                 .float().mean()), 4),
        "cycle MAE": round(float((back - x).abs().mean()), 4),
        "cycle MSE": round(float((back - x).pow(2).mean()), 5),
        "ink ratio translated / source": round(float(ink(t).mean() / ink(x).mean()), 3),
    }
log = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
steps = max(r["step"] for r in log)
print(json.dumps({"run": str(run), "rounds": steps, "train_s": round(train_s, 1), **rows}, indent=1))
print(f"load average after: {load_average()}")
