"""``generativa report RUN``: the report, with the evaluation classifier it draws on.

The reporting package trains nothing. Views of an image model that samples labelled data (the class
histogram of a GAN's samples, mode collapse) use the dataset's evaluation classifier; this workflow
makes sure it is cached first (trained once per dataset, as ``generativa evaluate`` does), then
writes the page.
"""

from __future__ import annotations

from pathlib import Path


def report_run(run: str | Path, *, progress: bool = True) -> Path:
    """Write RUN/report.html and return its path."""
    from generativa.evaluation.features import feature_network
    from generativa.reporting.report import write_report
    from generativa.training.run import RunDir

    rd = RunDir(run)
    classifier = None
    if rd.model_info.get("data_shape") and len(rd.model_info["data_shape"]) == 3:
        try:
            data = rd.load_data()
        except Exception:  # noqa: BLE001 - the report says what it could not show
            data = None
        model_samples = rd.load_model().capabilities.sample
        if data is not None and model_samples and data.num_classes >= 2 and data.train.labels is not None:
            classifier = feature_network(data, "lenet5", progress=progress)
    return write_report(run, classifier=classifier)
