"""The examples in docs/building_blocks.md run as written."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "building_blocks.md"


@pytest.mark.skipif(not DOC.exists(), reason="docs are not shipped with the installed package")
def test_building_blocks_examples_run():
    examples = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(examples) >= 3
    namespace: dict = {}
    for code in examples:  # later examples reuse names from earlier ones, like a lecture
        exec(code, namespace)
