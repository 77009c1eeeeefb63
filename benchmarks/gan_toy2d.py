"""Mode coverage on the ring of 8 Gaussians (or the grid of 25): minimax, non-saturating, WGAN and WGAN-GP
over 5 seeds.

Each run trains a registered preset (``gan_minimax_toy2d``, ``gan_toy2d``, ``wgan_toy2d``,
``wgan_gp_toy2d``: the same MLP networks, 3 hidden layers of 128) with ``generativa.train``, then
draws 2,500 samples (EMA weights where the preset keeps them) and measures, with
``evaluation.toy_modes`` on the data's own centres and std (0.02):

* modes covered: modes holding at least 1/(4K) of the samples within 3 std of their centre (K = 8);
* high quality: share of samples within 3 std of some mode.

A run *collapses* when it covers fewer than 7 of the 8 modes although at least 20% of its samples
are high quality (what it draws sits on modes, but some modes are dropped); it is *diffuse* when
fewer than 20% of its samples are high quality (it has not converged onto the modes at all).

    python benchmarks/gan_toy2d.py                      # 4 losses x 5 seeds, 2 workers
    python benchmarks/gan_toy2d.py --seeds 2 --steps 500 --losses wgan_gp
    python benchmarks/gan_toy2d.py --losses minimax non_saturating --steps 3000 --set schedule=cosine
    python benchmarks/gan_toy2d.py --summarise a.json b.json --figure ring.png
    python benchmarks/gan_toy2d.py --data toy2d:grid25 --losses wgan_gp --figure grid.png
    python benchmarks/gan_toy2d.py --losses wgan_gp --seeds 2 --trace 6 --steps 6000 --set model.gp_weight=10

``--trace K`` measures the live and the EMA generator K times during training (same run, same
schedule: the trainer is stepped to each point, nothing is restarted) and prints the course of
"modes/high-quality %" per seed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from multiprocessing import get_context

PRESETS = {"minimax": "gan_minimax_toy2d", "non_saturating": "gan_toy2d", "wgan": "wgan_toy2d",
           "wgan_gp": "wgan_gp_toy2d"}


def one_run(job: tuple) -> dict:
    import torch

    import generativa
    from generativa.evaluation.toy_modes import toy_mode_coverage_for
    from generativa.training.run import RunDir

    loss, seed, steps, overrides, trace, data = job
    torch.set_num_threads(1)
    start = time.perf_counter()
    if trace:
        return traced_run(loss, seed, steps, overrides, trace, start, data)
    with tempfile.TemporaryDirectory() as tmp:
        run = generativa.train(PRESETS[loss], data=data, steps=steps, seed=seed, out=f"{tmp}/run", progress=False,
                               sample_every=0, checkpoint_every=0, num_threads=1, **overrides)
        run_dir = RunDir(run)
        model = run_dir.load_model(ema=True)
        rounds = run_dir.metrics_log()[-1]["step"]
    x = model.sample(2500, generator=torch.Generator().manual_seed(1000 + seed))
    r = toy_mode_coverage_for(data, x)
    return {"loss": loss, "data": data, "seed": seed, "steps": rounds, "modes_covered": r["modes_covered"],
            "high_quality": round(r["high_quality"], 4), "counts": r["counts"],
            "seconds": round(time.perf_counter() - start, 1), "samples": x[:500].tolist()}


def traced_run(loss: str, seed: int, steps: int | None, overrides: dict, trace: int, start: float,
               data: str) -> dict:
    import copy

    import torch

    from generativa.data import load_data
    from generativa.evaluation.toy_modes import toy_mode_coverage_for
    from generativa.training.settings import resolve
    from generativa.training.trainer import Trainer
    from generativa.workflows.train import build_for_data

    extra = {**overrides, "train.seed": seed, "train.progress": False, "train.sample_every": 0,
             "train.checkpoint_every": 0, **({"train.steps": steps} if steps else {})}
    settings = resolve(PRESETS[loss], data=data, overrides=extra)
    splits = load_data(settings.data, **settings.data_options)
    model = build_for_data(settings, splits)
    trainer = Trainer(model, splits, settings.train)
    total = settings.train.steps
    course = []

    def measure(net) -> str:
        x = net.sample(2500, generator=torch.Generator().manual_seed(1000 + seed))
        r = toy_mode_coverage_for(data, x)
        return f"{r['modes_covered']}/{100 * r['high_quality']:.0f}%"

    for k in range(1, trace + 1):
        trainer.fit(steps=total * k // trace, finish=False)
        point = f"{trainer.step}: {measure(model)}"
        if trainer.ema is not None:
            averaged = copy.deepcopy(model)
            trainer.ema.copy_to(averaged)
            point += f" (EMA {measure(averaged)})"
        course.append(point)
    if trainer.ema is not None:
        trainer.ema.copy_to(model)  # the final row is the EMA generator's, as without --trace
    x = model.sample(2500, generator=torch.Generator().manual_seed(1000 + seed))
    r = toy_mode_coverage_for(data, x)
    print(f"  {loss} seed {seed}: " + ", ".join(course), flush=True)
    return {"loss": loss, "data": data, "seed": seed, "steps": trainer.step, "modes_covered": r["modes_covered"],
            "high_quality": round(r["high_quality"], 4), "counts": r["counts"],
            "seconds": round(time.perf_counter() - start, 1), "course": course, "samples": x[:500].tolist()}


def figure(rows: list[dict], path: str) -> None:
    """One row of panels per loss, one panel per seed: 500 samples over the 8 modes' 3-std circles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from generativa.data.toy import toy_modes

    data = rows[0].get("data", "toy2d:ring8")
    centres, std = toy_modes(data)
    lim = float(centres.abs().max()) + 0.6
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    fig, axes = plt.subplots(len(losses), len(seeds), figsize=(1.8 * len(seeds), 1.9 * len(losses)),
                             squeeze=False)
    for i, loss in enumerate(losses):
        for j, seed in enumerate(seeds):
            ax = axes[i][j]
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[], aspect="equal")
            for c in centres.tolist():
                ax.add_patch(plt.Circle(c, 3 * std, fill=False, color="tab:green", lw=0.8))
            row = next((r for r in rows if r["loss"] == loss and r["seed"] == seed), None)
            if row is None:
                continue
            x = np.asarray(row["samples"])
            ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.5, color="tab:blue", linewidths=0)
            ax.set_title(f"{row['modes_covered']}/{len(centres)}, {100 * row['high_quality']:.0f}% HQ", fontsize=8)
            if j == 0:
                ax.set_ylabel(loss, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


def summarise(rows: list[dict]) -> None:
    """Good: all modes but at most one covered and >= 80% high quality (7 of 8 on the ring, 24 of 25
    on the grid); collapsed: fewer modes although >= 20% high quality; diffuse: < 20% high quality."""
    k = len(rows[0]["counts"])
    print(f"{'loss':15s} {'rounds':>6s} {'modes covered (mean, min)':>26s} {'high quality (mean)':>20s} "
          f"{f'>= {k - 1} modes & >= 80% HQ':>23s} {'collapsed':>10s} {'diffuse':>8s}")
    for loss in dict.fromkeys(r["loss"] for r in rows):
        rs = [r for r in rows if r["loss"] == loss]
        modes = [r["modes_covered"] for r in rs]
        hq = [r["high_quality"] for r in rs]
        good = sum(m >= k - 1 and h >= 0.8 for m, h in zip(modes, hq))
        collapsed = sum(m < k - 1 and h >= 0.2 for m, h in zip(modes, hq))
        diffuse = sum(h < 0.2 for h in hq)
        n = len(rs)
        print(f"{loss:15s} {rs[0]['steps']:6d} {sum(modes) / n:20.1f}, {min(modes):3d} {100 * sum(hq) / n:19.1f}% "
              f"{good:>17d} / {n} {collapsed:>6d} / {n} {diffuse:>5d} / {n}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="rounds per run (default: the preset's)")
    parser.add_argument("--losses", nargs="*", default=list(PRESETS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=None, help="write every run's numbers here")
    parser.add_argument("--set", nargs="*", default=[], help="training overrides, e.g. schedule=cosine")
    parser.add_argument("--figure", default=None, help="write a scatter of every run's samples here (.png)")
    parser.add_argument("--data", default="toy2d:ring8", help="a Gaussian-mixture toy: toy2d:ring8 or toy2d:grid25")
    parser.add_argument("--trace", type=int, default=0, help="measure K times during training")
    parser.add_argument("--summarise", nargs="*", default=None, help="print the table of saved --json files")
    args = parser.parse_args()
    if args.summarise:
        rows = [r for path in args.summarise for r in json.load(open(path))]
        summarise(rows)
        if args.figure:
            figure(rows, args.figure)
        return

    from generativa.training.settings import parse_overrides

    overrides = parse_overrides(args.set)
    jobs = [(loss, seed, args.steps, overrides, args.trace, args.data) for loss in args.losses for seed in range(args.seeds)]
    start = time.perf_counter()
    with get_context("spawn").Pool(args.workers) as pool:
        rows = []
        for row in pool.imap_unordered(one_run, jobs):
            rows.append(row)
            print(f"  {row['loss']:15s} seed {row['seed']}: {row['modes_covered']}/{len(row['counts'])} modes, "
                  f"{100 * row['high_quality']:5.1f}% high quality, counts {row['counts']} "
                  f"({row['steps']} rounds, {row['seconds']:.0f} s)", flush=True)

    print(f"\n{args.data}, 2500 samples per run, {args.seeds} seeds "
          f"({time.perf_counter() - start:.0f} s)")
    summarise(rows)
    if args.figure:
        figure(rows, args.figure)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(sorted(rows, key=lambda r: (r["loss"], r["seed"])), f, indent=1)


if __name__ == "__main__":
    main()
