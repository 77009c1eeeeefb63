"""LeNet-5 as published (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11), sec. II-B and appendix A).

x: images (B, 1, H, W) in [0, 1], H, W <= 32, placed in the middle of a 32x32 field and mapped to
[-0.1, 1.175] (background -0.1, ink 1.175: mean about 0, variance about 1 [sec. II-B]).

    C1  6 maps, 5x5 convolutions                       32x32 -> 28x28     156 parameters
    S2  trainable subsampling, 6 maps                  28x28 -> 14x14      12
    C3  16 maps, 5x5, partial connections [Table I]    14x14 -> 10x10    1516
    S4  trainable subsampling, 16 maps                 10x10 -> 5x5        32
    C5  120 maps, 5x5 (fully connected to S4)           5x5  -> 1x1     48120
    F6  84 units                                                         10164
    output: Euclidean RBF units, y_i = sum_j (x_j - w_ij)^2, w fixed to +-1 [eq. 7]

* Squashing function after C1, S2, C3, S4, C5, F6: f(a) = A tanh(S a), A = 1.7159, S = 2/3 [app. A].
* Trainable subsampling [sec. II-B]: the four inputs of each 2x2 window are added, multiplied by a
  trainable coefficient alpha, a trainable bias beta is added, and the result squashed:
  f(alpha * sum + beta), one (alpha, beta) per map.
* C3's connection table [Table I]: maps 0-5 see three neighbouring S2 maps, 6-11 four neighbouring,
  12-14 four non-neighbouring, 15 all six ("to break symmetry" and keep the count of connections
  reasonable).
* The RBF parameter vectors are stylised 7x12 bitmaps of the digits, +1 ink and -1 paper, fixed:
  similar digits get similar codes, as the paper intends ("the parameter vectors ... were chosen by
  hand"); the bitmaps here are drawn for this library. Classes beyond the 10 digits are refused.
* Loss: the paper's MAP criterion [eq. 9], E = y_D + log(exp(-j) + sum_i exp(-y_i)): pull the correct
  class's penalty down and push the others up, with the constant j keeping penalties that are already
  large from being pushed further.
* Initialisation: weights uniform in (-2.4 / F_i, 2.4 / F_i), F_i the fan-in [app. C].

Departure: trained with the library's first-order optimisers (the paper used a stochastic diagonal
Levenberg-Marquardt method, app. C). The modern variant is ``lenet5`` (``classifiers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.base import Batch, LossOutput
from generativa.models.vision.classifiers import Classifier, ClassifierConfig, ScaledTanh
from generativa.registry import Preset, register_model, register_preset

FIELD = 32  # the input field [sec. II-B]

# C3 <- S2 connections [LeCun et al. 1998, Table I]: the S2 maps each C3 map reads.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    *(tuple((j + i) % 6 for i in range(3)) for j in range(6)),
    *(tuple((j + i) % 6 for i in range(4)) for j in range(6)),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The RBF codes: 7 wide x 12 tall bitmaps of the digits 0-9, one column of the picture per digit
# ('#' = +1, ink; '.' = -1, paper), read row by row [LeCun et al. 1998, sec. II-B, Fig. 3].
DIGIT_BITMAPS = """
..###.. ...#... .####.. .####.. .....#. ####### ..###.. ####### ..###.. ..###..
.#...#. ..##... #....#. #....#. ....##. #...... .#..... ......# .#...#. .#...#.
#.....# .#.#... ......# ......# ...#.#. #...... #...... .....#. #.....# #.....#
#.....# ...#... ......# ......# ..#..#. #####.. #...... .....#. .#...#. #.....#
#.....# ...#... .....#. .....#. .#...#. .....#. #.###.. ....#.. ..###.. #.....#
#.....# ...#... ....#.. ..###.. #....#. ......# ##...#. ....#.. .#...#. .#...##
#.....# ...#... ...#... .....#. ####### ......# #.....# ...#... #.....# ..###.#
#.....# ...#... ..#.... ......# .....#. ......# #.....# ...#... #.....# ......#
#.....# ...#... .#..... ......# .....#. ......# #.....# ..#.... #.....# ......#
.#...#. ...#... #...... #....#. .....#. #....#. .#...#. ..#.... .#...#. .....#.
..###.. .#####. ####### .####.. .....#. .####.. ..###.. ..#.... ..###.. ..###..
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
"""


def digit_codes() -> Tensor:
    """The RBF parameter vectors: (10, 84) of +-1, row i the 7x12 bitmap of digit i."""
    rows = [line.split() for line in DIGIT_BITMAPS.strip().splitlines()]  # 12 rows of 10 digits
    codes = [[1.0 if ch == "#" else -1.0 for row in rows for ch in row[d]] for d in range(10)]
    return torch.tensor(codes)


class Subsampling(nn.Module):
    """f(alpha_k * sum of each 2x2 window + beta_k) per map k [LeCun et al. 1998, sec. II-B]."""

    def __init__(self, maps: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.empty(maps))
        self.beta = nn.Parameter(torch.zeros(maps))
        nn.init.uniform_(self.alpha, -2.4 / 4, 2.4 / 4)  # fan-in 4 [app. C]
        self.squash = ScaledTanh()

    def forward(self, x: Tensor) -> Tensor:
        window_sum = F.avg_pool2d(x, 2) * 4  # (B, K, H/2, W/2)
        return self.squash(self.alpha.view(1, -1, 1, 1) * window_sum + self.beta.view(1, -1, 1, 1))


class PartialConv(nn.Conv2d):
    """A convolution whose output map k reads only the input maps ``table[k]`` (C3)."""

    def __init__(self, table: tuple[tuple[int, ...], ...], in_maps: int, kernel: int):
        super().__init__(in_maps, len(table), kernel)
        mask = torch.zeros(len(table), in_maps, 1, 1)
        for k, inputs in enumerate(table):
            mask[k, list(inputs)] = 1.0
        self.register_buffer("connections", mask)
        with torch.no_grad():  # uniform in (-2.4 / F_i, 2.4 / F_i), F_i = inputs read x 25 [app. C]
            fan_in = mask.view(len(table), -1).sum(1) * kernel * kernel
            bound = (2.4 / fan_in).view(-1, 1, 1, 1)
            self.weight.copy_((torch.rand_like(self.weight) * 2 - 1) * bound * mask)
            self.bias.copy_((torch.rand_like(self.bias) * 2 - 1) * bound.view(-1))

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.weight * self.connections, self.bias)

    def connections_used(self) -> int:
        """Trainable weights that take part (the masked ones do not), plus biases."""
        return int(self.connections.sum()) * self.kernel_size[0] * self.kernel_size[1] + self.out_channels


class RBFOutput(nn.Module):
    """Penalties y_i = sum_j (x_j - w_ij)^2 [eq. 7] against fixed codes w (K, 84)."""

    def __init__(self, codes: Tensor):
        super().__init__()
        self.register_buffer("codes", codes)
        self.in_features = codes.shape[1]

    def forward(self, x: Tensor) -> Tensor:
        return (x[:, None, :] - self.codes[None]).pow(2).sum(-1)  # (B, K)


@dataclass(frozen=True)
class LeNet5PaperConfig(ClassifierConfig):
    """map_j: the constant j of the MAP criterion [eq. 9] (the paper gives no value; 1.0 here)."""

    map_j: float = 1.0


def _uniform_fan_in(layer: nn.Module) -> None:
    fan_in = layer.weight[0].numel()
    nn.init.uniform_(layer.weight, -2.4 / fan_in, 2.4 / fan_in)
    nn.init.uniform_(layer.bias, -2.4 / fan_in, 2.4 / fan_in)


@register_model("lenet5_paper")
class LeNet5Paper(Classifier):
    """LeNet-5 with every 1998 choice: trainable subsampling, C3's partial connections, the scaled
    tanh, fixed Euclidean RBF output units and the MAP criterion."""

    config_class = LeNet5PaperConfig

    def __init__(self, config: LeNet5PaperConfig):
        super().__init__(config)
        C, H, W = config.data_shape
        if C != 1 or H > FIELD or W > FIELD:
            raise ValueError(f"LeNet-5 as published reads one grey 32x32 field; got data_shape={config.data_shape}: "
                             "use grey images of at most 32x32 (data.channels=1 data.size=28), or the lenet5 model")
        if config.num_classes > 10:
            raise ValueError(f"LeNet-5's RBF codes are the 10 digits; got num_classes={config.num_classes}")
        squash = ScaledTanh
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsampling(6)
        self.c3 = PartialConv(C3_TABLE, 6, 5)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        for layer in (self.c1, self.c5, self.f6):
            _uniform_fan_in(layer)
        self.squash = squash()
        self.head = RBFOutput(digit_codes()[: config.num_classes])

    def _field(self, x: Tensor) -> Tensor:
        """(B, 1, H, W) in [0, 1] -> (B, 1, 32, 32) in [-0.1, 1.175], the image centred [sec. II-B]."""
        H, W = x.shape[-2:]
        top, left = (FIELD - H) // 2, (FIELD - W) // 2
        x = F.pad(x, (left, FIELD - W - left, top, FIELD - H - top))
        return -0.1 + 1.275 * x

    def body(self, x: Tensor) -> Tensor:
        h = self.squash(self.c1(self._field(x)))  # C1 (B, 6, 28, 28)
        h = self.squash(self.c3(self.s2(h)))  # S2 (B, 6, 14, 14), C3 (B, 16, 10, 10)
        h = self.squash(self.c5(self.s4(h)))  # S4 (B, 16, 5, 5), C5 (B, 120, 1, 1)
        return self.squash(self.f6(h.flatten(1)))  # F6 (B, 84)

    def logits(self, x: Tensor) -> Tensor:
        """Minus the RBF penalties: the most likely class has the smallest penalty."""
        self.check_input(x)
        return -self.head(self.body(x))

    def loss(self, batch: Batch) -> LossOutput:
        if batch.labels is None:
            raise ValueError("LeNet-5 needs labelled data: the batch has no labels")
        x = self.augment(batch.x) if self.training else batch.x
        penalties = -self.logits(x)  # (B, K)
        y_true = penalties.gather(1, batch.labels[:, None])[:, 0]
        rubbish = torch.full_like(penalties[:, :1], -self.config.map_j)
        loss = (y_true + torch.logsumexp(torch.cat([rubbish, -penalties], dim=1), dim=1)).mean()  # [eq. 9]
        accuracy = (penalties.argmin(dim=1) == batch.labels).float().mean()
        return LossOutput(loss=loss, terms={"map_criterion": loss.detach(), "accuracy": accuracy.detach()})


@register_preset
def lenet5_paper_mnist() -> Preset:
    return Preset(model="lenet5_paper", config=LeNet5PaperConfig(data_shape=(1, 28, 28), num_classes=10,
                                                                elastic_alpha=1.0, elastic_sigma=4.0),
                  data="mnist",
                  train={"steps": 6000, "batch_size": 64, "lr": 2e-3, "schedule": "cosine"},
                  description="LeNet-5 as published (1998): trainable subsampling, C3 table, RBF output, MAP loss; "
                              "elastic distortions as lenet5_mnist")
