"""Training throughput of the default autoencoder: the trainer against a bare PyTorch loop.

For the `ae_digits` preset (8x8) and `ae_shapes` (32x32) this prints images/s, ms per step,
FLOPs per image (torch.utils.flop_counter, forward + backward), achieved GFLOP/s next to this
machine's fp32 matmul peak measured in the same run, and the trainer's overhead: its time per step
against a bare loop (same model, same batches, same fused AdamW) timed alternately in the same process, and its speed
against the same loop with PyTorch's default AdamW.
Then fp32, bf16 autocast and channels_last are compared on speed and on the test loss they reach.

    python benchmarks/train_throughput.py [--steps 200] [--repeats 5] [--quality-steps 1500]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import time

import torch
from common import machine, matmul_peak_gflops
from torch.utils.flop_counter import FlopCounterMode

from generativa.data import load_data
from generativa.models.base import Batch
from generativa.registry import get_model_class, get_preset
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200, help="steps per timed repeat")
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--quality-steps", type=int, default=1500, help="steps for the precision/layout loss check")
parser.add_argument("--presets", default="ae_digits,ae_shapes")
parser.add_argument("--json", default=None, help="also write the results here")
args = parser.parse_args()

peak = matmul_peak_gflops()
print(f"machine: {machine()}")
print(f"fp32 matmul peak (1024^3 GEMM, best of 20): {peak:.1f} GFLOP/s\n")
results = {"machine": machine(), "matmul_peak_gflops": peak, "presets": {}}


def build(preset_name: str, data, **train_over):
    p = get_preset(preset_name)
    config = dataclasses.replace(p.config, data_shape=tuple(data.shape), num_classes=data.num_classes)
    torch.manual_seed(0)
    model = get_model_class(p.model)(config)
    train = TrainConfig(**{**p.train, "progress": False, "sample_every": 0, "checkpoint_every": 0, **train_over})
    return model, train


def flops_per_image(model, data, batch_size: int) -> float:
    x = data.train.images(slice(0, batch_size))
    m = copy.deepcopy(model)
    with FlopCounterMode(display=False) as counter:
        m.loss(Batch(x)).loss.backward()
    return counter.get_total_flops() / batch_size


def bare_loop(model, data, train: TrainConfig, steps: int, batches, fused: bool | None = None):
    """The plainest correct loop: index, forward, backward, step (AdamW as PyTorch picks it, or fused)."""
    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, betas=train.betas, weight_decay=train.weight_decay,
                            fused=fused)
    x_all = data.train.x
    model.train()

    def run():
        for idx in batches[:steps]:
            x = x_all[idx].float().div_(255.0)
            opt.zero_grad(set_to_none=True)
            model.loss(Batch(x)).loss.backward()
            opt.step()

    return run


for preset_name in args.presets.split(","):
    p = get_preset(preset_name)
    data = load_data(p.data, **p.data_options)
    model, train = build(preset_name, data)
    B = train.batch_size
    fpi = flops_per_image(model, data, B)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randperm(len(data.train), generator=g)[:B] for _ in range(args.steps)]

    bare = bare_loop(copy.deepcopy(model), data, train, args.steps, batches)
    bare_fused = bare_loop(copy.deepcopy(model), data, train, args.steps, batches, fused=True)
    trainer = Trainer(copy.deepcopy(model), data, dataclasses.replace(train, steps=10**9))

    def run_trainer(trainer=trainer):
        trainer.fit(steps=trainer.step + args.steps, finish=False)

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    bare(), bare_fused(), run_trainer()  # warm-up
    t_bare, t_fused, t_train = [], [], []
    for _ in range(args.repeats):  # alternate so all three see the same machine load
        t_bare.append(timed(bare))
        t_fused.append(timed(bare_fused))
        t_train.append(timed(run_trainer))
    ms_bare = statistics.median(t_bare) / args.steps * 1e3
    ms_fused = statistics.median(t_fused) / args.steps * 1e3
    ms_train = statistics.median(t_train) / args.steps * 1e3
    overhead = ms_train / ms_fused - 1
    ips = B / (ms_train / 1e3)
    gflops = fpi * ips / 1e9
    print(f"== {preset_name} ({p.data} {'x'.join(map(str, data.shape))}, batch {B}, "
          f"{sum(q.numel() for q in model.parameters()):,} parameters)")
    print(f"  FLOPs per image (fwd+bwd): {fpi / 1e6:.2f} MFLOP")
    print(f"  trainer: {ms_train:.2f} ms/step, {ips:,.0f} images/s, {gflops:.1f} GFLOP/s "
          f"= {gflops / peak:.1%} of the matmul peak")
    print(f"  bare loop, same fused AdamW: {ms_fused:.2f} ms/step -> trainer overhead {overhead:+.1%}")
    print(f"  bare loop, PyTorch's default AdamW: {ms_bare:.2f} ms/step -> trainer speed-up "
          f"{ms_bare / ms_train:.2f}x")

    variants = {"fp32": {}, "bf16": {"precision": "bf16"}, "channels_last": {"channels_last": True},
                "bf16+channels_last": {"precision": "bf16", "channels_last": True}}
    rows = {}
    for name, over in variants.items():
        m, tr = build(preset_name, data, **over)
        t = Trainer(m, data, dataclasses.replace(tr, steps=10**9))
        t.fit(steps=20, finish=False)
        times = []
        for _ in range(args.repeats):
            s = time.perf_counter()
            t.fit(steps=t.step + args.steps // 2, finish=False)
            times.append(time.perf_counter() - s)
        ms = statistics.median(times) / (args.steps // 2) * 1e3
        m2, tr2 = build(preset_name, data, **over)
        q = Trainer(m2, data, dataclasses.replace(tr2, steps=args.quality_steps))
        q.fit()
        loss = q.test_loss()["test/loss"]
        rows[name] = {"ms_per_step": ms, "images_per_s": B / ms * 1e3, "test_loss": loss}
    base_loss = rows["fp32"]["test_loss"]
    for name, r in rows.items():
        r["loss_vs_fp32"] = r["test_loss"] / base_loss - 1
        r["eligible"] = abs(r["loss_vs_fp32"]) <= 0.01
        print(f"  {name:<20} {r['ms_per_step']:6.2f} ms/step {r['images_per_s']:8,.0f} images/s  "
              f"test loss after {args.quality_steps} steps {r['test_loss']:.5f} ({r['loss_vs_fp32']:+.2%})"
              f"{'' if r['eligible'] else '  (loss moved > 1%: not eligible)'}")
    best = min((n for n, r in rows.items() if r["eligible"]), key=lambda n: rows[n]["ms_per_step"])
    print(f"  fastest within 1% of the fp32 loss: {best}\n")
    results["presets"][preset_name] = {
        "flops_per_image": fpi, "ms_per_step": ms_train, "images_per_s": ips, "gflops": gflops,
        "fraction_of_peak": gflops / peak, "bare_ms_per_step": ms_bare, "bare_fused_ms_per_step": ms_fused,
        "overhead": overhead,
        "variants": rows, "fastest_eligible": best,
    }

if args.json:
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
