"""Convolutional building blocks: one configurable conv block, a residual block, norms, activations.

Every choice the course discusses for a convolutional layer is an option of ``ConvBlock``:

* padding: zeros, circular (the image is a torus), reflect, or none (a "valid" convolution that
  shrinks each side by ``kernel_size - 1``);
* downsampling: a strided convolution (DCGAN, Radford et al. 2015, arXiv:1511.06434), max pooling,
  average pooling;
* upsampling: nearest or bilinear interpolation followed by a convolution (Odena et al. 2016,
  "Deconvolution and checkerboard artifacts", Distill), a transposed convolution (DCGAN), or max
  unpooling at the positions remembered by a max-pooling layer (Zeiler & Fergus 2013, arXiv:1311.2901);
* normalisation: batch norm (Ioffe & Szegedy 2015, arXiv:1502.03167), layer norm (Ba et al. 2016,
  arXiv:1607.06450), group norm (Wu & He 2018, arXiv:1803.08494), weight norm (Salimans & Kingma
  2016, arXiv:1602.07868);
* activation: ReLU, leaky ReLU (slope 0.2 as in DCGAN), SiLU (Elfwing et al. 2017, arXiv:1702.03118),
  GELU (Hendrycks & Gimpel 2016, arXiv:1606.08415), ELU (Clevert et al. 2015, arXiv:1511.07289),
  tanh, sigmoid.

``ResidualBlock`` is the basic block of ResNet (He et al. 2015, arXiv:1512.03385): two 3x3
convolutions plus the identity, ``y = act(x + F(x))``.

Shapes: x is (B, C, H, W) throughout.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

Activation = Literal["relu", "leaky_relu", "silu", "gelu", "tanh", "sigmoid", "elu", "none"]
Norm = Literal["batch", "layer", "group", "weight", "none"]
Padding = Literal["zeros", "circular", "reflect", "none"]
Down = Literal["none", "stride", "maxpool", "avgpool"]
Up = Literal["none", "nearest", "bilinear", "transposed", "unpool"]

LEAKY_RELU_SLOPE = 0.2  # DCGAN's slope [Radford et al. 2015, Sec. 3]


def check_choice(name: str, value: object, choices: tuple[object, ...] | type) -> None:
    """Raise ``ValueError`` naming the argument, the bad value and the valid values."""
    valid = get_args(choices) if not isinstance(choices, tuple) else choices
    if value not in valid:
        listed = ", ".join(repr(v) for v in valid)
        raise ValueError(f"{name}={value!r} is not a valid choice; expected one of {listed}")


def make_activation(name: Activation) -> nn.Module:
    """Return the activation module called ``name`` (``"none"`` is the identity)."""
    check_choice("activation", name, Activation)
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    if name == "silu":
        return nn.SiLU()
    if name == "gelu":
        return nn.GELU()
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "elu":
        return nn.ELU()
    return nn.Identity()


def group_count(channels: int, max_groups: int = 8) -> int:
    """The largest divisor of ``channels`` that is at most ``max_groups`` (GroupNorm needs a divisor)."""
    for g in range(min(max_groups, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


class GroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` that, on the CPU in reduced precision, normalises channels-last maps in the
    standard layout.

    PyTorch's CPU kernel for bfloat16 group norm over channels-last tensors is several times slower
    than the same kernel over a contiguous copy (85 ms against 18 ms including both copies, fwd+bwd
    of 64x64x28x28 on one thread), and under autocast it dominated a U-Net's step. Parameters and
    state dicts are those of ``nn.GroupNorm``.
    """

    def forward(self, x: Tensor) -> Tensor:
        if (x.device.type == "cpu" and x.dtype in (torch.bfloat16, torch.float16) and x.dim() == 4
                and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)):
            y = super().forward(x.contiguous())
            return y.contiguous(memory_format=torch.channels_last)
        return super().forward(x)


def make_norm(name: Norm, channels: int, *, groups: int = 8, spatial: bool = True) -> nn.Module:
    """Return the normalisation layer called ``name`` for ``channels`` features.

    spatial=True (feature maps (B, C, H, W)):
      batch -> BatchNorm2d; layer -> GroupNorm(1, C), i.e. normalise over (C, H, W) of each example
      [Ba et al. 2016; Wu & He 2018, Fig. 2] with a per-channel affine; group -> GroupNorm(g, C) with
      g the largest divisor of C that is <= ``groups``.
    spatial=False (vectors (B, C)): batch -> BatchNorm1d; layer -> LayerNorm(C); group -> GroupNorm.
    weight and none -> Identity: weight norm is a reparametrisation of the preceding layer's weight,
    not a layer; ``ConvBlock``/``MLP`` apply it with ``apply_weight_norm``.
    """
    check_choice("norm", name, Norm)
    if name == "batch":
        return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    if name == "layer":
        return GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)
    if name == "group":
        return GroupNorm(group_count(channels, groups), channels)
    return nn.Identity()


def apply_weight_norm(layer: nn.Module) -> nn.Module:
    """Reparametrise ``layer.weight = g * v / ||v||`` [Salimans & Kingma 2016, eq. 2], one g per output unit.

    Uses ``torch.nn.utils.parametrizations.weight_norm``; the output dimension of a transposed
    convolution's weight (in, out, kH, kW) is 1, of every other layer 0.
    """
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
    return weight_norm(layer, name="weight", dim=dim)


class ConvBlock(nn.Module):
    """[upsample] -> conv -> norm -> activation -> [pool], with every option named.

    in_ch, out_ch: channels in and out.
    kernel_size: square kernel; with padding != "none" an odd kernel keeps the size (H -> H).
    padding: "zeros" | "circular" | "reflect" pad by ``(kernel_size - 1) // 2`` on each side;
      "none" pads nothing, so the map shrinks by ``kernel_size - 1`` (valid convolution). An even
      kernel pads one pixel less than it would need to keep the size, which gives DCGAN's layers
      for kernel_size=4: stride 2 maps H -> H // 2, transposed maps H -> 2H [Radford et al. 2015].
    down: "stride" makes the conv itself stride 2 (H -> ceil(H/2) for odd kernels); "maxpool" /
      "avgpool" pool 2x2 after the activation with ``ceil_mode=True`` (H -> ceil(H/2)).
    up: "nearest" / "bilinear" interpolate x2 (or to ``output_size``) before the conv;
      "transposed" replaces the conv by a stride-2 transposed conv (H -> 2H - 1 for odd kernels,
      or any size up to 2H passed as ``output_size``); "unpool" max-unpools before the conv with the
      ``indices`` returned by a ``down="maxpool", return_indices=True`` block.
    norm: see ``make_norm``; "weight" reparametrises the conv's weight.
    activation: see ``make_activation``.
    groups_for_norm: most groups for norm="group".
    return_indices: only with down="maxpool": ``forward`` returns ``(y, indices)``, the indices of
      the maxima (as ``F.max_pool2d(..., return_indices=True)``) for a matching unpool block.

    forward(x, indices=None, output_size=None): ``output_size`` (an int or (H, W)) fixes the size an
    upsampling block produces (needed to undo ceil-halving of odd sizes: pass the size the matching
    downsampling block saw); without it the block doubles H and W.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        *,
        kernel_size: int = 3,
        padding: Padding = "zeros",
        down: Down = "none",
        up: Up = "none",
        norm: Norm = "none",
        activation: Activation = "relu",
        groups_for_norm: int = 8,
        return_indices: bool = False,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        check_choice("padding", padding, Padding)
        check_choice("down", down, Down)
        check_choice("up", up, Up)
        check_choice("norm", norm, Norm)
        check_choice("activation", activation, Activation)
        if down != "none" and up != "none":
            raise ValueError(f"a ConvBlock either downsamples or upsamples; got down={down!r} and up={up!r}")
        if up == "transposed" and padding in ("circular", "reflect"):
            raise ValueError(
                f"up='transposed' supports padding 'zeros' or 'none' (torch's ConvTranspose2d pads with "
                f"zeros only), got padding={padding!r}; use up='nearest' or 'bilinear' with {padding!r} padding"
            )
        if return_indices and down != "maxpool":
            raise ValueError(f"return_indices=True needs down='maxpool', got down={down!r}")
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        self.in_ch, self.out_ch, self.kernel_size = in_ch, out_ch, kernel_size
        self.padding, self.down, self.up, self.norm_name = padding, down, up, norm
        self.return_indices = return_indices

        pad = self._pad()
        use_bias = norm in ("none", "weight") if bias is None else bias  # a norm's shift replaces the bias
        if up == "transposed":
            conv: nn.Module = nn.ConvTranspose2d(
                in_ch, out_ch, kernel_size, stride=2, padding=pad, bias=use_bias
            )
        else:
            conv = nn.Conv2d(
                in_ch,
                out_ch,
                kernel_size,
                stride=2 if down == "stride" else 1,
                padding=pad,
                padding_mode="zeros" if padding == "none" else padding,
                bias=use_bias,
            )
        self.conv = apply_weight_norm(conv) if norm == "weight" else conv
        self.norm = make_norm(norm, out_ch, groups=groups_for_norm)
        self.act = make_activation(activation)

    def _pad(self) -> int:
        return 0 if self.padding == "none" else (self.kernel_size - 1) // 2

    def output_size(self, size: int) -> int:
        """Spatial size this block produces from ``size`` (without an explicit ``output_size``)."""
        k, p = self.kernel_size, self._pad()
        if self.up in ("nearest", "bilinear", "unpool"):
            size = 2 * size
        if self.up == "transposed":
            return (size - 1) * 2 - 2 * p + k  # [torch ConvTranspose2d docs, output_padding=0]
        size = (size + 2 * p - k) // (2 if self.down == "stride" else 1) + 1
        if self.down in ("maxpool", "avgpool"):
            size = -(-size // 2)  # ceil_mode=True
        return size

    def forward(
        self,
        x: Tensor,
        indices: Tensor | None = None,
        output_size: int | tuple[int, int] | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        if output_size is not None and self.up == "none":
            raise ValueError(
                f"output_size={output_size} is only for upsampling blocks; this block has up='none'"
            )
        if indices is not None and self.up != "unpool":
            raise ValueError(f"indices are only for up='unpool' blocks; this block has up={self.up!r}")
        size = (output_size, output_size) if isinstance(output_size, int) else output_size
        if self.up in ("nearest", "bilinear"):
            if size is None:
                x = F.interpolate(x, scale_factor=2.0, mode=self.up)
            else:
                x = F.interpolate(x, size=size, mode=self.up)
        elif self.up == "unpool":
            if indices is None:
                raise ValueError(
                    "up='unpool' needs the indices of a max pooling: build the encoder block with "
                    "down='maxpool', return_indices=True and pass block(x, indices=indices)"
                )
            if size is None:
                size = (2 * x.shape[-2], 2 * x.shape[-1])
            # put each value back where its maximum was [Zeiler & Fergus 2013, Sec. 2.1]
            x = F.max_unpool2d(x, indices, kernel_size=2, stride=2, output_size=size)

        if self.up == "transposed" and size is not None:
            x = self._transposed(x, size)
        else:
            x = self.conv(x)
        x = self.act(self.norm(x))

        if self.down == "maxpool":
            if self.return_indices:
                return F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            return F.max_pool2d(x, 2, 2, ceil_mode=True)
        if self.down == "avgpool":
            return F.avg_pool2d(x, 2, 2, ceil_mode=True)
        return x

    def _transposed(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """Transposed conv to exactly ``size``: output_padding where it reaches, a crop where it overshoots."""
        natural = [self.output_size(s) for s in x.shape[-2:]]
        if any(t > n + 1 for t, n in zip(size, natural)):
            raise ValueError(
                f"up='transposed' turns {tuple(x.shape[-2:])} into at most "
                f"{tuple(n + 1 for n in natural)}, cannot reach output_size={tuple(size)}"
            )
        if all(n <= t for t, n in zip(size, natural)):
            return self.conv(x, output_size=list(size))
        y = self.conv(x, output_size=[max(t, n) for t, n in zip(size, natural)])
        return y[..., : size[0], : size[1]]

    def extra_repr(self) -> str:
        return f"padding={self.padding!r}, down={self.down!r}, up={self.up!r}, norm={self.norm_name!r}" + (
            ", return_indices=True" if self.return_indices else ""
        )


class ResidualBlock(nn.Module):
    """ResNet basic block [He et al. 2015, Fig. 2]: ``y = act(x + norm(conv(act(norm(conv(x))))))``.

    channels: input channels; out_channels (default ``channels``): when different, the shortcut is a
    1x1 convolution (projection shortcut, "option B" [He et al. 2015, Sec. 3.3]).
    padding="none" shrinks each side by 2 (two valid 3x3 convs); the shortcut is then centre-cropped.
    """

    def __init__(
        self,
        channels: int,
        *,
        out_channels: int | None = None,
        norm: Norm = "batch",
        activation: Activation = "relu",
        padding: Padding = "zeros",
        groups_for_norm: int = 8,
    ) -> None:
        super().__init__()
        out_channels = channels if out_channels is None else out_channels
        options = dict(padding=padding, norm=norm, groups_for_norm=groups_for_norm)
        self.conv1 = ConvBlock(channels, out_channels, activation=activation, **options)
        self.conv2 = ConvBlock(out_channels, out_channels, activation="none", **options)
        if out_channels != channels:
            self.shortcut: nn.Module = nn.Conv2d(channels, out_channels, 1, bias=False)
            if norm == "weight":
                self.shortcut = apply_weight_norm(self.shortcut)
        else:
            self.shortcut = nn.Identity()
        self.act = make_activation(activation)
        self.crop = 2 if padding == "none" else 0  # two valid 3x3 convs lose 2 pixels per side

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(self.conv1(x))
        skip = self.shortcut(x)
        if self.crop:
            c = self.crop
            skip = skip[..., c:-c, c:-c]
        return self.act(skip + h)
