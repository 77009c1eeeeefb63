"""The README's examples run as written."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = _blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "runs/first/model.safetensors").exists()


def test_cli_example_runs(tmp_path):
    block = _blocks("bash")[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for line in block.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        args = shlex.split(line)
        assert args[0] == "generativa"
        result = subprocess.run([sys.executable, "-m", "generativa.cli", *args[1:], *(["--quiet"] if args[1] == "train" else [])],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
    assert (tmp_path / "runs/first/report.html").exists()
    assert (tmp_path / "runs/first/grid.png").exists()
    assert (tmp_path / "runs/diffusion/grid.png").exists()
