"""The ops the tracer itself emits: ``Constant`` (a value a trace met) and ``Guard`` (a decision
it took on a value). Core registers them before any plugin; their kernels are the same on every
device, so they come from a factory, not from a device plugin.
"""
from __future__ import annotations

import numpy as np

from .. import dtype as dt
from .errors import GuardFailure
from .ir import AbstractValue, ConstValue
from .opdef import OpDef, StrictAttrs


class ConstantAttrs(StrictAttrs):
    value: ConstValue


class GuardAttrs(StrictAttrs):
    expected: ConstValue



def _constant_infer(*, value: ConstValue) -> AbstractValue:
    return AbstractValue(value.array.shape, dt.from_numpy(value.array.dtype))


def _constant_kernel(device):
    return lambda *, value: device.to_device(value.array)


def same_value(seen: np.ndarray, expected: np.ndarray) -> bool:
    """Whether a guarded value is the one the trace decided on: NaN meets NaN, and -0.0 does not
    meet 0.0 (``1 / x`` tells them apart)."""
    if seen.shape != expected.shape:
        return False
    if seen.dtype.kind != "f":
        return bool(np.array_equal(seen, expected))
    return bool(np.array_equal(seen, expected, equal_nan=True)
                and np.array_equal(np.signbit(seen), np.signbit(expected)))


def _guard_kernel(device):
    def guard(x, *, expected: ConstValue):
        if not same_value(np.asarray(device.to_host(x)), expected.array):
            raise GuardFailure()
        return x
    return guard


TRACER_OPS = (
    OpDef(name="Constant", inputs=(), infer=_constant_infer, attributes=ConstantAttrs,
          backward=(), kernel_factory=_constant_kernel, internal=True, doc="a constant array"),
    OpDef(name="Guard", inputs=("x",), infer=lambda x, *, expected: x, attributes=GuardAttrs,
          backward=(None,), effect=True, kernel_factory=_guard_kernel, internal=True,
          doc="x, checked to equal the value the trace saw; otherwise the graph is retraced"),
)
