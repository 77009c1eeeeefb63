"""The report section of pixel-level autoregressive models."""

import pytest
from helpers import report_context

import generativa


@pytest.mark.parametrize("conditional", [False, True])
def test_section_shows_samples_completions_surprise_and_the_exact_nll(tmp_path, conditional):
    from generativa.reporting.sections.autoregressive import sections

    run = generativa.train("gated_pixelcnn_digits", steps=3, out=tmp_path / "run", progress=False,
                           conditional=conditional, layers=2, filters=8, sample_every=0, checkpoint_every=0)
    (section,) = sections(report_context(run))
    for part in ("Samples", "Completions", "surprised", "test NLL", "bits/dim"):
        assert part in section.html
    assert ("given the label" in section.html) == conditional
    assert "<img" in section.html


def test_other_families_get_no_such_section(tmp_path):
    from generativa.reporting.sections.autoregressive import sections

    run = generativa.train("ae", data="digits", steps=2, out=tmp_path / "ae", progress=False, sample_every=0,
                           checkpoint_every=0)
    assert sections(report_context(run)) == []
