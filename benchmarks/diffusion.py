"""Diffusion on real 28x28 digits, measured: quality against CPU time, against network evaluations, and speed.

    python benchmarks/diffusion.py train                      # each preset for its own steps: seconds, FID
    python benchmarks/diffusion.py train --minutes 1 2 5      # the same run scored at 1, 2 and 5 minutes
    python benchmarks/diffusion.py nfe --run runs/benchmarks/diffusion_flow_matching_mnist --figure fid_nfe.png
    python benchmarks/diffusion.py speed                      # training and sampling images/s, matmul-peak fraction
    python benchmarks/diffusion.py train --presets flow_matching_mnist --minutes 5 --set model.conditional=true --tag _cond
    python benchmarks/diffusion.py guidance --run runs/benchmarks/diffusion_flow_matching_mnist_5min_cond --sampler heun --sampling-steps 5
    python benchmarks/diffusion.py classes --run runs/benchmarks/diffusion_flow_matching_mnist_5min  # class mix, ambiguity
    python benchmarks/diffusion.py diffusers --minutes 5                  # against diffusers' DDPM recipe

``train`` trains each preset (default: ``flow_matching_mnist``, ``ddpm_mnist``, ``latent_diffusion_mnist``)
with ``generativa.train`` on ``--data`` (default: the 8,000 real digits beside the repository, 20% held
out) and scores its EMA weights by the protocol's FID (LeNet-5 features of the dataset, ``--samples``
samples against the test split, next to the real-vs-real floor) with the preset's own sampler. With
``--minutes``, one run per budget, each as a user gets it with ``generativa train --minutes M`` (its
learning-rate schedule fitted to the budget). ``nfe`` scores one trained run with every ODE sampler at several step counts and times
the sampling of ``--samples`` images. ``guidance`` scores a run trained with labels at several guidance
scales: how often the evaluation classifier (the protocol's LeNet-5) puts a sample in the class it was
asked for (1,000 samples, 100 per class), and FID. ``classes`` draws 2,000 samples from each run (labels 0..9 in turn for a conditional run) and prints how the
evaluation classifier spreads them over the classes and the share it is less than 90% sure of, next to
the same for the test split. ``speed`` times training steps and sampling and reports FLOP/s
against this machine's fp32 matmul peak measured in the same run (bf16 work can exceed it).
``diffusers`` trains diffusers' DDPM recipe (``diffusion_diffusers_worker.py``, in its own virtual
environment ``benchmarks/.venv-diffusers``, created on first use with ``pip install torch==2.13.0
diffusers==DIFFUSERS``, or pass ``--peer-python``) and the first preset for the same wall-clock
minutes, one after the other, samples 2,000 images from each (DDIM-50 there, the preset's sampler
here) and scores both with the protocol's features against the same test split.
The load average is printed before and after every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import machine, matmul_peak_gflops
from torch.utils.flop_counter import FlopCounterMode

import generativa
from generativa.data import load_data
from generativa.evaluation.protocol import evaluate_run
from generativa.models.base import Batch
from generativa.models.diffusion.samplers import nfe
from generativa.training.run import RunDir

HERE = Path(__file__).resolve().parent
DIFFUSERS = "0.42.1"
PRESETS = ["flow_matching_mnist", "ddpm_mnist", "latent_diffusion_mnist"]
parser = argparse.ArgumentParser()
parser.add_argument("what", choices=["train", "nfe", "guidance", "classes", "speed", "diffusers"])
parser.add_argument("--presets", nargs="*", default=PRESETS)
parser.add_argument("--data", default=f"idx:{HERE.parent.parent / 'shared' / 'data' / 'mnist-8k'}")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
parser.add_argument("--minutes", type=float, nargs="*", default=None, help="score the run at these training minutes")
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--run", nargs="*", default=None, help="nfe, guidance: the run folder to score (classes: several)")
parser.add_argument("--figure", default=None, help="nfe: a PNG of FID against network evaluations")
parser.add_argument("--points", nargs="*", default=None, help="nfe: only these sampler:steps points, e.g. heun:10")
parser.add_argument("--runs", default="runs/benchmarks")
parser.add_argument("--peer-python", default=None, help="diffusers: a Python with torch and diffusers installed")
parser.add_argument("--tag", default="", help="train: a suffix of the run folders")
parser.add_argument("--set", nargs="*", default=[], help="model / training overrides, e.g. lr=1e-3")
parser.add_argument("--sampler", default=None, help="guidance: the sampler (default: the run's)")
parser.add_argument("--sampling-steps", type=int, default=None, help="guidance: the sampler's steps (default: the run's)")
args = parser.parse_args()
torch.set_num_threads(args.threads)


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def fid_of(run: Path, **options) -> tuple[float, float, float]:
    """(FID, floor, seconds of sampling and scoring) of a run's samples."""
    start = time.perf_counter()
    r = evaluate_run(run, metrics="fid", n_samples=args.samples, seed=0, write=False, sample_options=options or None)
    return r["metrics"]["fid"], r["floor"]["fid"], time.perf_counter() - start


print(machine())
print(f"load average before: {load()}", flush=True)
if args.what == "train":
    from generativa.training.settings import parse_overrides

    overrides = parse_overrides(args.set)
    budgets = [{"minutes": m} for m in args.minutes] if args.minutes else [{"steps": args.steps}]
    for name, train in ((n, b) for n in args.presets for b in budgets):
        out = Path(args.runs) / (f"diffusion_{name}" + (f"_{train['minutes']:g}min" if "minutes" in train else "") + args.tag)
        start = time.perf_counter()
        generativa.train(name, data=args.data, out=out, overwrite=True, progress=False, num_threads=args.threads,
                         **train, **overrides)
        wall = time.perf_counter() - start
        log = RunDir(out).metrics_log()
        steps, seconds = log[-1]["step"], max(r.get("time", 0.0) for r in log)
        batch = RunDir(out).config["train"]["batch_size"]
        fid, floor, s = fid_of(out)
        print(json.dumps({"preset": name, **train, "steps": steps, "train_s": round(seconds, 1), "wall_s": round(wall, 1),
                          "train_images_per_s": round(steps * batch / seconds), "fid": round(fid, 2),
                          "fid_floor": round(floor, 2), "score_s": round(s, 1), "load": load()}), flush=True)
elif args.what == "nfe":
    run = Path(args.run[0])
    grid = {"euler": [5, 10, 20, 40], "heun": [3, 5, 10, 20], "dpm_solver": [5, 10, 20], "ddim": [10, 20, 50]}
    if args.points:  # e.g. heun:10 dpm_solver:20
        grid = {}
        for point in args.points:
            sampler, _, steps = point.partition(":")
            grid.setdefault(sampler, []).append(int(steps))
    points = []
    print(f"{'sampler':<11} {'steps':>5} {'NFE':>4} {'FID':>8} {'floor':>6} {'seconds':>8}  load")
    for sampler, counts in grid.items():
        for steps in counts:
            fid, floor, s = fid_of(run, sampler=sampler, steps=steps)
            points.append((sampler, steps, nfe(sampler, steps), fid))
            print(f"{sampler:<11} {steps:>5} {nfe(sampler, steps):>4} {fid:>8.2f} {floor:>6.2f} {s:>8.1f}  {load()}",
                  flush=True)
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for sampler in grid:
            xs = [(n, f) for s_, _, n, f in points if s_ == sampler]
            ax.plot([n for n, _ in xs], [f for _, f in xs], "o-", label=sampler)
        ax.axhline(floor, color="grey", ls="--", lw=1, label="real vs real")
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel("network evaluations per sample"), ax.set_ylabel(f"FID ({args.samples} samples)")
        ax.set_title(RunDir(run).config.get("preset") or run.name), ax.legend(fontsize=8)
        fig.tight_layout(), fig.savefig(args.figure, dpi=120)
        print(f"figure: {args.figure}")
elif args.what == "guidance":
    from generativa.evaluation.features import feature_network

    run = RunDir(args.run[0])
    model, data = run.load_model(), run.load_data()
    classifier = feature_network(data, "lenet5")
    asked = torch.arange(1000) % data.num_classes
    chosen = {k: v for k, v in {"sampler": args.sampler, "steps": args.sampling_steps}.items() if v is not None}
    print(f"sampler: {chosen or 'the run default'}")
    print(f"{'guidance':>8} {'asked class':>12} {'FID':>8} {'floor':>6}  load")
    for w in (1.0, 1.5, 2.0, 3.0):
        x = model.sample(1000, generator=torch.Generator().manual_seed(0), guidance=w, labels=asked, **chosen)
        _, logits = classifier.features_and_logits(x.float().clamp(0, 1))
        accuracy = float((logits.argmax(1).cpu() == asked).double().mean())
        fid, floor, _ = fid_of(Path(args.run[0]), guidance=w, **chosen)
        print(f"{w:>8.1f} {accuracy:>12.1%} {fid:>8.2f} {floor:>6.2f}  {load()}", flush=True)
elif args.what == "classes":
    from generativa.evaluation.features import feature_network

    def spread(x: torch.Tensor, classifier) -> str:
        _, logits = classifier.features_and_logits(x.float().clamp(0, 1))
        p = logits.softmax(1)
        counts = torch.bincount(p.argmax(1).cpu(), minlength=p.shape[1]).tolist()
        return f"per class {counts}, less than 90% sure: {float((p.max(1).values < 0.9).double().mean()):.1%}"

    for path in args.run:
        run = RunDir(path)
        model, data = run.load_model(), run.load_data()
        classifier = feature_network(data, "lenet5")
        conditional = bool(getattr(model.config, "conditional", False))
        extra = {"labels": torch.arange(2000) % data.num_classes} if conditional else {}
        x = model.sample(2000, generator=torch.Generator().manual_seed(0), **extra)
        print(f"{path}: {spread(x, classifier)}  [load {load()}]", flush=True)
    print(f"test split: {spread(data.test.images(slice(0, len(data.test))), classifier)}")
elif args.what == "diffusers":
    import subprocess
    import sys
    import tempfile

    import numpy as np

    from generativa.evaluation.features import feature_network
    from generativa.evaluation.fid import fid

    minutes = args.minutes[0] if args.minutes else 5.0
    python = args.peer_python
    if python is None:
        venv = HERE / ".venv-diffusers"
        python = str(venv / "bin" / "python")
        if not Path(python).exists():
            print(f"creating {venv} (torch==2.13.0, diffusers=={DIFFUSERS}) ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0", f"diffusers=={DIFFUSERS}"], check=True)
    data = load_data(args.data)
    net = feature_network(data, "lenet5")
    real, _ = net.features_and_logits(data.test)
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "digits.npz", Path(tmp) / "samples.npz"
        np.savez(path, train=data.train.x.numpy())
        before = load()
        done = subprocess.run([python, str(HERE / "diffusion_diffusers_worker.py"), str(path), str(out), "--minutes",
                               str(minutes), "--threads", str(args.threads), "--samples", str(args.samples)],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"the diffusers worker failed:\n{done.stderr[-3000:]}")
        peer = json.loads(done.stdout.strip().splitlines()[-1])
        with np.load(out, allow_pickle=False) as f:
            x = torch.from_numpy(f["samples"])
    peer["fid"] = round(fid(real, net.features_and_logits(x)[0]), 2)
    peer["load_before_after"] = f"{before} / {load()}"
    print(f"diffusers DDPM (DDIM-{peer['ddim_steps']}): {json.dumps(peer)}", flush=True)
    name, before = args.presets[0], load()
    run = Path(args.runs) / f"diffusion_vs_diffusers_{name}"
    generativa.train(name, data=args.data, out=run, overwrite=True, progress=False, num_threads=args.threads,
                     minutes=minutes, sample_every=0)
    log = RunDir(run).metrics_log()
    steps, seconds = log[-1]["step"], max(r.get("time", 0.0) for r in log)
    model = RunDir(run).load_model()
    start = time.perf_counter()
    x = model.sample(args.samples, generator=torch.Generator().manual_seed(0)).float().clamp(0, 1)
    sample_s = time.perf_counter() - start
    batch = RunDir(run).config["train"]["batch_size"]
    ours = {"steps": steps, "train_s": round(seconds, 1), "train_images_per_s": round(steps * batch / seconds),
            "params": sum(p.numel() for p in model.parameters()), "sampler": model.config.sampler,
            "sampling_steps": model.config.sampling_steps, "sample_s": round(sample_s, 1),
            "sample_s_per_image": round(sample_s / args.samples, 4),
            "fid": round(fid(real, net.features_and_logits(x)[0]), 2), "load_before_after": f"{before} / {load()}"}
    print(f"generativa {name}: {json.dumps(ours)}")
    floor = evaluate_run(run, metrics="fid", n_samples=args.samples, write=False)["floor"]["fid"]
    print(f"real-vs-real floor {floor:.2f}; FID ratio diffusers / generativa {peer['fid'] / ours['fid']:.2f}; "
          f"sampling time ratio {peer['sample_s'] / ours['sample_s']:.1f}x")
else:  # speed
    peak = matmul_peak_gflops()
    print(f"fp32 matmul peak (1024^3, {args.threads} threads): {peak:.1f} GFLOP/s")
    data = load_data(args.data)
    for name in args.presets:
        out = Path(args.runs) / f"diffusion_speed_{name}"
        generativa.train(name, data=args.data, out=out, overwrite=True, progress=False, num_threads=args.threads,
                         steps=30, sample_every=0)
        log = RunDir(out).metrics_log()
        steps, seconds = log[-1]["step"], max(r.get("time", 0.0) for r in log)
        cfg = RunDir(out).config
        batch = cfg["train"]["batch_size"]
        model = RunDir(out).load_model()
        x = data.train.images(slice(0, batch))
        with FlopCounterMode(display=False) as counter:
            model.loss(Batch(x, data.train.labels[:batch])).loss.backward()
        train_flops = counter.get_total_flops()
        n = 250
        with FlopCounterMode(display=False) as counter:
            model.sample(n, generator=torch.Generator().manual_seed(0), precision="fp32")
        sample_flops = counter.get_total_flops()
        model.sample(n, generator=torch.Generator().manual_seed(0))  # warm-up
        start = time.perf_counter()
        model.sample(n, generator=torch.Generator().manual_seed(1))
        s = time.perf_counter() - start
        train_rate = train_flops * steps / seconds / 1e9
        print(f"{name}: training {steps * batch / seconds:.0f} images/s ({train_rate:.1f} GFLOP/s = "
              f"{train_rate / peak:.0%} of the fp32 matmul peak); sampling {n / s:.0f} images/s with the preset's "
              f"sampler ({sample_flops / s / 1e9:.1f} GFLOP/s = {sample_flops / s / 1e9 / peak:.0%}), "
              f"{2000 * s / n:.0f} s for 2,000  [load {load()}]", flush=True)
        # The precision and memory-layout choice: the same training steps under each combination.
        for precision in ("fp32", "bf16"):
            for channels_last in (False, True):
                generativa.train(name, data=args.data, out=out, overwrite=True, progress=False,
                                 num_threads=args.threads, steps=20, sample_every=0, precision=precision,
                                 channels_last=channels_last)
                log = RunDir(out).metrics_log()
                rate = log[-1]["step"] * batch / max(r.get("time", 0.0) for r in log)
                print(f"  {precision}, {'channels-last' if channels_last else 'contiguous'}: training {rate:.0f} "
                      f"images/s  [load {load()}]", flush=True)
print(f"load average after: {load()}")
