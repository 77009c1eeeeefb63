"""Style mixing on ``faces``: do the coarse styles carry the coarse factors and the fine styles the colours?

1. Train ``stylegan_faces`` (or pass ``--run`` to use a trained one).
2. Train a factor classifier: a small CNN with one softmax head per factor of ``faces``, on freshly
   rendered faces (factors drawn uniformly), scored on other rendered faces.
3. Draw pairs of styles (w_A, w_B). The picture of A; "coarse from B": layers [0, cutoff) take w_B
   and the rest w_A; "fine from B": layers [0, cutoff) take w_A and the rest w_B (noise fixed).
   For every factor, the share of pairs whose classified value differs from A's picture, for each
   kind of swap, next to the share for two unrelated samples (A's and B's pictures: the most a swap
   can change). A factor carried by the coarse styles changes under "coarse from B" and stays under
   "fine from B"; a colour factor does the opposite.
4. The style-mixing grid is saved as a figure (``--figure``).

    python benchmarks/style_mixing_faces.py --figure docs/figures/stylegan_faces_mixing.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import load_average, machine
from torch import nn

import generativa
from generativa.data.faces import FACTOR_NAMES, VALUE_NAMES, render_faces, sample_factors
from generativa.io.grids import save_grid
from generativa.reporting.sections.gan_advances import style_mixing_grid
from generativa.training.settings import parse_overrides

COARSE = ("yaw", "face_shape", "hair_style")  # shape and pose: what the 4x4 and 8x8 layers can place
COLOUR = ("skin_tone", "hair_colour", "background", "eye_colour")

parser = argparse.ArgumentParser()
parser.add_argument("--run", default=None, help="a trained stylegan run on faces (default: train stylegan_faces)")
parser.add_argument("--out", default="runs/benchmarks/stylegan_faces")
parser.add_argument("--steps", type=int, default=None, help="default: the preset's")
parser.add_argument("--set", nargs="*", default=[], help="overrides of the preset, e.g. model.discriminator=dcgan")
parser.add_argument("--pairs", type=int, default=1000)
parser.add_argument("--cutoffs", type=int, nargs="*", default=None, help="default: every layer boundary")
parser.add_argument("--classifier-images", type=int, default=24000)
parser.add_argument("--classifier-epochs", type=int, default=4)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--figure", default=None)
parser.add_argument("--json", default=None)
args = parser.parse_args()
torch.set_num_threads(args.threads)



class FactorClassifier(nn.Module):
    """Three conv stages (32x32 -> 4x4) and one linear head per factor."""

    def __init__(self) -> None:
        super().__init__()

        def stage(i: int, o: int) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

        self.body = nn.Sequential(*stage(3, 32), *stage(32, 64), *stage(64, 96), nn.Flatten(),
                                  nn.Linear(96 * 16, 256), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(256, len(VALUE_NAMES[f])) for f in FACTOR_NAMES)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.body(x)
        return [head(h) for head in self.heads]

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        self.eval()
        return torch.cat([torch.stack([o.argmax(1) for o in self(x[i:i + 500])], 1) for i in range(0, len(x), 500)])


def render(n: int, seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    factors = sample_factors(n, generator=torch.Generator().manual_seed(seed))
    return render_faces(factors, size=size).float() / 255.0, factors


print(f"machine: {machine()}")
print(f"load average before: {load_average()}", flush=True)
start = time.perf_counter()
if args.run is None:
    overrides = parse_overrides(args.set)
    run = generativa.train("stylegan_faces", steps=args.steps, out=args.out, overwrite=True, progress=False,
                           num_threads=args.threads, **overrides)
else:
    run = Path(args.run)
train_s = time.perf_counter() - start
model = generativa.load(run).eval()
size = model.data_shape[-1]

# -- the factor classifier -----------------------------------------------------------------------
start = time.perf_counter()
x_train, f_train = render(args.classifier_images, 1, size)
x_test, f_test = render(2000, 2, size)
torch.manual_seed(0)
clf = FactorClassifier()
opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=1e-4)
steps = args.classifier_epochs * (len(x_train) // 64)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
g = torch.Generator().manual_seed(3)
for _ in range(steps):
    clf.train()
    idx = torch.randint(0, len(x_train), (64,), generator=g)
    loss = sum(nn.functional.cross_entropy(o, f_train[idx, k]) for k, o in enumerate(clf(x_train[idx])))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
clf_s = time.perf_counter() - start
accuracy = (clf.predict(x_test) == f_test).float().mean(0)
print(f"factor classifier: {steps} steps in {clf_s:.0f} s; held-out accuracy per factor:")
print("  " + ", ".join(f"{f} {float(a):.3f}" for f, a in zip(FACTOR_NAMES, accuracy)), flush=True)

# -- the swaps ------------------------------------------------------------------------------------
g = torch.Generator().manual_seed(0)
w_a, w_b = model.latents(args.pairs, generator=g), model.latents(args.pairs, generator=g)
n_ws = model.n_ws
resolutions = model.synthesis.layer_resolutions()


def pictures(w_coarse: torch.Tensor, w_fine: torch.Tensor, cutoff: int) -> torch.Tensor:
    return torch.cat([model.style_mix(w_coarse[i:i + 250], w_fine[i:i + 250], cutoff, noise="const")
                      for i in range(0, len(w_coarse), 250)])


pred_a = clf.predict(pictures(w_a, w_a, n_ws))
pred_b = clf.predict(pictures(w_b, w_b, n_ws))
unrelated = (pred_a != pred_b).float().mean(0)
cutoffs = args.cutoffs or list(range(2, n_ws, 2))
table = {}
for cutoff in cutoffs:
    coarse = (clf.predict(pictures(w_b, w_a, cutoff)) != pred_a).float().mean(0)
    fine = (clf.predict(pictures(w_a, w_b, cutoff)) != pred_a).float().mean(0)
    table[cutoff] = {"coarse layers": sorted(set(resolutions[:cutoff])),
                     "coarse from B": {f: round(float(v), 3) for f, v in zip(FACTOR_NAMES, coarse)},
                     "fine from B": {f: round(float(v), 3) for f, v in zip(FACTOR_NAMES, fine)}}

samples = pictures(w_a[:512], w_a[:512], n_ws)
report = {"run": str(run), "train_s": round(train_s, 1), "classifier_s": round(clf_s, 1), "pairs": args.pairs,
          "n_ws": n_ws, "layer resolutions": resolutions,
          "sample pixel std across w": round(float(samples.std(0).mean()), 4),
          "classifier accuracy": {f: round(float(a), 4) for f, a in zip(FACTOR_NAMES, accuracy)},
          "unrelated pairs differ": {f: round(float(v), 3) for f, v in zip(FACTOR_NAMES, unrelated)},
          "swaps": table}
print(json.dumps(report, indent=1))

print("\n| factor | classifier accuracy | two unrelated samples differ | " + " | ".join(
    f"coarse from B (w0..w{c - 1}) | fine from B (w{c}..)" for c in cutoffs) + " |")
print("|---|---|---|" + "---|---|" * len(cutoffs))
for k, f in enumerate(FACTOR_NAMES):
    kind = " (coarse)" if f in COARSE else " (colour)" if f in COLOUR else ""
    cells = " | ".join(f"{table[c]['coarse from B'][f]:.3f} | {table[c]['fine from B'][f]:.3f}" for c in cutoffs)
    print(f"| {f}{kind} | {float(accuracy[k]):.3f} | {float(unrelated[k]):.3f} | {cells} |")
for group, names in (("coarse", COARSE), ("colour", COLOUR)):
    idx = [FACTOR_NAMES.index(f) for f in names]
    for c in cutoffs:
        coarse = sum(table[c]["coarse from B"][FACTOR_NAMES[i]] for i in idx) / len(idx)
        fine = sum(table[c]["fine from B"][FACTOR_NAMES[i]] for i in idx) / len(idx)
        print(f"{group} factors, cutoff {c}: changed by coarse swap {coarse:.3f}, by fine swap {fine:.3f}")

if args.figure:
    cutoff = min(4, n_ws - 1)
    grid, nrow = style_mixing_grid(model, k=6, cutoff=cutoff)
    save_grid(grid, args.figure, nrow=nrow)
    print(f"figure: {args.figure} (rows take w0..w{cutoff - 1} from the left column, the rest from the top row)")
if args.json:
    with open(args.json, "a") as fh:
        fh.write(json.dumps(report) + "\n")
print(f"load average after: {load_average()}")
