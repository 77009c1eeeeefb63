"""Feature networks of the evaluation protocol: where FID, KID, precision/recall and the Inception
Score look at images.

Three kinds, and every metric records which one it used (``FeatureNetwork.describe()``):

* ``classifier`` (default, labelled image data): a classifier of the zoo (LeNet-5 or ResNet) is
  trained once on the dataset's train split and cached under ``GENERATIVA_CACHE`` (default
  ``~/.cache/generativa``) in ``feature_nets/``, keyed by the dataset's content hash, the image
  shape and the architecture; its test accuracy is in the cache metadata. Features are its
  penultimate layer; its softmax gives the Inception Score and the mode-coverage histogram.
* ``torchscript:PATH``: a TorchScript network the user points to (an Inception-v3 exported with
  ``torch.jit.script``/``torch.jit.trace``). Loading a TorchScript file runs the code in it: only the
  user's own file, and only when passed explicitly. Input convention (``TorchScriptFeatures``):
  float32 (B, 3, 299, 299), RGB, values in [-1, 1] (grey images repeated to 3 channels, bilinear
  resize); the network returns (B, F) features, or a tuple whose first item is them.
* ``pixels`` (unlabelled images, vector data): the data itself, flattened; images larger than
  1024 values are average-pooled to at most 1024 first. Said in the protocol as
  ``feature_net: pixels``; no classifier, no Inception Score.

The cache is two files per network: ``<key>.safetensors`` (weights) and ``<key>.json`` (registry
name, config, dataset hash, test accuracy, training settings, library version). Nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits

FEATURE_ARCHITECTURES = ("lenet5", "resnet")
PIXEL_FEATURE_LIMIT = 1024
TORCHSCRIPT_SIZE = 299  # Inception-v3's input size [Szegedy et al. 2016, arXiv:1512.00567]


def cache_dir() -> Path:
    """GENERATIVA_CACHE, or ~/.cache/generativa."""
    root = os.environ.get("GENERATIVA_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "generativa"


def _batch(x: Tensor | ArrayData, start: int, stop: int) -> Tensor:
    return x.images(slice(start, stop)) if isinstance(x, ArrayData) else x[start:stop]


# ---------------------------------------------------------------------------------------------
class FeatureNetwork:
    """Maps images (B, C, H, W) in [0, 1] (or vectors (B, D)) to features (B, F)."""

    kind: str = ""
    num_classes: int = 0
    max_batch: int = 100_000  # images per forward pass at most (memory)

    def features(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits(self, x: Tensor) -> Tensor | None:
        """Class logits (B, K) where the network is a classifier of this dataset, else None."""
        return None

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @torch.no_grad()
    def features_and_logits(self, x: Tensor | ArrayData, batch_size: int = 500) -> tuple[Tensor, Tensor | None]:
        """Features (N, F) float64 and logits (N, K) or None, computed in batches (an ArrayData is
        converted to float one batch at a time)."""
        batch_size = min(batch_size, self.max_batch)
        feats, logits = [], []
        for i in range(0, len(x), batch_size):
            xb = _batch(x, i, i + batch_size)
            feats.append(self.features(xb).double().cpu())
            lg = self.logits(xb)
            if lg is not None:
                logits.append(lg.double().cpu())
        return torch.cat(feats), (torch.cat(logits) if logits else None)


class ClassifierFeatures(FeatureNetwork):
    """The penultimate layer of a trained classifier of the zoo."""

    kind = "classifier"

    def __init__(self, model, info: dict[str, Any]):
        self.model = model.eval()
        self.info = info
        self.num_classes = model.config.num_classes

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        return self.model.features(x.to(self.model.device, torch.float32))

    @torch.no_grad()
    def logits(self, x: Tensor) -> Tensor:
        return self.model.logits(x.to(self.model.device, torch.float32))

    @torch.no_grad()
    def features_and_logits(self, x: Tensor | ArrayData, batch_size: int = 500) -> tuple[Tensor, Tensor]:
        # one pass through the body for both
        feats, logits = [], []
        for i in range(0, len(x), batch_size):
            xb = _batch(x, i, i + batch_size).to(self.model.device, torch.float32)
            self.model.check_input(xb)
            f = self.model.body(xb)
            feats.append(f.double().cpu())
            logits.append(self.model.head(f).double().cpu())
        return torch.cat(feats), torch.cat(logits)

    def describe(self) -> dict[str, Any]:
        keys = ("architecture", "dataset", "dataset_hash", "test_accuracy", "feature_dim", "key")
        return {"kind": self.kind, **{k: self.info[k] for k in keys if k in self.info}}


class PixelFeatures(FeatureNetwork):
    """The data itself, flattened (average-pooled to at most PIXEL_FEATURE_LIMIT values)."""

    kind = "pixels"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self.pool = 1
        if len(self.shape) == 3:
            C, H, W = self.shape
            while C * (H // self.pool) * (W // self.pool) > PIXEL_FEATURE_LIMIT and min(H, W) // self.pool > 1:
                self.pool *= 2

    def features(self, x: Tensor) -> Tensor:
        if x.dim() == 4 and self.pool > 1:
            x = F.avg_pool2d(x.float(), self.pool)
        return x.flatten(1)

    def describe(self) -> dict[str, Any]:
        note = "raw values, flattened"
        if self.pool > 1:
            note = f"pixels average-pooled {self.pool}x{self.pool}, flattened"
        dim = math.prod(self.shape) if self.pool == 1 else self.shape[0] * (self.shape[1] // self.pool) * (self.shape[2] // self.pool)
        return {"kind": self.kind, "note": note, "feature_dim": dim}


class TorchScriptFeatures(FeatureNetwork):
    """A user's TorchScript feature network (an Inception-v3 for the usual FID).

    Input convention: float32 (B, 3, size, size) (size 299 by default), RGB, values mapped from
    [0, 1] to ``input_range`` ([-1, 1] by default, the convention of Inception-v3 ports); grey images
    are repeated to three channels and every image is resized bilinearly (align_corners=False).
    Output: (B, F) features, or a tuple/list whose first item is them (extra dimensions are flattened).

    ``torch.jit.load`` runs the code stored in the file: pass only files you trust.
    """

    kind = "torchscript"
    max_batch = 50  # a (50, 3, 299, 299) float32 batch is 54 MB

    def __init__(self, path: str | Path, *, size: int = TORCHSCRIPT_SIZE,
                 input_range: tuple[float, float] = (-1.0, 1.0), device: str | torch.device = "cpu"):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no TorchScript file at {self.path}; pass --feature-net torchscript:PATH with the path "
                "to a network saved with torch.jit.save"
            )
        self.size = size
        self.input_range = input_range
        import warnings

        with warnings.catch_warnings():  # TorchScript is deprecated in torch >= 2.9 but still loads
            warnings.simplefilter("ignore", DeprecationWarning)
            self.module = torch.jit.load(str(self.path), map_location=device).eval()
        self.device = torch.device(device)

    def prepare(self, x: Tensor) -> Tensor:
        """(B, C, H, W) in [0, 1] -> (B, 3, size, size) in input_range, float32."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"TorchScript features need images (B, 1 or 3, H, W), got {tuple(x.shape)}")
        x = x.to(self.device, torch.float32)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        lo, hi = self.input_range
        return x * (hi - lo) + lo

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        out = self.module(self.prepare(x))
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.flatten(1)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "input": f"(B, 3, {self.size}, {self.size}) float32 "
                f"in [{self.input_range[0]:g}, {self.input_range[1]:g}]"}


# ---------------------------------------------------------------------------------------------
# training and caching the classifiers
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureTraining:
    """How a feature classifier is trained (recorded in the cache metadata).

    Augmentation: elastic deformation of RMS displacement ``elastic_fraction * H`` pixels, smoothed
    over ``sigma_fraction * H`` (0.3 px and 1.5 px on 8x8 digits; measured to lift LeNet-5 from
    96-97% to 99% there). It is a prior for handwriting [Simard et al. 2003]: ``elastic=None`` applies
    it to the handwriting sources (``digits``, ``idx:`` files such as MNIST) only, not to ``shapes``,
    whose class is exact geometry that a deformation changes.
    """

    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    elastic_fraction: float = 0.0375
    sigma_fraction: float = 0.1875
    elastic: bool | None = None


HANDWRITING_SOURCES = ("digits", "idx", "mnist")


def uses_elastic(training: FeatureTraining, data: DataSplits) -> bool:
    if training.elastic is not None:
        return training.elastic
    return data.spec.split(":")[0] in HANDWRITING_SOURCES


def feature_key(architecture: str, data: DataSplits) -> str:
    shape = "x".join(str(s) for s in data.shape)
    return f"{architecture}_{data.name}_{shape}_{data.content_hash()}"


def build_feature_classifier(architecture: str, data: DataSplits, training: FeatureTraining):
    from generativa.registry import build_model

    if architecture not in FEATURE_ARCHITECTURES:
        raise ValueError(
            f"feature network {architecture!r} is not one of {', '.join(FEATURE_ARCHITECTURES)}; "
            "or pass torchscript:PATH"
        )
    H = data.shape[1]
    torch.manual_seed(training.seed)  # the initial weights depend on the seed only
    return build_model(
        architecture,
        data_shape=tuple(data.shape),
        num_classes=data.num_classes,
        elastic_alpha=training.elastic_fraction * H if uses_elastic(training, data) else 0.0,
        elastic_sigma=training.sigma_fraction * H,
        augment_seed=training.seed,
    )


@torch.no_grad()
def classifier_accuracy(model, split: ArrayData, batch_size: int = 500) -> tuple[float, Tensor]:
    """Accuracy and confusion matrix (K, K), rows = true class, columns = predicted."""
    model.eval()
    k = model.config.num_classes
    confusion = torch.zeros(k, k, dtype=torch.long)
    for i in range(0, len(split), batch_size):
        x = split.images(slice(i, i + batch_size)).to(model.device)
        pred = model.predict(x).cpu()
        true = split.labels[i : i + batch_size]
        confusion += torch.bincount(true * k + pred, minlength=k * k).view(k, k)
    return float(confusion.diagonal().sum() / confusion.sum().clamp_min(1)), confusion


def train_classifier(model, data: DataSplits, training: FeatureTraining, *, progress: bool = False):
    """Train a classifier with the library's trainer (no run folder) and return it in eval mode."""
    from generativa.training.config import TrainConfig
    from generativa.training.trainer import Trainer

    config = TrainConfig(
        steps=training.steps, batch_size=min(training.batch_size, len(data.train)), lr=training.lr,
        weight_decay=training.weight_decay, schedule="cosine", seed=training.seed, progress=progress,
        log_every=0, sample_every=0, checkpoint_every=0, device="cpu",
    )
    torch.manual_seed(training.seed)
    Trainer(model, data, config, run_dir=None).fit()
    return model.eval()


def _cached(data: DataSplits, architecture: str, training: FeatureTraining, folder: Path) -> ClassifierFeatures | None:
    """The cached classifier, or None when the cache has no entry for these data and settings."""
    from safetensors.torch import load_file

    key = feature_key(architecture, data)
    weights, meta_path = folder / f"{key}.safetensors", folder / f"{key}.json"
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        info = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a damaged entry is trained again
    if not isinstance(info, dict) or info.get("training") != dataclasses.asdict(training):
        return None
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream as it was
        model = build_feature_classifier(architecture, data, training)
    try:
        model.load_state_dict(load_file(str(weights)))
    except (RuntimeError, OSError, ValueError):
        return None
    return ClassifierFeatures(model.eval(), info)


def cached_feature_network(data: DataSplits, architecture: str = "lenet5", *, cache: str | Path | None = None,
                           training: FeatureTraining | None = None) -> ClassifierFeatures | None:
    """The dataset's evaluation classifier if it is cached already (never trains); None otherwise or
    when the data has no labels."""
    if data.num_classes < 2 or data.train.labels is None or len(data.shape) != 3:
        return None
    folder = Path(cache) if cache is not None else cache_dir() / "feature_nets"
    return _cached(data, architecture, training or FeatureTraining(), folder)


def feature_network(
    data: DataSplits,
    architecture: str = "lenet5",
    *,
    training: FeatureTraining | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
) -> ClassifierFeatures:
    """The cached classifier of ``architecture`` for this dataset, trained on its train split first
    if the cache has none."""
    import generativa
    from generativa.io.atomic import save_tensors_atomic, write_json_atomic

    if data.num_classes < 2 or data.train.labels is None:
        raise ValueError(
            f"dataset {data.name!r} has no labels, so no classifier can be trained on it; "
            "use feature_net='pixels' or a TorchScript network (torchscript:PATH)"
        )
    if len(data.shape) != 3:
        raise ValueError(f"a feature classifier needs images, dataset {data.name!r} has shape {data.shape}")
    training = training or FeatureTraining()
    folder = Path(cache) if cache is not None else cache_dir() / "feature_nets"
    found = _cached(data, architecture, training, folder)
    if found is not None:
        return found
    key = feature_key(architecture, data)
    weights, meta_path = folder / f"{key}.safetensors", folder / f"{key}.json"
    with torch.random.fork_rng(devices=[]):
        model = build_feature_classifier(architecture, data, training)
    if progress:
        print(f"training the {architecture} feature network of {data.spec} once ({training.steps} steps); "
              f"cached in {folder}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        train_classifier(model, data, training, progress=progress)
    seconds = time.perf_counter() - start
    accuracy, _ = classifier_accuracy(model, data.test)
    info = {
        "key": key,
        "architecture": architecture,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(model.config).items()},
        "dataset": data.spec,
        "dataset_options": data.options,
        "dataset_hash": data.content_hash(),
        "test_accuracy": round(accuracy, 6),
        "feature_dim": model.feature_dim,
        "training": dataclasses.asdict(training),
        "train_seconds": round(seconds, 2),
        "library_version": generativa.__version__,
    }
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_tensors_atomic(weights, state)  # weights first: the metadata marks a complete entry
    write_json_atomic(meta_path, info)
    return ClassifierFeatures(model.eval(), info)


def resolve_feature_net(spec: str | None, data: DataSplits, **kwargs: Any) -> FeatureNetwork:
    """``lenet5`` | ``resnet`` | ``pixels`` | ``torchscript:PATH`` | None (the default for the data:
    LeNet-5 for labelled images, pixels otherwise)."""
    if spec is None:
        labelled = data.num_classes >= 2 and data.train.labels is not None and len(data.shape) == 3
        spec = "lenet5" if labelled else "pixels"
    if spec.startswith("torchscript:"):
        return TorchScriptFeatures(spec.partition(":")[2])
    if spec == "pixels":
        return PixelFeatures(data.shape)
    return feature_network(data, spec, **kwargs)
