"""The evaluation protocol and its metrics (docs/evaluation.md).

    from generativa.evaluation import evaluate_run
    result = evaluate_run("runs/demo")            # metrics, real-vs-real floors, protocol

Metric functions work on tensors and need nothing else: ``fid.fid``, ``kid.kid``,
``precision_recall.precision_recall`` / ``density_coverage``, ``inception_score.inception_score``,
``mode_coverage.mode_coverage``, ``reconstruction.mse`` / ``psnr`` / ``ssim``,
``detection.auroc`` / ``average_precision``, ``likelihood.bits_per_dim``.
"""


def __getattr__(name):
    # Lazy: the metric modules stay importable without the trainer and the registry.
    if name in ("evaluate_run", "evaluate_model"):
        from generativa.evaluation import protocol

        return getattr(protocol, name)
    if name == "compare_runs":
        from generativa.evaluation.compare import compare_runs

        return compare_runs
    raise AttributeError(f"module 'generativa.evaluation' has no attribute {name!r}")
