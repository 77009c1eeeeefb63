import pytest
import torch

from generativa.models.autoencoders.contractive import (
    ContractiveAEConfig,
    ContractiveAutoencoder,
    jacobian_frobenius_sq,
    sigmoid_jacobian_frobenius_sq,
)
from generativa.models.base import Batch

from .conftest import fit


def _tiny(**kw):
    torch.manual_seed(0)
    return ContractiveAutoencoder(ContractiveAEConfig(data_shape=(1, 4, 4), latent_dim=3, hidden=(8,), **kw))


def test_closed_form_equals_autograd_on_a_tiny_model():
    model = _tiny()
    with torch.no_grad():  # randomise away from the init so the test sees real weights
        for p in model.parameters():
            p.normal_(0, 0.7)
    x = torch.rand(5, 1, 4, 4, dtype=torch.float64)
    model.double()
    h = model.encode(x)
    closed = sigmoid_jacobian_frobenius_sq(h, model.encoder[1].weight)
    full = torch.stack([torch.autograd.functional.jacobian(model.encode, x[i:i + 1]).pow(2).sum() for i in range(5)])
    exact = jacobian_frobenius_sq(model.encode, x, method="exact")
    torch.testing.assert_close(closed, full)
    torch.testing.assert_close(exact, full)
    assert model.loss(Batch(x)).terms["jacobian_frobenius_sq"].item() == pytest.approx(closed.mean().item())


def test_random_projections_are_unbiased():
    model = _tiny(architecture="conv", widths=(4,), jacobian="projections")
    x = torch.rand(3, 1, 4, 4)
    exact = jacobian_frobenius_sq(model.encode, x, method="exact")
    g = torch.Generator().manual_seed(0)
    estimate = jacobian_frobenius_sq(model.encode, x, method="projections", n_projections=2000, generator=g)
    torch.testing.assert_close(estimate, exact, rtol=0.1, atol=0)


def test_contraction_lowers_the_test_jacobian_norm(digits):
    x, _, xt, _ = digits
    cfg = dict(data_shape=(1, 8, 8), latent_dim=16, hidden=(128,))
    torch.manual_seed(0)
    plain = fit(ContractiveAutoencoder(ContractiveAEConfig(**cfg, contraction_weight=0.0)), x, steps=300)
    torch.manual_seed(0)
    cae = fit(ContractiveAutoencoder(ContractiveAEConfig(**cfg, contraction_weight=0.01)), x, steps=300)
    j_plain = jacobian_frobenius_sq(plain.encode, xt).sqrt().mean().item()
    j_cae = jacobian_frobenius_sq(cae.encode, xt).sqrt().mean().item()
    assert j_cae < 0.7 * j_plain, (j_cae, j_plain)


def test_conv_penalty_trains_and_bad_choices_are_refused():
    model = _tiny(architecture="conv", widths=(4,), jacobian="exact", contraction_weight=0.1)
    x = torch.rand(2, 1, 4, 4)
    out = model.loss(Batch(x))
    assert out.terms["jacobian_frobenius_sq"] > 0
    penalty = model.jacobian_penalty(x, model.encode(x))
    penalty.backward()  # the penalty itself is differentiable (double backward through the conv)
    assert model.encoder.blocks[0].conv.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="closed_form"):
        _tiny(architecture="conv", widths=(4,), jacobian="closed_form")
    with pytest.raises(ValueError, match="batch norm"):
        _tiny(norm="batch")
