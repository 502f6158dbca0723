"""Learning-rate schedules, MindSpore's names: Cells (or any callable) mapping the optimizer's
``global_step`` (an int32 tensor of shape (1,)) to a learning rate, computed with ops so they
run inside the optimizer's compiled update."""
from __future__ import annotations

import math

from .. import dtype as dt
from .. import ops
from .cell import Cell


class LearningRateSchedule(Cell):
    """Base: ``construct(global_step)`` returns the learning rate at that step."""


def _steps(global_step, decay_steps: int, is_stair: bool):
    progress = ops.cast(global_step, dt.float32) / float(decay_steps)
    return ops.floor(progress) if is_stair else progress


class ExponentialDecayLR(LearningRateSchedule):
    """``learning_rate · decay_rate^(step / decay_steps)`` (the exponent floored when
    ``is_stair``)."""

    def __init__(self, learning_rate: float, decay_rate: float, decay_steps: int,
                 is_stair: bool = False) -> None:
        super().__init__()
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecayLR: decay_steps must be positive, got {decay_steps}")
        self.learning_rate, self.decay_rate = float(learning_rate), float(decay_rate)
        self.decay_steps, self.is_stair = int(decay_steps), bool(is_stair)

    def construct(self, global_step):
        exponent = _steps(global_step, self.decay_steps, self.is_stair)
        return ops.exp(exponent * math.log(self.decay_rate)) * self.learning_rate


class CosineDecayLR(LearningRateSchedule):
    """``min_lr + (max_lr - min_lr)·(1 + cos(π·min(step, decay_steps)/decay_steps))/2``."""

    def __init__(self, min_lr: float, max_lr: float, decay_steps: int) -> None:
        super().__init__()
        if decay_steps <= 0:
            raise ValueError(f"CosineDecayLR: decay_steps must be positive, got {decay_steps}")
        self.min_lr, self.max_lr, self.decay_steps = float(min_lr), float(max_lr), int(decay_steps)

    def construct(self, global_step):
        progress = ops.minimum(ops.cast(global_step, dt.float32), float(self.decay_steps))
        cosine = (ops.cos(progress * (math.pi / self.decay_steps)) + 1.0) * 0.5
        return cosine * (self.max_lr - self.min_lr) + self.min_lr
