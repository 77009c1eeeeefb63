"""Feature networks: trained once and cached with their accuracy; TorchScript input convention; pixels."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from generativa.evaluation import features as features_module
from generativa.evaluation.features import (
    PixelFeatures,
    TorchScriptFeatures,
    feature_key,
    feature_network,
    resolve_feature_net,
)


def test_classifier_is_cached_with_its_metadata(digits, lenet_features, feature_cache, quick_training, monkeypatch):
    info = lenet_features.describe()
    assert info["kind"] == "classifier" and info["architecture"] == "lenet5"
    assert info["dataset_hash"] == digits.content_hash()
    assert info["test_accuracy"] > 0.85 and info["feature_dim"] == 84
    key = feature_key("lenet5", digits)
    meta = json.loads((feature_cache / f"{key}.json").read_text())
    assert meta["test_accuracy"] == info["test_accuracy"] and "library_version" in meta
    assert (feature_cache / f"{key}.safetensors").is_file()

    # the second call loads: training would raise
    def no_training(*args, **kwargs):
        raise AssertionError("the cached network was trained again")

    monkeypatch.setattr(features_module, "train_classifier", no_training)
    again = feature_network(digits, "lenet5", training=quick_training, cache=feature_cache)
    x = digits.test.images(slice(0, 16))
    assert torch.equal(again.features(x), lenet_features.features(x))
    f, logits = again.features_and_logits(x, batch_size=5)
    assert f.shape == (16, 84) and logits.shape == (16, 10) and f.dtype == torch.float64


def test_unlabelled_data_cannot_train_a_classifier(digits):
    from generativa.data.base import DataSplits

    bare = DataSplits(digits.train.subset(torch.arange(50)), digits.test.subset(torch.arange(20)), "digits")
    bare.train.labels = None
    bare.test.labels = None
    with pytest.raises(ValueError, match="no labels"):
        feature_network(bare, "lenet5")
    net = resolve_feature_net(None, bare)
    assert isinstance(net, PixelFeatures) and net.describe()["feature_dim"] == 64


def test_pixel_features_pool_large_images():
    net = PixelFeatures((3, 64, 64))
    assert net.features(torch.rand(2, 3, 64, 64)).shape == (2, 768)  # pooled 4x4: 3 * 16 * 16
    assert "pooled 4x4" in net.describe()["note"]
    assert PixelFeatures((2,)).features(torch.rand(5, 2)).shape == (5, 2)


class _Probe(nn.Module):
    """A scripted stand-in for an Inception network: reports what it was given."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        shape = torch.tensor([float(x.shape[1]), float(x.shape[2]), float(x.shape[3])]).expand(b, 3)
        stats = torch.stack([x.amin(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3))], dim=1)
        return torch.cat([shape, stats], dim=1), x.mean(dim=1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_network_gets_the_documented_input(tmp_path):
    path = tmp_path / "probe.pt"
    torch.jit.save(torch.jit.script(_Probe()), str(path))
    net = resolve_feature_net(f"torchscript:{path}", data=None)
    assert isinstance(net, TorchScriptFeatures)
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, :4] = 1.0  # half white, half black
    out = net.features(x)
    assert out.shape == (2, 6)  # first item of the tuple, flattened
    assert out[0, :3].tolist() == [3.0, 299.0, 299.0]  # three channels at 299 x 299
    assert out[0, 3].item() == pytest.approx(-1.0) and out[0, 4].item() == pytest.approx(1.0)  # [-1, 1]
    assert abs(out[0, 5].item()) < 0.02  # half and half -> mean ~0
    assert net.logits(x) is None and net.describe()["kind"] == "torchscript"
    with pytest.raises(FileNotFoundError, match="torch.jit.save"):
        TorchScriptFeatures(tmp_path / "missing.pt")


def test_elastic_augmentation_only_for_handwriting(digits):
    from generativa.data.base import DataSplits
    from generativa.evaluation.features import FeatureTraining, build_feature_classifier, uses_elastic

    sprites = DataSplits(digits.train, digits.test, "shapes")
    assert uses_elastic(FeatureTraining(), digits) and not uses_elastic(FeatureTraining(), sprites)
    assert uses_elastic(FeatureTraining(elastic=True), sprites)
    assert build_feature_classifier("lenet5", digits, FeatureTraining()).config.elastic_alpha == pytest.approx(0.3)
    assert build_feature_classifier("resnet", sprites, FeatureTraining()).config.elastic_alpha == 0.0


def test_feature_training_repeats_exactly(digits, tmp_path):
    from generativa.evaluation.features import FeatureTraining

    training = FeatureTraining(steps=20)
    a = feature_network(digits, "lenet5", training=training, cache=tmp_path / "a")
    torch.rand(3)  # the caller's random stream must not matter
    b = feature_network(digits, "lenet5", training=training, cache=tmp_path / "b")
    x = digits.test.images(slice(0, 8))
    assert torch.equal(a.features(x), b.features(x))
