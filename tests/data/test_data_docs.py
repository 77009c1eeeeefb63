"""The examples in docs/data.md run as written (except those fenced ``python no-run``, which need a user's files)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"


@pytest.mark.skipif(not DOC.exists(), reason="docs are not shipped with the installed package")
def test_data_doc_examples_run():
    examples = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(examples) >= 3
    namespace: dict = {}
    for code in examples:
        exec(code, namespace)
    assert namespace["covered"] > 0.95
    assert namespace["x"].shape == (1000, 2)
