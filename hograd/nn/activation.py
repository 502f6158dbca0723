"""Activation Cells, MindSpore's names: ``Tanh``, ``ReLU``, ``Sigmoid``, ``Softplus``, ``GELU``,
``SiLU``, ``Softmax``, ``LogSoftmax``; ``get_activation(name)`` for ``Dense(activation="relu")``."""
from __future__ import annotations

import math

from .. import ops
from .cell import Cell


class Tanh(Cell):
    """tanh(x)."""

    def construct(self, x):
        return ops.tanh(x)


class ReLU(Cell):
    """max(x, 0)."""

    def construct(self, x):
        return ops.relu(x)


class Sigmoid(Cell):
    """1 / (1 + e⁻ˣ)."""

    def construct(self, x):
        return ops.sigmoid(x)


class Softplus(Cell):
    """log(1 + eˣ)."""

    def construct(self, x):
        return ops.softplus(x)


class SiLU(Cell):
    """x·sigmoid(x) (swish)."""

    def construct(self, x):
        return x * ops.sigmoid(x)


class GELU(Cell):
    """x·Φ(x); ``approximate=True`` (MindSpore's default) uses the tanh form
    ``0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))``, ``False`` the exact erf form."""

    def __init__(self, approximate: bool = True) -> None:
        super().__init__()
        self.approximate = approximate

    def construct(self, x):
        if not self.approximate:
            return ops.gelu(x)
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * (ops.tanh(inner) + 1.0) * 0.5


class Softmax(Cell):
    """exp(x) / sum(exp(x)) along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def construct(self, x):
        return ops.softmax(x, axis=self.axis)


class LogSoftmax(Cell):
    """x - log(sum(exp(x))) along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def construct(self, x):
        return ops.log_softmax(x, axis=self.axis)


_BY_NAME = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "softplus": Softplus, "gelu": GELU,
            "silu": SiLU, "swish": SiLU, "softmax": Softmax, "logsoftmax": LogSoftmax}


def get_activation(name: str) -> Cell:
    """The activation Cell called ``name`` (``"relu"``, ``"tanh"``, ...)."""
    cls = _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown activation {name!r}; use one of {', '.join(sorted(_BY_NAME))} "
                         f"or pass a Cell")
    return cls()
