import pytest
import torch

from generativa.models.autoencoders.corruption import Corruption, corrupt, parse_corruption


def test_parse_specs():
    assert parse_corruption("gaussian:0.3") == Corruption("gaussian", 0.3)
    assert parse_corruption("mask:0.25") == Corruption("mask", 0.25)
    assert parse_corruption("salt-and-pepper:0.1") == Corruption("saltpepper", 0.1)
    assert str(Corruption("mask", 0.25)) == "mask:0.25"


@pytest.mark.parametrize("spec, needle", [
    ("blur:0.3", "unknown noise spec"),
    ("gaussian", "no amount"),
    ("gaussian:abc", "not a number"),
    ("mask:1.5", "not a probability"),
    ("gaussian:-1", ">= 0"),
])
def test_bad_specs_say_what_to_do(spec, needle):
    with pytest.raises(ValueError, match=needle):
        parse_corruption(spec)


def test_gaussian_noise_level_and_range():
    x = torch.full((64, 1, 16, 16), 0.5)
    y = corrupt(x, "gaussian:0.1", generator=torch.Generator().manual_seed(0))
    assert y.min() >= 0 and y.max() <= 1
    assert abs((y - x).std().item() - 0.1) < 0.005


def test_mask_zeroes_a_fraction_p_of_pixels_across_channels():
    x = torch.rand(32, 3, 16, 16) * 0.5 + 0.5  # no zeros in x
    y = corrupt(x, "mask:0.3", generator=torch.Generator().manual_seed(0))
    zero = y == 0
    assert abs(zero.float().mean().item() - 0.3) < 0.02
    assert torch.equal(zero[:, 0], zero[:, 1]) and torch.equal(zero[:, 0], zero[:, 2])
    assert torch.equal(y[~zero], x[~zero])


def test_salt_and_pepper_sets_pixels_to_0_or_1():
    x = torch.full((32, 1, 16, 16), 0.5)
    y = corrupt(x, "saltpepper:0.2", generator=torch.Generator().manual_seed(0))
    changed = y != 0.5
    assert abs(changed.float().mean().item() - 0.2) < 0.02
    assert set(y[changed].unique().tolist()) == {0.0, 1.0}


def test_same_generator_same_corruption():
    x = torch.rand(4, 1, 8, 8)
    for spec in ("gaussian:0.3", "mask:0.5", "saltpepper:0.3"):
        a = corrupt(x, spec, generator=torch.Generator().manual_seed(3))
        b = corrupt(x, spec, generator=torch.Generator().manual_seed(3))
        c = corrupt(x, spec, generator=torch.Generator().manual_seed(4))
        assert torch.equal(a, b) and not torch.equal(a, c)
