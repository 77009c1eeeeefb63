"""The classifier zoo: the course's CNN history, trainable like any model and the feature networks
of the evaluation protocol.

* LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
  recognition", Proc. IEEE 86(11)): C1 conv 5x5 (6) - S2 pool - C3 conv 5x5 (16) - S4 pool -
  C5 (120) - F6 (84) - output. The original choices (scaled tanh, average pooling) and the modern
  ones (ReLU, max pooling) are options.
* AlexNet-style (Krizhevsky, Sutskever & Hinton 2012, NeurIPS): five convolutions with ReLU,
  overlapping max pooling (3x3 windows, stride 2 [sec. 3.4]) after the 1st, 2nd and 5th, two
  dropout-regularised fully connected layers [sec. 4.2], scaled down to 8-64 px inputs.
* VGG-style (Simonyan & Zisserman 2014, arXiv:1409.1556): stages of stacked 3x3 convolutions
  [sec. 2.1], each followed by 2x2 max pooling, then dropout-regularised fully connected layers.
* ResNet (He, Zhang, Ren & Sun 2016, arXiv:1512.03385): basic residual blocks, y = relu(x + F(x))
  [eq. 1], in three stages of widths (w, 2w, 4w) as in the CIFAR networks [sec. 4.2]; depth = 6n + 2.

LeNet-5, VGG and ResNet take ``norm``, the normalisations the lecture compares (``nn.make_norm``): batch
norm (Ioffe & Szegedy 2015, arXiv:1502.03167), layer norm (Ba et al. 2016, arXiv:1607.06450), group
norm (Wu & He 2018, arXiv:1803.08494), weight norm (Salimans & Kingma 2016, arXiv:1602.07868) or none.
Batch norm normalises with the statistics of the batch while training and with running averages in
evaluation, so training it on batches of one example is refused (``loss``).

x: images (B, C, H, W) in [0, 1]; logits: (B, K); features: the penultimate layer, (B, F).

Every classifier is a ``Model`` of kind ``classifier`` (configs, the trainer, checkpoints like any
model): ``loss(batch)`` is the cross-entropy with the accuracy as a logged term; it declares
``predict`` and nothing generative, so ``sample`` is refused. Data augmentation (``augment.py``) runs
inside ``loss`` while training, with the model's own seeded generator, which is saved with every
checkpoint (``generators``) so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import Batch, Capabilities, LossOutput, Model, ModelConfig
from generativa.models.vision import augment
from generativa.nn import apply_weight_norm, make_norm
from generativa.nn.layers import Norm
from generativa.registry import Preset, register_model, register_preset


@dataclass(frozen=True)
class ClassifierConfig(ModelConfig):
    """Fields every classifier shares.

    translate: random shifts of up to this many pixels while training (0 = off).
    flip: random left-right mirror while training (only where a mirror keeps the label: not digits).
    elastic_alpha, elastic_sigma: elastic deformation [Simard et al. 2003] (alpha = 0 = off).
    augment_seed: seed of the augmentation generator (so a run repeats).
    """

    num_classes: int = 10
    dropout: float = 0.0
    translate: int = 0
    flip: bool = False
    elastic_alpha: float = 0.0
    elastic_sigma: float = 2.0
    augment_seed: int = 0


class Classifier(Model):
    """Shared behaviour: input checks, augmentation, cross-entropy loss, logits, features, predict."""

    config_class = ClassifierConfig
    CAPABILITIES = Capabilities(kind="classifier", predict=True)

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        if len(config.data_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} classifies images (C, H, W), got data_shape={config.data_shape}; "
                "train it on an image dataset"
            )
        if config.num_classes < 2:
            raise ValueError(
                f"a classifier needs num_classes >= 2, got {config.num_classes}; train it on labelled data"
            )
        self._augment_generator = torch.Generator().manual_seed(config.augment_seed)

    # -- network ---------------------------------------------------------------------------------
    def body(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        """(B, C, H, W) in [0, 1] -> penultimate features (B, F)."""
        raise NotImplementedError

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer, (B, F): the feature space of FID, KID and precision/recall."""
        self.check_input(x)
        return self.body(x)

    def logits(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.head(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Most likely class of each image, (B,)."""
        return self.logits(x).argmax(dim=1)

    @torch.no_grad()
    def predict_proba(self, x: Tensor) -> Tensor:
        return self.logits(x).softmax(dim=1)

    # -- training --------------------------------------------------------------------------------
    def augment(self, x: Tensor) -> Tensor:
        c = self.config
        if not (c.translate or c.flip or c.elastic_alpha > 0):
            return x
        g = self._augment_generator
        device = x.device
        x = x.cpu()  # the generator lives on the CPU; augmentation is cheap next to the network
        if c.elastic_alpha > 0:
            x = augment.elastic_deform(x, c.elastic_alpha, c.elastic_sigma, generator=g)
        if c.translate:
            x = augment.random_translate(x, c.translate, generator=g)
        if c.flip:
            x = augment.random_flip(x, generator=g)
        return x.to(device)

    def uses_batch_norm(self) -> bool:
        """Whether any layer normalises with batch statistics (BatchNorm1d / BatchNorm2d)."""
        return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in self.modules())

    def loss(self, batch: Batch) -> LossOutput:
        if batch.labels is None:
            raise ValueError(f"{type(self).__name__} needs labelled data: the batch has no labels")
        if self.training and batch.x.shape[0] < 2 and self.uses_batch_norm():
            # one example: its batch statistics are its own (the fully connected BatchNorm1d cannot even
            # compute a variance), and training would learn nothing that the running averages serve
            raise ValueError(
                f"{type(self).__name__} uses batch norm, which needs at least 2 examples per training batch, "
                f"got {batch.x.shape[0]}; pass train.batch_size >= 2 (batch norm's statistics are noisy below "
                "about 16), or model.norm=layer / weight, which do not depend on the batch"
            )
        x = self.augment(batch.x) if self.training else batch.x
        logits = self.logits(x)
        loss = F.cross_entropy(logits, batch.labels)
        accuracy = (logits.argmax(dim=1) == batch.labels).float().mean()
        return LossOutput(loss=loss, terms={"cross_entropy": loss.detach(), "accuracy": accuracy.detach()})

    def generators(self) -> dict[str, torch.Generator]:
        return {"augment": self._augment_generator}

    @property
    def feature_dim(self) -> int:
        return self.head.in_features


def _pool(kind: str, kernel: int, stride: int, padding: int = 0) -> nn.Module:
    if kind == "avg":
        return nn.AvgPool2d(kernel, stride, padding)
    return nn.MaxPool2d(kernel, stride, padding)


def _normed(weights: nn.Module, norm: str, channels: int, spatial: bool) -> list[nn.Module]:
    """A convolution or linear layer followed by ``norm`` (weight norm reparametrises it instead).
    norm="none" adds no module, so the layers (and saved weights) are those of a network without it."""
    if norm == "weight":
        return [apply_weight_norm(weights)]
    return [weights] if norm == "none" else [weights, make_norm(norm, channels, spatial=spatial)]


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 [LeCun et al. 1998, app. A]."""

    def forward(self, x: Tensor) -> Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


def _activation(name: str) -> nn.Module:
    return ScaledTanh() if name == "tanh" else nn.ReLU()


# ---------------------------------------------------------------------------------------------
# LeNet-5
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeNet5Config(ClassifierConfig):
    """activation: 'tanh' (the paper's scaled tanh) or 'relu'; pooling: 'avg' (the paper's
    subsampling) or 'max'; norm: after C1, C3, C5 and F6 (the paper has none): 'batch', 'layer',
    'group' (``nn.make_norm``), 'weight' (every convolution and linear layer reparametrised,
    w = g v / ||v||), or 'none'."""

    activation: Literal["tanh", "relu"] = "relu"
    pooling: Literal["avg", "max"] = "max"
    norm: Norm = "none"


@register_model("lenet5")
class LeNet5(Classifier):
    """LeNet-5 for any input of at least 8x8 pixels.

    Departures from the paper, for small inputs: C1 and C3 use padding 2 (the paper pads 28x28
    MNIST to 32x32 and C3 is 'valid'), so 8x8 digits survive two 2x2 poolings; C5 is a fully
    connected layer over the S4 maps (for a 32x32 input it is exactly the paper's 5x5 convolution
    over 5x5 maps); C3 connects to all S2 maps (the paper's sparse connection table of Table I was
    a hardware economy); the output is a linear layer with softmax cross-entropy instead of the
    Euclidean RBF units.
    """

    config_class = LeNet5Config

    def __init__(self, config: LeNet5Config):
        super().__init__(config)
        C, H, W = config.data_shape
        if min(H, W) < 4:
            raise ValueError(f"LeNet-5 needs images of at least 4x4 pixels, got {H}x{W}")
        act = lambda: _activation(config.activation)  # noqa: E731
        norm = config.norm
        layer = lambda weights, channels, spatial: _normed(weights, norm, channels, spatial)  # noqa: E731
        bias = norm in ("none", "weight")  # a norm's shift replaces the bias
        self.conv = nn.Sequential(
            *layer(nn.Conv2d(C, 6, 5, padding=2, bias=bias), 6, True), act(), _pool(config.pooling, 2, 2),  # C1, S2
            *layer(nn.Conv2d(6, 16, 5, padding=2, bias=bias), 16, True), act(), _pool(config.pooling, 2, 2),  # C3, S4
        )
        flat = 16 * (H // 4) * (W // 4)
        self.fc = nn.Sequential(
            nn.Flatten(), *layer(nn.Linear(flat, 120, bias=bias), 120, False), act(),  # C5
            nn.Dropout(config.dropout), *layer(nn.Linear(120, 84, bias=bias), 84, False), act(),  # F6
        )
        head = nn.Linear(84, config.num_classes)
        self.head = apply_weight_norm(head) if norm == "weight" else head

    def body(self, x: Tensor) -> Tensor:
        return self.fc(self.conv(x))


# ---------------------------------------------------------------------------------------------
# AlexNet-style
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlexNetConfig(ClassifierConfig):
    """widths: the five convolutions' channels (the paper's 96, 256, 384, 384, 256 divided by ~3-8);
    hidden: width of the two fully connected layers (the paper's 4096); local_response_norm: the
    paper's local response normalisation after the first and second convolutions' ReLU [sec. 3.3];
    stem: 'small' (a 5x5 stride-1 first convolution, 3x3 second, pooling padded by 1: for 8-64 px) or
    'paper' (11x11 stride 4 and 5x5 second convolutions, unpadded pooling: the 224 px network
    [sec. 3.5, Fig. 2])."""

    widths: tuple[int, int, int, int, int] = (32, 64, 96, 96, 64)
    hidden: int = 256
    dropout: float = 0.5  # [Krizhevsky et al. 2012, sec. 4.2]
    local_response_norm: bool = False
    stem: Literal["small", "paper"] = "small"


def local_response_norm() -> nn.LocalResponseNorm:
    """b = a / (k + alpha sum_{n neighbouring maps} a^2)^beta with k = 2, n = 5, alpha = 1e-4, beta = 0.75
    [Krizhevsky et al. 2012, sec. 3.3]. torch divides alpha by n, so it is handed n * alpha."""
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


@register_model("alexnet")
class AlexNet(Classifier):
    """AlexNet-style network for 8-64 px inputs.

    Departures with ``stem='small'`` (the default): the first convolution is 5x5 stride 1 and the
    second 3x3 (the paper's 11x11 stride 4 and 5x5 are sized for 224 px); pooling is the paper's
    overlapping 3x3 / stride 2 max pooling with padding 1, so an 8x8 input still has a pixel left after
    three of them. ``stem='paper'`` with the paper's widths (96, 256, 384, 384, 256) and hidden 4096 is
    the 224 px network, 62,378,344 parameters for 1,000 classes (tested). Always: local response
    normalisation only with ``local_response_norm=True`` (later work found it unnecessary); one group
    instead of two GPUs.
    """

    config_class = AlexNetConfig

    def __init__(self, config: AlexNetConfig):
        super().__init__(config)
        C, H, W = config.data_shape
        w1, w2, w3, w4, w5 = config.widths
        paper = config.stem == "paper"
        pool = lambda: nn.MaxPool2d(3, 2, padding=0 if paper else 1)  # noqa: E731  overlapping [sec. 3.4]
        lrn = lambda: [local_response_norm()] if config.local_response_norm else []  # noqa: E731
        first = nn.Conv2d(C, w1, 11, stride=4, padding=2) if paper else nn.Conv2d(C, w1, 5, padding=2)
        second = nn.Conv2d(w1, w2, 5, padding=2) if paper else nn.Conv2d(w1, w2, 3, padding=1)
        self.conv = nn.Sequential(
            first, nn.ReLU(), *lrn(), pool(),
            second, nn.ReLU(), *lrn(), pool(),
            nn.Conv2d(w2, w3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w3, w4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w4, w5, 3, padding=1), nn.ReLU(), pool(),
        )
        def size(n: int) -> int:  # the side after the three poolings (and the paper's strided first layer)
            if paper:
                n = (n + 4 - 11) // 4 + 1
            for _ in range(3):
                n = (n - 3) // 2 + 1 if paper else (n - 1) // 2 + 1
                if n < 1:
                    return 0
            return n

        h, w = size(H), size(W)
        if h < 1 or w < 1:
            raise ValueError(f"AlexNet with stem={config.stem!r} leaves no pixel of a {H}x{W} input; "
                             "use stem='small' below about 64 px")
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout), nn.Linear(w5 * h * w, config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
        )
        self.head = nn.Linear(config.hidden, config.num_classes)

    def body(self, x: Tensor) -> Tensor:
        return self.fc(self.conv(x))


# ---------------------------------------------------------------------------------------------
# VGG-style
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VGGConfig(ClassifierConfig):
    """stages: (convolutions, width) per stage, each stage ending in 2x2 max pooling while the maps are
    at least 2 pixels; hidden: the fully connected width (the paper's 4096); norm: after every
    convolution and both hidden fully connected layers: 'batch', 'layer', 'group', 'weight' or 'none'
    (as in LeNet-5)."""

    stages: tuple[tuple[int, int], ...] = ((2, 32), (2, 64), (2, 128))
    hidden: int = 256
    norm: Norm = "none"  # the 2014 networks had none; the later VGG-BN variants put batch norm here
    dropout: float = 0.5  # [Simonyan & Zisserman 2014, sec. 3.1]


@register_model("vgg")
class VGG(Classifier):
    """VGG-style stacks of 3x3 convolutions (two 3x3 see what one 5x5 sees, with fewer weights
    and one more non-linearity [Simonyan & Zisserman 2014, sec. 2.3])."""

    config_class = VGGConfig

    def __init__(self, config: VGGConfig):
        super().__init__(config)
        C, H, W = config.data_shape
        layers: list[nn.Module] = []
        in_ch, h, w = C, H, W
        norm = config.norm
        bias = norm in ("none", "weight")  # a norm's shift replaces the bias
        for n_conv, width in config.stages:
            for _ in range(n_conv):
                layers += [*_normed(nn.Conv2d(in_ch, width, 3, padding=1, bias=bias), norm, width, True), nn.ReLU()]
                in_ch = width
            if min(h, w) >= 2:
                layers += [nn.MaxPool2d(2)]
                h, w = h // 2, w // 2
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Flatten(),
            *_normed(nn.Linear(in_ch * h * w, config.hidden, bias=bias), norm, config.hidden, False), nn.ReLU(),
            nn.Dropout(config.dropout),
            *_normed(nn.Linear(config.hidden, config.hidden, bias=bias), norm, config.hidden, False), nn.ReLU(),
            nn.Dropout(config.dropout),
        )
        head = nn.Linear(config.hidden, config.num_classes)
        self.head = apply_weight_norm(head) if norm == "weight" else head

    def body(self, x: Tensor) -> Tensor:
        return self.fc(self.conv(x))


# ---------------------------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResNetConfig(ClassifierConfig):
    """depth = 6n + 2 (8, 14, 20, 32, ...): n basic blocks in each of three stages [He et al. 2016, sec. 4.2];
    width: channels of the first stage (16 in the paper's CIFAR networks); norm: after every
    convolution, 'batch' (the paper's), 'layer', 'group', 'weight' (every convolution reparametrised,
    w = g v / ||v||) or 'none'; shortcut: False drops every shortcut, leaving the 'plain' network of
    the same depth the paper compares against [He et al. 2016, sec. 4.1, Fig. 1 and 6]."""

    depth: int = 8
    width: int = 16
    norm: Norm = "batch"
    shortcut: bool = True


class BasicBlock(nn.Module):
    """y = relu(x' + norm(conv(relu(norm(conv(x)))))) [He et al. 2016, Fig. 2]; when the block halves
    the resolution (stride 2) or changes the width, x' is a 1x1 strided projection ('option B')."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm: str, shortcut: bool = True):
        super().__init__()
        self.residual = shortcut
        bias = norm in ("weight", "none")  # a norm's shift replaces the bias
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=bias)
        self.norm1 = make_norm(norm, out_ch)  # the identity for weight and none
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=bias)
        self.norm2 = make_norm(norm, out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if shortcut and (stride != 1 or in_ch != out_ch):
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=bias), make_norm(norm, out_ch))

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        if not self.residual:
            return F.relu(h)  # the plain network: the same layers without the identity
        return F.relu(self.shortcut(x) + h)  # [He et al. 2016, eq. 1]


@register_model("resnet")
class ResNet(Classifier):
    """ResNet with basic blocks: 3x3 stem, three stages (w, 2w, 4w) with stride 2 between them,
    global average pooling, linear output [He et al. 2016, sec. 4.2]. Layer norm is GroupNorm(1, C)
    (normalise each example over C, H, W)."""

    config_class = ResNetConfig

    def __init__(self, config: ResNetConfig):
        super().__init__(config)
        if config.depth < 8 or (config.depth - 2) % 6 != 0:
            raise ValueError(f"ResNet depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), got {config.depth}")
        C = config.data_shape[0]
        n = (config.depth - 2) // 6
        w = config.width
        bias = config.norm in ("weight", "none")
        self.stem = nn.Sequential(nn.Conv2d(C, w, 3, padding=1, bias=bias), make_norm(config.norm, w), nn.ReLU())
        blocks: list[nn.Module] = []
        in_ch = w
        for stage, out_ch in enumerate((w, 2 * w, 4 * w)):
            for i in range(n):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(BasicBlock(in_ch, out_ch, stride, config.norm, config.shortcut))
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(in_ch, config.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")  # [He et al. 2015b]
        if config.norm == "weight":  # after the initialisation: g = ||v|| keeps each initial weight
            for conv in [m for m in self.modules() if isinstance(m, nn.Conv2d)]:
                apply_weight_norm(conv)  # in place

    def body(self, x: Tensor) -> Tensor:
        h = self.blocks(self.stem(x))
        return self.dropout(h.mean(dim=(2, 3)))  # global average pooling, (B, 4w)


# ---------------------------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------------------------
_DIGITS_TRAIN = {"steps": 3000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "weight_decay": 1e-4}


@register_preset
def lenet5_digits() -> Preset:
    return Preset(
        model="lenet5",
        config=LeNet5Config(data_shape=(1, 8, 8), num_classes=10, elastic_alpha=0.3, elastic_sigma=1.5),
        data="digits",
        train=dict(_DIGITS_TRAIN),
        description="LeNet-5 (ReLU, max pooling) on 8x8 digits, elastic augmentation",
    )


@register_preset
def lenet5_classic_digits() -> Preset:
    return Preset(
        model="lenet5",
        config=LeNet5Config(data_shape=(1, 8, 8), num_classes=10, activation="tanh", pooling="avg",
                            elastic_alpha=0.3, elastic_sigma=1.5),
        data="digits",
        train=dict(_DIGITS_TRAIN),
        description="LeNet-5 with the 1998 choices (scaled tanh, average pooling) on digits",
    )


@register_preset
def resnet_digits() -> Preset:
    return Preset(
        model="resnet",
        config=ResNetConfig(data_shape=(1, 8, 8), num_classes=10, depth=8, width=16, elastic_alpha=0.3, elastic_sigma=1.5),
        data="digits",
        train=dict(_DIGITS_TRAIN),
        description="ResNet-8 (basic blocks, batch norm) on 8x8 digits",
    )


@register_preset
def alexnet_digits() -> Preset:
    return Preset(model="alexnet", config=AlexNetConfig(data_shape=(1, 8, 8), num_classes=10, elastic_alpha=0.3,
                                                        elastic_sigma=1.5),
                  data="digits", train=dict(_DIGITS_TRAIN), description="AlexNet-style network on digits")


@register_preset
def vgg_digits() -> Preset:
    return Preset(model="vgg", config=VGGConfig(data_shape=(1, 8, 8), num_classes=10, elastic_alpha=0.3,
                                                        elastic_sigma=1.5),
                  data="digits", train=dict(_DIGITS_TRAIN), description="VGG-style network on digits")


# LeNet-5 needs 4000 steps for 99% on shapes (98.2% at 1500); ResNet reaches 100% at 1500
_SHAPES_TRAIN = {"steps": 4000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "weight_decay": 1e-4}


@register_preset
def lenet5_shapes() -> Preset:
    return Preset(
        model="lenet5",
        config=LeNet5Config(data_shape=(1, 32, 32), num_classes=3, flip=True),
        data="shapes",
        train=dict(_SHAPES_TRAIN),
        description="LeNet-5 on the shape label of shapes",
    )


@register_preset
def resnet_shapes() -> Preset:
    return Preset(
        model="resnet",
        config=ResNetConfig(data_shape=(1, 32, 32), num_classes=3, flip=True),
        data="shapes",
        train={**_SHAPES_TRAIN, "steps": 1500},  # 100% test accuracy at 1500 (BENCHMARKS.md)
        description="ResNet-8 on the shape label of shapes",
    )


# the 28x28 digit presets: elastic distortions [Simard et al. 2003] and AdamW with a cosine schedule
MNIST_CLASSIFIER = {"data_shape": (1, 28, 28), "num_classes": 10, "elastic_alpha": 1.0, "elastic_sigma": 4.0}


def mnist_train(steps: int, lr: float = 2e-3) -> dict:
    return {"steps": steps, "batch_size": 64, "lr": lr, "schedule": "cosine", "weight_decay": 1e-4}


@register_preset
def lenet5_mnist() -> Preset:
    return Preset(
        model="lenet5",
        config=LeNet5Config(**MNIST_CLASSIFIER),
        data="mnist",
        train=mnist_train(6000),
        description="LeNet-5 with elastic distortions on 28x28 grey digits",
    )


def _resnet_mnist(depth: int, steps: int, description: str) -> Preset:
    return Preset(model="resnet", config=ResNetConfig(**MNIST_CLASSIFIER, depth=depth, width=16), data="mnist",
                  train=mnist_train(steps), description=description)


@register_preset
def resnet_mnist() -> Preset:
    return _resnet_mnist(8, 5500, "ResNet-8 with elastic distortions on 28x28 grey digits")


@register_preset
def resnet20_mnist() -> Preset:
    return _resnet_mnist(20, 3000, "ResNet-20 (the paper's CIFAR depth, 3 x 3 basic blocks) with elastic distortions "
                                   "on 28x28 grey digits")


@register_preset
def vgg_mnist() -> Preset:
    return Preset(model="vgg", config=VGGConfig(**MNIST_CLASSIFIER), data="mnist", train=mnist_train(3000, lr=1e-3),
                  description="VGG-style stacks of 3x3 convolutions (2-2-2, no norm, as in 2014) on 28x28 digits")


@register_preset
def alexnet_mnist() -> Preset:
    return Preset(model="alexnet", config=AlexNetConfig(**MNIST_CLASSIFIER, local_response_norm=True),
                  data="mnist", train=mnist_train(3000),
                  description="AlexNet-style with local response normalisation on 28x28 digits (the paper's SGD "
                              "recipe: train.optimizer=sgd train.momentum=0.9 train.lr=0.01)")
