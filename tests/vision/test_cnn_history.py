"""AlexNet's local response normalisation, ZFNet's filter renormalisation, GoogLeNet's inception
module and VGG's argument that two 3x3 convolutions see what one 5x5 sees, checked by hand."""

import pytest
import torch
import torch.nn.functional as F

from generativa.models.vision.classifiers import VGG, AlexNet, AlexNetConfig, VGGConfig, local_response_norm
from generativa.models.vision.googlenet import GoogLeNet, GoogLeNetConfig, Inception
from generativa.models.vision.zfnet import ZFNet, ZFNetConfig


def test_local_response_norm_is_the_papers_formula():
    a = torch.randn(2, 7, 3, 3)
    b = torch.empty_like(a)
    for i in range(7):  # b_i = a_i / (k + alpha * sum_{j = i - 2}^{i + 2} a_j^2)^beta  [sec. 3.3]
        lo, hi = max(0, i - 2), min(6, i + 2)
        b[:, i] = a[:, i] / (2.0 + 1e-4 * a[:, lo : hi + 1].pow(2).sum(1)) ** 0.75
    torch.testing.assert_close(local_response_norm()(a), b)
    model = AlexNet(AlexNetConfig(data_shape=(1, 16, 16), num_classes=10, local_response_norm=True))
    assert sum(isinstance(m, torch.nn.LocalResponseNorm) for m in model.modules()) == 2


def test_zfnet_caps_the_rms_of_every_filter_after_a_step():
    model = ZFNet(ZFNetConfig(data_shape=(1, 16, 16), num_classes=10))
    conv = model.conv[0]
    with torch.no_grad():
        conv.weight.normal_()
        conv.weight[0].mul_(1e-3)  # a small filter: left alone
    small = conv.weight[0].clone()
    (player,) = model.players()
    player.after_step()
    rms = conv.weight.pow(2).mean(dim=(1, 2, 3)).sqrt()
    assert torch.allclose(rms[1:], torch.full_like(rms[1:], 0.1))
    assert torch.equal(conv.weight[0], small)


def test_inception_concatenates_four_branches():
    block = Inception(8, 4, 3, 6, 2, 5, 7)
    out = block(torch.randn(2, 8, 9, 9))
    assert out.shape == (2, 4 + 6 + 5 + 7, 9, 9)
    x = torch.randn(1, 8, 9, 9)
    torch.testing.assert_close(block(x)[:, :4], block.branch1(x))  # the 1x1 branch first, the pooling one last
    torch.testing.assert_close(block(x)[:, -7:], block.branch_pool(x))
    net = GoogLeNet(GoogLeNetConfig(data_shape=(1, 28, 28), num_classes=10))
    assert net.inception3a.out_channels == (64 + 128 + 32 + 32) // 4  # Table 1, divided by 4
    assert net.logits(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_two_3x3_convolutions_equal_one_5x5():
    g = torch.Generator().manual_seed(0)
    k1, k2 = torch.randn(1, 1, 3, 3, generator=g), torch.randn(1, 1, 3, 3, generator=g)
    x = torch.randn(1, 1, 12, 12, generator=g)
    stacked = F.conv2d(F.conv2d(x, k1), k2)  # two valid 3x3 convolutions: 12 -> 8
    # the equivalent 5x5 kernel: k2 slid over k1 (a full convolution, as cross-correlations compose)
    k5 = torch.zeros(1, 1, 5, 5)
    for i in range(3):
        for j in range(3):
            k5[..., i : i + 3, j : j + 3] += k2[..., i, j] * k1[0, 0]
    torch.testing.assert_close(F.conv2d(x, k5), stacked)
    # the receptive field of one output pixel of the stack is 5x5, with 18 weights instead of 25
    x.requires_grad_(True)
    F.conv2d(F.conv2d(x, k1), k2)[0, 0, 4, 4].backward()
    rows, cols = x.grad[0, 0].nonzero().unbind(1)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (5, 5)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_papers_224px_networks_are_a_config_away():
    """Built on the meta device (no memory): the parameter counts of the published networks."""
    with torch.device("meta"):
        alexnet = AlexNet(AlexNetConfig(data_shape=(3, 224, 224), num_classes=1000, widths=(96, 256, 384, 384, 256),
                                        hidden=4096, stem="paper"))
        vgg16 = VGG(VGGConfig(data_shape=(3, 224, 224), num_classes=1000, hidden=4096,
                              stages=((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))))
    # AlexNet in one group: 11x11x3x96 + 5x5x96x256 + ... + 9216x4096 + 4096x4096 + 4096x1000, with biases
    assert _count(alexnet) == 62_378_344
    assert alexnet.fc[2].in_features == 256 * 6 * 6  # 224 -> 55 -> 27 -> 13 -> 6 [Fig. 2]
    assert _count(vgg16) == 138_357_544  # configuration D [Simonyan & Zisserman 2014, Table 2: 138 M]
    with torch.device("meta"):
        zfnet = ZFNet(ZFNetConfig(data_shape=(3, 224, 224), num_classes=1000, widths=(96, 256, 384, 384, 256),
                                  hidden=4096, stem="paper"))
    assert zfnet.fc[2].in_features == 256 * 6 * 6  # 224 -> 110 -> 55 -> 26 -> 13 -> 6 [Fig. 3]
    assert _count(zfnet) == 62_357_608  # AlexNet's count with a 7x7 first layer


def test_googlenet_with_the_papers_stem_and_nine_modules_has_table_1s_sizes():
    model = GoogLeNet(GoogLeNetConfig(data_shape=(3, 224, 224), num_classes=10, width_divisor=8, stem="paper",
                                      modules=9))
    sizes = {}
    for name, module in [("stem", model.stem), ("inception3a", model.inception3a), ("inception3b", model.inception3b),
                         ("pool", model.pool), ("inception4a", model.inception4a), *model.later.named_children()]:
        module.register_forward_hook(lambda m, i, o, name=name: sizes.__setitem__(name, tuple(o.shape[1:])))
    assert model.logits(torch.rand(1, 3, 224, 224)).shape == (1, 10)
    # Table 1's output sizes (channels divided by 8)
    table = {"stem": (192, 28), "inception3a": (256, 28), "inception3b": (480, 28), "inception4a": (512, 14),
             "inception4b": (512, 14), "inception4c": (512, 14), "inception4d": (528, 14), "inception4e": (832, 14),
             "inception5a": (832, 7), "inception5b": (1024, 7)}
    for name, (channels, side) in table.items():
        assert sizes[name] == (channels // 8, side, side), name
    with torch.device("meta"):
        full = GoogLeNet(GoogLeNetConfig(data_shape=(3, 224, 224), num_classes=1000, width_divisor=1, stem="paper",
                                         modules=9))
    weights = sum(p.numel() for n, p in full.inception3a.named_parameters() if n.endswith("weight"))
    assert abs(weights / 1024 - 159) < 1  # Table 1: 159K (its K is 1,024)
    assert 6.5e6 < _count(full) < 7.5e6  # "12 times fewer parameters" than AlexNet's 60 M [sec. 1]


def test_alexnet_and_zfnet_refuse_an_input_their_paper_stem_cannot_see():
    with pytest.raises(ValueError, match="stem='small'"):
        AlexNet(AlexNetConfig(data_shape=(1, 28, 28), num_classes=10, stem="paper"))
    with pytest.raises(ValueError, match="stem='small'"):
        ZFNet(ZFNetConfig(data_shape=(1, 28, 28), num_classes=10, stem="paper"))
