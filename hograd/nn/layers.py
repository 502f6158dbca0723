"""Layers and containers, MindSpore's names: ``Dense``, ``Flatten``, ``SequentialCell``,
``CellList``."""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterable

from .. import dtype as dt
from .. import ops
from ..common.initializer import HeUniform, Uniform, initializer
from ..core.tensor import Parameter
from .activation import get_activation
from .cell import Cell


class Dense(Cell):
    """A fully connected layer ``y = activation(x Wᵀ + b)``, W of shape (out, in).

    ``weight_init``/``bias_init`` take what ``initializer`` takes (a scheme, its name, a
    number, a Tensor); by default, as in MindSpore 2.x, ``HeUniform(negative_slope=√5)`` and
    ``Uniform(1/√in_channels)``. ``activation`` is a Cell or a name (``"relu"``). Inputs of rank
    above 2 are flattened to rows and back.

    >>> layer = nn.Dense(3, 4, activation="tanh")
    >>> layer(Tensor(np.ones((2, 3), np.float32))).shape
    (2, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, weight_init: Any = None,
                 bias_init: Any = None, has_bias: bool = True, activation: Any = None,
                 dtype: Any = dt.float32) -> None:
        super().__init__()
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"Dense: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        if weight_init is None:
            weight_init = HeUniform(negative_slope=math.sqrt(5))
        self.weight = Parameter(initializer(weight_init, (self.out_channels, self.in_channels),
                                            dtype), name="weight")
        self.has_bias = bool(has_bias)
        if self.has_bias:
            if bias_init is None:
                bias_init = Uniform(scale=1.0 / math.sqrt(self.in_channels))
            self.bias = Parameter(initializer(bias_init, (self.out_channels,), dtype),
                                  name="bias")
        if isinstance(activation, str):
            activation = get_activation(activation)
        if activation is not None and not isinstance(activation, Cell) \
                and not callable(activation):
            raise TypeError(f"Dense: activation must be a Cell, a name or None, got "
                            f"{type(activation).__name__}")
        self.activation = activation

    def construct(self, x):
        if x.shape[-1:] != (self.in_channels,):
            raise ValueError(f"Dense({self.in_channels}, {self.out_channels}): input of shape "
                             f"{x.shape} does not end in {self.in_channels} features")
        rows = x.reshape(-1, self.in_channels) if x.ndim != 2 else x
        out = ops.matmul(rows, self.weight, transpose_b=True)
        if self.has_bias:
            out = out + self.bias
        if self.activation is not None:
            out = self.activation(out)
        return out.reshape(x.shape[:-1] + (self.out_channels,)) if x.ndim != 2 else out

    def extend_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}"


class Flatten(Cell):
    """Keep the first axis, flatten the rest: (N, ...) → (N, prod(...))."""

    def construct(self, x):
        return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)


def _as_cells(cells: Iterable, who: str) -> list[tuple[str, Cell]]:
    named = list(cells.items()) if isinstance(cells, (dict, OrderedDict)) else \
        [(str(index), cell) for index, cell in enumerate(cells)]
    for name, cell in named:
        if not isinstance(cell, Cell):
            raise TypeError(f"{who}: item {name!r} is a {type(cell).__name__}, not a Cell")
    return named


class _OrderedCells(Cell):
    """What SequentialCell and CellList share: their cells in order, indexed and iterated."""

    _order: list[str]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)([getattr(self, n) for n in self._order[index]])
        if not isinstance(index, int) or not -len(self._order) <= index < len(self._order):
            raise IndexError(f"{type(self).__name__}: index {index!r} is out of range for "
                             f"{len(self._order)} cells")
        return getattr(self, self._order[index])

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self):
        return (getattr(self, name) for name in self._order)


class SequentialCell(_OrderedCells):
    """Cells applied in order: ``SequentialCell([Dense(2, 8), Tanh(), Dense(8, 1)])`` (or the
    cells as arguments, or an OrderedDict of named cells)."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        cells = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple, dict)) else args
        object.__setattr__(self, "_order", [])
        for name, cell in _as_cells(cells, "SequentialCell"):
            self._add(name, cell)

    def _add(self, name: str, cell: Cell) -> None:
        setattr(self, name, cell)
        self._order.append(name)

    def append(self, cell: Cell) -> "SequentialCell":
        self._add(str(len(self._order)), _as_cells([cell], "SequentialCell.append")[0][1])
        return self

    def construct(self, x):
        for name in self._order:
            x = getattr(self, name)(x)
        return x


class CellList(_OrderedCells):
    """A list of Cells whose Parameters are registered: ``CellList([Dense(2, 2), ReLU()])``."""

    def __init__(self, cells: Iterable = ()) -> None:
        super().__init__()
        object.__setattr__(self, "_order", [])
        self.extend(cells)

    def append(self, cell: Cell) -> "CellList":
        name = str(len(self._order))
        setattr(self, name, _as_cells([cell], "CellList.append")[0][1])
        self._order.append(name)
        return self

    def extend(self, cells: Iterable) -> "CellList":
        for cell in cells:
            self.append(cell)
        return self

    def construct(self, *args):
        raise NotImplementedError("CellList holds cells; call them from your own construct")
