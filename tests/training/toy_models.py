"""Tiny models for trainer tests: a deterministic two-player game and a loss that can go non-finite."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from generativa.models.base import AdversarialModel, Batch, GenerativeModel, LossOutput, ModelConfig, Player


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
