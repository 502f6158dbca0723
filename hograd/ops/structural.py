"""Ops the tracer itself emits: constants, guards on traced decisions, Cells with a user bprop.

Their kernels are the same on every device, so they come from a factory, not from a plugin.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtype as dt
from ..core.errors import GradArgumentError, GuardFailure
from ..core.ir import AbstractValue, ConstValue
from ..core.opdef import OpDef, StrictAttrs


class ConstantAttrs(StrictAttrs):
    value: ConstValue


class GuardAttrs(StrictAttrs):
    expected: ConstValue


class CellCallAttrs(StrictAttrs):
    graph: Any
    cell: Any
    n_args: int


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


def _cell_call_kernel(device):
    from ..core.executor import compile_graph

    def cell_call(*arrays, graph, cell, n_args):
        return compile_graph(graph, device)(arrays)[0]
    return cell_call


def _cell_bprop(cotangent, out, *inputs, graph, cell, n_args):
    """The derivative of a Cell with ``bprop``: the user's rule, traced into hograd ops."""
    from ..tensor import Tensor
    grads = cell.bprop(*inputs[:n_args], out, cotangent)
    if isinstance(grads, Tensor):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != n_args:
        raise GradArgumentError(
            f"{type(cell).__name__}.bprop must return a tuple with one gradient per input of "
            f"construct ({n_args}), got {type(grads).__name__}"
            f"{'' if not isinstance(grads, (tuple, list)) else ' of ' + str(len(grads))}")
    grads = tuple(g if isinstance(g, Tensor) or g is None else Tensor(g) for g in grads)
    return grads + (None,) * (len(inputs) - n_args)


OPS = [
    OpDef(name="Constant", inputs=(), infer=_constant_infer, attributes=ConstantAttrs,
          backward=(), kernel_factory=_constant_kernel, internal=True, doc="a constant array"),
    OpDef(name="Guard", inputs=("x",), infer=lambda x, *, expected: x, attributes=GuardAttrs,
          backward=(None,), effect=True, kernel_factory=_guard_kernel, internal=True,
          doc="x, checked to equal the value the trace saw; otherwise the graph is retraced"),
    OpDef(name="CellCall", inputs=("args",), variadic=True, attributes=CellCallAttrs,
          infer=lambda *avals, graph, cell, n_args: graph.outputs[0].aval,
          backward_all=_cell_bprop, kernel_factory=_cell_call_kernel, internal=True,
          doc="a Cell with a user bprop, as one node whose derivative is that bprop"),
]
