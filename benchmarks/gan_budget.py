"""FID against training time: train GAN presets on the 28x28 digits in stages and measure after each.

Each preset's run is trained to the first budget, measured, resumed to the next budget (a resume is
bit for bit the uninterrupted run on the CPU, so a 30-minute run measured at 10 and 20 minutes is
one run, not three), measured again, and so on. The presets take turns at each stage, so the early
stages of every preset are measured before the late ones. A run folder that already holds a run of
the preset (say a 10-minute run of ``presets_mnist.py``, copied) is resumed from where it stopped.

Measured after each stage: FID in the protocol (LeNet-5 features of these digits, ``--samples``
samples against the test split; the real-vs-real floor beside it) and the classes covered by 1,000
samples. Training minutes are the trainer's clock (the loop, periodic grids and checkpoints).

    python benchmarks/gan_budget.py --data idx:PATH --presets dcgan_mnist progan_mnist --minutes 10 20 30 \
        --json budget.jsonl --figure budget.png
    python benchmarks/gan_budget.py --json budget.jsonl --figure budget.png --plot-only   # redraw
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import load_average, machine

import generativa
from generativa.evaluation import evaluate_run
from generativa.evaluation.features import feature_network
from generativa.reporting.sections.gans import class_histogram_of_samples
from generativa.training.run import RunDir

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="mnist", help="data spec, e.g. idx:PATH (a folder of MNIST's IDX files)")
parser.add_argument("--presets", nargs="+", default=["dcgan_mnist", "progan_mnist", "stylegan_mnist"])
parser.add_argument("--minutes", nargs="+", type=float, default=[10.0, 20.0, 30.0],
                    help="the training budgets (total minutes) at which to measure, increasing")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--runs", default="runs/benchmarks", help="run folders: RUNS/budget_PRESET")
parser.add_argument("--json", default=None, help="append one JSON line per measurement here")
parser.add_argument("--figure", default=None, help="draw FID against minutes for every preset in --json")
parser.add_argument("--plot-only", action="store_true", help="only draw --figure from --json")
args = parser.parse_args()
if sorted(args.minutes) != args.minutes:
    parser.error("--minutes must be increasing: each is the total budget of the next stage")
torch.set_num_threads(args.threads)


def trained_minutes(run: Path) -> float:
    log = RunDir(run).metrics_log()
    return max((r.get("time", 0.0) for r in log), default=0.0) / 60.0


def draw(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name in dict.fromkeys(r["preset"] for r in rows):
        points = sorted({r["budget_min"]: r for r in rows if r["preset"] == name}.values(), key=lambda r: r["budget_min"])
        ax.plot([r["trained_min"] for r in points], [r["fid"] for r in points], marker="o", label=name)
    ax.axhline(rows[0]["fid_floor"], color="grey", linestyle=":", label="real vs real")
    ax.set_yscale("log")
    ax.set_yticks([2, 5, 10, 20, 50])
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training minutes (2 CPU cores)")
    ax.set_ylabel("FID (lower is better)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("wrote", path)


if args.plot_only:
    if not (args.json and args.figure):
        parser.error("--plot-only needs --json (the measurements) and --figure (the picture to write)")
    draw([json.loads(line) for line in Path(args.json).read_text().splitlines() if line.strip()], args.figure)
    raise SystemExit(0)

print(f"machine: {machine()}")
print(f"load average before: {load_average()}", flush=True)
for minutes in args.minutes:
    for name in args.presets:
        out = Path(args.runs) / f"budget_{name}"
        if (out / "config.yaml").exists():
            done = trained_minutes(out)
            if done >= minutes - 0.05:
                print(f"{out}: already trained {done:.1f} min, measuring it as is", flush=True)
            else:
                generativa.resume(out, minutes=minutes - done, progress=False)
        else:
            generativa.train(name, data=args.data, minutes=minutes, steps=None, out=out, progress=False,
                             num_threads=args.threads, overwrite=False, **{"train.steps": None})
        load_after = load_average()
        run = RunDir(out)
        log = run.metrics_log()
        start = time.perf_counter()
        result = evaluate_run(out, metrics="fid", n_samples=args.samples, seed=0)
        model, data = run.load_model(), run.load_data()
        hist = class_histogram_of_samples(model, data, feature_network(data, "lenet5"), n=1000)
        row = {"preset": name, "budget_min": minutes, "trained_min": round(trained_minutes(out), 2),
               "rounds": max(r["step"] for r in log), "fid": round(result["metrics"]["fid"], 3),
               "fid_floor": round(result["floor"]["fid"], 3),
               "classes": f"{round(hist['mode_coverage'] * data.num_classes)}/{data.num_classes}",
               "class_kl": round(hist["class_kl"], 4), "eval_s": round(time.perf_counter() - start, 1),
               "load_after_train": load_after}
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
print(f"load average after: {load_average()}")
if args.figure and args.json:
    draw([json.loads(line) for line in Path(args.json).read_text().splitlines() if line.strip()], args.figure)
