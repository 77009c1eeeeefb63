"""The one training loop for every family.

It owns: device placement and data parallelism (accelerate / torch.distributed), bf16 autocast,
the optimiser of each player (parameter groups with their own learning-rate scale) and the
learning-rate schedule, gradient clipping, EMA weights with warm-up, a guard that skips non-finite
steps and stops after several in a row, the model's hooks (``on_step``, ``data_init``,
``on_fit_end``), progress, logging (metrics.jsonl and TensorBoard events), periodic sample grids and
test loss, checkpoints that are committed atomically, and bit-for-bit resume.

Everything about the model comes from its declaration (``model.capabilities``) and its methods:
``players()`` (one "model" player for a single objective), ``frozen_modules()``, ``generators()``.
Each round steps every player ``player.steps`` times, in order, each step on a fresh batch. ``step``
counts rounds.

Data parallelism: every process draws the same global batch indices from the same seeded
permutation and takes its own contiguous slice; gradients are averaged across processes after each
backward pass (one all-reduce per player step over a flattened bucket). So N processes with batch
B/N compute the same update as one process with batch B, up to float summation order. Buffers such
as BatchNorm statistics are per-process; rank 0's are saved. A data-dependent initialisation sees
the whole first global batch on every process, so 1 and N processes start from the same weights.

Signals: the first Ctrl-C (SIGINT) or SIGTERM lets the current round finish, commits a checkpoint
and raises ``TrainingInterrupted``; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from generativa.configs import to_dict
from generativa.data.base import DataSplits
from generativa.io.atomic import (
    append_line,
    refuse_symlinks,
    save_tensors_atomic,
    write_json_atomic,
    write_text_atomic,
)
from generativa.models.base import Batch, Model, Player
from generativa.training import state as saved_state
from generativa.training import store
from generativa.training.checkpoint import (
    EMA_PREFIX,
    CheckpointError,
    check_tensors,
    read_header,
    read_model_info,
    read_safetensors,
    save_model,
)
from generativa.training.config import TrainConfig
from generativa.training.ema import EMA
from generativa.training.progress import Progress


class TrainingStopped(RuntimeError):
    """Training stopped early (repeated non-finite steps); the message says what was kept."""


class TrainingInterrupted(Exception):
    """Training was interrupted by a signal at a round boundary; the message says what was saved."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number


def resolve_device(name: str) -> torch.device:
    """``auto``: a CUDA GPU where torch sees one, else the CPU. An explicit device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build of torch" if torch.version.cuda is None else f"torch built for CUDA {torch.version.cuda}"
        raise ValueError(f"device=cuda, but torch sees no CUDA GPU ({build}); pass device=auto or device=cpu, "
                         "or install a CUDA build of torch (README: GPU users)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device=mps, but this machine has no Apple GPU that torch can use; pass device=auto or cpu")
    return torch.device(name)


class Trainer:
    def __init__(self, model: Model, data: DataSplits, config: TrainConfig,
                 run_dir: str | Path | None = None, *, accelerator=None,
                 callbacks: list[Callable[[Trainer, dict], None]] | None = None):
        self.config = config
        self.data = data
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = callbacks or []
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        wanted = resolve_device(config.device)
        if accelerator is None:
            from accelerate import Accelerator

            accelerator = Accelerator(cpu=wanted.type == "cpu")
        self.accelerator = accelerator
        self.device = accelerator.device
        self.rank = accelerator.process_index
        self.world = accelerator.num_processes
        self.is_main = accelerator.is_main_process
        if config.batch_size % self.world:
            raise ValueError(
                f"batch_size={config.batch_size} does not split over {self.world} processes; "
                f"pass a multiple of {self.world}"
            )
        self.local_batch = config.batch_size // self.world
        if config.batch_size > len(data.train):
            raise ValueError(f"batch_size={config.batch_size} is larger than the training set ({len(data.train)}); "
                             "pass a smaller batch_size")

        self.model = model.to(self.device)
        self.caps = model.capabilities
        for module in model.frozen_modules().values():  # pretrained parts: no gradients, eval mode
            module.requires_grad_(False)
            module.eval()
        if config.channels_last and model.is_image_model:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._sync_parameters()
        self.players: list[Player] = model.players()
        if not self.players:
            raise ValueError(f"{type(model).__name__}.players() returned no players")
        self.optimizers = [self._optimizer(p) for p in self.players]
        self.ema = self._new_ema()

        # Data lives on the device as stored (uint8 images); batches are index permutations.
        self.x_train = data.train.x.to(self.device)
        self.y_train = None if data.train.labels is None else data.train.labels.to(self.device)
        self.f_train = None if data.train.factors is None else data.train.factors.to(self.device)
        self.m_train = None if data.train.masks is None else data.train.masks.to(self.device)
        self.batch_generator = torch.Generator().manual_seed(config.seed)
        self._perm = torch.randperm(len(data.train), generator=self.batch_generator)
        self._cursor = 0
        self.train_b = None if data.domain_b is None else data.domain_b.train
        if self.caps.domains == 2 and self.train_b is None:
            raise ValueError(f"{model.name} translates between two image domains, but data {data.spec!r} has one; "
                             "split it with the data option domains= (thickness, slant, or factor:NAME=A,B), "
                             "see docs/data.md")
        if self.train_b is not None:
            if config.batch_size > len(self.train_b):
                raise ValueError(f"batch_size={config.batch_size} is larger than the second domain's training set "
                                 f"({len(self.train_b)}); pass a smaller batch_size")
            self.x_train_b = self.train_b.x.to(self.device)
            self.y_train_b = None if self.train_b.labels is None else self.train_b.labels.to(self.device)
            self._perm_b = torch.randperm(len(self.train_b), generator=self.batch_generator)
            self._cursor_b = 0
        # Per-process stream for the model's own randomness (noise, z, masks): seed + rank.
        torch.manual_seed(config.seed + 1_000_003 * self.rank)

        self.step = 0
        self.elapsed = 0.0
        self.nonfinite_total = 0
        self.nonfinite_in_row = 0
        self.data_initialised = False
        self.resumed = False
        self.last_checkpoint: int | None = None
        self.notes: list[str] = []
        self._events = None
        self._log_sums: dict[str, Tensor] = {}
        self._log_counts: dict[str, int] = {}
        self._signal: int | None = None
        self._fraction = 0.0

    # -- set-up ---------------------------------------------------------------------------------
    def _optimizer(self, player: Player) -> torch.optim.Optimizer:
        c = self.config
        kind = player.optimizer or c.optimizer
        lr = player.lr if player.lr is not None else c.lr
        betas = player.betas if player.betas is not None else c.betas
        groups = [{"params": g.params, "lr_scale": g.lr_scale,
                   "weight_decay": c.weight_decay if g.weight_decay is None else g.weight_decay}
                  for g in player.groups if g.params]
        if not groups:
            raise ValueError(f"player {player.name!r} of {self.model.name} has no trainable parameters")
        params = [p for g in groups for p in g["params"]]
        # The fused kernels update every tensor in one pass (CPU and CUDA); measured faster than
        # the per-tensor loop PyTorch picks by default on the CPU (BENCHMARKS.md, foundation).
        fused = self.device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)
        if kind == "adamw":
            return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused or None)
        if kind == "adam":
            return torch.optim.Adam(groups, lr=lr, betas=betas, fused=fused or None)
        if kind == "rmsprop":
            return torch.optim.RMSprop(groups, lr=lr)
        if kind == "sgd":
            return torch.optim.SGD(groups, lr=lr, momentum=c.momentum)
        raise ValueError(f"player {player.name!r}: unknown optimizer {kind!r}; use adamw, adam, rmsprop or sgd")

    def _new_ema(self) -> EMA | None:
        if not self.config.ema_decay:
            return None
        averaged = {id(p) for player in self.players if player.ema for p in player.params}
        names = [n for n, p in self.model.named_parameters() if id(p) in averaged]
        return EMA(self.model, self.config.ema_decay, names=names, warmup=self.config.ema_warmup)

    def _sync_parameters(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            for t in self.model.state_dict().values():
                dist.broadcast(t, src=0)

    # -- batches --------------------------------------------------------------------------------
    def _draw(self, perm: Tensor, cursor: int, n: int) -> tuple[Tensor, Tensor, int]:
        """This process's slice of the next global batch of a permutation; a new one when used up."""
        B = self.config.batch_size
        if cursor + B > n:
            perm = torch.randperm(n, generator=self.batch_generator)
            cursor = 0
        idx = perm[cursor + self.rank * self.local_batch: cursor + (self.rank + 1) * self.local_batch]
        return perm, idx.to(self.device), cursor + B

    def _images(self, x: Tensor) -> Tensor:
        x = x.float().div_(255.0) if x.dtype == torch.uint8 else x
        if self.config.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def next_batch(self) -> Batch:
        """The next global batch by seeded permutation; this process's slice of it."""
        self._perm, idx, self._cursor = self._draw(self._perm, self._cursor, len(self.data.train))
        batch = self._batch_at(idx)
        if self.train_b is not None:
            self._perm_b, idx_b, self._cursor_b = self._draw(self._perm_b, self._cursor_b, len(self.train_b))
            batch.x_b = self._images(self.x_train_b[idx_b])
            batch.labels_b = None if self.y_train_b is None else self.y_train_b[idx_b]
        return batch

    def _batch_at(self, idx: Tensor) -> Batch:
        pick = lambda t: None if t is None else t[idx]  # noqa: E731
        return Batch(self._images(self.x_train[idx]), pick(self.y_train), pick(self.f_train), pick(self.m_train))

    # -- one optimiser step ---------------------------------------------------------------------
    def _autocast(self):
        enabled = self.config.resolved_precision(self.device.type) == "bf16"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _all_reduce_grads(self, params: list[torch.nn.Parameter]) -> None:
        import torch.distributed as dist

        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def _player_step(self, player: Player, opt: torch.optim.Optimizer, lr: float) -> bool:
        """One optimiser step of one player; returns False when it was skipped as non-finite."""
        for group in opt.param_groups:
            group["lr"] = lr * group["lr_scale"]
        params = player.params
        batch = self.next_batch()
        opt.zero_grad(set_to_none=True)
        with self._autocast():
            out = player.loss(batch)
        out.loss.backward()
        if self.world > 1:
            self._all_reduce_grads(params)
        grads = [p.grad for p in params if p.grad is not None]
        if self.config.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        elif grads:
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        else:
            norm = out.loss.detach()
        ok = bool(torch.isfinite(norm)) and bool(torch.isfinite(out.loss.detach()))
        if not ok:
            opt.zero_grad(set_to_none=True)
            return False
        opt.step()
        if player.after_step is not None:
            player.after_step()
        prefix = "" if player.name == "model" else f"{player.name}/"
        self._accumulate({f"{prefix}loss": out.loss.detach(), f"{prefix}grad_norm": norm.detach(),
                          **{f"{prefix}{k}": v for k, v in out.terms.items()}})
        return True

    def _accumulate(self, values: dict[str, Tensor | float]) -> None:
        for k, v in values.items():
            v = v.detach().float() if isinstance(v, Tensor) else torch.tensor(float(v))
            if k in self._log_sums:
                self._log_sums[k] = self._log_sums[k] + v
            else:
                self._log_sums[k] = v.clone()
        for k in values:
            self._log_counts[k] = self._log_counts.get(k, 0) + 1

    def lr_now(self) -> float:
        return self.config.lr_at(self.step, fraction=self._fraction)

    def train_round(self) -> None:
        """One round: the model's step hook, every player's steps, then EMA."""
        self.model.on_step(self.step)
        lr = self.lr_now()
        self.model.train()
        all_ok = True
        for player, opt in zip(self.players, self.optimizers):
            base = player.lr if player.lr is not None else self.config.lr
            player_lr = lr * base / self.config.lr
            for _ in range(player.steps):
                all_ok &= self._player_step(player, opt, player_lr)
        if all_ok:
            self.nonfinite_in_row = 0
        else:
            self.nonfinite_total += 1
            self.nonfinite_in_row += 1
        if self.ema is not None:
            self.ema.update(self.model, self.step)
        self.step += 1

    def data_init(self) -> None:
        """The model's data-dependent initialisation on the first global batch (every process sees
        the whole batch, so N processes initialise as one), then a fresh EMA of the result."""
        idx = self._perm[:self.config.batch_size].to(self.device)
        with torch.no_grad():
            self.model.data_init(self._batch_at(idx))
        self._sync_parameters()
        self.ema = self._new_ema()
        self.data_initialised = True

    # -- signals --------------------------------------------------------------------------------
    def _install_signals(self):
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = {}

        def handler(signum, frame):
            self._signal = signum
            if signum == signal.SIGINT:  # a second Ctrl-C stops at once
                signal.signal(signal.SIGINT, signal.default_int_handler)

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        return previous

    @staticmethod
    def _restore_signals(previous) -> None:
        for sig, h in (previous or {}).items():
            try:
                signal.signal(sig, h)
            except (ValueError, OSError):
                pass

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, steps: int | None = None, *, finish: bool = True) -> Trainer:
        """Train until ``steps`` rounds in total (default config.steps) or the minutes budget.

        finish: run the end-of-training work (model hook, final grid and test loss, checkpoint);
        benchmarks that time the loop alone pass False.
        """
        c = self.config
        target = c.steps if steps is None else steps
        budget = None if c.minutes is None else c.minutes * 60.0
        if self.run_dir is not None and self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            refuse_symlinks(self.run_dir / "samples", self.run_dir)
            (self.run_dir / "samples").mkdir(exist_ok=True)
            from generativa.training.tfevents import EventWriter

            self._events = EventWriter(self.run_dir)
        if self.caps.data_init and self.step == 0 and not self.resumed and not self.data_initialised:
            self.data_init()
        progress = Progress(self.model.name, total_steps=target, budget_s=budget, initial=self.step,
                            elapsed=self.elapsed, enabled=c.progress and self.is_main)
        previous = self._install_signals()
        start = time.perf_counter() - self.elapsed
        last_log_time, last_log_step = time.perf_counter(), self.step
        try:
            while target is None or self.step < target:
                spent, signalled = self._agree(time.perf_counter() - start)
                if budget is not None:
                    self._fraction = spent / budget
                    if spent >= budget:
                        break
                if signalled:
                    self.elapsed = spent
                    self._interrupted()
                self.train_round()
                if self.nonfinite_in_row >= c.max_nonfinite:
                    self._stopped()
                row = None
                if c.log_every and self.step % c.log_every == 0:
                    now = time.perf_counter()
                    self.elapsed = now - start
                    rate = (self.step - last_log_step) * c.batch_size / max(now - last_log_time, 1e-9)
                    row = self._log(extra={"images_per_s": rate})
                    last_log_time, last_log_step = now, self.step
                progress.update(self.step, time.perf_counter() - start,
                                None if not row else row.get("loss", row.get("generator/loss")))
                done = target is not None and self.step >= target
                if c.sample_every and self.step % c.sample_every == 0 and not done:
                    self.elapsed = time.perf_counter() - start
                    self._periodic()
                if c.checkpoint_every and self.step % c.checkpoint_every == 0 and not done and self.run_dir:
                    self.elapsed = time.perf_counter() - start
                    self.save()
        finally:
            progress.close()
            self._restore_signals(previous)
        self.elapsed = time.perf_counter() - start
        if self._log_counts:
            self._log()
        if finish:
            self._finish()
        return self

    def _agree(self, spent: float) -> tuple[float, bool]:
        """The time spent and whether a signal arrived, the same on every process (the largest time,
        any signal), so that all stop at the same round and follow the same time-based schedule."""
        signalled = self._signal is not None
        if self.world == 1:
            return spent, signalled
        import torch.distributed as dist

        t = torch.tensor([spent, float(signalled)], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t[0]), bool(t[1])

    def _interrupted(self) -> None:
        """At a round boundary after a signal: commit a checkpoint and raise TrainingInterrupted."""
        signum = self._signal or signal.SIGINT
        self._log_sums, self._log_counts = {}, {}  # a partial logging window is dropped, not written
        saved = self.save() if self.run_dir is not None else False
        name = signal.Signals(signum).name
        if saved:
            what = (f"checkpoint of step {self.step} saved; continue with `generativa train --resume "
                    f"{self.run_dir}`")
        elif self.run_dir is not None:
            what = self._kept()
        else:
            what = "nothing was saved (no run folder)"
        self._close_events()
        raise TrainingInterrupted(f"interrupted ({name}) at step {self.step}: {what}", signum)

    def _kept(self) -> str:
        if self.last_checkpoint is not None:
            return f"the checkpoint of step {self.last_checkpoint} is kept"
        return "no checkpoint had been written yet"

    def _stopped(self) -> None:
        msg = (f"{self.nonfinite_in_row} non-finite steps in a row at step {self.step}; lower the learning rate "
               "(lr=...), set grad_clip=1.0 or use precision=fp32.")
        if self.run_dir is not None:
            msg += f" Nothing was written during the non-finite steps: {self._kept()}."
        self._close_events()
        raise TrainingStopped(msg)

    def _close_events(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None

    def _log(self, extra: dict[str, float] | None = None) -> dict[str, float]:
        counts = self._log_counts
        if not counts:
            return {}
        keys = sorted(self._log_sums)
        stacked = torch.stack([self._log_sums[k].reshape(()).to("cpu") for k in keys]).tolist()
        row: dict[str, float] = {"step": self.step, "time": round(self.elapsed, 3),
                                 "lr": self.config.lr_at(max(self.step - 1, 0), fraction=self._fraction)}
        row.update({k: v / counts[k] for k, v in zip(keys, stacked)})
        if extra:
            row.update(extra)
        row["nonfinite_steps"] = self.nonfinite_total
        self._log_sums, self._log_counts = {}, {}
        self._write_row(row)
        for cb in self.callbacks:
            cb(self, row)
        return row

    def _write_row(self, row: dict) -> None:
        if self.run_dir is None or not self.is_main:
            return
        append_line(self.run_dir / "metrics.jsonl", json.dumps(row), root=self.run_dir)
        if self._events is not None:
            self._events.scalars(int(row["step"]), {k: v for k, v in row.items()
                                                    if k != "step" and isinstance(v, int | float)})
            self._events.flush()

    # -- evaluation, grids ----------------------------------------------------------------------
    @torch.no_grad()
    def test_loss(self, max_examples: int = 2048) -> dict[str, float]:
        """Mean loss terms over (up to ``max_examples`` of) the test split, with the live weights."""
        test = self.data.test
        if len(test) == 0:
            return {}
        test_b = None if self.data.domain_b is None else self.data.domain_b.test
        self.model.eval()
        n = min(len(test), max_examples)
        if test_b is not None:
            n = min(n, len(test_b))
        sums: dict[str, float] = {}
        seen = 0
        def pick(t: Tensor | None, i: int, j: int) -> Tensor | None:
            return None if t is None else t[i:j].to(self.device)

        for i in range(0, n, self.config.batch_size):
            j = min(i + self.config.batch_size, n)
            batch = Batch(test.images(slice(i, j)).to(self.device), pick(test.labels, i, j),
                          pick(test.factors, i, j), pick(test.masks, i, j))
            if test_b is not None:
                batch.x_b = test_b.images(slice(i, j)).to(self.device)
                batch.labels_b = pick(test_b.labels, i, j)
            with self._autocast():
                out = self.model.loss(batch)
            for k, v in {"loss": out.loss, **out.terms}.items():
                v = float(v) if not isinstance(v, Tensor) else float(v.float().mean())
                sums[k] = sums.get(k, 0.0) + v * (j - i)
            seen += j - i
        self.model.train()
        return {f"test/{k}": v / seen for k, v in sums.items()}

    def _periodic(self) -> None:
        if not self.is_main:
            return
        with torch.random.fork_rng(devices=[]):  # evaluation must not move the training RNG
            row = {"step": self.step, "time": round(self.elapsed, 3), **self.test_loss()}
            if len(row) > 2:
                self._write_row(row)
            if self.run_dir is not None:
                self.write_sample_grid()

    @torch.no_grad()
    def write_sample_grid(self, n: int = 64) -> Path | None:
        """Samples from a fixed generator (EMA weights where kept) -> samples/step_XXXXXXX.png."""
        from generativa.io.grids import save_grid

        if not self.model.is_image_model or not self.caps.sample:
            return None
        model = self._eval_model()
        if self.caps.fit_end:  # e.g. an autoencoder fits its code moments before it can sample
            model.on_fit_end(self.data.train.images(slice(0, 4096)).to(self.device))
        g = torch.Generator(device=self.device).manual_seed(1234)
        try:
            x = model.sample(n, generator=g, **model.default_condition(n))
        finally:
            self.model.train()
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        save_grid(x, path, nrow=int(math.sqrt(n)), root=self.run_dir)
        return path

    def _eval_model(self) -> Model:
        """The live model with EMA weights swapped in (callers restore train mode)."""
        self.model.eval()
        if self.ema is None:
            return self.model
        shadow = copy.deepcopy(self.model)
        self.ema.copy_to(shadow)
        shadow.eval()
        return shadow

    def _finish(self) -> None:
        with torch.random.fork_rng(devices=[]):  # nothing here may move the training RNG
            self._fit_end_hook()
            if self.run_dir is not None and self.is_main:
                self.write_sample_grid()
                self._write_row({"step": self.step, "time": round(self.elapsed, 3), **self.test_loss()})
        if self.run_dir is not None:
            self.save()
        self._close_events()

    def _fit_end_hook(self) -> None:
        """``model.on_fit_end(train_images)`` where declared (an autoencoder fits its code moments),
        on the live and on the EMA weights alike."""
        if not self.caps.fit_end:
            return
        images = self.data.train.images().to(self.device)
        was = self.model.training
        self.model.eval()
        self.model.on_fit_end(images)
        if self.ema is not None:
            shadow = self._eval_model()
            shadow.on_fit_end(images)
            for k, v in shadow.named_buffers():
                self.ema.set_buffer(k, v)
        self.model.train(was)

    # -- checkpoints ----------------------------------------------------------------------------
    def _rng_states(self) -> dict[str, Tensor]:
        """Every process's torch generator (gathered to every process), and the CUDA one."""
        state = torch.get_rng_state()
        if self.world > 1:
            import torch.distributed as dist

            parts = [torch.empty_like(state) for _ in range(self.world)]
            dist.all_gather(parts, state)  # gloo gathers CPU tensors
        else:
            parts = [state]
        out = {f"rng.torch.rank{r}": t for r, t in enumerate(parts)}
        if self.device.type == "cuda":
            out[f"rng.cuda.rank{self.rank}"] = torch.cuda.get_rng_state(self.device)
        return out

    def _all_finite(self) -> list[str]:
        """Names of model, EMA and optimiser tensors that are not finite (nothing is written then)."""
        bad = [k for k, v in self.model.state_dict().items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if self.ema is not None:
            bad += [EMA_PREFIX + k for k, v in self.ema.state_dict().items()
                    if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        for player, opt in zip(self.players, self.optimizers):
            for entries in opt.state.values():
                for key, v in entries.items():
                    if isinstance(v, Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
                        bad.append(f"optimizer.{player.name}.{key}")
        return bad

    def save(self) -> bool:
        """Commit a checkpoint of the current step (every process takes part; rank 0 writes).
        Returns False, writing nothing, when a tensor is not finite."""
        rng = self._rng_states()
        if not self.is_main or self.run_dir is None:
            return False
        if self.nonfinite_in_row:  # never replace a good checkpoint in a run of bad steps
            self.notes.append(f"step {self.step}: checkpoint not written after a non-finite step")
            return False
        bad = self._all_finite()
        if bad:
            self.notes.append(f"step {self.step}: checkpoint not written, non-finite {', '.join(bad[:3])}")
            return False
        data_info = {"spec": self.data.spec, "options": self.data.options,
                     "shape": list(self.data.shape), "num_classes": self.data.num_classes,
                     "class_names": list(self.data.train.class_names),
                     "content_hash": self._data_hash()}
        tensors: dict[str, Tensor] = dict(rng)
        opt_rest = {}
        for player, opt in zip(self.players, self.optimizers):
            t, rest = saved_state.optimizer_tensors(f"optimizer.{player.name}", opt)
            tensors.update(t)
            opt_rest[player.name] = rest
        tensors["rng.batches"] = self.batch_generator.get_state()
        for name, g in self.model.generators().items():
            tensors[f"rng.model.{name}"] = g.get_state()
        tensors["data.perm"] = self._perm
        info = {
            "step": self.step, "elapsed": self.elapsed, "cursor": self._cursor,
            "nonfinite_total": self.nonfinite_total, "nonfinite_in_row": self.nonfinite_in_row,
            "data_initialised": self.data_initialised, "optimizers": opt_rest,
            "train_config": to_dict(self.config), "world_size": self.world, "device": str(self.device),
            "library_version": _version(),
        }
        if self.train_b is not None:
            tensors["data_b.perm"] = self._perm_b
            info["cursor_b"] = self._cursor_b

        def write(folder: Path) -> None:
            save_model(folder, self.model, ema_state=None if self.ema is None else self.ema.state_dict(),
                       data=data_info, extra={"step": self.step})
            save_tensors_atomic(folder / "state.safetensors", tensors)
            write_json_atomic(folder / "state.json", info)

        store.commit(self.run_dir, self.step, write)
        self.last_checkpoint = self.step
        return True

    def _data_hash(self) -> str:
        if not hasattr(self, "_hash"):
            self._hash = self.data.content_hash()
        return self._hash

    def load_state(self, run_dir: str | Path) -> Path:
        """Restore weights, optimisers, EMA, random streams and data cursors from the newest committed
        checkpoint of ``run_dir``, each checked before use; returns the checkpoint folder."""
        run_dir = Path(run_dir)
        folder, notes = store.resolve(run_dir, check=_readable_checkpoint)
        self.notes += notes
        path = folder / "state.safetensors"
        info = _read_state_json(folder / "state.json")
        described = read_model_info(folder)
        if described.get("model") != self.model.registry_name or described.get("config") != to_dict(self.model.config):
            raise CheckpointError(f"{folder / 'model.json'} describes another model than the run's config.yaml "
                                  f"({described.get('model')!r}); the checkpoint belongs to another run or was edited")
        tensors = read_safetensors(path)
        weights_path = folder / "model.safetensors"
        check_tensors(self.model.state_dict(), read_header(weights_path), weights_path)
        weights = read_safetensors(weights_path)
        bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if bad:
            raise CheckpointError(f"{weights_path} holds non-finite values in {', '.join(bad[:3])}")
        self.model.load_state_dict({k: v for k, v in weights.items() if not k.startswith(EMA_PREFIX)})
        if self.ema is not None:
            ema_state = {k[len(EMA_PREFIX):]: v for k, v in weights.items() if k.startswith(EMA_PREFIX)}
            if not ema_state:
                raise CheckpointError(f"{weights_path} has no EMA weights but the run keeps an EMA (ema_decay="
                                      f"{self.config.ema_decay}); the checkpoint belongs to another run")
            try:
                self.ema.load_state_dict(ema_state)
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{weights_path}: {e}") from None
        optimizers = info.get("optimizers")
        if not isinstance(optimizers, dict):
            raise CheckpointError(f"{folder / 'state.json'}: the field 'optimizers' is missing or not a mapping; the "
                                  "checkpoint was altered: resume from one this run wrote, or start it again")
        for player, opt in zip(self.players, self.optimizers):
            if player.name not in optimizers:
                raise CheckpointError(f"{folder / 'state.json'} has no optimiser state for player {player.name!r}")
            saved_state.restore_optimizer(f"optimizer.{player.name}", opt, tensors, optimizers[player.name], path)
        self._restore_rng(tensors, info, path)
        n = len(self.data.train)
        json_path = folder / "state.json"
        self._perm = saved_state.check_permutation("data.perm", tensors.get("data.perm"), n, path)
        self._cursor = saved_state.check_counter("cursor", info.get("cursor"), json_path, maximum=n)
        if self.train_b is not None:
            self._perm_b = saved_state.check_permutation("data_b.perm", tensors.get("data_b.perm"),
                                                         len(self.train_b), path)
            self._cursor_b = saved_state.check_counter("cursor_b", info.get("cursor_b"), json_path,
                                                       maximum=len(self.train_b))
        self.step = saved_state.check_counter("step", info.get("step"), json_path)
        self.elapsed = saved_state.check_seconds("elapsed", info.get("elapsed"), json_path)
        self.nonfinite_total = saved_state.check_counter("nonfinite_total", info.get("nonfinite_total"), json_path)
        self.nonfinite_in_row = saved_state.check_counter("nonfinite_in_row", info.get("nonfinite_in_row"),
                                                          json_path)
        self.data_initialised = bool(info.get("data_initialised", False))
        self.resumed = True
        self.last_checkpoint = self.step
        if self.is_main:
            self._truncate_log()
            store.publish(run_dir, folder)  # the run's own weights are those resumed from
            store.prune(run_dir)
        return folder

    def _restore_rng(self, tensors: dict[str, Tensor], info: dict, path: Path) -> None:
        own = f"rng.torch.rank{self.rank}"
        saved_world = info.get("world_size")
        if own in tensors and saved_world == self.world:
            torch.set_rng_state(saved_state.check_generator_state(own, tensors[own], path))
        else:  # another number of processes: each derives its own stream from rank 0's state
            state = saved_state.check_generator_state("rng.torch.rank0", tensors.get("rng.torch.rank0"), path)
            torch.set_rng_state(state)
            if self.rank:
                torch.manual_seed(int(torch.randint(0, 2**62, (1,)).item()) + self.rank)
            self.notes.append(f"resumed on {self.world} process(es) a run saved on {saved_world}: the model's noise "
                              "streams were re-derived, so the continuation is statistically, not bitwise, the same")
        cuda = f"rng.cuda.rank{self.rank}"
        if cuda in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors[cuda], self.device)
        self.batch_generator.set_state(saved_state.check_generator_state(
            "rng.batches", tensors.get("rng.batches"), path))
        for name, g in self.model.generators().items():
            key = f"rng.model.{name}"
            g.set_state(saved_state.check_generator_state(key, tensors.get(key), path, size=g.get_state().numel()))

    def _truncate_log(self) -> None:
        """Drop metrics.jsonl rows written after the checkpoint resumed from (a crash after them)."""
        path = self.run_dir / "metrics.jsonl" if self.run_dir else None
        if path is None or not path.exists():
            return
        refuse_symlinks(path, self.run_dir)
        kept, dropped = [], 0
        for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                step = json.loads(line).get("step")
            except (json.JSONDecodeError, AttributeError):
                dropped += 1
                continue
            if isinstance(step, int) and step > self.step:
                dropped += 1
            else:
                kept.append(line)
        if dropped:
            write_text_atomic(path, "".join(line + "\n" for line in kept), root=self.run_dir)
            self.notes.append(f"metrics.jsonl: {dropped} line(s) after step {self.step} (written after the last "
                              "checkpoint, or unreadable) were dropped")


def _version() -> str:
    from generativa import __version__

    return __version__


def _read_state_json(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} cannot be read as JSON ({e}); the checkpoint is damaged: resume from "
                              "an earlier one or start again") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    return info


def _readable_checkpoint(folder: Path) -> None:
    _read_state_json(folder / "state.json")
    read_header(folder / "state.safetensors")
    read_header(folder / "model.safetensors")


def environment_summary() -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(), "cpu_count": os.cpu_count()}


__all__ = ["Trainer", "TrainingInterrupted", "TrainingStopped", "environment_summary", "resolve_device"]
