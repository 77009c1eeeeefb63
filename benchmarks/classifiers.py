"""Classifier zoo: test accuracy of each preset, trained with `generativa.train` on the CPU.

Bars (BENCHMARKS.md, ## Evaluation): LeNet-5 >= 97% and ResNet >= 98% on digits;
both >= 99% on the shape label of shapes.

    .venv/bin/python benchmarks/classifiers.py                       # the four presets of the bars
    .venv/bin/python benchmarks/classifiers.py lenet5_classic_digits vgg_digits
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

import generativa
from generativa.evaluation.features import classifier_accuracy
from generativa.training.run import RunDir

torch.set_num_threads(1)
presets = sys.argv[1:] or ["lenet5_digits", "resnet_digits", "lenet5_shapes", "resnet_shapes"]
bars = {"lenet5_digits": 0.97, "resnet_digits": 0.98, "lenet5_shapes": 0.99, "resnet_shapes": 0.99}

with tempfile.TemporaryDirectory() as root:
    for name in presets:
        start = time.perf_counter()
        run = generativa.train(name, out=Path(root) / name, progress=False, sample_every=0)
        seconds = time.perf_counter() - start
        model = RunDir(run).load_model()
        data = RunDir(run).load_data()
        accuracy, _ = classifier_accuracy(model, data.test)
        bar = bars.get(name)
        verdict = "" if bar is None else ("  meets the bar" if accuracy >= bar else f"  BELOW the bar {bar:.0%}")
        print(f"{name:<24} test accuracy {accuracy:.4f} on {len(data.test)} test images, "
              f"trained in {seconds:5.1f} s{verdict}", flush=True)
