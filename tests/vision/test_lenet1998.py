"""LeNet-5 as published: the paper's parameter counts layer by layer, C3's connection table, the
trainable subsampling, the RBF output and the MAP criterion against hand computations."""

import math

import pytest
import torch

from generativa.models.base import Batch
from generativa.models.vision.lenet1998 import C3_TABLE, LeNet5Paper, LeNet5PaperConfig, digit_codes


def _model(**kw):
    torch.manual_seed(0)
    return LeNet5Paper(LeNet5PaperConfig(data_shape=(1, 28, 28), num_classes=10, **kw))


def test_parameter_counts_are_the_papers():
    m = _model()
    count = lambda layer: sum(p.numel() for p in layer.parameters())  # noqa: E731
    assert count(m.c1) == 156 and count(m.s2) == 12 and count(m.s4) == 32  # [sec. II-B]
    assert m.c3.connections_used() == 1516
    assert count(m.c5) == 48120 and count(m.f6) == 10164
    assert sum(p.numel() for p in m.head.parameters()) == 0  # the RBF codes are fixed


def test_c3_reads_only_the_s2_maps_of_table_one():
    assert [len(t) for t in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert C3_TABLE[4] == (4, 5, 0) and C3_TABLE[12] == (0, 1, 3, 4) and C3_TABLE[14] == (0, 2, 3, 5)
    m = _model()
    s2 = torch.randn(1, 6, 14, 14, requires_grad=True)
    out = m.c3(s2)
    for k, inputs in enumerate(C3_TABLE):
        (grad,) = torch.autograd.grad(out[0, k].sum(), s2, retain_graph=True)
        reads = {i for i in range(6) if grad[0, i].abs().sum() > 0}
        assert reads == set(inputs), k


def test_subsampling_is_a_squashed_trainable_sum_of_each_window():
    m = _model()
    x = torch.randn(2, 6, 4, 4)
    with torch.no_grad():
        m.s2.alpha.copy_(torch.linspace(-1, 1, 6))
        m.s2.beta.copy_(torch.linspace(0, 0.5, 6))
    k, i, j = 3, 1, 0
    window = x[1, k, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum()
    expected = 1.7159 * math.tanh(2 / 3 * float((m.s2.alpha[k] * window + m.s2.beta[k]).detach()))
    assert float(m.s2(x)[1, k, i, j].detach()) == pytest.approx(expected, rel=1e-5)


def test_rbf_penalties_and_the_map_criterion():
    m = _model(map_j=1.5)
    codes = digit_codes()
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(c.tolist()) for c in codes}) == 10
    x = torch.rand(3, 1, 28, 28)
    labels = torch.tensor([0, 4, 9])
    f6 = m.body(x)
    penalties = torch.stack([((f6[b] - codes[i]) ** 2).sum() for b in range(3) for i in range(10)]).view(3, 10)
    torch.testing.assert_close(-m.logits(x), penalties)
    expected = sum(float(penalties[b, labels[b]]) + math.log(math.exp(-1.5) + float(torch.exp(-penalties[b]).sum()))
                   for b in range(3)) / 3  # [eq. 9]
    m.eval()
    assert float(m.loss(Batch(x, labels)).loss) == pytest.approx(expected, rel=1e-5)
    assert torch.equal(m.predict(x), penalties.argmin(1))


def test_inputs_larger_than_the_field_are_refused():
    with pytest.raises(ValueError, match="32x32 field"):
        LeNet5Paper(LeNet5PaperConfig(data_shape=(1, 64, 64), num_classes=10))
