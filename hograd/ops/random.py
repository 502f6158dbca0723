"""Seeded random ops: ``StandardNormal`` and ``UniformReal``, MindSpore's names.

``ops.StandardNormal(seed=0, seed2=0)(shape)`` draws a new float32 sample on every call, from a
stream fixed by ``hograd.set_seed`` and the op's ``seed``/``seed2``: a program that seeds gets
the same numbers on every run, in either mode. A graph holding the op draws when it runs; while
it is only being traced it peeks at the numbers the run will draw, so a graph-mode call and a
PyNative call see the same sample. The ops have no inputs to differentiate and are effects (two
draws are never merged into one, and an unused draw still advances the stream).
"""
from __future__ import annotations

import copy
from typing import Annotated

import numpy as np
from pydantic import BeforeValidator, StrictInt

from .. import dtype as dt
from ..core.checkspec import checks, sample
from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from ..core.trace import current_trace
from .reshaping import _as_int_tuple

_global_seed = [0]
_streams: dict[tuple[int, int, int, str], np.random.Generator] = {}


def restart_streams(seed: int) -> None:
    """Restart every random op's stream from the global seed ``seed`` (``hograd.set_seed``)."""
    _global_seed[0] = int(seed)
    _streams.clear()


def _stream(kind: str, seed: int, seed2: int) -> np.random.Generator:
    key = (_global_seed[0], seed, seed2, kind)
    stream = _streams.get(key)
    if stream is None:
        stream = _streams[key] = np.random.default_rng([_global_seed[0], seed, seed2,
                                                        0 if kind == "normal" else 1])
    return stream


class RandomAttrs(StrictAttrs):
    shape: Annotated[tuple[int, ...], BeforeValidator(_as_int_tuple)]
    seed: StrictInt = 0
    seed2: StrictInt = 0


def _random_infer(*, shape, seed, seed2) -> AbstractValue:
    if any(size < 0 for size in shape):
        raise OpInputError(f"shape {shape} has a negative size; every size must be 0 or more")
    if seed < 0 or seed2 < 0:
        raise OpInputError(f"seed and seed2 must be 0 or more, got {seed} and {seed2}")
    return AbstractValue(shape, dt.float32)


def _random_kernel(kind: str):
    def factory(device):
        def draw(*, shape, seed, seed2):
            stream = _stream(kind, seed, seed2)
            if current_trace() is not None:
                # tracing: peek at the numbers the compiled run will draw, leave the stream
                stream = copy.deepcopy(stream)
            sample = (stream.standard_normal(shape) if kind == "normal"
                      else stream.uniform(0.0, 1.0, shape))
            return device.to_device(sample.astype(np.float32))
        return draw
    return factory


NOTHING_TO_DIFFERENTIATE = "a random op has no tensor inputs: there is nothing to differentiate"

OPS = [
    OpDef(name="StandardNormal", inputs=(), infer=_random_infer, attributes=RandomAttrs,
          call_attributes=("shape",), backward=(), effect=True,
          kernel_factory=_random_kernel("normal"),
          doc="float32 samples of N(0, 1) of the given shape: StandardNormal(seed=1)((2, 3))",
          checks=checks(sample(shape=(2, 3), seed=1), derivative="none",
                        reason=NOTHING_TO_DIFFERENTIATE)),
    OpDef(name="UniformReal", inputs=(), infer=_random_infer, attributes=RandomAttrs,
          call_attributes=("shape",), backward=(), effect=True,
          kernel_factory=_random_kernel("uniform"),
          doc="float32 samples of U[0, 1) of the given shape: UniformReal(seed=1)((2, 3))",
          checks=checks(sample(shape=(2, 3), seed=1), derivative="none",
                        reason=NOTHING_TO_DIFFERENTIATE)),
]
