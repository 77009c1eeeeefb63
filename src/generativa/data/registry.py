"""Data specs -> datasets: ``load_data(spec, **options)`` and the table behind ``generativa list datasets``.

A spec is ``NAME`` or ``NAME:ARG``: ``digits``, ``shapes``, ``faces``, ``cells``, ``mnist``, ``fashion_mnist``,
``toy1d:mixture``, ``toy2d:ring8``, ``idx:PATH``, ``npz:PATH``, ``folder:PATH``, ``cifar10:PATH``.
Each source declares its options (name, default, type, help); ``load_data`` rejects an unknown one
with the list of valid ones and converts strings from the command line (``data.size=64`` arrives
as ``"64"``). The returned ``DataSplits.options`` holds every option with its resolved value, so
``load_data(splits.spec, **splits.options)`` rebuilds the same data.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError
from generativa.data.limits import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Option:
    """One option of a data source: its default, its type and what it does."""

    default: Any
    kind: str  # "int", "float", "str", "mapping"
    help: str
    choices: tuple = ()
    optional: bool = False  # None allowed
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Source:
    name: str
    arg: str  # "" (no argument), "name" or "path"
    description: str
    load: Callable[..., DataSplits]
    options: dict[str, Option] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # valid arguments when arg == "name"


# --- option coercion ----------------------------------------------------------------------------


def _coerce(spec: str, key: str, value: Any, opt: Option) -> Any:
    where = f"data spec {spec!r}: option {key}"
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
        if opt.optional:
            return None
        raise DataError(f"{where} needs a value ({opt.help})")
    try:
        if opt.kind == "int":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, numbers.Integral):
                value = int(value)
            else:
                number = float(value)  # "64", "64.0", 64.0
                if not number.is_integer():
                    raise TypeError
                value = int(number)
        elif opt.kind == "float":
            if isinstance(value, bool):
                raise TypeError
            value = float(value)
            if not math.isfinite(value):
                raise TypeError
        elif opt.kind == "str":
            value = str(value).strip().lower()
        elif opt.kind == "mapping":
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, Mapping):
                raise TypeError
            value = {str(k): _float_list(w) for k, w in value.items()}
    except (TypeError, ValueError):
        raise DataError(f"{where}={value!r} is not a valid {opt.kind} ({opt.help})") from None
    if opt.choices and value not in opt.choices:
        raise DataError(f"{where}={value!r}; choose one of {', '.join(map(str, opt.choices))}")
    if opt.minimum is not None and value < opt.minimum or opt.maximum is not None and value > opt.maximum:
        raise DataError(f"{where}={value!r} is outside [{opt.minimum}, {opt.maximum}] ({opt.help})")
    return value


def _float_list(w: Any) -> list[float]:
    """Numbers from a list, a tuple, an array, a tensor or a config list, flattened."""
    if isinstance(w, torch.Tensor):
        return [float(v) for v in w.flatten().tolist()]
    return [float(v) for v in np.asarray(w if isinstance(w, np.ndarray) else list(w), dtype=np.float64).ravel()]


def _resolve(spec: str, source: Source, given: dict) -> dict:
    unknown = sorted(set(given) - set(source.options))
    if unknown:
        valid = ", ".join(f"{k} (default {o.default!r})" for k, o in source.options.items()) or "none"
        raise DataError(f"data spec {spec!r} has no option {', '.join(unknown)}; valid options: {valid}")
    return {k: _coerce(spec, k, given[k], o) if k in given else o.default for k, o in source.options.items()}


# --- options shared by the sources --------------------------------------------------------------

TEST_FRACTION = Option(0.2, "float", "fraction held out as the test split", minimum=0.0, maximum=0.9)
SEED = Option(0, "int", "seed of the train/test split and of any subset")
SIZE = Option(None, "int", "resize images to size x size (Lanczos; centre crop first unless resize=stretch)",
              optional=True, minimum=4, maximum=4096)
CHANNELS = Option(None, "int", "1 (grey) or 3 (RGB); default: as stored", choices=(1, 3), optional=True)
RESIZE = Option("crop", "str", "how a non-square image becomes square", choices=("crop", "stretch"))
BACKGROUND = Option("white", "str", "background alpha is composited on", choices=("white", "black"))
N_SUBSET = Option(None, "int", "keep a seeded random subset of n training examples", optional=True, minimum=1)
MAX_BYTES = Option(DEFAULT_MAX_BYTES, "int", "largest decompressed size of one file's data, in bytes: a larger "
                   "declaration is refused before decompressing (default 2 GiB)", minimum=1)
CLASSES = Option(None, "str", "keep only these labels in the training split, e.g. 0,1 (the test split keeps "
                 "every class, so anomaly detection can be measured on it)", optional=True)
DOMAINS = Option(None, "str", "split the images into two unpaired domains for translation models: thickness "
                 "(thin vs thick strokes), slant (upright vs slanted) or factor:NAME=V[,W] (docs/data.md)", optional=True)


def _finish(spec: str, train: ArrayData, test: ArrayData, options: dict, description: str) -> DataSplits:
    """Apply channels, size and n to file-backed images and wrap the splits."""
    from generativa.data.images import resize_batch, resize_masks, to_channels

    if not train.is_image and (options.get("size") is not None or options.get("channels") is not None):
        raise DataError(f"data spec {spec!r} holds vectors of shape {train.shape}; size and channels "
                        "apply to images only: drop them")

    def fix(d: ArrayData) -> ArrayData:
        x, masks = d.x, d.masks
        if d.is_image:
            if options.get("channels") is not None:
                x = to_channels(x, options["channels"])
            if options.get("size") is not None:
                x = resize_batch(x, options["size"], options.get("resize", "crop"))
                if masks is not None:  # class indices: nearest neighbour, never blended
                    masks = resize_masks(masks, options["size"], options.get("resize", "crop"))
        return d.replace_x(x, description, masks=masks)

    train, test = fix(train), fix(test)
    n = options.get("n")
    if n is not None and n < len(train):
        g = torch.Generator().manual_seed(options.get("seed", 0))
        train = train.subset(torch.randperm(len(train), generator=g)[:n].sort().values)
    if len(train) == 0:
        raise DataError(f"data spec {spec!r}: the training split is empty; lower test_fraction or add data")
    return DataSplits(train, test, spec, options)


def _shape_text(d: ArrayData) -> str:
    return "x".join(str(s) for s in d.shape)


# --- loaders -----------------------------------------------------------------------------------


def _load_digits(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.digits import load_digits

    s = load_digits(test_fraction=o["test_fraction"], seed=o["seed"])
    if o["size"] is None and o["channels"] is None:
        s.options = o
        return s
    return _finish(spec, s.train, s.test, o, s.train.description)


def _load_shapes(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.shapes import load_shapes

    s = load_shapes(n=o["n"], n_test=o["n_test"], size=o["size"], seed=o["seed"], factor_weights=o["factor_weights"])
    s.options = o
    return s


def _load_faces(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.faces import load_faces

    s = load_faces(n=o["n"], n_test=o["n_test"], size=o["size"], seed=o["seed"], label=o["label"],
                   factor_weights=o["factor_weights"])
    s.options = o
    return s


def _load_cells(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.cells import load_cells

    s = load_cells(n=o["n"], n_test=o["n_test"], size=o["size"], seed=o["seed"], density=o["density"],
                   touching=o["touching"])
    s.options = o
    return s


def _load_toy(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.toy import load_toy

    s = load_toy(spec, n=o["n"], n_test=o["n_test"], seed=o["seed"])
    s.options = o
    return s


def _load_idx(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.idx import load_idx

    train, test, notes = load_idx(arg, test_fraction=o["test_fraction"], seed=o["seed"], max_bytes=o["max_bytes"])
    split = "t10k files" if notes["split"] == "files" else f"seeded {o['test_fraction']:.0%} test"
    desc = f"IDX images {arg} ({len(train)} train, {len(test)} test, {split})"
    return _finish(spec, train, test, o, desc)


def _load_npz(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.npz import load_npz

    train, test, notes = load_npz(arg, test_fraction=o["test_fraction"], seed=o["seed"], layout=o["layout"],
                                  background=o["background"], max_bytes=o["max_bytes"])
    desc = f"arrays from {arg} ({len(train)} train, {len(test)} test, {notes['split']} split)"
    return _finish(spec, train, test, o, desc)


def _load_folder(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.folder import load_folder

    train, test, notes = load_folder(arg, size=o["size"], channels=o["channels"], resize=o["resize"],
                                     background=o["background"], max_bad_fraction=o["max_bad_fraction"],
                                     max_pixels=o["max_pixels"], test_fraction=o["test_fraction"], seed=o["seed"])
    skipped = f", {notes['skipped']} unreadable skipped" if notes["skipped"] else ""
    desc = f"images from {arg} ({notes['files']} files{skipped})"
    # size and channels were applied while decoding; only n is left for _finish.
    s = _finish(spec, train, test, dict(o, size=None, channels=None), desc)
    s.options = o
    return s


def _load_downloaded(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.download import CLASS_NAMES, fetch
    from generativa.data.idx import load_idx

    folder = fetch(spec)
    train, test, _ = load_idx(str(folder), max_bytes=o["max_bytes"])
    names = CLASS_NAMES[spec]
    train, test = (ArrayData(spec, d.x, d.labels, class_names=names) for d in (train, test))
    title = "Fashion-MNIST" if spec == "fashion_mnist" else "MNIST"
    desc = f"{title} from {folder} ({len(train)} train, {len(test)} test)"
    return _finish(spec, train, test, o, desc)


def _load_cifar10(spec: str, arg: str, o: dict) -> DataSplits:
    from generativa.data.cifar10 import load_cifar10

    train, test, notes = load_cifar10(arg)
    desc = f"CIFAR-10 from {arg} ({len(train)} train in {notes['train_batches']} batches, {len(test)} test)"
    return _finish(spec, train, test, o, desc)


def _sources() -> dict[str, Source]:
    from generativa.data import cells, faces
    from generativa.data.images import DEFAULT_MAX_PIXELS
    from generativa.data.shapes import MAX_SIZE, MIN_SIZE
    from generativa.data.toy import TOY_NAMES

    toy_opts = {"n": Option(10000, "int", "training points", minimum=1),
                "n_test": Option(2000, "int", "test points", minimum=0), "seed": SEED}
    image_opts = {"size": SIZE, "channels": CHANNELS, "resize": RESIZE, "n": N_SUBSET, "classes": CLASSES,
                  "domains": DOMAINS}
    return {
        "digits": Source("digits", "", "scikit-learn 8x8 handwritten digits (1797, 1x8x8, labels 0-9)",
                         _load_digits, {"test_fraction": TEST_FRACTION, "seed": SEED, "size": SIZE,
                                        "channels": CHANNELS, "resize": RESIZE, "classes": CLASSES,
                                        "domains": DOMAINS}),
        "shapes": Source("shapes", "", "dSprites-like sprites: square/ellipse/heart x scale x orientation x "
                         "position (1xSxS, factors, label = shape)", _load_shapes,
                         {"n": Option(20000, "int", "training images", minimum=1, maximum=737280),
                          "n_test": Option(2000, "int", "test images", minimum=0, maximum=737280),
                          "size": Option(32, "int", f"image side, {MIN_SIZE} to {MAX_SIZE}",
                                         minimum=MIN_SIZE, maximum=MAX_SIZE),
                          "seed": SEED, "classes": CLASSES, "domains": DOMAINS,
                          "factor_weights": Option(None, "mapping", "per-factor sampling weights of the "
                                                   "training split, e.g. {\"pos_x\": [32 numbers]}", optional=True)}),
        "faces": Source("faces", "", "procedural RGB faces: face shape, skin tone, hair, eyes, smile, glasses, beard, "
                        "head yaw, background (3xSxS, factors, captions, label = smile)", _load_faces,
                        {"n": Option(20000, "int", "training images", minimum=1, maximum=faces.NUM_COMBINATIONS),
                         "n_test": Option(2000, "int", "test images", minimum=0, maximum=faces.NUM_COMBINATIONS),
                         "size": Option(32, "int", f"image side, {faces.MIN_SIZE} to {faces.MAX_SIZE}",
                                        minimum=faces.MIN_SIZE, maximum=faces.MAX_SIZE),
                         "seed": SEED, "classes": CLASSES, "domains": DOMAINS,
                         "label": Option(faces.DEFAULT_LABEL, "str", "the factor used as the label",
                                         choices=faces.FACTOR_NAMES),
                         "factor_weights": Option(None, "mapping", "per-factor sampling weights of the training "
                                                  "split, e.g. {\"skin_tone\": [6 numbers]}", optional=True)}),
        "cells": Source("cells", "", "procedural microscope-like cells, many touching (1xSxS grey, instance masks; "
                        "semantic classes background/cell/border follow from them)", _load_cells,
                        {"n": Option(2000, "int", "training images", minimum=1, maximum=1_000_000),
                         "n_test": Option(200, "int", "test images", minimum=0, maximum=1_000_000),
                         "size": Option(64, "int", f"image side, {cells.MIN_SIZE} to {cells.MAX_SIZE}",
                                        minimum=cells.MIN_SIZE, maximum=cells.MAX_SIZE),
                         "seed": SEED,
                         "density": Option(14.0, "float", "mean number of cells in a 64x64 image (size S: S/64 times as many)",
                                           minimum=0.1, maximum=200.0),
                         "touching": Option(0.5, "float", "probability that a new cell is placed against an "
                                            "earlier one", minimum=0.0, maximum=1.0)}),
        "toy1d": Source("toy1d", "name", "1-D toy densities", _load_toy, toy_opts,
                        tuple(n.split(":")[1] for n in TOY_NAMES if n.startswith("toy1d"))),
        "toy2d": Source("toy2d", "name", "2-D toy densities", _load_toy, toy_opts,
                        tuple(n.split(":")[1] for n in TOY_NAMES if n.startswith("toy2d"))),
        "mnist": Source("mnist", "", "MNIST handwritten digits (60000 + 10000, 1x28x28, labels 0-9), downloaded "
                        "once into the cache and checked", _load_downloaded,
                        {"seed": SEED, **image_opts, "max_bytes": MAX_BYTES}),
        "fashion_mnist": Source("fashion_mnist", "", "Fashion-MNIST clothing (60000 + 10000, 1x28x28, 10 classes), "
                                "downloaded once into the cache and checked", _load_downloaded,
                                {"seed": SEED, **image_opts, "max_bytes": MAX_BYTES}),
        "idx": Source("idx", "path", "IDX files (MNIST, Fashion-MNIST): a folder with train-*/t10k-* files, or one file",
                      _load_idx, {"test_fraction": TEST_FRACTION, "seed": SEED, **image_opts,
                                  "max_bytes": MAX_BYTES}),
        "npz": Source("npz", "path", "numpy arrays x (images or vectors) and optional y, x_test, y_test",
                      _load_npz, {"test_fraction": TEST_FRACTION, "seed": SEED, **image_opts,
                                  "layout": Option("auto", "str", "axis order of 4-D x",
                                                   choices=("auto", "nhwc", "nchw")),
                                  "background": BACKGROUND, "max_bytes": MAX_BYTES}),
        "folder": Source("folder", "path", "a folder of images; sub-folders are the classes", _load_folder,
                         {"test_fraction": TEST_FRACTION, "seed": SEED, **image_opts, "background": BACKGROUND,
                          "max_bad_fraction": Option(0.01, "float", "largest fraction of unreadable files "
                                                     "skipped with a warning; above it loading fails",
                                                     minimum=0.0, maximum=1.0),
                          "max_pixels": Option(DEFAULT_MAX_PIXELS, "int", "larger images are refused unread "
                                               "(decompression bombs)", minimum=1)}),
        "cifar10": Source("cifar10", "path", "CIFAR-10 binary batches (cifar-10-batches-bin: 50000 + 10000, 3x32x32)",
                          _load_cifar10, {"seed": SEED, **image_opts}),
    }


def _parse(spec: str) -> tuple[Source, str, str]:
    """spec -> (source, its argument, the canonical spec)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DataError(f"a data spec is a non-empty string like 'digits' or 'folder:PATH', got {spec!r}")
    spec = spec.strip()
    sources = _sources()
    name, colon, arg = spec.partition(":")
    name = name.strip().lower()
    if name not in sources:
        raise DataError(f"unknown data spec {spec!r}; valid specs: {', '.join(row[0] for row in dataset_table())}")
    source = sources[name]
    if source.arg == "" and colon:
        raise DataError(f"data spec {name!r} takes no argument, got {spec!r}; use {name!r} and options instead")
    if source.arg == "name":
        arg = arg.strip().lower()
        if arg not in source.names:
            raise DataError(f"data spec {spec!r}: choose one of {', '.join(f'{name}:{n}' for n in source.names)}")
        return source, arg, f"{name}:{arg}"
    if source.arg == "path" and not arg.strip():
        raise DataError(f"data spec {name!r} needs a path: {name}:PATH")
    return source, arg.strip(), f"{name}:{arg.strip()}" if arg else name


def load_data(spec: str, **options: Any) -> DataSplits:
    """Build the dataset a spec names; see ``dataset_table`` and docs/data.md for specs and options."""
    source, arg, canonical = _parse(spec)
    resolved = _resolve(canonical, source, options)
    classes = resolved.pop("classes", None)
    domains = resolved.pop("domains", None)
    splits = source.load(canonical, arg, resolved)
    if classes is not None:
        splits = _keep_classes(canonical, splits, classes)
    if domains is not None:
        from generativa.data.domains import split_domains

        splits = split_domains(splits, domains)
    for key, value in (("classes", classes), ("domains", domains)):
        if key in source.options:
            splits.options = {**splits.options, key: value}
    return splits


def _keep_classes(spec: str, splits: DataSplits, classes: str) -> DataSplits:
    """Keep the training examples whose label is in ``classes`` ("0,1" or "[0, 1]")."""
    train = splits.train
    if train.labels is None:
        raise DataError(f"data spec {spec!r} has no labels, so classes= cannot select any; drop it")
    try:
        wanted = sorted({int(c) for c in classes.strip("[]() ").replace(" ", "").split(",") if c != ""})
    except ValueError:
        raise DataError(f"data spec {spec!r}: classes={classes!r} is not a list of labels like 0,1") from None
    k = splits.num_classes
    bad = [c for c in wanted if not 0 <= c < k]
    if not wanted or bad:
        raise DataError(f"data spec {spec!r}: classes={classes!r} must name labels in 0..{k - 1}")
    keep = torch.isin(train.labels, torch.tensor(wanted))
    kept = train.subset(keep.nonzero().squeeze(1))
    return DataSplits(kept, splits.test, splits.spec, splits.options)


def dataset_options(spec: str) -> dict[str, Option]:
    """The options a spec (or just its name: ``folder``, ``toy2d``) accepts: name -> Option."""
    name = spec.partition(":")[0].strip().lower()
    sources = _sources()
    if name not in sources:
        raise DataError(f"unknown data spec {spec!r}; valid specs: {', '.join(row[0] for row in dataset_table())}")
    return dict(sources[name].options)


def dataset_table() -> list[tuple[str, str]]:
    """(spec, description) for ``generativa list datasets``: bundled and procedural sets, then file formats."""
    from generativa.data.toy import DESCRIPTIONS

    sources = _sources()
    rows = [(k, sources[k].description) for k in ("digits", "shapes", "faces", "cells", "mnist", "fashion_mnist")]
    rows += list(DESCRIPTIONS.items())
    rows += [(f"{k}:PATH", sources[k].description) for k in ("idx", "npz", "folder", "cifar10")]
    return rows
