"""Glow against normflows' Glow on the same real 28x28 digits, same machine, one after the other.

Both models: ``--levels`` levels of ``--depth`` steps, coupling networks of ``--width`` channels,
batch ``--batch``, trained for ``--minutes`` (or ``--steps``) on the train split of the digits, then:
test bits/dim (the dequantisation bound, 0..255 scale), training images/s (after 10 warm-up
steps), and how many of 2,000 samples are non-finite at temperature 0.7 and 1.0.

normflows runs in its own virtual environment (``benchmarks/.venv-normflows``: created on first use
with ``pip install torch==2.13.0 normflows==1.7.3``, or pass ``--peer-python``) through
``flows_normflows_worker.py``; generativa runs here with its own defaults (bf16 autocast and
channels-last where the CPU computes bf16 natively), and once more in fp32 with ``--fp32-too``.

    python benchmarks/flows_vs_normflows.py --minutes 10
    python benchmarks/flows_vs_normflows.py --steps 200 --fp32-too        # speed at equal steps
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import machine, matmul_peak_gflops

import generativa
from generativa.evaluation.protocol import evaluate_run
from generativa.training.run import RunDir

HERE = Path(__file__).resolve().parent
parser = argparse.ArgumentParser()
parser.add_argument("--data", default=f"idx:{HERE.parent.parent / 'shared' / 'data' / 'mnist-8k'}")
parser.add_argument("--minutes", type=float, default=None)
parser.add_argument("--steps", type=int, default=None)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--levels", type=int, default=2)
parser.add_argument("--depth", type=int, default=16)
parser.add_argument("--width", type=int, default=256)
parser.add_argument("--peer-python", default=None)
parser.add_argument("--fp32-too", action="store_true")
parser.add_argument("--skip-peer", action="store_true")
parser.add_argument("--runs", default="runs/benchmarks")
args = parser.parse_args()
if (args.minutes is None) == (args.steps is None):
    parser.error("pass --minutes or --steps")


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def peer_python() -> str:
    if args.peer_python:
        return args.peer_python
    venv = HERE / ".venv-normflows"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (torch==2.13.0, normflows==1.7.3) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "normflows==1.7.3"], check=True)
    return str(python)


def ours(precision: str) -> dict:
    out = Path(args.runs) / f"glow_vs_normflows_{precision}"
    budget = {"minutes": args.minutes} if args.minutes else {"steps": args.steps}
    start = time.perf_counter()
    generativa.train("glow", data=args.data, out=out, overwrite=True, progress=False, num_threads=args.threads,
                     levels=args.levels, depth=args.depth, coupling_width=args.width, batch_size=args.batch,
                     precision=precision, channels_last=precision != "fp32", lr=1e-3, warmup_steps=200,
                     grad_clip=50.0, sample_every=0, log_every=10, checkpoint_every=0, **budget)
    seconds = time.perf_counter() - start
    rows = RunDir(out).metrics_log()
    rates = [r["images_per_s"] for r in rows if "images_per_s" in r][1:]  # the first window holds the warm-up
    result = evaluate_run(out, metrics="nll")
    model = RunDir(out).load_model()
    torch.set_num_threads(args.threads)
    nonfinite = {}
    for t in (0.7, 1.0):
        x = torch.cat([model.sample(500, generator=torch.Generator().manual_seed(i), temperature=t) for i in range(4)])
        nonfinite[f"nonfinite_samples_T{t}"] = int((~torch.isfinite(x.flatten(1)).all(1)).sum())
    return {"steps": rows[-1]["step"], "train_s": round(seconds, 1),
            "images_per_s": round(float(np.median(rates)), 1) if rates else float("nan"),
            "test_bits_per_dim": round(result["metrics"]["bits_per_dim"], 4),
            "params": sum(p.numel() for p in model.parameters()), **nonfinite}


def peer() -> dict:
    data = generativa.load_data(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digits.npz"
        np.savez(path, train=data.train.x.numpy(), test=data.test.x.numpy())
        cmd = [peer_python(), str(HERE / "flows_normflows_worker.py"), str(path), "--threads", str(args.threads),
               "--batch", str(args.batch), "--levels", str(args.levels), "--depth", str(args.depth),
               "--width", str(args.width)]
        cmd += ["--minutes", str(args.minutes)] if args.minutes else ["--steps", str(args.steps)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


torch.set_num_threads(args.threads)
print(machine())
print(f"matmul peak (fp32, {args.threads} threads): {matmul_peak_gflops():.0f} GFLOP/s")
print(f"Glow, {args.levels} levels x {args.depth} steps, width {args.width}, batch {args.batch}, "
      + (f"{args.minutes} minutes" if args.minutes else f"{args.steps} steps") + f", data {args.data}")
results = {}
for name, run in [("generativa", lambda: ours("auto")), *([("generativa fp32", lambda: ours("fp32"))] if args.fp32_too else []),
                  *([] if args.skip_peer else [("normflows", peer)])]:
    before = load()
    results[name] = run()
    results[name]["load_before_after"] = f"{before} / {load()}"
    print(f"{name:<16} {json.dumps(results[name])}", flush=True)
if "normflows" in results:
    peer_rate = results["normflows"]["images_per_s"]
    for name, r in results.items():
        if name != "normflows":
            print(f"{name}: {r['images_per_s'] / peer_rate:.2f}x normflows' images/s; test bits/dim "
                  f"{r['test_bits_per_dim']} vs {results['normflows']['test_bits_per_dim']}")
dims = math.prod(generativa.load_data(args.data).shape)
print(f"({dims} dimensions per image; bits/dim on the 0..255 scale)")
