"""Writing Parameters from a graph: ``Assign`` (MindSpore's ``ops.assign``) and ``Depend``.

``ops.assign(param, value)`` stores ``value`` in the Parameter and returns it. It is an effect:
a compiled graph holding it writes on every run (never while it is only being traced), so an
optimizer's update runs as graph work and later calls see the new value without retracing
(graphs read a Parameter's value when they run). Eagerly (PyNative) it writes at once. The
value's derivative passes through; the Parameter's old value gets none from it.

``ops.depend(value, expr)`` returns ``value``: MindSpore uses it to order side effects; here
effects are never dropped and run in program order, so it only needs to pass ``value`` on.
"""
from __future__ import annotations

from typing import Any

from ..core.checkspec import checks, sample, x
from ..core.dispatch import apply
from ..core.errors import OpInputError
from ..core.executor import after_run
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from ..core.trace import current_trace


class AssignTarget:
    """The Parameter an ``AssignTo`` node writes, compared by identity (a Parameter's ``==``
    is elementwise, which a node's attributes cannot use)."""

    __slots__ = ("parameter",)

    def __init__(self, parameter) -> None:
        self.parameter = parameter

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, AssignTarget) and other.parameter is self.parameter

    def __hash__(self) -> int:
        return id(self.parameter)

    def __repr__(self) -> str:
        return f"Parameter({self.parameter.name!r})"


class AssignToAttrs(StrictAttrs):
    target: AssignTarget


def assign(variable, value):
    """Store ``value`` in the Parameter ``variable`` and return it (MindSpore's ``ops.assign``).

    >>> ops.assign(net.w, net.w - 0.1 * grad)
    """
    from ..core.tensor import Parameter, Tensor
    if not isinstance(variable, Parameter):
        raise OpInputError(f"Assign: input 'variable' must be a Parameter, got "
                           f"{type(variable).__name__}")
    if not isinstance(value, Tensor):
        value = Tensor(value, dtype=variable.dtype)
    if value.shape != variable.shape:
        raise OpInputError(f"Assign: value of shape {value.shape} does not fit Parameter "
                           f"{variable.name!r} of shape {variable.shape}")
    if value.dtype is not variable.dtype:
        value = apply("Cast", (value,), {"dtype": variable.dtype})
    return apply("AssignTo", (value,), {"target": AssignTarget(variable)})


class Assign:
    """MindSpore's op class for ``assign``: ``ops.Assign()(variable, value)``."""

    def __call__(self, variable, value):
        return assign(variable, value)

    def __repr__(self) -> str:
        return "Assign()"


def _assign_kernel(device):
    def assign_to(value, *, target: AssignTarget):
        # a trace computes values to record them; the program writes when its graph has run
        # (not before a guard that may still fail: the retraced graph assigns again)
        if current_trace() is None:
            after_run(lambda: setattr(target.parameter, "_data", value))
        return value
    return assign_to


# AssignTo is internal (left out of the capability matrix, whose checks call ops on plain
# tensors); users call assign/Assign above, exported by hograd.ops, P and F
OPS = [
    OpDef(name="AssignTo", inputs=("value",), infer=lambda value, *, target: value,
          attributes=AssignToAttrs, backward=(lambda g, out, value, *, target: g,),
          effect=True, kernel_factory=_assign_kernel, internal=True,
          doc="Assign's node: writes its input into the Parameter named by target"),
    OpDef(name="Depend", inputs=("value", "expr"), composite=lambda value, expr: value,
          doc="value, after expr (MindSpore's ordering of side effects; a pass-through here)",
          checks=checks(sample(x(2, 3), x(3)))),
]
