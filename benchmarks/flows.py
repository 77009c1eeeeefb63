"""Normalizing flows, measured: the 2-D toys, MAF against IAF, and Glow / RealNVP on real 28x28 digits.

    python benchmarks/flows.py toys                  # every 2-D flow preset: test NLL (exact) and seconds
    python benchmarks/flows.py asymmetry             # MAF vs IAF: density and sampling time, same size
    python benchmarks/flows.py images --presets glow_mnist realnvp_mnist   # bits/dim, FID at T = 0.7, 1.0

Images use ``--data`` (default: the 8,000 real digits beside the repository, 20% held out); FID is the
protocol's (LeNet-5 features of the dataset, 2,000 samples against the test split, next to the
real-vs-real floor). Every figure is printed with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from common import machine

import generativa
from generativa.evaluation.protocol import evaluate_run
from generativa.registry import build_model, get_preset, preset_names
from generativa.training.run import RunDir

HERE = Path(__file__).resolve().parent
parser = argparse.ArgumentParser()
parser.add_argument("what", choices=["toys", "asymmetry", "images"])
parser.add_argument("--presets", nargs="*", default=None)
parser.add_argument("--data", default=f"idx:{HERE.parent.parent / 'shared' / 'data' / 'mnist-8k'}")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=None)
parser.add_argument("--runs", default="runs/benchmarks")
parser.add_argument("--figure", default=None, help="toys: a PNG with each flow's learned density beside the data")
args = parser.parse_args()
torch.set_num_threads(args.threads)


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


print(machine())
if args.what == "toys":
    toys = args.presets or [p for p in preset_names() if get_preset(p).model in
                            ("flow", "nice", "realnvp", "maf", "iaf", "residual_flow")
                            and get_preset(p).data.startswith("toy")]
    print(f"{'preset':<22} {'data':<16} {'steps':>6} {'train s':>8} {'test NLL (nats)':>16}  load")
    panels = []
    for name in toys:
        before = load()
        out = Path(args.runs) / f"flows_{name}"
        start = time.perf_counter()
        generativa.train(name, out=out, overwrite=True, progress=False, steps=args.steps, num_threads=args.threads,
                         sample_every=0)
        seconds = time.perf_counter() - start
        r = evaluate_run(out, metrics="nll")
        steps = RunDir(out).metrics_log()[-1]["step"]
        print(f"{name:<22} {get_preset(name).data:<16} {steps:>6} {seconds:>8.1f} {r['metrics']['nll_nats']:>16.4f}"
              f"  {before} / {load()}", flush=True)
        panels.append((name, out, r["metrics"]["nll_nats"]))
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        two_d = [(n, o, nll) for n, o, nll in panels if RunDir(o).load_model().data_shape == (2,)]
        fig, axes = plt.subplots(1, len(two_d), figsize=(2.6 * len(two_d), 2.8), squeeze=False)
        for ax, (name, out, nll) in zip(axes.flat, two_d):
            model, data = RunDir(out).load_model(), RunDir(out).load_data()
            x = data.test.x.float()
            lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
            xs, ys = torch.linspace(float(lo[0]), float(hi[0]), 150), torch.linspace(float(lo[1]), float(hi[1]), 150)
            with torch.no_grad():
                dens = torch.cat([model.log_prob(c).exp() for c in torch.cartesian_prod(xs, ys).split(5000)])
            ax.imshow(dens.view(150, 150).T.numpy(), origin="lower", cmap="magma", aspect="auto",
                      extent=(float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])))
            ax.set_title(f"{name}\nNLL {nll:.2f}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        fig.savefig(args.figure, dpi=90)
        print(f"figure: {args.figure}")

elif args.what == "asymmetry":
    dims, batch = 64, 256
    print(f"MAF vs IAF: 5 layers, MADE 512-512, D = {dims} (8x8 images), batch {batch}, {args.threads} threads")
    x = torch.randn(batch, dims)
    for name in ("maf", "iaf"):
        torch.manual_seed(0)
        model = build_model(name, data_shape=(dims,), num_layers=5, hidden=(512, 512)).eval()
        with torch.no_grad():
            model.log_prob(x)
            t = time.perf_counter()
            for _ in range(3):
                model.log_prob(x)
            density = (time.perf_counter() - t) / 3
            t = time.perf_counter()
            model.sample(batch, generator=torch.Generator().manual_seed(0))
            sampling = time.perf_counter() - t
        print(f"{name}: density {1000 * density:8.1f} ms / batch   sampling {1000 * sampling:8.1f} ms / batch   "
              f"(ratio sampling / density {sampling / density:6.1f})", flush=True)

else:
    for name in args.presets or ["glow_mnist", "realnvp_mnist"]:
        before = load()
        out = Path(args.runs) / f"flows_{name}"
        start = time.perf_counter()
        generativa.train(name, data=args.data, out=out, overwrite=True, progress=False, steps=args.steps,
                         num_threads=args.threads, sample_every=0)
        seconds = time.perf_counter() - start
        rows = RunDir(out).metrics_log()
        rates = sorted(r["images_per_s"] for r in rows if "images_per_s" in r)
        row = {"preset": name, "steps": rows[-1]["step"], "train_s": round(seconds, 1),
               "images_per_s": round(rates[len(rates) // 2], 1) if rates else None,
               "test_bits_per_dim": round(evaluate_run(out, metrics="nll")["metrics"]["bits_per_dim"], 4)}
        model = RunDir(out).load_model()
        for t in (0.7, 1.0):
            start = time.perf_counter()
            x = model.sample(2000, generator=torch.Generator().manual_seed(0), temperature=t)
            row[f"sample_s_T{t}"] = round(time.perf_counter() - start, 2)
            row[f"nonfinite_T{t}"] = int((~torch.isfinite(x.flatten(1)).all(1)).sum())
            r = evaluate_run(out, metrics="fid", n_samples=2000, sample_options={"temperature": t}, write=False)
            row[f"fid_T{t}"] = round(r["metrics"]["fid"], 2)
            row["fid_floor"] = round(r["floor"]["fid"], 2)
        row["load_before_after"] = f"{before} / {load()}"
        print(json.dumps(row), flush=True)
