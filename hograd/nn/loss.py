"""Loss Cells, MindSpore's names and defaults: ``MSELoss``, ``L1Loss``, ``SmoothL1Loss``,
``SoftmaxCrossEntropyWithLogits``. ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
from __future__ import annotations

from .. import ops
from ..core.tensor import Tensor
from .cell import Cell

_REDUCTIONS = ("mean", "sum", "none")


class LossBase(Cell):
    """Base of the losses: ``get_loss(elementwise)`` applies the reduction."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{', '.join(map(repr, _REDUCTIONS))}, got {reduction!r}")
        self.reduction = reduction

    def get_loss(self, x, weights=1.0):
        if not (isinstance(weights, float) and weights == 1.0):
            x = x * weights
        if self.reduction == "mean":
            return ops.reduce_mean(x)
        if self.reduction == "sum":
            return ops.reduce_sum(x)
        return x


class MSELoss(LossBase):
    """(logits - labels)², reduced."""

    def construct(self, logits, labels):
        return self.get_loss(ops.square(logits - labels))


class L1Loss(LossBase):
    """|logits - labels|, reduced."""

    def construct(self, logits, labels):
        return self.get_loss(ops.abs(logits - labels))


class SmoothL1Loss(LossBase):
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (d = logits - labels); MindSpore's
    default reduction here is ``"none"``."""

    def __init__(self, beta: float = 1.0, reduction: str = "none") -> None:
        super().__init__(reduction)
        if beta <= 0:
            raise ValueError(f"SmoothL1Loss: beta must be positive, got {beta}")
        self.beta = float(beta)

    def construct(self, logits, labels):
        difference = ops.abs(logits - labels)
        quadratic = difference * difference * (0.5 / self.beta)
        return self.get_loss(ops.select(difference < self.beta, quadratic,
                                        difference - 0.5 * self.beta))


class SoftmaxCrossEntropyWithLogits(LossBase):
    """-Σ labels·log_softmax(logits) over the last axis; ``sparse=True`` takes integer class
    labels instead of one-hot rows. MindSpore's default reduction here is ``"none"``."""

    def __init__(self, sparse: bool = False, reduction: str = "none") -> None:
        super().__init__(reduction)
        self.sparse = bool(sparse)

    def construct(self, logits, labels):
        if self.sparse:
            if labels.dtype.category != "int":
                raise TypeError(f"SoftmaxCrossEntropyWithLogits(sparse=True): labels must be "
                                f"integer class indices, got {labels.dtype.name}")
            on, off = Tensor(1.0, dtype=logits.dtype), Tensor(0.0, dtype=logits.dtype)
            labels = ops.OneHot()(labels, logits.shape[-1], on, off)
        per_row = -ops.reduce_sum(labels * ops.log_softmax(logits, axis=-1), axis=-1)
        return self.get_loss(per_row)
