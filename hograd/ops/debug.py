"""``Print``: MindSpore's op for looking at values while a program runs, in either mode.

``ops.Print()("loss:", loss, "grad:", g)`` prints each argument on its own line (strings as
they are, tensors with shape, dtype and value) and returns its first tensor unchanged, so it
changes no value and no derivative: the cotangent of that tensor passes straight through and
the other tensors it prints get none from it.

In ``GRAPH_MODE`` it prints when the compiled graph runs, every run: its node is an *effect*
(never removed as dead code, never merged with another). While a function is only being traced
it does not print, so the first call prints once, like every later one.
"""
from __future__ import annotations

import sys
from typing import Any

from .. import dtype as dt
from ..core.checkspec import checks, sample, x
from ..core.dispatch import apply
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from ..core.trace import current_trace
from .families import first_input_jvp


class PrintTensorsAttrs(StrictAttrs):
    # what to print, in order: a string as it is, an int k for the k-th tensor input
    template: tuple


def _print(*values: Any):
    """Split Print's arguments into tensors (graph inputs) and the text around them."""
    from ..core.tensor import Tensor
    tensors, template = [], []
    for value in values:
        if isinstance(value, Tensor):
            template.append(len(tensors))
            tensors.append(value)
        else:
            template.append(str(value))
    return apply("PrintTensors", tuple(tensors), {"template": tuple(template)})


def _print_tensors_infer(*avals: AbstractValue, template: tuple) -> AbstractValue:
    return avals[0] if avals else AbstractValue((), dt.int32)


def _print_tensors_kernel(device):
    from ..core.registry import registry

    def print_tensors(*arrays, template: tuple):
        # a trace computes values to record them; the program prints when its graph runs
        if current_trace() is None:
            for item in template:
                print(item if isinstance(item, str) else _describe(device, arrays[item]),
                      file=sys.stdout, flush=True)
        if arrays:
            return arrays[0]
        return registry().kernel("Fill", device.name)(dtype=dt.int32, shape=(), value=0)
    return print_tensors


def _describe(device, array) -> str:
    host = device.to_host(array)
    return (f"Tensor(shape={list(host.shape)}, dtype={dt.from_numpy(host.dtype)!r}, "
            f"value={host})")


def _pass_first_through(cotangent, out, *inputs, template):
    return (cotangent,) + (None,) * (len(inputs) - 1) if inputs else ()


OPS = [
    OpDef(name="Print", inputs=("values",), variadic=True, composite=_print,
          doc="print strings and tensors, one a line, when the program runs; returns the "
              "first tensor: Print()('x:', x)",
          checks=checks(sample(x(2, 3)), sample(x(), x(2)))),
    OpDef(name="PrintTensors", inputs=("tensors",), variadic=True, attributes=PrintTensorsAttrs,
          infer=_print_tensors_infer, backward_all=_pass_first_through, effect=True,
          forward=first_input_jvp,
          kernel_factory=_print_tensors_kernel, internal=True,
          doc="Print's node: prints its template with the tensors filled in; returns the first"),
]
