"""Progress of a long job on standard error: a bar on a terminal, a short line now and then elsewhere.

On a terminal: a tqdm bar over the steps, or over the time budget when the run is bounded by
minutes alone (``--minutes`` without ``--steps``), with the latest loss. Anywhere else (a CI log, a
file, a notebook's captured output): one line every ``interval`` seconds and at the end, instead of a
carriage-return line per update.
"""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Progress:
    """``update(step, elapsed, loss)`` after each step; ``close()`` at the end."""

    def __init__(self, name: str, *, total_steps: int | None, budget_s: float | None, initial: int = 0,
                 elapsed: float = 0.0, enabled: bool = True, stream=None, interval: float = 30.0,
                 terminal: bool | None = None):
        self.name = name
        self.total = total_steps
        self.budget = budget_s
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self.terminal = (hasattr(self.stream, "isatty") and self.stream.isatty()) if terminal is None else terminal
        self.bar = None
        self.started = time.perf_counter() - elapsed
        self.last_line = time.perf_counter()
        self.step, self.elapsed, self.loss = initial, elapsed, None
        if not enabled:
            return
        if self.terminal:
            from tqdm.auto import tqdm

            if self.total is not None:
                self.bar = tqdm(total=self.total, initial=initial, desc=name, unit="step", dynamic_ncols=True,
                                leave=True, file=self.stream)
            else:
                self.bar = tqdm(total=round(self.budget or 0), initial=round(elapsed), desc=name, unit="s",
                                dynamic_ncols=True, leave=True, file=self.stream,
                                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of the time budget{postfix}")

    def update(self, step: int, elapsed: float | None = None, loss: float | None = None) -> None:
        """After ``step`` steps, ``elapsed`` seconds in (default: since this object was made)."""
        if not self.enabled:
            return
        if elapsed is None:
            elapsed = time.perf_counter() - self.started
        done = step - self.step
        self.step, self.elapsed = step, elapsed
        if loss is not None:
            self.loss = loss
        if self.bar is not None:
            if self.total is not None:
                self.bar.update(done)
            else:
                self.bar.update(min(elapsed, self.budget or elapsed) - self.bar.n)
            postfix = {}
            if self.loss is not None:
                postfix["loss"] = f"{self.loss:.4g}"
            if self.total is None:
                postfix["step"] = step
            elif self.budget is not None:
                postfix["time left"] = _clock(max(self.budget - elapsed, 0))
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            return
        now = time.perf_counter()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self._line()

    def _line(self, final: bool = False) -> None:
        parts = [self.name]
        if self.total is not None:
            parts.append(f"step {self.step}/{self.total} ({100 * self.step / max(self.total, 1):.0f}%)")
        else:
            parts.append(f"step {self.step}")
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4g}")
        parts.append(f"{_clock(self.elapsed)} elapsed")
        if not final:
            left = None
            if self.total is not None and self.step:
                left = self.elapsed / self.step * (self.total - self.step)
            if self.budget is not None:
                left = min(left, self.budget - self.elapsed) if left is not None else self.budget - self.elapsed
            if left is not None:
                parts.append(f"~{_clock(max(left, 0))} left")
        else:
            parts.append("done")
        print("  ".join(parts), file=self.stream, flush=True)

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        else:
            self._line(final=True)
