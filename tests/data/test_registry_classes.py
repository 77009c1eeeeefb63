import pytest

from generativa.data import load_data
from generativa.data.errors import DataError


def test_classes_keeps_only_those_labels_in_the_training_split():
    full = load_data("digits")
    d = load_data("digits", classes="3,5")
    assert sorted(d.train.labels.unique().tolist()) == [3, 5]
    assert len(d.train) == int(((full.train.labels == 3) | (full.train.labels == 5)).sum())
    assert len(d.test) == len(full.test) and d.num_classes == 10  # the test split keeps every class
    again = load_data(d.spec, **d.options)
    assert len(again.train) == len(d.train)


@pytest.mark.parametrize("bad", ["11", "a,b", "-1"])
def test_bad_classes_are_refused(bad):
    with pytest.raises(DataError, match="classes"):
        load_data("digits", classes=bad)


def test_classes_needs_labels():
    with pytest.raises(DataError):
        load_data("toy2d:ring8", classes="0")
