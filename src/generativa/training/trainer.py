"""The one training loop for every family.

It owns: device placement and data parallelism (accelerate / torch.distributed), bf16 autocast,
the optimiser of each player and the learning-rate schedule, gradient clipping, EMA weights, a guard
that skips non-finite steps and stops after several in a row, progress, logging (metrics.jsonl and
TensorBoard events), periodic sample grids and test loss, checkpoints and bit-for-bit resume.

A single-objective model is one player ("model") whose loss is ``model.loss``. An adversarial model
lists its players; each round steps every player ``player.steps`` times, in order, each step on a
fresh batch. ``step`` counts rounds.

Data parallelism: every process draws the same global batch indices from the same seeded
permutation and takes its own contiguous slice; gradients are averaged across processes after each
backward pass (one all-reduce per player step over a flattened bucket). So N processes with batch
B/N compute the same update as one process with batch B, up to float summation order. Buffers such
as BatchNorm statistics are per-process; rank 0's are saved.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor

from generativa.data.base import DataSplits
from generativa.models.base import Batch, GenerativeModel, Player
from generativa.training.checkpoint import (
    flatten_optimizer,
    read_safetensors,
    save_model,
    unflatten_optimizer,
)
from generativa.training.config import TrainConfig
from generativa.training.ema import EMA
from generativa.training.safeio import save_tensors_atomic, write_json_atomic


class TrainingStopped(RuntimeError):
    """Training stopped early (repeated non-finite steps); what was saved is kept."""


class Trainer:
    def __init__(self, model: GenerativeModel, data: DataSplits, config: TrainConfig,
                 run_dir: str | Path | None = None, *, accelerator=None,
                 callbacks: list[Callable[[Trainer, dict], None]] | None = None):
        from accelerate import Accelerator

        self.config = config
        self.data = data
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = callbacks or []
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        if accelerator is None:
            cpu = config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available())
            accelerator = Accelerator(cpu=cpu)
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

        self.model = model.to(self.device)
        if config.channels_last and model.is_image_model:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._sync_parameters()
        self.players = self._players()
        self.optimizers = [self._optimizer(p) for p in self.players]
        self.ema = EMA(self.model, config.ema_decay) if config.ema_decay else None

        # Data lives on the device as stored (uint8 images); batches are index permutations.
        self.x_train = data.train.x.to(self.device)
        self.y_train = None if data.train.labels is None else data.train.labels.to(self.device)
        self.f_train = None if data.train.factors is None else data.train.factors.to(self.device)
        self.batch_generator = torch.Generator().manual_seed(config.seed)
        self._perm = torch.randperm(len(data.train), generator=self.batch_generator)
        self._cursor = 0
        # Per-process stream for the model's own randomness (noise, z, masks): seed + rank.
        torch.manual_seed(config.seed + 1_000_003 * self.rank)

        self.step = 0
        self.elapsed = 0.0
        self.nonfinite_total = 0
        self.nonfinite_in_row = 0
        self._events = None
        self._log_sums: dict[str, Tensor] = {}
        self._log_counts: dict[str, int] = {}

    # -- set-up ---------------------------------------------------------------------------------
    def _players(self) -> list[Player]:
        if self.model.adversarial:
            players = self.model.players()
            if not players:
                raise ValueError(f"{type(self.model).__name__}.players() returned no players")
            return players
        params = [p for p in self.model.parameters() if p.requires_grad]
        return [Player("model", params, self.model.loss)]

    def _optimizer(self, player: Player) -> torch.optim.Optimizer:
        c = self.config
        kind = player.optimizer or c.optimizer
        lr = player.lr if player.lr is not None else c.lr
        betas = player.betas if player.betas is not None else c.betas
        # The fused kernels update every tensor in one pass (CPU and CUDA); measured faster than
        # the per-tensor loop PyTorch picks by default on the CPU (BENCHMARKS.md, foundation).
        fused = self.device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in player.parameters)
        if kind == "adamw":
            return torch.optim.AdamW(player.parameters, lr=lr, betas=betas, weight_decay=c.weight_decay,
                                     fused=fused or None)
        if kind == "adam":
            return torch.optim.Adam(player.parameters, lr=lr, betas=betas, weight_decay=c.weight_decay,
                                    fused=fused or None)
        if kind == "rmsprop":
            return torch.optim.RMSprop(player.parameters, lr=lr, weight_decay=c.weight_decay)
        raise ValueError(f"player {player.name!r}: unknown optimizer {kind!r}; use adamw, adam or rmsprop")

    def _sync_parameters(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            for t in self.model.state_dict().values():
                dist.broadcast(t, src=0)

    # -- batches --------------------------------------------------------------------------------
    def next_batch(self) -> Batch:
        """The next global batch by seeded permutation; this process's slice of it."""
        B, n = self.config.batch_size, len(self._perm)
        if B > n:
            raise ValueError(f"batch_size={B} is larger than the training set ({n}); pass a smaller batch_size")
        if self._cursor + B > n:
            self._perm = torch.randperm(n, generator=self.batch_generator)
            self._cursor = 0
        idx = self._perm[self._cursor + self.rank * self.local_batch:
                         self._cursor + (self.rank + 1) * self.local_batch]
        self._cursor += B
        idx = idx.to(self.device)
        x = self.x_train[idx]
        x = x.float().div_(255.0) if x.dtype == torch.uint8 else x
        if self.config.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        labels = None if self.y_train is None else self.y_train[idx]
        factors = None if self.f_train is None else self.f_train[idx]
        return Batch(x, labels, factors)

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
            group["lr"] = lr * group.get("lr_scale", 1.0)
        batch = self.next_batch()
        opt.zero_grad(set_to_none=True)
        with self._autocast():
            out = player.loss(batch)
        out.loss.backward()
        if self.world > 1:
            self._all_reduce_grads(player.parameters)
        grads = [p.grad for p in player.parameters if p.grad is not None]
        if self.config.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(player.parameters, self.config.grad_clip)
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

    def train_round(self) -> None:
        """One round: every player's steps, then EMA."""
        lr = self.config.lr_at(self.step)
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
            self.ema.update(self.model)
        self.step += 1

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
            (self.run_dir / "samples").mkdir(exist_ok=True)
            from generativa.training.tfevents import EventWriter

            self._events = EventWriter(self.run_dir)
        bar = None
        if c.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=target, initial=self.step, desc=self.model.registry_name or "train",
                       unit="step", dynamic_ncols=True, leave=True)
        start = time.perf_counter() - self.elapsed
        last_log_time, last_log_step = time.perf_counter(), self.step
        try:
            while self.step < target:
                if budget is not None and time.perf_counter() - start >= budget:
                    break
                self.train_round()
                if self.nonfinite_in_row >= c.max_nonfinite:
                    raise TrainingStopped(
                        f"{self.nonfinite_in_row} non-finite steps in a row at step {self.step}; "
                        "lower the learning rate (lr=...), set grad_clip=1.0 or use precision=fp32. "
                        + ("The last checkpoint is kept." if self.run_dir else "")
                    )
                if bar is not None:
                    bar.update(1)
                if c.log_every and self.step % c.log_every == 0:
                    now = time.perf_counter()
                    self.elapsed = now - start
                    rate = (self.step - last_log_step) * c.batch_size / max(now - last_log_time, 1e-9)
                    row = self._log(extra={"images_per_s": rate})
                    last_log_time, last_log_step = now, self.step
                    if bar is not None and row:
                        bar.set_postfix(loss=f"{row.get('loss', row.get('generator/loss', 0.0)):.4g}")
                if c.sample_every and self.step % c.sample_every == 0 and self.step < target:
                    self.elapsed = time.perf_counter() - start
                    self._periodic()
                if (c.checkpoint_every and self.step % c.checkpoint_every == 0 and self.step < target
                        and self.run_dir is not None):
                    self.elapsed = time.perf_counter() - start
                    self.save()
        finally:
            if bar is not None:
                bar.close()
        self.elapsed = time.perf_counter() - start
        if self._log_counts:
            self._log()
        if finish:
            self._finish()
        return self

    def _log(self, extra: dict[str, float] | None = None) -> dict[str, float]:
        counts = self._log_counts
        if not counts:
            return {}
        keys = sorted(self._log_sums)
        stacked = torch.stack([self._log_sums[k].reshape(()).to("cpu") for k in keys]).tolist()
        row: dict[str, float] = {"step": self.step, "time": round(self.elapsed, 3),
                                 "lr": self.config.lr_at(max(self.step - 1, 0))}
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
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
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
        self.model.eval()
        n = min(len(test), max_examples)
        sums: dict[str, float] = {}
        seen = 0
        for i in range(0, n, self.config.batch_size):
            j = min(i + self.config.batch_size, n)
            x = test.images(slice(i, j)).to(self.device)
            labels = None if test.labels is None else test.labels[i:j].to(self.device)
            factors = None if test.factors is None else test.factors[i:j].to(self.device)
            with self._autocast():
                out = self.model.loss(Batch(x, labels, factors))
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
            self._periodic_unforked()

    def _periodic_unforked(self) -> None:
        row = {"step": self.step, "time": round(self.elapsed, 3)}
        try:
            row.update(self.test_loss())
        except NotImplementedError:
            pass
        if len(row) > 2:
            self._write_row(row)
        if self.run_dir is not None:
            self.write_sample_grid()

    @torch.no_grad()
    def write_sample_grid(self, n: int = 64) -> Path | None:
        """Samples from a fixed generator (EMA weights where kept) -> samples/step_XXXXXXX.png."""
        from generativa.reporting.images import save_grid

        if not self.model.is_image_model or not self.model.has_capability("sample"):
            return None
        model = self._eval_model()
        if getattr(model, "on_fit_end", None) is not None:  # e.g. an autoencoder fits its code moments
            model.on_fit_end(self.data.train.images(slice(0, 4096)).to(self.device))
        g = torch.Generator(device=self.device).manual_seed(1234)
        try:
            x = model.sample(n, generator=g, **self._sample_condition(n))
        except NotImplementedError:
            return None
        finally:
            self.model.train()
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        save_grid(x, path, nrow=int(math.sqrt(n)))
        return path

    def _sample_condition(self, n: int) -> dict:
        if getattr(self.model, "conditional", False) and self.model.config.num_classes:
            k = self.model.config.num_classes
            return {"labels": torch.arange(n, device=self.device) % k}
        return {}

    def _eval_model(self) -> GenerativeModel:
        """The live model with EMA weights swapped in (callers restore train mode)."""
        self.model.eval()
        if self.ema is None:
            return self.model
        import copy

        shadow = copy.deepcopy(self.model)
        self.ema.copy_to(shadow)
        shadow.eval()
        return shadow

    def _finish(self) -> None:
        with torch.random.fork_rng(devices=[]):  # nothing here may move the training RNG
            self._fit_end_hook()
            if self.run_dir is not None and self.is_main:
                self.write_sample_grid()
                final = {"step": self.step, "time": round(self.elapsed, 3)}
                try:
                    final.update(self.test_loss())
                except NotImplementedError:
                    pass
                self._write_row(final)
        if self.run_dir is not None:
            self.save()
        if self._events is not None:
            self._events.close()
            self._events = None

    def _fit_end_hook(self) -> None:
        """``model.on_fit_end(train_images)`` where defined (an autoencoder fits its code moments),
        run on the live and on the EMA weights alike."""
        if getattr(self.model, "on_fit_end", None) is None:
            return
        images = self.data.train.images().to(self.device)
        was = self.model.training
        self.model.eval()
        self.model.on_fit_end(images)
        if self.ema is not None:
            shadow = self._eval_model()
            shadow.on_fit_end(images)
            params = dict(self.model.named_parameters())
            for k, v in shadow.state_dict().items():
                if k not in params:
                    self.ema.shadow[k].copy_(v)
        self.model.train(was)

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self) -> None:
        """model.safetensors + model.json, then state/ (optimisers, EMA, RNGs, data cursor)."""
        if not self.is_main or self.run_dir is None:
            return
        data_info = {"spec": self.data.spec, "options": self.data.options,
                     "shape": list(self.data.shape), "num_classes": self.data.num_classes,
                     "class_names": list(self.data.train.class_names),
                     "content_hash": self._data_hash()}
        save_model(self.run_dir, self.model,
                   ema_state=None if self.ema is None else self.ema.state_dict(), data=data_info)
        tensors: dict[str, Tensor] = {}
        opt_rest = {}
        for player, opt in zip(self.players, self.optimizers):
            t, rest = flatten_optimizer(f"optimizer.{player.name}", opt)
            tensors.update(t)
            opt_rest[player.name] = rest
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available() and self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        tensors["rng.batches"] = self.batch_generator.get_state()
        tensors["data.perm"] = self._perm
        state_dir = self.run_dir / "state"
        save_tensors_atomic(state_dir / "state.safetensors", tensors)
        write_json_atomic(state_dir / "state.json", {
            "step": self.step, "elapsed": self.elapsed, "cursor": self._cursor,
            "nonfinite_total": self.nonfinite_total, "nonfinite_in_row": self.nonfinite_in_row,
            "optimizers": opt_rest, "train_config": asdict(self.config),
            "world_size": self.world,
        })

    def _data_hash(self) -> str:
        if not hasattr(self, "_hash"):
            self._hash = self.data.content_hash()
        return self._hash

    def load_state(self, run_dir: str | Path) -> None:
        """Restore optimisers, EMA, RNGs and the data cursor from ``run_dir/state``."""
        run_dir = Path(run_dir)
        state_dir = run_dir / "state"
        info = json.loads((state_dir / "state.json").read_text())
        tensors = read_safetensors(state_dir / "state.safetensors")
        for player, opt in zip(self.players, self.optimizers):
            unflatten_optimizer(f"optimizer.{player.name}", opt, tensors, info["optimizers"][player.name])
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        self.batch_generator.set_state(tensors["rng.batches"])
        self._perm = tensors["data.perm"]
        self._cursor = int(info["cursor"])
        self.step = int(info["step"])
        self.elapsed = float(info["elapsed"])
        self.nonfinite_total = int(info["nonfinite_total"])
        self.nonfinite_in_row = int(info["nonfinite_in_row"])
        if self.ema is not None:
            weights = read_safetensors(run_dir / "model.safetensors")
            self.ema.load_state_dict({k[4:]: v for k, v in weights.items() if k.startswith("ema.")})


def environment_summary() -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(), "cpu_count": os.cpu_count()}
