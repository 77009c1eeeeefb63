"""CycleGAN: the losses against a hand computation, the image pool, translation, the domain split."""

from __future__ import annotations

import pytest
import torch

from generativa.data import load_data
from generativa.data.domains import shear
from generativa.data.errors import DataError
from generativa.models.base import Batch
from generativa.models.gans.cyclegan import CycleGAN, CycleGANConfig, ImagePool
from generativa.training.config import TrainConfig
from generativa.training.trainer import Trainer


def _model(**kw) -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(CycleGANConfig(**{"data_shape": (1, 8, 8), "base_width": 4, "res_blocks": 1, "d_base_width": 4,
                                      "pool_size": 4, **kw}))


def test_generator_loss_by_hand():
    m = _model().train()
    a, b = torch.rand(3, 1, 8, 8), torch.rand(3, 1, 8, 8)
    out = m.generator_loss(Batch(a, x_b=b))
    A, B = a * 2 - 1, b * 2 - 1                       # model space
    G, F_, DA, DB = m.g_ab, m.g_ba, m.d_a, m.d_b
    adversarial = ((DB(G(A)) - 1) ** 2).mean() + ((DA(F_(B)) - 1) ** 2).mean()
    cycle = (F_(G(A)) - A).abs().mean() + (G(F_(B)) - B).abs().mean()
    identity = (G(B) - B).abs().mean() + (F_(A) - A).abs().mean()
    torch.testing.assert_close(out.terms["adversarial"], adversarial.detach())
    torch.testing.assert_close(out.terms["cycle"], cycle.detach())
    torch.testing.assert_close(out.terms["identity"], identity.detach())
    torch.testing.assert_close(out.loss, adversarial + 10 * cycle + 0.5 * 10 * identity)
    # without identity: only the adversarial and cycle terms
    bare = _model(identity_weight=0.0).train()
    assert "identity" not in bare.generator_loss(Batch(a, x_b=b)).terms


def test_discriminator_loss_is_least_squares_on_the_generator_steps_fakes():
    m = _model(pool_size=0).train()
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    m.generator_loss(Batch(a, x_b=b))
    fake_a, fake_b = m._fakes
    a2, b2 = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)   # the discriminators' own batch
    out = m.discriminator_loss(Batch(a2, x_b=b2))
    A, B = a2 * 2 - 1, b2 * 2 - 1
    want_a = 0.5 * (((m.d_a(A) - 1) ** 2).mean() + (m.d_a(fake_a) ** 2).mean())
    want_b = 0.5 * (((m.d_b(B) - 1) ** 2).mean() + (m.d_b(fake_b) ** 2).mean())
    torch.testing.assert_close(out.loss, want_a + want_b)
    assert m._fakes is None
    with pytest.raises(ValueError, match="domains="):
        m.discriminator_loss(Batch(a2))


def test_image_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(3, (1, 2, 2))
    first = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    assert torch.equal(pool.query(first), first) and int(pool.count) == 3   # filling: returned as given
    torch.manual_seed(0)
    swapped = 0
    for step in range(400):
        new = torch.full((1, 1, 2, 2), 100.0 + step)
        before = pool.images.clone()
        got = pool.query(new)
        if torch.equal(got, new):
            assert torch.equal(pool.images, before)                    # kept the new one out
        else:
            swapped += 1
            i = next(i for i in range(3) if torch.equal(before[i], got[0]))   # an older stored image ...
            assert torch.equal(pool.images[i], new[0])                  # ... replaced by the new one
            assert torch.equal(torch.cat([pool.images[:i], pool.images[i + 1:]]),
                               torch.cat([before[:i], before[i + 1:]]))
    assert 160 < swapped < 240                                          # p = 1/2
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(new), new)


def test_translate_and_the_cycle():
    m = _model().eval()
    x = torch.rand(2, 1, 8, 8)
    to_b, to_a = m.translate(x), m.translate(x, domain="a")
    assert to_b.shape == x.shape and not torch.equal(to_b, to_a)
    torch.testing.assert_close(m.reconstruct(x), m.translate(to_b, domain="a"))
    with pytest.raises(ValueError, match="use 'a' or 'b'"):
        m.translate(x, domain="c")


def test_domains_split_thin_from_thick_per_class():
    d = load_data("digits", domains="thickness")
    a, b = d.train, d.domain_b.train
    assert len(a) + len(b) == len(load_data("digits").train) and d.domain_b.test is not None
    for k in range(10):   # every class in both domains, and thinner in A
        ink_a = a.x[a.labels == k].float().flatten(1).sum(1)
        ink_b = b.x[b.labels == k].float().flatten(1).sum(1)
        assert len(ink_a) > 0 and len(ink_b) > 0 and ink_a.max() <= ink_b.min()
    assert d.options["domains"] == "thickness"
    faces = load_data("faces", n=200, n_test=50, domains="factor:glasses=0")
    g = faces.train.factor_names.index("glasses")
    assert (faces.train.factors[:, g] == 0).all() and (faces.domain_b.train.factors[:, g] != 0).all()
    with pytest.raises(DataError, match="factor:NAME=V"):
        load_data("faces", n=50, n_test=10, domains="factor:nose=1")
    with pytest.raises(DataError, match="thickness"):
        load_data("digits", domains="colour")


def test_shear_of_a_slanted_bar():
    x = torch.zeros(2, 1, 9, 9)
    for r in range(9):
        x[0, 0, r, 4] = 1.0            # upright
        x[1, 0, r, r] = 1.0            # one column per row
    s = shear(x)
    assert abs(float(s[0])) < 1e-6 and abs(float(s[1]) - 1.0) < 1e-5


def test_the_trainer_refuses_one_domain(tmp_path):
    with pytest.raises(ValueError, match="has one; split it with the data option domains="):
        Trainer(_model(), load_data("digits"), TrainConfig(steps=1, batch_size=8, progress=False), None)
