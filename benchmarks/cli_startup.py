"""How long the command line takes to answer before any work: the median wall time of a few
commands, each started fresh 5 times (python -m generativa.cli ...).

    python benchmarks/cli_startup.py

`--help`, `--version` and usage errors must not import torch (tests/cli/test_usage_errors.py checks
it); commands that list models or datasets import the library and torch.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from common import machine

COMMANDS = [["--help"], ["--version"], ["train", "--help"], ["sample"], ["list", "presets"], ["list", "datasets"],
            ["python -c 'import torch'"]]


def wall(args: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        cmd = [sys.executable, "-c", "import torch"] if args[0].startswith("python") else [sys.executable, "-m",
                                                                                            "generativa.cli", *args]
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


print(machine())
print("load average before:", open("/proc/loadavg").read().split()[:3])
print(f"{'command':<36} median wall time (s), 5 fresh starts")
for args in COMMANDS:
    label = args[0] if args[0].startswith("python") else "generativa " + " ".join(args)
    print(f"{label:<36} {wall(args):.2f}")
print("load average after:", open("/proc/loadavg").read().split()[:3])
