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


def test_guided_models_of_any_family_get_the_guidance_grid(tmp_path):
    from generativa.reporting.sections.guidance import GUIDANCE_SCALES, sections

    common = dict(progress=False, sample_every=0, checkpoint_every=0, conditional=True)
    guided = generativa.train("gated_pixelcnn_digits", steps=2, out=tmp_path / "g", layers=2, filters=8,
                              label_dropout=0.1, **common)
    (section,) = sections(report_context(guided))
    assert "Classifier-free guidance" == section.title and "<img" in section.html
    assert all(f"{w:g}" in section.html for w in GUIDANCE_SCALES)
    unguided = generativa.train("gated_pixelcnn_digits", steps=2, out=tmp_path / "u", layers=2, filters=8, **common)
    assert sections(report_context(unguided)) == []
