"""``initializer(init, shape, dtype)``: a Tensor filled by a named scheme, as in MindSpore.

>>> from hograd.common.initializer import initializer, Normal
>>> w = Parameter(initializer(Normal(sigma=0.02), (3, 4), mstype.float32), name="w")
>>> b = Parameter(initializer("zeros", (4,)), name="b")

Random schemes draw from one numpy ``Generator``; ``set_seed(n)`` restarts it, so a program
that seeds gets the same weights on every run. Unlike MindSpore, the values are computed at
once (a MindSpore initializer tensor is filled lazily; ``init_data()`` is accepted and
returns it unchanged).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtype as dt
from ..core.tensor import Tensor

__all__ = ["initializer", "Initializer", "Normal", "Uniform", "Zero", "One", "Constant",
           "XavierUniform", "HeUniform", "set_seed"]

_generator = [np.random.default_rng(0)]


def set_seed(seed: int) -> None:
    """Restart the generator random initializers draw from, and the random ops' streams."""
    from ..ops.random import restart_streams
    _generator[0] = np.random.default_rng(seed)
    restart_streams(seed)


class Initializer:
    """A scheme that fills an array of a given shape; subclasses define ``fill(shape)``."""

    def fill(self, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.fill(tuple(shape))


class Zero(Initializer):
    """All zeros (``"zeros"``)."""

    def fill(self, shape):
        return np.zeros(shape)


class One(Initializer):
    """All ones (``"ones"``)."""

    def fill(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    """Every element ``value``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def fill(self, shape):
        return np.full(shape, self.value)


class Normal(Initializer):
    """Normal with standard deviation ``sigma`` and mean ``mean`` (``"normal"``: sigma 0.01)."""

    def __init__(self, sigma: float = 0.01, mean: float = 0.0) -> None:
        self.sigma, self.mean = sigma, mean

    def fill(self, shape):
        return _generator[0].normal(self.mean, self.sigma, size=shape)


class Uniform(Initializer):
    """Uniform on ``[-scale, scale]`` (``"uniform"``: scale 0.07)."""

    def __init__(self, scale: float = 0.07) -> None:
        self.scale = scale

    def fill(self, shape):
        return _generator[0].uniform(-self.scale, self.scale, size=shape)


class XavierUniform(Initializer):
    """Uniform on ``±gain·sqrt(6 / (fan_in + fan_out))`` (Glorot)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def fill(self, shape):
        fan_in, fan_out = _fans(shape, "XavierUniform")
        bound = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return _generator[0].uniform(-bound, bound, size=shape)


class HeUniform(Initializer):
    """Uniform on ``±sqrt(3)·gain / sqrt(fan)`` (Kaiming), ``gain = sqrt(2 / (1 + slope²))``
    for ``leaky_relu`` (``relu``: slope 0), 1 for ``linear``; ``fan`` by ``mode``."""

    def __init__(self, negative_slope: float = 0.0, mode: str = "fan_in",
                 nonlinearity: str = "leaky_relu") -> None:
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"HeUniform: mode must be 'fan_in' or 'fan_out', got {mode!r}")
        if nonlinearity not in ("leaky_relu", "relu", "linear"):
            raise ValueError(f"HeUniform: nonlinearity must be 'leaky_relu', 'relu' or "
                             f"'linear', got {nonlinearity!r}")
        self.negative_slope, self.mode, self.nonlinearity = negative_slope, mode, nonlinearity

    def fill(self, shape):
        fan_in, fan_out = _fans(shape, "HeUniform")
        slope = 0.0 if self.nonlinearity == "relu" else self.negative_slope
        gain = 1.0 if self.nonlinearity == "linear" else math.sqrt(2.0 / (1 + slope ** 2))
        bound = math.sqrt(3.0) * gain / math.sqrt(fan_in if self.mode == "fan_in" else fan_out)
        return _generator[0].uniform(-bound, bound, size=shape)


def _fans(shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out (out, in, *kernel), as MindSpore and PyTorch do."""
    if len(shape) < 2:
        raise ValueError(f"{name} needs a shape of rank 2 or more to know its fans, got {shape}")
    receptive = int(np.prod(shape[2:], dtype=np.int64))
    return shape[1] * receptive, shape[0] * receptive


_BY_NAME = {"zeros": Zero, "zero": Zero, "ones": One, "one": One, "normal": Normal,
            "uniform": Uniform, "xavier_uniform": XavierUniform, "xavieruniform": XavierUniform,
            "he_uniform": HeUniform, "heuniform": HeUniform}


def initializer(init: Any, shape: Any = None, dtype: Any = dt.float32) -> Tensor:
    """A Tensor of ``shape`` and ``dtype`` filled by ``init``.

    ``init`` is an ``Initializer`` (``Normal(0.02)``), its name (``"zeros"``, ``"ones"``,
    ``"normal"``, ``"uniform"``, ``"xavier_uniform"``, ``"he_uniform"``), a number (every
    element), or a Tensor / numpy array (used as is; ``shape`` must match if given).
    """
    dtype = dt.to_dtype(dtype)
    if isinstance(init, (Tensor, np.ndarray)):
        array = init.asnumpy() if isinstance(init, Tensor) else init
        if shape is not None and tuple(array.shape) != _shape(shape):
            raise ValueError(f"initializer: init has shape {tuple(array.shape)} but shape "
                             f"{_shape(shape)} was asked for")
        return Tensor(array, dtype=dtype)
    if shape is None:
        raise ValueError("initializer: shape is required unless init is a Tensor or array")
    if isinstance(init, str):
        scheme = _BY_NAME.get(init.lower())
        if scheme is None:
            raise ValueError(f"initializer: unknown scheme {init!r}; use one of "
                             f"{', '.join(sorted(set(_BY_NAME)))} or an Initializer instance")
        init = scheme()
    elif isinstance(init, (bool, int, float, np.number)):
        init = Constant(init)
    elif not isinstance(init, Initializer):
        raise TypeError(f"initializer: init must be an Initializer, a name, a number, a Tensor "
                        f"or an array, got {type(init).__name__}")
    return Tensor(np.asarray(init(_shape(shape))), dtype=dtype)


def _shape(shape: Any) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
