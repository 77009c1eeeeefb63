"""Whole jobs on run folders, as the command line runs them: ``train`` / ``resume`` (``train.py``) and
``sample_run`` (``sample.py``). The layer above evaluation, reporting and exploration, below the CLI
(docs/architecture.md)."""
