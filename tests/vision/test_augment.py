"""Augmentations: translation moves pixels exactly, flips mirror, elastic deformation is smooth and seeded."""

from __future__ import annotations

import torch

from generativa.models.vision.augment import (
    elastic_deform,
    elastic_field,
    random_flip,
    random_translate,
    warp,
)


def test_translation_moves_a_pixel_by_at_most_the_shift():
    x = torch.zeros(50, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    out = random_translate(x, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(50))  # nothing lost at this shift
    pos = out.flatten(1).argmax(1)
    dy, dx = pos // 9 - 4, pos % 9 - 4
    assert dy.abs().max() == 2 and dx.abs().max() == 2 and len(set(zip(dy.tolist(), dx.tolist()))) > 10


def test_flip_mirrors_left_right():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    out = random_flip(x, generator=torch.Generator().manual_seed(0))
    flipped = (out != x).flatten(1).any(1)
    assert 10 < int(flipped.sum()) < 54
    assert torch.equal(out[flipped], x[flipped].flip(-1))


def test_warp_with_zero_field_is_identity_and_integer_field_shifts():
    x = torch.rand(2, 3, 8, 8)
    assert torch.allclose(warp(x, torch.zeros(2, 2, 8, 8)), x, atol=1e-6)
    field = torch.zeros(2, 2, 8, 8)
    field[:, 1] = 1.0  # read one pixel to the right: content moves left
    assert torch.allclose(warp(x, field)[..., :-1], x[..., 1:], atol=1e-6)


def test_elastic_deformation_is_seeded_smooth_and_scaled():
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    field = elastic_field(4, 32, 32, alpha=2.0, sigma=4.0, generator=g())
    rms = field.pow(2).mean(dim=(1, 2, 3)).sqrt()
    assert torch.allclose(rms, torch.full((4,), 2.0), rtol=1e-4)
    rough = elastic_field(4, 32, 32, alpha=2.0, sigma=0.5, generator=g())
    step = lambda f: (f[..., 1:] - f[..., :-1]).abs().mean()  # noqa: E731
    assert step(field) < 0.5 * step(rough)  # a larger sigma gives a smoother field
    x = torch.rand(4, 1, 32, 32)
    a, b = elastic_deform(x, 1.0, 4.0, generator=g()), elastic_deform(x, 1.0, 4.0, generator=g())
    assert torch.equal(a, b) and not torch.equal(a, x) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(elastic_deform(x, 0.0, 4.0), x)
