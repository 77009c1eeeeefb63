"""Tiny models for trainer tests: a deterministic two-player game and a loss that can go non-finite."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from generativa.models.base import (
    AdversarialModel,
    Batch,
    Capabilities,
    GenerativeModel,
    LossOutput,
    ModelConfig,
    Player,
)


@dataclass(frozen=True)
class TwoPlayerConfig(ModelConfig):
    critic_steps: int = 3


class TwoPlayer(AdversarialModel):
    """A linear 'critic' and 'generator' with deterministic losses, counting their steps."""

    config_class = TwoPlayerConfig
    registry_name = "two_player_test"

    def __init__(self, config):
        super().__init__(config)
        d = int(torch.tensor(config.data_shape).prod())
        self.critic = nn.Linear(d, 1)
        self.generator = nn.Linear(d, d)
        self.calls: list[str] = []

    def critic_loss(self, batch: Batch) -> LossOutput:
        self.calls.append("critic")
        x = batch.x.flatten(1)
        fake = self.generator(x).detach()
        loss = (self.critic(fake) - self.critic(x)).mean() + 0.1 * (self.critic.weight ** 2).sum()
        return LossOutput(loss, {"gap": loss.detach()})

    def generator_loss(self, batch: Batch) -> LossOutput:
        self.calls.append("generator")
        x = batch.x.flatten(1)
        return LossOutput(-self.critic(self.generator(x)).mean() + ((self.generator(x) - x) ** 2).mean())

    def players(self):
        return [Player("critic", list(self.critic.parameters()), self.critic_loss, steps=self.config.critic_steps),
                Player("generator", list(self.generator.parameters()), self.generator_loss, lr=5e-4)]


@dataclass(frozen=True)
class NaNConfig(ModelConfig):
    bad_from: int = 3        # calls from this one on return NaN ...
    bad_until: int = 5       # ... up to (not including) this one


class SometimesNaN(GenerativeModel):
    config_class = NaNConfig
    registry_name = "nan_test"

    def __init__(self, config):
        super().__init__(config)
        self.lin = nn.Linear(64, 1)
        self.n = 0

    def loss(self, batch):
        self.n += 1
        loss = self.lin(batch.x.flatten(1)).pow(2).mean()
        if self.config.bad_from <= self.n < self.config.bad_until:
            loss = loss * float("nan")
        return LossOutput(loss)


# -- models that use the trainer's hooks -------------------------------------------------------------
@dataclass(frozen=True)
class HooksConfig(ModelConfig):
    fade_steps: int = 6      # alpha grows linearly from 0 to 1 over these rounds
    every: int = 3           # a regulariser applied every k-th round (lazy regularisation)


class StepScheduled(GenerativeModel):
    """Changes with training progress: a fade-in coefficient alpha(step) kept in a buffer (so a loaded
    model samples with the value it ended with), and a penalty added only every ``every`` rounds."""

    config_class = HooksConfig
    registry_name = "step_scheduled_test"

    def __init__(self, config):
        super().__init__(config)
        d = int(torch.tensor(config.data_shape).prod())
        self.old = nn.Linear(d, 4)
        self.new = nn.Linear(d, 4)
        self.register_buffer("alpha", torch.zeros(()))
        self.regularised: list[int] = []
        self._step = 0

    def on_step(self, step: int) -> None:
        self._step = step
        self.alpha.fill_(min(1.0, step / self.config.fade_steps))

    def loss(self, batch):
        x = batch.x.flatten(1)
        h = (1 - self.alpha) * self.old(x) + self.alpha * self.new(x)
        loss = h.pow(2).mean()
        if self._step % self.config.every == 0:
            self.regularised.append(self._step)
            loss = loss + 0.1 * self.new.weight.pow(2).sum()
        return LossOutput(loss, {"alpha": self.alpha.clone()})


class FrozenPart(GenerativeModel):
    """A frozen pretrained part (with batch norm, to see that it stays in eval mode) feeding a trained
    head in two parameter groups: the head's first layer at 0.1 times the learning rate."""

    config_class = ModelConfig
    registry_name = "frozen_part_test"

    def __init__(self, config):
        super().__init__(config)
        d = int(torch.tensor(config.data_shape).prod())
        self.pretrained = nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8))
        self.slow = nn.Linear(8, 8)
        self.fast = nn.Linear(8, 1)

    def frozen_modules(self):
        return {"pretrained": self.pretrained}

    def param_groups(self):
        from generativa.models.base import ParamGroup

        return [ParamGroup(list(self.slow.parameters()), lr_scale=0.1, name="slow"),
                ParamGroup(list(self.fast.parameters()), name="fast")]

    def loss(self, batch):
        h = self.pretrained(batch.x.flatten(1))
        return LossOutput((self.fast(torch.relu(self.slow(h))) - 1).pow(2).mean())


class DataInit(GenerativeModel):
    """An activation normalisation initialised from the first global batch, then trained."""

    config_class = ModelConfig
    registry_name = "data_init_test"
    CAPABILITIES = Capabilities(data_init=True)

    def __init__(self, config):
        super().__init__(config)
        from generativa.models.flows.actnorm import ActNorm

        self.norm = ActNorm(config.data_shape[0])
        self.init_batches: list[int] = []

    def data_init(self, batch):
        self.init_batches.append(len(batch))
        self.norm.data_init(batch.x)

    def loss(self, batch):
        z, log_det = self.norm.inverse(batch.x)
        return LossOutput((0.5 * z.pow(2).flatten(1).sum(1) - log_det).mean())


class MaskAndDomain(GenerativeModel):
    """Reads the per-image mask and the second domain of its batch (and says what it saw)."""

    config_class = ModelConfig
    registry_name = "mask_domain_test"

    def __init__(self, config):
        super().__init__(config)
        self.w = nn.Parameter(torch.zeros(()))
        self.seen: list[tuple] = []

    def loss(self, batch):
        self.seen.append((None if batch.mask is None else tuple(batch.mask.shape),
                          None if batch.x_b is None else tuple(batch.x_b.shape)))
        target = batch.mask.float().mean() + batch.x_b.mean()
        return LossOutput((self.w - target).pow(2))


# -- small data and a process of a two-process run ---------------------------------------------------------
def toy_images(n: int = 64, shape: tuple[int, ...] = (1, 8, 8), seed: int = 0, masks: bool = False):
    from generativa.data.base import ArrayData

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    m = torch.randint(0, 3, (n, 1, *shape[1:]), generator=g, dtype=torch.uint8) if masks else None
    return ArrayData("toy", x, torch.randint(0, 10, (n,), generator=g), masks=m)


def toy_splits(**kw):
    from generativa.data.base import DataSplits

    return DataSplits(toy_images(64, **kw), toy_images(32, seed=1, **kw), "toy")


class FakeAccelerator:
    """What the trainer reads of an accelerate.Accelerator, for a process group made by hand."""

    def __init__(self, rank: int, world: int):
        self.device = torch.device("cpu")
        self.process_index, self.num_processes, self.is_main_process = rank, world, rank == 0


def data_init_on_rank(rank: int, world: int, store: str, out: str) -> None:
    """One process of a two-process run: the trainer's data-dependent initialisation, saved to ``out.rank``."""
    import torch.distributed as dist

    from generativa.training.config import TrainConfig
    from generativa.training.trainer import Trainer

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = DataInit(ModelConfig(data_shape=(1, 8, 8)))
        config = TrainConfig(steps=0, batch_size=16, progress=False, log_every=0, sample_every=0, checkpoint_every=0)
        trainer = Trainer(model, toy_splits(), config, accelerator=FakeAccelerator(rank, world))
        trainer.data_init()
        torch.save({"bias": model.norm.bias.detach(), "log_scale": model.norm.log_scale.detach(),
                    "batch": model.init_batches}, f"{out}.{rank}")
        dist.barrier()  # neither process tears gloo down while the other still talks to it (SIGABRT otherwise)
    finally:
        dist.destroy_process_group()
