"""The transformer over VQ-VAE codes: causal, the key-value cache equals the full pass, cached sampling
gives the naive codes, the class token conditions."""

from __future__ import annotations

import torch

from generativa.models.autoregressive.code_transformer import CodeTransformer, CodeTransformerConfig
from generativa.models.base import Batch


def build(**kw):
    torch.manual_seed(0)
    return CodeTransformer(CodeTransformerConfig(data_shape=(1, 8, 8), width=32, layers=2, heads=4, **kw)).eval()


def test_a_later_code_never_changes_an_earlier_prediction():
    model = build()
    L = model.L
    tokens = torch.randint(0, model.K, (3, L))
    tokens[:, 0] = model.K                                           # the start token
    base = model.logits(tokens)
    for t in range(1, L):
        changed = tokens.clone()
        changed[:, t:] = torch.randint(0, model.K, (3, L - t))
        out = model.logits(changed)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-5), f"position < {t} saw a later code"
        assert not torch.allclose(out[:, t:], base[:, t:])


def test_the_key_value_cache_gives_the_full_pass_logits():
    model = build()
    tokens = torch.randint(0, model.K, (2, model.L))
    tokens[:, 0] = model.K
    full = model.logits(tokens)
    caches = [{} for _ in model.blocks]
    for t in range(model.L):
        step = model.logits(tokens[:, t:t + 1], caches, offset=t)
        assert torch.allclose(step[:, 0], full[:, t], atol=1e-5)


def test_cached_sampling_gives_the_naive_codes_and_images():
    model = build()
    a = model.sample_codes(5, generator=torch.Generator().manual_seed(3))
    b = model.sample_codes(5, generator=torch.Generator().manual_seed(3), method="naive")
    assert a.shape == (5, *model.vqvae.grid) and torch.equal(a, b)
    x = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, model.vqvae.decode(a).clamp(0, 1))


def test_the_class_token_conditions_and_the_loss_is_in_nats_of_the_codes():
    model = build(conditional=True, num_classes=3)
    x = torch.rand(4, 1, 8, 8)
    a = model.loss(Batch(x, labels=torch.tensor([0, 0, 1, 2])))
    b = model.loss(Batch(x, labels=torch.tensor([1, 2, 0, 0])))
    assert not torch.allclose(a.loss, b.loss)
    # an untrained model is close to uniform over the K codes: about L log K nats per image
    assert abs(float(a.terms["code_nll"]) - model.L * torch.log(torch.tensor(float(model.K)))) < 0.5 * model.L
