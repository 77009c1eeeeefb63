"""Multilayer perceptron: Linear -> norm -> activation -> dropout, repeated, then a last Linear.

Dropout: Srivastava et al. 2014 (JMLR 15); layer norm: Ba et al. 2016 (arXiv:1607.06450);
batch norm: Ioffe & Szegedy 2015 (arXiv:1502.03167); weight norm: Salimans & Kingma 2016
(arXiv:1602.07868). Shapes: (B, in_features) -> (B, out_features).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from generativa.nn.layers import Activation, apply_weight_norm, check_choice, make_activation, make_norm

MLPNorm = Literal["none", "batch", "layer", "weight"]


class MLP(nn.Module):
    """Fully connected network ``in_features -> hidden[0] -> ... -> hidden[-1] -> out_features``.

    activation, norm, dropout: applied after every hidden Linear (never after the last one).
    norm: "batch" (BatchNorm1d), "layer" (LayerNorm), "weight" (weight norm of each Linear) or "none".
    final_activation: applied to the output ("none" gives raw values, e.g. logits).
    An input with more than two dimensions, such as images (B, C, H, W), is flattened to
    (B, C*H*W) first; its size must equal ``in_features``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        activation: Activation = "relu",
        norm: MLPNorm = "none",
        dropout: float = 0.0,
        final_activation: Activation = "none",
    ) -> None:
        super().__init__()
        check_choice("norm", norm, MLPNorm)
        check_choice("activation", activation, Activation)
        check_choice("final_activation", final_activation, Activation)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_features, self.out_features = in_features, out_features
        layers: list[nn.Module] = []
        widths = [in_features, *hidden]
        for a, b in zip(widths[:-1], widths[1:]):
            linear = nn.Linear(a, b, bias=norm in ("none", "weight"))
            layers.append(apply_weight_norm(linear) if norm == "weight" else linear)
            layers.append(make_norm(norm, b, spatial=False))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        last = nn.Linear(widths[-1], out_features)
        layers.append(apply_weight_norm(last) if norm == "weight" else last)
        layers.append(make_activation(final_activation))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() > 2:
            x = x.flatten(1)  # (B, C, H, W) -> (B, C*H*W)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"MLP was built for in_features={self.in_features} but got inputs with {x.shape[-1]} "
                f"features (shape {tuple(x.shape)}); build it with in_features={x.shape[-1]}"
            )
        return self.net(x)
