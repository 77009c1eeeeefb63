import pytest


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feature_cache")


@pytest.fixture(scope="session")
def quick_training():
    from generativa.evaluation.features import FeatureTraining

    return FeatureTraining(steps=300)


@pytest.fixture(scope="session")
def lenet_features(digits, feature_cache, quick_training):
    """A LeNet-5 feature network of digits, trained once per test session (300 steps)."""
    from generativa.evaluation.features import feature_network

    return feature_network(digits, "lenet5", training=quick_training, cache=feature_cache)
