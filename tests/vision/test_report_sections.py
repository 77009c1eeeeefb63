"""The report's views of vision models: feature maps layer by layer for a classifier; the weight map,
predictions and metrics for a segmenter."""

from types import SimpleNamespace

import torch

from generativa.data import load_data
from generativa.models.vision.classifiers import LeNet5, LeNet5Config
from generativa.models.vision.unet import UNet, UNetConfig
from generativa.reporting.sections import feature_maps, segmentation


def _ctx(model, data):
    return SimpleNamespace(model=model, data=data, capabilities=model.capabilities)


def test_feature_maps_of_every_convolution(digits):
    model = LeNet5(LeNet5Config(data_shape=(1, 8, 8), num_classes=10))
    maps = feature_maps.feature_maps(model.eval(), torch.rand(1, 1, 8, 8))
    assert [(name, tuple(m.shape)) for name, m in maps] == [("conv.0", (6, 8, 8)), ("conv.3", (16, 4, 4))]
    (section,) = feature_maps.sections(_ctx(model, digits))
    assert section.title == "Feature maps" and "<img" in section.html


def test_segmentation_section_shows_weight_map_predictions_and_metrics():
    data = load_data("cells", n=2, n_test=3)
    model = UNet(UNetConfig(data_shape=(1, 64, 64), depth=2, width=2))
    (section,) = segmentation.sections(_ctx(model, data))
    assert "weight map" in section.html and "Predictions" in section.html and "rand_error" in section.html
    assert feature_maps.sections(_ctx(model, data)) == []  # a segmenter has no classifier view
