"""generativa: deep generative models of images, trained, measured and explored.

    import generativa
    run = generativa.train("ae", data="digits", steps=500)
    model = generativa.load(run)
    images = model.sample(16)

Every CLI verb has a function here: ``train``, ``resume``, ``load``, ``load_data``, ``sample``
(a grid or .npz from a run), ``evaluate`` (the common protocol), ``report`` (the HTML page).
"""

__version__ = "0.2.0"


def __getattr__(name):
    # Lazy so that `import generativa` stays light for the CLI's --help.
    if name in ("train", "resume"):
        from generativa.workflows import train

        return getattr(train, name)
    if name == "load":
        from generativa.training.checkpoint import load

        return load
    if name == "load_data":
        from generativa.data import load_data

        return load_data
    if name == "sample":
        from generativa.workflows.sample import sample_run

        return sample_run
    if name == "evaluate":
        from generativa.evaluation.protocol import evaluate_run

        return evaluate_run
    if name == "report":
        from generativa.workflows.report import report_run

        return report_run
    raise AttributeError(f"module 'generativa' has no attribute {name!r}")
