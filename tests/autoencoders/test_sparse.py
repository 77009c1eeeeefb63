import dataclasses

import pytest
import torch

from generativa.models.autoencoders.sparse import SparseAEConfig, SparseAutoencoder, keep_top_k, kl_sparsity
from generativa.registry import get_preset

from .conftest import fit


def _model(**kw):
    torch.manual_seed(0)
    base = dict(data_shape=(1, 8, 8), latent_dim=32, architecture="mlp", hidden=(128,))
    return SparseAutoencoder(SparseAEConfig(**{**base, **kw}))


def test_keep_top_k_keeps_the_k_largest():
    h = torch.tensor([[0.1, -3.0, 2.0, 0.5, 1.0]])
    assert keep_top_k(h, 2).tolist() == [[0.0, 0.0, 2.0, 0.0, 1.0]]


def test_kl_sparsity_is_zero_at_the_target_and_positive_elsewhere():
    h = torch.full((10, 4), 0.05)
    assert kl_sparsity(h, 0.05).abs().item() < 1e-6
    assert kl_sparsity(torch.full((10, 4), 0.3), 0.05).item() > 0.1


def test_k_sparse_codes_have_exactly_k_non_zeros(digits):
    x, _, xt, _ = digits
    model = fit(_model(sparsity="topk", k=5), x, steps=150)
    h = model.encode(xt)
    assert ((h != 0).sum(1) == 5).all()


def test_top_k_gradient_flows_through_the_kept_units_only():
    pre = torch.randn(4, 8, requires_grad=True)
    keep_top_k(pre, 3).sum().backward()
    assert (pre.grad.sum(1) == 3).all() and ((pre.grad == 0) | (pre.grad == 1)).all()


def test_kl_sparse_mean_activation_reaches_rho(digits):
    x, _, xt, _ = digits
    model = fit(_model(sparsity="kl", rho=0.05, kl_weight=0.1), x, steps=400)
    with torch.no_grad():
        mean_activation = model.encode(xt).mean().item()
    assert abs(mean_activation - 0.05) < 0.02, mean_activation


def test_l1_lowers_mean_absolute_activation(digits):
    x, _, xt, _ = digits
    plain = fit(_model(sparsity="l1", l1_weight=0.0), x, steps=300)
    sparse = fit(_model(sparsity="l1", l1_weight=3e-3), x, steps=300)
    with torch.no_grad():
        plain, sparse = (m.encode(xt).abs().mean().item() for m in (plain, sparse))
    assert sparse < 0.7 * plain, (sparse, plain)


def test_kl_needs_sigmoid_codes_and_k_must_fit():
    with pytest.raises(ValueError, match="sigmoid"):
        _model(sparsity="kl", code_activation="relu")
    with pytest.raises(ValueError, match="k must lie"):
        _model(sparsity="topk", k=64)
    with pytest.raises(ValueError, match="sparsity"):
        _model(sparsity="l0")


def test_presets_build():
    for name in ("sparse_ae_digits", "sparse_kl_digits", "sparse_topk_digits"):
        p = get_preset(name)
        model = SparseAutoencoder(dataclasses.replace(p.config))
        assert model.encode(torch.rand(2, 1, 8, 8)).shape == (2, 32)
