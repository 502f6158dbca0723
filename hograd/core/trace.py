"""Tracing: recording the ops user code applies into a graph while (usually) computing values too.

A ``Trace`` is pushed while a function runs. Every op the dispatcher applies lands as a node in
the innermost trace. Tensors the function did not receive as inputs are handled by where they
came from: one created during the trace (a literal, ``Tensor(...)`` in ``construct``) becomes a
constant node; one that existed before (a ``Parameter``, an attribute tensor, a tensor of an
enclosing trace) becomes an extra graph input, a *capture*, bound to that same tensor object on
every run — which is how Parameters become inputs that ``get_by_list`` can differentiate.

A *concrete* trace can compute each value it records, so ``if x > 0:`` can be answered (and
recorded as a guard), but computes one only when something reads it: its tensors hold their
values deferred (``core/deferred.py``). A *symbolic* trace, used by the transformer, records
shapes only.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import TracingError
from .ir import AbstractValue, ConstValue, Graph, Node, Var, freeze_attrs

_birth_counter = itertools.count()
_local = threading.local()


def next_birth() -> int:
    """A number that orders tensor creations against trace starts."""
    return next(_birth_counter)


def _stack() -> list["Trace"]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_trace() -> "Trace | None":
    """The innermost active trace, or ``None`` when running eagerly."""
    stack = _stack()
    return stack[-1] if stack else None


def grad_depth() -> int:
    """How many gradient derivations enclose the current point (for messages: the order)."""
    return getattr(_local, "grad_depth", 0)


class grad_scope:
    """Counts one more level of differentiation while active."""

    def __enter__(self) -> None:
        _local.grad_depth = grad_depth() + 1

    def __exit__(self, *exc) -> None:
        _local.grad_depth = grad_depth() - 1


def weight_aliases(weights: Sequence[Any], leaves: Sequence[Any]) -> tuple:
    """For each weight, the position of the argument that *is* it (or None).

    A weight passed as an argument is that argument: one variable, one gradient. Which
    arguments are weights is part of a compiled graph's key, since another call with the same
    shapes may pass other tensors."""
    return tuple(next((i for i, t in enumerate(leaves) if t is w), None) for w in weights)


def carries_derivative(tensor) -> bool:
    """Whether some active trace takes a derivative through ``tensor``."""
    return any(trace.is_differentiated(tensor) for trace in _stack())


def _carries(opdef, inputs: Sequence[Var], differentiated: set[Var]) -> bool:
    from .opdef import NotDifferentiable
    if opdef.backward_all is not None or opdef.variadic:
        return any(v in differentiated for v in inputs)
    return any(v in differentiated and rule is not None
               and not isinstance(rule, NotDifferentiable)
               for v, rule in zip(inputs, opdef.backward))


@dataclass(frozen=True, eq=False)
class ClosedGraph:
    """A graph plus the tensors its trailing inputs capture: ``graph.inputs[n_explicit:]``."""

    graph: Graph
    captured: tuple[Any, ...]
    n_explicit: int


class Trace:
    """Records nodes for one function being traced. Use as a context manager."""

    def __init__(self, symbolic: bool = False) -> None:
        self.symbolic = symbolic
        self.birth = next_birth()
        self.inputs: list[Var] = []
        self.nodes: list[Node] = []
        self.captured: list[Any] = []
        self.capture_vars: list[Var] = []
        self._capture_by_id: dict[int, Var] = {}
        self._constants: dict[int, tuple[Any, Var]] = {}
        # the variables a derivative is being taken through: differentiated inputs, the
        # weights, captures of such variables of enclosing traces, and what they flow into
        self.differentiated: set[Var] = set()

    def __enter__(self) -> "Trace":
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        popped = _stack().pop()
        assert popped is self, "traces must nest"

    # ---- building ----------------------------------------------------------------------------
    def new_input(self, aval: AbstractValue, data: Any, device: Any,
                  differentiated: bool = False):
        """A tensor that stands for a new explicit input of the graph; ``data`` is its value (an
        array, or a ``Deferred`` of an enclosing trace's tensor), None in a symbolic trace."""
        from .tensor import Tensor
        var = Var(aval)
        self.inputs.append(var)
        if differentiated and aval.dtype.is_float:
            self.differentiated.add(var)
        return Tensor._traced(data, aval, device, self, var)

    def record(self, op: str, inputs: Sequence[Var], attrs: tuple, aval: AbstractValue,
               opdef: Any = None) -> Var:
        var = Var(aval)
        self.nodes.append(Node(op, tuple(inputs), attrs, var))
        # only floats carry derivatives (as in the transformer's active set)
        if (self.differentiated and opdef is not None and aval.dtype.is_float
                and _carries(opdef, inputs, self.differentiated)):
            self.differentiated.add(var)
        return var

    def is_differentiated(self, tensor) -> bool:
        """Whether a derivative this trace takes flows through ``tensor`` (no capture is made)."""
        var = tensor._var if tensor._trace is self else self._capture_by_id.get(id(tensor))
        return var is not None and var in self.differentiated

    def var_of(self, tensor) -> Var:
        """The variable standing for ``tensor`` in this trace: its own, a constant or a capture."""
        if tensor._trace is self:
            return tensor._var
        key = id(tensor)
        var = self._capture_by_id.get(key)
        if var is not None:
            return var
        if key in self._constants:
            return self._constants[key][1]
        from .tensor import Parameter
        created_here = tensor._birth > self.birth and tensor._trace is None
        if created_here and not isinstance(tensor, Parameter):
            if tensor._data is None:
                raise TracingError("a symbolic tensor was used outside the trace that made it")
            host = tensor._device.to_host(tensor._data)
            var = self.record("Constant", (), freeze_attrs({"value": ConstValue(host)}),
                              tensor.aval)
            self._constants[key] = (tensor, var)
            return var
        return self.capture(tensor)

    def capture(self, tensor, differentiated: bool = False) -> Var:
        """A new graph input bound to ``tensor``, an object from outside this trace.

        It carries a derivative when the caller says so (a weight) or when an enclosing trace
        takes one through ``tensor``. A tensor captured before keeps its variable."""
        var = self._capture_by_id.get(id(tensor))
        if var is not None:
            if differentiated and var.aval.dtype.is_float:
                self.differentiated.add(var)
            return var
        var = Var(tensor.aval)
        self.captured.append(tensor)
        self.capture_vars.append(var)
        self._capture_by_id[id(tensor)] = var
        if tensor.aval.dtype.is_float and (differentiated or any(
                trace.is_differentiated(tensor) for trace in _stack() if trace is not self)):
            self.differentiated.add(var)
        return var

    def alias(self, tensor, var: Var) -> None:
        """Make ``tensor`` (an object from outside) stand for ``var`` wherever it is read."""
        self._capture_by_id[id(tensor)] = var

    def bind_weights(self, weights: Sequence[Any], inputs: Sequence[Any],
                     aliases: Sequence[Any]) -> list[Var]:
        """The variables the derivative is taken against for ``weights``: a capture each, or,
        for a weight that was passed as argument ``aliases[i]``, that argument's input — read
        as an attribute and as the argument, it is one variable with one gradient."""
        bound = []
        for weight, position in zip(weights, aliases):
            if position is None:
                bound.append(self.capture(weight, differentiated=True))
                continue
            var = inputs[position]._var
            self.alias(weight, var)
            if weight.dtype.is_float:
                self.differentiated.add(var)
            bound.append(var)
        return bound

    def finish(self, outputs: Sequence[Any]) -> ClosedGraph:
        """The traced graph; ``outputs`` are tensors of this trace (or anything ``var_of`` takes)."""
        out_vars = tuple(self.var_of(t) for t in outputs)
        graph = Graph(tuple(self.inputs) + tuple(self.capture_vars), tuple(self.nodes), out_vars)
        return ClosedGraph(graph, tuple(self.captured), len(self.inputs))
