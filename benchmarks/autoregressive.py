"""Autoregressive models on real 28x28 digits, measured: exact test likelihood, sampling time, FID, the cost table.

    python benchmarks/autoregressive.py train --presets gated_pixelcnn_mnist_binary --minutes 4
    python benchmarks/autoregressive.py train --presets gated_pixelcnn_mnist --minutes 4 --set model.conditional=true --tag _cond
    python benchmarks/autoregressive.py speed --run runs/benchmarks/autoregressive_gated_pixelcnn_mnist_4min_cond
    python benchmarks/autoregressive.py guidance --run RUN --guidance 1.1 1.2 1.3

``train`` trains each preset with ``generativa.train`` for ``--minutes`` on ``--data`` (default: the
8,000 real digits beside the repository, 20% held out as the test split) and scores its EMA weights:
the exact test NLL (nats per image and bits per dimension, on the convention the model declares:
binarised at 0.5, or the 8-bit levels), for a class-conditional model both log p(x | y) and the
exact log p(x) = log sum_y p(y) p(x | y) (p(y): the training split's class frequencies), log p(x | y')
for shuffled labels y' and the share of test images whose argmax_y p(x | y) is their label; the
protocol's FID of 2,000 samples against the test split next to the real-vs-real floor (the time
includes drawing the 2,000 samples); for a conditional model the share of 1,000 samples (100 per
class) that the protocol's LeNet-5 puts in the class asked for, and, for a model trained with
label_dropout > 0, that share and the FID at each classifier-free guidance scale of ``--guidance``
(``guidance`` scores an existing run at those scales).

``speed`` times the ways of drawing 28x28 images from each run: naive (the whole network for every
step: 784 full passes per image for a pixel model, 49 for the transformer over 7x7 codes) against
cached (one pixel's activations, or one token's keys and values, per step), one image at a time and
2,000 at once. ``speed_pixel_transformer`` times the transformer over the 784 pixels of a 28x28
image the same way (``--samples`` images at once, 200 by default for it: its key-value cache grows
to 784 positions), built at the ``pixel_transformer_digits`` size, untrained: the time does not
depend on the weights. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import torch
from common import machine

import generativa
from generativa.evaluation.features import feature_network
from generativa.evaluation.protocol import evaluate_run
from generativa.training.run import RunDir

HERE = Path(__file__).resolve().parent
parser = argparse.ArgumentParser()
parser.add_argument("what", choices=["train", "guidance", "speed", "speed_pixel_transformer"])
parser.add_argument("--presets", nargs="*", default=["gated_pixelcnn_mnist_binary"])
parser.add_argument("--data", default=f"idx:{HERE.parent.parent / 'shared' / 'data' / 'mnist-8k'}")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--minutes", type=float, default=4.0)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--run", default=None, help="speed: the run folders to time, comma-separated")
parser.add_argument("--runs", default="runs/benchmarks")
parser.add_argument("--guidance", type=float, nargs="*", default=[1.5, 2.0, 3.0],
                    help="train: the guidance scales to score (models trained with label_dropout > 0)")
parser.add_argument("--asked", type=int, default=1000, help="conditional samples (classes in turn) for the asked-class "
                    "share")
parser.add_argument("--tag", default="", help="train: a suffix of the run folders")
parser.add_argument("--set", nargs="*", default=[], help="model / training overrides, e.g. model.conditional=true")
args = parser.parse_args()
torch.set_num_threads(args.threads)


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


@torch.no_grad()
def test_nll(model, data) -> dict:
    """Exact NLL of the test split: nats per image, bits per dimension; log p(x) too for a conditional model."""
    x, labels = data.test.images(), data.test.labels
    dims = math.prod(model.data_shape)
    out = {"convention": model.capabilities.likelihood_convention, "test_images": len(x)}
    if model.capabilities.accepts("labels"):
        k = model.config.num_classes
        prior = torch.bincount(data.train.labels, minlength=k).double() / len(data.train.labels)
        per_class = torch.stack([torch.cat([model.log_prob(x[i:i + 400], labels=torch.full((len(x[i:i + 400]),), y))
                                            for i in range(0, len(x), 400)]).double() for y in range(k)], 1)
        conditional = per_class.gather(1, labels[:, None]).squeeze(1)
        marginal = torch.logsumexp(per_class + prior.log(), 1)
        out["nll_nats_given_label"] = round(float(-conditional.mean()), 2)
        # the same, each image given another image's label (a seeded shuffle): how much the label is used
        shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
        out["nll_nats_given_shuffled_label"] = round(float(-per_class.gather(1, shuffled[:, None]).mean()), 2)
        out["label_by_likelihood"] = round(float((per_class.argmax(1) == labels).double().mean()), 4)
        lp = marginal
    else:
        lp = torch.cat([model.log_prob(x[i:i + 400]) for i in range(0, len(x), 400)]).double()
    out["nll_nats"] = round(float(-lp.mean()), 2)
    out["nll_nats_stderr"] = round(float(lp.std() / math.sqrt(len(lp))), 2)
    out["bits_per_dim"] = round(float(-lp.mean() / (dims * math.log(2))), 4)
    return out


def asked_class(model, data, run, scales) -> dict:
    """The share of ``--asked`` conditional samples (classes in turn) the protocol's LeNet-5 puts in the asked class;
    for each classifier-free guidance scale in ``scales``, that share and the FID of 2,000 guided samples."""
    classifier = feature_network(data, "lenet5")
    asked = torch.arange(args.asked) % data.num_classes

    def share(**options) -> float:
        x = model.sample(len(asked), generator=torch.Generator().manual_seed(0), labels=asked, **options)
        read = torch.cat([classifier.features_and_logits(x[i:i + 1000])[1].argmax(1).cpu()
                          for i in range(0, len(x), 1000)])
        return round(float((read == asked).double().mean()), 4)

    result = {"asked_class": share()}
    for w in scales:
        r = evaluate_run(run, metrics="fid", n_samples=args.samples, seed=0, write=False,
                         sample_options={"guidance": w})
        result[f"guidance_{w:g}"] = {"asked_class": share(guidance=w), "fid": round(r["metrics"]["fid"], 2)}
    return result


print(machine())
print(f"load average before: {load()}", flush=True)
if args.what == "guidance":  # score a trained conditional run at each --guidance scale
    for path in args.run.split(","):
        run = RunDir(path)
        print(json.dumps({"run": path, **asked_class(run.load_model(), run.load_data(), path, args.guidance),
                          "load": load()}), flush=True)
elif args.what == "train":
    from generativa.training.settings import parse_overrides

    overrides = parse_overrides(args.set)
    for name in args.presets:
        out = Path(args.runs) / f"autoregressive_{name}_{args.minutes:g}min{args.tag}"
        generativa.train(name, data=args.data, out=out, overwrite=True, progress=False, num_threads=args.threads,
                         minutes=args.minutes, sample_every=0, **overrides)
        run = RunDir(out)
        log = run.metrics_log()
        steps, seconds = log[-1]["step"], max(r.get("time", 0.0) for r in log)
        model, data = run.load_model(), run.load_data()
        caps = model.capabilities
        result = {"preset": name, "set": args.set, "steps": steps, "batch": run.config["train"]["batch_size"],
                  "train_s": round(seconds, 1), **(test_nll(model, data) if caps.can("log_prob") else {})}
        if caps.reconstruct:  # the VQ-VAE: reconstruction of the test split, and how many codes it uses
            r = evaluate_run(out, metrics="reconstruction", seed=0, write=False)
            result.update({k: round(v, 4) for k, v in r["metrics"].items() if isinstance(v, float)})
            with torch.no_grad():
                codes = torch.cat([model.encode(data.test.images(slice(i, i + 400)))
                                   for i in range(0, len(data.test), 400)])
            result["codes_used_on_test"] = int(codes.unique().numel())
            result["codebook_size"] = model.config.codebook_size
        if caps.sample:
            start = time.perf_counter()
            r = evaluate_run(out, metrics="fid", n_samples=args.samples, seed=0, write=False)
            result.update(fid=round(r["metrics"]["fid"], 2), fid_floor=round(r["floor"]["fid"], 2),
                          fid_samples=args.samples, sample_and_score_s=round(time.perf_counter() - start, 1))
        if model.capabilities.accepts("labels"):
            guidable = getattr(model, "null_label", None) is not None   # trained with a "no class" token
            result.update(asked_class(model, data, out, args.guidance if guidable else []))
        result["load"] = load()
        print(json.dumps(result), flush=True)
elif args.what == "speed":
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    for path in args.run.split(","):
        model = RunDir(path).load_model()
        # sequential steps per image: a pixel model's C H W values, a code transformer's h w codes
        steps = model.L if model.name == "code_transformer" else math.prod(model.data_shape)
        # guidance 1 (one pass per step), then each --guidance scale where the model can be guided (two)
        cases = [("naive", 1, 1.0), ("cached", 1, 1.0), ("cached", args.samples, 1.0)]
        if getattr(model, "null_label", None) is not None:  # a model trained with a "no class" token
            cases += [("cached", args.samples, w) for w in args.guidance]
        for method, n, w in cases:
            start = time.perf_counter()
            model.sample(n, generator=g(), method=method, **({"guidance": w} if w != 1.0 else {}))
            seconds = time.perf_counter() - start
            print(json.dumps({"run": path, "model": model.name, "method": method, "batch": n, "guidance": w,
                              "seconds": round(seconds, 2), "seconds_per_image": round(seconds / n, 4),
                              "steps_per_image": steps,
                              "full_network_passes_per_image": steps if method == "naive" else 0}), flush=True)
elif args.what == "speed_pixel_transformer":
    from generativa.models.autoregressive.pixel_transformer import PixelTransformer
    from generativa.registry import get_preset

    config = dataclasses.replace(get_preset("pixel_transformer_digits").config, data_shape=(1, 28, 28))
    model = PixelTransformer(config).eval()
    n_many = args.samples if args.samples != 2000 else 200
    for method, n in (("naive", 1), ("cached", 1), ("cached", n_many)):
        start = time.perf_counter()
        model.sample(n, generator=torch.Generator().manual_seed(0), method=method)
        seconds = time.perf_counter() - start
        print(json.dumps({"model": "pixel_transformer (width 64, 2 layers), 28x28", "method": method, "batch": n,
                          "seconds": round(seconds, 2), "seconds_per_image": round(seconds / n, 4),
                          "steps_per_image": 784, "full_network_passes_per_image": 784 if method == "naive" else 0}),
              flush=True)
print(f"load average after: {load()}")
