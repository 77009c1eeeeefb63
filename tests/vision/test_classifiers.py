"""The classifier zoo: shapes, options, the loss, that a classifier does not sample, and learning."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from generativa.models.base import Batch
from generativa.models.vision.classifiers import LeNet5, ResNet, ScaledTanh
from generativa.registry import build_model, get_preset

ARCHITECTURES = ("lenet5", "alexnet", "vgg", "resnet")


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (1, 28, 28), (3, 64, 64)])
def test_logits_and_features_for_every_size(name, shape):
    torch.manual_seed(0)
    model = build_model(name, data_shape=shape, num_classes=7).eval()
    x = torch.rand(2, *shape)
    assert model.logits(x).shape == (2, 7)
    assert model.features(x).shape == (2, model.feature_dim)
    assert model.predict(x).shape == (2,)
    assert torch.allclose(model.predict_proba(x).sum(1), torch.ones(2))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_loss_step_and_no_sampling(name):
    torch.manual_seed(0)
    model = build_model(name, data_shape=(1, 8, 8), num_classes=10, translate=1, elastic_alpha=0.3)
    batch = Batch(torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,)))
    out = model.loss(batch)
    assert torch.isfinite(out.loss) and set(out.terms) == {"cross_entropy", "accuracy"}
    assert 0.0 <= float(out.terms["accuracy"]) <= 1.0
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out.loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(NotImplementedError, match="cannot sample: it declares predict"):
        model.sample(4)
    assert not model.has_capability("log_prob")
    with pytest.raises(ValueError, match="labelled"):
        model.loss(Batch(torch.rand(2, 1, 8, 8)))


def test_wrong_input_and_bad_choices_say_what_to_do():
    model = build_model("lenet5", data_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ValueError, match="channel"):
        model.logits(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="'tanh', 'relu'"):
        build_model("lenet5", activation="sigmoid")
    with pytest.raises(ValueError, match="6n \\+ 2"):
        build_model("resnet", depth=10)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("vgg", num_classes=0)


def test_lenet_original_and_modern_choices():
    classic = build_model("lenet5", activation="tanh", pooling="avg")
    modern = build_model("lenet5")
    kinds = lambda m: {type(x) for x in m.modules()}  # noqa: E731
    assert ScaledTanh in kinds(classic) and nn.AvgPool2d in kinds(classic) and nn.MaxPool2d not in kinds(classic)
    assert nn.ReLU in kinds(modern) and nn.MaxPool2d in kinds(modern)
    assert isinstance(classic, LeNet5) and classic.feature_dim == 84  # F6
    # scaled tanh: f(a) = 1.7159 tanh(2a/3), so f(1) = 1 approximately [LeCun et al. 1998, app. A]
    assert float(ScaledTanh()(torch.tensor(1.0))) == pytest.approx(1.0, abs=2e-3)


def test_resnet_depth_and_norms():
    for depth, blocks in ((8, 3), (14, 6), (20, 9)):
        assert len(build_model("resnet", depth=depth).blocks) == blocks
    layer = build_model("resnet", norm="layer")
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in layer.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in layer.modules())
    batch = build_model("resnet")
    assert any(isinstance(m, nn.BatchNorm2d) for m in batch.modules())
    # layer norm: an example's features do not depend on the rest of the batch, even in training mode
    layer.train()
    x = torch.rand(4, 1, 8, 8)
    assert torch.allclose(layer.features(x)[:1], layer.features(x[:1]), atol=1e-6)


NORMS = ("batch", "layer", "group", "weight", "none")


@pytest.mark.parametrize("name", ("lenet5", "vgg", "resnet"))
@pytest.mark.parametrize("norm", NORMS)
def test_every_norm_builds_and_trains_a_step(name, norm):
    torch.manual_seed(0)
    extra = {"dropout": 0.0} if name == "vgg" else {}  # so two calls in training mode agree
    model = build_model(name, data_shape=(1, 12, 12), num_classes=10, norm=norm, **extra)
    kinds = {type(m) for m in model.modules()}
    has = lambda *types: any(issubclass(k, types) for k in kinds)  # noqa: E731
    assert has(nn.BatchNorm1d, nn.BatchNorm2d) == (norm == "batch") == model.uses_batch_norm()
    assert has(nn.GroupNorm, nn.LayerNorm) == (norm in ("layer", "group"))
    parametrized = [m for m in model.modules() if hasattr(m, "parametrizations")]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # weight norm reparametrises every convolution (w = g v / ||v||, one g per output channel)
    assert (len(parametrized) >= len(convs) > 0) if norm == "weight" else not parametrized
    batch = Batch(torch.rand(4, 1, 12, 12), torch.randint(0, 10, (4,)))
    out = model.loss(batch)
    assert torch.isfinite(out.loss)
    before = [p.detach().clone() for p in model.parameters()]
    out.loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()) if a.numel() > 1)
    if norm in ("layer", "group", "weight", "none"):  # nothing depends on the rest of the batch
        torch.testing.assert_close(model.logits(batch.x)[:1], model.logits(batch.x[:1]), atol=1e-5, rtol=1e-5)


def test_vgg_without_norm_keeps_its_layers():
    keys = [k for k in build_model("vgg", data_shape=(1, 8, 8), stages=((1, 4), (1, 8))).state_dict()]
    assert keys == ["conv.0.weight", "conv.0.bias", "conv.3.weight", "conv.3.bias", "fc.1.weight", "fc.1.bias",
                    "fc.4.weight", "fc.4.bias", "head.weight", "head.bias"]


def test_weight_norm_starts_from_the_same_function():
    """g = ||v|| at construction: the reparametrised network computes what its plain weights do."""
    torch.manual_seed(0)
    weight = build_model("lenet5", data_shape=(1, 12, 12), norm="weight").eval()
    conv = weight.conv[0]
    w = conv.parametrizations.weight
    v, g = w.original1, w.original0
    torch.testing.assert_close(conv.weight, g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1, 1))


def test_lenet_without_norm_keeps_its_layers():
    """norm='none' (the default) adds no module, so weights saved before the option still load."""
    keys = list(build_model("lenet5").state_dict())
    assert keys == ["conv.0.weight", "conv.0.bias", "conv.3.weight", "conv.3.bias", "fc.1.weight", "fc.1.bias",
                    "fc.4.weight", "fc.4.bias", "head.weight", "head.bias"]


def test_batch_norm_refuses_a_training_batch_of_one():
    one = Batch(torch.rand(1, 1, 8, 8), torch.zeros(1, dtype=torch.long))
    for name in ("lenet5", "resnet"):
        model = build_model(name, norm="batch")
        with pytest.raises(ValueError, match=r"batch norm.*at least 2 examples.*train.batch_size >= 2.*norm=layer"):
            model.loss(one)
        assert torch.isfinite(model.eval().loss(one).loss)  # evaluation uses the running averages
        assert torch.isfinite(build_model(name, norm="layer").loss(one).loss)  # layer norm needs no batch
    with pytest.raises(ValueError, match="'batch', 'layer', 'group', 'weight', 'none'"):
        build_model("lenet5", norm="instance")
    with pytest.raises(ValueError, match="'batch', 'layer', 'group', 'weight', 'none'"):
        build_model("resnet", norm="batchnorm")


def test_augmentation_is_seeded_and_only_in_training():
    model = build_model("lenet5", translate=1, elastic_alpha=0.5, augment_seed=3)
    x = torch.rand(4, 1, 8, 8)
    a = model.augment(x)
    assert not torch.equal(a, x)
    twin = build_model("lenet5", translate=1, elastic_alpha=0.5, augment_seed=3)
    assert torch.equal(twin.augment(x), a)
    model.eval()
    batch = Batch(x, torch.zeros(4, dtype=torch.long))
    assert torch.equal(model.loss(batch).loss, model.loss(batch).loss)  # no augmentation in eval mode


def test_presets_build_and_say_their_data():
    for name, data in (("lenet5_digits", "digits"), ("resnet_digits", "digits"),
                       ("lenet5_shapes", "shapes"), ("resnet_shapes", "shapes")):
        preset = get_preset(name)
        assert preset.data == data
        model = build_model(preset.model, preset.config)
        assert model.logits(torch.rand(1, *preset.config.data_shape)).shape == (1, preset.config.num_classes)


def test_lenet_learns_digits_quickly():
    from generativa.data import load_data

    torch.manual_seed(0)
    data = load_data("digits")
    config = dataclasses.replace(get_preset("lenet5_digits").config, elastic_alpha=0.0)
    model = LeNet5(config)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = data.train.images(), data.train.labels
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        i = torch.randint(0, len(x), (64,), generator=g)
        opt.zero_grad()
        model.loss(Batch(x[i], y[i])).loss.backward()
        opt.step()
    model.eval()
    accuracy = float((model.predict(data.test.images()) == data.test.labels).float().mean())
    assert accuracy > 0.8


def test_resnet_is_a_classifier_of_the_registry():
    assert isinstance(build_model("resnet"), ResNet)
