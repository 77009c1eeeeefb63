"""ResNet with ``shortcut=False`` is the paper's plain network: the same layers, no identity."""

import torch
import torch.nn.functional as F

from generativa.models.vision.classifiers import ResNet, ResNetConfig


def test_plain_network_has_the_same_layers_without_shortcuts():
    config = dict(data_shape=(1, 16, 16), num_classes=10, depth=14, width=4)
    residual, plain = ResNet(ResNetConfig(**config)), ResNet(ResNetConfig(**config, shortcut=False))
    names = {n for n, _ in plain.named_parameters()}
    assert not any("shortcut" in n for n in names)
    assert names == {n for n, _ in residual.named_parameters() if "shortcut" not in n}
    block = plain.blocks[1].eval()
    x = torch.randn(2, 4, 16, 16)
    expected = F.relu(block.norm2(block.conv2(F.relu(block.norm1(block.conv1(x))))))
    torch.testing.assert_close(block(x), expected)
    residual_block = residual.blocks[1].eval()
    residual_block.load_state_dict(block.state_dict())
    torch.testing.assert_close(residual_block(x), F.relu(x + block.norm2(block.conv2(F.relu(block.norm1(block.conv1(x)))))))
